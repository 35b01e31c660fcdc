// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {IRiskEngine} from "../../contracts/interfaces/IRiskEngine.sol";
import {MarginMath} from "../../contracts/libraries/MarginMath.sol";
import {TestBase} from "./utils/TestBase.sol";

/// @notice Fuzz tests of MarginMath, called directly (its functions are internal): requirements with size
/// brackets, weighted collateral values, and the ratio ramp.
/// @dev Inputs stay inside the RiskEngine's envelopes where the engine guarantees them (ratios and weights
/// in bps, bracket adds up to 2000 bps, bracketNotional2 off or at least bracketNotional1, excess weight at
/// most the weight). Notionals and values go up to 1e32 (1e14 whole quote units), beyond every uint96
/// bracket threshold, so that both sides of each threshold are reached.
contract MarginMathFuzzTest is TestBase {
    uint256 internal constant BPS = 10_000;
    uint256 internal constant MAX_NOTIONAL = 1e32;
    uint256 internal constant MAX_BRACKET_ADD = 2_000;
    uint256 internal constant MIN_WEIGHT = 100;
    uint256 internal constant MAX_SPAN = 30 days;

    // ================================================================ helpers

    /// @dev Brackets inside the engine's envelope; one run in five has the second bracket off.
    function _brackets(
        uint256 notional1Seed,
        uint256 add1Seed,
        uint256 notional2Seed,
        uint256 add2Seed
    ) internal pure returns (IRiskEngine.MarketRisk memory risk) {
        risk.bracketNotional1 = uint96(bound(notional1Seed, 0, type(uint96).max));
        risk.bracketAddBps1 = uint16(bound(add1Seed, 0, MAX_BRACKET_ADD));
        if (notional2Seed % 5 != 0) {
            risk.bracketNotional2 = uint96(bound(notional2Seed, risk.bracketNotional1, type(uint96).max));
        }
        risk.bracketAddBps2 = uint16(bound(add2Seed, 0, MAX_BRACKET_ADD));
    }

    /// @dev The bracket add-ons of `notional` before division: sum of (N - threshold) * add over active brackets.
    function _addOns(uint256 notional, IRiskEngine.MarketRisk memory risk) internal pure returns (uint256 adds) {
        if (risk.bracketNotional1 != 0 && notional > risk.bracketNotional1) {
            adds += (notional - risk.bracketNotional1) * risk.bracketAddBps1;
        }
        if (risk.bracketNotional2 != 0 && notional > risk.bracketNotional2) {
            adds += (notional - risk.bracketNotional2) * risk.bracketAddBps2;
        }
    }

    /// @dev Three ratios over the whole uint16 range, from one seed.
    function _ratios(uint256 seed) internal pure returns (IRiskEngine.MarginRatios memory r) {
        r.imr = uint16(seed);
        r.mmr = uint16(seed >> 16);
        r.bmr = uint16(seed >> 32);
    }

    function _component(IRiskEngine.MarginRatios memory r, uint256 i) internal pure returns (uint256) {
        if (i == 0) return r.imr;
        if (i == 1) return r.mmr;
        return r.bmr;
    }

    function _collateral(
        uint256 weightSeed,
        uint256 excessSeed,
        uint256 thresholdSeed
    ) internal pure returns (IRiskEngine.CollateralRisk memory c) {
        c.listed = true;
        c.weightBps = uint16(bound(weightSeed, MIN_WEIGHT, BPS));
        c.excessWeightBps = uint16(bound(excessSeed, 0, c.weightBps));
        // One run in five without size scaling.
        if (thresholdSeed % 5 != 0) c.sizeThreshold = uint128(bound(thresholdSeed, 0, MAX_NOTIONAL));
    }

    // ================================================================ requirement

    /// @notice A larger position never needs less margin, at any rate and with any brackets.
    function testFuzz_RequirementMonotoneInNotional(
        uint256 smallSeed,
        uint256 largeSeed,
        uint256 rateSeed,
        uint256 notional1Seed,
        uint256 add1Seed,
        uint256 notional2Seed,
        uint256 add2Seed
    ) public pure {
        IRiskEngine.MarketRisk memory risk = _brackets(notional1Seed, add1Seed, notional2Seed, add2Seed);
        uint256 rate = bound(rateSeed, 0, BPS);
        uint256 small = bound(smallSeed, 0, MAX_NOTIONAL - 1);
        uint256 large = bound(largeSeed, small, MAX_NOTIONAL);
        uint256 reqSmall = MarginMath.requirement(small, rate, risk);
        assertLe(reqSmall, MarginMath.requirement(small + 1, rate, risk), "monotone by one wei");
        assertLe(reqSmall, MarginMath.requirement(large, rate, risk), "monotone");
        // Right at a threshold and one wei above.
        uint256 t1 = risk.bracketNotional1;
        assertLe(MarginMath.requirement(t1, rate, risk), MarginMath.requirement(t1 + 1, rate, risk), "across t1");
        uint256 t2 = risk.bracketNotional2;
        assertLe(MarginMath.requirement(t2, rate, risk), MarginMath.requirement(t2 + 1, rate, risk), "across t2");
    }

    /// @notice With imr >= mmr >= bmr, the IM requirement is at least the MM one, which is at least the
    /// backstop one; each equals the requirement at its own rate.
    function testFuzz_RequirementsOrderedLikeRatios(
        uint256 notionalSeed,
        uint256 ratioSeed,
        uint256 notional1Seed,
        uint256 add1Seed,
        uint256 notional2Seed,
        uint256 add2Seed
    ) public pure {
        IRiskEngine.MarketRisk memory risk = _brackets(notional1Seed, add1Seed, notional2Seed, add2Seed);
        IRiskEngine.MarginRatios memory r;
        r.bmr = uint16(bound(uint16(ratioSeed), 0, BPS));
        r.mmr = uint16(bound(uint16(ratioSeed >> 16), r.bmr, BPS));
        r.imr = uint16(bound(uint16(ratioSeed >> 32), r.mmr, BPS));
        uint256 notional = bound(notionalSeed, 0, MAX_NOTIONAL);
        (uint256 im, uint256 mm, uint256 backstop) = MarginMath.requirements(notional, r, risk);
        assertLe(mm, im, "mm <= im");
        assertLe(backstop, mm, "backstop <= mm");
        assertEq(im, MarginMath.requirement(notional, r.imr, risk), "im at imr");
        assertEq(mm, MarginMath.requirement(notional, r.mmr, risk), "mm at mmr");
        assertEq(backstop, MarginMath.requirement(notional, r.bmr, risk), "backstop at bmr");
    }

    /// @notice notional * rate / 1e4 <= requirement < notional * rate / 1e4 + bracket add-ons / 1e4 + 1,
    /// the requirement being the exact value rounded up; the add-ons never exceed the notional at their rates.
    function testFuzz_RequirementBetweenBaseAndBaseWithBrackets(
        uint256 notionalSeed,
        uint256 rateSeed,
        uint256 notional1Seed,
        uint256 add1Seed,
        uint256 notional2Seed,
        uint256 add2Seed
    ) public pure {
        IRiskEngine.MarketRisk memory risk = _brackets(notional1Seed, add1Seed, notional2Seed, add2Seed);
        uint256 rate = bound(rateSeed, 0, BPS);
        uint256 notional = bound(notionalSeed, 0, MAX_NOTIONAL);
        uint256 req = MarginMath.requirement(notional, rate, risk);
        uint256 base = notional * rate;
        uint256 adds = _addOns(notional, risk);

        assertLe(base / BPS, req, "at least notional * rate / 1e4 (floor)");
        assertTrue(req * BPS >= base, "at least notional * rate / 1e4 (exact)");
        assertTrue(req * BPS >= base + adds, "rounded up, never below the exact requirement");
        assertTrue(req * BPS < base + adds + BPS, "less than base + add-ons + 1");
        uint256 allRates = rate + risk.bracketAddBps1 + risk.bracketAddBps2;
        assertLe(req, Math.ceilDiv(notional * allRates, BPS), "add-ons at most the notional at their rates");
    }

    /// @notice Without an active bracket the requirement is exactly ceil(notional * rate / 1e4).
    function testFuzz_RequirementWithoutBracketsIsCeilOfRate(
        uint256 notionalSeed,
        uint256 rateSeed,
        uint256 add1Seed,
        uint256 add2Seed,
        uint256 thresholdSeed
    ) public pure {
        uint256 rate = bound(rateSeed, 0, BPS);
        uint256 notional = bound(notionalSeed, 0, type(uint96).max);
        IRiskEngine.MarketRisk memory risk;
        risk.bracketAddBps1 = uint16(bound(add1Seed, 0, MAX_BRACKET_ADD));
        risk.bracketAddBps2 = uint16(bound(add2Seed, 0, MAX_BRACKET_ADD));
        uint256 expected = Math.ceilDiv(notional * rate, BPS);
        // Thresholds of 0 switch the brackets off whatever their add-ons.
        assertEq(MarginMath.requirement(notional, rate, risk), expected, "brackets off");
        // Thresholds at or above the notional do not bind either.
        risk.bracketNotional1 = uint96(bound(thresholdSeed, notional, type(uint96).max));
        risk.bracketNotional2 = risk.bracketNotional1;
        assertEq(MarginMath.requirement(notional, rate, risk), expected, "thresholds not reached");
    }

    // ================================================================ weighted value

    /// @notice The weighted value never exceeds the value, never decreases as the value grows, lies between
    /// the value at the excess weight and the value at the weight, and is the value at the weight (floor)
    /// up to the threshold.
    function testFuzz_WeightedValueBoundedAndMonotone(
        uint256 valueSeed,
        uint256 largerSeed,
        uint256 weightSeed,
        uint256 excessSeed,
        uint256 thresholdSeed
    ) public pure {
        IRiskEngine.CollateralRisk memory c = _collateral(weightSeed, excessSeed, thresholdSeed);
        uint256 value = bound(valueSeed, 0, MAX_NOTIONAL - 1);
        uint256 larger = bound(largerSeed, value, MAX_NOTIONAL);
        uint256 weighted = MarginMath.weightedValue(value, c);

        assertLe(weighted, value, "never above the value");
        assertLe(weighted, MarginMath.weightedValue(value + 1, c), "monotone by one wei");
        assertLe(weighted, MarginMath.weightedValue(larger, c), "monotone");
        assertLe((value * c.excessWeightBps) / BPS, weighted, "at least the value at the excess weight");
        assertLe(weighted, (value * c.weightBps) / BPS, "at most the value at the weight");
        if (c.sizeThreshold == 0 || value <= c.sizeThreshold) {
            assertEq(weighted, (value * c.weightBps) / BPS, "the weight up to the threshold");
        }
        // Across the threshold.
        uint256 t = c.sizeThreshold;
        assertLe(MarginMath.weightedValue(t, c), MarginMath.weightedValue(t + 1, c), "across the threshold");
    }

    // ================================================================ ramp

    /// @notice Ramped ratios lie between `from` and `to` componentwise, equal `from` at the start and `to` at
    /// and after the end, and are the straight line rounded up (never below it).
    function testFuzz_RampedRatiosBetweenFromAndTo(
        uint256 fromSeed,
        uint256 toSeed,
        uint256 startSeed,
        uint256 spanSeed,
        uint256 nowSeed
    ) public pure {
        IRiskEngine.MarginRatios memory from = _ratios(fromSeed);
        IRiskEngine.MarginRatios memory to = _ratios(toSeed);
        uint256 start = bound(startSeed, 0, type(uint48).max);
        uint256 end = start + bound(spanSeed, 0, MAX_SPAN);
        uint256 now_ = bound(nowSeed, start, end + MAX_SPAN);
        IRiskEngine.MarginRatios memory r = MarginMath.rampedRatios(from, to, start, end, now_);

        for (uint256 i; i < 3; ++i) {
            uint256 a = _component(from, i);
            uint256 b = _component(to, i);
            uint256 got = _component(r, i);
            assertLe(Math.min(a, b), got, "at least min(from, to)");
            assertLe(got, Math.max(a, b), "at most max(from, to)");
            if (now_ >= end) {
                assertEq(got, b, "to at and after the end");
            } else {
                // The straight line at now_, times the span: a * span + (b - a) * elapsed (b - a may be negative).
                int256 span = int256(end - start);
                int256 line = int256(a) * span + (int256(b) - int256(a)) * int256(now_ - start);
                assertTrue(int256(got) * span >= line, "never below the straight line");
                assertTrue((int256(got) - 1) * span < line, "the line rounded up");
            }
        }

        IRiskEngine.MarginRatios memory atStart = MarginMath.rampedRatios(from, to, start, end, start);
        IRiskEngine.MarginRatios memory expected = end > start ? from : to;
        for (uint256 i; i < 3; ++i) {
            assertEq(_component(atStart, i), _component(expected, i), "from at the start (to when no span)");
        }
    }

    /// @notice Over time each ramped ratio moves towards `to` and never back.
    function testFuzz_RampedRatiosMoveTowardsTarget(
        uint256 fromSeed,
        uint256 toSeed,
        uint256 spanSeed,
        uint256 earlierSeed,
        uint256 laterSeed
    ) public pure {
        IRiskEngine.MarginRatios memory from = _ratios(fromSeed);
        IRiskEngine.MarginRatios memory to = _ratios(toSeed);
        uint256 start = 1_700_000_000;
        uint256 end = start + bound(spanSeed, 1, MAX_SPAN);
        uint256 earlier = bound(earlierSeed, start, end + 1);
        uint256 later = bound(laterSeed, earlier, end + 1);
        IRiskEngine.MarginRatios memory r1 = MarginMath.rampedRatios(from, to, start, end, earlier);
        IRiskEngine.MarginRatios memory r2 = MarginMath.rampedRatios(from, to, start, end, later);
        for (uint256 i; i < 3; ++i) {
            if (_component(to, i) >= _component(from, i)) {
                assertLe(_component(r1, i), _component(r2, i), "a rising ratio never falls");
            } else {
                assertLe(_component(r2, i), _component(r1, i), "a falling ratio never rises");
            }
        }
    }
}
