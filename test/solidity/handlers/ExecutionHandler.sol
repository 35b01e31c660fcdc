// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MockV3Aggregator} from "@chainlink/contracts/src/v0.8/tests/MockV3Aggregator.sol";
import {IAccessManaged} from "@openzeppelin/contracts/access/manager/IAccessManaged.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SignedMath} from "@openzeppelin/contracts/utils/math/SignedMath.sol";

import {ClearingHouse} from "../../../contracts/clearing/ClearingHouse.sol";
import {ExecutionEngine} from "../../../contracts/execution/ExecutionEngine.sol";
import {IClearingHouse} from "../../../contracts/interfaces/IClearingHouse.sol";
import {IExecutionEngine} from "../../../contracts/interfaces/IExecutionEngine.sol";
import {IOracleRouter, PriceFlags} from "../../../contracts/interfaces/IOracleRouter.sol";
import {IRiskEngine} from "../../../contracts/interfaces/IRiskEngine.sol";
import {BucketId, BucketIdLib} from "../../../contracts/libraries/BucketId.sol";
import {PositionMath} from "../../../contracts/libraries/PositionMath.sol";
import {MockERC20} from "../../../contracts/mocks/MockERC20.sol";
import {OracleRouter} from "../../../contracts/oracle/OracleRouter.sol";
import {CollateralVault} from "../../../contracts/vault/CollateralVault.sol";
import {TestBase} from "../utils/TestBase.sol";

/// @notice Drives an ExecutionEngine wired into a ClearingHouse (it holds EXECUTOR there) with EIP-712 orders
/// signed by traders whose addresses derive from fixed private keys. Every trader owns account subId 0 in
/// each tier. The handler is the relayer: it signs both orders of a match and calls `settleMatch`. It also
/// trades for the traders against the tiers' pools (`tradeWithPool`, pranked as the trader) and, as the
/// AccessManager's admin, varies the fee split (`setFeeConfig`) between two treasuries and none.
/// @dev The runner ignores handler reverts (failOnRevert = false), so the handler never asserts by reverting:
/// protocol calls run in try/catch; refusals the spec allows are counted in `calls[...]` pseudo-selectors (and,
/// for pool trades, per error selector in `poolRefusals`), anything else in the public `fail*` counters (with
/// the revert data kept) that the invariants require to stay zero. Ghosts: the base size the handler got
/// settled per order digest (`ghostFilled`), checked against `engine.filled` and the order's |size|; the fees
/// every fill charged and where their split should have landed (`ghostInsurance`, `ghostTreasury`,
/// `ghostPoolFees`); and the funding rounding dust of every funding settlement a fill made (`fundingDust`,
/// "WAD²" units: what the settling accounts lost against the exact amount, × 1e18).
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

    uint256 internal constant BPS = 10_000;
    /// The owner of every tier's pool account (a plain address: the pool never signs or calls here).
    address public constant POOL_OWNER = address(uint160(uint256(keccak256("strata.invariant.pool"))));
    /// The treasuries the fee split may name (besides none); neither trades.
    address public constant TREASURY_A = address(uint160(uint256(keccak256("strata.invariant.treasury.a"))));
    address public constant TREASURY_B = address(uint160(uint256(keccak256("strata.invariant.treasury.b"))));
    uint256 public constant TREASURIES = 2;

    /// Pseudo-selectors counting refusals the spec allows (reported, never failures).
    bytes4 public constant MARGIN_REFUSAL = bytes4("IMrf");
    bytes4 public constant OI_REFUSAL = bytes4("OIrf");
    bytes4 public constant DEBT_REFUSAL = bytes4("DBrf");
    bytes4 public constant LEVERAGE_REFUSAL = bytes4("LVrf");
    bytes4 public constant MIN_NONCE_PATH = bytes4("MNnc");
    /// Pool trades: every refusal (its kind in `poolRefusals`), exits that went through (at all, and while
    /// risk-increasing trades were paused), and fee-split changes refused (invalid split or not the admin).
    bytes4 public constant POOL_REFUSAL = bytes4("PLrf");
    bytes4 public constant POOL_EXIT = bytes4("PLex");
    bytes4 public constant POOL_PAUSED_EXIT = bytes4("PLpx");
    bytes4 public constant FEE_CONFIG_REFUSAL = bytes4("FCrf");

    ExecutionEngine public immutable engine;
    ClearingHouse public immutable clearing;
    CollateralVault public immutable vault;
    OracleRouter public immutable oracle;
    IRiskEngine public immutable risk;
    MockERC20 public immutable quote;
    MockV3Aggregator public immutable feed;
    bytes32 public immutable asset;
    uint8 public immutable tiers;
    /// The AccessManager's admin (the test contract): sets the fee split, pauses and resumes.
    address public immutable admin;

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

    /// A pool trade went through although the spec refuses it, or was refused otherwise than the spec allows
    /// (an error none of its broken rules names, a margin or leverage refusal with inconsistent figures), or
    /// `quotePoolTrade` disagreed with the prediction.
    uint256 public failPoolOutcome;
    /// A pool trade's price or fee was not the spec's (oracle band side × skew impact, rounded against the
    /// trader; taker fee on the notional, rounded up), or its price broke the acceptable price or the band.
    uint256 public failPoolPrice;
    /// A pool trade moved positions, cash, the fee split's shares, open interest or vault balances otherwise
    /// than the fill implies (trader ±size, pool ∓size; each share of the fee where the split sends it).
    uint256 public failPoolBooks;
    /// A refused pool trade changed a balance (cash, position, insurance, treasury, pool, vault) or the config.
    uint256 public failPoolRevertState;
    /// After a pool trade, a side whose risk grew held less than IM, or the trader more than max leverage.
    uint256 public failPoolMargin;
    /// A fee split was set other than asked, or refused otherwise than the spec says.
    uint256 public failFeeConfig;

    /// Calls per action that took effect, and allowed refusals.
    mapping(bytes4 selector => uint256) public calls;
    /// Pool trades tried, and refused; refusals per error selector.
    uint256 public poolTradeAttempts;
    uint256 public poolTradeReverts;
    mapping(bytes4 selector => uint256) public poolRefusals;

    // ------------------------------------------------------------ fee and funding ghosts (per tier)

    /// Fees charged by every fill the handler got through.
    mapping(uint8 tier => uint256) public ghostFees;
    /// What the fee split sent to the insurance fund (the whole pool share too while the tier has no pool), to
    /// each treasury's account (`(treasury, tier, 0)`), and to the pool.
    mapping(uint8 tier => uint256) public ghostInsurance;
    mapping(uint256 treasuryIndex => mapping(uint8 tier => uint256)) public ghostTreasury;
    mapping(uint8 tier => uint256) public ghostPoolFees;
    /// Funding rounding dust (WAD²) of the funding settlements fills made, and their count.
    mapping(uint8 tier => uint256) public fundingDust;
    mapping(uint8 tier => uint256) public fundingSettlements;

    /// @dev One match, as chosen by the handler.
    struct MatchArgs {
        uint256 makerIndex;
        uint256 takerIndex;
        IExecutionEngine.Order maker;
        IExecutionEngine.Order taker;
        uint256 fill;
    }

    /// @dev One pool trade as the handler sets it up.
    struct PoolCall {
        uint8 tier;
        uint256 mode;
        BucketId account;
        address caller;
        int256 size;
        uint256 acceptablePrice;
        bool reduceOnly;
        bool paused;
    }

    /// @dev What the spec says of a pool trade, from the state before it: the rules it breaks (as the exact
    /// revert data each would give), or its price, fee and split, and the funding its sides settle.
    struct PoolExpect {
        BucketId poolAccount;
        int256 position;
        int256 poolPosition;
        uint256 openInterest;
        bool increases;
        bool poolIncreases;
        bool quoted;
        bytes32 quoteError;
        uint256 mid;
        uint256 price;
        uint256 fee;
        uint256 poolFee;
        uint256 protocolFee;
        BucketId protocol;
        uint256 maxLeverage;
        uint256 bandBps;
        int256 fundingIndex;
        uint256 refusals;
        bytes32[6] allowed;
    }

    /// @dev Everything a pool trade may touch.
    struct Books {
        IClearingHouse.Position trader;
        IClearingHouse.Position pool;
        int256 traderCash;
        int256 poolCash;
        int256 insuranceCash;
        int256 settlementCash;
        int256[TREASURIES] treasuryCash;
        uint256 openInterest;
        uint256[4] balances;
        uint256[TREASURIES] treasuryBalances;
        bytes32 feeConfig;
    }

    /// @dev The fees and funding a fill will settle, as predicted before it.
    struct FillGhost {
        uint8 tier;
        uint256 fees;
        uint256 dust;
        uint256 settlements;
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
        uint8 tiers_,
        address admin_
    ) {
        admin = admin_;
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
        if (_deposit(account, bound(amountSeed, 1e6, MAX_DEPOSIT))) ++calls[this.depositNoRevert.selector];
    }

    /// @notice The pool's owner deposits `amount` of quote into the pool's account of `tier` (setup only: not
    /// a target of the campaign).
    function depositPoolNoRevert(uint8 tier, uint256 amount) public {
        _syncTime();
        _deposit(BucketIdLib.account(POOL_OWNER, tier, 0), amount);
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

    /// @notice A trader trades with its tier's pool (`tradeWithPool`, pranked as the trader); 7 calls in 8 go to
    /// a tier with a pool. `modeSeed % 16` picks the kind: 0-5 a trade of random side and size (its acceptable
    /// price the expected price, or up to 0.5% beyond it), 6-7 an acceptable price 1 wei better than the expected
    /// price (must be refused), 8-9 a reduce-only trade of random side, 10-11 an exit (reduce-only: the whole
    /// position, or a part), 12 a trade while risk-increasing trades are paused (an exit or a random trade), 13
    /// a caller that is neither the owner nor an operator, 14 the pool's own account, 15 a size beyond the band.
    /// Sizes stay within the trader's IM headroom and the band's room (one in eight aims at twice that).
    /// The outcome is predicted from the state before the call (see {_expectPool}) and checked: a success must
    /// break no rule and move the books exactly as the fill implies ({_checkPoolSuccess}); a refusal must be one
    /// the broken rules give, or a consistent margin or leverage refusal, and change nothing
    /// ({_checkPoolRefusal}).
    function poolTrade(uint256 tierSeed, uint256 traderSeed, uint256 sizeSeed, uint256 modeSeed) public {
        _syncTime();
        PoolCall memory c = _poolCall(tierSeed, traderSeed, sizeSeed, modeSeed);
        PoolExpect memory e = _expectPool(c);
        if (e.quoted && (c.mode < 10 || c.mode > 12)) {
            c.acceptablePrice = _acceptablePrice(c, e.price, modeSeed);
            e = _expectPool(c);
        }
        _checkQuote(c, e);
        if (c.paused && !_setPaused(true)) return;
        Books memory before = _books(c.tier, c.account, e.poolAccount);
        ++poolTradeAttempts;
        VM.prank(c.caller);
        try engine.tradeWithPool(c.account, MARKET, c.size, c.acceptablePrice, c.reduceOnly) returns (
            uint256 price,
            uint256 fee
        ) {
            _checkPoolSuccess(c, e, before, price, fee);
        } catch (bytes memory err) {
            _checkPoolRefusal(c, e, before, err);
        }
        if (c.paused) _setPaused(false);
    }

    /// @notice The admin sets a fee split (`setFeeConfig`): a treasury among none, A and B, a pool share and a
    /// protocol share. `seed % 8`: 0-4 a valid split (must be set as asked), 5 a caller that is not the admin
    /// (AccessManagedUnauthorized), 6 a protocol share without a treasury and 7 shares above 100%
    /// (ExecutionInvalidFeeConfig with the arguments). A refusal leaves the split unchanged.
    function setFeeSplit(uint256 seed) public {
        _syncTime();
        uint256 mode = seed % 8;
        address treasury_ = [address(0), TREASURY_A, TREASURY_B][((seed >> 8) & 0xff) % 3];
        uint16 poolBps = uint16(bound((seed >> 16) & 0xffff, 0, BPS));
        uint16 protocolBps = uint16(bound((seed >> 32) & 0xffff, 0, BPS - poolBps));
        if (treasury_ == address(0)) protocolBps = 0;
        address caller = admin;
        bytes memory expected;
        if (mode == 5) {
            caller = _traders[(seed >> 64) % TRADERS];
            expected = abi.encodeWithSelector(IAccessManaged.AccessManagedUnauthorized.selector, caller);
        } else if (mode == 6) {
            treasury_ = address(0);
            if (poolBps == BPS) poolBps = uint16(BPS - 1);
            protocolBps = uint16(bound((seed >> 32) & 0xffff, 1, BPS - poolBps));
        } else if (mode == 7) {
            protocolBps = uint16(BPS - poolBps + 1 + ((seed >> 48) % 100));
        }
        if (mode == 6 || mode == 7) {
            expected = abi.encodeWithSelector(
                IExecutionEngine.ExecutionInvalidFeeConfig.selector,
                treasury_,
                poolBps,
                protocolBps
            );
        }
        bytes32 configBefore = _feeConfigHash();
        VM.prank(caller);
        try engine.setFeeConfig(treasury_, poolBps, protocolBps) {
            if (expected.length != 0 || _feeConfigHash() != keccak256(abi.encode(treasury_, poolBps, protocolBps))) {
                ++failFeeConfig;
                return;
            }
            ++calls[this.setFeeSplit.selector];
        } catch (bytes memory err) {
            if (keccak256(err) != keccak256(expected) || _feeConfigHash() != configBefore) {
                ++failFeeConfig;
                lastUnexpectedRevert = err;
                return;
            }
            ++calls[FEE_CONFIG_REFUSAL];
        }
    }

    // ================================================================ views for the invariants

    function trader(uint256 i) external view returns (address) {
        return _traders[i];
    }

    /// @notice The account (subId 0) of trader `i` in `tier`.
    function accountOf(uint256 i, uint8 tier) public view returns (BucketId) {
        return BucketIdLib.account(_traders[i], tier, 0);
    }

    /// @notice The pool's account of `tier` (BucketId 0 while the tier has no pool).
    function poolAccountOf(uint8 tier) public view returns (BucketId) {
        address pool = clearing.pool(tier);
        return pool == address(0) ? BucketId.wrap(0) : BucketIdLib.account(pool, tier, 0);
    }

    /// @notice Treasury `i` (A, B) and its account in `tier`.
    function treasury(uint256 i) public pure returns (address) {
        return i == 0 ? TREASURY_A : TREASURY_B;
    }

    function treasuryAccountOf(uint256 i, uint8 tier) public pure returns (BucketId) {
        return BucketIdLib.account(treasury(i), tier, 0);
    }

    /// @notice Every owned account of `tier` the handler's calls can touch: the traders', the pool's (when the
    /// tier has one) and the treasuries'.
    function accountsOf(uint8 tier) external view returns (BucketId[] memory accounts) {
        bool hasPool = clearing.pool(tier) != address(0);
        accounts = new BucketId[](TRADERS + TREASURIES + (hasPool ? 1 : 0));
        for (uint256 i; i < TRADERS; ++i) accounts[i] = accountOf(i, tier);
        for (uint256 i; i < TREASURIES; ++i) accounts[TRADERS + i] = treasuryAccountOf(i, tier);
        if (hasPool) accounts[TRADERS + TREASURIES] = poolAccountOf(tier);
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
        } else if (selector == IExecutionEngine.ExecutionLeverageExceeded.selector) {
            if (!_isConsistentLeverageRefusal(err, m, makerOld, takerOld)) ++failMargin;
            ++calls[LEVERAGE_REFUSAL];
        } else {
            _unexpected(err);
        }
    }

    /// @dev Signs both orders, calls `settleMatch`, and on success records the fill ghosts (fills, fees, funding
    /// dust) and checks the positions moved by the fill and that risk-increasing sides hold IM.
    function _settle(MatchArgs memory m) internal returns (bool ok, bytes memory err) {
        IExecutionEngine.SignedOrder memory maker = _sign(m.maker, m.makerIndex);
        IExecutionEngine.SignedOrder memory taker = _sign(m.taker, m.takerIndex);
        int256 makerOld = _size(m.maker.account);
        int256 takerOld = _size(m.taker.account);
        FillGhost memory g = _matchGhost(m);
        try engine.settleMatch(maker, taker, m.fill) {
            ok = true;
        } catch (bytes memory reason) {
            return (false, reason);
        }
        _recordFillGhost(g);
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

    /// @dev ExecutionLeverageExceeded(account, notional, equity, maxLeverage) is allowed for a side of the match
    /// whose risk grows, with the market's max leverage, its position after the fill valued at the match price
    /// (rounded up), and that notional above equity × max leverage (or equity <= 0).
    function _isConsistentLeverageRefusal(
        bytes memory err,
        MatchArgs memory m,
        int256 makerOld,
        int256 takerOld
    ) internal view returns (bool) {
        if (err.length != 132) return false;
        (BucketId account, uint256 notional, int256 equity, uint256 maxLeverage) = abi.decode(
            _arguments(err),
            (BucketId, uint256, int256, uint256)
        );
        int256 takerDelta = m.taker.size > 0 ? int256(m.fill) : -int256(m.fill);
        int256 oldSize;
        int256 delta;
        if (BucketId.unwrap(account) == BucketId.unwrap(m.taker.account)) {
            (oldSize, delta) = (takerOld, takerDelta);
        } else if (BucketId.unwrap(account) == BucketId.unwrap(m.maker.account)) {
            (oldSize, delta) = (makerOld, -takerDelta);
        } else {
            return false;
        }
        return
            _increases(oldSize, oldSize + delta) &&
            maxLeverage == risk.marketRisk(account.tier(), MARKET).maxLeverage &&
            notional == PositionMath.notionalUp(oldSize + delta, m.maker.limitPrice) &&
            (equity <= 0 || notional > uint256(equity) * maxLeverage);
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

    // ================================================================ pool trades (internal)

    /// @dev Sets up a pool trade from the seeds (see {poolTrade}); the acceptable price starts at the loosest.
    function _poolCall(
        uint256 tierSeed,
        uint256 traderSeed,
        uint256 sizeSeed,
        uint256 modeSeed
    ) internal view returns (PoolCall memory c) {
        c.tier = _poolTier(tierSeed);
        c.mode = modeSeed % 16;
        uint256 traderIndex = traderSeed % TRADERS;
        c.account = accountOf(traderIndex, c.tier);
        c.caller = _traders[traderIndex];
        c.paused = c.mode == 12;
        int256 position = _size(c.account);
        bool exit = position != 0 && (c.mode == 10 || c.mode == 11 || (c.paused && (modeSeed >> 4) & 1 == 0));
        if (exit) {
            uint256 held = SignedMath.abs(position);
            uint256 magnitude = (modeSeed >> 5) & 1 == 0 ? held : bound(sizeSeed, 1, held);
            c.size = position > 0 ? -int256(magnitude) : int256(magnitude);
            c.reduceOnly = true;
        } else {
            bool buys = sizeSeed & 1 == 0;
            uint256 magnitude = _poolSize(c.tier, c.account, buys, c.mode == 15, sizeSeed);
            c.size = buys ? int256(magnitude) : -int256(magnitude);
            c.reduceOnly = c.mode == 8 || c.mode == 9;
        }
        c.acceptablePrice = c.size > 0 ? type(uint256).max : 0;
        if (c.mode == 13) c.caller = _traders[(traderIndex + 1 + ((modeSeed >> 8) % (TRADERS - 1))) % TRADERS];
        BucketId poolAccount = poolAccountOf(c.tier);
        if (c.mode == 14 && BucketId.unwrap(poolAccount) != 0) (c.caller, c.account) = (POOL_OWNER, poolAccount);
    }

    /// @dev A tier from the seed; 7 seeds in 8 move on to the next tier that has a pool.
    function _poolTier(uint256 seed) internal view returns (uint8 tier) {
        tier = _tier(seed);
        if ((seed >> 8) & 7 == 0) return tier;
        for (uint256 k; k < tiers; ++k) {
            uint8 t = uint8((tier + k) % tiers);
            if (clearing.pool(t) != address(0)) return t;
        }
    }

    /// @dev A size for a trade of the given side within the account's IM headroom and the band's room (one in
    /// eight aims at up to twice that); `beyondBand` picks one above the band's room.
    function _poolSize(
        uint8 tier,
        BucketId account,
        bool buys,
        bool beyondBand,
        uint256 seed
    ) internal view returns (uint256) {
        uint256 room = _bandRoom(tier, buys);
        if (beyondBand) return room + bound(seed >> 4, MIN_SIZE, room + MIN_SIZE);
        uint256 cap = Math.min(_maxIncrease(account, mid()), room);
        if ((seed >> 1) & 7 == 7) cap *= 2;
        return bound(seed >> 4, MIN_SIZE, Math.max(cap, MIN_SIZE));
    }

    /// @dev About the largest size of a trade of the given side that still prices inside the band (a buy at most
    /// mid + band, a sell at least mid − band): the part that shrinks the traders' net position on the other
    /// side is free, the rest pays an average premium of about (from + to) / 2S; 1000 ETH in a tier without a
    /// pool. Only a guide for picking sizes: the handler predicts each refusal exactly.
    function _bandRoom(uint8 tier, bool buys) internal view returns (uint256) {
        BucketId poolAccount = poolAccountOf(tier);
        if (BucketId.unwrap(poolAccount) == 0) return 1_000e18;
        IRiskEngine.MarketRisk memory r = risk.marketRisk(tier, MARKET);
        IOracleRouter.Price memory p = oracle.getPrice(asset);
        uint256 twoScale = 2 * uint256(r.fundingSkewScale);
        uint256 allowed = Math.mulDiv(p.price, r.priceBandBps, BPS);
        (uint256 base, ) = _poolBase(p, buys);
        // 2S × the premium the band leaves on top of the band side.
        int256 margin =
            buys
                ? int256(Math.mulDiv(twoScale, p.price + allowed, base)) - int256(twoScale)
                : int256(twoScale) - int256(Math.mulDiv(twoScale, p.price - allowed, base, Math.Rounding.Ceil));
        int256 skew = -_size(poolAccount);
        int256 free = buys ? _longs(-skew) : _longs(skew);
        int256 from = buys ? _longs(skew) : _longs(-skew);
        int256 room = free + margin - 2 * from;
        return room > 0 ? uint256(room) : 0;
    }

    /// @dev The band side a pool trade starts from (before impact): the oracle band's upper side for a buy, its
    /// lower side for a sell, at least the engine's spread floor from the mid, the asset's widest band on a
    /// price that may lag the market. Also the spread used.
    function _poolBase(IOracleRouter.Price memory p, bool buys) internal view returns (uint256 base, uint256 spread) {
        uint256 spreadBps = engine.minPoolSpread();
        uint256 lagging =
            PriceFlags.STALE |
                PriceFlags.PRIMARY_FAILED |
                PriceFlags.OUT_OF_BOUNDS |
                PriceFlags.FALLBACK_LAST_GOOD |
                PriceFlags.SEQUENCER_DOWN |
                PriceFlags.SEQUENCER_GRACE;
        if (p.flags & lagging != 0) spreadBps = Math.max(spreadBps, oracle.assetConfig(asset).maxConfidenceBps);
        spread = Math.min(Math.mulDiv(p.price, spreadBps, BPS, Math.Rounding.Ceil), p.price);
        base = buys ? Math.max(p.upper, p.price + spread) : Math.min(p.lower, p.price - spread);
    }

    /// @dev The skew impact, written from the spec (IExecutionEngine.tradeWithPool): the premium at a traders'
    /// net position x is |x| / S on the side the trade grows it, averaged over the trade; rounded against the
    /// trader; none for the part that shrinks it.
    function _impact(uint256 base, int256 skew, int256 size, uint256 scale) internal pure returns (uint256) {
        if (scale == 0) return base;
        bool buys = size > 0;
        int256 skewAfter = skew + size;
        uint256 from = uint256(buys ? _longs(skew) : _longs(-skew));
        uint256 to = uint256(buys ? _longs(skewAfter) : _longs(-skewAfter));
        if (to <= from) return base;
        uint256 den = 2 * scale * SignedMath.abs(size);
        uint256 num = (to - from) * (to + from);
        if (buys) return Math.mulDiv(base, den + num, den, Math.Rounding.Ceil);
        return num >= den ? 0 : Math.mulDiv(base, den - num, den);
    }

    /// @dev The acceptable price of a trade expected at `price`: 1 wei better than it (modes 6-7), exactly it
    /// (one seed in four), or up to 0.5% worse.
    function _acceptablePrice(PoolCall memory c, uint256 price, uint256 seed) internal pure returns (uint256) {
        bool buys = c.size > 0;
        if (c.mode == 6 || c.mode == 7) return buys ? price - 1 : price + 1;
        if ((seed >> 8) % 4 == 0) return price;
        uint256 slack = Math.mulDiv(price, (seed >> 16) % 5_000, PPM);
        return buys ? price + slack : price - slack;
    }

    /// @dev The spec's view of the pool trade `c` from the state now (see {IExecutionEngine-tradeWithPool}):
    /// each rule it breaks, as the exact revert data that rule gives (a caller neither owner nor operator; no
    /// pool; the pool's own account; a price outside the band; reduce-only but increasing; increasing while
    /// paused; a price worse than acceptable; open interest above the cap), else its price, fee and split.
    function _expectPool(PoolCall memory c) internal view returns (PoolExpect memory e) {
        address owner = c.account.owner();
        if (c.caller != owner && !clearing.isOperator(owner, c.caller)) {
            _allow(
                e,
                abi.encodeWithSelector(IExecutionEngine.ExecutionUnauthorizedTrader.selector, c.account, c.caller)
            );
        }
        e.poolAccount = poolAccountOf(c.tier);
        if (BucketId.unwrap(e.poolAccount) == 0) {
            _allowQuoteError(e, abi.encodeWithSelector(IExecutionEngine.ExecutionNoPool.selector, c.tier));
            return e;
        }
        if (BucketId.unwrap(c.account) == BucketId.unwrap(e.poolAccount)) {
            _allowQuoteError(e, abi.encodeWithSelector(IExecutionEngine.ExecutionPoolSelfTrade.selector, c.account));
            return e;
        }
        IRiskEngine.MarketRisk memory r = risk.marketRisk(c.tier, MARKET);
        e.maxLeverage = r.maxLeverage;
        e.position = _size(c.account);
        e.poolPosition = _size(e.poolAccount);
        e.openInterest = clearing.openInterest(c.tier, MARKET);
        e.increases = _increases(e.position, e.position + c.size);
        e.poolIncreases = _increases(e.poolPosition, e.poolPosition - c.size);
        if (!_priceQuote(c, e, r)) return e;
        e.quoted = true;
        _tradeRules(c, e, r);
        e.fee = Math.mulDiv(
            Math.mulDiv(SignedMath.abs(c.size), e.price, uint256(WAD)),
            r.takerFeeBps,
            BPS,
            Math.Rounding.Ceil
        );
        (address treasury_, uint16 poolBps, uint16 protocolBps) = engine.feeConfig();
        e.poolFee = Math.mulDiv(e.fee, poolBps, BPS);
        e.protocolFee = Math.mulDiv(e.fee, protocolBps, BPS);
        if (treasury_ != address(0)) e.protocol = BucketIdLib.account(treasury_, c.tier, 0);
        (e.fundingIndex, ) = clearing.fundingState(c.tier, MARKET);
    }

    /// @dev The trade's price (the strict read when the trade increases, else the liquidation read): the band
    /// side with the skew impact ({_poolBase}, {_impact}). A trade that adds risk must price inside the band;
    /// an exit's impact stops at the band's edge, never better than the band side. False, with the quote's
    /// refusal recorded, when an increase prices outside the band.
    function _priceQuote(
        PoolCall memory c,
        PoolExpect memory e,
        IRiskEngine.MarketRisk memory r
    ) internal view returns (bool) {
        IOracleRouter.Price memory p = e.increases ? oracle.getPrice(asset) : oracle.getPriceForLiquidation(asset);
        e.mid = p.price;
        e.bandBps = r.priceBandBps;
        bool buys = c.size > 0;
        (uint256 base, ) = _poolBase(p, buys);
        uint256 raw = _impact(base, -e.poolPosition, c.size, r.fundingSkewScale);
        uint256 allowed = Math.mulDiv(e.mid, e.bandBps, BPS);
        if (e.increases) {
            if (!_inBand(raw, e.mid, e.bandBps)) {
                bytes4 band = IExecutionEngine.ExecutionPriceOutsideBand.selector;
                _allowQuoteError(e, abi.encodeWithSelector(band, raw, e.mid, e.bandBps));
                return false;
            }
            e.price = raw;
        } else {
            e.price =
                buys ? Math.max(base, Math.min(raw, e.mid + allowed)) : Math.min(base, Math.max(raw, e.mid - allowed));
        }
        return true;
    }

    /// @dev The rules checked once the trade is priced: reduce-only, the pause, the acceptable price, the cap.
    function _tradeRules(PoolCall memory c, PoolExpect memory e, IRiskEngine.MarketRisk memory r) internal view {
        if (c.reduceOnly && e.increases) {
            _allow(
                e,
                abi.encodeWithSelector(IExecutionEngine.ExecutionNotReducing.selector, bytes32(0), e.position, c.size)
            );
        }
        if ((c.paused || engine.riskIncreasePaused()) && e.increases) {
            _allow(e, abi.encodeWithSelector(IExecutionEngine.ExecutionRiskIncreasePaused.selector));
        }
        if (c.size > 0 ? e.price > c.acceptablePrice : e.price < c.acceptablePrice) {
            _allow(
                e,
                abi.encodeWithSelector(
                    IExecutionEngine.ExecutionAcceptablePriceExceeded.selector,
                    e.price,
                    c.acceptablePrice
                )
            );
        }
        int256 rise =
            _longs(e.position + c.size) - _longs(e.position) + _longs(e.poolPosition - c.size) - _longs(e.poolPosition);
        if (rise > 0 && e.openInterest + uint256(rise) > r.oiCap) {
            _allow(
                e,
                abi.encodeWithSelector(
                    IExecutionEngine.ExecutionOpenInterestCap.selector,
                    c.tier,
                    MARKET,
                    e.openInterest + uint256(rise),
                    uint256(r.oiCap)
                )
            );
        }
    }

    function _allow(PoolExpect memory e, bytes memory err) internal pure {
        e.allowed[e.refusals++] = keccak256(err);
    }

    function _allowQuoteError(PoolExpect memory e, bytes memory err) internal pure {
        e.quoteError = keccak256(err);
        _allow(e, err);
    }

    /// @dev `quotePoolTrade` gives the predicted price and mid, or reverts as the quote must.
    function _checkQuote(PoolCall memory c, PoolExpect memory e) internal {
        try engine.quotePoolTrade(c.account, MARKET, c.size) returns (uint256 price, uint256 oraclePrice) {
            if (!e.quoted || price != e.price || oraclePrice != e.mid) _poolFailure("quote differs from the spec's");
        } catch (bytes memory err) {
            if (e.quoted || keccak256(err) != e.quoteError) {
                ++failPoolOutcome;
                lastUnexpectedRevert = err;
            }
        }
    }

    /// @dev A pool trade went through: it broke no rule, at the predicted price and fee, within the acceptable
    /// price and the band; the books moved exactly by the fill; risk-increasing sides hold their margin.
    function _checkPoolSuccess(
        PoolCall memory c,
        PoolExpect memory e,
        Books memory before,
        uint256 price,
        uint256 fee
    ) internal {
        ++calls[this.poolTrade.selector];
        if (!e.quoted || e.refusals != 0) {
            _poolFailure("went through a rule it breaks");
            return;
        }
        bool buys = c.size > 0;
        if (
            price != e.price ||
            fee != e.fee ||
            (buys ? price > c.acceptablePrice : price < c.acceptablePrice) ||
            !_inBand(price, e.mid, e.bandBps)
        ) ++failPoolPrice;
        Books memory after_ = _books(c.tier, c.account, e.poolAccount);
        if (!_poolBooksMoved(c, e, before, after_, price, fee)) ++failPoolBooks;
        _checkPoolMargins(c, e, price);

        FillGhost memory g;
        g.tier = c.tier;
        g.fees = fee;
        _addDust(g, before.trader, e.fundingIndex);
        _addDust(g, before.pool, e.fundingIndex);
        _recordFillGhost(g);
        if (!e.increases) ++calls[POOL_EXIT];
        if (!e.increases && c.paused) ++calls[POOL_PAUSED_EXIT];
    }

    /// @dev After a pool trade: the trader's and the pool's positions moved by ±size with the fill's cost basis
    /// and realized PnL (PositionMath at the fill's notional), their cash by their funding, realized PnL and fee
    /// (trader: − fee; pool: + its share); the insurance fund got the rest of the fee and the treasury named by
    /// the split the protocol share (Σ == fee); open interest moved by the longs; nothing else changed.
    function _poolBooksMoved(
        PoolCall memory c,
        PoolExpect memory e,
        Books memory b,
        Books memory a,
        uint256 price,
        uint256 fee
    ) internal pure returns (bool) {
        int256 notional = PositionMath.fillNotional(c.size, price);
        if (
            !_sideMoved(b.trader, a.trader, a.traderCash - b.traderCash, c.size, notional, e.fundingIndex, -int256(fee))
        ) return false;
        if (!_sideMoved(b.pool, a.pool, a.poolCash - b.poolCash, -c.size, -notional, e.fundingIndex, int256(e.poolFee)))
            return false;
        int256 insurance = a.insuranceCash - b.insuranceCash;
        if (insurance != int256(fee - e.poolFee - e.protocolFee)) return false;
        int256 protocol;
        for (uint256 i; i < TREASURIES; ++i) {
            int256 landed = a.treasuryCash[i] - b.treasuryCash[i];
            bool named = BucketId.unwrap(treasuryAccountOf(i, c.tier)) == BucketId.unwrap(e.protocol);
            if (landed != (named ? int256(e.protocolFee) : int256(0))) return false;
            protocol += landed;
        }
        if (insurance + int256(e.poolFee) + protocol != int256(fee)) return false;
        int256 rise = _longs(a.trader.size) - _longs(b.trader.size) + _longs(a.pool.size) - _longs(b.pool.size);
        if (int256(a.openInterest) != int256(b.openInterest) + rise) return false;
        return
            a.settlementCash == b.settlementCash &&
            keccak256(abi.encode(a.balances, a.treasuryBalances)) ==
                keccak256(abi.encode(b.balances, b.treasuryBalances)) &&
            a.feeConfig == b.feeConfig;
    }

    /// @dev One side of a fill of `dSize` at signed `notional`: funding settled at `index`, then the fill.
    function _sideMoved(
        IClearingHouse.Position memory b,
        IClearingHouse.Position memory a,
        int256 cashDelta,
        int256 dSize,
        int256 notional,
        int256 index,
        int256 feeDelta
    ) internal pure returns (bool) {
        int256 owed = PositionMath.fundingOwed(b.size, index, b.fundingIndex);
        (int256 newSize, int256 newOpenNotional, int256 realized) = PositionMath.applyFill(
            b.size,
            b.openNotional,
            dSize,
            notional
        );
        return
            a.size == b.size + dSize &&
            a.size == newSize &&
            a.openNotional == newOpenNotional &&
            cashDelta == realized - owed + feeDelta &&
            a.fundingIndex == (newSize == 0 ? int256(0) : index);
    }

    /// @dev A trader whose risk grew holds IM and at most max leverage (its position at the fill price over
    /// its equity); a pool whose risk grew holds IM.
    function _checkPoolMargins(PoolCall memory c, PoolExpect memory e, uint256 price) internal {
        if (e.increases) {
            IClearingHouse.Health memory h = clearing.health(c.account);
            uint256 notional = PositionMath.notionalUp(e.position + c.size, price);
            if (h.equity < int256(h.im) || h.equity <= 0 || notional > uint256(h.equity) * e.maxLeverage) {
                ++failPoolMargin;
            }
        }
        if (e.poolIncreases) {
            IClearingHouse.Health memory h = clearing.health(e.poolAccount);
            if (h.equity < int256(h.im)) ++failPoolMargin;
        }
    }

    /// @dev A pool trade was refused: nothing changed, and the refusal is one a broken rule gives, or (no rule
    /// broken) a consistent margin refusal of either side or leverage refusal of the trader.
    function _checkPoolRefusal(PoolCall memory c, PoolExpect memory e, Books memory before, bytes memory err) internal {
        ++poolTradeReverts;
        ++calls[POOL_REFUSAL];
        if (keccak256(abi.encode(_books(c.tier, c.account, e.poolAccount))) != keccak256(abi.encode(before))) {
            ++failPoolRevertState;
        }
        bytes4 selector = _selector(err);
        bytes32 hash = keccak256(err);
        for (uint256 i; i < e.refusals; ++i) {
            if (e.allowed[i] == hash) {
                ++poolRefusals[selector];
                return;
            }
        }
        bool allowed =
            e.refusals == 0 &&
                ((selector == IClearingHouse.ClearingInsufficientMargin.selector &&
                    _isAllowedPoolMarginRefusal(err, c, e)) ||
                    (selector == IExecutionEngine.ExecutionLeverageExceeded.selector &&
                        _isConsistentPoolLeverageRefusal(err, c, e)));
        if (allowed) {
            ++poolRefusals[selector];
            return;
        }
        ++failPoolOutcome;
        lastUnexpectedRevert = err;
    }

    /// @dev ClearingInsufficientMargin(account, equity, requirement) of the trader or the pool: below its IM
    /// (> 0) if its risk grows, in debt (requirement 0) if it reduces.
    function _isAllowedPoolMarginRefusal(
        bytes memory err,
        PoolCall memory c,
        PoolExpect memory e
    ) internal pure returns (bool) {
        if (err.length != 100) return false;
        (BucketId account, int256 equity, uint256 requirement) = abi.decode(
            _arguments(err),
            (BucketId, int256, uint256)
        );
        bool increases;
        if (BucketId.unwrap(account) == BucketId.unwrap(c.account)) {
            increases = e.increases;
        } else if (BucketId.unwrap(account) == BucketId.unwrap(e.poolAccount)) {
            increases = e.poolIncreases;
        } else {
            return false;
        }
        if (increases) return requirement > 0 && equity < int256(requirement);
        return requirement == 0 && equity < 0;
    }

    /// @dev ExecutionLeverageExceeded(account, notional, equity, maxLeverage) of the trader, whose risk grows:
    /// the market's max leverage, its position after the fill at the fill price (rounded up), above equity ×
    /// max leverage (or equity <= 0).
    function _isConsistentPoolLeverageRefusal(
        bytes memory err,
        PoolCall memory c,
        PoolExpect memory e
    ) internal pure returns (bool) {
        if (err.length != 132) return false;
        (BucketId account, uint256 notional, int256 equity, uint256 maxLeverage) = abi.decode(
            _arguments(err),
            (BucketId, uint256, int256, uint256)
        );
        return
            BucketId.unwrap(account) == BucketId.unwrap(c.account) &&
            e.increases &&
            maxLeverage == e.maxLeverage &&
            notional == PositionMath.notionalUp(e.position + c.size, e.price) &&
            (equity <= 0 || notional > uint256(equity) * maxLeverage);
    }

    /// @dev Everything a pool trade of `account` in `tier` may touch.
    function _books(uint8 tier, BucketId account, BucketId poolAccount) internal view returns (Books memory b) {
        BucketId insurance = BucketIdLib.insurance(tier);
        BucketId settlement = BucketIdLib.settlement(tier);
        b.trader = clearing.position(account, MARKET);
        b.pool = clearing.position(poolAccount, MARKET);
        b.traderCash = clearing.cash(account);
        b.poolCash = clearing.cash(poolAccount);
        b.insuranceCash = clearing.cash(insurance);
        b.settlementCash = clearing.cash(settlement);
        b.openInterest = clearing.openInterest(tier, MARKET);
        b.balances = [_balance(account), _balance(poolAccount), _balance(insurance), _balance(settlement)];
        for (uint256 i; i < TREASURIES; ++i) {
            b.treasuryCash[i] = clearing.cash(treasuryAccountOf(i, tier));
            b.treasuryBalances[i] = _balance(treasuryAccountOf(i, tier));
        }
        b.feeConfig = _feeConfigHash();
    }

    /// @dev Pauses or resumes risk-increasing trades as the admin; a refusal is a failure.
    function _setPaused(bool paused) internal returns (bool ok) {
        VM.prank(admin);
        if (paused) {
            try engine.pauseRiskIncrease() {
                ok = true;
            } catch (bytes memory err) {
                _unexpected(err);
            }
        } else {
            try engine.unpauseRiskIncrease() {
                ok = true;
            } catch (bytes memory err) {
                _unexpected(err);
            }
        }
    }

    function _poolFailure(string memory what) internal {
        ++failPoolOutcome;
        lastUnexpectedRevert = bytes(what);
    }

    // ================================================================ fee and funding ghosts

    /// @dev What a match will charge (maker and taker fees on the notional, each rounded up) and the funding
    /// its two sides will settle.
    function _matchGhost(MatchArgs memory m) internal view returns (FillGhost memory g) {
        g.tier = m.maker.account.tier();
        IRiskEngine.MarketRisk memory r = risk.marketRisk(g.tier, MARKET);
        uint256 notional = Math.mulDiv(m.fill, m.maker.limitPrice, uint256(WAD));
        g.fees =
            Math.mulDiv(notional, r.makerFeeBps, BPS, Math.Rounding.Ceil) +
            Math.mulDiv(notional, r.takerFeeBps, BPS, Math.Rounding.Ceil);
        (int256 index, ) = clearing.fundingState(g.tier, MARKET);
        _addDust(g, clearing.position(m.taker.account, MARKET), index);
        _addDust(g, clearing.position(m.maker.account, MARKET), index);
    }

    /// @dev The rounding dust (WAD²) of settling `p`'s funding at `index`: the rounded amount (up when the
    /// account pays, down when it receives) × WAD minus the exact `size × (index − snapshot)`.
    function _addDust(FillGhost memory g, IClearingHouse.Position memory p, int256 index) internal pure {
        int256 exact = int256(p.size) * (index - p.fundingIndex);
        if (exact == 0) return;
        int256 rounded = PositionMath.fundingOwed(p.size, index, p.fundingIndex);
        g.dust += uint256(rounded * WAD - exact);
        ++g.settlements;
    }

    /// @dev A fill went through: its fees split by the config (pool share to the insurance fund while the tier
    /// has no pool; shares rounded down, the insurance fund gets the rest) and its funding dust.
    function _recordFillGhost(FillGhost memory g) internal {
        ghostFees[g.tier] += g.fees;
        (address treasury_, uint16 poolBps, uint16 protocolBps) = engine.feeConfig();
        uint256 poolFee = Math.mulDiv(g.fees, poolBps, BPS);
        uint256 protocolFee = Math.mulDiv(g.fees, protocolBps, BPS);
        uint256 insurance = g.fees - poolFee - protocolFee;
        if (clearing.pool(g.tier) == address(0)) insurance += poolFee;
        else ghostPoolFees[g.tier] += poolFee;
        ghostInsurance[g.tier] += insurance;
        if (protocolFee != 0) ghostTreasury[treasury_ == TREASURY_A ? 0 : 1][g.tier] += protocolFee;
        fundingDust[g.tier] += g.dust;
        fundingSettlements[g.tier] += g.settlements;
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

    function _deposit(BucketId account, uint256 amount) internal returns (bool ok) {
        address owner = account.owner();
        quote.mint(owner, amount);
        VM.startPrank(owner);
        quote.approve(address(vault), amount);
        try vault.deposit(address(quote), amount, account) {
            ok = true;
        } catch (bytes memory err) {
            _unexpected(err);
        }
        VM.stopPrank();
    }

    function _balance(BucketId bucket) internal view returns (uint256) {
        return vault.balanceOf(bucket, address(quote));
    }

    function _feeConfigHash() internal view returns (bytes32) {
        (address treasury_, uint16 poolBps, uint16 protocolBps) = engine.feeConfig();
        return keccak256(abi.encode(treasury_, poolBps, protocolBps));
    }

    function _inBand(uint256 price, uint256 mid_, uint256 bandBps) internal pure returns (bool) {
        uint256 distance = price > mid_ ? price - mid_ : mid_ - price;
        return distance <= Math.mulDiv(mid_, bandBps, BPS);
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
