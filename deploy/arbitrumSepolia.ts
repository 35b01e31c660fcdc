import type { FoundationConfigInput } from "../sdk/src/deploy/config.js";
import { testnetFoundationConfig, type TestnetRoleHolders } from "./testnet.js";

/**
 * Arbitrum Sepolia (chain 421614, https://docs.arbitrum.io/chain-info): mock tokens and, for now, mock feeds.
 *
 * What was looked up in Chainlink's documentation (stored copies), and why nothing real is used yet:
 * - ETH/USD, BTC/USD, USDC/USD proxies: NOT VERIFIED. Chainlink lists them only on the "Price Feed Contract
 *   Addresses" page (https://docs.chain.link/data-feeds/price-feeds/addresses, network Arbitrum, Arbitrum
 *   Sepolia), whose tables are rendered from data not in the stored copy, and no other Chainlink page or sample
 *   available here names an Arbitrum Sepolia feed. Third-party code gives addresses, but they disagree with one
 *   another, so none is used. Each asset uses a mock feed until its proxy is checked on that page.
 * - Heartbeats and deviation thresholds: not applicable to the mocks (a keeper pushes their rounds): 24 hours,
 *   so a keeper outage of a few hours does not halt the deployment, and a 0.5% threshold.
 * - L2 sequencer-uptime feed: NOT DOCUMENTED for Arbitrum Sepolia. Chainlink's "L2 Sequencer Uptime Feeds"
 *   page (https://docs.chain.link/data-feeds/l2-sequencer-feeds) lists only Arbitrum Mainnet's proxy (and, in
 *   older versions, Arbitrum Goerli's). The config sets no sequencer feed: a mock one would let anyone declare
 *   the sequencer down (MockV3Aggregator.updateAnswer is public). Add it here once Chainlink documents one.
 */
export const ARBITRUM_SEPOLIA = {
  network: "arbitrumSepolia",
  chainId: 421_614,
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

export function arbitrumSepoliaConfig(holders: TestnetRoleHolders): FoundationConfigInput {
  return testnetFoundationConfig(ARBITRUM_SEPOLIA, holders);
}
