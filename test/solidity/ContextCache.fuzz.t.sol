// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRiskEngine} from "../../contracts/interfaces/IRiskEngine.sol";
import {ContextCache} from "../../contracts/libraries/ContextCache.sol";
import {TestBase} from "./utils/TestBase.sol";

/// @notice Fuzz tests of ContextCache, called directly (its functions are internal and use this contract's
/// transient storage, which lasts for the test call): market and tier entries round-trip exactly within
/// their scope, are invisible from any other scope, tier or market, and prices that do not fit 128 bits are
/// never cached.
/// @dev Each fuzz run is its own transaction, so it starts with empty transient storage.
contract ContextCacheFuzzTest is TestBase {
    uint256 internal constant MAX_128 = type(uint128).max;

    error AssertAddressEqFailed(string what, address actual, address expected);
    error AssertBytes32EqFailed(string what, bytes32 actual, bytes32 expected);

    // ================================================================ helpers

    function _assertAddressEq(address actual, address expected, string memory what) internal pure {
        if (actual != expected) revert AssertAddressEqFailed(what, actual, expected);
    }

    /// @dev An entry from fuzzed fields; the IM ratio is at least 1 (the risk engine refuses 0, and the cache
    /// uses a nonzero ratio word as its "stored" mark); prices below 2^128.
    function _entry(
        IRiskEngine.MarginParams memory p,
        uint256 lower,
        uint256 mid,
        uint256 upper
    ) internal pure returns (ContextCache.MarketEntry memory e) {
        if (p.ratios.imr == 0) p.ratios.imr = 1;
        e.params = p;
        e.lower = bound(lower, 0, MAX_128);
        e.mid = bound(mid, 0, MAX_128);
        e.upper = bound(upper, 0, MAX_128);
    }

    function _assertEntryEq(ContextCache.MarketEntry memory a, ContextCache.MarketEntry memory b) internal pure {
        IRiskEngine.MarginParams memory p = a.params;
        IRiskEngine.MarginParams memory q = b.params;
        if (p.oracleAsset != q.oracleAsset) revert AssertBytes32EqFailed("oracleAsset", p.oracleAsset, q.oracleAsset);
        assertEq(p.ratios.imr, q.ratios.imr, "imr");
        assertEq(p.ratios.mmr, q.ratios.mmr, "mmr");
        assertEq(p.ratios.bmr, q.ratios.bmr, "bmr");
        assertEq(p.bracketNotional1, q.bracketNotional1, "bracketNotional1");
        assertEq(p.bracketAddBps1, q.bracketAddBps1, "bracketAddBps1");
        assertEq(p.bracketNotional2, q.bracketNotional2, "bracketNotional2");
        assertEq(p.bracketAddBps2, q.bracketAddBps2, "bracketAddBps2");
        assertEq(p.maxFundingBpsPerDay, q.maxFundingBpsPerDay, "maxFundingBpsPerDay");
        assertEq(p.fundingSkewScale, q.fundingSkewScale, "fundingSkewScale");
        assertEq(p.liquidationPenaltyBps, q.liquidationPenaltyBps, "liquidationPenaltyBps");
        assertEq(p.keeperShareBps, q.keeperShareBps, "keeperShareBps");
        assertEq(p.keeperRewardCap, q.keeperRewardCap, "keeperRewardCap");
        assertEq(a.lower, b.lower, "lower");
        assertEq(a.mid, b.mid, "mid");
        assertEq(a.upper, b.upper, "upper");
    }

    function _assertNoMarket(uint256 scope, uint8 tier, uint16 market, string memory what) internal view {
        (bool found, ContextCache.MarketEntry memory e) = ContextCache.loadMarket(scope, tier, market);
        assertTrue(!found, what);
        // Nothing found: the entry is all zero.
        assertEq(e.params.ratios.imr, 0, what);
        assertEq(e.mid, 0, what);
        assertEq(e.upper, 0, what);
    }

    // ================================================================ markets

    /// @notice Within one scope, loadMarket returns exactly the stored MarginParams (every field over its whole
    /// type) and lower/mid/upper (any values below 2^128).
    function testFuzz_MarketRoundTrip(
        uint256 scope,
        uint8 tier,
        uint16 market,
        IRiskEngine.MarginParams memory p,
        uint256 lower,
        uint256 mid,
        uint256 upper
    ) public {
        ContextCache.MarketEntry memory e = _entry(p, lower, mid, upper);
        ContextCache.storeMarket(scope, tier, market, e);
        (bool found, ContextCache.MarketEntry memory got) = ContextCache.loadMarket(scope, tier, market);
        assertTrue(found, "found in its scope");
        _assertEntryEq(got, e);
    }

    /// @notice Prices at the 128-bit limit (2^128 - 1) and the field maxima still round-trip.
    function test_MarketRoundTripAtLimits() public {
        IRiskEngine.MarginParams memory p;
        p.oracleAsset = bytes32(type(uint256).max);
        p.ratios = IRiskEngine.MarginRatios(type(uint16).max, type(uint16).max, type(uint16).max);
        p.bracketNotional1 = type(uint96).max;
        p.bracketAddBps1 = type(uint16).max;
        p.bracketNotional2 = type(uint96).max;
        p.bracketAddBps2 = type(uint16).max;
        p.maxFundingBpsPerDay = type(uint16).max;
        p.fundingSkewScale = type(uint128).max;
        p.liquidationPenaltyBps = type(uint16).max;
        p.keeperShareBps = type(uint16).max;
        p.keeperRewardCap = type(uint128).max;
        ContextCache.MarketEntry memory e = ContextCache.MarketEntry(p, MAX_128, MAX_128, MAX_128);
        ContextCache.storeMarket(type(uint256).max, type(uint8).max, type(uint16).max, e);
        (bool found, ContextCache.MarketEntry memory got) = ContextCache.loadMarket(
            type(uint256).max,
            type(uint8).max,
            type(uint16).max
        );
        assertTrue(found, "found");
        _assertEntryEq(got, e);
    }

    /// @notice An entry is invisible from another scope, another tier or another market (and from the tier
    /// namespace), while a second entry stored in another scope under the same tier and market neither
    /// overwrites nor is overwritten by it.
    function testFuzz_MarketEntryBelongsToItsScopeTierAndMarket(
        uint256 scope,
        uint256 otherScope,
        uint8 tier,
        uint8 otherTier,
        uint16 market,
        uint16 otherMarket,
        IRiskEngine.MarginParams memory p,
        uint256 prices
    ) public {
        VM.assume(otherScope != scope && otherTier != tier && otherMarket != market);
        ContextCache.MarketEntry memory e = _entry(p, uint64(prices), uint96(prices >> 64), uint96(prices >> 160));
        ContextCache.storeMarket(scope, tier, market, e);

        _assertNoMarket(otherScope, tier, market, "other scope finds nothing");
        _assertNoMarket(scope, otherTier, market, "other tier finds nothing");
        _assertNoMarket(scope, tier, otherMarket, "other market finds nothing");

        // A different entry for the same tier and market in another scope (its own copy of the params).
        IRiskEngine.MarginParams memory copy = abi.decode(abi.encode(p), (IRiskEngine.MarginParams));
        ContextCache.MarketEntry memory f = _entry(copy, e.upper, e.lower, e.mid);
        f.params.ratios.imr = e.params.ratios.imr == type(uint16).max ? 1 : e.params.ratios.imr + 1;
        f.params.oracleAsset = ~e.params.oracleAsset;
        ContextCache.storeMarket(otherScope, tier, market, f);
        (bool found, ContextCache.MarketEntry memory got) = ContextCache.loadMarket(scope, tier, market);
        assertTrue(found, "first scope still found");
        _assertEntryEq(got, e);
        (found, got) = ContextCache.loadMarket(otherScope, tier, market);
        assertTrue(found, "second scope found");
        _assertEntryEq(got, f);
    }

    /// @dev An entry whose `which` price (0 lower, 1 mid, 2 upper) is at least 2^128, the others below it.
    function _oversized(
        IRiskEngine.MarginParams memory p,
        uint256[3] memory prices,
        uint256 bigSeed,
        uint256 which
    ) internal pure returns (ContextCache.MarketEntry memory e) {
        e = _entry(p, prices[0], prices[1], prices[2]);
        uint256 big = bound(bigSeed, MAX_128 + 1, type(uint256).max);
        if (which == 0) e.lower = big;
        else if (which == 1) e.mid = big;
        else e.upper = big;
    }

    /// @notice "Prices that do not fit 128 bits ... are not cached": a mid of 2^128 or more is not stored.
    function testFuzz_OversizedMidIsNotStored(
        uint256 scope,
        uint8 tier,
        uint16 market,
        IRiskEngine.MarginParams memory p,
        uint256[3] memory prices,
        uint256 bigSeed
    ) public {
        ContextCache.storeMarket(scope, tier, market, _oversized(p, prices, bigSeed, 1));
        _assertNoMarket(scope, tier, market, "an oversized mid is not cached");
    }

    /// @notice An upper price of 2^128 or more is not stored.
    function testFuzz_OversizedUpperIsNotStored(
        uint256 scope,
        uint8 tier,
        uint16 market,
        IRiskEngine.MarginParams memory p,
        uint256[3] memory prices,
        uint256 bigSeed
    ) public {
        ContextCache.storeMarket(scope, tier, market, _oversized(p, prices, bigSeed, 2));
        _assertNoMarket(scope, tier, market, "an oversized upper is not cached");
    }

    /// @notice A lower price of 2^128 or more (mid and upper below 2^128) is not stored either: otherwise its
    /// high bits would be OR-ed into the upper price's lane and the low ones returned as the lower price.
    function testFuzz_OversizedLowerIsNotStored(
        uint256 scope,
        uint8 tier,
        uint16 market,
        IRiskEngine.MarginParams memory p,
        uint256[3] memory prices,
        uint256 bigSeed
    ) public {
        ContextCache.storeMarket(scope, tier, market, _oversized(p, prices, bigSeed, 0));
        _assertNoMarket(scope, tier, market, "an oversized lower is not cached");
    }

    /// @notice As the router produces them (lower <= mid <= upper), a band reaching 2^128 is never cached.
    function testFuzz_OversizedOrderedBandIsNotStored(
        uint256 scope,
        uint8 tier,
        uint16 market,
        IRiskEngine.MarginParams memory p,
        uint256 a,
        uint256 b,
        uint256 c
    ) public {
        ContextCache.MarketEntry memory e = _entry(p, 0, 0, 0);
        e.upper = bound(c, MAX_128 + 1, type(uint256).max);
        e.mid = bound(b, 0, e.upper);
        e.lower = bound(a, 0, e.mid);
        ContextCache.storeMarket(scope, tier, market, e);
        _assertNoMarket(scope, tier, market, "an oversized band is not cached");
    }
}
