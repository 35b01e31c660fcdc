import type { FoundationConfigInput } from "../sdk/src/deploy/config.js";
import { testnetFoundationConfig, type TestnetRoleHolders } from "./testnet.js";

/**
 * Base Sepolia (chain 84532, https://docs.base.org/docs/network-information/): mock tokens and, for now, mock
 * feeds.
 *
 * What was looked up in Chainlink's documentation (stored copies), and why nothing real is used yet:
 * - ETH/USD, BTC/USD, USDC/USD proxies: NOT VERIFIED. Chainlink lists them only on the "Price Feed Contract
 *   Addresses" page (https://docs.chain.link/data-feeds/price-feeds/addresses, network Base, Base Sepolia),
 *   whose tables are rendered from data not in the stored copy, and no other Chainlink page or sample available
 *   here names a Base Sepolia feed. Third-party code gives addresses, but they disagree with one another (one
 *   address appears as Arbitrum Sepolia's ETH/USD in some and as Base Sepolia's USDC/USD in others), so none is
 *   used. Each asset uses a mock feed until its proxy is checked on that page.
 * - Heartbeats and deviation thresholds: not applicable to the mocks (a keeper pushes their rounds): 24 hours,
 *   so a keeper outage of a few hours does not halt the deployment, and a 0.5% threshold.
 * - L2 sequencer-uptime feed: NOT DOCUMENTED for Base Sepolia. Chainlink's "L2 Sequencer Uptime Feeds" page
 *   (https://docs.chain.link/data-feeds/l2-sequencer-feeds) lists only BASE Mainnet's proxy. The config sets no
 *   sequencer feed: a mock one would let anyone declare the sequencer down (MockV3Aggregator.updateAnswer is
 *   public). Add it here once Chainlink documents one.
 */
export const BASE_SEPOLIA = {
  network: "baseSepolia",
  chainId: 84_532,
  feeds: {
    "ETH/USD": {
      feed: { mock: { decimals: 8, initialPrice: "3000" } },
      heartbeatSeconds: 86_400,
      deviationThresholdBps: 50,
    },
    "BTC/USD": {
      feed: { mock: { decimals: 8, initialPrice: "60000" } },
      heartbeatSeconds: 86_400,
      deviationThresholdBps: 50,
    },
    "USDC/USD": {
      feed: { mock: { decimals: 8, initialPrice: "1" } },
      heartbeatSeconds: 86_400,
      deviationThresholdBps: 50,
    },
  },
} as const;

export function baseSepoliaConfig(holders: TestnetRoleHolders): FoundationConfigInput {
  return testnetFoundationConfig(BASE_SEPOLIA, holders);
}
