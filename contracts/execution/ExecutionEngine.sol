// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {SignedMath} from "@openzeppelin/contracts/utils/math/SignedMath.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IClearingHouse} from "../interfaces/IClearingHouse.sol";
import {IExecutionEngine} from "../interfaces/IExecutionEngine.sol";
import {IOracleRouter, PriceFlags} from "../interfaces/IOracleRouter.sol";
import {IRiskEngine} from "../interfaces/IRiskEngine.sol";
import {BucketId, BucketIdLib} from "../libraries/BucketId.sol";
import {PoolPricing} from "../libraries/PoolPricing.sol";
import {PositionMath} from "../libraries/PositionMath.sol";

/// @title ExecutionEngine
/// @notice Signed orders, their matched settlement, and trades against each tier's pool. See {IExecutionEngine}.
/// @dev A registered executor of the clearing house (and holder of its EXECUTOR role); holds no funds. Roles:
/// GUARDIAN pauses risk-increasing trades, ADMIN resumes them and sets the fee split.
contract ExecutionEngine is IExecutionEngine, AccessManaged, EIP712, ReentrancyGuardTransient {
    using SafeCast for uint256;

    /// @notice The EIP-712 type of {IExecutionEngine-Order} (the account as its uint256 bucket id).
    bytes32 public constant ORDER_TYPEHASH = keccak256(
        abi.encodePacked(
            "Order(uint256 account,uint16 market,int256 size,uint256 limitPrice,bool reduceOnly,",
            "uint64 expiry,uint256 nonce)"
        )
    );

    /// @dev Two validated, crossing orders and the fill between them.
    struct Match {
        bytes32 makerDigest;
        bytes32 takerDigest;
        BucketId maker;
        BucketId taker;
        uint8 tier;
        uint16 market;
        uint256 price;
        int256 takerSize;
        int256 takerPosition;
        int256 makerPosition;
        uint256 openInterest;
        bool onlyReduces;
        uint256 makerFee;
        uint256 takerFee;
    }

    /// @dev One pool trade as priced.
    struct PoolQuote {
        uint8 tier;
        BucketId poolAccount;
        int256 position;
        int256 poolPosition;
        uint256 openInterest;
        bool increases;
        uint256 price;
        uint256 mid;
        IRiskEngine.TradeParams params;
    }

    /// @dev The fee split, the pause flag and the pool's spread floor, in one word (every trade reads it).
    struct Config {
        address treasury;
        uint16 poolShareBps;
        uint16 protocolShareBps;
        bool riskIncreasePaused;
        uint16 minPoolSpreadBps;
    }

    uint256 private constant WAD = 1e18;
    uint256 private constant BPS = 10_000;
    /// @dev The flag of a cancelled order in {_orders}; an order's size, and so its fill, is below 2^255.
    uint256 private constant CANCELLED = 1 << 255;
    /// @notice The largest size of one pool trade (base WAD): 2^96 − 1, far above any open-interest cap.
    uint256 public constant MAX_POOL_TRADE = PoolPricing.MAX_SIZE;
    /// @notice The largest floor of the pool's spread (bps).
    uint256 public constant MAX_POOL_SPREAD = 1_000;
    /// @dev Flags of a price that may lag the market by more than its band: an exit to the pool on it is priced
    /// at the asset's widest band (the pool cannot know the price; a trader who can would take the difference).
    /// The sequencer's grace period counts: no round could land while it was down, so the price may predate
    /// the outage however fresh its age looks.
    uint256 private constant UNRELIABLE =
        PriceFlags.STALE |
            PriceFlags.PRIMARY_FAILED |
            PriceFlags.OUT_OF_BOUNDS |
            PriceFlags.FALLBACK_LAST_GOOD |
            PriceFlags.SEQUENCER_DOWN |
            PriceFlags.SEQUENCER_GRACE;

    IClearingHouse public immutable CLEARING;
    IOracleRouter public immutable ORACLE;
    IRiskEngine public immutable RISK;

    /// @dev Per order: the base size filled, with {CANCELLED} set once cancelled (one word per order).
    mapping(bytes32 digest => uint256) private _orders;
    mapping(address owner => uint256) private _minNonce;
    Config private _config;

    constructor(
        address authority,
        IClearingHouse clearing,
        IOracleRouter oracle,
        IRiskEngine risk
    ) AccessManaged(authority) EIP712("Strata Execution", "1") {
        CLEARING = clearing;
        ORACLE = oracle;
        RISK = risk;
    }

    // ================================================================ settlement

    /// @inheritdoc IExecutionEngine
    function settleMatch(SignedOrder calldata maker, SignedOrder calldata taker, uint256 size) external nonReentrant {
        if (size == 0) revert ExecutionZeroSize();
        Match memory x = _match(maker, taker, size);
        Config memory c = _config;
        if (c.riskIncreasePaused && !x.onlyReduces) revert ExecutionRiskIncreasePaused();

        IRiskEngine.TradeParams memory tp = RISK.tradeParams(x.tier, x.market);
        _requireOpenInterest(x.tier, x.market, x.takerPosition, x.makerPosition, x.takerSize, x.openInterest, tp.oiCap);

        // Rounding: down for the notional, up for the fees owed to the protocol.
        uint256 notional = Math.mulDiv(size, x.price, WAD);
        x.makerFee = Math.mulDiv(notional, tp.makerFeeBps, BPS, Math.Rounding.Ceil);
        x.takerFee = Math.mulDiv(notional, tp.takerFeeBps, BPS, Math.Rounding.Ceil);
        emit OrdersMatched(x.makerDigest, x.takerDigest, msg.sender, x.takerSize, x.price, x.makerFee, x.takerFee);
        _settle(c, x, tp);
    }

    /// @dev Applies the match's fill, then the band and leverage checks on what the clearing house read.
    function _settle(Config memory c, Match memory x, IRiskEngine.TradeParams memory tp) private {
        (int256 takerEquity, int256 makerEquity, uint256 mid) = CLEARING.applyFill(
            _fill(c, x.taker, x.maker, x.market, x.takerSize, x.price, x.takerFee, x.makerFee)
        );
        // The band around the oracle price of the clearing house's read: the strict read whenever a side's risk
        // grows (it reverts unless the price is good), otherwise any available price.
        _requireInBand(x.price, mid, tp.priceBandBps);
        uint256 mark = Math.max(x.price, mid);
        _requireLeverage(x.taker, x.takerPosition, x.takerSize, mark, takerEquity, tp.maxLeverage);
        _requireLeverage(x.maker, x.makerPosition, -x.takerSize, mark, makerEquity, tp.maxLeverage);
    }

    /// @inheritdoc IExecutionEngine
    function tradeWithPool(
        BucketId account,
        uint16 market,
        int256 size,
        uint256 acceptablePrice,
        bool reduceOnly
    ) external nonReentrant returns (uint256 price, uint256 fee) {
        address owner = account.owner();
        if (msg.sender != owner && !CLEARING.isOperator(owner, msg.sender)) {
            revert ExecutionUnauthorizedTrader(account, msg.sender);
        }
        // The clearing house reads the price strictly for a trade that adds risk, and reverts unless it is good;
        // pricing on the liquidation read here spares a second strict read (the two agree on a good price).
        Config memory c = _config;
        PoolQuote memory q = _quotePool(account, market, size, false, c.minPoolSpreadBps);
        if (reduceOnly && q.increases) revert ExecutionNotReducing(bytes32(0), q.position, size);
        if (c.riskIncreasePaused && q.increases) revert ExecutionRiskIncreasePaused();
        price = q.price;
        if (size > 0 ? price > acceptablePrice : price < acceptablePrice) {
            revert ExecutionAcceptablePriceExceeded(price, acceptablePrice);
        }
        _requireOpenInterest(q.tier, market, q.position, q.poolPosition, size, q.openInterest, q.params.oiCap);

        // Rounding: down for the notional, up for the fee owed to the protocol.
        fee = Math.mulDiv(Math.mulDiv(SignedMath.abs(size), price, WAD), q.params.takerFeeBps, BPS, Math.Rounding.Ceil);
        emit PoolTraded(account, market, size, price, q.mid, fee);
        (int256 equity, , ) = CLEARING.applyFill(_fill(c, account, q.poolAccount, market, size, price, fee, 0));
        _requireLeverage(account, q.position, size, Math.max(price, q.mid), equity, q.params.maxLeverage);
    }

    // ================================================================ governance

    /// @inheritdoc IExecutionEngine
    function pauseRiskIncrease() external restricted {
        _config.riskIncreasePaused = true;
        emit RiskIncreasePausedSet(true);
    }

    /// @inheritdoc IExecutionEngine
    function unpauseRiskIncrease() external restricted {
        _config.riskIncreasePaused = false;
        emit RiskIncreasePausedSet(false);
    }

    /// @inheritdoc IExecutionEngine
    function setPoolSpread(uint16 minPoolSpreadBps) external restricted {
        if (minPoolSpreadBps > MAX_POOL_SPREAD) revert ExecutionInvalidPoolSpread(minPoolSpreadBps, MAX_POOL_SPREAD);
        _config.minPoolSpreadBps = minPoolSpreadBps;
        emit PoolSpreadSet(minPoolSpreadBps);
    }

    /// @inheritdoc IExecutionEngine
    function setFeeConfig(address treasury, uint16 poolShareBps, uint16 protocolShareBps) external restricted {
        if (uint256(poolShareBps) + protocolShareBps > BPS || (protocolShareBps != 0 && treasury == address(0))) {
            revert ExecutionInvalidFeeConfig(treasury, poolShareBps, protocolShareBps);
        }
        (_config.treasury, _config.poolShareBps, _config.protocolShareBps) = (treasury, poolShareBps, protocolShareBps);
        emit FeeConfigSet(treasury, poolShareBps, protocolShareBps);
    }

    // ================================================================ cancellation

    /// @inheritdoc IExecutionEngine
    function cancel(Order calldata order) external {
        bytes32 digest = _digest(order);
        address owner = order.account.owner();
        if (msg.sender != owner && !CLEARING.isOperator(owner, msg.sender)) {
            revert ExecutionUnauthorizedCancel(digest, msg.sender);
        }
        _orders[digest] |= CANCELLED;
        emit OrderCancelled(digest, msg.sender);
    }

    /// @inheritdoc IExecutionEngine
    function setMinNonce(uint256 minNonce_) external {
        uint256 current = _minNonce[msg.sender];
        if (minNonce_ <= current) revert ExecutionNonceNotIncreasing(current, minNonce_);
        _minNonce[msg.sender] = minNonce_;
        emit MinNonceSet(msg.sender, minNonce_);
    }

    // ================================================================ views

    /// @inheritdoc IExecutionEngine
    function orderDigest(Order calldata order) external view returns (bytes32) {
        return _digest(order);
    }

    /// @inheritdoc IExecutionEngine
    function filled(bytes32 digest) external view returns (uint256) {
        return _orders[digest] & ~CANCELLED;
    }

    /// @inheritdoc IExecutionEngine
    function cancelled(bytes32 digest) external view returns (bool) {
        return _orders[digest] & CANCELLED != 0;
    }

    /// @inheritdoc IExecutionEngine
    function minNonce(address owner) external view returns (uint256) {
        return _minNonce[owner];
    }

    /// @inheritdoc IExecutionEngine
    function riskIncreasePaused() external view returns (bool) {
        return _config.riskIncreasePaused;
    }

    /// @inheritdoc IExecutionEngine
    function feeConfig() external view returns (address treasury, uint16 poolShareBps, uint16 protocolShareBps) {
        Config memory c = _config;
        return (c.treasury, c.poolShareBps, c.protocolShareBps);
    }

    /// @inheritdoc IExecutionEngine
    function minPoolSpread() external view returns (uint256) {
        return _config.minPoolSpreadBps;
    }

    /// @inheritdoc IExecutionEngine
    function quotePoolTrade(
        BucketId account,
        uint16 market,
        int256 size
    ) external view returns (uint256 price, uint256 oraclePrice) {
        PoolQuote memory q = _quotePool(account, market, size, true, _config.minPoolSpreadBps);
        return (q.price, q.mid);
    }

    // ================================================================ internals

    function _digest(Order calldata o) private view returns (bytes32) {
        return
            _hashTypedDataV4(
                keccak256(
                    abi.encode(
                        ORDER_TYPEHASH,
                        BucketId.unwrap(o.account),
                        o.market,
                        o.size,
                        o.limitPrice,
                        o.reduceOnly,
                        o.expiry,
                        o.nonce
                    )
                )
            );
    }

    /// @dev An order that may fill now: non-zero, unexpired, not cancelled, signed by its account's owner or
    /// an operator for this chain and engine. Returns its digest.
    function _validate(SignedOrder calldata so) private view returns (bytes32 digest) {
        Order calldata o = so.order;
        digest = _digest(o);
        if (o.size == 0) revert ExecutionZeroSize();
        if (block.timestamp > o.expiry) revert ExecutionOrderExpired(digest, o.expiry);
        address owner = o.account.owner();
        uint256 min = _minNonce[owner];
        if (_orders[digest] & CANCELLED != 0 || o.nonce < min) revert ExecutionOrderCancelled(digest, min);
        if (so.signer != owner && !CLEARING.isOperator(owner, so.signer)) {
            revert ExecutionUnauthorizedSigner(digest, so.signer);
        }
        // ECDSA for an EOA, EIP-1271 (a static call) for a contract; the digest binds chain and engine.
        if (!SignatureChecker.isValidSignatureNow(so.signer, digest, so.signature)) {
            revert ExecutionInvalidSignature(digest, so.signer);
        }
    }

    /// @dev Validates both orders, that they cross in one tier and market between two owners, records `size`
    /// filled on each, and checks reduce-only sides against the positions before the fill.
    function _match(
        SignedOrder calldata maker,
        SignedOrder calldata taker,
        uint256 size
    ) private returns (Match memory x) {
        x.makerDigest = _validate(maker);
        x.takerDigest = _validate(taker);
        Order calldata m = maker.order;
        Order calldata t = taker.order;
        x.maker = m.account;
        x.taker = t.account;
        x.tier = m.account.tier();
        x.market = m.market;
        if (t.market != x.market || t.account.tier() != x.tier || (m.size > 0) == (t.size > 0)) {
            revert ExecutionOrdersMismatch(x.makerDigest, x.takerDigest);
        }
        if (m.account.owner() == t.account.owner()) revert ExecutionSelfTrade(m.account.owner());
        // At the maker's price, which the taker's limit must reach.
        x.price = m.limitPrice;
        bool takerBuys = t.size > 0;
        if (takerBuys ? t.limitPrice < x.price : t.limitPrice > x.price) {
            revert ExecutionOrdersDoNotCross(x.price, t.limitPrice);
        }

        _recordFill(x.makerDigest, m, size);
        _recordFill(x.takerDigest, t, size);
        x.takerSize = takerBuys ? size.toInt256() : -size.toInt256();
        (x.takerPosition, x.makerPosition, x.openInterest) = CLEARING.tradeState(t.account, m.account, x.market);
        bool makerReduces = _reduces(x.makerDigest, m, x.makerPosition, -x.takerSize);
        bool takerReduces = _reduces(x.takerDigest, t, x.takerPosition, x.takerSize);
        x.onlyReduces = makerReduces && takerReduces;
    }

    /// @dev Records `size` more of the order filled; never beyond its size.
    function _recordFill(bytes32 digest, Order calldata o, uint256 size) private {
        // Not cancelled (checked in {_validate}): the word is the fill.
        uint256 done = _orders[digest];
        uint256 remaining = SignedMath.abs(o.size) - done; // done <= |size|, kept by this check
        if (size > remaining) revert ExecutionOverfill(digest, remaining, size);
        _orders[digest] = done + size;
        emit OrderFilled(digest, o.account, done + size);
    }

    /// @dev Whether a fill of signed `fill` only reduces the order's account position (never opens, increases
    /// or flips it). A reduce-only order that would not reduce is refused.
    function _reduces(
        bytes32 digest,
        Order calldata o,
        int256 position,
        int256 fill
    ) private pure returns (bool reduces) {
        reduces = !PositionMath.increases(position, fill);
        if (o.reduceOnly && !reduces) revert ExecutionNotReducing(digest, position, fill);
    }

    /// @dev A fill that raises the tier's open interest (Σ long sizes) may not take it above `cap`; a fill that
    /// keeps or lowers it always passes (exits are never blocked by the cap).
    function _requireOpenInterest(
        uint8 tier,
        uint16 market,
        int256 takerPosition,
        int256 makerPosition,
        int256 takerSize,
        uint256 openInterest,
        uint256 cap
    ) private pure {
        int256 rise =
            _longs(takerPosition + takerSize) -
                _longs(takerPosition) +
                _longs(makerPosition - takerSize) -
                _longs(makerPosition);
        if (rise <= 0) return;
        openInterest += uint256(rise);
        if (openInterest > cap) revert ExecutionOpenInterestCap(tier, market, openInterest, cap);
    }

    function _longs(int256 size) private pure returns (int256) {
        return size > 0 ? size : int256(0);
    }

    /// @dev A side whose risk grew may hold at most `maxLeverage` × its equity in notional: its position after
    /// the fill, valued at the fill price (rounded up).
    function _requireLeverage(
        BucketId account,
        int256 position,
        int256 fill,
        uint256 price,
        int256 equity,
        uint256 maxLeverage
    ) private pure {
        if (!PositionMath.increases(position, fill)) return;
        uint256 notional = PositionMath.notionalUp(position + fill, price);
        if (equity <= 0 || notional > uint256(equity) * maxLeverage) {
            revert ExecutionLeverageExceeded(account, notional, equity, maxLeverage);
        }
    }

    /// @dev The oracle's price of `asset`: the strict read when `strict`, otherwise the liquidation read (any
    /// available price).
    function _read(bytes32 asset, bool strict) private view returns (IOracleRouter.Price memory p) {
        p = strict ? ORACLE.getPrice(asset) : ORACLE.getPriceForLiquidation(asset);
        if (p.flags & PriceFlags.UNAVAILABLE != 0 || p.price == 0) revert ExecutionPriceUnavailable(asset);
    }

    /// @dev `price` must lie within `bandBps` of the oracle's `mid`.
    function _requireInBand(uint256 price, uint256 mid, uint256 bandBps) private pure {
        // Rounding: down — the band is never wider than configured.
        uint256 allowed = Math.mulDiv(mid, bandBps, BPS);
        uint256 distance = price > mid ? price - mid : mid - price;
        if (distance > allowed) revert ExecutionPriceOutsideBand(price, mid, bandBps);
    }

    /// @dev A pool trade of `size` for `account`, priced now (see {IExecutionEngine-tradeWithPool}).
    /// @dev `strictIfIncreasing`: a trade that adds risk is priced on the strict read (which reverts unless the
    /// price is good), otherwise on the liquidation read.
    function _quotePool(
        BucketId account,
        uint16 market,
        int256 size,
        bool strictIfIncreasing,
        uint256 minSpreadBps
    ) private view returns (PoolQuote memory q) {
        if (size == 0) revert ExecutionZeroSize();
        if (SignedMath.abs(size) > MAX_POOL_TRADE) revert ExecutionSizeTooLarge(size, MAX_POOL_TRADE);
        q.tier = account.tier();
        address pool = CLEARING.pool(q.tier);
        if (pool == address(0)) revert ExecutionNoPool(q.tier);
        q.poolAccount = BucketIdLib.account(pool, q.tier, 0);
        if (BucketId.unwrap(account) == BucketId.unwrap(q.poolAccount)) revert ExecutionPoolSelfTrade(account);
        q.params = RISK.tradeParams(q.tier, market);
        (q.position, q.poolPosition, q.openInterest) = CLEARING.tradeState(account, q.poolAccount, market);
        q.increases = PositionMath.increases(q.position, size);

        IOracleRouter.Price memory p = _read(q.params.oracleAsset, strictIfIncreasing && q.increases);
        // A trade that adds risk on a price that is not good fails with the oracle's own reason.
        if (q.increases && p.flags != 0) p = _read(q.params.oracleAsset, true);
        q.mid = p.price;
        bool buys = size > 0;
        // The conservative side of the band, at least the spread floor (see the interface: front-running); on a
        // price that may lag the market (only exits trade on one), the asset's widest band. Then the skew impact.
        if (p.flags & UNRELIABLE != 0) {
            minSpreadBps = Math.max(minSpreadBps, ORACLE.assetConfig(q.params.oracleAsset).maxConfidenceBps);
        }
        // Rounding: up — the spread is never narrower than its floor.
        uint256 spread = Math.min(Math.mulDiv(q.mid, minSpreadBps, BPS, Math.Rounding.Ceil), q.mid);
        uint256 base = buys ? Math.max(p.upper, q.mid + spread) : Math.min(p.lower, q.mid - spread);
        q.price = PoolPricing.impacted(base, -q.poolPosition, size, q.params.skewScale);
        // Rounding: down — the band is never wider than configured.
        uint256 allowed = Math.mulDiv(q.mid, q.params.priceBandBps, BPS);
        if (q.increases) {
            // A trade that adds risk must fit in the band: the pool takes no more skew than the band prices.
            _requireInBand(q.price, q.mid, q.params.priceBandBps);
        } else if (buys) {
            // An exit always executes: its impact stops at the band's edge, never better than the band's side.
            q.price = Math.max(base, Math.min(q.price, q.mid + allowed));
        } else {
            q.price = Math.min(base, Math.max(q.price, q.mid - allowed));
        }
    }

    /// @dev The clearing-house fill of `size` for `taker` against `maker`, with the fees split by the config.
    function _fill(
        Config memory c,
        BucketId taker,
        BucketId maker,
        uint16 market,
        int256 size,
        uint256 price,
        uint256 takerFee,
        uint256 makerFee
    ) private pure returns (IClearingHouse.Fill memory f) {
        uint256 fees = takerFee + makerFee;
        uint8 tier = taker.tier();
        // Rounding: down for the pool's and the protocol's shares; the insurance fund gets the rest.
        f = IClearingHouse.Fill({
            taker: taker,
            maker: maker,
            market: market,
            size: size,
            price: price,
            takerFee: takerFee,
            makerFee: makerFee,
            poolFee: Math.mulDiv(fees, c.poolShareBps, BPS),
            protocolFee: Math.mulDiv(fees, c.protocolShareBps, BPS),
            protocol: c.treasury == address(0) ? BucketId.wrap(0) : BucketIdLib.account(c.treasury, tier, 0)
        });
    }
}
