// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

/// @notice Identifies one ledger bucket of the vault: an isolated margin account `(owner, tier, subId)`
/// or a system bucket of a tier (its settlement bucket or its insurance fund).
/// @dev Layout, most significant first: `tier` (8 bits) | `subId` (88 bits) | `owner` (160 bits).
/// The tier tag is part of the identity, so the vault never stores it separately and a bucket can never
/// change tier. System buckets have `owner == address(0)` and a reserved `subId`.
type BucketId is uint256;

using BucketIdLib for BucketId global;

/// @title BucketIdLib
/// @notice Packing and unpacking of {BucketId}.
library BucketIdLib {
    /// @notice The largest sub-account id an owner may use.
    uint256 internal constant MAX_SUB_ID = type(uint88).max;
    /// @notice `subId` of a tier's settlement bucket (owner `address(0)`).
    uint88 internal constant SETTLEMENT_SUB_ID = 1;
    /// @notice `subId` of a tier's insurance fund (owner `address(0)`).
    uint88 internal constant INSURANCE_SUB_ID = 2;

    /// @notice The bucket of the isolated margin account `(owner, tier, subId)`.
    function account(address owner_, uint8 tier_, uint88 subId_) internal pure returns (BucketId) {
        return BucketId.wrap((uint256(tier_) << 248) | (uint256(subId_) << 160) | uint256(uint160(owner_)));
    }

    /// @notice The settlement bucket of `tier_`.
    function settlement(uint8 tier_) internal pure returns (BucketId) {
        return account(address(0), tier_, SETTLEMENT_SUB_ID);
    }

    /// @notice The insurance-fund bucket of `tier_`.
    function insurance(uint8 tier_) internal pure returns (BucketId) {
        return account(address(0), tier_, INSURANCE_SUB_ID);
    }

    function owner(BucketId self) internal pure returns (address) {
        return address(uint160(BucketId.unwrap(self)));
    }

    function tier(BucketId self) internal pure returns (uint8) {
        return uint8(BucketId.unwrap(self) >> 248);
    }

    function subId(BucketId self) internal pure returns (uint88) {
        return uint88(BucketId.unwrap(self) >> 160);
    }

    /// @notice Whether the bucket is one a user can own: a non-zero owner, or one of the two system buckets.
    /// @dev Buckets of `address(0)` with any other sub-id would be unreachable by every code path.
    function isValid(BucketId self) internal pure returns (bool) {
        if (owner(self) != address(0)) return true;
        uint88 sub = subId(self);
        return sub == SETTLEMENT_SUB_ID || sub == INSURANCE_SUB_ID;
    }
}
