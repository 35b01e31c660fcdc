// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SignedMath} from "@openzeppelin/contracts/utils/math/SignedMath.sol";

/// @title PoolPricing
/// @notice The price of a trade against a tier's backstop pool, before the band checks: the conservative side
/// of the oracle band with the skew impact of the trade.
/// @dev Units: sizes and skews base WAD (signed, long > 0); prices quote WAD per base unit.
library PoolPricing {
    /// @notice The largest size of one pool trade: 2^96 − 1 base WAD, far above any open-interest cap.
    uint256 internal constant MAX_SIZE = type(uint96).max;

    /// @notice `base` with the skew impact of a trade of `size` (≠ 0, |size| ≤ MAX_SIZE) when the traders' net
    /// long is `skew` (|skew| < 2^127) and the skew scale is `scale`: the premium at a skew `x` is
    /// `|x| / scale` on the side where the trade grows the traders' net position, averaged over the trade:
    /// `(to² − from²) / (2 × scale × |size|)` for the traders' net position on the trade's side growing from
    /// `from` to `to`. A trade, or the part of one, that shrinks it pays none. Being an integral, the impact
    /// of a trade costs the same in one piece or split, as long as a sell's average discount stays below 100%
    /// (at and past it the price is 0; the execution engine refuses such a trade when it adds risk and holds an
    /// exit to the band's edge, where splitting can only bring an exit closer to the exact clamped integral).
    /// Rounded against the trader: up for a buy, down for a sell. `scale` 0: no impact.
    function impacted(uint256 base, int256 skew, int256 size, uint256 scale) internal pure returns (uint256) {
        if (scale == 0) return base;
        bool buys = size > 0;
        int256 skewAfter = skew + size;
        // The traders' net position on the trade's side, before and after, as magnitudes (0 on the other side).
        uint256 from = _onSide(skew, buys);
        uint256 to = _onSide(skewAfter, buys);
        if (to <= from) return base;
        // Magnitudes: to − from ≤ |size| < 2^96 and to + from < 2^129, so num < 2^225; den < 2^225 (scale is
        // at most 2^128 in the risk engine).
        uint256 den = 2 * scale * SignedMath.abs(size);
        uint256 num = (to - from) * (to + from);
        if (buys) return Math.mulDiv(base, den + num, den, Math.Rounding.Ceil);
        return num >= den ? 0 : Math.mulDiv(base, den - num, den, Math.Rounding.Floor);
    }

    /// @dev The magnitude of `skew` when it lies on the buyers' side (`buys`) or the sellers', else 0.
    function _onSide(int256 skew, bool buys) private pure returns (uint256) {
        if (buys) return skew > 0 ? uint256(skew) : 0;
        return skew < 0 ? uint256(-skew) : 0;
    }
}
