// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MockV3Aggregator} from "@chainlink/contracts/src/v0.8/tests/MockV3Aggregator.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SignedMath} from "@openzeppelin/contracts/utils/math/SignedMath.sol";

import {ClearingHouse} from "../../../contracts/clearing/ClearingHouse.sol";
import {ExecutionEngine} from "../../../contracts/execution/ExecutionEngine.sol";
import {IClearingHouse} from "../../../contracts/interfaces/IClearingHouse.sol";
import {IExecutionEngine} from "../../../contracts/interfaces/IExecutionEngine.sol";
import {IRiskEngine} from "../../../contracts/interfaces/IRiskEngine.sol";
import {BucketId, BucketIdLib} from "../../../contracts/libraries/BucketId.sol";
import {MockERC20} from "../../../contracts/mocks/MockERC20.sol";
import {OracleRouter} from "../../../contracts/oracle/OracleRouter.sol";
import {CollateralVault} from "../../../contracts/vault/CollateralVault.sol";
import {TestBase} from "../utils/TestBase.sol";

/// @notice Drives an ExecutionEngine wired into a ClearingHouse (it holds EXECUTOR there) with EIP-712 orders
/// signed by traders whose addresses derive from fixed private keys. Every trader owns account subId 0 in
/// each tier. The handler is the relayer: it signs both orders of a match and calls `settleMatch`.
/// @dev The runner ignores handler reverts (failOnRevert = false), so the handler never asserts by reverting:
/// protocol calls run in try/catch; refusals the spec allows are counted in `calls[...]` pseudo-selectors,
/// anything else in the public `fail*` counters (with the revert data kept) that the invariants require to
/// stay zero. Ghost: the base size the handler got settled per order digest (`ghostFilled`), checked
/// against `engine.filled` and the order's |size|.
// One ghost or failure counter per property checked: more state than a production contract.
// solhint-disable-next-line max-states-count
contract ExecutionHandler is TestBase {
    uint16 public constant MARKET = 1;
    uint256 public constant TRADERS = 4;
    uint256 internal constant MIN_SIZE = 1e15;
    uint256 internal constant MAX_DEPOSIT = 100_000e6;
    uint256 internal constant PPM = 1e6;
    /// Largest distance of a maker price from the strict oracle mid: 0.99% (the tiers' band is 1%).
    uint256 internal constant MAX_PRICE_OFFSET_PPM = 9_900;
    int256 internal constant MIN_ANSWER = 200e8;
    int256 internal constant MAX_ANSWER = 20_000e8;
    uint256 internal constant MAX_MOVE_BPS = 500;
    uint256 internal constant HEARTBEAT = 1 days;
    uint256 internal constant ORDER_LIFETIME = 365 days;
    int256 internal constant WAD = 1e18;

    /// Pseudo-selectors counting refusals the spec allows (reported, never failures).
    bytes4 public constant MARGIN_REFUSAL = bytes4("IMrf");
    bytes4 public constant OI_REFUSAL = bytes4("OIrf");
    bytes4 public constant DEBT_REFUSAL = bytes4("DBrf");
    bytes4 public constant MIN_NONCE_PATH = bytes4("MNnc");

    ExecutionEngine public immutable engine;
    ClearingHouse public immutable clearing;
    CollateralVault public immutable vault;
    OracleRouter public immutable oracle;
    IRiskEngine public immutable risk;
    MockERC20 public immutable quote;
    MockV3Aggregator public immutable feed;
    bytes32 public immutable asset;
    uint8 public immutable tiers;

    uint256[TRADERS] internal _keys;
    address[TRADERS] internal _traders;
    uint256 public currentTime;
    mapping(address owner => uint256) public nextNonce;

    // ------------------------------------------------------------ ghosts

    /// Every order digest the handler got settled at least once (or signed for the cancel path).
    bytes32[] public digests;
    mapping(bytes32 digest => bool) internal _known;
    /// Base size settled by the handler per digest, and the order's |size|.
    mapping(bytes32 digest => uint256) public ghostFilled;
    mapping(bytes32 digest => uint256) public orderAbsSize;
    /// Orders signed by the handler (for the cancel path), with their signer's trader index.
    IExecutionEngine.Order[] internal _orders;
    uint256[] internal _orderSigner;

    // ------------------------------------------------------------ failure counters (must stay zero)

    /// A call reverted with an error the spec does not allow for it.
    uint256 public failUnexpectedRevert;
    /// A margin refusal named a side that was not in the match, or whose equity met its requirement, or a
    /// reducing side not in debt; or a risk-increasing side ended a settled match below IM.
    uint256 public failMargin;
    /// An open-interest refusal whose figures do not hold (OI after the fill not above the cap, or not the
    /// rise the positions imply).
    uint256 public failOpenInterest;
    /// A match of two reduce-only orders of opposite positions was refused for anything but a side in debt.
    uint256 public failReduceRefused;
    /// A cancelled order (alone or by min nonce) was not refused with ExecutionOrderCancelled(digest, min).
    uint256 public failCancelNotEnforced;
    /// A settled match did not move both accounts' positions by the fill (taker by ±size, maker opposite).
    uint256 public failPositionDelta;
    bytes public lastUnexpectedRevert;

    /// Calls per action that took effect, and allowed refusals.
    mapping(bytes4 selector => uint256) public calls;

    /// @dev One match, as chosen by the handler.
    struct MatchArgs {
        uint256 makerIndex;
        uint256 takerIndex;
        IExecutionEngine.Order maker;
        IExecutionEngine.Order taker;
        uint256 fill;
    }

    constructor(
        ExecutionEngine engine_,
        ClearingHouse clearing_,
        CollateralVault vault_,
        OracleRouter oracle_,
        IRiskEngine risk_,
        MockERC20 quote_,
        MockV3Aggregator feed_,
        bytes32 asset_,
        uint8 tiers_
    ) {
        engine = engine_;
        clearing = clearing_;
        vault = vault_;
        oracle = oracle_;
        risk = risk_;
        quote = quote_;
        feed = feed_;
        asset = asset_;
        tiers = tiers_;
        for (uint256 i; i < TRADERS; ++i) {
            _keys[i] = 0xA11CE + i;
            _traders[i] = VM.addr(_keys[i]);
        }
        currentTime = block.timestamp;
    }

    // ================================================================ actions

    /// @notice A trader deposits quote into its account of a random tier (as the ClearingHandler funds).
    function depositNoRevert(uint256 tierSeed, uint256 traderSeed, uint256 amountSeed) public {
        _syncTime();
        BucketId account = accountOf(traderSeed % TRADERS, _tier(tierSeed));
        address owner = account.owner();
        uint256 amount = bound(amountSeed, 1e6, MAX_DEPOSIT);
        quote.mint(owner, amount);
        VM.startPrank(owner);
        quote.approve(address(vault), amount);
        try vault.deposit(address(quote), amount, account) {
            ++calls[this.depositNoRevert.selector];
        } catch (bytes memory err) {
            _unexpected(err);
        }
        VM.stopPrank();
    }

    /// @notice Two traders of one tier sign crossing orders (the maker's price within the band around the
    /// strict oracle mid, the taker's limit at or beyond it) and a random part is settled. Sizes mostly stay
    /// within half the tighter side's IM headroom; one match in eight aims up to 1.5 times it. Allowed
    /// refusals: ClearingInsufficientMargin of a side that increases (equity < IM) or reduces into debt
    /// (equity < 0, requirement 0), and ExecutionOpenInterestCap with consistent figures.
    function settleRandomMatch(
        uint256 tierSeed,
        uint256 makerSeed,
        uint256 takerSeed,
        uint256 sizeSeed,
        uint256 priceSeed,
        uint256 fillSeed
    ) public {
        _syncTime();
        uint8 tier = _tier(tierSeed);
        MatchArgs memory m;
        m.makerIndex = makerSeed % TRADERS;
        m.takerIndex = (m.makerIndex + 1 + (takerSeed % (TRADERS - 1))) % TRADERS;
        uint256 price = _makerPrice(priceSeed);
        uint256 cap = Math.min(
            _maxIncrease(accountOf(m.makerIndex, tier), price),
            _maxIncrease(accountOf(m.takerIndex, tier), price)
        );
        cap = (sizeSeed >> 1) & 7 == 7 ? (cap * 3) / 2 : cap / 2;
        uint256 magnitude = bound(sizeSeed >> 4, MIN_SIZE, Math.max(cap, MIN_SIZE));
        bool takerBuys = sizeSeed & 1 == 0;
        m.maker = _newOrder(m.makerIndex, tier, takerBuys ? -int256(magnitude) : int256(magnitude), price, false);
        // The taker's limit reaches the maker's price, up to 0.5% beyond it.
        uint256 slack = Math.mulDiv(price, (priceSeed >> 128) % 5_000, PPM);
        m.taker = _newOrder(
            m.takerIndex,
            tier,
            takerBuys ? int256(magnitude) : -int256(magnitude),
            takerBuys ? price + slack : price - slack,
            false
        );
        m.fill = bound(fillSeed, 1, magnitude);
        _remember(m.maker, m.makerIndex);
        _remember(m.taker, m.takerIndex);
        _settleAllowingRefusals(m);
    }

    /// @notice Two accounts of one tier with opposite positions sign reduce-only orders and settle a part of
    /// the smaller position, at a price within 0.99% of the mid. Must go through unless a side would end in
    /// debt: ClearingInsufficientMargin(side, equity < 0, 0).
    function settleReduceOnlyMatch(uint256 tierSeed, uint256 pairSeed, uint256 sizeSeed, uint256 priceSeed) public {
        _syncTime();
        bool found;
        MatchArgs memory m;
        uint8 tier;
        for (uint256 k; k < tiers && !found; ++k) {
            tier = _tier(tierSeed + k);
            (found, m.makerIndex, m.takerIndex) = _oppositePair(tier, pairSeed);
        }
        if (!found) return;
        int256 makerSize = _size(accountOf(m.makerIndex, tier));
        int256 takerSize = _size(accountOf(m.takerIndex, tier));
        uint256 most = Math.min(SignedMath.abs(makerSize), SignedMath.abs(takerSize));
        uint256 magnitude = bound(sizeSeed, 1, most);
        uint256 price = _makerPrice(priceSeed);
        m.maker = _newOrder(m.makerIndex, tier, makerSize > 0 ? -int256(magnitude) : int256(magnitude), price, true);
        m.taker = _newOrder(m.takerIndex, tier, takerSize > 0 ? -int256(magnitude) : int256(magnitude), price, true);
        m.fill = magnitude;
        _remember(m.maker, m.makerIndex);
        _remember(m.taker, m.takerIndex);
        (bool ok, bytes memory err) = _settle(m);
        if (ok) {
            ++calls[this.settleReduceOnlyMatch.selector];
        } else if (_refusedForDebt(err, m)) {
            ++calls[DEBT_REFUSAL];
        } else {
            ++failReduceRefused;
            lastUnexpectedRevert = err;
        }
    }

    /// @notice The oracle moves by up to 5% (within [200, 20000]) a few minutes later.
    function movePrice(uint256 moveSeed, uint256 secondsSeed) public {
        _syncTime();
        _advance(bound(secondsSeed, 1, 10 minutes));
        int256 answer = feed.latestAnswer();
        int256 moveBps = int256(bound(moveSeed, 0, 2 * MAX_MOVE_BPS)) - int256(MAX_MOVE_BPS);
        int256 next = (answer * (10_000 + moveBps)) / 10_000 + int256((moveSeed >> 128) % 1e6);
        if (next < MIN_ANSWER) next = MIN_ANSWER;
        if (next > MAX_ANSWER) next = MAX_ANSWER;
        feed.updateAnswer(next);
        ++calls[this.movePrice.selector];
    }

    /// @notice The owner of a previously signed order cancels it (`cancel`, or `setMinNonce` above its nonce
    /// when `mode` is odd); settling it again against a fresh crossing order must then revert with
    /// ExecutionOrderCancelled(digest, minNonce(owner)). With no order signed yet, one is signed first.
    function cancelAndResettle(uint256 orderSeed, uint256 mode, uint256 counterSeed) public {
        _syncTime();
        if (_orders.length == 0) {
            uint256 i = orderSeed % TRADERS;
            _remember(_newOrder(i, _tier(orderSeed >> 8), int256(MIN_SIZE), _makerPrice(orderSeed), false), i);
        }
        uint256 at = orderSeed % _orders.length;
        IExecutionEngine.Order memory order = _orders[at];
        uint256 signerIndex = _orderSigner[at];
        address owner = _traders[signerIndex];
        bytes32 digest = engine.orderDigest(order);

        uint256 target = Math.max(order.nonce, engine.minNonce(owner)) + 1;
        VM.prank(owner);
        if (mode & 1 == 0) {
            try engine.cancel(order) {
                if (!engine.cancelled(digest)) ++failCancelNotEnforced;
            } catch (bytes memory err) {
                _unexpected(err);
                return;
            }
        } else {
            try engine.setMinNonce(target) {
                if (engine.minNonce(owner) != target) ++failCancelNotEnforced;
                if (nextNonce[owner] < target) nextNonce[owner] = target;
                ++calls[MIN_NONCE_PATH];
            } catch (bytes memory err) {
                _unexpected(err);
                return;
            }
        }

        // A fresh counter order of another owner, crossing at the cancelled order's price.
        MatchArgs memory m;
        m.makerIndex = signerIndex;
        m.takerIndex = (signerIndex + 1 + (counterSeed % (TRADERS - 1))) % TRADERS;
        m.maker = order;
        m.taker = _newOrder(m.takerIndex, order.account.tier(), -order.size, order.limitPrice, false);
        m.fill = 1;
        (bool ok, bytes memory reason) = _settle(m);
        bytes memory expected = abi.encodeWithSelector(
            IExecutionEngine.ExecutionOrderCancelled.selector,
            digest,
            engine.minNonce(owner)
        );
        if (ok || keccak256(reason) != keccak256(expected)) {
            ++failCancelNotEnforced;
            lastUnexpectedRevert = reason;
            return;
        }
        ++calls[this.cancelAndResettle.selector];
    }

    // ================================================================ views for the invariants

    function trader(uint256 i) external view returns (address) {
        return _traders[i];
    }

    /// @notice The account (subId 0) of trader `i` in `tier`.
    function accountOf(uint256 i, uint8 tier) public view returns (BucketId) {
        return BucketIdLib.account(_traders[i], tier, 0);
    }

    function digestCount() external view returns (uint256) {
        return digests.length;
    }

    /// @notice The strict oracle mid (what bands risk-increasing trades), quote WAD per base unit.
    function mid() public view returns (uint256) {
        return oracle.getPrice(asset).price;
    }

    // ================================================================ settlement

    /// @dev Settles `m`; allowed refusals are counted, anything else is a failure.
    function _settleAllowingRefusals(MatchArgs memory m) internal {
        uint8 tier = m.maker.account.tier();
        int256 makerOld = _size(m.maker.account);
        int256 takerOld = _size(m.taker.account);
        uint256 oiBefore = clearing.openInterest(tier, MARKET);
        (bool ok, bytes memory err) = _settle(m);
        if (ok) {
            ++calls[this.settleRandomMatch.selector];
            return;
        }
        bytes4 selector = _selector(err);
        if (selector == IClearingHouse.ClearingInsufficientMargin.selector) {
            if (!_isAllowedMarginRefusal(err, m, makerOld, takerOld)) ++failMargin;
            ++calls[MARGIN_REFUSAL];
        } else if (selector == IExecutionEngine.ExecutionOpenInterestCap.selector) {
            if (!_isConsistentOiRefusal(err, m, tier, makerOld, takerOld, oiBefore)) ++failOpenInterest;
            ++calls[OI_REFUSAL];
        } else {
            _unexpected(err);
        }
    }

    /// @dev Signs both orders, calls `settleMatch`, and on success records the fill ghosts and checks the
    /// positions moved by the fill and that risk-increasing sides hold IM.
    function _settle(MatchArgs memory m) internal returns (bool ok, bytes memory err) {
        IExecutionEngine.SignedOrder memory maker = _sign(m.maker, m.makerIndex);
        IExecutionEngine.SignedOrder memory taker = _sign(m.taker, m.takerIndex);
        int256 makerOld = _size(m.maker.account);
        int256 takerOld = _size(m.taker.account);
        try engine.settleMatch(maker, taker, m.fill) {
            ok = true;
        } catch (bytes memory reason) {
            return (false, reason);
        }
        ghostFilled[engine.orderDigest(m.maker)] += m.fill;
        ghostFilled[engine.orderDigest(m.taker)] += m.fill;
        int256 takerDelta = m.taker.size > 0 ? int256(m.fill) : -int256(m.fill);
        if (_size(m.taker.account) != takerOld + takerDelta) ++failPositionDelta;
        if (_size(m.maker.account) != makerOld - takerDelta) ++failPositionDelta;
        _checkImIfIncreased(m.taker.account, takerOld, takerDelta);
        _checkImIfIncreased(m.maker.account, makerOld, -takerDelta);
    }

    function _sign(
        IExecutionEngine.Order memory order,
        uint256 signerIndex
    ) internal view returns (IExecutionEngine.SignedOrder memory) {
        (uint8 v, bytes32 r, bytes32 s) = VM.sign(_keys[signerIndex], engine.orderDigest(order));
        return
            IExecutionEngine.SignedOrder({
                order: order,
                signer: _traders[signerIndex],
                signature: abi.encodePacked(r, s, v)
            });
    }

    function _newOrder(
        uint256 traderIndex,
        uint8 tier,
        int256 size,
        uint256 limitPrice,
        bool reduceOnly
    ) internal returns (IExecutionEngine.Order memory) {
        address owner = _traders[traderIndex];
        uint256 nonce = nextNonce[owner]++;
        return
            IExecutionEngine.Order({
                account: accountOf(traderIndex, tier),
                market: MARKET,
                size: size,
                limitPrice: limitPrice,
                reduceOnly: reduceOnly,
                expiry: uint64(currentTime + ORDER_LIFETIME),
                nonce: nonce
            });
    }

    /// @dev Tracks the order's digest for the fill ghosts and keeps it for the cancel path.
    function _remember(IExecutionEngine.Order memory order, uint256 signerIndex) internal {
        bytes32 digest = engine.orderDigest(order);
        if (_known[digest]) return;
        _known[digest] = true;
        digests.push(digest);
        orderAbsSize[digest] = SignedMath.abs(order.size);
        _orders.push(order);
        _orderSigner.push(signerIndex);
    }

    // ================================================================ refusal checks

    /// @dev ClearingInsufficientMargin(account, equity, requirement) is allowed for a side of the match that
    /// increases risk with equity below its requirement (> 0), or for a reducing side with equity < 0 and
    /// requirement 0.
    function _isAllowedMarginRefusal(
        bytes memory err,
        MatchArgs memory m,
        int256 makerOld,
        int256 takerOld
    ) internal pure returns (bool) {
        if (err.length != 100) return false;
        (BucketId account, int256 equity, uint256 requirement) = abi.decode(
            _arguments(err),
            (BucketId, int256, uint256)
        );
        int256 takerDelta = m.taker.size > 0 ? int256(m.fill) : -int256(m.fill);
        bool increases;
        if (BucketId.unwrap(account) == BucketId.unwrap(m.taker.account)) {
            increases = _increases(takerOld, takerOld + takerDelta);
        } else if (BucketId.unwrap(account) == BucketId.unwrap(m.maker.account)) {
            increases = _increases(makerOld, makerOld - takerDelta);
        } else {
            return false;
        }
        if (increases) return requirement > 0 && equity < int256(requirement);
        return requirement == 0 && equity < 0;
    }

    /// @dev ExecutionOpenInterestCap(tier, market, oi, cap): for this tier and market, the tier's configured
    /// cap, and oi == open interest before + the rise of Σ long sizes the fill implies, above the cap.
    function _isConsistentOiRefusal(
        bytes memory err,
        MatchArgs memory m,
        uint8 tier,
        int256 makerOld,
        int256 takerOld,
        uint256 oiBefore
    ) internal view returns (bool) {
        if (err.length != 132) return false;
        (uint8 t, uint16 market, uint256 oi, uint256 cap) = abi.decode(
            _arguments(err),
            (uint8, uint16, uint256, uint256)
        );
        int256 takerDelta = m.taker.size > 0 ? int256(m.fill) : -int256(m.fill);
        int256 rise =
            _longs(takerOld + takerDelta) - _longs(takerOld) + _longs(makerOld - takerDelta) - _longs(makerOld);
        return
            t == tier &&
            market == MARKET &&
            cap == risk.marketRisk(tier, MARKET).oiCap &&
            rise > 0 &&
            oi == oiBefore + uint256(rise) &&
            oi > cap;
    }

    /// @dev The one refusal a match of two reducing sides may meet: a side would end in debt.
    function _refusedForDebt(bytes memory err, MatchArgs memory m) internal pure returns (bool) {
        if (err.length != 100 || _selector(err) != IClearingHouse.ClearingInsufficientMargin.selector) return false;
        (BucketId account, int256 equity, uint256 requirement) = abi.decode(
            _arguments(err),
            (BucketId, int256, uint256)
        );
        bool side =
            BucketId.unwrap(account) == BucketId.unwrap(m.taker.account) ||
                BucketId.unwrap(account) == BucketId.unwrap(m.maker.account);
        return side && equity < 0 && requirement == 0;
    }

    function _checkImIfIncreased(BucketId account, int256 oldSize, int256 dSize) internal {
        if (!_increases(oldSize, oldSize + dSize)) return;
        IClearingHouse.Health memory h = clearing.health(account);
        if (h.equity < int256(h.im)) ++failMargin;
    }

    // ================================================================ internal

    /// @dev A maker price within ±0.99% of the strict mid, with random low digits kept inside that range.
    function _makerPrice(uint256 seed) internal view returns (uint256) {
        uint256 offset = bound(seed % (1 << 64), 0, 2 * MAX_PRICE_OFFSET_PPM);
        uint256 m = mid();
        uint256 price = (m * (PPM - MAX_PRICE_OFFSET_PPM + offset)) / PPM;
        uint256 jitter = (seed >> 64) % 1e9;
        return offset >= MAX_PRICE_OFFSET_PPM ? price - jitter : price + jitter;
    }

    /// @dev Largest size by which `account` could add risk before hitting IM (ignoring brackets and the band).
    function _maxIncrease(BucketId account, uint256 price) internal view returns (uint256) {
        IClearingHouse.Health memory h = clearing.health(account);
        if (h.equity <= int256(h.im)) return 0;
        uint256 imr = risk.marketRisk(account.tier(), MARKET).ratios.imr;
        uint256 notional = (uint256(h.equity - int256(h.im)) * 10_000) / imr;
        return Math.mulDiv(notional, uint256(WAD), price);
    }

    /// @dev Two traders with opposite positions in `tier`, searching from `seed`.
    function _oppositePair(
        uint8 tier,
        uint256 seed
    ) internal view returns (bool found, uint256 makerIndex, uint256 takerIndex) {
        for (uint256 i; i < TRADERS; ++i) {
            makerIndex = ((seed % TRADERS) + i) % TRADERS;
            int256 a = _size(accountOf(makerIndex, tier));
            if (a == 0) continue;
            for (uint256 j = 1; j < TRADERS; ++j) {
                takerIndex = (makerIndex + j) % TRADERS;
                int256 b = _size(accountOf(takerIndex, tier));
                if (b != 0 && (a > 0) != (b > 0)) return (true, makerIndex, takerIndex);
            }
        }
    }

    function _increases(int256 oldSize, int256 newSize) internal pure returns (bool) {
        if (SignedMath.abs(newSize) > SignedMath.abs(oldSize)) return true;
        return newSize != 0 && (oldSize > 0) != (newSize > 0);
    }

    function _longs(int256 size) internal pure returns (int256) {
        return size > 0 ? size : int256(0);
    }

    function _size(BucketId account) internal view returns (int256) {
        return clearing.position(account, MARKET).size;
    }

    function _tier(uint256 seed) internal view returns (uint8) {
        return uint8(seed % tiers);
    }

    function _syncTime() internal {
        if (block.timestamp != currentTime) VM.warp(currentTime);
    }

    /// @dev Moves time forward; the feed posts a heartbeat round when its last one is a day old.
    function _advance(uint256 secondsForward) internal {
        currentTime += secondsForward;
        VM.warp(currentTime);
        if (currentTime - feed.latestTimestamp() >= HEARTBEAT) feed.updateAnswer(feed.latestAnswer());
    }

    function _selector(bytes memory err) internal pure returns (bytes4 selector) {
        if (err.length < 4) return bytes4(0);
        return bytes4(err);
    }

    function _arguments(bytes memory err) internal pure returns (bytes memory args) {
        args = new bytes(err.length - 4);
        for (uint256 i; i < args.length; ++i) args[i] = err[i + 4];
    }

    function _unexpected(bytes memory err) internal {
        ++failUnexpectedRevert;
        lastUnexpectedRevert = err;
    }
}
