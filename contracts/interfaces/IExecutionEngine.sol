// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

import {BucketId} from "../libraries/BucketId.sol";

/// @title IExecutionEngine
/// @notice Where trades enter Strata: EIP-712 signed orders of clearing accounts, the settlement of two
/// crossing orders of one tier by anyone (a relayer or matcher) at the maker's price, and market orders
/// against the tier's backstop pool. Every fill goes to the clearing house's fill entry and its margin
/// checks; the engine never touches tokens. The engine enforces the execution layer's own limits: the price
/// band around the oracle, open-interest caps per tier × market and the largest leverage at open.
///
/// Pool trades resist oracle front-running by price, not by delay: a buyer pays at least the upper side of
/// the oracle's confidence band and a seller receives at most the lower side, before skew impact and fee, and
/// never less than a spread floor from the mid (`setPoolSpread`, ADMIN). A push feed posts a new round once
/// the market moves past its deviation threshold, so its price is known only to within that threshold; with
/// the floor (and the band's base half-width) at least the threshold, a trader who knows the next update
/// cannot buy below, or sell above, the price it will post: trading ahead of it does not profit. The band
/// widens with the price's age; an exit on a price that may lag the market by more than that (stale, failed
/// primary, fallback, out of bounds, sequencer down or in its grace period) is priced at the asset's widest
/// band. What the price cannot cover is a single round moving further than the spread (the market outrunning
/// the feed): the pool's exposure to it is bounded by the open-interest caps and the pool's IM (a trade that
/// adds risk must also price inside the tier's band, which limits the skew one trade can add, not the skew
/// that successive trades and exits can build), so the caps are sized to what the pool's LPs can carry.
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
    /// @notice `caller` is neither the owner of `account` nor one of its operators.
    error ExecutionUnauthorizedTrader(BucketId account, address caller);
    /// @notice The tier has no backstop pool yet.
    error ExecutionNoPool(uint8 tier);
    /// @notice The pool's own account cannot trade with the pool.
    error ExecutionPoolSelfTrade(BucketId account);
    /// @notice The pool trade's price is worse than the trader's acceptable price.
    error ExecutionAcceptablePriceExceeded(uint256 price, uint256 acceptablePrice);
    /// @notice The position's notional after the fill exceeds `maxLeverage` × the account's equity.
    error ExecutionLeverageExceeded(BucketId account, uint256 notional, int256 equity, uint256 maxLeverage);
    /// @notice A pool trade's size is above the largest one accepted.
    error ExecutionSizeTooLarge(int256 size, uint256 max);
    /// @notice The oracle has no price for `asset` at all.
    error ExecutionPriceUnavailable(bytes32 asset);
    /// @notice The pool's spread floor is above the largest accepted.
    error ExecutionInvalidPoolSpread(uint256 minPoolSpreadBps, uint256 max);
    /// @notice The fee shares exceed the whole fee, or a protocol share has no treasury.
    error ExecutionInvalidFeeConfig(address treasury, uint256 poolShareBps, uint256 protocolShareBps);

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
    /// @notice `account` traded `size` with its tier's pool at `price` (the oracle's mid was `oraclePrice`),
    /// paying `fee`.
    event PoolTraded(
        BucketId indexed account,
        uint16 indexed market,
        int256 size,
        uint256 price,
        uint256 oraclePrice,
        uint256 fee
    );
    /// @notice The fee split was set: `poolShareBps` of every fee to the tier's pool, `protocolShareBps` to the
    /// treasury's account `(treasury, tier, 0)`, the rest to the tier's insurance fund.
    event FeeConfigSet(address indexed treasury, uint16 poolShareBps, uint16 protocolShareBps);
    /// @notice The floor of the pool's spread (each side, bps of the oracle mid) was set.
    event PoolSpreadSet(uint16 minPoolSpreadBps);

    // ---------------------------------------------------------------- entry points

    /// @notice Settles `size` (absolute, base WAD) between a resting `maker` order and a crossing `taker` order
    /// of the same tier and market, at the maker's limit price. Anyone may call, and the caller assigns the
    /// roles: a signed limit price is the worst price its signer accepts, and any counterparty may fill it
    /// there (within the oracle band), so a limit should be set no wider than the slippage one accepts.
    /// The price must lie within the tier's band around the oracle price (the strict oracle read unless both
    /// sides only reduce; while risk-increasing trades are paused, only such trades execute); a fill that
    /// raises the tier's open interest (Σ long sizes) may not take it above the market's cap in the tier;
    /// each side pays its fee on the notional (rounded up); the clearing house then applies the fill, checks
    /// IM for each side whose risk grows and refuses a reducing side that would end in debt. A side whose
    /// risk grows may hold at most the market's max leverage: its position's notional in this market, at the
    /// higher of the fill price and the oracle mid, over its equity after the fill. (The limit is per market;
    /// IM bounds the account as a whole.)
    function settleMatch(SignedOrder calldata maker, SignedOrder calldata taker, uint256 size) external;

    /// @notice Trades `size` (signed: > 0 buys) of `market` for `account` against its tier's backstop pool, at
    /// once (the account's owner or an operator). Price: the upper side of the oracle band for a buy, the lower
    /// side for a sell (at least the spread floor from the mid; the asset's widest band for an exit on a price
    /// that may lag the market), with the skew impact of the part of the trade that grows the traders' net position
    /// (skew: the pool's size negated) on the trade's side: the premium at skew `x` is `|x| / skewScale`,
    /// averaged over the trade, so splitting a trade costs the same; rounded against the trader. The taker fee
    /// is charged on the notional. A trade that opens, increases or flips the position needs the strict oracle
    /// read, a price within the tier's band around the oracle price (one trade adds no more skew than the band
    /// prices), the open-interest cap and the max leverage. A trade that only reduces the position (an exit)
    /// executes on any available price: while risk-increasing trades are paused, an asset's breaker is tripped
    /// or the sequencer is in grace; its impact stops at the band's edge, and its price is never better than the
    /// band's side. Like every fill it is refused when the account would end in debt at that price, or when the
    /// pool lacks IM for its side; a matched exit against a reducing counterparty remains. The price must be no
    /// worse than `acceptablePrice`; `reduceOnly` refuses a trade that would not reduce.
    /// @return price The fill price.
    /// @return fee The fee charged (quote WAD).
    function tradeWithPool(
        BucketId account,
        uint16 market,
        int256 size,
        uint256 acceptablePrice,
        bool reduceOnly
    ) external returns (uint256 price, uint256 fee);

    /// @notice Sets the floor of the pool's spread (ADMIN, at most MAX_POOL_SPREAD): a pool trade's price is
    /// at least this far from the oracle mid on the trader's side, whatever the oracle's band. Set it to at least
    /// the largest deviation threshold of the markets' feeds (the deployment config checks it).
    function setPoolSpread(uint16 minPoolSpreadBps) external;

    /// @notice Sets how fees are split (ADMIN): `poolShareBps` to the tier's pool, `protocolShareBps` to the
    /// account `(treasury, tier, 0)`, the rest to the tier's insurance fund. The shares add to at most 100%.
    function setFeeConfig(address treasury, uint16 poolShareBps, uint16 protocolShareBps) external;

    /// @notice Pauses risk-increasing trades at once (GUARDIAN). Trades whose both sides only reduce always
    /// execute, and so do exits against the pool (the counterparty of last resort).
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

    /// @notice The floor of the pool's spread (bps of the oracle mid, each side).
    function minPoolSpread() external view returns (uint256);

    /// @notice The fee split: the treasury and the pool's and the protocol's shares (bps).
    function feeConfig() external view returns (address treasury, uint16 poolShareBps, uint16 protocolShareBps);

    /// @notice The price a pool trade of `size` would fill at now (the read a trade of its kind would use;
    /// reverts as the trade would for an unavailable or out-of-band price), and the oracle's mid.
    function quotePoolTrade(
        BucketId account,
        uint16 market,
        int256 size
    ) external view returns (uint256 price, uint256 oraclePrice);
}
