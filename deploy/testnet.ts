import type { FoundationConfigInput } from "../sdk/src/deploy/config.js";

import { STRATA_POOL, strataTiers } from "./tiers.js";

/**
 * The shape shared by the testnet configs (deploy/sepolia.ts, arbitrumSepolia.ts, baseSepolia.ts): mock ERC-20
 * tokens (real USDC, WBTC and WETH are not on every testnet), three tiers from the innermost outwards, each with
 * a backstop pool, real execution delays, and each network's own feeds: a real Chainlink proxy where its address
 * is verified from Chainlink's documentation, a MockV3Aggregator otherwise (each network file says which).
 *
 * Mock feeds and tokens on a public testnet: MockV3Aggregator.updateAnswer and MockERC20.mint have no access
 * control, so anyone can move a mock price or mint test tokens. A testnet deployment is for integration, not
 * for meaningful prices; a keeper (or the operator) must push rounds to mock feeds, or they go stale after
 * `primaryMaxAgeSeconds`.
 */

/** Role holders of a testnet deployment: addresses, not keys (scripts/deploy.ts reads them from the environment). */
export interface TestnetRoleHolders {
  /** Receives ADMIN at the end (the deployer keeps it when absent). */
  admin?: string;
  risk: string[];
  guardian: string[];
  oracle: string[];
  /** Receives the protocol's share of fees (the deployer when absent). */
  treasury?: string;
}

/** One feed of a testnet asset: a verified Chainlink proxy, or a mock when none could be verified. */
export type TestnetFeed = { address: string } | { mock: { decimals: number; initialPrice: string } };

/**
 * An asset's feed and the parameters that depend on it. `heartbeatSeconds` and `deviationThresholdBps` are the
 * feed's update rules; where Chainlink's documentation states them they come from there, otherwise they are
 * conservative assumptions, marked as such in the network file.
 */
export interface TestnetAssetFeed {
  feed: TestnetFeed;
  heartbeatSeconds: number;
  deviationThresholdBps: number;
}

export interface TestnetNetwork {
  /** Hardhat network name (hardhat.config.ts) and manifest name (deployments/<network>.json). */
  network: string;
  chainId: number;
  feeds: { "ETH/USD": TestnetAssetFeed; "BTC/USD": TestnetAssetFeed; "USDC/USD": TestnetAssetFeed };
  /** The L2 sequencer-uptime feed; omitted on L1 and where no feed could be verified. */
  sequencer?: { address: string; gracePeriodSeconds: number };
}

/** How long past its heartbeat a feed's answer is still accepted (a round may land late under congestion). */
const HEARTBEAT_BUFFER_SECONDS = 1800;

/** Execution delays of the testnet role holders: shorter than a mainnet's, long enough to exercise scheduling. */
const TESTNET_DELAYS = { admin: 86_400, risk: 3_600, oracle: 3_600 };

export function testnetFoundationConfig(net: TestnetNetwork, holders: TestnetRoleHolders): FoundationConfigInput {
  const asset = (f: TestnetAssetFeed) => ({
    primary: f.feed,
    primaryMaxAgeSeconds: f.heartbeatSeconds + HEARTBEAT_BUFFER_SECONDS,
    maxDeviationBps: 200,
    jumpThresholdBps: 2_000,
    breakerCooldownSeconds: 900,
    deviationThresholdBps: f.deviationThresholdBps,
    // The band's base half-width covers the feed's deviation threshold (the schema requires it).
    baseConfidenceBps: f.deviationThresholdBps,
    confidenceBpsPerHour: 50,
    maxConfidenceBps: 2_500,
  });
  return {
    network: net.network,
    chainId: net.chainId,
    reserveEpochSeconds: 7 * 86400,
    tokens: [
      {
        symbol: "USDC",
        mock: { decimals: 6, name: "USD Coin (Strata test)" },
        outflowCapacity: "1000000",
        outflowWindowSeconds: 86400,
      },
      {
        symbol: "WBTC",
        mock: { decimals: 8, name: "Wrapped BTC (Strata test)" },
        outflowCapacity: "50",
        outflowWindowSeconds: 86400,
      },
      {
        symbol: "WETH",
        mock: { decimals: 18, name: "Wrapped Ether (Strata test)" },
        outflowCapacity: "1000",
        outflowWindowSeconds: 86400,
      },
    ],
    markets: [
      { id: 1, asset: "ETH/USD" },
      { id: 2, asset: "BTC/USD" },
    ],
    assets: [
      { id: "ETH/USD", minPrice: "10", maxPrice: "1000000", ...asset(net.feeds["ETH/USD"]) },
      { id: "BTC/USD", minPrice: "100", maxPrice: "10000000", ...asset(net.feeds["BTC/USD"]) },
      {
        id: "USDC/USD",
        minPrice: "0.5",
        maxPrice: "2",
        ...asset(net.feeds["USDC/USD"]),
        jumpThresholdBps: 500,
      },
    ],
    tiers: strataTiers(STRATA_POOL),
    ...(net.sequencer !== undefined
      ? {
          sequencer: { feed: { address: net.sequencer.address }, gracePeriodSeconds: net.sequencer.gracePeriodSeconds },
        }
      : {}),
    roles: {
      ...(holders.admin !== undefined ? { admin: holders.admin } : {}),
      risk: holders.risk,
      guardian: holders.guardian,
      oracle: holders.oracle,
    },
    fees: { ...(holders.treasury !== undefined ? { treasury: holders.treasury } : {}), poolShareBps: 2_000 },
    delays: TESTNET_DELAYS,
  };
}
