/**
 * The oracle router through the client: prices with their confidence band and flags decoded by name
 * (`oracle/flags.ts`). Assets are named by id (`"ETH/USD"`) or by their bytes32 key. Prices are quote WAD.
 */
import { encodeBytes32String, isHexString } from "ethers";

import type { IOracleRouter } from "../../../../types/contracts/oracle/OracleRouter.js";
import { decodePriceFlags, type PriceFlagName } from "../../oracle/flags.js";
import type { ClientContext } from "../context.js";

/** A price with its band and flags. */
export interface Price {
  /** The mid price (WAD). */
  price: bigint;
  /** The confidence band (WAD): pool trades buy at `upper` and sell at `lower`. */
  lower: bigint;
  upper: bigint;
  /** When the source feed last updated (unix seconds). */
  updatedAt: bigint;
  /** The raw flag bits. */
  flags: bigint;
  /** The flags set, by name; `[]` for a good price. */
  flagNames: PriceFlagName[];
}

export function createOracleModule(ctx: ClientContext) {
  const oracle = ctx.contracts.oracle;

  /** The bytes32 key of an asset id, or the key itself. */
  function key(asset: string): string {
    if (isHexString(asset, 32)) return asset;
    return ctx.addresses.assets?.[asset] ?? encodeBytes32String(asset);
  }

  return {
    /**
     * The bytes32 key of an asset id (`"ETH/USD"`); a key is returned as is.
     *
     * @example
     * client.oracle.assetKey("ETH/USD"); // -> "0x4554482f555344000…"
     */
    assetKey: key,

    /**
     * The strict price of `asset`: what risk-increasing trades use. It reverts with an `OracleError` when the
     * price is stale, broken, out of bounds or the breaker is tripped.
     *
     * @example
     * const { price, flagNames } = await client.oracle.getPrice("ETH/USD"); // -> 3000 WAD, []
     */
    async getPrice(asset: string): Promise<Price> {
      return toPrice(await ctx.read(oracle.getPrice(key(asset))));
    },

    /**
     * The best available price of `asset` (fallbacks included) with flags saying how it was obtained: what
     * liquidations, exits and withdrawals use.
     *
     * @example
     * const p = await client.oracle.getPriceForLiquidation("ETH/USD");
     * if (p.flagNames.includes("STALE")) console.warn("ETH/USD is stale");
     */
    async getPriceForLiquidation(asset: string): Promise<Price> {
      return toPrice(await ctx.read(oracle.getPriceForLiquidation(key(asset))));
    },

    /**
     * Whether trades that add risk in markets priced by `asset` may execute now.
     *
     * @example
     * await client.oracle.isRiskIncreaseAllowed("ETH/USD"); // -> true
     */
    isRiskIncreaseAllowed(asset: string): Promise<boolean> {
      return ctx.read(oracle.isRiskIncreaseAllowed(key(asset)));
    },

    /**
     * The feeds and limits of `asset`.
     *
     * @example
     * const { primary, primaryMaxAge, maxDeviationBps } = await client.oracle.assetConfig("ETH/USD");
     */
    assetConfig(asset: string): Promise<IOracleRouter.AssetConfigStructOutput> {
      return ctx.read(oracle.assetConfig(key(asset)));
    },
  };
}

export type OracleModule = ReturnType<typeof createOracleModule>;

function toPrice(p: IOracleRouter.PriceStructOutput): Price {
  return {
    price: p.price,
    lower: p.lower,
    upper: p.upper,
    updatedAt: p.updatedAt,
    flags: p.flags,
    flagNames: decodePriceFlags(p.flags),
  };
}
