import type { FoundationConfigInput } from "../sdk/src/deploy/config.js";

type TierInput = FoundationConfigInput["tiers"][number];

/** The backstop pool of every tier: a 3-day redemption cooldown and an 80% utilisation limit. */
export const STRATA_POOL = { cooldownSeconds: 3 * 86400, maxUtilisationBps: 8_000 };

/**
 * Strata's three tiers, from the innermost outwards (core 3x, pro 20x, edge 50x by initial margin; opening is
 * capped at 10x and 25x in pro and edge), with their markets, collaterals, deposit caps and reserve allowances:
 * one definition for the local chain (deploy/local.ts) and the testnets (deploy/testnet.ts). `poolParams`: each
 * tier's backstop pool, or none.
 */
export function strataTiers(poolParams?: TierInput["pool"]): TierInput[] {
  // Per tier × market: deeper (inner) tiers are never looser (DESIGN §6.6).
  const market = (
    id: number,
    imrBps: number,
    mmrBps: number,
    bmrBps: number,
    maxLeverage: number,
    penalty: number,
  ) => ({
    market: id,
    imrBps,
    mmrBps,
    bmrBps,
    bracketNotional1: "1000000",
    bracketAddBps1: 50,
    bracketNotional2: "5000000",
    bracketAddBps2: 100,
    maxLeverage,
    liquidationPenaltyBps: penalty,
    keeperShareBps: 3_000,
    keeperRewardCap: "1000",
    oiCap: id === 1 ? "20000" : "1000",
    priceBandBps: 100,
    makerFeeBps: 2,
    takerFeeBps: 5,
    maxFundingBpsPerDay: 10,
    fundingSkewScale: id === 1 ? "1000" : "50",
  });
  const pool = poolParams === undefined ? {} : { pool: poolParams };
  return [
    {
      id: 0,
      name: "core",
      depth: 0,
      quote: "USDC",
      maxPositions: 4,
      ...pool,
      markets: [market(1, 3_333, 1_667, 800, 3, 500), market(2, 3_333, 1_667, 800, 3, 500)],
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
      markets: [market(1, 500, 250, 120, 10, 100), market(2, 500, 250, 120, 10, 100)],
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
      markets: [market(1, 200, 100, 50, 25, 40)],
      deposits: [{ token: "USDC", cap: "5000000" }],
    },
  ];
}
