import type { FoundationConfigInput } from "../sdk/src/deploy/config.js";

type TierInput = FoundationConfigInput["tiers"][number];

/** The backstop pool of every tier: a 3-day redemption cooldown and an 80% utilisation limit. */
export const STRATA_POOL = { cooldownSeconds: 3 * 86400, maxUtilisationBps: 8_000 };

/** A market's margins in one tier (bps), its opening leverage cap and its liquidation penalty (bps). */
export interface MarketTemplate {
  imrBps: number;
  mmrBps: number;
  bmrBps: number;
  maxLeverage: number;
  penaltyBps: number;
}

/** Each tier's terms for a major market (ETH, BTC), from the innermost tier outwards: never looser inwards. */
export const MAJOR_MARKET: Readonly<Record<"core" | "pro" | "edge", MarketTemplate>> = {
  core: { imrBps: 3_333, mmrBps: 1_667, bmrBps: 800, maxLeverage: 3, penaltyBps: 500 },
  pro: { imrBps: 500, mmrBps: 250, bmrBps: 120, maxLeverage: 10, penaltyBps: 100 },
  edge: { imrBps: 200, mmrBps: 100, bmrBps: 50, maxLeverage: 25, penaltyBps: 40 },
};

/**
 * The risk settings of market `id` in a tier: `template`'s margins, and its size limits in base units — the
 * open-interest cap and the funding skew scale (ETH: 20,000 and 1,000; BTC: 1,000 and 50).
 */
export function tierMarket(
  id: number,
  template: MarketTemplate,
  sizing: { oiCap: string; fundingSkewScale: string },
): NonNullable<TierInput["markets"]>[number] {
  return {
    market: id,
    imrBps: template.imrBps,
    mmrBps: template.mmrBps,
    bmrBps: template.bmrBps,
    bracketNotional1: "1000000",
    bracketAddBps1: 50,
    bracketNotional2: "5000000",
    bracketAddBps2: 100,
    maxLeverage: template.maxLeverage,
    liquidationPenaltyBps: template.penaltyBps,
    keeperShareBps: 3_000,
    keeperRewardCap: "1000",
    oiCap: sizing.oiCap,
    priceBandBps: 100,
    makerFeeBps: 2,
    takerFeeBps: 5,
    maxFundingBpsPerDay: 10,
    fundingSkewScale: sizing.fundingSkewScale,
  };
}

/** ETH's (market 1) and BTC's (market 2) size limits. */
export const MAJOR_SIZING: Readonly<Record<number, { oiCap: string; fundingSkewScale: string }>> = {
  1: { oiCap: "20000", fundingSkewScale: "1000" },
  2: { oiCap: "1000", fundingSkewScale: "50" },
};

/**
 * Strata's three tiers, from the innermost outwards (core 3x, pro 20x, edge 50x by initial margin; opening is
 * capped at 10x and 25x in pro and edge), with their markets, collaterals, deposit caps and reserve allowances:
 * one definition for the local chain (deploy/local.ts) and the testnets (deploy/testnet.ts). `poolParams`: each
 * tier's backstop pool, or none.
 */
export function strataTiers(poolParams?: TierInput["pool"]): TierInput[] {
  // Per tier × market: deeper (inner) tiers are never looser (DESIGN §6.6).
  const market = (id: number, tier: keyof typeof MAJOR_MARKET) => tierMarket(id, MAJOR_MARKET[tier], MAJOR_SIZING[id]!);
  const pool = poolParams === undefined ? {} : { pool: poolParams };
  return [
    {
      id: 0,
      name: "core",
      depth: 0,
      quote: "USDC",
      maxPositions: 4,
      ...pool,
      markets: [market(1, "core"), market(2, "core")],
      collaterals: [
        { token: "WETH", asset: "ETH/USD", weightBps: 8_000, excessWeightBps: 6_000, sizeThreshold: "5000000" },
        { token: "WBTC", asset: "BTC/USD", weightBps: 8_000, excessWeightBps: 6_000, sizeThreshold: "5000000" },
      ],
      deposits: [
        { token: "USDC", cap: "50000000" },
        { token: "WETH", cap: "20000" },
        { token: "WBTC", cap: "1000" },
      ],
      reserveAllowance: [{ token: "USDC", capPerEpoch: "250000" }],
    },
    {
      id: 1,
      name: "pro",
      depth: 1,
      quote: "USDC",
      maxPositions: 8,
      ...pool,
      markets: [market(1, "pro"), market(2, "pro")],
      collaterals: [
        { token: "WETH", asset: "ETH/USD", weightBps: 7_500, excessWeightBps: 5_000, sizeThreshold: "2000000" },
      ],
      deposits: [
        { token: "USDC", cap: "20000000" },
        { token: "WETH", cap: "5000" },
      ],
      reserveAllowance: [{ token: "USDC", capPerEpoch: "100000" }],
    },
    {
      id: 2,
      name: "edge",
      depth: 2,
      quote: "USDC",
      maxPositions: 8,
      ...pool,
      markets: [market(1, "edge")],
      deposits: [{ token: "USDC", cap: "5000000" }],
    },
  ];
}
