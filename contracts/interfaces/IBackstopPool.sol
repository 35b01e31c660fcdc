// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

import {BucketId} from "../libraries/BucketId.sol";

/// @title IBackstopPool
/// @notice The LP vault of one tier (ERC-4626 over the tier's quote token). Its assets are a clearing account
/// of the tier, `(pool, tier, 0)`: the counterparty of pool trades and the taker of liquidated positions.
/// Its share price is that account's equity on the conservative side of every price band, so losses show
/// in the share price at once. LPs leave through a cooldown (request, wait, redeem) and only while the
/// pool's margin use stays under the utilisation limit, so they cannot leave ahead of a loss underway.
/// @dev Warning: withdrawals leave through the clearing house and the vault; above the vault's outflow limit
/// the receiver is paid by a vault claim later (never lost), which the `CollateralWithdrawn` event names.
interface IBackstopPool {
    /// @notice A redemption request: `shares` may be redeemed from `unlockAt` on.
    struct RedeemRequest {
        uint128 shares;
        uint48 unlockAt;
    }

    /// @notice The request's shares exceed the owner's balance, or are zero.
    error PoolInvalidRequest(address owner, uint256 shares, uint256 balance);
    /// @notice The pool's clearing account is not registered as its tier's pool in the clearing house.
    error PoolNotRegistered(uint8 tier);

    /// @notice `owner` asked to redeem `shares`, redeemable from `unlockAt`.
    event RedeemRequested(address indexed owner, uint256 shares, uint256 unlockAt);
    /// @notice The cooldown and utilisation limit changed.
    event PoolParamsSet(uint256 cooldown, uint256 maxUtilisationBps);

    /// @notice Asks to redeem `shares` after the cooldown, within a window of REDEEM_WINDOW after it; a new
    /// request replaces the previous one and restarts the cooldown.
    function requestRedeem(uint256 shares) external;

    /// @notice Changes the cooldown and the utilisation limit (RISK), within envelopes and one step.
    function setParams(uint32 cooldown, uint16 maxUtilisationBps) external;

    /// @notice The tier of the pool.
    function tier() external view returns (uint8);

    /// @notice The pool's clearing account `(pool, tier, 0)`.
    function account() external view returns (BucketId);

    /// @notice The pending redemption of `owner`.
    function redeemRequest(address owner) external view returns (RedeemRequest memory);

    /// @notice The cooldown (seconds) and the utilisation limit (bps of equity that IM may use).
    function params() external view returns (uint256 cooldown, uint256 maxUtilisationBps);

    /// @notice Assets that may leave now without the pool's IM exceeding the utilisation limit of what
    /// remains (unrealized profit excluded), in quote token units.
    function withdrawableAssets() external view returns (uint256);
}
