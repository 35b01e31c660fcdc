// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAccessManaged} from "@openzeppelin/contracts/access/manager/IAccessManaged.sol";

import {IClearingHouse} from "../../contracts/interfaces/IClearingHouse.sol";
import {ILiquidationEngine} from "../../contracts/interfaces/ILiquidationEngine.sol";
import {BucketId, BucketIdLib} from "../../contracts/libraries/BucketId.sol";
import {VM_ADDRESS} from "./utils/Vm.sol";
import {LiquidationFixture} from "./utils/LiquidationFixture.sol";

/// @dev The log-recording cheatcodes (served by Hardhat's EDR, Foundry-compatible); not in the shared `Vm`.
interface VmRecordLogs {
    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }

    function recordLogs() external;

    function getRecordedLogs() external returns (Log[] memory);
}

/// @notice Unit tests of the liquidation batch scope (ClearingHouse.beginBatch / endBatch and the
/// ContextCache entries they open) over the real clearing house, liquidation engine, oracle router and risk
/// engine of {LiquidationFixture}: inside one transaction (one test function), a liquidation after a price
/// move always reads the new price, whether single or batched, after a single liquidation or after an
/// earlier batch; the batch hooks are LIQUIDATOR-only, a batch cannot be opened twice, and liquidateBatch
/// always closes its batch.
/// @dev Tier 2 (imr 2%, mmr 1%, bmr 0.5%, penalty 0.5%), ETH at 2 000 with a 10 bps band. Trader A is long
/// 40 ETH and trader B long 35 ETH on 2 000 quote each, against a well-funded market maker. With the band,
/// A is in its partial-liquidation zone for a price in about (1 961.8, 1 971.7), B in about (1 954.6,
/// 1 964.5): at P1 = 1 966 only A is liquidatable, at P2 = 1 960 B is too. So a liquidation of B that read
/// P1 (a stale cache) would find B healthy and revert LiquidationAccountHealthy, and one that succeeds at
/// a mark other than P2's low side would show in the Liquidated event.
contract LiquidationBatchScopeTest is LiquidationFixture {
    uint256 internal constant START = 1_700_000_000;
    uint8 internal constant TIER = 2;
    int256 internal constant P1 = 1_966e8;
    int256 internal constant P2 = 1_960e8;
    uint256 internal constant SCALE = 1e12;

    VmRecordLogs internal constant LOGS = VmRecordLogs(VM_ADDRESS);

    address internal constant STRANGER = address(0xBAD);
    address internal constant OTHER_LIQUIDATOR = address(0x11D);

    BucketId internal traderA;
    BucketId internal traderB;
    BucketId internal maker;

    error AssertIntEqFailed(string what, int256 actual, int256 expected);

    /// @dev One Liquidated event of the engine.
    struct Liquidation {
        bool seen;
        int256 closedSize;
        uint256 price;
        uint256 penalty;
        uint256 reward;
    }

    function setUp() public {
        VM.warp(START);
        _deployLiquidation();
        manager.grantRole(EXECUTOR_ROLE, address(this), 0);
        manager.grantRole(LIQUIDATOR_ROLE, OTHER_LIQUIDATOR, 0);

        traderA = BucketIdLib.account(address(0xA1), TIER, 0);
        traderB = BucketIdLib.account(address(0xB1), TIER, 0);
        maker = BucketIdLib.account(address(0x3A3E), TIER, 0);
        _deposit(maker, 2_000_000e6);
        _deposit(traderA, 2_000e6);
        _deposit(traderB, 2_000e6);
        _open(traderA, 40e18);
        _open(traderB, 35e18);
    }

    // ================================================================ helpers

    function _assertIntEq(int256 actual, int256 expected, string memory what) internal pure {
        if (actual != expected) revert AssertIntEqFailed(what, actual, expected);
    }

    function _deposit(BucketId account, uint256 amount) internal {
        address owner = account.owner();
        quote.mint(owner, amount);
        VM.startPrank(owner);
        quote.approve(address(vault), amount);
        vault.deposit(address(quote), amount, account);
        VM.stopPrank();
    }

    /// @dev `trader` goes long `size` against the market maker at the oracle price.
    function _open(BucketId trader, int256 size) internal {
        clearing.applyFill(
            IClearingHouse.Fill({
                taker: trader,
                maker: maker,
                market: ETH_MARKET,
                size: size,
                price: uint256(ethFeed.latestAnswer()) * 1e10,
                takerFee: 0,
                makerFee: 0,
                poolFee: 0,
                protocolFee: 0,
                protocol: BucketId.wrap(0)
            })
        );
    }

    function _setPrice(int256 answer) internal {
        ethFeed.updateAnswer(answer);
    }

    /// @dev The low side of the band the clearing house's liquidation read sees now (a long's mark).
    function _lower() internal view returns (uint256) {
        return oracle.getPriceForLiquidation(ETH_ASSET).lower;
    }

    function _size(BucketId account) internal view returns (int256) {
        return clearing.position(account, ETH_MARKET).size;
    }

    /// @dev `account` is in its partial-liquidation zone (backstop <= equity < MM) at the current price.
    function _assertPartialZone(BucketId account, string memory what) internal view {
        IClearingHouse.Health memory h = clearing.health(account);
        assertTrue(h.equity < int256(h.mm) && h.equity >= int256(h.backstop), what);
    }

    function _assertHealthy(BucketId account, string memory what) internal view {
        IClearingHouse.Health memory h = clearing.health(account);
        assertTrue(h.equity >= int256(h.mm), what);
    }

    /// @dev The last Liquidated event of the engine for `account` in `logs`.
    function _liquidated(
        VmRecordLogs.Log[] memory logs,
        BucketId account
    ) internal view returns (Liquidation memory ev) {
        for (uint256 i; i < logs.length; ++i) {
            VmRecordLogs.Log memory entry = logs[i];
            if (
                entry.emitter != address(engine) ||
                entry.topics.length != 4 ||
                entry.topics[0] != ILiquidationEngine.Liquidated.selector ||
                entry.topics[1] != bytes32(BucketId.unwrap(account))
            ) continue;
            ev.seen = true;
            (ev.closedSize, ev.price, ev.penalty, ev.reward) = abi.decode(
                entry.data,
                (int256, uint256, uint256, uint256)
            );
        }
    }

    /// @dev The partial plan of `account` at the current price, as the engine previews it for keepers.
    function _planNow(BucketId account) internal view returns (IClearingHouse.LiquidationPlan memory) {
        return engine.partialPlan(account, ETH_MARKET, clearing.health(account));
    }

    /// @dev The event matches `plan` (computed at the current price) and the position shrank by its size.
    function _assertLiquidatedAt(
        Liquidation memory ev,
        IClearingHouse.LiquidationPlan memory plan,
        uint256 lower,
        int256 sizeBefore,
        BucketId account,
        string memory what
    ) internal view {
        assertTrue(ev.seen, what);
        assertEq(ev.price, lower, "mark == the current low side");
        assertEq(plan.mark, lower, "plan mark == the current low side");
        _assertIntEq(ev.closedSize, plan.signedClose, "closed size == plan at the current price");
        assertEq(ev.penalty, plan.penalty, "penalty == plan at the current price");
        assertEq(ev.reward, plan.reward, "reward == plan at the current price");
        _assertIntEq(_size(account), sizeBefore - plan.signedClose, "position shrank by the plan's size");
    }

    /// @dev P1: A partial, B healthy. Returns the low side at P1.
    function _moveToP1() internal returns (uint256 lower1) {
        _setPrice(P1);
        lower1 = _lower();
        _assertPartialZone(traderA, "A liquidatable (partial) at P1");
        _assertHealthy(traderB, "B healthy at P1");
    }

    /// @dev P2: B partial. Returns the low side at P2, checked lower than P1's.
    function _moveToP2(uint256 lower1) internal returns (uint256 lower2) {
        _setPrice(P2);
        lower2 = _lower();
        assertTrue(lower2 < lower1, "the price moved down");
        _assertPartialZone(traderB, "B liquidatable (partial) at P2");
    }

    function _oneAccount(BucketId account) internal pure returns (BucketId[] memory accounts, uint16[] memory markets) {
        accounts = new BucketId[](1);
        markets = new uint16[](1);
        accounts[0] = account;
        markets[0] = ETH_MARKET;
    }

    // ================================================================ (a) single, single

    /// @notice In one transaction: A liquidated at P1, the price moves to P2, then B is liquidated at P2's
    /// low side with exactly the plan computed from clearing.health(B) after the move (at P1, B was healthy:
    /// a stale read would have reverted LiquidationAccountHealthy).
    function test_SingleThenSingleUsesTheNewPrice() public {
        uint256 lower1 = _moveToP1();
        IClearingHouse.LiquidationPlan memory planA = _planNow(traderA);
        int256 sizeA = _size(traderA);
        LOGS.recordLogs();
        engine.liquidate(traderA, ETH_MARKET, 0);
        _assertLiquidatedAt(_liquidated(LOGS.getRecordedLogs(), traderA), planA, lower1, sizeA, traderA, "A at P1");

        uint256 lower2 = _moveToP2(lower1);
        IClearingHouse.LiquidationPlan memory planB = _planNow(traderB);
        int256 sizeB = _size(traderB);
        LOGS.recordLogs();
        engine.liquidate(traderB, ETH_MARKET, 0);
        _assertLiquidatedAt(_liquidated(LOGS.getRecordedLogs(), traderB), planB, lower2, sizeB, traderB, "B at P2");
    }

    // ================================================================ (b) single, batch

    /// @notice In one transaction: A liquidated singly at P1, the price moves to P2, then liquidateBatch([A, B])
    /// liquidates every account liquidatable at P2 (B, and A again if it is) at P2's low side, each with the
    /// plan computed after the move: the sequence that once read a stale price when the cache lived for the
    /// whole transaction.
    function test_SingleThenBatchUsesTheNewPrice() public {
        uint256 lower1 = _moveToP1();
        engine.liquidate(traderA, ETH_MARKET, 0);
        assertTrue(_size(traderA) < 40e18, "A partly liquidated at P1");

        uint256 lower2 = _moveToP2(lower1);
        BucketId[] memory accounts = new BucketId[](2);
        uint16[] memory markets = new uint16[](2);
        (accounts[0], accounts[1]) = (traderB, traderA);
        (markets[0], markets[1]) = (ETH_MARKET, ETH_MARKET);
        bool aLiquidatable = engine.preview(traderA, ETH_MARKET).liquidatable;
        assertTrue(!engine.preview(traderA, ETH_MARKET).backstop, "A not in backstop at P2");
        IClearingHouse.LiquidationPlan memory planB = _planNow(traderB);
        IClearingHouse.LiquidationPlan memory planA;
        if (aLiquidatable) planA = _planNow(traderA);
        (int256 sizeA, int256 sizeB) = (_size(traderA), _size(traderB));

        LOGS.recordLogs();
        uint256 liquidated = engine.liquidateBatch(accounts, markets);
        VmRecordLogs.Log[] memory logs = LOGS.getRecordedLogs();
        assertEq(liquidated, aLiquidatable ? 2 : 1, "every account liquidatable at P2");
        _assertLiquidatedAt(_liquidated(logs, traderB), planB, lower2, sizeB, traderB, "B in the batch at P2");
        if (aLiquidatable) {
            _assertLiquidatedAt(_liquidated(logs, traderA), planA, lower2, sizeA, traderA, "A in the batch at P2");
        } else {
            assertTrue(!_liquidated(logs, traderA).seen, "A not liquidated when healthy");
        }
    }

    /// @notice In one transaction: liquidateBatch([A]) at P1, the price moves to P2, liquidateBatch([B]) at
    /// P2: each batch has its own scope, so the second never reads the first one's entries.
    function test_BatchThenBatchUsesTheNewPrice() public {
        uint256 lower1 = _moveToP1();
        IClearingHouse.LiquidationPlan memory planA = _planNow(traderA);
        int256 sizeA = _size(traderA);
        (BucketId[] memory accounts, uint16[] memory markets) = _oneAccount(traderA);
        LOGS.recordLogs();
        assertEq(engine.liquidateBatch(accounts, markets), 1, "A liquidated in the first batch");
        _assertLiquidatedAt(_liquidated(LOGS.getRecordedLogs(), traderA), planA, lower1, sizeA, traderA, "A");

        uint256 lower2 = _moveToP2(lower1);
        IClearingHouse.LiquidationPlan memory planB = _planNow(traderB);
        int256 sizeB = _size(traderB);
        (accounts, markets) = _oneAccount(traderB);
        LOGS.recordLogs();
        assertEq(engine.liquidateBatch(accounts, markets), 1, "B liquidated in the second batch");
        _assertLiquidatedAt(_liquidated(LOGS.getRecordedLogs(), traderB), planB, lower2, sizeB, traderB, "B");
    }

    /// @notice In one transaction: liquidateBatch([A]) at P1, the price moves to P2, then a single liquidation
    /// of B reads P2 (the batch's entries are not used once it is closed).
    function test_BatchThenSingleUsesTheNewPrice() public {
        uint256 lower1 = _moveToP1();
        (BucketId[] memory accounts, uint16[] memory markets) = _oneAccount(traderA);
        assertEq(engine.liquidateBatch(accounts, markets), 1, "A liquidated in the batch");

        uint256 lower2 = _moveToP2(lower1);
        IClearingHouse.LiquidationPlan memory planB = _planNow(traderB);
        int256 sizeB = _size(traderB);
        LOGS.recordLogs();
        engine.liquidate(traderB, ETH_MARKET, 0);
        _assertLiquidatedAt(_liquidated(LOGS.getRecordedLogs(), traderB), planB, lower2, sizeB, traderB, "B");
    }

    // ================================================================ (c) access and double open

    /// @notice beginBatch, endBatch and liquidate revert AccessManagedUnauthorized(caller) for a caller without
    /// the LIQUIDATOR role: a stranger, a trader, and this contract (ADMIN and EXECUTOR, not LIQUIDATOR).
    function test_BatchHooksRequireLiquidatorRole() public {
        address[3] memory callers = [STRANGER, traderA.owner(), address(this)];
        for (uint256 i; i < callers.length; ++i) {
            address caller = callers[i];
            bytes memory unauthorized = abi.encodeWithSelector(
                IAccessManaged.AccessManagedUnauthorized.selector,
                caller
            );
            VM.startPrank(caller);
            VM.expectRevert(unauthorized);
            clearing.beginBatch();
            VM.expectRevert(unauthorized);
            clearing.endBatch();
            VM.expectRevert(unauthorized);
            clearing.liquidate(traderA, ETH_MARKET, 0, caller);
            VM.stopPrank();
        }
        // The refusals left no batch open: the engine's batch still opens and closes.
        (BucketId[] memory accounts, uint16[] memory markets) = _oneAccount(traderA);
        assertEq(engine.liquidateBatch(accounts, markets), 0, "A healthy at the start price");
    }

    /// @notice A LIQUIDATOR opening a batch twice gets ClearingBatchOpen; after endBatch it opens again.
    function test_BeginBatchTwiceReverts() public {
        VM.startPrank(OTHER_LIQUIDATOR);
        clearing.beginBatch();
        VM.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingBatchOpen.selector));
        clearing.beginBatch();
        clearing.endBatch();
        clearing.beginBatch();
        clearing.endBatch();
        VM.stopPrank();

        // The engine (the production role holder) is refused the same way while another batch is open.
        VM.prank(OTHER_LIQUIDATOR);
        clearing.beginBatch();
        VM.startPrank(address(engine));
        VM.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingBatchOpen.selector));
        clearing.beginBatch();
        VM.stopPrank();
        VM.prank(OTHER_LIQUIDATOR);
        clearing.endBatch();
    }

    /// @notice A batch belongs to its opener. While another LIQUIDATOR has a batch open and has cached P1
    /// through it, the engine's own liquidations in the same transaction read fresh prices (B liquidated at
    /// P2), and the engine cannot close the other's batch (ClearingBatchOpen) — only the opener can.
    function test_AnotherLiquidatorsBatchIsNotUsedByTheEngine() public {
        uint256 lower1 = _moveToP1();
        VM.startPrank(OTHER_LIQUIDATOR);
        clearing.beginBatch();
        // Caches tier 2 and P1 in the other liquidator's scope (A is liquidatable at P1).
        clearing.liquidate(traderA, ETH_MARKET, 0, OTHER_LIQUIDATOR);
        VM.stopPrank();

        uint256 lower2 = _moveToP2(lower1);
        IClearingHouse.LiquidationPlan memory planB = _planNow(traderB);
        int256 sizeB = _size(traderB);
        LOGS.recordLogs();
        engine.liquidate(traderB, ETH_MARKET, 0);
        _assertLiquidatedAt(_liquidated(LOGS.getRecordedLogs(), traderB), planB, lower2, sizeB, traderB, "B at P2");

        VM.prank(address(engine));
        VM.expectRevert(abi.encodeWithSelector(IClearingHouse.ClearingBatchOpen.selector));
        clearing.endBatch();
        VM.prank(OTHER_LIQUIDATOR);
        clearing.endBatch();
        _assertBatchClosed();
    }

    /// @notice endBatch with no batch open does nothing (it never reverts for the caller who has none).
    function test_EndBatchWithoutBatchIsANoOp() public {
        VM.prank(address(engine));
        clearing.endBatch();
        _assertBatchClosed();
    }

    // ================================================================ (d) liquidateBatch closes its batch

    /// @notice After liquidateBatch returns the batch is closed, whatever happened inside: accounts
    /// liquidated, accounts skipped (healthy: their inner call reverted), or no account at all. The engine's
    /// own beginBatch then succeeds (it would revert ClearingBatchOpen otherwise).
    function test_LiquidateBatchClosesItsBatch() public {
        // All healthy: every inner liquidation reverts and is skipped.
        BucketId[] memory accounts = new BucketId[](2);
        uint16[] memory markets = new uint16[](2);
        (accounts[0], accounts[1]) = (traderA, traderB);
        (markets[0], markets[1]) = (ETH_MARKET, ETH_MARKET);
        assertEq(engine.liquidateBatch(accounts, markets), 0, "nothing liquidatable at the start price");
        _assertBatchClosed();

        // No account.
        assertEq(engine.liquidateBatch(new BucketId[](0), new uint16[](0)), 0, "empty batch");
        _assertBatchClosed();

        // One liquidated (A), one skipped (B).
        _moveToP1();
        assertEq(engine.liquidateBatch(accounts, markets), 1, "A liquidated, B skipped");
        _assertBatchClosed();
    }

    function _assertBatchClosed() internal {
        VM.startPrank(address(engine));
        clearing.beginBatch();
        clearing.endBatch();
        VM.stopPrank();
    }

    /// @notice Sanity of the scenario the other tests rely on: both traders healthy at the start price, long 40
    /// and 35 ETH on 2 000 quote each, in a tier with a pool.
    function test_SetupIsAsDescribed() public view {
        _assertHealthy(traderA, "A healthy at the start price");
        _assertHealthy(traderB, "B healthy at the start price");
        assertEq(uint256(_size(traderA)), 40e18, "A long 40");
        assertEq(uint256(_size(traderB)), 35e18, "B long 35");
        assertEq(vault.balanceOf(traderA, address(quote)) * SCALE, 2_000e18, "A collateral");
        assertTrue(clearing.pool(TIER) != address(0), "the tier has a pool");
    }
}
