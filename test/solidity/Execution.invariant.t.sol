// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ExecutionEngine} from "../../contracts/execution/ExecutionEngine.sol";
import {IClearingHouse} from "../../contracts/interfaces/IClearingHouse.sol";
import {IRiskEngine} from "../../contracts/interfaces/IRiskEngine.sol";
import {BucketId, BucketIdLib} from "../../contracts/libraries/BucketId.sol";
import {ExecutionHandler} from "./handlers/ExecutionHandler.sol";
import {ClearingFixture} from "./utils/ClearingFixture.sol";
import {InvariantBase} from "./utils/InvariantBase.sol";
import {TestBase} from "./utils/TestBase.sol";

/// @notice Invariant tests of the ExecutionEngine over the real clearing house, vault, oracle router and
/// risk engine of the ClearingFixture: EIP-712 orders signed with fixed private keys (VM.sign), settled by
/// `settleMatch`, cancelled by `cancel` and `setMinNonce`. The engine holds the fixture's EXECUTOR role (the
/// role `applyFill` is restricted to). Besides the fixture's three tiers, a fourth tier (id 3, depth 2,
/// the ratios of tier 2) caps the market's open interest at 200 ETH, so that ExecutionOpenInterestCap can
/// be met. No tier has a pool, so no funding accrues: value sums are exact.
/// @dev The runner calls only the handler's actions. It runs one campaign per `invariant_*` function and
/// checks only that function after each call, so every function also asserts the handler's per-call checks.
contract ExecutionInvariantTest is TestBase, ClearingFixture, InvariantBase {
    uint256 internal constant START = 1_700_000_000;
    uint8 internal constant CAPPED_TIER = 3;
    uint8 internal constant ALL_TIERS = TIER_COUNT + 1;
    uint128 internal constant CAPPED_OI = 200e18;
    int256 internal constant SCALE = 1e12;

    ExecutionEngine internal engine;
    ExecutionHandler internal handler;

    error HandlerFailure(string what, uint256 count, bytes lastRevert);
    error AssertIntEqFailed(string what, int256 actual, int256 expected);

    function setUp() public {
        VM.warp(START);
        _deployClearing();
        vault.enableTierToken(CAPPED_TIER, address(quote), type(uint128).max);
        risk.listTier(CAPPED_TIER, 2, address(quote), MAX_POSITIONS);
        IRiskEngine.MarketRisk memory capped = _marketRisk(2);
        capped.oiCap = CAPPED_OI;
        risk.addMarketToTier(CAPPED_TIER, ETH_MARKET, capped);

        engine = new ExecutionEngine(address(manager), clearing, oracle, risk);
        manager.grantRole(EXECUTOR_ROLE, address(engine), 0);
        handler = new ExecutionHandler(engine, clearing, vault, oracle, risk, quote, ethFeed, ETH_ASSET, ALL_TIERS);
        // Every trader starts with 20k quote in each tier; deposits keep coming during the campaign.
        for (uint8 t; t < ALL_TIERS; ++t) {
            for (uint256 i; i < handler.TRADERS(); ++i) handler.depositNoRevert(t, i, 20_000e6);
        }

        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](5);
        selectors[0] = ExecutionHandler.depositNoRevert.selector;
        selectors[1] = ExecutionHandler.settleRandomMatch.selector;
        selectors[2] = ExecutionHandler.settleReduceOnlyMatch.selector;
        selectors[3] = ExecutionHandler.movePrice.selector;
        selectors[4] = ExecutionHandler.cancelAndResettle.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    // ================================================================ invariants

    /// @notice DESIGN §6.3 zero-sum, per tier and market: Σ size over every trader account plus the
    /// settlement bucket and insurance fund is 0 (those two hold no position), open interest == Σ long sizes;
    /// and value: Σ (cash − openNotional) over the accounts + the insurance fund's and settlement bucket's
    /// cash == what the settlement bucket holds (fills net to zero, fees move to the insurance fund; there
    /// is no funding here, so this is exact).
    function invariant_zeroSum() public view {
        for (uint8 t; t < ALL_TIERS; ++t) {
            int256 sizes;
            uint256 longs;
            int256 value;
            for (uint256 i; i < handler.TRADERS(); ++i) {
                IClearingHouse.Position memory p = clearing.position(handler.accountOf(i, t), ETH_MARKET);
                sizes += p.size;
                if (p.size > 0) longs += uint256(int256(p.size));
                value += clearing.cash(handler.accountOf(i, t)) - p.openNotional;
            }
            BucketId settlement = BucketIdLib.settlement(t);
            BucketId insurance = BucketIdLib.insurance(t);
            sizes += clearing.position(settlement, ETH_MARKET).size + clearing.position(insurance, ETH_MARKET).size;
            _assertIntEq(clearing.position(settlement, ETH_MARKET).size, 0, "settlement bucket holds no position");
            _assertIntEq(clearing.position(insurance, ETH_MARKET).size, 0, "insurance fund holds no position");
            _assertIntEq(sizes, 0, "6.3: per tier and market, sum of sizes == 0");
            assertEq(clearing.openInterest(t, ETH_MARKET), longs, "open interest == sum of long sizes");
            value += clearing.cash(insurance) + clearing.cash(settlement);
            _assertIntEq(
                value,
                int256(vault.balanceOf(settlement, address(quote))) * SCALE,
                "6.3: sum of (cash - openNotional) + system cash == settlement holdings"
            );
        }
        assertLe(clearing.openInterest(CAPPED_TIER, ETH_MARKET), CAPPED_OI, "open interest within its cap");
        _assertNoHandlerFailure();
    }

    /// @notice DESIGN §6.1 solvency: each tier's vault total is the sum of its known buckets (trader
    /// accounts, settlement bucket, insurance fund), and Σ tier totals + reserve + queued claims == the
    /// vault's quote holdings (no donations here).
    function invariant_solvency() public view {
        uint256 tiers;
        for (uint8 t; t < ALL_TIERS; ++t) {
            (uint256 total, ) = vault.tierTotal(t, address(quote));
            tiers += total;
            uint256 sum =
                vault.balanceOf(BucketIdLib.settlement(t), address(quote)) +
                    vault.balanceOf(BucketIdLib.insurance(t), address(quote));
            for (uint256 i; i < handler.TRADERS(); ++i) sum += vault.balanceOf(handler.accountOf(i, t), address(quote));
            assertEq(total, sum, "6.1: tier total == sum of its buckets");
        }
        uint256 owed = vault.reserveBalance(address(quote)) + vault.totalQueued(address(quote));
        assertEq(tiers + owed, quote.balanceOf(address(vault)), "6.1: tier totals + reserve + queued == holdings");
        _assertNoHandlerFailure();
    }

    /// @notice Per order digest the handler signed: the base size it got settled equals `engine.filled`,
    /// which never exceeds the order's |size|.
    function invariant_fillsMatchGhost() public view {
        uint256 n = handler.digestCount();
        for (uint256 k; k < n; ++k) {
            bytes32 digest = handler.digests(k);
            uint256 filled = engine.filled(digest);
            assertEq(filled, handler.ghostFilled(digest), "engine.filled == ghost fills");
            assertLe(filled, handler.orderAbsSize(digest), "filled <= |size|");
        }
        _assertNoHandlerFailure();
    }

    /// @notice The handler's per-call checks alone: margin refusals only for increasing sides below IM or
    /// reducing sides in debt, increasing sides hold IM after a match, consistent OI refusals, reduce-only
    /// matches never refused otherwise, cancelled orders refused, positions move by the fill, no other
    /// revert.
    function invariant_noHandlerFailure() public view {
        _assertNoHandlerFailure();
    }

    // ================================================================ handler sanity

    /// @notice Each handler path takes effect at least once from the deployed state: a matched settle, a
    /// reduce-only settle, a settle refused for margin, one refused by the OI cap, a cancel and a min-nonce
    /// cancel (each followed by a refused re-settle), deposits and price moves.
    function test_HandlerPathsAllTakeEffect() public {
        // Tier 0 (10x): traders 0 (maker, sells) and 1 (taker, buys) match 5 ETH at mid, 2 ETH settled.
        handler.settleRandomMatch(0, 0, 0, 5e18 << 4, 9_900, 2e18);
        // Tier 1 (20x), aimed beyond the headroom (bits 1-3 set): 280 ETH at 2000 needs 28k of IM, each side
        // holds 20k, so the match is refused for margin.
        handler.settleRandomMatch(1, 2, 0, (280e18 << 4) | (7 << 1), 9_900, 280e18);
        // Tier 3 (OI capped at 200 ETH, 50x): a 300 ETH match needs 12k of IM, within the 20k each holds, but
        // would take open interest to 300 ETH.
        handler.settleRandomMatch(3, 0, 0, (300e18 << 4) | (7 << 1), 9_900, 300e18);
        handler.movePrice(600, 60);
        // Traders 0 and 1 of tier 0 hold opposite positions: reduce 1 ETH.
        handler.settleReduceOnlyMatch(0, 0, 1e18, 9_900);
        handler.cancelAndResettle(0, 0, 0);
        handler.cancelAndResettle(1, 1, 0);
        handler.depositNoRevert(2, 3, 5_000e6);

        bytes4[5] memory actions = [
            ExecutionHandler.depositNoRevert.selector,
            ExecutionHandler.settleRandomMatch.selector,
            ExecutionHandler.settleReduceOnlyMatch.selector,
            ExecutionHandler.movePrice.selector,
            ExecutionHandler.cancelAndResettle.selector
        ];
        for (uint256 i; i < actions.length; ++i) assertTrue(handler.calls(actions[i]) > 0, "action took effect");
        assertTrue(handler.calls(handler.MARGIN_REFUSAL()) > 0, "a match was refused for margin");
        assertTrue(handler.calls(handler.OI_REFUSAL()) > 0, "a match was refused by the OI cap");
        assertTrue(handler.calls(handler.MIN_NONCE_PATH()) > 0, "setMinNonce cancelled an order");
        assertEq(handler.calls(ExecutionHandler.cancelAndResettle.selector), 2, "both cancels were enforced");
        assertTrue(clearing.cash(BucketIdLib.insurance(0)) > 0, "fees reached the insurance fund");
        assertTrue(handler.digestCount() > 0, "orders were tracked");
        invariant_zeroSum();
        invariant_solvency();
        invariant_fillsMatchGhost();
        invariant_noHandlerFailure();
    }

    // ================================================================ helpers

    function _assertIntEq(int256 actual, int256 expected, string memory what) internal pure {
        if (actual != expected) revert AssertIntEqFailed(what, actual, expected);
    }

    function _assertNoHandlerFailure() internal view {
        _noFailure("margin refusal of the wrong shape, or an increasing side below IM", handler.failMargin());
        _noFailure("open-interest refusal with inconsistent figures", handler.failOpenInterest());
        _noFailure("reduce-only match refused for anything but debt", handler.failReduceRefused());
        _noFailure("cancelled order not refused with ExecutionOrderCancelled", handler.failCancelNotEnforced());
        _noFailure("positions did not move by the fill", handler.failPositionDelta());
        _noFailure("unexpected revert", handler.failUnexpectedRevert());
    }

    function _noFailure(string memory what, uint256 count) internal view {
        if (count != 0) revert HandlerFailure(what, count, handler.lastUnexpectedRevert());
    }
}
