// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ExecutionEngine} from "../../contracts/execution/ExecutionEngine.sol";
import {IClearingHouse} from "../../contracts/interfaces/IClearingHouse.sol";
import {IExecutionEngine} from "../../contracts/interfaces/IExecutionEngine.sol";
import {IRiskEngine} from "../../contracts/interfaces/IRiskEngine.sol";
import {BucketId, BucketIdLib} from "../../contracts/libraries/BucketId.sol";
import {ExecutionHandler} from "./handlers/ExecutionHandler.sol";
import {ClearingFixture} from "./utils/ClearingFixture.sol";
import {InvariantBase} from "./utils/InvariantBase.sol";
import {TestBase} from "./utils/TestBase.sol";

/// @notice Invariant tests of the ExecutionEngine over the real clearing house, vault, oracle router and
/// risk engine of the ClearingFixture: EIP-712 orders signed with fixed private keys (VM.sign), settled by
/// `settleMatch`, cancelled by `cancel` and `setMinNonce`; market orders against the tiers' pools
/// (`tradeWithPool`); the fee split (`setFeeConfig`) varied by the admin. The engine holds the fixture's
/// EXECUTOR role (the role `applyFill` is restricted to). Besides the fixture's three tiers (no pool):
/// - tier 3 (depth 2, the ratios of tier 2, no pool) caps the market's open interest at 200 ETH, so that
///   ExecutionOpenInterestCap can be met;
/// - tier 4 (depth 1, the ratios of tier 1, 10 bps taker fee) has a pool, a skew scale of 1,000 ETH (the band
///   holds the pool's inventory within about ±18 ETH), no funding (maxFundingBpsPerDay 0) and an open-interest
///   cap of 60 ETH;
/// - tier 5 (depth 2, the ratios of tier 2) has a pool, a skew scale of 25,000 ETH and funding of up to 10% a
///   day, which accrues with the pool's inventory.
/// Both pools belong to one plain address (`POOL_OWNER`) whose accounts hold 1M quote; they only trade as
/// the counterparty of pool trades. Value sums are exact: with no funding (tiers 0-4, whose funding index
/// stays 0) they are exactly zero; in tier 5 they are exactly minus the funding rounding dust, which the
/// handler computes for every funding settlement a fill makes.
/// @dev The runner calls only the handler's actions. It runs one campaign per `invariant_*` function and
/// checks only that function after each call, so every function also asserts the handler's per-call checks.
contract ExecutionInvariantTest is TestBase, ClearingFixture, InvariantBase {
    uint256 internal constant START = 1_700_000_000;
    uint8 internal constant CAPPED_TIER = 3;
    uint8 internal constant POOL_TIER = 4;
    uint8 internal constant FUNDING_TIER = 5;
    uint8 internal constant ALL_TIERS = TIER_COUNT + 3;
    uint128 internal constant CAPPED_OI = 200e18;
    uint128 internal constant POOL_TIER_OI = 60e18;
    uint256 internal constant POOL_DEPOSIT = 1_000_000e6;
    int256 internal constant SCALE = 1e12;
    int256 internal constant WAD = 1e18;

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
        _listPoolTiers();

        engine = new ExecutionEngine(address(manager), clearing, oracle, risk);
        manager.grantRole(EXECUTOR_ROLE, address(engine), 0);
        handler = new ExecutionHandler(
            engine,
            clearing,
            vault,
            oracle,
            risk,
            quote,
            ethFeed,
            ETH_ASSET,
            ALL_TIERS,
            address(this)
        );
        clearing.setPool(POOL_TIER, handler.POOL_OWNER());
        clearing.setPool(FUNDING_TIER, handler.POOL_OWNER());
        handler.depositPoolNoRevert(POOL_TIER, POOL_DEPOSIT);
        handler.depositPoolNoRevert(FUNDING_TIER, POOL_DEPOSIT);
        // Every trader starts with 20k quote in each tier; deposits keep coming during the campaign.
        for (uint8 t; t < ALL_TIERS; ++t) {
            for (uint256 i; i < handler.TRADERS(); ++i) handler.depositNoRevert(t, i, 20_000e6);
        }

        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](7);
        selectors[0] = ExecutionHandler.depositNoRevert.selector;
        selectors[1] = ExecutionHandler.settleRandomMatch.selector;
        selectors[2] = ExecutionHandler.settleReduceOnlyMatch.selector;
        selectors[3] = ExecutionHandler.movePrice.selector;
        selectors[4] = ExecutionHandler.cancelAndResettle.selector;
        selectors[5] = ExecutionHandler.poolTrade.selector;
        selectors[6] = ExecutionHandler.setFeeSplit.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    /// @dev Tiers 4 and 5 (see the contract's doc comment).
    function _listPoolTiers() internal {
        vault.enableTierToken(POOL_TIER, address(quote), type(uint128).max);
        risk.listTier(POOL_TIER, 1, address(quote), MAX_POSITIONS);
        IRiskEngine.MarketRisk memory noFunding = _marketRisk(1);
        noFunding.maxFundingBpsPerDay = 0;
        noFunding.fundingSkewScale = 1_000e18;
        noFunding.oiCap = POOL_TIER_OI;
        noFunding.takerFeeBps = 10;
        risk.addMarketToTier(POOL_TIER, ETH_MARKET, noFunding);

        vault.enableTierToken(FUNDING_TIER, address(quote), type(uint128).max);
        risk.listTier(FUNDING_TIER, 2, address(quote), MAX_POSITIONS);
        IRiskEngine.MarketRisk memory funding = _marketRisk(2);
        funding.maxFundingBpsPerDay = 1_000;
        funding.fundingSkewScale = 25_000e18;
        risk.addMarketToTier(FUNDING_TIER, ETH_MARKET, funding);
    }

    // ================================================================ invariants

    /// @notice DESIGN §6.3 zero-sum, per tier and market. Sizes: Σ size over every account (traders, the pool,
    /// the treasuries) is 0, the settlement bucket and insurance fund hold no position, and open interest == Σ
    /// long sizes. Value, in "WAD²" units (quote WAD × 1e18), at the tier's funding index I now:
    ///   Σ_accounts [(cash − openNotional) × WAD − size × (I − snapshot)]
    ///     + (cash(insurance) + cash(settlement) − balance(settlement) × 1e12) × WAD == −(funding dust)
    /// Fills net to zero (the notional is computed once and negated for the counterparty; fees move between
    /// accounts of the tier: the trader, the pool, the treasury and the insurance fund), pending funding nets to
    /// zero (Σ size == 0 between fills) and each funding settlement loses exactly its rounding dust (handler
    /// ghost, always >= 0 and below 1 wei of quote WAD per settlement). Tiers 0-4 accrue no funding (index 0),
    /// so there the sum is exactly zero.
    function invariant_zeroSum() public view {
        for (uint8 t; t < ALL_TIERS; ++t) {
            (int256 index, ) = clearing.fundingState(t, ETH_MARKET);
            BucketId[] memory accounts = handler.accountsOf(t);
            int256 sizes;
            uint256 longs;
            int256 value;
            for (uint256 i; i < accounts.length; ++i) {
                IClearingHouse.Position memory p = clearing.position(accounts[i], ETH_MARKET);
                sizes += p.size;
                if (p.size > 0) longs += uint256(int256(p.size));
                value += (clearing.cash(accounts[i]) - p.openNotional) * WAD - p.size * (index - p.fundingIndex);
            }
            BucketId settlement = BucketIdLib.settlement(t);
            BucketId insurance = BucketIdLib.insurance(t);
            _assertIntEq(clearing.position(settlement, ETH_MARKET).size, 0, "settlement bucket holds no position");
            _assertIntEq(clearing.position(insurance, ETH_MARKET).size, 0, "insurance fund holds no position");
            _assertIntEq(sizes, 0, "6.3: per tier and market, sum of sizes (pool included) == 0");
            assertEq(clearing.openInterest(t, ETH_MARKET), longs, "open interest == sum of long sizes");
            int256 held = int256(vault.balanceOf(settlement, address(quote))) * SCALE;
            value += (clearing.cash(insurance) + clearing.cash(settlement) - held) * WAD;
            uint256 dust = handler.fundingDust(t);
            _assertIntEq(value, -int256(dust), "6.3: sum of (cash - openNotional - pending funding) == -dust");
            assertLe(dust, handler.fundingSettlements(t) * uint256(WAD - 1), "dust < 1 wei per funding settlement");
            if (t != FUNDING_TIER) {
                _assertIntEq(index, 0, "no funding outside the funding tier");
                assertEq(dust, 0, "6.3: exact where no funding accrues");
            }
        }
        assertLe(clearing.openInterest(CAPPED_TIER, ETH_MARKET), CAPPED_OI, "open interest within its cap");
        assertLe(clearing.openInterest(POOL_TIER, ETH_MARKET), POOL_TIER_OI, "open interest within its cap (pool)");
        _assertNoHandlerFailure();
    }

    /// @notice DESIGN §6.1 solvency: each tier's vault total is the sum of its known buckets (trader, pool and
    /// treasury accounts, settlement bucket, insurance fund), and Σ tier totals + reserve + queued claims == the
    /// vault's quote holdings (no donations here).
    function invariant_solvency() public view {
        uint256 tiers;
        for (uint8 t; t < ALL_TIERS; ++t) {
            (uint256 total, ) = vault.tierTotal(t, address(quote));
            tiers += total;
            uint256 sum =
                vault.balanceOf(BucketIdLib.settlement(t), address(quote)) +
                    vault.balanceOf(BucketIdLib.insurance(t), address(quote));
            BucketId[] memory accounts = handler.accountsOf(t);
            for (uint256 i; i < accounts.length; ++i) sum += vault.balanceOf(accounts[i], address(quote));
            assertEq(total, sum, "6.1: tier total == sum of its buckets");
        }
        uint256 owed = vault.reserveBalance(address(quote)) + vault.totalQueued(address(quote));
        assertEq(tiers + owed, quote.balanceOf(address(vault)), "6.1: tier totals + reserve + queued == holdings");
        _assertNoHandlerFailure();
    }

    /// @notice The fee split, per tier: the insurance fund's cash is exactly what the splits of every fill sent
    /// it (its only income here; the pool's share too while the tier has no pool), each treasury's account
    /// holds exactly the protocol shares of the fills made while it was named, and the shares (insurance,
    /// pool, treasuries) add up to the fees charged.
    function invariant_feeLedger() public view {
        for (uint8 t; t < ALL_TIERS; ++t) {
            _assertIntEq(
                clearing.cash(BucketIdLib.insurance(t)),
                int256(handler.ghostInsurance(t)),
                "insurance cash == its fee shares"
            );
            uint256 protocol;
            for (uint256 i; i < handler.TREASURIES(); ++i) {
                uint256 share = handler.ghostTreasury(i, t);
                _assertIntEq(clearing.cash(handler.treasuryAccountOf(i, t)), int256(share), "treasury == its shares");
                protocol += share;
            }
            uint256 poolShares = handler.ghostPoolFees(t);
            if (clearing.pool(t) == address(0)) assertEq(poolShares, 0, "no pool share without a pool");
            assertEq(handler.ghostInsurance(t) + poolShares + protocol, handler.ghostFees(t), "shares sum to fees");
        }
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
    /// reducing sides in debt, increasing sides hold IM after a match, consistent OI and leverage refusals,
    /// reduce-only matches never refused otherwise, cancelled orders refused, positions move by the fill; pool
    /// trades at the spec's price and fee, refused exactly when a rule is broken (or for consistent margin or
    /// leverage), moving the books exactly by the fill and the fee split, changing nothing when refused; fee
    /// splits set as asked or refused as the spec says; no other revert.
    function invariant_noHandlerFailure() public view {
        _assertNoHandlerFailure();
    }

    /// @notice At the end of each run, the pool-trade tally: every pool trade tried either went through or was
    /// refused, every refusal is one of the kinds the spec allows (the rules' errors, margin and leverage), and
    /// exits (those made while paused among them) are trades that went through.
    function afterInvariant() public view {
        _assertNoHandlerFailure();
        uint256 ok = handler.calls(ExecutionHandler.poolTrade.selector);
        uint256 refused = handler.poolTradeReverts();
        assertEq(handler.poolTradeAttempts(), ok + refused, "pool trades tried == went through + refused");
        assertEq(handler.calls(handler.POOL_REFUSAL()), refused, "refusals counted once");
        bytes4[10] memory kinds = _poolRefusalKinds();
        uint256 classified;
        for (uint256 i; i < kinds.length; ++i) classified += handler.poolRefusals(kinds[i]);
        assertEq(classified, refused, "every refusal classified");
        assertLe(handler.calls(handler.POOL_EXIT()), ok, "exits went through");
        assertLe(handler.calls(handler.POOL_PAUSED_EXIT()), handler.calls(handler.POOL_EXIT()), "paused exits");
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
        invariant_feeLedger();
        invariant_fillsMatchGhost();
        invariant_noHandlerFailure();
    }

    /// @notice Each pool-trade and fee-split path takes effect at least once from the deployed state: trades
    /// that go through (a buy, a sell, an exit, an exit while paused) and every refusal the handler provokes
    /// (acceptable price, reduce-only, pause, no pool, unauthorized caller, the pool's own account, band, open
    /// interest cap), a fee split set and three refused, and funding settled in the funding tier.
    function test_PoolPathsAllTakeEffect() public {
        // Treasury A, 30% to the pool, 20% to the protocol.
        handler.setFeeSplit((1 << 8) | (3_000 << 16) | (2_000 << 32));
        // Tier 5: trader 0 buys 2 ETH at exactly the expected price. Tier 4: trader 1 sells 3 ETH.
        handler.poolTrade(FUNDING_TIER, 0, 2e18 << 4, 0);
        handler.poolTrade(POOL_TIER, 1, (3e18 << 4) | 1, 1);
        // Refused: 1 wei of acceptable price too tight; reduce-only without a position.
        handler.poolTrade(POOL_TIER, 2, 1e18 << 4, 6);
        handler.poolTrade(POOL_TIER, 2, 1e18 << 4, 8);
        // Ten minutes later (funding accrues in tier 5), trader 0 exits its whole position there.
        handler.movePrice(500, 600);
        handler.poolTrade(FUNDING_TIER, 0, 0, 10);
        // While risk-increasing trades are paused: trader 1 exits in tier 4, trader 3 may not open.
        handler.poolTrade(POOL_TIER, 1, 0, 12);
        handler.poolTrade(POOL_TIER, 3, 1e18 << 4, 12 | (1 << 4));
        // Refused: no pool in tier 0; caller not the owner; the pool's own account; a size beyond the band.
        handler.poolTrade(0, 0, 1e18 << 4, 0);
        handler.poolTrade(POOL_TIER, 0, 1e18 << 4, 13);
        handler.poolTrade(POOL_TIER, 0, 1e18 << 4, 14);
        handler.poolTrade(POOL_TIER, 0, 0, 15);
        // Tier 4's open interest (cap 60 ETH): a 56 ETH match between traders 2 and 3, then a 5 ETH pool buy.
        handler.settleRandomMatch(POOL_TIER, 2, 0, 56e18 << 4, 9_900, 56e18);
        handler.poolTrade(POOL_TIER, 0, 5e18 << 4, 0);
        // Refused splits: a protocol share without a treasury, shares above 100%, a caller that is not admin.
        handler.setFeeSplit(6);
        handler.setFeeSplit(7 | (2 << 8));
        handler.setFeeSplit(5);

        assertEq(handler.calls(ExecutionHandler.poolTrade.selector), 4, "four pool trades went through");
        assertEq(handler.calls(handler.POOL_EXIT()), 2, "two exits went through");
        assertEq(handler.calls(handler.POOL_PAUSED_EXIT()), 1, "an exit went through while paused");
        // The eight rules' refusals once each (the last two kinds, margin and leverage, are not provoked here).
        bytes4[10] memory kinds = _poolRefusalKinds();
        for (uint256 i; i < 8; ++i) assertEq(handler.poolRefusals(kinds[i]), 1, "refusal met");
        assertEq(handler.poolTradeReverts(), 8, "every other pool trade was refused");
        assertEq(handler.calls(ExecutionHandler.setFeeSplit.selector), 1, "a fee split was set");
        assertEq(handler.calls(handler.FEE_CONFIG_REFUSAL()), 3, "three fee splits were refused");
        assertTrue(handler.ghostTreasury(0, FUNDING_TIER) > 0, "the protocol share reached treasury A");
        assertTrue(handler.ghostPoolFees(POOL_TIER) > 0, "the pool share reached the pool");
        assertTrue(handler.fundingSettlements(FUNDING_TIER) > 0, "funding was settled in the funding tier");
        invariant_zeroSum();
        invariant_solvency();
        invariant_feeLedger();
        invariant_fillsMatchGhost();
        invariant_noHandlerFailure();
        afterInvariant();
    }

    // ================================================================ helpers

    /// @dev The refusals a pool trade may meet: the eight rules' errors, then margin and leverage.
    function _poolRefusalKinds() internal pure returns (bytes4[10] memory) {
        return
            [
                IExecutionEngine.ExecutionAcceptablePriceExceeded.selector,
                IExecutionEngine.ExecutionNotReducing.selector,
                IExecutionEngine.ExecutionRiskIncreasePaused.selector,
                IExecutionEngine.ExecutionNoPool.selector,
                IExecutionEngine.ExecutionUnauthorizedTrader.selector,
                IExecutionEngine.ExecutionPoolSelfTrade.selector,
                IExecutionEngine.ExecutionPriceOutsideBand.selector,
                IExecutionEngine.ExecutionOpenInterestCap.selector,
                IClearingHouse.ClearingInsufficientMargin.selector,
                IExecutionEngine.ExecutionLeverageExceeded.selector
            ];
    }

    function _assertIntEq(int256 actual, int256 expected, string memory what) internal pure {
        if (actual != expected) revert AssertIntEqFailed(what, actual, expected);
    }

    function _assertNoHandlerFailure() internal view {
        _noFailure("margin refusal of the wrong shape, or an increasing side below IM", handler.failMargin());
        _noFailure("open-interest refusal with inconsistent figures", handler.failOpenInterest());
        _noFailure("reduce-only match refused for anything but debt", handler.failReduceRefused());
        _noFailure("cancelled order not refused with ExecutionOrderCancelled", handler.failCancelNotEnforced());
        _noFailure("positions did not move by the fill", handler.failPositionDelta());
        _noFailure("pool trade: outcome the spec does not allow", handler.failPoolOutcome());
        _noFailure("pool trade: price or fee not the spec's", handler.failPoolPrice());
        _noFailure("pool trade: books did not move exactly by the fill", handler.failPoolBooks());
        _noFailure("pool trade: a refusal changed state", handler.failPoolRevertState());
        _noFailure("pool trade: a side whose risk grew below IM or above max leverage", handler.failPoolMargin());
        _noFailure("fee split not set as asked or refused wrongly", handler.failFeeConfig());
        _noFailure("unexpected revert", handler.failUnexpectedRevert());
    }

    function _noFailure(string memory what, uint256 count) internal view {
        if (count != 0) revert HandlerFailure(what, count, handler.lastUnexpectedRevert());
    }
}
