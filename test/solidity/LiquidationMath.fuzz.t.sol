// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {IClearingHouse} from "../../contracts/interfaces/IClearingHouse.sol";
import {IRiskEngine} from "../../contracts/interfaces/IRiskEngine.sol";
import {LiquidationMath} from "../../contracts/libraries/LiquidationMath.sol";
import {MarginMath} from "../../contracts/libraries/MarginMath.sol";
import {PositionMath} from "../../contracts/libraries/PositionMath.sol";
import {TestBase} from "./utils/TestBase.sol";

/// @notice Fuzz tests of LiquidationMath, called directly (its functions are internal): the partial plan's
/// size, dust rule, penalty and reward; the keeper's share ramp; the §6.4 bound `excessAfter` the clearing
/// house relies on; scaling to a keeper's smaller size; the backstop reward.
/// @dev Cases stay inside the RiskEngine's envelopes (MIN_MMR 25 <= mmr, MIN_BMR 10 <= bmr < mmr < imr <=
/// 10_000 bps, penalty <= mmr − bmr, bracket adds <= 2_000 bps, bracketNotional2 off or >= bracketNotional1,
/// keeper share <= 10_000 bps, cap <= 1e24). Prices run over 1e15..1e24 with a band of up to 20%; the
/// position's notional at the low side over 1e18..1e27 (one run in four under 1e20, near the dust
/// threshold). The health is that of an account holding the position and, in two runs of three, other
/// positions adding MM and backstop requirements, with backstop <= equity < MM (a partial liquidation).
contract LiquidationMathFuzzTest is TestBase {
    uint256 internal constant WAD = 1e18;
    uint256 internal constant BPS = 10_000;
    uint256 internal constant MIN_PRICE = 1e15;
    uint256 internal constant MAX_PRICE = 1e24;
    uint256 internal constant MIN_NOTIONAL = 1e18;
    uint256 internal constant MAX_NOTIONAL = 1e27;
    uint256 internal constant MAX_CAP = 1e24;
    uint256 internal constant DUST = 10e18;
    /// @dev Wei by which the restored equity may fall short of MM × 1.1 through roundings (derived in the test).
    uint256 internal constant RESTORE_ROUNDING = 5;

    error AssertIntGtFailed(string what, int256 actual, int256 limit);
    error AssertIntEqFailed(string what, int256 actual, int256 expected);

    /// @dev One partial-liquidation case.
    struct Case {
        IClearingHouse.Health h;
        IRiskEngine.MarginParams mp;
        int256 size;
        uint256 absSize;
        uint256 lower;
        uint256 upper;
    }

    // ================================================================ helpers

    function _assertIntGt(int256 actual, int256 limit, string memory what) internal pure {
        if (actual <= limit) revert AssertIntGtFailed(what, actual, limit);
    }

    function _assertIntEq(int256 actual, int256 expected, string memory what) internal pure {
        if (actual != expected) revert AssertIntEqFailed(what, actual, expected);
    }

    /// @dev Ratios, penalty, keeper share and cap, and brackets inside the RiskEngine's envelopes.
    function _params(uint256[8] memory s) internal pure returns (IRiskEngine.MarginParams memory mp) {
        mp.ratios.mmr = uint16(bound(s[0], 25, 9_999));
        mp.ratios.bmr = uint16(bound(s[1], 10, mp.ratios.mmr - 1));
        mp.ratios.imr = uint16(bound(s[2], uint256(mp.ratios.mmr) + 1, BPS));
        mp.liquidationPenaltyBps = uint16(bound(s[3], 0, mp.ratios.mmr - mp.ratios.bmr));
        mp.keeperShareBps = uint16(bound(s[4], 0, BPS));
        mp.keeperRewardCap = uint128(bound(s[5], 0, MAX_CAP));
        // One run in four without brackets; the second bracket off one run in five.
        if (s[6] % 4 != 0) {
            mp.bracketNotional1 = uint96(bound(s[6] >> 2, 1, MAX_NOTIONAL));
            mp.bracketAddBps1 = uint16(bound(s[7], 0, 2_000));
            if (s[7] % 5 != 0) {
                mp.bracketNotional2 = uint96(bound(s[6] >> 128, mp.bracketNotional1, type(uint96).max));
                mp.bracketAddBps2 = uint16(bound(s[7] >> 16, 0, 2_000));
            }
        }
    }

    function _requirement(
        uint256 notional,
        uint256 rate,
        IRiskEngine.MarginParams memory mp
    ) internal pure returns (uint256) {
        return
            MarginMath.requirement(
                notional,
                rate,
                mp.bracketNotional1,
                mp.bracketAddBps1,
                mp.bracketNotional2,
                mp.bracketAddBps2
            );
    }

    /// @dev The position (price band, size) and the account's health: MM and backstop requirements of the
    /// position at `upper` (as the clearing house computes them), plus other positions' (none one run in
    /// three), and an equity in [backstop, MM − 1].
    function _case(uint256[8] memory ps, uint256[6] memory s) internal pure returns (Case memory c) {
        c.mp = _params(ps);
        c.lower = bound(s[0], MIN_PRICE, MAX_PRICE);
        c.upper = c.lower + bound(s[0] >> 128, 0, c.lower / 5);
        uint256 notional =
            s[1] % 4 == 0
                ? bound(s[1] >> 2, MIN_NOTIONAL, 100 * MIN_NOTIONAL)
                : bound(s[1] >> 2, MIN_NOTIONAL, MAX_NOTIONAL);
        c.absSize = Math.max(1, (notional * WAD) / c.lower);
        c.size = s[2] % 2 == 0 ? int256(c.absSize) : -int256(c.absSize);

        uint256 posNotional = PositionMath.notionalUp(c.size, c.upper);
        uint256 otherMm = s[3] % 3 == 0 ? 0 : bound(s[3] >> 2, 0, MAX_NOTIONAL / 10);
        uint256 otherBackstop = bound(s[4], 0, otherMm);
        c.h.mm = _requirement(posNotional, c.mp.ratios.mmr, c.mp) + otherMm;
        c.h.backstop = _requirement(posNotional, c.mp.ratios.bmr, c.mp) + otherBackstop;
        c.h.equity = int256(bound(s[5], c.h.backstop, c.h.mm - 1));
        c.h.positions = otherMm == 0 ? 1 : 2;
    }

    /// @dev The keeper's share, as DESIGN §4 states it: `base` at MM (and above), all of the penalty at the
    /// backstop margin (and below), linear in between, rounded down.
    function _expectedShare(int256 equity, uint256 mm, uint256 backstop, uint256 base) internal pure returns (uint256) {
        if (mm <= backstop || equity <= int256(backstop)) return BPS;
        if (equity >= int256(mm)) return base;
        return base + ((BPS - base) * (mm - uint256(equity))) / (mm - backstop);
    }

    // ================================================================ plan

    /// @notice For a partial case: the mark is the conservative side (low for a long, high for a short);
    /// 0 < closeSize <= |size|; a position not closed in full leaves at least DUST_NOTIONAL at the mark;
    /// penalty == min(ceil(floor(closeSize × mark / 1e18) × penaltyBps / 1e4), equity − 1); reward ==
    /// min(floor(penalty × share / 1e4), cap), so reward <= penalty and <= cap; signedClose has the
    /// position's sign and closeSize's magnitude.
    function testFuzz_PlanSizePenaltyAndReward(uint256[8] memory ps, uint256[6] memory s) public pure {
        Case memory c = _case(ps, s);
        IClearingHouse.LiquidationPlan memory p = LiquidationMath.plan(c.h, c.size, c.lower, c.upper, c.mp);

        assertEq(p.mark, c.size > 0 ? c.lower : c.upper, "mark: the conservative side");
        assertTrue(p.closeSize > 0, "equity < MM: something is closed");
        assertLe(p.closeSize, c.absSize, "closeSize <= |size|");
        if (p.closeSize < c.absSize) {
            uint256 rest = ((c.absSize - p.closeSize) * p.mark) / WAD;
            assertTrue(rest >= DUST, "a remainder is at least DUST_NOTIONAL at the mark");
        }

        uint256 closedNotional = (p.closeSize * p.mark) / WAD;
        uint256 penalty = Math.ceilDiv(closedNotional * c.mp.liquidationPenaltyBps, BPS);
        // Capped at the account's equity less the 1 wei the close may round away: never into debt. (The risk
        // engine keeps penalty <= bmr, where the cap cannot bind; this range also covers a ramp's lag.)
        uint256 payable_ = c.h.equity > 1 ? uint256(c.h.equity) - 1 : 0;
        assertEq(
            p.penalty,
            Math.min(penalty, payable_),
            "penalty == min(ceil(floor(closeSize * mark) * bps), equity - 1)"
        );
        assertTrue(c.h.equity - int256(p.penalty) - 1 >= 0 || c.h.equity <= 1, "no liquidation leaves a debt");

        uint256 share = _expectedShare(c.h.equity, c.h.mm, c.h.backstop, c.mp.keeperShareBps);
        assertEq(p.reward, Math.min((p.penalty * share) / BPS, c.mp.keeperRewardCap), "reward");
        assertLe(p.reward, p.penalty, "reward <= penalty");
        assertLe(p.reward, c.mp.keeperRewardCap, "reward <= keeperRewardCap");

        _assertIntEq(p.signedClose, c.size > 0 ? int256(p.closeSize) : -int256(p.closeSize), "signedClose");
    }

    /// @notice DESIGN §6.4 as the clearing house checks it: excessAfter's lower bound of equity − MM after the
    /// plan is strictly greater than equity − MM before whenever the position is not closed in full; and
    /// also when it is (the clearing house checks that case whenever the account holds other positions).
    /// forge-config: default.fuzz.runs = 2048
    function testFuzz_PlanImprovesExcess(uint256[8] memory ps, uint256[6] memory s) public pure {
        Case memory c = _case(ps, s);
        IClearingHouse.LiquidationPlan memory p = LiquidationMath.plan(c.h, c.size, c.lower, c.upper, c.mp);
        (int256 before, int256 after_) = LiquidationMath.excessAfter(c.h, c.size, c.upper, c.mp, p);
        _assertIntEq(before, c.h.equity - int256(c.h.mm), "before == equity - MM");
        if (p.closeSize < c.absSize) {
            _assertIntGt(after_, before, "6.4: a partial close raises equity - MM");
        } else {
            _assertIntGt(after_, before, "6.4: a full close raises equity - MM");
        }
    }

    /// @notice A close smaller than the whole position restores equity to MM × (1 + 10%) (closeSize's
    /// promise) up to RESTORE_ROUNDING wei: with E' = equity − (penalty + 1) and M' the MM after (as
    /// excessAfter computes them), E' × 1e4 + 5 × 1e4 >= M' × 11_000. The roundings bound the shortfall by
    /// 4.2 wei: the penalty's ceil (< 1), the realized PnL's 1, and the ceils of the closed notional at `upper`
    /// and of MM (< 2 of M', × 1.1). (Runs of 20_000 found shortfalls of up to 3 wei: the bound is not slack.)
    /// forge-config: default.fuzz.runs = 2048
    function testFuzz_PartialCloseRestoresBuffer(uint256[8] memory ps, uint256[6] memory s) public pure {
        Case memory c = _case(ps, s);
        IClearingHouse.LiquidationPlan memory p = LiquidationMath.plan(c.h, c.size, c.lower, c.upper, c.mp);
        if (p.closeSize == c.absSize) return;
        (, int256 after_) = LiquidationMath.excessAfter(c.h, c.size, c.upper, c.mp, p);
        int256 equityAfter = c.h.equity - int256(p.penalty) - 1;
        int256 mmAfter = equityAfter - after_;
        assertTrue(mmAfter >= 0, "MM after >= 0");
        assertTrue(
            equityAfter * int256(BPS) + int256(RESTORE_ROUNDING * BPS) >= mmAfter * 11_000,
            "equity after >= 1.1 x MM after (up to rounding)"
        );
    }

    /// @notice While a tightening ramps, the MM ratio in force can lag a penalty already raised, so that
    /// (1 + buffer)·mmr <= penalty: closing gains nothing per unit, and the whole position is closed (no
    /// underflow), with the penalty capped at the equity less 1 wei.
    function test_PenaltyAboveBufferedMmrClosesAll() public pure {
        IRiskEngine.MarginParams memory mp;
        (mp.ratios.imr, mp.ratios.mmr, mp.ratios.bmr) = (800, 400, 100);
        mp.liquidationPenaltyBps = 450; // > 1.1 × 400 = 440
        mp.keeperShareBps = 3_000;
        mp.keeperRewardCap = 1e24;
        IClearingHouse.Health memory h;
        h.mm = 800e18; // 20,000 notional × 4%
        h.backstop = 200e18;
        h.equity = 500e18;
        h.positions = 1;
        IClearingHouse.LiquidationPlan memory p = LiquidationMath.plan(h, 10e18, 2_000e18, 2_002e18, mp);
        assertEq(p.closeSize, 10e18, "the whole position");
        assertEq(p.penalty, 500e18 - 1, "capped: 450 bps of 20,000 = 900 > equity 500");
        assertTrue(p.signedClose == int256(10e18), "long: +10");
    }

    /// @notice Equity at or above MM × 1.1 (rounded up) closes nothing: no penalty, no reward. No position or
    /// no mark: an empty plan (mark 0).
    function testFuzz_PlanNothingToDo(uint256[8] memory ps, uint256[6] memory s, uint256 equitySeed) public pure {
        Case memory c = _case(ps, s);
        uint256 target = Math.ceilDiv(c.h.mm * 11_000, BPS);
        c.h.equity = int256(bound(equitySeed, target, target + MAX_NOTIONAL));
        IClearingHouse.LiquidationPlan memory p = LiquidationMath.plan(c.h, c.size, c.lower, c.upper, c.mp);
        assertEq(p.closeSize, 0, "healthy past the buffer: nothing closed");
        assertEq(p.penalty, 0, "no penalty");
        assertEq(p.reward, 0, "no reward");
        _assertIntEq(p.signedClose, 0, "no signed close");

        p = LiquidationMath.plan(c.h, 0, c.lower, c.upper, c.mp);
        assertEq(p.closeSize + p.penalty + p.reward, 0, "size 0: empty plan");
        p = LiquidationMath.plan(c.h, c.size, c.size > 0 ? 0 : c.lower, c.size > 0 ? c.upper : 0, c.mp);
        assertEq(p.mark + p.closeSize + p.penalty + p.reward, 0, "mark 0: empty plan");
    }

    // ================================================================ keeper share

    /// @notice With MM and backstop fixed, the keeper's share never decreases as equity falls; it is the base
    /// share at or above MM, 10_000 at or below the backstop (and whenever MM <= backstop), and within
    /// [base, 10_000] in between, the straight line rounded down.
    function testFuzz_KeeperShareRisesAsEquityFalls(
        uint256 mmSeed,
        uint256 backstopSeed,
        uint256 baseSeed,
        uint256 higherSeed,
        uint256 lowerSeed
    ) public pure {
        IClearingHouse.Health memory h;
        h.mm = bound(mmSeed, 1, MAX_NOTIONAL);
        h.backstop = bound(backstopSeed, 0, h.mm - 1);
        uint256 base = bound(baseSeed, 0, BPS);
        int256 span = int256(h.mm) * 2;
        int256 higher = int256(bound(higherSeed, 0, uint256(3 * span))) - span;
        int256 lower = higher - int256(bound(lowerSeed, 0, uint256(2 * span)));

        h.equity = higher;
        uint256 shareHigh = LiquidationMath.keeperShareBps(h, base);
        h.equity = lower;
        uint256 shareLow = LiquidationMath.keeperShareBps(h, base);
        assertLe(shareHigh, shareLow, "non-decreasing as equity falls");

        for (uint256 k; k < 2; ++k) {
            h.equity = k == 0 ? higher : lower;
            uint256 share = k == 0 ? shareHigh : shareLow;
            assertEq(share, _expectedShare(h.equity, h.mm, h.backstop, base), "the ramp");
            assertLe(base, share, "at least the base share");
            assertLe(share, BPS, "at most all of the penalty");
            if (h.equity <= int256(h.backstop)) assertEq(share, BPS, "10_000 at or below the backstop");
            if (h.equity >= int256(h.mm)) assertEq(share, base, "the base share at or above MM");
        }

        h.equity = int256(h.backstop);
        assertEq(LiquidationMath.keeperShareBps(h, base), BPS, "10_000 exactly at the backstop");
        h.equity = int256(h.mm);
        assertEq(LiquidationMath.keeperShareBps(h, base), base, "base exactly at MM");
        // MM at or below the backstop requirement: all of it, whatever the equity.
        h.backstop = h.mm + bound(backstopSeed >> 128, 0, MAX_NOTIONAL);
        h.equity = higher;
        assertEq(LiquidationMath.keeperShareBps(h, base), BPS, "MM <= backstop: 10_000");
    }

    // ================================================================ scaled

    /// @notice Scaling a plan to a smaller `requested` size: closeSize == requested (sign kept), mark kept,
    /// penalty == ceil(penalty × requested / closeSize) and reward == floor(reward × requested / closeSize),
    /// so reward <= penalty still; requested == closeSize changes nothing.
    function testFuzz_ScaledIsProportional(
        uint256[8] memory ps,
        uint256[6] memory s,
        uint256 requestedSeed
    ) public pure {
        Case memory c = _case(ps, s);
        IClearingHouse.LiquidationPlan memory p = LiquidationMath.plan(c.h, c.size, c.lower, c.upper, c.mp);
        uint256 requested = bound(requestedSeed, 1, p.closeSize);
        IClearingHouse.LiquidationPlan memory q = LiquidationMath.scaled(_copy(p), requested);

        assertEq(q.closeSize, requested, "closeSize == requested");
        _assertIntEq(q.signedClose, c.size > 0 ? int256(requested) : -int256(requested), "signedClose");
        assertEq(q.mark, p.mark, "mark kept");
        // Penalty rounded up: q.penalty × closeSize >= penalty × requested > (q.penalty − 1) × closeSize.
        assertTrue(q.penalty * p.closeSize >= p.penalty * requested, "penalty not below proportional");
        if (q.penalty != 0) {
            assertTrue((q.penalty - 1) * p.closeSize < p.penalty * requested, "penalty rounded up by < 1");
        }
        // Reward rounded down: q.reward × closeSize <= reward × requested < (q.reward + 1) × closeSize.
        assertTrue(q.reward * p.closeSize <= p.reward * requested, "reward not above proportional");
        assertTrue((q.reward + 1) * p.closeSize > p.reward * requested, "reward rounded down by < 1");
        assertLe(q.reward, q.penalty, "scaled reward <= scaled penalty");
        assertLe(q.penalty, p.penalty, "never more penalty than the full plan");

        IClearingHouse.LiquidationPlan memory same = LiquidationMath.scaled(_copy(p), p.closeSize);
        assertEq(same.penalty, p.penalty, "requested == closeSize: penalty unchanged");
        assertEq(same.reward, p.reward, "requested == closeSize: reward unchanged");
    }

    function _copy(
        IClearingHouse.LiquidationPlan memory p
    ) internal pure returns (IClearingHouse.LiquidationPlan memory) {
        return IClearingHouse.LiquidationPlan(p.closeSize, p.mark, p.penalty, p.reward, p.signedClose);
    }

    // ================================================================ backstop reward

    /// @notice The backstop reward is min(cap, max(equity, 0)): never more than the account's own equity (0
    /// for a negative one), never more than the cap.
    function testFuzz_BackstopRewardBounded(uint256 equitySeed, uint256 capSeed) public pure {
        IClearingHouse.Health memory h;
        h.equity = int256(bound(equitySeed, 0, 2 * MAX_NOTIONAL)) - int256(MAX_NOTIONAL);
        uint256 cap = bound(capSeed, 0, MAX_CAP);
        uint256 reward = LiquidationMath.backstopReward(h, cap);
        uint256 own = h.equity > 0 ? uint256(h.equity) : 0;
        assertLe(reward, own, "<= max(equity, 0)");
        assertLe(reward, cap, "<= cap");
        assertEq(reward, Math.min(own, cap), "== min(cap, max(equity, 0))");
    }
}
