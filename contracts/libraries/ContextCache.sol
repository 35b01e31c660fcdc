// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

import {SlotDerivation} from "@openzeppelin/contracts/utils/SlotDerivation.sol";
import {TransientSlot} from "@openzeppelin/contracts/utils/TransientSlot.sol";

import {IRiskEngine} from "../interfaces/IRiskEngine.sol";

/// @title ContextCache
/// @notice A cache in EIP-1153 transient storage of what the liquidation read needs of a tier × market (its
/// {IRiskEngine-MarginParams} and the liquidation price band), for the length of one liquidation batch. The
/// batch then reads the risk engine and the oracle once per market, not once per account. (Each account still
/// reads its tier's config: caching it too no longer fits the clearing house's size limit.)
/// @dev Entries belong to a `scope` (one batch); a new scope never sees an older one's entries. A scope must
/// not outlive a span in which nothing can change a price or a parameter: a transaction may update a pull
/// oracle, or a mock feed, between two calls, so caching for the whole transaction would let a caller
/// liquidate at a price it has since replaced.
library ContextCache {
    using SlotDerivation for bytes32;
    using TransientSlot for bytes32;
    using TransientSlot for TransientSlot.Uint256Slot;
    using TransientSlot for TransientSlot.Bytes32Slot;

    /// @notice One cached market entry.
    struct MarketEntry {
        IRiskEngine.MarginParams params;
        uint256 lower;
        uint256 mid;
        uint256 upper;
    }

    /// @dev keccak256(abi.encode(uint256(keccak256("strata.clearing.MarketContext")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant MARKETS = 0x222c7b6541d13b3678413be21a75539263c7c24fc809a2d56d9ec9b66d21d700;

    uint256 private constant MASK_128 = type(uint128).max;

    /// @notice The entry of `market` in `tier`, if `scope` stored one.
    function loadMarket(
        uint256 scope,
        uint8 tier,
        uint16 market
    ) internal view returns (bool found, MarketEntry memory e) {
        bytes32 base = _base(scope, tier, market);
        // Word 1 holds the ratios; a stored entry's IM ratio is never 0 (the risk engine refuses it).
        uint256 w1 = base.offset(1).asUint256().tload();
        if (w1 == 0) return (false, e);
        found = true;
        uint256 w2 = base.offset(2).asUint256().tload();
        uint256 w3 = base.offset(3).asUint256().tload();
        uint256 w4 = base.offset(4).asUint256().tload();
        IRiskEngine.MarginParams memory p = e.params;
        p.oracleAsset = base.asBytes32().tload();
        // Each field was stored from a value of its own width: the casts restore it exactly.
        p.ratios.imr = uint16(w1);
        p.ratios.mmr = uint16(w1 >> 16);
        p.ratios.bmr = uint16(w1 >> 32);
        p.bracketAddBps1 = uint16(w1 >> 48);
        p.bracketAddBps2 = uint16(w1 >> 64);
        p.maxFundingBpsPerDay = uint16(w1 >> 80);
        p.liquidationPenaltyBps = uint16(w1 >> 96);
        p.keeperShareBps = uint16(w1 >> 112);
        p.bracketNotional1 = uint96(w1 >> 128);
        p.bracketNotional2 = uint96(w2);
        p.keeperRewardCap = uint128(w2 >> 96);
        p.fundingSkewScale = uint128(w3);
        e.mid = w3 >> 128;
        e.lower = w4 & MASK_128;
        e.upper = w4 >> 128;
    }

    /// @notice Stores `e` as the entry of `market` in `tier` in `scope`. Prices that do
    /// not fit 128 bits (never, for a router that refuses prices above 1e36) are not cached.
    function storeMarket(uint256 scope, uint8 tier, uint16 market, MarketEntry memory e) internal {
        if (e.lower > MASK_128 || e.mid > MASK_128 || e.upper > MASK_128) return;
        IRiskEngine.MarginParams memory p = e.params;
        bytes32 base = _base(scope, tier, market);
        base.asBytes32().tstore(p.oracleAsset);
        base.offset(1).asUint256().tstore(
            uint256(p.ratios.imr) |
                (uint256(p.ratios.mmr) << 16) |
                (uint256(p.ratios.bmr) << 32) |
                (uint256(p.bracketAddBps1) << 48) |
                (uint256(p.bracketAddBps2) << 64) |
                (uint256(p.maxFundingBpsPerDay) << 80) |
                (uint256(p.liquidationPenaltyBps) << 96) |
                (uint256(p.keeperShareBps) << 112) |
                (uint256(p.bracketNotional1) << 128)
        );
        base.offset(2).asUint256().tstore(uint256(p.bracketNotional2) | (uint256(p.keeperRewardCap) << 96));
        base.offset(3).asUint256().tstore(uint256(p.fundingSkewScale) | (e.mid << 128));
        base.offset(4).asUint256().tstore(e.lower | (e.upper << 128));
    }

    function _base(uint256 scope, uint8 tier, uint16 market) private pure returns (bytes32) {
        return MARKETS.deriveMapping(scope).deriveMapping((uint256(tier) << 16) | market);
    }
}
