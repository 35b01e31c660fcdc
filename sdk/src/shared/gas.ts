/** The EIP-7825 cap on a transaction's gas limit (2^24): a node refuses a transaction above it. */
export const MAX_TRANSACTION_GAS = 16_777_216n;

/**
 * The gas limit to send a transaction with: its estimate plus `headroomBps` (rounded up, so the headroom is never
 * less than asked), at most {@link MAX_TRANSACTION_GAS}. A gas estimate is exact only for the state and block it
 * simulates; the transaction lands later, where time-dependent paths (funding accrual) may cost more.
 *
 * @example
 * gasLimitFor(100_000n, 2_000); // 120_000n
 */
export function gasLimitFor(estimate: bigint, headroomBps: number | bigint): bigint {
  const limit = (estimate * (10_000n + BigInt(headroomBps)) + 9_999n) / 10_000n;
  return limit < MAX_TRANSACTION_GAS ? limit : MAX_TRANSACTION_GAS;
}
