// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {PoolPricing} from "../../contracts/libraries/PoolPricing.sol";
import {TestBase} from "./utils/TestBase.sol";

/// @notice Fuzz tests of the pool's skew impact (PoolPricing.impacted): it never improves on the band's side,
/// it charges nothing for shrinking the traders' net position, it grows with the trade, and it costs the same
/// in one trade or split in two (up to rounding in the protocol's favour). Splitting is how a trader would try
/// to game an impact that is not path-independent.
contract PoolPricingFuzzTest is TestBase {
    uint256 internal constant WAD = 1e18;
    /// @dev Realistic magnitudes: skews and sizes up to 10^12 base units, scales from 10^-6 to 10^18 units.
    uint256 internal constant MAX_UNITS = 1e30;

    function _base(uint256 seed) internal pure returns (uint256) {
        return bound(seed, 1e6, 1e36);
    }

    function _scale(uint256 seed) internal pure returns (uint256) {
        return bound(seed, 1e12, 1e36);
    }

    function _signed(uint256 seed, uint256 max) internal pure returns (int256) {
        uint256 magnitude = bound(seed >> 1, 0, max);
        return seed & 1 == 0 ? int256(magnitude) : -int256(magnitude);
    }

    function _size(uint256 seed) internal pure returns (int256 size) {
        size = _signed(seed, MAX_UNITS);
        if (size == 0) size = 1;
    }

    /// @dev What a trade of `size` at `price` pays (buy, rounded up) or receives (sell, rounded down).
    function _notional(int256 size, uint256 price) internal pure returns (uint256) {
        uint256 magnitude = size > 0 ? uint256(size) : uint256(-size);
        return Math.mulDiv(magnitude, price, WAD, size > 0 ? Math.Rounding.Ceil : Math.Rounding.Floor);
    }

    function testFuzz_neverBetterThanTheBandSide(uint256 b, uint256 k, uint256 s, uint256 z) public pure {
        uint256 base = _base(b);
        int256 size = _size(z);
        uint256 price = PoolPricing.impacted(base, _signed(s, MAX_UNITS), size, _scale(k));
        if (size > 0) assertTrue(price >= base, "a buy pays at least the band's upper side");
        else assertTrue(price <= base, "a sell receives at most the band's lower side");
        assertEq(PoolPricing.impacted(base, _signed(s, MAX_UNITS), size, 0), base, "no scale, no impact");
    }

    function testFuzz_shrinkingTheSkewPaysNoImpact(uint256 b, uint256 k, uint256 s, uint256 z) public pure {
        uint256 base = _base(b);
        // The traders are net short `skew` (or long): a buy of at most the short (a sell of at most the long)
        // only shrinks it.
        int256 skew = _signed(s, MAX_UNITS);
        if (skew == 0) skew = -1;
        uint256 magnitude = bound(z, 1, skew < 0 ? uint256(-skew) : uint256(skew));
        int256 size = skew < 0 ? int256(magnitude) : -int256(magnitude);
        assertEq(PoolPricing.impacted(base, skew, size, _scale(k)), base, "shrinking trades pay the band side");
    }

    function testFuzz_exactPremium(uint256 b, uint256 k, uint256 z) public pure {
        // From a balanced pool, a buy of `size` pays the premium size / (2 × scale), rounded up.
        uint256 base = _base(b);
        uint256 scale = _scale(k);
        uint256 size = bound(z, 1, MAX_UNITS);
        uint256 price = PoolPricing.impacted(base, 0, int256(size), scale);
        assertEq(price, Math.mulDiv(base, 2 * scale + size, 2 * scale, Math.Rounding.Ceil), "buy premium");
        uint256 sold = PoolPricing.impacted(base, 0, -int256(size), scale);
        uint256 expected = size >= 2 * scale ? 0 : Math.mulDiv(base, 2 * scale - size, 2 * scale);
        assertEq(sold, expected, "sell discount");
    }

    function testFuzz_growsWithTheTrade(uint256 b, uint256 k, uint256 s, uint256 z, uint256 more) public pure {
        uint256 base = _base(b);
        uint256 scale = _scale(k);
        int256 skew = _signed(s, MAX_UNITS);
        int256 size = _size(z);
        int256 bigger = size + (size > 0 ? int256(bound(more, 0, MAX_UNITS)) : -int256(bound(more, 0, MAX_UNITS)));
        uint256 p1 = PoolPricing.impacted(base, skew, size, scale);
        uint256 p2 = PoolPricing.impacted(base, skew, bigger, scale);
        if (size > 0) assertTrue(p2 >= p1, "a bigger buy pays at least as much per unit");
        else assertTrue(p2 <= p1, "a bigger sell receives at most as much per unit");
    }

    /// @notice Split in two, a trade costs what it costs in one piece, give or take rounding; never less for
    /// the trader beyond one wei per base unit traded (the price rounding) and a few wei.
    function testFuzz_splittingDoesNotPay(uint256 b, uint256 k, uint256 s, uint256 z, uint256 f) public pure {
        uint256 base = _base(b);
        uint256 scale = _scale(k);
        int256 skew = _signed(s, MAX_UNITS);
        int256 size = _size(z);
        uint256 magnitude = size > 0 ? uint256(size) : uint256(-size);
        uint256 firstMagnitude = bound(f, 0, magnitude);
        int256 first = size > 0 ? int256(firstMagnitude) : -int256(firstMagnitude);
        int256 second = size - first;

        uint256 wholePrice = PoolPricing.impacted(base, skew, size, scale);
        // A sell whose average discount would pass 100% is priced at 0 (the engine refuses it as a risk increase
        // and holds an exit to the band's edge): the linear impact is additive only below that.
        if (wholePrice == 0) return;
        uint256 whole = _notional(size, wholePrice);
        uint256 split;
        if (first != 0) split += _notional(first, PoolPricing.impacted(base, skew, first, scale));
        if (second != 0) split += _notional(second, PoolPricing.impacted(base, skew + first, second, scale));
        // Rounding: each piece's price is off by under one wei from the exact one, so each piece's notional by
        // under |piece| / WAD + 1; the whole's likewise.
        uint256 slack = magnitude / WAD + 4;
        if (size > 0) {
            assertTrue(split + slack >= whole, "a buyer splitting pays no less");
        } else {
            assertTrue(split <= whole + slack, "a seller splitting receives no more");
        }
    }
}
