/** The bits of `IOracleRouter.Price.flags`, mirrored from contracts/interfaces/IOracleRouter.sol (PriceFlags). */
export const PriceFlag = {
  STALE: 1n << 0n,
  CIRCUIT_BREAKER: 1n << 1n,
  SEQUENCER_DOWN: 1n << 2n,
  SEQUENCER_GRACE: 1n << 3n,
  DEVIATION: 1n << 4n,
  OUT_OF_BOUNDS: 1n << 5n,
  PRIMARY_FAILED: 1n << 6n,
  SECONDARY_FAILED: 1n << 7n,
  FALLBACK_SECONDARY: 1n << 8n,
  FALLBACK_LAST_GOOD: 1n << 9n,
  UNAVAILABLE: 1n << 10n,
} as const;
export type PriceFlagName = keyof typeof PriceFlag;

/** The names of the flags set in `flags`, e.g. `["STALE", "FALLBACK_SECONDARY"]`; `[]` for a good price. */
export function decodePriceFlags(flags: bigint): PriceFlagName[] {
  return (Object.entries(PriceFlag) as [PriceFlagName, bigint][])
    .filter(([, bit]) => (flags & bit) !== 0n)
    .map(([name]) => name);
}
