// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {ICollateralVault} from "../../contracts/interfaces/ICollateralVault.sol";
import {BucketId, BucketIdLib} from "../../contracts/libraries/BucketId.sol";
import {MockERC20} from "../../contracts/mocks/MockERC20.sol";
import {TestBase} from "./utils/TestBase.sol";
import {VaultFixture} from "./utils/VaultFixture.sol";

/// @notice Fuzz tests of the CollateralVault ledger: round trips, the tier firewall, moves, the outflow
/// limiter and its claim queue, and BucketId packing.
/// @dev The test contract is the manager's ADMIN and holds CONTROLLER, so it calls `move`, `withdraw` and
/// `drawReserve` itself. Users are pranked.
contract CollateralVaultFuzzTest is TestBase, VaultFixture {
    uint8 internal constant TIERS = 3;
    uint128 internal constant HUGE = type(uint128).max;
    uint256 internal constant START = 1_700_000_000;

    /// Tokens of 6, 18 and 24 decimals, listed with an outflow capacity that never binds and enabled in
    /// every tier with caps that never bind. Tiers 0 and 1 may draw from the reserve; tier 2 may not.
    MockERC20[3] internal tokens;

    error ClaimPayoutOutOfOrder(uint256 index, uint256 releaseAt, uint256 previousReleaseAt);

    function setUp() public {
        VM.warp(START);
        _deployVault();
        _grantController(address(this));
        tokens = _newTokenTrio();
        for (uint256 i; i < 3; ++i) {
            vault.listToken(address(tokens[i]), HUGE, 1 days);
            for (uint8 tier; tier < TIERS; ++tier) {
                vault.enableTierToken(tier, address(tokens[i]), HUGE);
            }
            vault.setReserveAllowance(0, address(tokens[i]), HUGE);
            vault.setReserveAllowance(1, address(tokens[i]), HUGE);
        }
    }

    // ================================================================ helpers

    function _actor(uint256 seed) internal pure returns (address) {
        return address(uint160(uint256(keccak256(abi.encode("actor", seed)))));
    }

    function _token(uint256 seed) internal view returns (MockERC20) {
        return tokens[seed % 3];
    }

    /// @dev Largest amount fuzzed for a token: a trillion whole tokens (1e18 for 6 decimals, 1e30 for 18,
    /// 1e36 for 24), far below the vault's 2^128 limit even summed over a whole test.
    function _maxAmount(MockERC20 token) internal view returns (uint256) {
        return 10 ** (uint256(token.decimals()) + 12);
    }

    function _amount(MockERC20 token, uint256 seed) internal view returns (uint256) {
        return bound(seed, 1, _maxAmount(token));
    }

    function _deposit(address from, MockERC20 token, uint256 amount, BucketId bucket) internal {
        token.mint(from, amount);
        VM.startPrank(from);
        token.approve(address(vault), amount);
        vault.deposit(address(token), amount, bucket);
        VM.stopPrank();
    }

    function _fundReserve(address from, MockERC20 token, uint256 amount) internal {
        token.mint(from, amount);
        VM.startPrank(from);
        token.approve(address(vault), amount);
        vault.fundReserve(address(token), amount);
        VM.stopPrank();
    }

    function _tierTotal(uint8 tier, MockERC20 token) internal view returns (uint256 total) {
        (total, ) = vault.tierTotal(tier, address(token));
    }

    function _bal(BucketId bucket, MockERC20 token) internal view returns (uint256) {
        return vault.balanceOf(bucket, address(token));
    }

    /// @dev A bucket of `tier`: an account bucket, or (kind 1, 2) the tier's settlement or insurance bucket.
    function _someBucket(uint256 kind, address owner, uint8 tier, uint88 subId) internal pure returns (BucketId) {
        kind %= 3;
        if (kind == 1) return BucketIdLib.settlement(tier);
        if (kind == 2) return BucketIdLib.insurance(tier);
        return BucketIdLib.account(owner, tier, subId);
    }

    /// @dev A token with an outflow limit that binds: capacity between 1 and 1e30 units, window in the envelope.
    function _limitedToken(
        uint256 decimalsSeed,
        uint256 capSeed,
        uint256 windowSeed
    ) internal returns (MockERC20 token, uint256 capacity, uint256 window) {
        uint8[3] memory decimals = [6, 18, 24];
        token = _newToken("LIM", decimals[decimalsSeed % 3]);
        capacity = bound(capSeed, 1, 1e30);
        window = bound(windowSeed, 1 hours, 7 days);
        vault.listToken(address(token), uint128(capacity), uint32(window));
        for (uint8 tier; tier < TIERS; ++tier) vault.enableTierToken(tier, address(token), HUGE);
    }

    // ================================================================ round trip (DESIGN §6.8)

    /// @notice Depositing and withdrawing the same amount never profits and restores every balance.
    function testFuzz_DepositWithdrawRoundTripNeverProfits(
        uint256 actorSeed,
        uint8 tierSeed,
        uint88 subId,
        uint256 tokenSeed,
        uint256 amountSeed,
        uint256 otherSeed
    ) public {
        uint8 tier = uint8(bound(tierSeed, 0, TIERS - 1));
        MockERC20 token = _token(tokenSeed);

        // Unrelated prior state: another user's bucket in the same tier, a system bucket, the reserve.
        uint256 other = bound(otherSeed, 0, _maxAmount(token));
        if (other != 0) {
            address stranger = _actor(~actorSeed);
            _deposit(stranger, token, other, BucketIdLib.account(stranger, tier, subId));
            _deposit(stranger, token, other, BucketIdLib.settlement(tier));
            _fundReserve(stranger, token, other);
        }
        _checkRoundTrip(
            _actor(actorSeed),
            token,
            _amount(token, amountSeed),
            BucketIdLib.account(_actor(actorSeed), tier, subId)
        );
    }

    struct Snapshot {
        uint256 actor;
        uint256 vault;
        uint256 bucket;
        uint256 tierTotal;
        uint256 reserve;
        uint256 queued;
    }

    function _snapshot(address actor, MockERC20 token, BucketId bucket) internal view returns (Snapshot memory s) {
        s.actor = token.balanceOf(actor);
        s.vault = token.balanceOf(address(vault));
        s.bucket = _bal(bucket, token);
        s.tierTotal = _tierTotal(bucket.tier(), token);
        s.reserve = vault.reserveBalance(address(token));
        s.queued = vault.totalQueued(address(token));
    }

    function _checkRoundTrip(address actor, MockERC20 token, uint256 amount, BucketId bucket) internal {
        token.mint(actor, amount);
        Snapshot memory before = _snapshot(actor, token, bucket);

        VM.startPrank(actor);
        token.approve(address(vault), amount);
        vault.deposit(address(token), amount, bucket);
        VM.stopPrank();
        Snapshot memory mid = _snapshot(actor, token, bucket);
        assertEq(mid.bucket, before.bucket + amount, "bucket after deposit");
        assertEq(mid.tierTotal, before.tierTotal + amount, "tier total after deposit");
        assertEq(mid.vault, before.vault + amount, "vault after deposit");

        // The bucket cannot give back more than was put in.
        VM.expectRevert(
            abi.encodeWithSelector(
                ICollateralVault.VaultInsufficientBalance.selector,
                bucket,
                address(token),
                mid.bucket,
                mid.bucket + 1
            )
        );
        vault.withdraw(bucket, address(token), mid.bucket + 1, actor);

        assertEq(vault.withdraw(bucket, address(token), amount, actor), 0, "paid at once");

        Snapshot memory afterwards = _snapshot(actor, token, bucket);
        assertLe(afterwards.actor, before.actor, "round trip never profits");
        assertEq(afterwards.actor, before.actor, "round trip returns the amount");
        assertEq(afterwards.vault, before.vault, "vault balance restored");
        assertEq(afterwards.bucket, before.bucket, "bucket restored");
        assertEq(afterwards.tierTotal, before.tierTotal, "tier total restored");
        assertEq(afterwards.reserve, before.reserve, "reserve untouched");
        assertEq(afterwards.queued, before.queued, "queue untouched");
    }

    // ================================================================ tier firewall

    /// @notice A deposit into a bucket of tier A changes tier A's total of that token and nothing of tier B,
    /// not even the bucket of B with the same owner and sub-id.
    function testFuzz_DepositIntoTierNeverTouchesOtherTiers(
        uint256 actorSeed,
        uint8 tierSeed,
        uint8 otherTierSeed,
        uint88 subId,
        uint256 tokenSeed,
        uint256 amountSeed,
        uint256 otherAmountSeed
    ) public {
        address actor = _actor(actorSeed);
        uint8 tierA = uint8(bound(tierSeed, 0, TIERS - 1));
        uint8 tierB = uint8((uint256(tierA) + 1 + (otherTierSeed % 2)) % TIERS);

        // Tier B holds something in the twin bucket, in a system bucket and in every token.
        for (uint256 i; i < 3; ++i) {
            uint256 seeded = bound(uint256(keccak256(abi.encode(otherAmountSeed, i))), 1, _maxAmount(tokens[i]));
            _deposit(actor, tokens[i], seeded, BucketIdLib.account(actor, tierB, subId));
            _deposit(actor, tokens[i], seeded, BucketIdLib.insurance(tierB));
        }
        _checkDepositIsolation(actor, tierA, tierB, subId, tokenSeed % 3, _amount(_token(tokenSeed), amountSeed));
    }

    function _checkDepositIsolation(
        address actor,
        uint8 tierA,
        uint8 tierB,
        uint88 subId,
        uint256 tokenIndex,
        uint256 amount
    ) internal {
        BucketId twin = BucketIdLib.account(actor, tierB, subId);
        uint256[3][3] memory totalsBefore = _allTierTotals();
        uint256[3] memory twinBefore = _balances(twin);
        uint256[3] memory insuranceBBefore = _balances(BucketIdLib.insurance(tierB));

        BucketId bucketA = BucketIdLib.account(actor, tierA, subId);
        _deposit(actor, tokens[tokenIndex], amount, bucketA);

        assertEq(_bal(bucketA, tokens[tokenIndex]), amount, "deposited bucket");
        totalsBefore[tierA][tokenIndex] += amount;
        _assertTierTotals(totalsBefore);
        uint256[3] memory twinAfter = _balances(twin);
        uint256[3] memory insuranceBAfter = _balances(BucketIdLib.insurance(tierB));
        for (uint256 i; i < 3; ++i) {
            assertEq(twinAfter[i], twinBefore[i], "twin bucket of the other tier");
            assertEq(insuranceBAfter[i], insuranceBBefore[i], "other tier's insurance");
        }
    }

    function _allTierTotals() internal view returns (uint256[3][3] memory totals) {
        for (uint8 tier; tier < TIERS; ++tier) {
            for (uint256 i; i < 3; ++i) totals[tier][i] = _tierTotal(tier, tokens[i]);
        }
    }

    function _assertTierTotals(uint256[3][3] memory expected) internal view {
        for (uint8 tier; tier < TIERS; ++tier) {
            for (uint256 i; i < 3; ++i) assertEq(_tierTotal(tier, tokens[i]), expected[tier][i], "tier total");
        }
    }

    function _balances(BucketId bucket) internal view returns (uint256[3] memory balances) {
        for (uint256 i; i < 3; ++i) balances[i] = _bal(bucket, tokens[i]);
    }

    /// @notice A reserve draw into a bucket of tier A credits only tier A; a tier without allowance cannot draw.
    function testFuzz_DrawReserveCreditsOnlyTargetTier(
        uint256 actorSeed,
        uint8 tierSeed,
        uint88 subId,
        uint256 kind,
        uint256 tokenSeed,
        uint256 reserveSeed,
        uint256 drawSeed
    ) public {
        address actor = _actor(actorSeed);
        uint8 tier = uint8(bound(tierSeed, 0, TIERS - 1));
        MockERC20 token = _token(tokenSeed);
        uint256 reserve = _amount(token, reserveSeed);
        uint256 draw = bound(drawSeed, 1, reserve);
        _fundReserve(actor, token, reserve);
        BucketId to = _someBucket(kind, actor, tier, subId);

        uint256[3] memory totalsBefore;
        for (uint8 t; t < TIERS; ++t) totalsBefore[t] = _tierTotal(t, token);
        uint256 vaultBefore = token.balanceOf(address(vault));
        uint256 toBefore = _bal(to, token);

        if (tier == 2) {
            VM.expectRevert(
                abi.encodeWithSelector(
                    ICollateralVault.VaultReserveAllowanceExceeded.selector,
                    tier,
                    address(token),
                    0,
                    draw
                )
            );
            vault.drawReserve(to, address(token), draw);
            return;
        }
        vault.drawReserve(to, address(token), draw);

        assertEq(_bal(to, token), toBefore + draw, "drawn into bucket");
        assertEq(vault.reserveBalance(address(token)), reserve - draw, "reserve debited");
        assertEq(token.balanceOf(address(vault)), vaultBefore, "no tokens move");
        for (uint8 t; t < TIERS; ++t) {
            assertEq(_tierTotal(t, token), totalsBefore[t] + (t == tier ? draw : 0), "only the target tier grows");
        }
    }

    /// @notice A reserve draw is not limited by the tier's deposit cap (ICollateralVault.drawReserve); what it
    /// credits is ledger balance of the tier, so it shows in `tierTotal` and later deposits see it.
    function testFuzz_DrawReserveIgnoresDepositCap(uint256 capSeed, uint256 drawSeed) public {
        MockERC20 token = _newToken("CAP", 18);
        vault.listToken(address(token), HUGE, 1 days);
        uint256 cap = bound(capSeed, 1, 1e30);
        vault.enableTierToken(0, address(token), uint128(cap));
        vault.setReserveAllowance(0, address(token), HUGE);
        BucketId bucket = BucketIdLib.account(_actor(12), 0, 0);
        _deposit(_actor(12), token, cap, bucket);
        uint256 draw = bound(drawSeed, 1, 1e30);
        _fundReserve(_actor(13), token, draw);

        vault.drawReserve(bucket, address(token), draw);
        assertEq(_tierTotal(0, token), cap + draw, "tier total includes the draw");
        assertEq(_bal(bucket, token), cap + draw, "bucket credited");

        token.mint(_actor(12), 1);
        VM.startPrank(_actor(12));
        token.approve(address(vault), 1);
        VM.expectRevert(
            abi.encodeWithSelector(
                ICollateralVault.VaultDepositCapExceeded.selector,
                0,
                address(token),
                cap,
                cap + draw + 1
            )
        );
        vault.deposit(address(token), 1, bucket);
        VM.stopPrank();
    }

    // ================================================================ move

    /// @notice A move within a tier conserves the sum of the two buckets, the tier totals and the vault's holdings.
    function testFuzz_MoveConservesSumWithinTier(
        uint256 bucketSeed,
        uint8 tierSeed,
        uint256 tokenSeed,
        uint256 amountSeed,
        uint256 toAmountSeed,
        uint256 moveSeed
    ) public {
        uint8 tier = uint8(bound(tierSeed, 0, TIERS - 1));
        MockERC20 token = _token(tokenSeed);
        // Few owners and sub-ids, so that `from == to` is reachable; `to` may be a system bucket.
        BucketId from = BucketIdLib.account(_actor(bucketSeed % 4), tier, uint88((bucketSeed >> 8) % 4));
        BucketId to = _someBucket(
            bucketSeed >> 16,
            _actor((bucketSeed >> 24) % 4),
            tier,
            uint88((bucketSeed >> 32) % 4)
        );
        _deposit(_actor(amountSeed), token, _amount(token, amountSeed), from);
        uint256 toAmount = bound(toAmountSeed, 0, _maxAmount(token));
        if (toAmount != 0) _deposit(_actor(toAmountSeed), token, toAmount, to);
        _checkMoveWithinTier(from, to, token, moveSeed);
    }

    function _checkMoveWithinTier(BucketId from, BucketId to, MockERC20 token, uint256 moveSeed) internal {
        bool same = BucketId.unwrap(from) == BucketId.unwrap(to);
        uint256 fromBefore = _bal(from, token);
        uint256 toBefore = _bal(to, token);
        uint256[3][3] memory totalsBefore = _allTierTotals();
        uint256 vaultBefore = token.balanceOf(address(vault));

        // More than the source holds is refused.
        VM.expectRevert(
            abi.encodeWithSelector(
                ICollateralVault.VaultInsufficientBalance.selector,
                from,
                address(token),
                fromBefore,
                fromBefore + 1
            )
        );
        vault.move(from, to, address(token), fromBefore + 1);

        uint256 moved = bound(moveSeed, 1, fromBefore);
        vault.move(from, to, address(token), moved);

        if (same) {
            assertEq(_bal(from, token), fromBefore, "self move is a no-op");
        } else {
            assertEq(_bal(from, token), fromBefore - moved, "source debited");
            assertEq(_bal(to, token), toBefore + moved, "destination credited");
            assertEq(_bal(from, token) + _bal(to, token), fromBefore + toBefore, "sum conserved");
        }
        _assertTierTotals(totalsBefore);
        assertEq(token.balanceOf(address(vault)), vaultBefore, "vault holdings unchanged");
    }

    /// @notice A move between buckets of different tiers always reverts with VaultCrossTierMove.
    function testFuzz_MoveAcrossTiersReverts(
        uint256 fromSeed,
        uint256 toSeed,
        uint8 tierSeed,
        uint8 otherTierSeed,
        uint256 tokenSeed,
        uint256 amountSeed,
        uint256 moveSeed
    ) public {
        uint8 tierA = uint8(bound(tierSeed, 0, TIERS - 1));
        // Any other tier, including tiers that were never configured.
        uint8 tierB = uint8(bound(otherTierSeed, 0, 254));
        if (tierB >= tierA) ++tierB;
        MockERC20 token = _token(tokenSeed);
        BucketId from = _someBucket(fromSeed, _actor(fromSeed), tierA, uint88(fromSeed >> 8));
        BucketId to = _someBucket(toSeed, _actor(toSeed), tierB, uint88(toSeed >> 8));
        uint256 amount = _amount(token, amountSeed);
        _deposit(_actor(fromSeed), token, amount, from);

        uint256 totalA = _tierTotal(tierA, token);
        uint256 totalB = _tierTotal(tierB, token);

        VM.expectRevert(abi.encodeWithSelector(ICollateralVault.VaultCrossTierMove.selector, from, to));
        vault.move(from, to, address(token), bound(moveSeed, 1, amount));

        assertEq(_bal(from, token), amount, "source unchanged");
        assertEq(_bal(to, token), 0, "destination unchanged");
        assertEq(_tierTotal(tierA, token), totalA, "tier A total unchanged");
        assertEq(_tierTotal(tierB, token), totalB, "tier B total unchanged");
    }

    // ================================================================ outflow limiter

    struct Release {
        uint256 at;
        uint256 amount;
        uint256 claimId;
        address receiver;
    }

    /// @notice From a full limiter at `t0`, any sequence of withdrawals releases (paid at once, or claim
    /// payable) by time `t` at most `capacity + capacity × (t − t0) / window`; releases are first-in
    /// first-out; a withdrawal is paid at once exactly when it fits in `availableOutflow`; `totalQueued`
    /// tracks the open claims; and every claim is paid, in full, at its `readyAt` — never earlier.
    function testFuzz_OutflowNeverExceedsCapacityPlusRefill(
        uint256 decimalsSeed,
        uint256 capSeed,
        uint256 windowSeed,
        uint256[8] memory amountSeeds,
        uint256[8] memory gapSeeds,
        uint256 payerSeed
    ) public {
        OutflowCase memory o;
        (o.token, o.capacity, o.window) = _limitedToken(decimalsSeed, capSeed, windowSeed);
        o.bucket = BucketIdLib.account(_actor(1), 0, 0);
        uint256 n = amountSeeds.length;
        uint256[] memory amounts = new uint256[](n);
        uint256 total;
        for (uint256 i; i < n; ++i) {
            // Mostly below twice the capacity, so that some withdrawals pass and some queue.
            amounts[i] = bound(amountSeeds[i], 1, o.capacity * 2);
            total += amounts[i];
        }
        _deposit(_actor(1), o.token, total, o.bucket);

        o.t0 = block.timestamp;
        o.releases = new Release[](n);
        for (uint256 i; i < n; ++i) {
            VM.warp(block.timestamp + bound(gapSeeds[i], 0, o.window));
            _withdrawAndRecord(o, i, amounts[i]);
        }
        _checkWindowBound(o);
        _payEachAtReadyAt(o, _actor(payerSeed));
        assertEq(vault.totalQueued(address(o.token)), 0, "queue drained");
        assertEq(o.token.balanceOf(address(vault)), 0, "everything left");
        assertEq(_bal(o.bucket, o.token), 0, "bucket emptied");
        assertEq(_tierTotal(0, o.token), 0, "tier emptied");
    }

    struct OutflowCase {
        MockERC20 token;
        uint256 capacity;
        uint256 window;
        BucketId bucket;
        uint256 t0;
        uint256 queued;
        Release[] releases;
    }

    function _withdrawAndRecord(OutflowCase memory o, uint256 i, uint256 amount) internal {
        address receiver = _actor(1000 + i);
        uint256 available = vault.availableOutflow(0, address(o.token));
        uint256 claimId = vault.withdraw(o.bucket, address(o.token), amount, receiver);
        if (amount <= available) {
            assertEq(claimId, 0, "fits the limit: paid at once");
            assertEq(o.token.balanceOf(receiver), amount, "paid at once");
            o.releases[i] = Release(block.timestamp, amount, 0, receiver);
        } else {
            assertTrue(claimId != 0, "over the limit: queued");
            assertEq(o.token.balanceOf(receiver), 0, "nothing paid yet");
            ICollateralVault.Claim memory c = vault.claim(claimId);
            assertEq(c.amount, amount, "claim amount");
            assertTrue(c.receiver == receiver && c.token == address(o.token), "claim receiver and token");
            assertTrue(c.readyAt > block.timestamp, "claim waits");
            o.queued += amount;
            o.releases[i] = Release(c.readyAt, amount, claimId, receiver);
        }
        assertEq(vault.totalQueued(address(o.token)), o.queued, "totalQueued tracks open claims");
        if (i != 0 && o.releases[i].at < o.releases[i - 1].at) {
            revert ClaimPayoutOutOfOrder(i, o.releases[i].at, o.releases[i - 1].at);
        }
    }

    /// @dev Checked at every release time; releases are sorted (checked above), so a prefix sum suffices.
    function _checkWindowBound(OutflowCase memory o) internal pure {
        uint256 n = o.releases.length;
        uint256 released;
        for (uint256 i; i < n; ++i) {
            released += o.releases[i].amount;
            if (i + 1 < n && o.releases[i + 1].at == o.releases[i].at) continue;
            // released <= capacity + capacity * elapsed / window, without rounding.
            assertLe(
                released * o.window,
                o.capacity * o.window + o.capacity * (o.releases[i].at - o.t0),
                "outflow within capacity + refill"
            );
        }
    }

    /// @dev Every claim is payable at its readyAt (not one second earlier), by anyone, in full.
    function _payEachAtReadyAt(OutflowCase memory o, address payer) internal {
        for (uint256 i; i < o.releases.length; ++i) {
            Release memory r = o.releases[i];
            if (r.claimId == 0) continue;
            if (r.at > block.timestamp) {
                VM.warp(r.at - 1);
                VM.expectRevert(abi.encodeWithSelector(ICollateralVault.VaultClaimNotReady.selector, r.claimId, r.at));
                vault.payClaim(r.claimId);
                VM.warp(r.at);
            }
            VM.prank(payer);
            vault.payClaim(r.claimId);
            assertEq(o.token.balanceOf(r.receiver), r.amount, "claim paid in full");
            o.queued -= r.amount;
            assertEq(vault.totalQueued(address(o.token)), o.queued, "totalQueued after payment");
            assertEq(vault.claim(r.claimId).amount, 0, "claim closed");
            VM.expectRevert(abi.encodeWithSelector(ICollateralVault.VaultClaimNotFound.selector, r.claimId));
            vault.payClaim(r.claimId);
        }
    }

    /// @notice A withdrawal above what the limit allows is debited from the ledger, queued with the exact
    /// payout time of the spec (when `used` drains back to capacity), counted in `totalQueued`, kept in the
    /// vault until paid, and later claims queue behind it.
    function testFuzz_WithdrawAboveLimitQueues(
        uint256 decimalsSeed,
        uint256 capSeed,
        uint256 windowSeed,
        uint256 firstSeed,
        uint256 overSeed,
        uint256 secondSeed
    ) public {
        (MockERC20 token, uint256 capacity, uint256 window) = _limitedToken(decimalsSeed, capSeed, windowSeed);
        BucketId bucket = BucketIdLib.account(_actor(2), 0, 7);
        address receiver = _actor(3);
        uint256 first = bound(firstSeed, 0, capacity);
        // Over what is left of the limit: capacity - first.
        uint256 over = bound(overSeed, capacity - first + 1, capacity - first + 3 * capacity);
        uint256 second = bound(secondSeed, 1, 2 * capacity);
        _deposit(_actor(2), token, first + over + second, bucket);

        if (first != 0) assertEq(vault.withdraw(bucket, address(token), first, receiver), 0, "first fits");
        assertEq(vault.availableOutflow(0, address(token)), capacity - first, "available after first");
        uint256 vaultBefore = token.balanceOf(address(vault));

        uint256 claimId = vault.withdraw(bucket, address(token), over, receiver);
        assertTrue(claimId != 0, "queued");
        ICollateralVault.Claim memory c = vault.claim(claimId);
        uint256 expectedReadyAt = block.timestamp + Math.ceilDiv((first + over - capacity) * window, capacity);
        assertEq(c.readyAt, expectedReadyAt, "readyAt: when used drains back to capacity");
        assertEq(c.amount, over, "claim amount");
        assertEq(vault.totalQueued(address(token)), over, "totalQueued");
        assertEq(token.balanceOf(receiver), first, "nothing paid for the claim");
        assertEq(token.balanceOf(address(vault)), vaultBefore, "tokens stay in the vault");
        assertEq(_bal(bucket, token), second, "ledger debited");
        assertEq(_tierTotal(0, token), second, "tier total debited");
        assertEq(vault.availableOutflow(0, address(token)), 0, "limit exhausted");

        // A later withdrawal, however small, queues behind the first claim.
        uint256 secondId = vault.withdraw(bucket, address(token), second, receiver);
        assertTrue(secondId != 0 && secondId != claimId, "second queued");
        assertTrue(vault.claim(secondId).readyAt >= c.readyAt, "FIFO");
        assertEq(vault.totalQueued(address(token)), over + second, "totalQueued sums claims");

        VM.warp(c.readyAt - 1);
        VM.expectRevert(abi.encodeWithSelector(ICollateralVault.VaultClaimNotReady.selector, claimId, c.readyAt));
        vault.payClaim(claimId);
        VM.warp(c.readyAt);
        vault.payClaim(claimId);
        assertEq(token.balanceOf(receiver), first + over, "claim paid");
        assertEq(vault.totalQueued(address(token)), second, "totalQueued after payment");
    }

    /// @notice Queued claims are never lost: each is payable from its readyAt in any order, after a change of
    /// the outflow limit (which keeps queued payout times) and after its receiver redirected it.
    function testFuzz_QueuedClaimsPayableInAnyOrder(
        uint256 decimalsSeed,
        uint256 capSeed,
        uint256 windowSeed,
        uint256[5] memory amountSeeds,
        uint256 orderSeed,
        uint256 newCapSeed,
        uint256 lateSeed
    ) public {
        QueueCase memory q;
        (q.token, q.capacity, q.window) = _limitedToken(decimalsSeed, capSeed, windowSeed);
        _queueClaims(q, amountSeeds);

        // Governance changes the limit by up to one step: payout times already set stay.
        uint256 newCapacity = bound(newCapSeed, q.capacity - q.capacity / 2, q.capacity + q.capacity / 2);
        vault.setOutflowLimit(address(q.token), uint128(newCapacity), uint32(q.window));
        for (uint256 i; i < q.ids.length; ++i) {
            assertEq(vault.claim(q.ids[i]).readyAt, q.readyAts[i], "readyAt kept");
        }

        // Receivers of even claims redirect them.
        for (uint256 i; i < q.ids.length; i += 2) {
            address newReceiver = _actor(3000 + i);
            VM.prank(q.receivers[i]);
            vault.setClaimReceiver(q.ids[i], newReceiver);
            q.receivers[i] = newReceiver;
        }

        _payAllInOrder(q, orderSeed, lateSeed);
    }

    struct QueueCase {
        MockERC20 token;
        uint256 capacity;
        uint256 window;
        uint256[] amounts;
        uint256[] ids;
        uint256[] readyAts;
        address[] receivers;
    }

    function _queueClaims(QueueCase memory q, uint256[5] memory amountSeeds) internal {
        BucketId bucket = BucketIdLib.account(_actor(4), 0, 0);
        uint256 n = amountSeeds.length;
        q.amounts = new uint256[](n);
        q.ids = new uint256[](n);
        q.readyAts = new uint256[](n);
        q.receivers = new address[](n);
        uint256 total = q.capacity;
        for (uint256 i; i < n; ++i) {
            q.amounts[i] = bound(amountSeeds[i], 1, 3 * q.capacity);
            total += q.amounts[i];
        }
        _deposit(_actor(4), q.token, total, bucket);
        // Use up the limit so that every following withdrawal queues.
        assertEq(vault.withdraw(bucket, address(q.token), q.capacity, _actor(5)), 0, "full capacity at once");
        for (uint256 i; i < n; ++i) {
            q.receivers[i] = _actor(2000 + i);
            q.ids[i] = vault.withdraw(bucket, address(q.token), q.amounts[i], q.receivers[i]);
            assertTrue(q.ids[i] != 0, "queued");
            q.readyAts[i] = vault.claim(q.ids[i]).readyAt;
        }
    }

    function _payAllInOrder(QueueCase memory q, uint256 orderSeed, uint256 lateSeed) internal {
        uint256 n = q.ids.length;
        uint256 last;
        for (uint256 i; i < n; ++i) if (q.readyAts[i] > last) last = q.readyAts[i];
        VM.warp(last + bound(lateSeed, 0, 365 days));

        uint256 queued = vault.totalQueued(address(q.token));
        for (uint256 k; k < n; ++k) {
            // A rotation, reversed for odd seeds: a permutation of the claims.
            uint256 i = (k + (orderSeed % n)) % n;
            if (orderSeed % 2 == 1) i = n - 1 - i;
            vault.payClaim(q.ids[i]);
            assertEq(q.token.balanceOf(q.receivers[i]), q.amounts[i], "claim paid in full to its receiver");
            queued -= q.amounts[i];
            assertEq(vault.totalQueued(address(q.token)), queued, "totalQueued");
        }
        assertEq(queued, 0, "all claims paid");
        assertEq(q.token.balanceOf(address(vault)), 0, "vault emptied");
    }

    /// @notice The claims of a tier are first in, first out (ICollateralVault.withdraw), and queued claims keep
    /// their payout time when governance changes the outflow limit by one step (setOutflowLimit). Together:
    /// a withdrawal made after the change never leaves (at once, or as a claim) before a claim queued
    /// before it.
    function testFuzz_QueueStaysFifoAcrossLimitChange(
        uint256 decimalsSeed,
        uint256 capSeed,
        uint256 windowSeed,
        uint256 firstSeed,
        uint256 gapSeed,
        uint256 newCapSeed,
        uint256 newWindowSeed,
        uint256 secondSeed
    ) public {
        (MockERC20 token, uint256 capacity, uint256 window) = _limitedToken(decimalsSeed, capSeed, windowSeed);
        BucketId bucket = BucketIdLib.account(_actor(14), 0, 0);
        uint256 first = bound(firstSeed, capacity + 1, 4 * capacity);
        _deposit(_actor(14), token, first + 3 * capacity, bucket);
        uint256 firstId = vault.withdraw(bucket, address(token), first, _actor(15));
        uint256 firstReadyAt = vault.claim(firstId).readyAt;
        assertTrue(firstId != 0, "first queued");

        VM.warp(block.timestamp + bound(gapSeed, 0, firstReadyAt - block.timestamp - 1));
        uint256 newCapacity = bound(newCapSeed, capacity - capacity / 2, capacity + capacity / 2);
        uint256 newWindow = bound(newWindowSeed, window - window / 2, window + window / 2);
        if (newWindow < 1 hours) newWindow = 1 hours;
        if (newWindow > 7 days) newWindow = 7 days;
        vault.setOutflowLimit(address(token), uint128(newCapacity), uint32(newWindow));
        assertEq(vault.claim(firstId).readyAt, firstReadyAt, "queued claim keeps its payout time");

        uint256 second = bound(secondSeed, 1, 2 * newCapacity);
        uint256 secondId = vault.withdraw(bucket, address(token), second, _actor(16));
        uint256 secondLeavesAt = secondId == 0 ? block.timestamp : vault.claim(secondId).readyAt;
        assertLe(firstReadyAt, secondLeavesAt, "FIFO: a later withdrawal never leaves before an earlier claim");
    }

    /// @notice Each tier has its own outflow limiter (DESIGN §6.2): a run that queues claims in tier A leaves
    /// tier B's available outflow untouched, and B's withdrawals within the limit are still paid at once.
    function testFuzz_OutflowLimiterIsPerTier(
        uint256 decimalsSeed,
        uint256 capSeed,
        uint256 windowSeed,
        uint8 tierSeed,
        uint8 otherTierSeed,
        uint256 runSeed,
        uint256 exitSeed
    ) public {
        (MockERC20 token, uint256 capacity, ) = _limitedToken(decimalsSeed, capSeed, windowSeed);
        uint8 tierA = uint8(bound(tierSeed, 0, TIERS - 1));
        uint8 tierB = uint8((uint256(tierA) + 1 + (otherTierSeed % 2)) % TIERS);
        BucketId bucketA = BucketIdLib.account(_actor(6), tierA, 0);
        BucketId bucketB = BucketIdLib.account(_actor(6), tierB, 0);
        uint256 run = bound(runSeed, capacity + 1, 4 * capacity);
        uint256 exit = bound(exitSeed, 1, capacity);
        _deposit(_actor(6), token, run, bucketA);
        _deposit(_actor(6), token, exit, bucketB);

        // The run on tier A: all of it at once, over the limit, so it queues.
        uint256 claimId = vault.withdraw(bucketA, address(token), run, _actor(7));
        assertTrue(claimId != 0, "run on A queued");
        assertEq(vault.availableOutflow(tierA, address(token)), 0, "A exhausted");
        assertEq(vault.availableOutflow(tierB, address(token)), capacity, "B untouched");

        // Tier B's exit is paid at once.
        assertEq(vault.withdraw(bucketB, address(token), exit, _actor(8)), 0, "B paid at once");
        assertEq(token.balanceOf(_actor(8)), exit, "B receiver paid");
        assertEq(vault.availableOutflow(tierB, address(token)), capacity - exit, "B's own limiter");
        assertEq(vault.availableOutflow(tierA, address(token)), 0, "A unchanged by B");
        assertEq(vault.totalQueued(address(token)), run, "only A's claim queued");
    }

    /// @notice DESIGN §6.7 exits: with deposits paused, moves, withdrawals (at once or queued) and claim
    /// payments all still work, and everything deposited comes back out.
    function testFuzz_PauseNeverBlocksExits(
        uint256 decimalsSeed,
        uint256 capSeed,
        uint256 windowSeed,
        uint256 amountSeed,
        uint256 moveSeed
    ) public {
        (MockERC20 token, uint256 capacity, ) = _limitedToken(decimalsSeed, capSeed, windowSeed);
        address alice = _actor(10);
        address bob = _actor(11);
        BucketId a = BucketIdLib.account(alice, 1, 0);
        BucketId b = BucketIdLib.account(bob, 1, 0);
        uint256 amount = bound(amountSeed, 2, 4 * capacity + 2);
        _deposit(alice, token, amount, a);

        vault.pauseDeposits();
        token.mint(alice, 1);
        VM.startPrank(alice);
        token.approve(address(vault), 1);
        VM.expectRevert(abi.encodeWithSelector(ICollateralVault.VaultDepositsPaused.selector));
        vault.deposit(address(token), 1, a);
        VM.stopPrank();

        uint256 moved = bound(moveSeed, 1, amount - 1);
        vault.move(a, b, address(token), moved);
        uint256 idA = vault.withdraw(a, address(token), amount - moved, alice);
        uint256 idB = vault.withdraw(b, address(token), moved, bob);
        uint256 lastReady = block.timestamp;
        if (idA != 0 && vault.claim(idA).readyAt > lastReady) lastReady = vault.claim(idA).readyAt;
        if (idB != 0 && vault.claim(idB).readyAt > lastReady) lastReady = vault.claim(idB).readyAt;
        VM.warp(lastReady);
        if (idA != 0) vault.payClaim(idA);
        if (idB != 0) vault.payClaim(idB);

        assertEq(token.balanceOf(alice), 1 + amount - moved, "alice got her part back");
        assertEq(token.balanceOf(bob), moved, "bob got the moved part");
        assertEq(token.balanceOf(address(vault)), 0, "vault emptied while paused");
        assertTrue(vault.depositsPaused(), "still paused");
    }

    // ================================================================ BucketId

    /// @notice Packing `(owner, tier, subId)` round-trips and follows the documented layout.
    function testFuzz_BucketIdPackingRoundTrips(address owner, uint8 tier, uint88 subId) public pure {
        BucketId id = BucketIdLib.account(owner, tier, subId);
        assertTrue(id.owner() == owner, "owner");
        assertEq(id.tier(), tier, "tier");
        assertEq(id.subId(), subId, "subId");
        assertEq(
            BucketId.unwrap(id),
            (uint256(tier) << 248) | (uint256(subId) << 160) | uint256(uint160(owner)),
            "layout"
        );
        bool expectedValid = owner != address(0) || subId == 1 || subId == 2;
        assertTrue(id.isValid() == expectedValid, "isValid");

        BucketId settlement = BucketIdLib.settlement(tier);
        BucketId insurance = BucketIdLib.insurance(tier);
        assertTrue(settlement.isValid() && insurance.isValid(), "system buckets valid");
        assertTrue(settlement.owner() == address(0) && insurance.owner() == address(0), "system owner");
        assertEq(settlement.tier(), tier, "settlement tier");
        assertEq(insurance.tier(), tier, "insurance tier");
        assertTrue(BucketId.unwrap(settlement) != BucketId.unwrap(insurance), "distinct system buckets");
    }

    /// @notice Every 256-bit id decodes to fields that encode back to the same id (the packing is a bijection).
    function testFuzz_BucketIdDecodeEncodeRoundTrips(uint256 raw) public pure {
        BucketId id = BucketId.wrap(raw);
        assertEq(BucketId.unwrap(BucketIdLib.account(id.owner(), id.tier(), id.subId())), raw, "round trip");
    }

    /// @notice Buckets of `address(0)` other than the two system buckets are refused by every entry point.
    function testFuzz_UnreachableBucketsAreRefused(uint8 tierSeed, uint88 subId, uint256 tokenSeed) public {
        VM.assume(subId != 1 && subId != 2);
        uint8 tier = uint8(bound(tierSeed, 0, TIERS - 1));
        MockERC20 token = _token(tokenSeed);
        BucketId bad = BucketIdLib.account(address(0), tier, subId);
        address actor = _actor(9);
        token.mint(actor, 1);
        VM.startPrank(actor);
        token.approve(address(vault), 1);
        VM.expectRevert(abi.encodeWithSelector(ICollateralVault.VaultInvalidBucket.selector, bad));
        vault.deposit(address(token), 1, bad);
        VM.stopPrank();

        _deposit(actor, token, 1, BucketIdLib.account(actor, tier, 0));
        VM.expectRevert(abi.encodeWithSelector(ICollateralVault.VaultInvalidBucket.selector, bad));
        vault.move(BucketIdLib.account(actor, tier, 0), bad, address(token), 1);

        _fundReserve(actor, token, 1);
        VM.expectRevert(abi.encodeWithSelector(ICollateralVault.VaultInvalidBucket.selector, bad));
        vault.drawReserve(bad, address(token), 1);
    }
}
