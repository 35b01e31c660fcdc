/**
 * The risk engine through the client: each tier's configuration, markets and collaterals, and the risk
 * settings of each tier × market. Ratios and fees are bps; notionals, caps and thresholds WAD.
 */
import type { IRiskEngine } from "../../../../types/contracts/risk/RiskEngine.js";
import type { ClientContext } from "../context.js";

/** A tier's listing: its depth (0 innermost, strictest), quote token and position limit. */
export interface TierConfig {
  listed: boolean;
  depth: number;
  quoteToken: string;
  quoteDecimals: number;
  maxPositions: number;
}

export function createRiskModule(ctx: ClientContext) {
  const risk = ctx.contracts.risk;
  return {
    /**
     * The listing of `tier`.
     *
     * @example
     * const { depth, quoteToken } = await client.risk.tierConfig(1);
     */
    async tierConfig(tier: number): Promise<TierConfig> {
      const c = await ctx.read(risk.tierConfig(tier));
      return {
        listed: c.listed,
        depth: Number(c.depth),
        quoteToken: c.quoteToken,
        quoteDecimals: Number(c.quoteDecimals),
        maxPositions: Number(c.maxPositions),
      };
    },

    /**
     * The markets listed in `tier`.
     *
     * @example
     * await client.risk.tierMarkets(2); // -> [1]
     */
    async tierMarkets(tier: number): Promise<number[]> {
      return (await ctx.read(risk.tierMarkets(tier))).map(Number);
    },

    /**
     * The collateral tokens `tier` accepts besides its quote token.
     *
     * @example
     * const tokens = await client.risk.tierCollaterals(0);
     */
    tierCollaterals(tier: number): Promise<string[]> {
      return ctx.read(risk.tierCollaterals(tier));
    },

    /**
     * Every risk setting of `market` in `tier`, as governance set it (margin ratios mid-ramp are
     * {@link currentRatios}).
     *
     * @example
     * const { ratios, oiCap, takerFeeBps } = await client.risk.marketRisk(1, 1);
     */
    marketRisk(tier: number, market: number): Promise<IRiskEngine.MarketRiskStructOutput> {
      return ctx.read(risk.marketRisk(tier, market));
    },

    /**
     * The margin ratios (IMR, MMR, BMR in bps) in force now, a ramp towards new ratios included.
     *
     * @example
     * const { imr, mmr } = await client.risk.currentRatios(1, 1);
     */
    currentRatios(tier: number, market: number): Promise<IRiskEngine.MarginRatiosStructOutput> {
      return ctx.read(risk.currentRatios(tier, market));
    },

    /**
     * What the execution layer checks a trade against: oracle asset, max leverage, price band, fees, OI cap
     * and the pool's skew scale.
     *
     * @example
     * const { maxLeverage, priceBandBps } = await client.risk.tradeParams(1, 1);
     */
    tradeParams(tier: number, market: number): Promise<IRiskEngine.TradeParamsStructOutput> {
      return ctx.read(risk.tradeParams(tier, market));
    },

    /**
     * What the clearing house computes margin with: ratios, brackets, funding and liquidation settings.
     *
     * @example
     * const { ratios, liquidationPenaltyBps } = await client.risk.marginParams(1, 1);
     */
    marginParams(tier: number, market: number): Promise<IRiskEngine.MarginParamsStructOutput> {
      return ctx.read(risk.marginParams(tier, market));
    },

    /**
     * How `token` counts as collateral in `tier`: its weight, the weight above the size threshold, its asset.
     *
     * @example
     * const { weightBps } = await client.risk.collateralRisk(0, "WETH"); // -> 8000n
     */
    collateralRisk(tier: number, token: string): Promise<IRiskEngine.CollateralRiskStructOutput> {
      return ctx.read(risk.collateralRisk(tier, ctx.token(token)));
    },
  };
}

export type RiskModule = ReturnType<typeof createRiskModule>;
