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
import {IOracleRouter} from "../interfaces/IOracleRouter.sol";
import {IRiskEngine} from "../interfaces/IRiskEngine.sol";
import {BucketId} from "../libraries/BucketId.sol";

/// @title ExecutionEngine
/// @notice Signed orders and their matched settlement. See {IExecutionEngine}.
/// @dev Holds the EXECUTOR role on the clearing house; holds no funds. Roles: GUARDIAN pauses risk-increasing
/// trades, ADMIN resumes them.
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
        uint8 tier;
        uint16 market;
        uint256 price;
        int256 takerSize;
        int256 takerPosition;
        int256 makerPosition;
        bool onlyReduces;
    }

    uint256 private constant WAD = 1e18;
    uint256 private constant BPS = 10_000;

    IClearingHouse public immutable CLEARING;
    IOracleRouter public immutable ORACLE;
    IRiskEngine public immutable RISK;

    mapping(bytes32 digest => uint256) private _filled;
    mapping(bytes32 digest => bool) private _cancelled;
    mapping(address owner => uint256) private _minNonce;
    bool private _riskIncreasePaused;

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
        if (_riskIncreasePaused && !x.onlyReduces) revert ExecutionRiskIncreasePaused();

        IRiskEngine.MarketRisk memory risk = RISK.marketRisk(x.tier, x.market);
        if (risk.ratios.imr == 0) revert IRiskEngine.RiskMarketNotInTier(x.tier, x.market);
        _requireOpenInterest(x, risk.oiCap);
        // Risk-increasing trades need a good price; trades that only reduce execute on any available one.
        _requireInBand(x.market, x.price, risk.priceBandBps, !x.onlyReduces);

        // Rounding: down for the notional, up for the fees owed to the protocol.
        uint256 notional = Math.mulDiv(size, x.price, WAD);
        uint256 makerFee = Math.mulDiv(notional, risk.makerFeeBps, BPS, Math.Rounding.Ceil);
        uint256 takerFee = Math.mulDiv(notional, risk.takerFeeBps, BPS, Math.Rounding.Ceil);
        emit OrdersMatched(x.makerDigest, x.takerDigest, msg.sender, x.takerSize, x.price, makerFee, takerFee);
        CLEARING.applyFill(
            IClearingHouse.Fill({
                taker: taker.order.account,
                maker: maker.order.account,
                market: x.market,
                size: x.takerSize,
                price: x.price,
                takerFee: takerFee,
                makerFee: makerFee
            })
        );
    }

    // ================================================================ governance

    /// @inheritdoc IExecutionEngine
    function pauseRiskIncrease() external restricted {
        _riskIncreasePaused = true;
        emit RiskIncreasePausedSet(true);
    }

    /// @inheritdoc IExecutionEngine
    function unpauseRiskIncrease() external restricted {
        _riskIncreasePaused = false;
        emit RiskIncreasePausedSet(false);
    }

    // ================================================================ cancellation

    /// @inheritdoc IExecutionEngine
    function cancel(Order calldata order) external {
        bytes32 digest = _digest(order);
        address owner = order.account.owner();
        if (msg.sender != owner && !CLEARING.isOperator(owner, msg.sender)) {
            revert ExecutionUnauthorizedCancel(digest, msg.sender);
        }
        _cancelled[digest] = true;
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
        return _filled[digest];
    }

    /// @inheritdoc IExecutionEngine
    function cancelled(bytes32 digest) external view returns (bool) {
        return _cancelled[digest];
    }

    /// @inheritdoc IExecutionEngine
    function minNonce(address owner) external view returns (uint256) {
        return _minNonce[owner];
    }

    /// @inheritdoc IExecutionEngine
    function riskIncreasePaused() external view returns (bool) {
        return _riskIncreasePaused;
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
        if (_cancelled[digest] || o.nonce < min) revert ExecutionOrderCancelled(digest, min);
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

        _fill(x.makerDigest, m, size);
        _fill(x.takerDigest, t, size);
        x.takerSize = takerBuys ? size.toInt256() : -size.toInt256();
        bool makerReduces;
        bool takerReduces;
        (makerReduces, x.makerPosition) = _reduces(x.makerDigest, m, -x.takerSize);
        (takerReduces, x.takerPosition) = _reduces(x.takerDigest, t, x.takerSize);
        x.onlyReduces = makerReduces && takerReduces;
    }

    /// @dev Records `size` more of the order filled; never beyond its size.
    function _fill(bytes32 digest, Order calldata o, uint256 size) private {
        uint256 done = _filled[digest];
        uint256 remaining = SignedMath.abs(o.size) - done; // done <= |size|, kept by this check
        if (size > remaining) revert ExecutionOverfill(digest, remaining, size);
        _filled[digest] = done + size;
        emit OrderFilled(digest, o.account, done + size);
    }

    /// @dev Whether a fill of signed `fill` only reduces the order's account position (never opens, increases
    /// or flips it). A reduce-only order that would not reduce is refused.
    function _reduces(
        bytes32 digest,
        Order calldata o,
        int256 fill
    ) private view returns (bool reduces, int256 position) {
        position = CLEARING.position(o.account, o.market).size;
        reduces = position != 0 && (position > 0) != (fill > 0) && SignedMath.abs(fill) <= SignedMath.abs(position);
        if (o.reduceOnly && !reduces) revert ExecutionNotReducing(digest, position, fill);
    }

    /// @dev A fill that raises the tier's open interest (Σ long sizes) may not take it above `cap`; a fill that
    /// keeps or lowers it always passes (exits are never blocked by the cap).
    function _requireOpenInterest(Match memory x, uint256 cap) private view {
        int256 rise =
            _longs(x.takerPosition + x.takerSize) -
                _longs(x.takerPosition) +
                _longs(x.makerPosition - x.takerSize) -
                _longs(x.makerPosition);
        if (rise <= 0) return;
        uint256 openInterest = CLEARING.openInterest(x.tier, x.market) + uint256(rise);
        if (openInterest > cap) revert ExecutionOpenInterestCap(x.tier, x.market, openInterest, cap);
    }

    function _longs(int256 size) private pure returns (int256) {
        return size > 0 ? size : int256(0);
    }

    /// @dev `price` must lie within `bandBps` of the oracle's mid price: the strict read when `strict`, otherwise
    /// the liquidation read (any available price).
    function _requireInBand(uint16 market, uint256 price, uint256 bandBps, bool strict) private view {
        bytes32 asset = RISK.marketOracleAsset(market);
        uint256 mid = strict ? ORACLE.getPrice(asset).price : ORACLE.getPriceForLiquidation(asset).price;
        // Rounding: down — the band is never wider than configured.
        uint256 allowed = Math.mulDiv(mid, bandBps, BPS);
        uint256 distance = price > mid ? price - mid : mid - price;
        if (mid == 0 || distance > allowed) revert ExecutionPriceOutsideBand(price, mid, bandBps);
    }
}
