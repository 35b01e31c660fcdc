// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IClearingHouse} from "../../contracts/interfaces/IClearingHouse.sol";
import {BucketId, BucketIdLib} from "../../contracts/libraries/BucketId.sol";
import {ClearingHandler} from "./handlers/ClearingHandler.sol";
import {ClearingFixture} from "./utils/ClearingFixture.sol";
import {InvariantBase} from "./utils/InvariantBase.sol";
import {TestBase} from "./utils/TestBase.sol";

/// @notice Invariant tests of the ClearingHouse over the real vault, oracle router and risk engine:
/// zero-sum (DESIGN §6.3), solvency (§6.1), the tier firewall (§6.2), round trips (§6.8), open interest,
/// margin on risk increases and withdrawals, free exits, and an exact ghost model of every account's books
/// and every bucket's balance. Three tiers (10x, 20x, 50x) of one quote token, one market (ETH), each tier's
/// pool account trading so that funding accrues.
/// @dev The runner calls only the handler's actions (`targetContracts`/`targetSelectors`). It runs one
/// campaign per `invariant_*` function and checks only that function after each call, so every function
/// also asserts the handler's per-call checks (`fail*` counters: firewall, margin, exits, round trips):
/// each campaign checks those after every call, and its own state property besides.
///
/// The zero-sum bound proved (per tier t, in "WAD²" units = quote WAD × 1e18, at the oracle mid `p` and the
/// current funding index `I`):
///   Z_t = Σ_traders [(cash − openNotional) × WAD + size × p − size × (I − snapshot)]
///         + cash(insurance_t) × WAD + cash(settlement_t) × WAD − balance(settlement_t) × 1e12 × WAD
///   −Z_t == Σ funding dust of tier t (the handler's exact ghost), and 0 <= −Z_t <= n_t × (WAD − 1),
/// where n_t is the number of funding settlements with a non-zero exact amount. That is: Σ (cash + unrealized
/// PnL − pending funding) is exactly zero up to funding rounding, which is always in the protocol's favour
/// and below 1 wei of quote WAD per settlement. Fills add no dust at all (the notional is computed once and
/// negated for the maker; realized PnL only moves value between cash and cost basis), and fees net to zero
/// (they move from traders to the insurance fund). The settlement-bucket term is the counterpart of settled
/// cash: settling moves `tokens` into (or out of) that bucket and changes the account's cash by exactly
/// `tokens × 1e12`. Equivalently (with §6.1), Σ exact equity of the tier's accounts == tier total − dust.
contract ClearingHouseInvariantTest is TestBase, ClearingFixture, InvariantBase {
    uint256 internal constant START = 1_700_000_000;
    int256 internal constant WAD = 1e18;
    int256 internal constant SCALE = 1e12;

    ClearingHandler internal handler;

    error HandlerFailure(string what, uint256 count, bytes lastRevert);
    error AssertIntEqFailed(string what, int256 actual, int256 expected);

    function setUp() public {
        VM.warp(START);
        _deployClearing();
        handler = new ClearingHandler(clearing, vault, oracle, risk, quote, ethFeed, ETH_ASSET);
        manager.grantRole(EXECUTOR_ROLE, address(handler), 0);
        // Account 0 of each tier, (actor 0, tier, 0), is the tier's pool: funding follows its inventory.
        for (uint8 t; t < TIER_COUNT; ++t) clearing.setPool(t, handler.actor(0));

        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](10);
        selectors[0] = ClearingHandler.depositNoRevert.selector;
        selectors[1] = ClearingHandler.fillNoRevert.selector;
        selectors[2] = ClearingHandler.reduceFillNoRevert.selector;
        selectors[3] = ClearingHandler.roundTripNoRevert.selector;
        selectors[4] = ClearingHandler.crossTierFillMustRevert.selector;
        selectors[5] = ClearingHandler.setPrice.selector;
        selectors[6] = ClearingHandler.warp.selector;
        selectors[7] = ClearingHandler.accrueFundingNoRevert.selector;
        selectors[8] = ClearingHandler.settleNoRevert.selector;
        selectors[9] = ClearingHandler.withdrawNoRevert.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    // ================================================================ invariants

    /// @notice §6.3 zero-sum. Sizes: per tier and market, Σ size over all accounts (the pool's included) is
    /// zero, the system buckets hold no position, and open interest equals Σ long sizes. Value: per tier,
    /// Σ (cash + size × p − openNotional − pending funding) over the accounts, plus the insurance fund's cash,
    /// minus what the settlement bucket holds, is exactly minus the funding rounding dust: in the protocol's
    /// favour and below 1 wei of quote WAD per funding settlement (see the contract's doc comment).
    /// forge-config: default.invariant.runs = 32
    /// forge-config: default.invariant.depth = 80
    function invariant_zeroSum() public view {
        int256 p = int256(handler.mid());
        for (uint8 t; t < TIER_COUNT; ++t) {
            _assertSizesSumToZero(t);
            int256 z = _tierValue(t, p);
            uint256 dust = handler.ghostFundingDust(t);
            uint256 settlements = handler.fundingSettlements(t);
            assertTrue(z <= 0, "6.3: rounding never favours the accounts");
            assertLe(uint256(-z), settlements * uint256(WAD - 1), "6.3: dust < 1 wei per funding settlement");
            _assertIntEq(-z, int256(dust), "6.3: sum of values == -(funding rounding dust), exactly");
        }
        _assertNoHandlerFailure();
    }

    /// @notice §6.1 solvency: the vault holds exactly Σ tier totals + reserve + queued claims (no donations
    /// here), and each tier's total is the sum of the buckets the handler knows of (accounts, settlement
    /// bucket, insurance fund).
    /// forge-config: default.invariant.runs = 32
    /// forge-config: default.invariant.depth = 80
    function invariant_solvency() public view {
        uint256 buckets = handler.BUCKETS();
        uint256 tiers;
        for (uint8 t; t < TIER_COUNT; ++t) {
            (uint256 total, ) = vault.tierTotal(t, address(quote));
            tiers += total;
            uint256 sum;
            for (uint256 i; i < buckets; ++i) sum += vault.balanceOf(handler.bucketAt(t, i), address(quote));
            assertEq(total, sum, "6.1: tier total == sum of its buckets");
        }
        uint256 owed = vault.reserveBalance(address(quote)) + vault.totalQueued(address(quote));
        assertEq(tiers + owed, quote.balanceOf(address(vault)), "6.1: tier totals + reserve + queued == holdings");
        _assertNoHandlerFailure();
    }

    /// @notice §6.2 tier firewall: no call acting on one tier changed another tier's positions, cash, bucket
    /// balances, vault total, open interest or funding state (the handler compares every tier before and
    /// after each call); no cross-tier fill got through; and each tier's vault total equals the ghost
    /// balances of that tier's buckets, which only the tier's own deposits, settlements and withdrawals move.
    /// forge-config: default.invariant.runs = 32
    /// forge-config: default.invariant.depth = 80
    function invariant_tierFirewall() public view {
        uint256 buckets = handler.BUCKETS();
        for (uint8 t; t < TIER_COUNT; ++t) {
            int256 ghost;
            for (uint256 i; i < buckets; ++i) ghost += handler.ghostBalance(handler.bucketAt(t, i));
            (uint256 total, ) = vault.tierTotal(t, address(quote));
            _assertIntEq(int256(total), ghost, "6.2: tier total == its own buckets' ghost balances");
        }
        _assertNoHandlerFailure();
    }

    /// @notice Each tier's funding index follows the spec's rate (pool inventory over skew scale, clamped, at
    /// the mid price), and every account's books, `(cash − openNotional) × WAD + size × fundingSnapshot`, and
    /// every bucket's vault balance equal the ghost model's (fills move books by `dSize × index − (notional + fee)
    /// × WAD`, funding by minus its dust, settlement by the tokens moved, with DESIGN §3's rounding).
    /// forge-config: default.invariant.runs = 32
    /// forge-config: default.invariant.depth = 80
    function invariant_accountBooksMatchGhost() public view {
        uint256 buckets = handler.BUCKETS();
        for (uint8 t; t < TIER_COUNT; ++t) {
            (int256 index, ) = clearing.fundingState(t, ETH_MARKET);
            _assertIntEq(index, handler.fundingIndexModel(t), "funding index == spec model (pool inventory)");
            for (uint256 i; i < buckets; ++i) {
                BucketId bucket = handler.bucketAt(t, i);
                _assertIntEq(handler.book(bucket), handler.ghostBook(bucket), "account books == ghost");
                _assertIntEq(
                    int256(vault.balanceOf(bucket, address(quote))),
                    handler.ghostBalance(bucket),
                    "bucket balance == ghost"
                );
            }
        }
        _assertNoHandlerFailure();
    }

    /// @notice §6.8 and margin: an open/close round trip at one price never leaves an account with more than
    /// before minus its fees (nor costs more than fees plus funding dust); risk-increasing fill sides hold
    /// IM; reducing fills are never refused; withdrawals with positions or debt leave IM covered by what is in
    /// hand (no unrealized profit, unpaid positive cash or funding receivable); free collateral always leaves.
    /// (Asserted per call by the handler.)
    /// forge-config: default.invariant.runs = 32
    /// forge-config: default.invariant.depth = 80
    function invariant_roundTripsAndMargin() public view {
        _assertNoHandlerFailure();
    }

    // ================================================================ handler sanity

    /// @notice Each handler action does something from a plain state (guards against an action that always
    /// returns early, which would make the invariants vacuous).
    function test_HandlerActionsAllTakeEffect() public {
        handler.depositNoRevert(2, 0, 50_000e6); // tier 2, pool account
        handler.depositNoRevert(2, 1, 50_000e6);
        handler.depositNoRevert(2, 2, 20_000e6);
        handler.depositNoRevert(0, 0, 10_000e6);
        handler.fillNoRevert(2, 0, 0, 20e18 << 4, 10_000, 7e18); // pool long 20 ETH against account 1, at mid
        // Tier 1: account 3 holds 1 quote and tries to go long 0.015 ETH (1.5x what its margin allows).
        handler.depositNoRevert(1, 3, 1e6);
        handler.depositNoRevert(1, 0, 10e6);
        handler.fillNoRevert(1, 3, 0, (15e15 << 4) | (7 << 1), 10_000, 0);
        handler.warp(6 hours);
        handler.accrueFundingNoRevert(2);
        handler.settleNoRevert(2, 0, 0); // the pool (long, so paid by the shorts) settles its funding
        handler.setPrice(900, 60); // +4%
        handler.reduceFillNoRevert(2, 0, 3e18, 10_000, 0);
        handler.roundTripNoRevert(2, 1, 2, 2e18 << 4, 5_000, 1e18); // accounts 1 and 2, 0.5% below mid
        handler.settleNoRevert(2, 1, 0);
        handler.settleNoRevert(2, 5, 0); // the insurance fund
        handler.withdrawNoRevert(0, 0, 1_000e6 << 3); // no position: free collateral
        handler.crossTierFillMustRevert(2, 0, 0, 0, 1e18, 10_000);

        bytes4[10] memory actions = [
            ClearingHandler.depositNoRevert.selector,
            ClearingHandler.fillNoRevert.selector,
            ClearingHandler.reduceFillNoRevert.selector,
            ClearingHandler.roundTripNoRevert.selector,
            ClearingHandler.crossTierFillMustRevert.selector,
            ClearingHandler.setPrice.selector,
            ClearingHandler.warp.selector,
            ClearingHandler.accrueFundingNoRevert.selector,
            ClearingHandler.settleNoRevert.selector,
            ClearingHandler.withdrawNoRevert.selector
        ];
        for (uint256 i; i < actions.length; ++i) assertTrue(handler.calls(actions[i]) > 0, "action took effect");
        assertTrue(handler.calls(handler.MARGIN_REFUSAL()) > 0, "a fill was refused for margin");
        assertTrue(handler.fundingSettlements(2) > 0, "funding was settled");
        assertTrue(clearing.cash(BucketIdLib.insurance(2)) > 0, "fees reached the insurance fund");
        invariant_zeroSum();
        invariant_solvency();
        invariant_tierFirewall();
        invariant_accountBooksMatchGhost();
        invariant_roundTripsAndMargin();
    }

    // ================================================================ helpers

    /// @dev Z_t of the contract's doc comment, at price `p` and the tier's funding index now.
    function _tierValue(uint8 t, int256 p) internal view returns (int256 z) {
        (int256 index, ) = clearing.fundingState(t, ETH_MARKET);
        uint256 traders = handler.TRADERS();
        for (uint256 i; i < traders; ++i) {
            BucketId account = handler.bucketAt(t, i);
            IClearingHouse.Position memory pos = _position(account);
            int256 size = pos.size;
            z += (clearing.cash(account) - pos.openNotional) * WAD + size * p - size * (index - pos.fundingIndex);
        }
        BucketId settlement = BucketIdLib.settlement(t);
        z += (clearing.cash(BucketIdLib.insurance(t)) + clearing.cash(settlement)) * WAD;
        z -= int256(vault.balanceOf(settlement, address(quote))) * SCALE * WAD;
    }

    function _position(BucketId account) internal view returns (IClearingHouse.Position memory) {
        return clearing.position(account, ETH_MARKET);
    }

    function _assertIntEq(int256 actual, int256 expected, string memory what) internal pure {
        if (actual != expected) revert AssertIntEqFailed(what, actual, expected);
    }

    /// @dev Per tier: Σ size == 0, no position in system buckets, open interest == Σ long sizes.
    function _assertSizesSumToZero(uint8 t) internal view {
        uint256 traders = handler.TRADERS();
        int256 sum;
        uint256 longs;
        for (uint256 i; i < traders; ++i) {
            int256 size = _position(handler.bucketAt(t, i)).size;
            sum += size;
            if (size > 0) longs += uint256(size);
        }
        _assertIntEq(sum, 0, "6.3: per tier and market, sum of sizes == 0");
        _assertIntEq(_position(BucketIdLib.settlement(t)).size, 0, "settlement bucket holds no position");
        _assertIntEq(_position(BucketIdLib.insurance(t)).size, 0, "insurance fund holds no position");
        assertEq(clearing.openInterest(t, ETH_MARKET), longs, "open interest == sum of long sizes");
    }

    /// @dev The handler's per-call checks: every campaign asserts them after every call.
    function _assertNoHandlerFailure() internal view {
        _noFailure("6.2: call changed another tier", handler.failOtherTierChanged());
        _noFailure("6.2: cross-tier fill not refused with ClearingCrossTierFill", handler.failCrossTierFill());
        _noFailure("6.8: round trip profited", handler.failRoundTripProfit());
        _noFailure("round trip cost more than fees + dust", handler.failRoundTripOvercharged());
        _noFailure("fill left an increasing side below IM, or bad margin refusal", handler.failFillMargin());
        _noFailure("reduce-only fill refused", handler.failReduceRefused());
        _noFailure("withdrawal left what is in hand below IM", handler.failWithdrawMargin());
        _noFailure("free collateral could not leave, or a withdrawal paid wrongly", handler.failWithdrawal());
        _noFailure("settlement moved or left the wrong amount", handler.failSettlement());
        _noFailure("funding snapshot != stored index after settling", handler.failFundingIndex());
        _noFailure("unexpected revert", handler.failUnexpectedRevert());
    }

    function _noFailure(string memory what, uint256 count) internal view {
        if (count != 0) revert HandlerFailure(what, count, handler.lastUnexpectedRevert());
    }
}
