// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {ICollateralVault} from "../../contracts/interfaces/ICollateralVault.sol";
import {BucketId} from "../../contracts/libraries/BucketId.sol";
import {MockERC20} from "../../contracts/mocks/MockERC20.sol";
import {VaultHandler} from "./handlers/VaultHandler.sol";
import {InvariantBase} from "./utils/InvariantBase.sol";
import {TestBase} from "./utils/TestBase.sol";
import {VaultFixture} from "./utils/VaultFixture.sol";

/// @notice Invariant tests of the CollateralVault: solvency (DESIGN §6.1), the tier firewall (§6.2), exact
/// ghost accounting of every bucket, the reserve allowance, and the claim queue (every claim eventually
/// payable). Three tokens (6, 18, 24 decimals), three tiers, tiers 0 and 1 may draw from the reserve.
/// @dev The runner calls only the handler's actions (`targetContracts`/`targetSelectors`), checks every
/// `invariant*` function after each call, and calls `afterInvariant` at the end of each run.
contract CollateralVaultInvariantTest is TestBase, VaultFixture, InvariantBase {
    uint256 internal constant START = 1_700_000_000;
    uint32 internal constant WINDOW = 1 days;
    /// Outflow capacity per tier and window, and reserve allowance per epoch, in whole tokens. Deposits go
    /// up to 1,000,000 whole tokens each, so many withdrawals exceed the limit and queue.
    uint256 internal constant CAPACITY_WHOLE = 250_000;
    uint256 internal constant RESERVE_CAP_WHOLE = 100_000;

    VaultHandler internal handler;
    MockERC20[3] internal tokens;

    error HandlerFailure(string what, uint256 count, bytes lastRevert);

    function setUp() public {
        VM.warp(START);
        _deployVault();
        tokens = _newTokenTrio();
        uint256[3] memory reserveCaps;
        for (uint256 i; i < 3; ++i) {
            uint256 unit = 10 ** tokens[i].decimals();
            vault.listToken(address(tokens[i]), uint128(CAPACITY_WHOLE * unit), WINDOW);
            for (uint8 tier; tier < 3; ++tier) {
                vault.enableTierToken(tier, address(tokens[i]), type(uint128).max);
            }
            reserveCaps[i] = RESERVE_CAP_WHOLE * unit;
            vault.setReserveAllowance(0, address(tokens[i]), uint128(reserveCaps[i]));
            vault.setReserveAllowance(1, address(tokens[i]), uint128(reserveCaps[i]));
        }

        handler = new VaultHandler(vault, tokens, reserveCaps);
        _grantController(address(handler));

        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](9);
        selectors[0] = VaultHandler.depositNoRevert.selector;
        selectors[1] = VaultHandler.moveNoRevert.selector;
        selectors[2] = VaultHandler.moveAcrossTiersMustRevert.selector;
        selectors[3] = VaultHandler.withdrawNoRevert.selector;
        selectors[4] = VaultHandler.payClaimNoRevert.selector;
        selectors[5] = VaultHandler.fundReserveNoRevert.selector;
        selectors[6] = VaultHandler.drawReserveNoRevert.selector;
        selectors[7] = VaultHandler.warp.selector;
        selectors[8] = VaultHandler.donate.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    // ================================================================ invariants

    /// @notice §6.1 solvency: for every token, the ledger (Σ buckets, and Σ tier totals) + reserve + open
    /// claims equals what the vault holds, minus plain transfers (which credit nobody).
    function invariant_solvency() public view {
        for (uint256 j; j < 3; ++j) {
            address token = address(tokens[j]);
            uint256 holdings = MockERC20(token).balanceOf(address(vault));
            uint256 donations = handler.ghostDonations(token);
            assertLe(donations, holdings, "donations held");
            uint256 owed = vault.reserveBalance(token) + vault.totalQueued(token);
            assertEq(_sumBuckets(token, type(uint256).max) + owed, holdings - donations, "6.1: buckets+reserve+queued");
            uint256 tiers;
            for (uint8 t; t < 3; ++t) tiers += _tierTotal(t, token);
            assertEq(tiers + owed, holdings - donations, "6.1: tier totals+reserve+queued");
        }
    }

    /// @notice §6.2 tier firewall: each tier's total is exactly the sum of that tier's buckets and of the
    /// handler's ghost; no move or draw ever changed another tier's total; no cross-tier move got through.
    function invariant_tierFirewall() public view {
        for (uint256 j; j < 3; ++j) {
            address token = address(tokens[j]);
            for (uint8 t; t < 3; ++t) {
                uint256 total = _tierTotal(t, token);
                assertEq(total, _sumBuckets(token, t), "6.2: tier total == sum of its buckets");
                int256 ghost = handler.ghostTierTotal(t, token);
                assertTrue(ghost >= 0, "6.2: ghost tier total negative");
                assertEq(total, uint256(ghost), "6.2: tier total == ghost");
            }
        }
        _noFailure("move/draw changed another tier's total", handler.failOtherTierChanged());
        _noFailure("cross-tier move not refused", handler.failCrossTierMove());
    }

    /// @notice Every bucket's balance equals the handler's signed ghost balance (so it never went
    /// "negative"), reserve and queue match their ghosts, deposits/withdrawals/donations behaved, and no
    /// tier drew more than its allowance in any epoch.
    function invariant_ledgerMatchesGhost() public view {
        uint256 n = handler.touchedCount();
        uint256 epoch = handler.currentTime() / RESERVE_EPOCH;
        for (uint256 j; j < 3; ++j) {
            address token = address(tokens[j]);
            for (uint256 i; i < n; ++i) {
                BucketId bucket = handler.touched(i);
                int256 ghost = handler.ghostBalance(bucket, token);
                assertTrue(ghost >= 0, "ghost balance negative");
                assertEq(vault.balanceOf(bucket, token), uint256(ghost), "bucket balance == ghost");
            }
            assertEq(vault.reserveBalance(token), handler.ghostReserve(token), "reserve == ghost");
            assertEq(vault.totalQueued(token), handler.ghostQueued(token), "totalQueued == ghost");
            for (uint8 t; t < 3; ++t) {
                assertLe(handler.ghostDrawnInEpoch(t, token, epoch), handler.reserveCap(t, j), "reserve allowance");
            }
        }
        _noFailure("valid call reverted", handler.failUnexpectedRevert());
        _noFailure("withdrawal paid/queued wrongly", handler.failWithdrawal());
        _noFailure("reserve draw beyond allowance or wrong reserveAvailable", handler.failReserve());
        _noFailure("donation credited", handler.failDonationCredited());
    }

    /// @notice Every open claim matches its ghost, the open claims sum to `totalQueued`, no claim was paid
    /// early or failed once ready, payouts of a tier are first in first out, and every open claim is payable
    /// within a bound derived from the limit:
    /// `readyAt <= now + ceil(queued in its tier × window / capacity) + 1`.
    function invariant_claimsEventuallyPayable() public view {
        uint256 now_ = handler.currentTime();
        uint256[3] memory open;
        uint256 n = handler.claimCount();
        for (uint256 i; i < n; ++i) {
            VaultHandler.GhostClaim memory g = handler.ghostClaim(i);
            ICollateralVault.Claim memory c = vault.claim(g.id);
            if (g.paid) {
                assertEq(c.amount, 0, "paid claim closed");
                continue;
            }
            assertEq(c.amount, g.amount, "claim amount");
            assertEq(c.readyAt, g.readyAt, "claim readyAt never moves");
            assertTrue(c.receiver == g.receiver && c.token == g.token, "claim receiver and token");
            ICollateralVault.TokenConfig memory cfg = vault.tokenConfig(g.token);
            uint256 queuedInTier = handler.ghostQueuedInTier(g.tier, g.token);
            uint256 bound_ = now_ + Math.ceilDiv(queuedInTier * cfg.outflowWindow, cfg.outflowCapacity) + 1;
            assertLe(g.readyAt, bound_, "claim payable within the bound");
            for (uint256 j; j < 3; ++j) if (g.token == address(tokens[j])) open[j] += g.amount;
        }
        for (uint256 j; j < 3; ++j) assertEq(vault.totalQueued(address(tokens[j])), open[j], "sum of open claims");
        _noFailure("claim payment failed once ready", handler.failClaimPayment());
        _noFailure("claim paid before readyAt", handler.failClaimPaidEarly());
        _noFailure("withdrawal left before an earlier claim of its tier (FIFO)", handler.failFifo());
    }

    /// @notice At the end of each run everyone gets out: all claims paid, all buckets withdrawn (queuing
    /// and paying as the limits require); what stays is exactly the reserve plus donations.
    function afterInvariant() public {
        handler.settleEverything();
        for (uint256 j; j < 3; ++j) {
            address token = address(tokens[j]);
            assertEq(vault.totalQueued(token), 0, "exit: queue drained");
            for (uint8 t; t < 3; ++t) assertEq(_tierTotal(t, token), 0, "exit: tiers emptied");
            assertEq(
                MockERC20(token).balanceOf(address(vault)),
                vault.reserveBalance(token) + handler.ghostDonations(token),
                "exit: only reserve and donations remain"
            );
        }
    }

    // ================================================================ handler sanity

    /// @notice Each handler action does something from a plain state (guards against an action that always
    /// returns early, which would make the invariants vacuous).
    function test_HandlerActionsAllTakeEffect() public {
        handler.depositNoRevert(0, 0, 0, 0, 5_000_000); // 5 T6 into tier 0
        handler.depositNoRevert(1, 1, 3, 1, 900_000e18); // 900k T18 into tier 1
        handler.moveNoRevert(0, 1, 0, 1_000_000);
        handler.moveAcrossTiersMustRevert(0, 0, 0, 0, 1);
        handler.withdrawNoRevert(1, 1, 800_000e18, 0); // over the 250k limit: queued
        assertEq(handler.claimCount(), 1, "queued a claim");
        handler.fundReserveNoRevert(0, 2, 500e24);
        handler.drawReserveNoRevert(0, 4, 2, 100e24, 1);
        handler.drawReserveNoRevert(2, 4, 2, 1, 0); // tier 2 has no allowance: must revert
        handler.warp(1 hours);
        handler.donate(0, 123);
        handler.payClaimNoRevert(0, 0, 0);

        bytes4[9] memory actions = [
            VaultHandler.depositNoRevert.selector,
            VaultHandler.moveNoRevert.selector,
            VaultHandler.moveAcrossTiersMustRevert.selector,
            VaultHandler.withdrawNoRevert.selector,
            VaultHandler.payClaimNoRevert.selector,
            VaultHandler.fundReserveNoRevert.selector,
            VaultHandler.drawReserveNoRevert.selector,
            VaultHandler.warp.selector,
            VaultHandler.donate.selector
        ];
        for (uint256 i; i < actions.length; ++i) assertTrue(handler.calls(actions[i]) > 0, "action took effect");
        invariant_solvency();
        invariant_tierFirewall();
        invariant_ledgerMatchesGhost();
        invariant_claimsEventuallyPayable();
        afterInvariant();
    }

    // ================================================================ helpers

    function _tierTotal(uint8 tier, address token) internal view returns (uint256 total) {
        (total, ) = vault.tierTotal(tier, token);
    }

    /// @dev Σ of `token` over the buckets the handler touched, of one tier (or all if `tier` > 255).
    function _sumBuckets(address token, uint256 tier) internal view returns (uint256 sum) {
        uint256 n = handler.touchedCount();
        for (uint256 i; i < n; ++i) {
            BucketId bucket = handler.touched(i);
            if (tier <= type(uint8).max && bucket.tier() != tier) continue;
            sum += vault.balanceOf(bucket, token);
        }
    }

    function _noFailure(string memory what, uint256 count) internal view {
        if (count != 0) revert HandlerFailure(what, count, handler.lastUnexpectedRevert());
    }
}
