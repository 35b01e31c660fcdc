// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

import {BucketId} from "../libraries/BucketId.sol";

/// @title ICollateralVault
/// @notice The only contract of Strata that holds tokens. It keeps a ledger `bucket → token → amount`
/// (never negative) where every bucket carries a tier tag, and it enforces the vault layer's own limits:
/// per-tier deposit caps, per-token outflow rate limits, and no movement of value between tiers except
/// the capped protocol-reserve path.
/// @dev Warning: the vault assumes listed tokens are ERC-20s whose balances change only by transfers
/// (no rebasing). Tokens that take a fee on transfer are refused at deposit: a deposit succeeds only if
/// the vault's balance rose by exactly the amount asked (see {VaultTransferAmountMismatch}). Tokens that
/// return `false`, that call back on transfer, or that blocklist addresses are handled: failed transfers
/// revert the whole call, every entry point is guarded against reentrancy, and no payment is pushed to
/// an address that did not ask for it.
/// Warning: tokens sent to the vault by plain transfer credit nobody.
interface ICollateralVault {
    // ---------------------------------------------------------------- types

    /// @notice Static facts and the outflow limit of a listed token.
    struct TokenConfig {
        bool listed;
        uint8 decimals;
        uint32 outflowWindow;
        uint128 outflowCapacity;
    }

    /// @notice A withdrawal over the outflow limit, payable to `receiver` from `readyAt` on. `owner` is the
    /// owner of the bucket it left, who may redirect it as well as the receiver.
    struct Claim {
        uint128 amount;
        uint48 readyAt;
        address receiver;
        address token;
        address owner;
    }

    // ---------------------------------------------------------------- errors

    /// @notice The amount is zero.
    error VaultZeroAmount();
    /// @notice The amount is larger than any ledger entry may hold.
    error VaultAmountTooLarge(uint256 amount, uint256 max);
    /// @notice The bucket can never be reached (owner `address(0)` with a non-system sub-id).
    error VaultInvalidBucket(BucketId bucket);
    /// @notice The address is zero or otherwise unusable as a receiver.
    error VaultInvalidReceiver(address receiver);
    /// @notice The token is not listed.
    error VaultTokenNotListed(address token);
    /// @notice The token is listed already.
    error VaultTokenAlreadyListed(address token);
    /// @notice The token has no code or its `decimals()` cannot be read.
    error VaultTokenUnreadable(address token);
    /// @notice The token's decimals are outside what the protocol's unit conversions support.
    error VaultTokenDecimalsUnsupported(address token, uint8 decimals);
    /// @notice The token is not accepted in this tier.
    error VaultTierTokenNotEnabled(uint8 tier, address token);
    /// @notice The token is already accepted in this tier.
    error VaultTierTokenAlreadyEnabled(uint8 tier, address token);
    /// @notice A deposit would take the tier's total of `token` above its cap.
    error VaultDepositCapExceeded(uint8 tier, address token, uint256 cap, uint256 totalAfter);
    /// @notice Deposits are paused by the guardian.
    error VaultDepositsPaused();
    /// @notice The vault received a different amount than requested (fee-on-transfer or rebasing token).
    error VaultTransferAmountMismatch(address token, uint256 expected, uint256 received);
    /// @notice A move between buckets of different tiers (the tier firewall).
    error VaultCrossTierMove(BucketId from, BucketId to);
    /// @notice The bucket holds less than the amount to debit.
    error VaultInsufficientBalance(BucketId bucket, address token, uint256 balance, uint256 needed);
    /// @notice No open claim has this id.
    error VaultClaimNotFound(uint256 claimId);
    /// @notice The claim is payable only from `readyAt`.
    error VaultClaimNotReady(uint256 claimId, uint256 readyAt);
    /// @notice Only the claim's receiver or the owner of the bucket it left may redirect it.
    error VaultClaimRedirectNotAllowed(uint256 claimId, address caller);
    /// @notice The protocol reserve holds less than the amount to draw.
    error VaultReserveInsufficient(address token, uint256 available, uint256 needed);
    /// @notice The tier may draw at most `remaining` more from the reserve in the current epoch.
    error VaultReserveAllowanceExceeded(uint8 tier, address token, uint256 remaining, uint256 requested);

    // ---------------------------------------------------------------- events

    /// @notice `from` deposited `amount` of `token` into `bucket`.
    event Deposited(BucketId indexed bucket, address indexed token, address indexed from, uint256 amount);
    /// @notice The controller moved `amount` of `token` between two buckets of one tier.
    event Moved(BucketId indexed from, BucketId indexed to, address indexed token, uint256 amount);
    /// @notice `amount` of `token` left `bucket` for `receiver` at once.
    event Withdrawn(BucketId indexed bucket, address indexed token, address indexed receiver, uint256 amount);
    /// @notice `amount` of `token` left the ledger of `bucket` as claim `claimId`, payable from `readyAt`.
    event WithdrawalQueued(
        uint256 indexed claimId,
        BucketId indexed bucket,
        address indexed token,
        address receiver,
        uint256 amount,
        uint256 readyAt
    );
    /// @notice Claim `claimId` was paid.
    event ClaimPaid(uint256 indexed claimId, address indexed receiver, address indexed token, uint256 amount);
    /// @notice The receiver of claim `claimId` changed.
    event ClaimReceiverChanged(uint256 indexed claimId, address indexed oldReceiver, address indexed newReceiver);
    /// @notice `from` added `amount` of `token` to the protocol reserve.
    event ReserveFunded(address indexed token, address indexed from, uint256 amount);
    /// @notice The reserve paid `amount` of `token` into `to`, a bucket of `tier`, in reserve epoch `epoch`.
    event ReserveDrawn(uint8 indexed tier, BucketId indexed to, address indexed token, uint256 amount, uint256 epoch);
    /// @notice `token` was listed with `decimals` and its outflow limit.
    event TokenListed(address indexed token, uint8 decimals, uint256 outflowCapacity, uint256 outflowWindow);
    /// @notice The outflow limit of `token` changed.
    event OutflowLimitSet(
        address indexed token,
        uint256 oldCapacity,
        uint256 oldWindow,
        uint256 capacity,
        uint256 window
    );
    /// @notice `tier` accepts `token` from now on, up to `depositCap`.
    event TierTokenEnabled(uint8 indexed tier, address indexed token, uint256 depositCap);
    /// @notice The deposit cap of `token` in `tier` changed.
    event DepositCapSet(uint8 indexed tier, address indexed token, uint256 oldCap, uint256 newCap);
    /// @notice `tier` may draw up to `capPerEpoch` of `token` from the reserve per epoch (0: not eligible).
    event ReserveAllowanceSet(uint8 indexed tier, address indexed token, uint256 oldCapPerEpoch, uint256 capPerEpoch);
    /// @notice `account` was registered (`registered`) or unregistered as a controller.
    event ControllerSet(address indexed account, bool registered);
    /// @notice Deposits were paused (`paused`) or resumed.
    event DepositsPauseSet(bool paused, address indexed by);

    // ---------------------------------------------------------------- users

    /// @notice Deposits `amount` of `token` from the caller into `bucket`.
    /// @dev Anyone may deposit into any valid bucket (depositing into another's bucket is a gift).
    /// The caller must have approved the vault. Reverts with {VaultTransferAmountMismatch} for tokens that
    /// deliver less than `amount`.
    function deposit(address token, uint256 amount, BucketId bucket) external;

    /// @notice Adds `amount` of `token` from the caller to the protocol reserve.
    function fundReserve(address token, uint256 amount) external;

    /// @notice Pays claim `claimId` to its receiver. Anyone may call it once the claim is ready.
    function payClaim(uint256 claimId) external;

    /// @notice Lets the receiver of claim `claimId`, or the owner of the bucket it left, redirect it (e.g. after
    /// the receiver was blocklisted by the token).
    function setClaimReceiver(uint256 claimId, address newReceiver) external;

    // ---------------------------------------------------------------- controller (the clearing house)
    // Callable by registered controllers and by holders of the CONTROLLER role.

    /// @notice Moves `amount` of `token` from `from` to `to`. Both buckets must be of one tier.
    function move(BucketId from, BucketId to, address token, uint256 amount) external;

    /// @notice Debits `amount` of `token` from `bucket` and pays it to `receiver`: at once when the outflow
    /// limit of the bucket's tier for `token` allows, otherwise as a claim that becomes payable when that
    /// limit has refilled (first in, first out within the tier).
    /// @return claimId 0 when paid at once, otherwise the id of the queued claim.
    function withdraw(
        BucketId bucket,
        address token,
        uint256 amount,
        address receiver
    ) external returns (uint256 claimId);

    /// @notice Pays `amount` of `token` from the protocol reserve into `to`, within the allowance of
    /// `to`'s tier for the current reserve epoch. The only path by which value crosses into a tier.
    /// The tier must accept `token`; the draw does not count against the tier's deposit cap.
    function drawReserve(BucketId to, address token, uint256 amount) external;

    // ---------------------------------------------------------------- governance

    /// @notice Lists `token`, reading its decimals once, with its outflow limit.
    function listToken(address token, uint128 outflowCapacity, uint32 outflowWindow) external;

    /// @notice Changes the outflow limit of `token` (applied to each tier separately), within the
    /// envelope, one step, and no lower than 1/16 of the capacity it was listed with.
    function setOutflowLimit(address token, uint128 capacity, uint32 window) external;

    /// @notice Lets `tier` accept `token` with a first deposit cap.
    function enableTierToken(uint8 tier, address token, uint128 depositCap) external;

    /// @notice Changes the deposit cap of `token` in `tier`, within one step.
    function setDepositCap(uint8 tier, address token, uint128 depositCap) external;

    /// @notice Sets how much of `token` `tier` may draw from the reserve per epoch (0 makes it ineligible).
    function setReserveAllowance(uint8 tier, address token, uint128 capPerEpoch) external;

    /// @notice Registers or unregisters `account` (the clearing house) as a controller (ADMIN). A registered
    /// controller passes `move`, `withdraw` and `drawReserve` with one storage read; holders of the
    /// CONTROLLER role pass through the AccessManager as before.
    function setController(address account, bool registered) external;

    /// @notice Stops deposits. Never stops withdrawals, moves or claims.
    function pauseDeposits() external;

    /// @notice Resumes deposits.
    function unpauseDeposits() external;

    // ---------------------------------------------------------------- views

    /// @notice The ledger balance of `token` in `bucket`.
    function balanceOf(BucketId bucket, address token) external view returns (uint256);

    /// @notice The ledger balance in `bucket` of each of `tokens`, in order (one call for an account's
    /// collateral).
    function balancesOf(BucketId bucket, address[] calldata tokens) external view returns (uint256[] memory);

    /// @notice The sum of all ledger balances of `token` in the buckets of `tier`, and its deposit cap.
    function tierTotal(uint8 tier, address token) external view returns (uint256 total, uint256 depositCap);

    /// @notice Listing facts and outflow limit of `token`.
    function tokenConfig(address token) external view returns (TokenConfig memory);

    /// @notice How much of `token` may leave `tier` at once right now. Each tier has its own limiter
    /// with the token's capacity and window, so one tier's queue never delays another's exits.
    function availableOutflow(uint8 tier, address token) external view returns (uint256);

    /// @notice The open claim `claimId` (zero fields when paid or unknown).
    function claim(uint256 claimId) external view returns (Claim memory);

    /// @notice The total of open claims in `token`.
    function totalQueued(address token) external view returns (uint256);

    /// @notice The protocol reserve's balance of `token`.
    function reserveBalance(address token) external view returns (uint256);

    /// @notice How much of `token` `tier` may still draw from the reserve in the current epoch.
    function reserveAvailable(uint8 tier, address token) external view returns (uint256);

    /// @notice The current reserve epoch.
    function reserveEpoch() external view returns (uint256);

    /// @notice Whether `account` is a registered controller (see {setController}).
    function isRegisteredController(address account) external view returns (bool);

    /// @notice Whether deposits are paused.
    function depositsPaused() external view returns (bool);

    /// @notice Whether a vault call is in progress (its reentrancy guard is entered). Integrations that
    /// read ledger balances from a token callback must refuse to act while it is: mid-deposit, a credit
    /// may not be backed by tokens yet.
    function isLocked() external view returns (bool);
}
