/**
 * Bucket ids of the collateral vault, mirrored from contracts/libraries/BucketId.sol:
 * `tier` (8 bits) | `subId` (88 bits) | `owner` (160 bits), most significant first.
 */

export const MAX_SUB_ID = (1n << 88n) - 1n;
export const SETTLEMENT_SUB_ID = 1n;
export const INSURANCE_SUB_ID = 2n;
const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

/** The bucket of the isolated margin account `(owner, tier, subId)`. */
export function accountBucket(owner: string, tier: number, subId: bigint): bigint {
  if (!Number.isInteger(tier) || tier < 0 || tier > 255) throw new RangeError(`tier must be 0..255, got ${tier}`);
  if (subId < 0n || subId > MAX_SUB_ID) throw new RangeError(`subId must be 0..2^88-1, got ${subId}`);
  return (BigInt(tier) << 248n) | (subId << 160n) | BigInt(owner);
}

/** The settlement bucket of `tier`. */
export function settlementBucket(tier: number): bigint {
  return accountBucket(ZERO_ADDRESS, tier, SETTLEMENT_SUB_ID);
}

/** The insurance-fund bucket of `tier`. */
export function insuranceBucket(tier: number): bigint {
  return accountBucket(ZERO_ADDRESS, tier, INSURANCE_SUB_ID);
}

/** Splits a bucket id into its owner, tier and sub-account id. */
export function decodeBucket(bucket: bigint): { owner: string; tier: number; subId: bigint } {
  const owner = `0x${(bucket & ((1n << 160n) - 1n)).toString(16).padStart(40, "0")}`;
  return { owner, tier: Number(bucket >> 248n), subId: (bucket >> 160n) & MAX_SUB_ID };
}
