import type { FoundationConfigInput } from "../sdk/src/deploy/config.js";
import { testnetFoundationConfig, type TestnetRoleHolders } from "./testnet.js";

/**
 * Ethereum Sepolia (chain 11155111): mock tokens, real Chainlink ETH/USD and BTC/USD proxies, a mock USDC/USD.
 *
 * Sources, looked up in Chainlink's documentation (stored copies) — every address below names its page:
 * - ETH/USD and BTC/USD proxies: verified (see each).
 * - USDC/USD: NOT VERIFIED. No Chainlink documentation page in the sources available here gives the Sepolia
 *   USDC/USD proxy (the "Price Feed Contract Addresses" page, https://docs.chain.link/data-feeds/price-feeds/addresses,
 *   renders its tables from data not in the stored copy); third-party code disagrees on such addresses. The
 *   asset uses a mock feed; replace it with the proxy from that page once checked there.
 * - Heartbeats and deviation thresholds: NOT VERIFIED for the same reason (they are columns of that page's
 *   tables). The values below are conservative assumptions: a 24-hour heartbeat (Chainlink: "Some heartbeats
 *   are configured to last several hours", https://docs.chain.link/data-feeds) so that a slow testnet feed is
 *   not refused as stale, and a 1% deviation threshold, wider than the usual crypto/USD thresholds, so that the
 *   pool spread floor (which must cover it) errs wide. Confirm both on the addresses page before relying on them.
 * - L2 sequencer-uptime feed: none; Sepolia is an L1.
 */
export const SEPOLIA = {
  network: "sepolia",
  chainId: 11_155_111,
  feeds: {
    "ETH/USD": {
      feed: {
        // Source: https://docs.chain.link/data-feeds/api-reference ("Network: Sepolia, Data Feed: ETH/USD")
        address: "0x694AA1769357215DE4FAC081bf1f309aDC325306",
      },
      // Assumed, not verified (see above).
      heartbeatSeconds: 86_400,
      deviationThresholdBps: 100,
    },
    "BTC/USD": {
      feed: {
        // Source: https://docs.chain.link/data-feeds/getting-started (DataConsumerV3: "Network: Sepolia,
        // Aggregator: BTC/USD"; also the Hardhat guide's "Sepolia BTC / USD price feed proxy address")
        address: "0x1b44F3514812d835EB1BDB0acB33d3fA3351Ee43",
      },
      // Assumed, not verified (see above).
      heartbeatSeconds: 86_400,
      deviationThresholdBps: 100,
    },
    "USDC/USD": {
      // Mock: the Sepolia USDC/USD proxy could not be verified from Chainlink's documentation (see above).
      feed: { mock: { decimals: 8, initialPrice: "1" } },
      heartbeatSeconds: 86_400,
      deviationThresholdBps: 50,
    },
  },
} as const;

export function sepoliaConfig(holders: TestnetRoleHolders): FoundationConfigInput {
  return testnetFoundationConfig(SEPOLIA, holders);
}
