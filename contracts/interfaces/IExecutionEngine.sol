// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

import {BucketId} from "../libraries/BucketId.sol";

/// @title IExecutionEngine
/// @notice Where trades enter Strata: EIP-712 signed orders of clearing accounts, and the settlement of two
/// crossing orders of one tier by anyone (a relayer or matcher) at the maker's price. Every fill goes to the
/// clearing house's fill entry and its margin checks; the engine never touches tokens.
///
/// An order is signed by its account's owner or one of the owner's clearing operators, as an EOA (ECDSA) or a
/// smart wallet (EIP-1271). It fills at most its size, across any number of settlements; it can be cancelled
/// alone, or with every order of its owner below a nonce.
/// @dev Units: sizes base WAD (signed, long > 0); prices quote WAD per base unit; fees quote WAD.
interface IExecutionEngine {
    // ---------------------------------------------------------------- types

    /// @notice A signed order.
    /// @param account The clearing account that trades (its tier follows).
    /// @param market The market.
    /// @param size Signed base size: > 0 buys (long), < 0 sells (short).
    /// @param limitPrice Worst acceptable price: the most a buyer pays, the least a seller receives.
    /// @param reduceOnly The order may only reduce the account's position, never open, increase or flip it.
    /// @param expiry Last second at which the order may fill.
    /// @param nonce The owner's nonce: orders below the owner's minimum nonce are cancelled.
    struct Order {
        BucketId account;
        uint16 market;
        int256 size;
        uint256 limitPrice;
        bool reduceOnly;
        uint64 expiry;
        uint256 nonce;
    }

    /// @notice An order with who signed it and the signature.
    /// @param signer The owner of the order's account or one of its clearing operators (an EOA or an
    /// EIP-1271 wallet).
    struct SignedOrder {
        Order order;
        address signer;
        bytes signature;
    }

    // ---------------------------------------------------------------- errors

    /// @notice The order's size is 0, or a fill of size 0 was asked.
    error ExecutionZeroSize();
    /// @notice The order expired at `expiry`.
    error ExecutionOrderExpired(bytes32 digest, uint64 expiry);
    /// @notice The order was cancelled, alone or by its owner's minimum nonce `minNonce`.
    error ExecutionOrderCancelled(bytes32 digest, uint256 minNonce);
    /// @notice `signer` is neither the owner of the order's account nor one of its operators.
    error ExecutionUnauthorizedSigner(bytes32 digest, address signer);
    /// @notice The signature does not prove `signer` signed the order for this chain and engine.
    error ExecutionInvalidSignature(bytes32 digest, address signer);
    /// @notice The fill exceeds what is left of the order.
    error ExecutionOverfill(bytes32 digest, uint256 remaining, uint256 requested);
    /// @notice The two orders are not for one market and tier, or are on the same side.
    error ExecutionOrdersMismatch(bytes32 makerDigest, bytes32 takerDigest);
    /// @notice The orders do not cross: the taker's limit does not reach the maker's price.
    error ExecutionOrdersDoNotCross(uint256 makerPrice, uint256 takerLimit);
    /// @notice Both orders belong to one owner.
    error ExecutionSelfTrade(address owner);
    /// @notice A reduce-only order would open, increase or flip the position (`position` before the fill).
    error ExecutionNotReducing(bytes32 digest, int256 position, int256 fill);
    /// @notice The price is further from the oracle's mid price than the tier's band allows.
    error ExecutionPriceOutsideBand(uint256 price, uint256 oraclePrice, uint256 bandBps);
    /// @notice Only the owner of the order's account or one of its operators may cancel it.
    error ExecutionUnauthorizedCancel(bytes32 digest, address caller);
    /// @notice The fill would raise the tier's open interest in the market to `openInterest`, above `cap`.
    error ExecutionOpenInterestCap(uint8 tier, uint16 market, uint256 openInterest, uint256 cap);
    /// @notice Risk-increasing trades are paused (GUARDIAN); only trades whose both sides reduce execute.
    error ExecutionRiskIncreasePaused();
    /// @notice A minimum nonce can only rise.
    error ExecutionNonceNotIncreasing(uint256 current, uint256 requested);

    // ---------------------------------------------------------------- events

    /// @notice `size` (the taker's signed size) filled between the two orders at `price`.
    event OrdersMatched(
        bytes32 indexed makerDigest,
        bytes32 indexed takerDigest,
        address indexed matcher,
        int256 size,
        uint256 price,
        uint256 makerFee,
        uint256 takerFee
    );
    /// @notice The order `digest` has `filled` of its size filled in total.
    event OrderFilled(bytes32 indexed digest, BucketId indexed account, uint256 filled);
    /// @notice The order `digest` was cancelled by `caller`.
    event OrderCancelled(bytes32 indexed digest, address indexed caller);
    /// @notice Every order of `owner` with a nonce below `minNonce` is cancelled.
    event MinNonceSet(address indexed owner, uint256 minNonce);
    /// @notice Risk-increasing trades were paused (true) or resumed (false).
    event RiskIncreasePausedSet(bool paused);

    // ---------------------------------------------------------------- entry points

    /// @notice Settles `size` (absolute, base WAD) between a resting `maker` order and a crossing `taker` order
    /// of the same tier and market, at the maker's limit price. Anyone may call, and the caller assigns the
    /// roles: a signed limit price is the worst price its signer accepts, and any counterparty may fill it
    /// there (within the oracle band), so a limit should be set no wider than the slippage one accepts.
    /// The price must lie within the tier's band around the oracle price (the strict oracle read unless both
    /// sides only reduce; while risk-increasing trades are paused, only such trades execute); a fill that
    /// raises the tier's open interest (Σ long sizes) may not take it above the market's cap in the tier;
    /// each side pays its fee on the notional (rounded up); the clearing house then applies the fill, checks
    /// IM for each side whose risk grows and refuses a reducing side that would end in debt.
    function settleMatch(SignedOrder calldata maker, SignedOrder calldata taker, uint256 size) external;

    /// @notice Pauses risk-increasing trades at once (GUARDIAN). Trades whose both sides only reduce always
    /// execute; a reduce-only order whose only counterparties would open waits for one that reduces (pool
    /// trades, the counterparty of last resort, are still to come in issue #4).
    function pauseRiskIncrease() external;

    /// @notice Resumes risk-increasing trades (ADMIN).
    function unpauseRiskIncrease() external;

    /// @notice Cancels `order` (its account's owner or an operator).
    function cancel(Order calldata order) external;

    /// @notice Cancels every order of the caller (as owner) with a nonce below `minNonce`.
    function setMinNonce(uint256 minNonce) external;

    // ---------------------------------------------------------------- views

    /// @notice The EIP-712 digest of `order` for this chain and engine: what its signer signs.
    function orderDigest(Order calldata order) external view returns (bytes32);

    /// @notice Base size of the order `digest` filled so far (absolute).
    function filled(bytes32 digest) external view returns (uint256);

    /// @notice Whether the order `digest` was cancelled on its own.
    function cancelled(bytes32 digest) external view returns (bool);

    /// @notice `owner`'s minimum nonce: its orders below it are cancelled.
    function minNonce(address owner) external view returns (uint256);

    /// @notice Whether risk-increasing trades are paused.
    function riskIncreasePaused() external view returns (bool);
}
