// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {CollateralVault} from "../../../contracts/vault/CollateralVault.sol";
import {ICollateralVault} from "../../../contracts/interfaces/ICollateralVault.sol";
import {BucketId, BucketIdLib} from "../../../contracts/libraries/BucketId.sol";
import {MockERC20} from "../../../contracts/mocks/MockERC20.sol";
import {TestBase} from "../utils/TestBase.sol";

/// @notice Drives a CollateralVault with random but well-formed calls and keeps ghost accounting of what the
/// ledger must hold. It holds the CONTROLLER role (`move`, `withdraw`, `drawReserve`).
/// @dev The invariant runner ignores reverts of handler calls (failOnRevert = false), so the handler never
/// asserts by reverting: it pre-checks every action (`...NoRevert`), calls the vault in try/catch, and
/// counts anything unexpected in the public `fail*` counters that the invariants require to stay zero.
/// Time is kept in `currentTime` and re-applied at the start of each action, so it does not depend on
/// whether the runner carries `vm.warp` from one call to the next.
// One ghost or failure counter per property checked: more state than a production contract.
// solhint-disable-next-line max-states-count
contract VaultHandler is TestBase {
    uint8 public constant TIERS = 3;
    uint256 public constant TOKENS = 3;
    uint256 internal constant ACTORS = 3;
    uint256 internal constant SUB_IDS = 3;
    /// Account buckets (actor × subId) plus the settlement and insurance buckets of each tier.
    uint256 internal constant BUCKETS_PER_TIER = ACTORS * SUB_IDS + 2;
    /// Largest single deposit, reserve funding or donation, in whole tokens.
    uint256 public constant MAX_WHOLE_TOKENS = 1_000_000;

    CollateralVault public immutable vault;
    MockERC20[TOKENS] internal _tokens;
    /// Reserve allowance per epoch of tiers 0 and 1 for each token (tier 2 has none).
    uint256[TOKENS] internal _reserveCap;
    address[ACTORS] internal _actors;
    address internal constant DONOR = address(0xD0D0);

    uint256 public currentTime;

    // ------------------------------------------------------------ ghost accounting

    /// Expected ledger balance of each bucket; signed, so a missing credit shows as a negative balance.
    mapping(BucketId bucket => mapping(address token => int256)) public ghostBalance;
    mapping(uint8 tier => mapping(address token => int256)) public ghostTierTotal;
    mapping(address token => uint256) public ghostReserve;
    mapping(address token => uint256) public ghostQueued;
    mapping(uint8 tier => mapping(address token => uint256)) public ghostQueuedInTier;
    mapping(address token => uint256) public ghostDonations;
    mapping(uint8 tier => mapping(address token => mapping(uint256 epoch => uint256))) public ghostDrawnInEpoch;
    /// Latest payout time (claim readyAt, or time of an immediate payment) per tier and token.
    mapping(uint8 tier => mapping(address token => uint256)) public ghostLastRelease;

    BucketId[] internal _touched;
    mapping(BucketId bucket => bool) internal _isTouched;

    struct GhostClaim {
        uint256 id;
        uint8 tier;
        address token;
        address receiver;
        uint256 amount;
        uint256 readyAt;
        bool paid;
    }

    GhostClaim[] internal _claims;

    // ------------------------------------------------------------ failure counters (must stay zero)

    /// A call the handler had checked to be valid reverted (`lastUnexpectedRevert` holds its data).
    uint256 public failUnexpectedRevert;
    /// A move or a reserve draw changed the total of a tier other than its own.
    uint256 public failOtherTierChanged;
    /// A move between buckets of different tiers did not revert with VaultCrossTierMove.
    uint256 public failCrossTierMove;
    /// A withdrawal was paid at once over the limit, or queued although it fitted, or paid the wrong amount.
    uint256 public failWithdrawal;
    /// A claim reverted at or after its readyAt, or paid a wrong amount.
    uint256 public failClaimPayment;
    /// A claim was paid before its readyAt.
    uint256 public failClaimPaidEarly;
    /// A withdrawal left (at once, or as a claim) before a claim of the same tier queued earlier.
    uint256 public failFifo;
    /// A reserve draw above the tier's allowance or the reserve succeeded, or `reserveAvailable` was wrong.
    uint256 public failReserve;
    /// A donation changed a ledger total.
    uint256 public failDonationCredited;
    bytes public lastUnexpectedRevert;

    /// Calls per action that did something (for the report and for sanity checks).
    mapping(bytes4 selector => uint256) public calls;

    constructor(CollateralVault vault_, MockERC20[TOKENS] memory tokens_, uint256[TOKENS] memory reserveCap_) {
        vault = vault_;
        _tokens = tokens_;
        _reserveCap = reserveCap_;
        for (uint256 i; i < ACTORS; ++i) _actors[i] = address(uint160(0xA000 + i));
        currentTime = block.timestamp;
    }

    // ================================================================ actions

    /// @notice A user deposits into an account bucket or a system bucket of any tier.
    function depositNoRevert(
        uint256 actorSeed,
        uint256 tierSeed,
        uint256 bucketSeed,
        uint256 tokenSeed,
        uint256 amountSeed
    ) external {
        _syncTime();
        address actor = _actors[actorSeed % ACTORS];
        uint8 tier = uint8(tierSeed % TIERS);
        BucketId bucket = _bucket(tier, bucketSeed);
        MockERC20 token = _token(tokenSeed);
        uint256 amount = bound(amountSeed, 1, MAX_WHOLE_TOKENS * _unit(token));
        (uint256 total, uint256 cap) = vault.tierTotal(tier, address(token));
        if (total + amount > cap) return;

        token.mint(actor, amount);
        VM.startPrank(actor);
        token.approve(address(vault), amount);
        try vault.deposit(address(token), amount, bucket) {
            _credit(bucket, address(token), amount);
            ghostTierTotal[tier][address(token)] += int256(amount);
            ++calls[this.depositNoRevert.selector];
        } catch (bytes memory err) {
            _unexpected(err);
        }
        VM.stopPrank();
    }

    /// @notice The controller moves part of a funded bucket to another bucket of the same tier.
    function moveNoRevert(uint256 fromSeed, uint256 toSeed, uint256 tokenSeed, uint256 amountSeed) external {
        _syncTime();
        (bool found, BucketId from, MockERC20 token, uint256 balance) = _pickFunded(fromSeed, tokenSeed);
        if (!found) return;
        uint8 tier = from.tier();
        BucketId to = _bucket(tier, toSeed);
        uint256 amount = bound(amountSeed, 1, balance);

        uint256[TIERS] memory before = _tierTotals(address(token));
        try vault.move(from, to, address(token), amount) {
            ghostBalance[from][address(token)] -= int256(amount);
            _credit(to, address(token), amount);
            ++calls[this.moveNoRevert.selector];
        } catch (bytes memory err) {
            _unexpected(err);
        }
        // A move changes no tier total at all: not its own, not another's.
        uint256[TIERS] memory afterwards = _tierTotals(address(token));
        for (uint8 t; t < TIERS; ++t) if (afterwards[t] != before[t]) ++failOtherTierChanged;
    }

    /// @notice The controller tries to move value between tiers: it must revert with VaultCrossTierMove.
    function moveAcrossTiersMustRevert(
        uint256 fromSeed,
        uint256 tierSeed,
        uint256 toSeed,
        uint256 tokenSeed,
        uint256 amountSeed
    ) external {
        _syncTime();
        if (_touched.length == 0) return;
        BucketId from = _touched[fromSeed % _touched.length];
        uint8 otherTier = uint8((uint256(from.tier()) + 1 + (tierSeed % (TIERS - 1))) % TIERS);
        BucketId to = _bucket(otherTier, toSeed);
        MockERC20 token = _token(tokenSeed);
        uint256 balance = vault.balanceOf(from, address(token));
        uint256 amount = bound(amountSeed, 1, balance == 0 ? 1 : balance);

        uint256[TIERS] memory before = _tierTotals(address(token));
        try vault.move(from, to, address(token), amount) {
            ++failCrossTierMove;
            // Keep the ghost ledger in step so that this failure is the one reported.
            ghostBalance[from][address(token)] -= int256(amount);
            _credit(to, address(token), amount);
        } catch (bytes memory err) {
            bytes memory expected = abi.encodeWithSelector(ICollateralVault.VaultCrossTierMove.selector, from, to);
            if (keccak256(err) != keccak256(expected)) ++failCrossTierMove;
            ++calls[this.moveAcrossTiersMustRevert.selector];
        }
        uint256[TIERS] memory afterwards = _tierTotals(address(token));
        for (uint8 t; t < TIERS; ++t) if (afterwards[t] != before[t]) ++failOtherTierChanged;
    }

    /// @notice The controller withdraws part or all of a funded bucket; large amounts exceed the outflow
    /// limit of the bucket's tier and queue as claims.
    function withdrawNoRevert(
        uint256 bucketSeed,
        uint256 tokenSeed,
        uint256 amountSeed,
        uint256 receiverSeed
    ) external {
        _syncTime();
        (bool found, BucketId bucket, MockERC20 token, uint256 balance) = _pickFunded(bucketSeed, tokenSeed);
        if (!found) return;
        uint8 tier = bucket.tier();
        uint256 amount = bound(amountSeed, 1, balance);
        address receiver = _actors[receiverSeed % ACTORS];

        uint256 available = vault.availableOutflow(tier, address(token));
        uint256 receiverBefore = token.balanceOf(receiver);
        uint256[TIERS] memory before = _tierTotals(address(token));
        try vault.withdraw(bucket, address(token), amount, receiver) returns (uint256 claimId) {
            ghostBalance[bucket][address(token)] -= int256(amount);
            ghostTierTotal[tier][address(token)] -= int256(amount);
            uint256 received = token.balanceOf(receiver) - receiverBefore;
            if (claimId == 0) {
                if (amount > available || received != amount) ++failWithdrawal;
                _release(tier, address(token), currentTime);
            } else {
                if (amount <= available || received != 0) ++failWithdrawal;
                _recordClaim(claimId, tier, address(token), receiver, amount);
            }
            ++calls[this.withdrawNoRevert.selector];
        } catch (bytes memory err) {
            _unexpected(err);
        }
        uint256[TIERS] memory afterwards = _tierTotals(address(token));
        for (uint8 t; t < TIERS; ++t) if (t != tier && afterwards[t] != before[t]) ++failOtherTierChanged;
    }

    /// @notice Anyone pays an open claim: first too early (must revert), then at or after its readyAt
    /// (must succeed), warping time forward as needed.
    function payClaimNoRevert(uint256 claimSeed, uint256 payerSeed, uint256 lateSeed) external {
        _syncTime();
        uint256 n = _claims.length;
        if (n == 0) return;
        uint256 index = type(uint256).max;
        for (uint256 k; k < n; ++k) {
            uint256 i = ((claimSeed % n) + k) % n;
            if (!_claims[i].paid) {
                index = i;
                break;
            }
        }
        if (index == type(uint256).max) return;
        GhostClaim storage c = _claims[index];
        address payer = _actors[payerSeed % ACTORS];

        if (c.readyAt > currentTime) {
            VM.prank(payer);
            try vault.payClaim(c.id) {
                ++failClaimPaidEarly;
                _closeClaim(c);
                return;
            } catch (bytes memory err) {
                bytes memory expected = abi.encodeWithSelector(
                    ICollateralVault.VaultClaimNotReady.selector,
                    c.id,
                    c.readyAt
                );
                if (keccak256(err) != keccak256(expected)) _unexpected(err);
            }
            currentTime = c.readyAt + bound(lateSeed, 0, 1 hours);
            VM.warp(currentTime);
        }
        _pay(c, payer);
    }

    /// @notice A user adds to the protocol reserve.
    function fundReserveNoRevert(uint256 actorSeed, uint256 tokenSeed, uint256 amountSeed) external {
        _syncTime();
        address actor = _actors[actorSeed % ACTORS];
        MockERC20 token = _token(tokenSeed);
        uint256 amount = bound(amountSeed, 1, MAX_WHOLE_TOKENS * _unit(token));
        token.mint(actor, amount);
        VM.startPrank(actor);
        token.approve(address(vault), amount);
        try vault.fundReserve(address(token), amount) {
            ghostReserve[address(token)] += amount;
            ++calls[this.fundReserveNoRevert.selector];
        } catch (bytes memory err) {
            _unexpected(err);
        }
        VM.stopPrank();
    }

    /// @notice The controller draws from the reserve into a bucket of any tier: within what the tier may
    /// still draw this epoch it must succeed; one time in four it asks for more, which must revert.
    function drawReserveNoRevert(
        uint256 tierSeed,
        uint256 bucketSeed,
        uint256 tokenSeed,
        uint256 amountSeed,
        uint256 overSeed
    ) external {
        _syncTime();
        uint8 tier = uint8(tierSeed % TIERS);
        BucketId to = _bucket(tier, bucketSeed);
        MockERC20 token = _token(tokenSeed);
        uint256 epoch = vault.reserveEpoch();
        uint256 cap = tier == 2 ? 0 : _reserveCap[tokenSeed % TOKENS];
        uint256 drawn = ghostDrawnInEpoch[tier][address(token)][epoch];
        uint256 reserve = ghostReserve[address(token)];
        uint256 remaining = cap > drawn ? cap - drawn : 0;
        uint256 expectedAvailable = remaining < reserve ? remaining : reserve;
        if (vault.reserveAvailable(tier, address(token)) != expectedAvailable) ++failReserve;

        bool over = overSeed % 4 == 0;
        uint256 amount;
        if (over) {
            amount = expectedAvailable + 1 + (amountSeed % _unit(token));
        } else {
            if (expectedAvailable == 0) return;
            amount = bound(amountSeed, 1, expectedAvailable);
        }

        uint256[TIERS] memory before = _tierTotals(address(token));
        try vault.drawReserve(to, address(token), amount) {
            if (over) ++failReserve;
            ghostReserve[address(token)] -= amount;
            ghostDrawnInEpoch[tier][address(token)][epoch] += amount;
            _credit(to, address(token), amount);
            ghostTierTotal[tier][address(token)] += int256(amount);
            ++calls[this.drawReserveNoRevert.selector];
        } catch (bytes memory err) {
            if (!over) _unexpected(err);
        }
        uint256[TIERS] memory afterwards = _tierTotals(address(token));
        for (uint8 t; t < TIERS; ++t) if (t != tier && afterwards[t] != before[t]) ++failOtherTierChanged;
    }

    /// @notice Time passes (up to three days, so outflow limits refill and reserve epochs turn).
    function warp(uint256 secondsSeed) external {
        currentTime += bound(secondsSeed, 1, 3 days);
        VM.warp(currentTime);
        ++calls[this.warp.selector];
    }

    /// @notice Someone sends tokens to the vault by plain transfer: it must credit nobody.
    function donate(uint256 tokenSeed, uint256 amountSeed) external {
        _syncTime();
        MockERC20 token = _token(tokenSeed);
        uint256 amount = bound(amountSeed, 1, MAX_WHOLE_TOKENS * _unit(token));
        uint256[TIERS] memory before = _tierTotals(address(token));
        uint256 reserveBefore = vault.reserveBalance(address(token));
        uint256 queuedBefore = vault.totalQueued(address(token));

        ghostDonations[address(token)] += amount;
        ++calls[this.donate.selector];
        token.mint(DONOR, amount);
        VM.prank(DONOR);
        if (!token.transfer(address(vault), amount)) ++failUnexpectedRevert;

        uint256[TIERS] memory afterwards = _tierTotals(address(token));
        for (uint8 t; t < TIERS; ++t) if (afterwards[t] != before[t]) ++failDonationCredited;
        if (vault.reserveBalance(address(token)) != reserveBefore) ++failDonationCredited;
        if (vault.totalQueued(address(token)) != queuedBefore) ++failDonationCredited;
    }

    // ================================================================ end of run

    /// @notice Everyone leaves: every open claim is paid once ready, then every bucket is withdrawn in full
    /// and the claims this queues are paid in turn. Called once per run, after the random calls; it reverts
    /// (failing the run) if anything cannot get out.
    function settleEverything() external {
        _syncTime();
        _payAllOpenClaims();
        for (uint256 i; i < _touched.length; ++i) {
            BucketId bucket = _touched[i];
            for (uint256 j; j < TOKENS; ++j) {
                address token = address(_tokens[j]);
                uint256 balance = vault.balanceOf(bucket, token);
                if (balance == 0) continue;
                uint256 claimId = vault.withdraw(bucket, token, balance, _actors[0]);
                ghostBalance[bucket][token] -= int256(balance);
                ghostTierTotal[bucket.tier()][token] -= int256(balance);
                if (claimId != 0) _recordClaim(claimId, bucket.tier(), token, _actors[0], balance);
            }
        }
        _payAllOpenClaims();
    }

    // ================================================================ views for the invariants

    function tokenAt(uint256 i) external view returns (MockERC20) {
        return _tokens[i];
    }

    function touchedCount() external view returns (uint256) {
        return _touched.length;
    }

    function touched(uint256 i) external view returns (BucketId) {
        return _touched[i];
    }

    function claimCount() external view returns (uint256) {
        return _claims.length;
    }

    function ghostClaim(uint256 i) external view returns (GhostClaim memory) {
        return _claims[i];
    }

    function reserveCap(uint8 tier, uint256 tokenIndex) external view returns (uint256) {
        return tier == 2 ? 0 : _reserveCap[tokenIndex];
    }

    // ================================================================ internal

    function _syncTime() internal {
        if (block.timestamp != currentTime) VM.warp(currentTime);
    }

    function _token(uint256 seed) internal view returns (MockERC20) {
        return _tokens[seed % TOKENS];
    }

    function _unit(MockERC20 token_) internal view returns (uint256) {
        return 10 ** token_.decimals();
    }

    /// @dev One of the fixed buckets of `tier`: an actor's account with a small sub-id, or a system bucket.
    function _bucket(uint8 tier, uint256 seed) internal view returns (BucketId) {
        uint256 i = seed % BUCKETS_PER_TIER;
        if (i == ACTORS * SUB_IDS) return BucketIdLib.settlement(tier);
        if (i == ACTORS * SUB_IDS + 1) return BucketIdLib.insurance(tier);
        return BucketIdLib.account(_actors[i / SUB_IDS], tier, uint88(i % SUB_IDS));
    }

    /// @dev A touched bucket with a non-zero balance, searching from the seeds (bucket first, then token).
    function _pickFunded(
        uint256 bucketSeed,
        uint256 tokenSeed
    ) internal view returns (bool found, BucketId bucket, MockERC20 token_, uint256 balance) {
        uint256 n = _touched.length;
        for (uint256 i; i < n; ++i) {
            bucket = _touched[((bucketSeed % n) + i) % n];
            for (uint256 k; k < TOKENS; ++k) {
                token_ = _tokens[((tokenSeed % TOKENS) + k) % TOKENS];
                balance = vault.balanceOf(bucket, address(token_));
                if (balance != 0) return (true, bucket, token_, balance);
            }
        }
    }

    function _credit(BucketId bucket, address token_, uint256 amount) internal {
        if (!_isTouched[bucket]) {
            _isTouched[bucket] = true;
            _touched.push(bucket);
        }
        ghostBalance[bucket][token_] += int256(amount);
    }

    function _tierTotals(address token_) internal view returns (uint256[TIERS] memory totals) {
        for (uint8 t; t < TIERS; ++t) (totals[t], ) = vault.tierTotal(t, token_);
    }

    function _recordClaim(uint256 claimId, uint8 tier, address token_, address receiver, uint256 amount) internal {
        ICollateralVault.Claim memory c = vault.claim(claimId);
        if (c.amount != amount || c.receiver != receiver || c.token != token_ || c.readyAt <= currentTime) {
            ++failWithdrawal;
        }
        _claims.push(GhostClaim(claimId, tier, token_, receiver, amount, c.readyAt, false));
        _release(tier, token_, c.readyAt);
        ghostQueued[token_] += amount;
        ghostQueuedInTier[tier][token_] += amount;
    }

    /// @dev First in, first out per tier: payout times never go backwards.
    function _release(uint8 tier, address token_, uint256 at) internal {
        if (at < ghostLastRelease[tier][token_]) ++failFifo;
        else ghostLastRelease[tier][token_] = at;
    }

    function _pay(GhostClaim storage c, address payer) internal {
        uint256 receiverBefore = MockERC20(c.token).balanceOf(c.receiver);
        VM.prank(payer);
        try vault.payClaim(c.id) {
            if (MockERC20(c.token).balanceOf(c.receiver) - receiverBefore != c.amount) ++failClaimPayment;
            _closeClaim(c);
            ++calls[this.payClaimNoRevert.selector];
        } catch (bytes memory err) {
            ++failClaimPayment;
            lastUnexpectedRevert = err;
        }
    }

    function _closeClaim(GhostClaim storage c) internal {
        c.paid = true;
        ghostQueued[c.token] -= c.amount;
        ghostQueuedInTier[c.tier][c.token] -= c.amount;
    }

    function _payAllOpenClaims() internal {
        for (uint256 i; i < _claims.length; ++i) {
            GhostClaim storage c = _claims[i];
            if (c.paid) continue;
            if (c.readyAt > currentTime) {
                currentTime = c.readyAt;
                VM.warp(currentTime);
            }
            vault.payClaim(c.id);
            _closeClaim(c);
        }
    }

    function _unexpected(bytes memory err) internal {
        ++failUnexpectedRevert;
        lastUnexpectedRevert = err;
    }
}
