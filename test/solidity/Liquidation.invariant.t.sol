// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IClearingHouse} from "../../contracts/interfaces/IClearingHouse.sol";
import {BucketId, BucketIdLib} from "../../contracts/libraries/BucketId.sol";
import {LiquidationHandler} from "./handlers/LiquidationHandler.sol";
import {InvariantBase} from "./utils/InvariantBase.sol";
import {LiquidationFixture} from "./utils/LiquidationFixture.sol";

/// @notice Invariant tests of the LiquidationEngine over the real clearing house, vault, oracle router, risk
/// engine and one BackstopPool per tier (three tiers of 10x, 20x, 50x, one market): traders open positions
/// up to near their maximum leverage against their tier's market maker, the price gaps (down to −30%), and
/// the handler, as keeper, liquidates (single and batch) and auto-deleverages.
/// @dev The runner calls only the handler's actions. It runs one campaign per `invariant_*` function and
/// checks only that function after each call, so every function also asserts the handler's per-call checks
/// (`fail*` counters): DESIGN §6.4 (a healthy account's liquidation reverts with LiquidationAccountHealthy; a
/// partial one leaves equity − MM strictly higher or the account closed), §6.5 (per backstop with negative
/// equity, WaterfallStep 2 + 3 + 4 == −equity exactly, step 2 == the insurance fund's loss, step 3 == the
/// reserve's payment), §6.2 (a liquidation or ADL in tier A changes no figure of another tier), keepers
/// credited exactly the previewed reward in their own account of the tier, and no owner's or keeper's token
/// balance moving.
contract LiquidationInvariantTest is LiquidationFixture, InvariantBase {
    uint256 internal constant START = 1_700_000_000;

    LiquidationHandler internal handler;

    error HandlerFailure(string what, uint256 count, bytes lastRevert);
    error AssertIntEqFailed(string what, int256 actual, int256 expected);

    function setUp() public {
        VM.warp(START);
        _deployLiquidation();
        handler = new LiquidationHandler(clearing, vault, engine, risk, quote, ethFeed, oracle, ETH_ASSET);
        manager.grantRole(EXECUTOR_ROLE, address(handler), 0);
        handler.fundMarketMakers();

        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](6);
        selectors[0] = LiquidationHandler.openPosition.selector;
        selectors[1] = LiquidationHandler.setPrice.selector;
        selectors[2] = LiquidationHandler.liquidate.selector;
        selectors[3] = LiquidationHandler.liquidateHealthy.selector;
        selectors[4] = LiquidationHandler.liquidateBatch.selector;
        selectors[5] = LiquidationHandler.adl.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    // ================================================================ invariants

    /// @notice §6.4: no liquidation of a healthy account succeeds (each attempt reverts with
    /// LiquidationAccountHealthy), every liquidation the preview allows goes through, and every partial one
    /// leaves the account's equity − MM strictly higher or the account without positions.
    /// forge-config: default.invariant.runs = 32
    /// forge-config: default.invariant.depth = 80
    function invariant_liquidationHealthRule() public view {
        _assertNoHandlerFailure();
    }

    /// @notice §6.5 and §5: for every backstop takeover with negative equity the WaterfallStep amounts of
    /// steps 2 + 3 + 4 equal −equity exactly, step 2 equals what the tier's insurance fund lost and step 3
    /// what the protocol reserve paid; the tier firewall holds for every liquidation and ADL (no other tier's
    /// pool, insurance fund, totals, reserve allowance or accounts change). Statewide: tier 2, not eligible,
    /// never drew from the reserve, and the reserve paid no more than the allowances of tiers 0 and 1.
    /// forge-config: default.invariant.runs = 32
    /// forge-config: default.invariant.depth = 80
    function invariant_waterfallAndFirewall() public view {
        assertEq(vault.reserveAvailable(2, address(quote)), 0, "5: tier 2 is not eligible for the reserve");
        assertLe(
            RESERVE_DEPOSIT - vault.reserveBalance(address(quote)),
            2 * uint256(RESERVE_ALLOWANCE),
            "5: reserve draws within the eligible tiers' allowances"
        );
        _assertNoHandlerFailure();
    }

    /// @notice §6.1 vault solvency after every call: the vault holds exactly Σ tier totals + reserve + queued
    /// claims, and each tier's total is the sum of its known buckets (accounts, market maker, pool, keeper,
    /// settlement bucket, insurance fund): liquidations only move value inside a tier.
    /// forge-config: default.invariant.runs = 32
    /// forge-config: default.invariant.depth = 80
    function invariant_vaultSolvency() public view {
        uint256 tiers;
        for (uint8 t; t < TIER_COUNT; ++t) {
            (uint256 total, ) = vault.tierTotal(t, address(quote));
            tiers += total;
            uint256 sum;
            for (uint256 i; i < handler.ACCOUNTS(); ++i) sum += _balance(handler.accountAt(t, i));
            sum += _balance(handler.poolAccountOf(t));
            sum += _balance(BucketIdLib.account(address(handler), t, 0));
            sum += _balance(BucketIdLib.settlement(t)) + _balance(BucketIdLib.insurance(t));
            assertEq(total, sum, "6.1: tier total == sum of its buckets");
        }
        uint256 owed = vault.reserveBalance(address(quote)) + vault.totalQueued(address(quote));
        assertEq(tiers + owed, quote.balanceOf(address(vault)), "6.1: tier totals + reserve + queued == holdings");
        _assertNoHandlerFailure();
    }

    /// @notice §6.3 after liquidations: per tier, Σ size over every account (the pool's included) is zero,
    /// the system buckets and the keeper hold no position, open interest equals Σ long sizes; and keepers are
    /// only ever credited in their own account of the tier, never by a token transfer (the keeper's and every
    /// owner's token balance are unchanged by liquidation calls).
    /// forge-config: default.invariant.runs = 32
    /// forge-config: default.invariant.depth = 80
    function invariant_sizesSumToZero() public view {
        for (uint8 t; t < TIER_COUNT; ++t) {
            int256 sum;
            uint256 longs;
            for (uint256 i; i <= handler.ACCOUNTS(); ++i) {
                BucketId a = i == handler.ACCOUNTS() ? handler.poolAccountOf(t) : handler.accountAt(t, i);
                int256 size = _size(a);
                sum += size;
                if (size > 0) longs += uint256(size);
            }
            _assertIntEq(sum, 0, "6.3: per tier and market, sum of sizes (pool included) == 0");
            _assertIntEq(_size(BucketIdLib.settlement(t)), 0, "settlement bucket holds no position");
            _assertIntEq(_size(BucketIdLib.insurance(t)), 0, "insurance fund holds no position");
            _assertIntEq(_size(BucketIdLib.account(address(handler), t, 0)), 0, "keeper holds no position");
            assertEq(clearing.openInterest(t, ETH_MARKET), longs, "open interest == sum of long sizes");
        }
        assertEq(quote.balanceOf(address(handler)), 0, "keeper never paid in tokens");
        _assertNoHandlerFailure();
    }

    // ================================================================ handler sanity

    /// @notice A fixed scenario in which every path is taken: partial liquidation, backstop takeover with a
    /// deficit reaching the pool (step 4), a refused liquidation of a healthy account, a batch and an ADL.
    function test_HandlerPathsAllTakeEffect() public {
        handler.openPosition(2, 0, 2_000e6, 47 * 9_500); // tier 2, trader 0: long ~44.6x
        handler.openPosition(2, 1, 2_000e6, (uint256(1) << 128) | (40 * 9_500)); // trader 1: short 38x
        handler.openPosition(2, 2, 10_000e6, 5 * 9_500); // trader 2: long ~5x
        handler.openPosition(0, 0, 10_000e6, 9 * 9_500); // tier 0, trader 0: long ~9x
        handler.liquidateHealthy(2, 0);
        handler.setPrice((150 << 2) | 1, 60); // −1.5%: tier 2 trader 0 under MM, above the backstop margin
        handler.liquidate(2, 0);
        handler.setPrice(3_000 << 2, 60); // −30% gap: trader 0 of tier 2 and of tier 0 deep under water
        handler.liquidateBatch(2, 0x1f);
        handler.liquidate(0, 0);
        handler.adl(2); // the pool (long) is under water; trader 1 (short) is in profit

        assertTrue(handler.calls(LiquidationHandler.openPosition.selector) > 0, "positions opened");
        assertTrue(handler.calls(handler.PARTIAL()) > 0, "a partial liquidation");
        assertTrue(handler.calls(handler.BACKSTOP()) > 0, "a backstop takeover");
        assertTrue(handler.calls(handler.DEFICIT()) > 0, "a backstop with a deficit");
        assertTrue(handler.calls(handler.STEP4()) > 0, "a deficit reached the pool (step 4)");
        assertTrue(handler.calls(LiquidationHandler.liquidateHealthy.selector) > 0, "a healthy account refused");
        assertTrue(handler.calls(LiquidationHandler.liquidateBatch.selector) > 0, "a batch liquidated");
        assertTrue(handler.calls(LiquidationHandler.adl.selector) > 0, "an ADL");
        invariant_liquidationHealthRule();
        invariant_waterfallAndFirewall();
        invariant_vaultSolvency();
        invariant_sizesSumToZero();
    }

    // ================================================================ helpers

    function _balance(BucketId b) internal view returns (uint256) {
        return vault.balanceOf(b, address(quote));
    }

    function _size(BucketId a) internal view returns (int256) {
        IClearingHouse.Position memory p = clearing.position(a, ETH_MARKET);
        return p.size;
    }

    function _assertIntEq(int256 actual, int256 expected, string memory what) internal pure {
        if (actual != expected) revert AssertIntEqFailed(what, actual, expected);
    }

    /// @dev The handler's per-call checks: every campaign asserts them after every call.
    function _assertNoHandlerFailure() internal view {
        _noFailure(
            "6.4: a healthy account was liquidated or not refused with LiquidationAccountHealthy",
            handler.failHealthyLiquidated()
        );
        _noFailure("6.4: a partial liquidation did not raise equity - MM", handler.failNotImproved());
        _noFailure("6.5: waterfall steps 2+3+4 != deficit, or a step != its source's loss", handler.failWaterfall());
        _noFailure("6.2: a liquidation changed another tier", handler.failOtherTierChanged());
        _noFailure("the pool lost more than step 4 (paid a keeper or a deficit twice)", handler.failPoolCharged());
        _noFailure(
            "keeper not credited the preview's reward in its account, or tokens moved",
            handler.failKeeperOrOwnerPaid()
        );
        _noFailure("liquidateBatch count != liquidatable accounts given", handler.failBatchCount());
        _noFailure("ADL absorbed more than the deficit or lowered the pool's equity", handler.failAdl());
        _noFailure("unexpected revert", handler.failUnexpectedRevert());
    }

    function _noFailure(string memory what, uint256 count) internal view {
        if (count != 0) revert HandlerFailure(what, count, handler.lastUnexpectedRevert());
    }
}
