// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {ICollateralVault} from "../interfaces/ICollateralVault.sol";
import {BucketId} from "../libraries/BucketId.sol";
import {OutflowLimiter} from "../libraries/OutflowLimiter.sol";
import {ParamGuard} from "../libraries/ParamGuard.sol";
import {TokenMetadata} from "../libraries/TokenMetadata.sol";

/// @title CollateralVault
/// @notice Token custody and the per-bucket ledger of Strata. See {ICollateralVault}.
/// @dev Roles (set in the AccessManager at deployment): the clearing house holds CONTROLLER for
/// `move`, `withdraw` and `drawReserve`; ADMIN lists tokens, enables them per tier and sets reserve
/// allowances; RISK tunes caps and outflow limits within one step; GUARDIAN pauses deposits.
contract CollateralVault is ICollateralVault, AccessManaged, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using OutflowLimiter for OutflowLimiter.State;

    /// @dev Per tier and token: the cap on the tier's total, and that total. One slot, read and written
    /// once per deposit.
    struct TierToken {
        uint128 depositCap;
        uint128 total;
    }

    /// @dev Per tier and token: the reserve allowance per epoch and what was drawn in `epoch`.
    struct ReserveAllowance {
        uint128 capPerEpoch;
        uint64 epoch;
        uint128 drawn;
    }

    // Hard envelopes (DESIGN §2: setters enforce envelopes and a max step per change).
    uint256 public constant MAX_AMOUNT = type(uint128).max;
    uint8 public constant MAX_TOKEN_DECIMALS = 36;
    uint32 public constant MIN_OUTFLOW_WINDOW = 1 hours;
    uint32 public constant MAX_OUTFLOW_WINDOW = 7 days;
    /// @notice Largest relative change of a cap or an outflow limit per governance action.
    uint256 public constant MAX_PARAM_STEP_BPS = 5_000;
    /// @notice RISK may lower a token's outflow capacity to 1/16 of its listed value, no further: a limit
    /// squeezed towards zero would push claims' payout times out of reach (DESIGN §6.7).
    uint256 public constant MIN_CAPACITY_FRACTION = 16;
    /// @notice Shortest interval between two changes of one parameter group (e.g. one tier's cap of one
    /// token), so that a batch of scheduled steps cannot all execute in one block.
    uint256 public constant PARAM_COOLDOWN = 1 days;

    /// @notice Length of a reserve epoch: each eligible tier's reserve allowance refreshes once per epoch.
    uint256 public immutable RESERVE_EPOCH_LENGTH;

    mapping(address token => TokenConfig) private _tokens;
    /// @dev Outflow limiter state per tier and token: each tier has its own queue, so a run on one tier
    /// never delays another tier's exits (the tier firewall, DESIGN §6.2).
    mapping(uint8 tier => mapping(address token => OutflowLimiter.State)) private _outflows;
    /// @dev The outflow capacity set at listing: RISK may not lower it below 1/MIN_CAPACITY_FRACTION of this.
    mapping(address token => uint256) private _listedOutflowCapacity;
    mapping(BucketId bucket => mapping(address token => uint256)) private _balances;
    mapping(uint8 tier => mapping(address token => TierToken)) private _tierTokens;
    mapping(uint8 tier => mapping(address token => ReserveAllowance)) private _reserveAllowances;
    mapping(address token => uint256) private _reserve;
    /// @dev Latest payout time handed out per tier and token: later claims never become payable earlier,
    /// even after the capacity was raised (first in, first out).
    mapping(uint8 tier => mapping(address token => uint256)) private _lastReadyAt;
    mapping(uint256 claimId => Claim) private _claims;
    mapping(bytes32 key => uint256) private _lastParamChange;
    mapping(address token => uint256) private _totalQueued;
    uint256 private _lastClaimId;
    bool private _depositsPaused;
    /// @dev Controllers registered by ADMIN (the clearing house): checked with one storage read on the hot
    /// path instead of an AccessManager round trip. Holders of the CONTROLLER role are controllers too.
    mapping(address account => bool) private _registeredControllers;

    /// @dev The caller must be a registered controller or hold the role AccessManager maps to the function.
    modifier onlyController() {
        if (!_registeredControllers[msg.sender]) _checkCanCall(msg.sender, msg.data);
        _;
    }

    /// @param authority The AccessManager that governs this vault.
    /// @param reserveEpochLength Length of a reserve epoch, between 1 and 30 days.
    constructor(address authority, uint256 reserveEpochLength) AccessManaged(authority) {
        ParamGuard.checkEnvelope("reserveEpochLength", reserveEpochLength, 1 days, 30 days);
        RESERVE_EPOCH_LENGTH = reserveEpochLength;
    }

    // ================================================================ users

    /// @inheritdoc ICollateralVault
    function deposit(address token, uint256 amount, BucketId bucket) external nonReentrant {
        if (_depositsPaused) revert VaultDepositsPaused();
        _checkAmount(amount);
        if (!bucket.isValid()) revert VaultInvalidBucket(bucket);
        uint8 tier = bucket.tier();
        TierToken memory tt = _tierTokens[tier][token];
        if (tt.depositCap == 0) {
            if (!_tokens[token].listed) revert VaultTokenNotListed(token);
            revert VaultTierTokenNotEnabled(tier, token);
        }
        // Cannot overflow: both terms are below 2^128.
        uint256 totalAfter = uint256(tt.total) + amount;
        if (totalAfter > tt.depositCap) revert VaultDepositCapExceeded(tier, token, tt.depositCap, totalAfter);

        _tierTokens[tier][token].total = uint128(totalAfter); // totalAfter <= depositCap < 2^128
        _balances[bucket][token] += amount;
        emit Deposited(bucket, token, msg.sender, amount);

        _pullExactly(token, amount);
    }

    /// @inheritdoc ICollateralVault
    function fundReserve(address token, uint256 amount) external nonReentrant {
        _checkAmount(amount);
        if (!_tokens[token].listed) revert VaultTokenNotListed(token);
        _reserve[token] += amount;
        emit ReserveFunded(token, msg.sender, amount);

        _pullExactly(token, amount);
    }

    /// @inheritdoc ICollateralVault
    function payClaim(uint256 claimId) external nonReentrant {
        Claim memory c = _claims[claimId];
        if (c.amount == 0) revert VaultClaimNotFound(claimId);
        if (block.timestamp < c.readyAt) revert VaultClaimNotReady(claimId, c.readyAt);

        delete _claims[claimId];
        _totalQueued[c.token] -= c.amount;
        emit ClaimPaid(claimId, c.receiver, c.token, c.amount);

        IERC20(c.token).safeTransfer(c.receiver, c.amount);
    }

    /// @inheritdoc ICollateralVault
    function setClaimReceiver(uint256 claimId, address newReceiver) external nonReentrant {
        Claim storage c = _claims[claimId];
        if (c.amount == 0) revert VaultClaimNotFound(claimId);
        address oldReceiver = c.receiver;
        // The bucket's owner may redirect too: a receiver contract that cannot call this must not strand it.
        if (msg.sender != oldReceiver && msg.sender != c.owner)
            revert VaultClaimRedirectNotAllowed(claimId, msg.sender);
        if (newReceiver == address(0)) revert VaultInvalidReceiver(newReceiver);
        c.receiver = newReceiver;
        emit ClaimReceiverChanged(claimId, oldReceiver, newReceiver);
    }

    // ================================================================ controller

    /// @inheritdoc ICollateralVault
    function move(BucketId from, BucketId to, address token, uint256 amount) external onlyController nonReentrant {
        if (amount == 0) revert VaultZeroAmount();
        if (from.tier() != to.tier()) revert VaultCrossTierMove(from, to);
        if (!to.isValid()) revert VaultInvalidBucket(to);
        _debit(from, token, amount);
        // Cannot overflow: the amount was just debited from a ledger entry of the same token.
        unchecked {
            _balances[to][token] += amount;
        }
        emit Moved(from, to, token, amount);
    }

    /// @inheritdoc ICollateralVault
    function withdraw(
        BucketId bucket,
        address token,
        uint256 amount,
        address receiver
    ) external onlyController nonReentrant returns (uint256 claimId) {
        if (amount == 0) revert VaultZeroAmount();
        if (receiver == address(0) || receiver == address(this)) revert VaultInvalidReceiver(receiver);
        TokenConfig memory cfg = _tokens[token];
        if (!cfg.listed) revert VaultTokenNotListed(token);
        uint8 tier = bucket.tier();

        _debit(bucket, token, amount);
        // Cannot underflow: the tier total includes this bucket's balance, which covered `amount`.
        unchecked {
            _tierTokens[tier][token].total -= uint128(amount);
        }

        uint256 readyAt = _outflows[tier][token].consume(
            cfg.outflowCapacity,
            cfg.outflowWindow,
            amount,
            block.timestamp
        );
        // First in, first out: nothing leaves a tier ahead of a claim queued before it, even after the
        // capacity was raised (which shortens the wait computed for later outflows, not for earlier ones).
        uint256 lastReadyAt = _lastReadyAt[tier][token];
        if (readyAt < lastReadyAt) readyAt = lastReadyAt;
        if (readyAt == block.timestamp) {
            emit Withdrawn(bucket, token, receiver, amount);
            IERC20(token).safeTransfer(receiver, amount);
            return 0;
        }

        _lastReadyAt[tier][token] = readyAt;
        claimId = ++_lastClaimId;
        // amount <= a ledger balance <= MAX_AMOUNT; readyAt is a timestamp plus a wait bounded by the
        // capacity floor (MIN_CAPACITY_FRACTION), far below 2^48.
        _claims[claimId] = Claim({
            amount: uint128(amount),
            readyAt: SafeCast.toUint48(readyAt),
            receiver: receiver,
            token: token,
            owner: bucket.owner()
        });
        _totalQueued[token] += amount;
        emit WithdrawalQueued(claimId, bucket, token, receiver, amount, readyAt);
    }

    /// @inheritdoc ICollateralVault
    function drawReserve(BucketId to, address token, uint256 amount) external onlyController nonReentrant {
        if (amount == 0) revert VaultZeroAmount();
        if (!to.isValid()) revert VaultInvalidBucket(to);
        uint8 tier = to.tier();
        if (_tierTokens[tier][token].depositCap == 0) revert VaultTierTokenNotEnabled(tier, token);
        uint256 epoch = reserveEpoch();

        ReserveAllowance storage allowance = _reserveAllowances[tier][token];
        uint256 drawn = allowance.epoch == epoch ? allowance.drawn : 0;
        uint256 remaining = allowance.capPerEpoch > drawn ? allowance.capPerEpoch - drawn : 0;
        if (amount > remaining) revert VaultReserveAllowanceExceeded(tier, token, remaining, amount);
        uint256 reserve = _reserve[token];
        if (amount > reserve) revert VaultReserveInsufficient(token, reserve, amount);

        allowance.epoch = uint64(epoch); // a timestamp divided by at least one day
        allowance.drawn = uint128(drawn + amount); // <= capPerEpoch < 2^128
        // Cannot underflow: checked against the reserve above. Cannot overflow: value moves, it is not created.
        unchecked {
            _reserve[token] = reserve - amount;
            _balances[to][token] += amount;
        }
        _tierTokens[tier][token].total += uint128(amount);
        emit ReserveDrawn(tier, to, token, amount, epoch);
    }

    // ================================================================ governance

    /// @inheritdoc ICollateralVault
    function listToken(address token, uint128 outflowCapacity, uint32 outflowWindow) external restricted {
        if (_tokens[token].listed) revert VaultTokenAlreadyListed(token);
        (bool readable, uint8 decimals) = TokenMetadata.tryDecimals(token);
        if (!readable) revert VaultTokenUnreadable(token);
        if (decimals > MAX_TOKEN_DECIMALS) revert VaultTokenDecimalsUnsupported(token, decimals);
        _checkOutflowEnvelope(outflowCapacity, outflowWindow);

        _listedOutflowCapacity[token] = outflowCapacity;
        _tokens[token] = TokenConfig({
            listed: true,
            decimals: decimals,
            outflowWindow: outflowWindow,
            outflowCapacity: outflowCapacity
        });
        emit TokenListed(token, decimals, outflowCapacity, outflowWindow);
    }

    /// @inheritdoc ICollateralVault
    function setOutflowLimit(address token, uint128 capacity, uint32 window) external restricted {
        TokenConfig storage cfg = _tokens[token];
        if (!cfg.listed) revert VaultTokenNotListed(token);
        _checkOutflowEnvelope(capacity, window);
        uint256 floor = Math.ceilDiv(_listedOutflowCapacity[token], MIN_CAPACITY_FRACTION);
        ParamGuard.checkEnvelope("outflowCapacity", capacity, floor, MAX_AMOUNT);
        ParamGuard.checkStep("outflowCapacity", cfg.outflowCapacity, capacity, MAX_PARAM_STEP_BPS, 1);
        ParamGuard.checkStep("outflowWindow", cfg.outflowWindow, window, MAX_PARAM_STEP_BPS, 1);
        ParamGuard.checkCooldown(_lastParamChange, keccak256(abi.encode("outflowLimit", token)), PARAM_COOLDOWN);
        (uint256 oldCapacity, uint256 oldWindow) = (cfg.outflowCapacity, cfg.outflowWindow);

        // Claims already queued keep their payout time. The new rate applies to each tier's refill since
        // its last outflow (as OpenZeppelin's RateLimiter does): at most one 50% step of difference.
        cfg.outflowCapacity = capacity;
        cfg.outflowWindow = window;
        emit OutflowLimitSet(token, oldCapacity, oldWindow, capacity, window);
    }

    /// @inheritdoc ICollateralVault
    function enableTierToken(uint8 tier, address token, uint128 depositCap) external restricted {
        if (!_tokens[token].listed) revert VaultTokenNotListed(token);
        TierToken storage tt = _tierTokens[tier][token];
        if (tt.depositCap != 0) revert VaultTierTokenAlreadyEnabled(tier, token);
        ParamGuard.checkEnvelope("depositCap", depositCap, 1, MAX_AMOUNT);
        tt.depositCap = depositCap;
        emit TierTokenEnabled(tier, token, depositCap);
    }

    /// @inheritdoc ICollateralVault
    function setDepositCap(uint8 tier, address token, uint128 depositCap) external restricted {
        TierToken storage tt = _tierTokens[tier][token];
        uint256 oldCap = tt.depositCap;
        if (oldCap == 0) revert VaultTierTokenNotEnabled(tier, token);
        ParamGuard.check("depositCap", oldCap, depositCap, 1, MAX_AMOUNT, MAX_PARAM_STEP_BPS, 1);
        ParamGuard.checkCooldown(_lastParamChange, keccak256(abi.encode("depositCap", tier, token)), PARAM_COOLDOWN);
        tt.depositCap = depositCap;
        emit DepositCapSet(tier, token, oldCap, depositCap);
    }

    /// @inheritdoc ICollateralVault
    function setReserveAllowance(uint8 tier, address token, uint128 capPerEpoch) external restricted {
        if (!_tokens[token].listed) revert VaultTokenNotListed(token);
        ReserveAllowance storage allowance = _reserveAllowances[tier][token];
        uint256 oldCap = allowance.capPerEpoch;
        // Making a tier ineligible (to 0) only lowers the protocol's exposure: allowed at once, and it
        // restarts the cooldown, so 0 cannot serve as a springboard past the step limit. Making a tier
        // eligible (from 0) is the listing decision itself; between non-zero values: one step.
        bytes32 key = keccak256(abi.encode("reserveAllowance", tier, token));
        if (capPerEpoch == 0) {
            _lastParamChange[key] = block.timestamp;
        } else {
            if (oldCap != 0) {
                ParamGuard.check("reserveCapPerEpoch", oldCap, capPerEpoch, 1, MAX_AMOUNT, MAX_PARAM_STEP_BPS, 1);
            }
            ParamGuard.checkCooldown(_lastParamChange, key, PARAM_COOLDOWN);
        }
        allowance.capPerEpoch = capPerEpoch;
        emit ReserveAllowanceSet(tier, token, oldCap, capPerEpoch);
    }

    /// @inheritdoc ICollateralVault
    function setController(address account, bool registered) external restricted {
        if (account == address(0)) revert VaultInvalidReceiver(account);
        _registeredControllers[account] = registered;
        emit ControllerSet(account, registered);
    }

    /// @inheritdoc ICollateralVault
    function pauseDeposits() external restricted {
        _depositsPaused = true;
        emit DepositsPauseSet(true, msg.sender);
    }

    /// @inheritdoc ICollateralVault
    function unpauseDeposits() external restricted {
        _depositsPaused = false;
        emit DepositsPauseSet(false, msg.sender);
    }

    // ================================================================ views

    /// @inheritdoc ICollateralVault
    function balanceOf(BucketId bucket, address token) external view returns (uint256) {
        return _balances[bucket][token];
    }

    /// @inheritdoc ICollateralVault
    function balancesOf(BucketId bucket, address[] calldata tokens) external view returns (uint256[] memory balances) {
        balances = new uint256[](tokens.length);
        // Bounded by the caller's list (the clearing house passes a tier's collaterals, at most four).
        for (uint256 i; i < tokens.length; ++i) balances[i] = _balances[bucket][tokens[i]];
    }

    /// @inheritdoc ICollateralVault
    function tierTotal(uint8 tier, address token) external view returns (uint256 total, uint256 depositCap) {
        TierToken memory tt = _tierTokens[tier][token];
        return (tt.total, tt.depositCap);
    }

    /// @inheritdoc ICollateralVault
    function tokenConfig(address token) external view returns (TokenConfig memory) {
        return _tokens[token];
    }

    /// @inheritdoc ICollateralVault
    function availableOutflow(uint8 tier, address token) external view returns (uint256) {
        TokenConfig memory cfg = _tokens[token];
        if (!cfg.listed) return 0;
        return _outflows[tier][token].availableAt(cfg.outflowCapacity, cfg.outflowWindow, block.timestamp);
    }

    /// @inheritdoc ICollateralVault
    function claim(uint256 claimId) external view returns (Claim memory) {
        return _claims[claimId];
    }

    /// @inheritdoc ICollateralVault
    function totalQueued(address token) external view returns (uint256) {
        return _totalQueued[token];
    }

    /// @inheritdoc ICollateralVault
    function reserveBalance(address token) external view returns (uint256) {
        return _reserve[token];
    }

    /// @inheritdoc ICollateralVault
    function reserveAvailable(uint8 tier, address token) external view returns (uint256) {
        ReserveAllowance memory allowance = _reserveAllowances[tier][token];
        uint256 drawn = allowance.epoch == reserveEpoch() ? allowance.drawn : 0;
        uint256 remaining = allowance.capPerEpoch > drawn ? allowance.capPerEpoch - drawn : 0;
        uint256 reserve = _reserve[token];
        return remaining < reserve ? remaining : reserve;
    }

    /// @inheritdoc ICollateralVault
    function reserveEpoch() public view returns (uint256) {
        return block.timestamp / RESERVE_EPOCH_LENGTH;
    }

    /// @inheritdoc ICollateralVault
    function isRegisteredController(address account) external view returns (bool) {
        return _registeredControllers[account];
    }

    /// @inheritdoc ICollateralVault
    function depositsPaused() external view returns (bool) {
        return _depositsPaused;
    }

    /// @inheritdoc ICollateralVault
    function isLocked() external view returns (bool) {
        return _reentrancyGuardEntered();
    }

    // ================================================================ internal

    function _checkAmount(uint256 amount) private pure {
        if (amount == 0) revert VaultZeroAmount();
        if (amount > MAX_AMOUNT) revert VaultAmountTooLarge(amount, MAX_AMOUNT);
    }

    function _checkOutflowEnvelope(uint256 capacity, uint256 window) private pure {
        ParamGuard.checkEnvelope("outflowCapacity", capacity, 1, MAX_AMOUNT);
        ParamGuard.checkEnvelope("outflowWindow", window, MIN_OUTFLOW_WINDOW, MAX_OUTFLOW_WINDOW);
    }

    function _debit(BucketId bucket, address token, uint256 amount) private {
        uint256 balance = _balances[bucket][token];
        if (balance < amount) revert VaultInsufficientBalance(bucket, token, balance, amount);
        // Cannot underflow: checked on the line above.
        unchecked {
            _balances[bucket][token] = balance - amount;
        }
    }

    /// @dev Pulls `amount` of `token` from the caller and reverts unless the vault's balance rose by exactly
    /// `amount`. Runs after the ledger was credited (checks-effects-interactions); a mismatch reverts it all.
    function _pullExactly(address token, uint256 amount) private {
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
        uint256 afterwards = IERC20(token).balanceOf(address(this));
        uint256 received = afterwards > before ? afterwards - before : 0;
        if (received != amount) revert VaultTransferAmountMismatch(token, amount, received);
    }
}
