// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IBackstopPool} from "../interfaces/IBackstopPool.sol";
import {IClearingHouse} from "../interfaces/IClearingHouse.sol";
import {ICollateralVault} from "../interfaces/ICollateralVault.sol";
import {BucketId, BucketIdLib} from "../libraries/BucketId.sol";
import {ParamGuard} from "../libraries/ParamGuard.sol";

/// @title BackstopPool
/// @notice One tier's LP vault. See {IBackstopPool}.
/// @dev Virtual shares (decimals offset 6) make the inflation attack on an empty pool unprofitable.
contract BackstopPool is IBackstopPool, ERC4626, AccessManaged, ReentrancyGuardTransient {
    using SafeCast for uint256;

    uint256 public constant MIN_COOLDOWN = 1 hours;
    uint256 public constant MAX_COOLDOWN = 30 days;
    uint256 public constant MIN_UTILISATION_BPS = 1_000;
    uint256 public constant MAX_UTILISATION_BPS = 9_000;
    uint256 public constant PARAM_COOLDOWN = 1 days;
    /// @notice How long a matured request stays redeemable; after it, the LP must request again.
    uint256 public constant REDEEM_WINDOW = 2 days;

    IClearingHouse public immutable CLEARING;
    ICollateralVault public immutable VAULT;
    uint8 private immutable _TIER;
    uint256 private immutable _SCALE;

    uint32 private _cooldown;
    uint16 private _maxUtilisationBps;
    mapping(address owner => RedeemRequest) private _requests;
    mapping(bytes32 key => uint256) private _lastParamChange;

    /// @param authority The AccessManager.
    /// @param clearing The clearing house; the pool's account lives there.
    /// @param vault The vault holding the pool's tokens.
    /// @param quote The tier's quote token (at most 18 decimals).
    /// @param tier_ The tier.
    /// @param name_ ERC-20 name of the shares.
    /// @param symbol_ ERC-20 symbol of the shares.
    /// @param cooldown_ Redemption cooldown.
    /// @param maxUtilisationBps_ Largest share of the remaining equity that IM may use after a withdrawal.
    constructor(
        address authority,
        IClearingHouse clearing,
        ICollateralVault vault,
        IERC20 quote,
        uint8 tier_,
        string memory name_,
        string memory symbol_,
        uint32 cooldown_,
        uint16 maxUtilisationBps_
    ) ERC20(name_, symbol_) ERC4626(quote) AccessManaged(authority) {
        CLEARING = clearing;
        VAULT = vault;
        _TIER = tier_;
        _SCALE = 10 ** (18 - ERC20(address(quote)).decimals());
        _checkParams(cooldown_, maxUtilisationBps_);
        _cooldown = cooldown_;
        _maxUtilisationBps = maxUtilisationBps_;
        emit PoolParamsSet(cooldown_, maxUtilisationBps_);
    }

    // ================================================================ LPs

    /// @inheritdoc IBackstopPool
    function requestRedeem(uint256 shares) external nonReentrant {
        uint256 balance = balanceOf(msg.sender);
        if (shares == 0 || shares > balance) revert PoolInvalidRequest(msg.sender, shares, balance);
        uint256 unlockAt = block.timestamp + _cooldown;
        _requests[msg.sender] = RedeemRequest({shares: shares.toUint128(), unlockAt: unlockAt.toUint48()});
        emit RedeemRequested(msg.sender, shares, unlockAt);
    }

    /// @inheritdoc ERC4626
    function deposit(uint256 assets, address receiver) public override nonReentrant returns (uint256) {
        return super.deposit(assets, receiver);
    }

    /// @inheritdoc ERC4626
    function mint(uint256 shares, address receiver) public override nonReentrant returns (uint256) {
        return super.mint(shares, receiver);
    }

    /// @inheritdoc ERC4626
    function withdraw(uint256 assets, address receiver, address owner) public override nonReentrant returns (uint256) {
        return super.withdraw(assets, receiver, owner);
    }

    /// @inheritdoc ERC4626
    function redeem(uint256 shares, address receiver, address owner) public override nonReentrant returns (uint256) {
        return super.redeem(shares, receiver, owner);
    }

    // ================================================================ governance

    /// @inheritdoc IBackstopPool
    function setParams(uint32 cooldown_, uint16 maxUtilisationBps_) external restricted {
        _checkParams(cooldown_, maxUtilisationBps_);
        ParamGuard.checkStep("cooldown", _cooldown, cooldown_, 5_000, 1 hours);
        ParamGuard.checkStep("maxUtilisationBps", _maxUtilisationBps, maxUtilisationBps_, 5_000, 500);
        ParamGuard.checkCooldown(_lastParamChange, keccak256("poolParams"), PARAM_COOLDOWN);
        _cooldown = cooldown_;
        _maxUtilisationBps = maxUtilisationBps_;
        emit PoolParamsSet(cooldown_, maxUtilisationBps_);
    }

    // ================================================================ views

    /// @inheritdoc IBackstopPool
    function tier() external view returns (uint8) {
        return _TIER;
    }

    /// @inheritdoc IBackstopPool
    function account() public view returns (BucketId) {
        return BucketIdLib.account(address(this), _TIER, 0);
    }

    /// @inheritdoc IBackstopPool
    function redeemRequest(address owner) external view returns (RedeemRequest memory) {
        return _requests[owner];
    }

    /// @inheritdoc IBackstopPool
    function params() external view returns (uint256 cooldown, uint256 maxUtilisationBps) {
        return (_cooldown, _maxUtilisationBps);
    }

    /// @notice The pool account's equity on the conservative side of every band, in quote token units
    /// (rounded down; zero when negative). Losses show here at once.
    function totalAssets() public view override returns (uint256) {
        int256 equity = CLEARING.health(account()).equity;
        return equity <= 0 ? 0 : uint256(equity) / _SCALE;
    }

    /// @inheritdoc IBackstopPool
    function withdrawableAssets() public view returns (uint256) {
        IClearingHouse.Health memory h = CLEARING.health(account());
        // Unrealized profit does not count; IM may use at most maxUtilisation of what remains.
        int256 equity = h.collateralValue.toInt256() + h.cash + h.unrealizedLoss - h.pendingFunding;
        // Rounding: up — the equity that must stay is never understated.
        int256 mustStay = Math.mulDiv(h.im, ParamGuard.BPS, _maxUtilisationBps, Math.Rounding.Ceil).toInt256();
        if (equity <= mustStay) return 0;
        // Rounding: down — never more than the account could give: its quote tokens after its debt, which
        // the clearing house settles first (rounded up to whole units), is paid.
        uint256 balance = VAULT.balanceOf(account(), asset());
        uint256 debt = h.cash < 0 ? Math.ceilDiv(uint256(-h.cash), _SCALE) : 0;
        uint256 spendable = balance > debt ? balance - debt : 0;
        return Math.min(uint256(equity - mustStay) / _SCALE, spendable);
    }

    /// @notice Deposits are capped by what the tier's deposit cap in the vault still admits; none while the
    /// pool is not its tier's registered pool or the vault's deposits are paused.
    function maxDeposit(address) public view override returns (uint256) {
        if (CLEARING.pool(_TIER) != address(this) || VAULT.depositsPaused()) return 0;
        (uint256 total, uint256 cap) = VAULT.tierTotal(_TIER, asset());
        return cap > total ? cap - total : 0;
    }

    /// @notice Deposits are capped by what the tier's deposit cap in the vault still admits.
    function maxMint(address receiver) public view override returns (uint256) {
        return convertToShares(maxDeposit(receiver));
    }

    /// @notice Only the matured part of the owner's request, within what the utilisation limit lets leave.
    function maxRedeem(address owner) public view override returns (uint256) {
        uint256 shares = _unlockedShares(owner);
        if (shares == 0) return 0;
        uint256 byUtilisation = convertToShares(withdrawableAssets());
        return Math.min(shares, byUtilisation);
    }

    /// @notice Only the matured part of the owner's request, within what the utilisation limit lets leave.
    function maxWithdraw(address owner) public view override returns (uint256) {
        return Math.min(convertToAssets(_unlockedShares(owner)), withdrawableAssets());
    }

    // ================================================================ hooks

    /// @dev Tokens go straight into the pool's vault bucket: the pool holds nothing itself.
    function _transferIn(address from, uint256 assets) internal override {
        if (CLEARING.pool(_TIER) != address(this)) revert PoolNotRegistered(_TIER);
        IERC20 token = IERC20(asset());
        SafeERC20.safeTransferFrom(token, from, address(this), assets);
        SafeERC20.forceApprove(token, address(VAULT), assets);
        VAULT.deposit(address(token), assets, account());
    }

    /// @dev Tokens leave through the clearing house (margin check) and the vault (outflow limit).
    function _transferOut(address to, uint256 assets) internal override {
        CLEARING.withdraw(account(), asset(), assets, to);
    }

    /// @dev Consumes the request by the shares that leave.
    function _withdraw(
        address caller,
        address receiver,
        address owner,
        uint256 assets,
        uint256 shares
    ) internal override {
        RedeemRequest storage request = _requests[owner];
        // `withdraw` rounds shares up, so it may ask for a little more than the matured request holds.
        if (shares > request.shares) revert ERC4626ExceededMaxRedeem(owner, shares, request.shares);
        request.shares -= uint128(shares); // shares <= request.shares < 2^128
        super._withdraw(caller, receiver, owner, assets, shares);
    }

    function _decimalsOffset() internal pure override returns (uint8) {
        return 6;
    }

    function _unlockedShares(address owner) private view returns (uint256) {
        RedeemRequest memory request = _requests[owner];
        // Redeemable only inside the window after the cooldown: an old request cannot serve as a standing
        // option to leave at once when a loss appears.
        if (request.unlockAt == 0 || block.timestamp < request.unlockAt) return 0;
        if (block.timestamp > request.unlockAt + REDEEM_WINDOW) return 0;
        return Math.min(request.shares, balanceOf(owner));
    }

    function _checkParams(uint256 cooldown_, uint256 maxUtilisationBps_) private pure {
        ParamGuard.checkEnvelope("cooldown", cooldown_, MIN_COOLDOWN, MAX_COOLDOWN);
        ParamGuard.checkEnvelope("maxUtilisationBps", maxUtilisationBps_, MIN_UTILISATION_BPS, MAX_UTILISATION_BPS);
    }
}
