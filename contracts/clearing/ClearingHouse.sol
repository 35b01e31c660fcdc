// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {SignedMath} from "@openzeppelin/contracts/utils/math/SignedMath.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IClearingHouse} from "../interfaces/IClearingHouse.sol";
import {ILiquidationEngine} from "../interfaces/ILiquidationEngine.sol";
import {ICollateralVault} from "../interfaces/ICollateralVault.sol";
import {IOracleRouter, PriceFlags} from "../interfaces/IOracleRouter.sol";
import {IRiskEngine} from "../interfaces/IRiskEngine.sol";
import {BucketId, BucketIdLib} from "../libraries/BucketId.sol";
import {LiquidationMath} from "../libraries/LiquidationMath.sol";
import {ContextCache} from "../libraries/ContextCache.sol";
import {MarketSet} from "../libraries/MarketSet.sol";
import {MarginMath} from "../libraries/MarginMath.sol";
import {PositionMath} from "../libraries/PositionMath.sol";

/// @title ClearingHouse
/// @notice Accounts, positions, cash, funding, settlement and margin of Strata. See {IClearingHouse}.
/// @dev Roles: EXECUTOR (the execution layer, registered with `setExecutor`) calls `applyFill`; ADMIN sets each
/// tier's pool once and registers the executor and the liquidation engine.
contract ClearingHouse is IClearingHouse, AccessManaged, ReentrancyGuardTransient {
    using SafeCast for uint256;
    using SafeCast for int256;

    /// @dev Funding state of one tier × market. `longOpenInterest` is Σ long sizes (= Σ short sizes).
    struct MarketState {
        int256 fundingIndex;
        uint48 lastFundingUpdate;
        uint128 longOpenInterest;
    }

    /// @dev One position of an account with what its margin figures were computed from.
    struct MarketSnapshot {
        uint16 market;
        Position position;
        uint256 lower;
        uint256 upper;
        IRiskEngine.MarginParams params;
    }

    /// @dev What a fill's checks read once: the tier, and the fill's market (at the strict read or not).
    struct FillRead {
        IRiskEngine.TierConfig tc;
        address[] tokens;
        uint16 market;
        bool strict;
        ContextCache.MarketEntry ctx;
    }

    /// @dev An account as the liquidation read saw it.
    struct AccountRead {
        Health h;
        MarketSnapshot[] markets;
        address[] tokens;
        uint256[] balances;
    }

    uint256 private constant WAD = 1e18;
    uint256 private constant BPS_TO_WAD = 1e14;
    uint256 private constant MAX_PRICE = 1e36;
    /// @dev The risk engine's MAX_MARKETS_PER_TIER.
    uint256 private constant MAX_POOL_POSITIONS = MarketSet.CAPACITY;

    ICollateralVault public immutable VAULT;
    IOracleRouter public immutable ORACLE;
    IRiskEngine public immutable RISK;

    mapping(BucketId account => int256) private _cash;
    /// @dev The markets each account holds a position in, packed (see {MarketSet}).
    mapping(BucketId account => uint256) private _accountMarkets;
    mapping(BucketId account => mapping(uint16 market => Position)) private _positions;
    mapping(uint8 tier => mapping(uint16 market => MarketState)) private _marketStates;
    mapping(uint8 tier => address) private _pools;
    mapping(address owner => mapping(address operator => bool)) private _operators;
    mapping(address account => bool) private _liquidators;
    mapping(address account => bool) private _executors;

    /// @dev The open liquidation batch's cache scope (0: none), and the last scope handed out in this
    /// transaction, so that each batch has fresh entries (see {ContextCache}).
    uint256 private transient _batchScope;
    uint256 private transient _lastBatchScope;
    /// @dev Who opened the batch: only its own calls use the batch's cache.
    address private transient _batchOwner;

    /// @dev The liquidation hooks: a registered liquidation engine passes at once, anyone else needs the
    /// LIQUIDATOR role through the AccessManager.
    modifier onlyLiquidator() {
        if (!_liquidators[msg.sender]) _checkCanCall(msg.sender, msg.data);
        _;
    }

    /// @dev The fill entry: a registered executor passes at once, anyone else needs the EXECUTOR role.
    modifier onlyExecutor() {
        if (!_executors[msg.sender]) _checkCanCall(msg.sender, msg.data);
        _;
    }

    constructor(
        address authority,
        ICollateralVault vault,
        IOracleRouter oracle,
        IRiskEngine risk
    ) AccessManaged(authority) {
        VAULT = vault;
        ORACLE = oracle;
        RISK = risk;
    }

    // ================================================================ users

    /// @inheritdoc IClearingHouse
    function setOperator(address operator, bool approved) external {
        _operators[msg.sender][operator] = approved;
        emit OperatorSet(msg.sender, operator, approved);
    }

    /// @inheritdoc IClearingHouse
    function withdraw(
        BucketId account,
        address token,
        uint256 amount,
        address receiver
    ) external nonReentrant returns (uint256 claimId) {
        (IRiskEngine.TierConfig memory tc, address[] memory tokens) = _requireAccountContext(account);
        _requireOwnerOrOperator(account);
        _settle(account, tc);

        // With open positions or a debt, what remains must cover IM. Nothing not yet in hand counts: no
        // unrealized profit, no positive cash the settlement bucket could not pay just now (the settle
        // above paid what it could), no funding receivable (DESIGN §3).
        if (_accountMarkets[account] != 0 || _cash[account] < 0) {
            ContextCache.MarketEntry memory none;
            Health memory h = _health(account, tc, tokens, false, 0, none);
            uint256 removed = _collateralValueRemoved(account, tc, token, amount);
            int256 equityAfter =
                h.collateralValue.toInt256() -
                    removed.toInt256() +
                    SignedMath.min(h.cash, 0) +
                    h.unrealizedLoss -
                    SignedMath.max(h.pendingFunding, 0);
            if (equityAfter < h.im.toInt256()) revert ClearingInsufficientMargin(account, equityAfter, h.im);
        }

        claimId = VAULT.withdraw(account, token, amount, receiver);
        emit CollateralWithdrawn(account, token, receiver, amount, claimId);
    }

    /// @inheritdoc IClearingHouse
    function settle(BucketId account) external nonReentrant {
        _settle(account, _requireAccount(account));
    }

    /// @inheritdoc IClearingHouse
    function accrueFunding(uint8 tier, uint16 market) external nonReentrant {
        _accrueFunding(tier, market);
    }

    // ================================================================ execution layer

    /// @inheritdoc IClearingHouse
    function applyFill(
        Fill calldata f
    ) external onlyExecutor nonReentrant returns (int256 takerEquity, int256 makerEquity, uint256 oraclePrice) {
        FillRead memory r = _fillRead(f);
        oraclePrice = r.ctx.mid;
        (bool takerIncreases, bool makerIncreases) = _applyFillSides(f, r.tc.maxPositions);

        // Sides whose risk grew must hold IM; reducing sides are refused only when they would end in debt: a
        // reducing trade priced against its account could otherwise hand a colluding counterparty more than
        // the account has, leaving the difference to the waterfall. An account that cannot stay solvent is
        // liquidated. A reducing side values its other markets and collateral at the liquidation read.
        takerEquity = _requireMargin(f.taker, takerIncreases, r);
        makerEquity = _requireMargin(f.maker, makerIncreases, r);
    }

    /// @dev Validates the fill, reads its tier and market, and moves the market's funding to now.
    function _fillRead(Fill calldata f) private returns (FillRead memory r) {
        (r.tc, r.tokens) = _checkFill(f);
        uint8 tier = f.taker.tier();
        r.market = f.market;
        // Risk grows only at a good price, except the pool's: the counterparty of last resort takes the other
        // side of exits on any available price. One risk read and one oracle read of the fill's market serve
        // its funding and both margin checks.
        r.strict =
            PositionMath.increases(_positions[f.taker][f.market].size, f.size) ||
            (PositionMath.increases(_positions[f.maker][f.market].size, -f.size) && f.maker.owner() != _pools[tier]);
        r.ctx = _readMarket(tier, f.market, r.strict);
        _accrueWith(tier, f.market, r.ctx.params, r.ctx.mid);
    }

    /// @dev Applies both sides of the fill and credits its fees. Returns whether each side's risk grew.
    function _applyFillSides(
        Fill calldata f,
        uint256 maxPositions
    ) private returns (bool takerIncreases, bool makerIncreases) {
        int256 notional = PositionMath.fillNotional(f.size, f.price);
        int256 takerRealized;
        int256 makerRealized;
        (takerIncreases, takerRealized) = _applySide(f.taker, maxPositions, f.market, f.size, notional, f.takerFee);
        (makerIncreases, makerRealized) = _applySide(f.maker, maxPositions, f.market, -f.size, -notional, f.makerFee);
        _creditFees(f, f.taker.tier());
        _emitFill(f, takerRealized, makerRealized);
    }

    /// @dev Credits the fill's fees: the pool's and the protocol's shares, the rest to the insurance fund.
    /// Cash moves between accounts of one tier; nothing is created.
    function _creditFees(Fill calldata f, uint8 tier) private {
        uint256 fees = f.takerFee + f.makerFee;
        uint256 shares = f.poolFee + f.protocolFee;
        if (shares > fees) revert ClearingInvalidFeeSplit(fees, f.poolFee, f.protocolFee);
        if (fees != shares) _cash[BucketIdLib.insurance(tier)] += (fees - shares).toInt256();
        if (f.poolFee != 0) {
            // While the tier has no pool, its share goes to the insurance fund too.
            address pool_ = _pools[tier];
            _cash[pool_ == address(0) ? BucketIdLib.insurance(tier) : BucketIdLib.account(pool_, tier, 0)] += f
                .poolFee
                .toInt256();
        }
        if (f.protocolFee != 0) {
            if (f.protocol.tier() != tier || f.protocol.owner() == address(0)) {
                revert ClearingInvalidAccount(f.protocol);
            }
            _cash[f.protocol] += f.protocolFee.toInt256();
        }
    }

    // ================================================================ liquidation engine

    /// @inheritdoc IClearingHouse
    function liquidate(
        BucketId account,
        uint16 market,
        uint256 requested,
        address keeper
    )
        external
        onlyLiquidator
        nonReentrant
        returns (Health memory h, LiquidationPlan memory plan, uint256 backstopReward)
    {
        (BucketId poolAccount, AccountRead memory r) = _liquidationRead(account);
        h = r.h;
        if (h.equity >= h.mm.toInt256()) return (h, plan, 0);
        // The keeper names one of the account's markets; an account with no position at all (a debt only)
        // can still be taken over, with no reward (its equity is negative).
        uint256 at = _indexOf(r.markets, market);
        if (at == r.markets.length && at != 0) revert ILiquidationEngine.LiquidationNoPosition(account, market);
        BucketId keeperAccount = BucketIdLib.account(keeper, account.tier(), 0);
        if (keeper == address(0)) revert ClearingInvalidAccount(keeperAccount);
        if (h.equity < h.backstop.toInt256()) {
            backstopReward = _backstop(account, poolAccount, keeperAccount, r, at);
        } else {
            plan = _partial(account, poolAccount, keeperAccount, r.markets[at], h, requested);
        }
    }

    /// @dev The pool's account of `account`'s tier, and the liquidation read of `account`.
    function _liquidationRead(BucketId account) private returns (BucketId poolAccount, AccountRead memory r) {
        uint8 tier = account.tier();
        (IRiskEngine.TierConfig memory tc, address[] memory tokens) = _requireAccountContext(account);
        address pool_ = _pools[tier];
        if (pool_ == address(0)) revert ILiquidationEngine.LiquidationNoPool(tier);
        // The pool is the backstop itself: its losses are its LPs' (step 4), then auto-deleveraging.
        if (account.owner() == pool_) revert ILiquidationEngine.LiquidationOfPool(tier);
        poolAccount = BucketIdLib.account(pool_, tier, 0);
        r = _accrueRead(account, tc, tokens);
    }

    /// @inheritdoc IClearingHouse
    function beginBatch() external onlyLiquidator {
        if (_batchScope != 0) revert ClearingBatchOpen();
        uint256 scope = _lastBatchScope + 1;
        _lastBatchScope = scope;
        _batchScope = scope;
        _batchOwner = msg.sender;
    }

    /// @inheritdoc IClearingHouse
    function endBatch() external onlyLiquidator {
        if (_batchScope == 0) return;
        if (msg.sender != _batchOwner) revert ClearingBatchOpen();
        _batchScope = 0;
        _batchOwner = address(0);
    }

    /// @dev The cache scope of the caller's open batch, 0 when the caller has none.
    function _scope() private view returns (uint256) {
        return msg.sender == _batchOwner ? _batchScope : 0;
    }

    /// @dev Partial liquidation of `snap`'s position: the plan's size moves to the pool, the penalty to the
    /// keeper and the insurance fund.
    function _partial(
        BucketId account,
        BucketId poolAccount,
        BucketId keeperAccount,
        MarketSnapshot memory snap,
        Health memory h,
        uint256 requested
    ) private returns (LiquidationPlan memory plan) {
        plan = _partialPlan(account, h, snap, requested);
        _moveToPool(account, poolAccount, snap.market, plan.signedClose, plan.mark);
        _cash[account] -= plan.penalty.toInt256();
        if (plan.reward != 0) _cash[keeperAccount] += plan.reward.toInt256();
        uint256 insuranceFee = plan.penalty - plan.reward;
        if (insuranceFee != 0) _cash[BucketIdLib.insurance(account.tier())] += insuranceFee.toInt256();
        emit PenaltyCharged(account, keeperAccount, plan.reward, insuranceFee);
    }

    /// @dev Backstop takeover of `account` by the pool; the keeper's reward from the pool's cash. Returns it.
    function _backstop(
        BucketId account,
        BucketId poolAccount,
        BucketId keeperAccount,
        AccountRead memory r,
        uint256 at
    ) private returns (uint256 reward) {
        uint256 cap = at < r.markets.length ? r.markets[at].params.keeperRewardCap : 0;
        reward = LiquidationMath.backstopReward(r.h, cap);
        _takeOver(account, poolAccount, r);
        if (reward != 0) _moveCash(poolAccount, keeperAccount, reward.toInt256());
    }

    /// @inheritdoc IClearingHouse
    function transferPosition(
        BucketId from,
        BucketId to,
        uint16 market,
        int256 size,
        uint256 price
    ) external onlyLiquidator nonReentrant {
        if (size == 0) revert ClearingZeroSize();
        IRiskEngine.TierConfig memory tc = _requireSameTier(from, to);
        uint8 tier = from.tier();
        _accrueFunding(tier, market);
        int256 notional = PositionMath.fillNotional(-size, price);
        (, int256 fromRealized) = _applySide(from, tc.maxPositions, market, -size, notional, 0);
        (, int256 toRealized) = _applySide(to, tc.maxPositions, market, size, -notional, 0);
        emit PositionTransferred(from, to, market, size, price, fromRealized, toRealized);
    }

    /// @inheritdoc IClearingHouse
    function transferCash(BucketId from, BucketId to, int256 amount) external onlyLiquidator nonReentrant {
        _requireSameTier(from, to);
        _moveCash(from, to, amount);
    }

    /// @inheritdoc IClearingHouse
    function transferCollateral(
        BucketId from,
        BucketId to,
        address token,
        uint256 amount
    ) external onlyLiquidator nonReentrant {
        _requireSameTier(from, to);
        VAULT.move(from, to, token, amount);
    }

    /// @inheritdoc IClearingHouse
    function drawReserve(BucketId to, uint256 amount) external onlyLiquidator nonReentrant returns (uint256 drawn) {
        IRiskEngine.TierConfig memory tc = _requireAccount(to);
        drawn = Math.min(amount, VAULT.reserveAvailable(to.tier(), tc.quoteToken));
        if (drawn != 0) VAULT.drawReserve(to, tc.quoteToken, drawn);
    }

    /// @dev The plan for `snap`'s position (scaled to `requested` when smaller), proven to leave the account
    /// healthier (DESIGN §6.4) before anything moves.
    function _partialPlan(
        BucketId account,
        Health memory h,
        MarketSnapshot memory snap,
        uint256 requested
    ) private pure returns (LiquidationPlan memory plan) {
        int256 size = snap.position.size;
        plan = LiquidationMath.plan(h, size, snap.lower, snap.upper, snap.params);
        if (plan.mark == 0) revert ILiquidationEngine.LiquidationNoPosition(account, snap.market);
        if (requested != 0) {
            if (requested > plan.closeSize) {
                revert ILiquidationEngine.LiquidationTooLarge(account, plan.closeSize, requested);
            }
            plan = LiquidationMath.scaled(plan, requested);
        }
        LiquidationMath.requireImprovement(account, h, size, snap.upper, snap.params, plan);
    }

    /// @dev The pool's account takes over every position of `account` at the conservative marks of the read,
    /// every collateral balance and the cash.
    function _takeOver(BucketId account, BucketId poolAccount, AccountRead memory r) private {
        // The read's snapshot drives the loop; each close removes its market from the stored set by value.
        for (uint256 i = r.markets.length; i != 0; --i) {
            MarketSnapshot memory snap = r.markets[i - 1];
            int256 size = snap.position.size;
            _moveToPool(account, poolAccount, snap.market, size, size > 0 ? snap.lower : snap.upper);
        }
        for (uint256 i; i < r.tokens.length; ++i) {
            if (r.balances[i] != 0) VAULT.move(account, poolAccount, r.tokens[i], r.balances[i]);
        }
        int256 remaining = _cash[account];
        if (remaining != 0) _moveCash(account, poolAccount, remaining);
    }

    function _moveCash(BucketId from, BucketId to, int256 amount) private {
        _cash[from] -= amount;
        _cash[to] += amount;
        emit CashTransferred(from, to, amount);
    }

    /// @dev Where `market` is in `markets`, or `markets.length`.
    function _indexOf(MarketSnapshot[] memory markets, uint16 market) private pure returns (uint256 i) {
        // Bounded by the tier's maxPositions.
        for (; i < markets.length; ++i) {
            if (markets[i].market == market) return i;
        }
    }

    /// @dev `size` of `account`'s position in `market` goes to the pool's account at `price`.
    function _moveToPool(BucketId account, BucketId poolAccount, uint16 market, int256 size, uint256 price) private {
        int256 notional = PositionMath.fillNotional(-size, price);
        // The liquidated side only shrinks (a market it does not hold reverts: its bound is 0).
        (, int256 fromRealized) = _applySide(account, 0, market, -size, notional, 0);
        (, int256 toRealized) = _applySide(poolAccount, MAX_POOL_POSITIONS, market, size, -notional, 0);
        emit PositionTransferred(account, poolAccount, market, size, price, fromRealized, toRealized);
    }

    // ================================================================ governance

    /// @inheritdoc IClearingHouse
    function setPool(uint8 tier, address pool_) external restricted {
        if (!RISK.tierConfig(tier).listed) revert IRiskEngine.RiskUnknownTier(tier);
        if (_pools[tier] != address(0)) revert ClearingPoolAlreadySet(tier);
        if (pool_ == address(0)) revert ClearingInvalidAccount(BucketIdLib.account(pool_, tier, 0));
        _pools[tier] = pool_;
        emit PoolSet(tier, pool_);
    }

    /// @inheritdoc IClearingHouse
    function setLiquidator(address account, bool registered) external restricted {
        if (account == address(0)) revert ClearingInvalidLiquidator(account);
        _liquidators[account] = registered;
        emit LiquidatorSet(account, registered);
    }

    /// @inheritdoc IClearingHouse
    function setExecutor(address account, bool registered) external restricted {
        if (account == address(0)) revert ClearingInvalidLiquidator(account);
        _executors[account] = registered;
        emit ExecutorSet(account, registered);
    }

    // ================================================================ views

    /// @inheritdoc IClearingHouse
    function position(BucketId account, uint16 market) external view returns (Position memory) {
        return _positions[account][market];
    }

    /// @inheritdoc IClearingHouse
    function accountMarkets(BucketId account) external view returns (uint16[] memory) {
        return MarketSet.toArray(_accountMarkets[account]);
    }

    /// @inheritdoc IClearingHouse
    function cash(BucketId account) external view returns (int256) {
        return _cash[account];
    }

    /// @inheritdoc IClearingHouse
    function health(BucketId account) external view returns (Health memory) {
        (IRiskEngine.TierConfig memory tc, address[] memory tokens) = _requireAccountContext(account);
        ContextCache.MarketEntry memory none;
        return _health(account, tc, tokens, false, 0, none);
    }

    /// @inheritdoc IClearingHouse
    function fundingState(uint8 tier, uint16 market) external view returns (int256 index, int256 ratePerDayWad) {
        IRiskEngine.MarginParams memory mp = RISK.marginParams(tier, market);
        uint256 price = _price(mp.oracleAsset, false).price;
        return _fundingIndexNow(tier, market, price, mp.maxFundingBpsPerDay, mp.fundingSkewScale);
    }

    /// @inheritdoc IClearingHouse
    function openInterest(uint8 tier, uint16 market) external view returns (uint256) {
        return _marketStates[tier][market].longOpenInterest;
    }

    /// @inheritdoc IClearingHouse
    function pool(uint8 tier) external view returns (address) {
        return _pools[tier];
    }

    /// @inheritdoc IClearingHouse
    function isLiquidator(address account) external view returns (bool) {
        return _liquidators[account];
    }

    /// @inheritdoc IClearingHouse
    function isExecutor(address account) external view returns (bool) {
        return _executors[account];
    }

    /// @inheritdoc IClearingHouse
    function tradeState(
        BucketId taker,
        BucketId maker,
        uint16 market
    ) external view returns (int256 takerSize, int256 makerSize, uint256 openInterest_) {
        return (
            _positions[taker][market].size,
            _positions[maker][market].size,
            _marketStates[taker.tier()][market].longOpenInterest
        );
    }

    /// @inheritdoc IClearingHouse
    function isOperator(address owner, address operator) external view returns (bool) {
        return _operators[owner][operator];
    }

    // ================================================================ fills

    /// @dev Validates a fill's accounts and price. Returns the tier's config and collateral tokens.
    function _checkFill(
        Fill calldata f
    ) private view returns (IRiskEngine.TierConfig memory tc, address[] memory tokens) {
        if (f.size == 0) revert ClearingZeroSize();
        if (f.price == 0 || f.price > MAX_PRICE) revert ClearingInvalidPrice(f.price);
        if (BucketId.unwrap(f.taker) == BucketId.unwrap(f.maker)) revert ClearingSelfTrade(f.taker);
        uint8 tier = f.taker.tier();
        if (tier != f.maker.tier()) revert ClearingCrossTierFill(f.taker, f.maker);
        (tc, tokens) = _requireAccountContext(f.taker);
        // Only owned accounts trade; a tier's settlement bucket and insurance fund never hold positions.
        if (f.taker.owner() == address(0)) revert ClearingInvalidAccount(f.taker);
        if (f.maker.owner() == address(0)) revert ClearingInvalidAccount(f.maker);
    }

    function _emitFill(Fill calldata f, int256 takerRealized, int256 makerRealized) private {
        emit FillApplied(
            f.taker,
            f.maker,
            f.market,
            f.size,
            f.price,
            f.takerFee,
            f.makerFee,
            f.poolFee,
            f.protocolFee,
            takerRealized,
            makerRealized
        );
    }

    /// @dev Settles the side's funding in the market, applies the fill and its fee, keeps the account's
    /// market list and the open interest. Returns whether the side's risk grew, and the PnL it realized.
    function _applySide(
        BucketId account,
        uint256 maxPositions,
        uint16 market,
        int256 dSize,
        int256 notional,
        uint256 fee
    ) private returns (bool increases, int256 realized) {
        uint8 tier = account.tier();
        Position storage p = _positions[account][market];
        int256 oldSize = p.size;
        _settleFunding(account, market, p, _marketStates[tier][market].fundingIndex);

        int256 newSize;
        int256 newOpenNotional;
        (newSize, newOpenNotional, realized) = PositionMath.applyFill(oldSize, p.openNotional, dSize, notional);
        p.size = newSize.toInt128();
        p.openNotional = newOpenNotional.toInt128();
        _cash[account] += realized - fee.toInt256();

        if (oldSize == 0 && newSize != 0) {
            _addMarket(account, maxPositions, market);
        } else if (oldSize != 0 && newSize == 0) {
            _removeMarket(account, market);
            p.fundingIndex = 0;
        }

        MarketState storage ms = _marketStates[tier][market];
        uint256 oi = ms.longOpenInterest;
        if (oldSize > 0) oi -= uint256(oldSize);
        if (newSize > 0) oi += uint256(newSize);
        ms.longOpenInterest = oi.toUint128();

        increases = PositionMath.increases(oldSize, dSize);
    }

    function _addMarket(BucketId account, uint256 maxPositions, uint16 market) private {
        uint256 set = _accountMarkets[account];
        // The pool takes over liquidated positions in any of the tier's markets: its bound is the tier's
        // market count (the risk engine caps it), never the per-account limit that could block a takeover.
        uint256 max = account.owner() == _pools[account.tier()] ? MAX_POOL_POSITIONS : maxPositions;
        if (MarketSet.length(set) >= max) revert ClearingTooManyPositions(account, max);
        _accountMarkets[account] = MarketSet.add(set, market);
    }

    function _removeMarket(BucketId account, uint16 market) private {
        _accountMarkets[account] = MarketSet.remove(_accountMarkets[account], market);
    }

    /// @dev IM for a side whose risk grew, equity >= 0 for a reducing side; at the strict read when the fill's
    /// read is strict and the side's risk grew, otherwise at the liquidation read. The fill's market is valued
    /// with the fill's read. Returns the side's equity.
    function _requireMargin(BucketId account, bool increases, FillRead memory r) private view returns (int256) {
        Health memory h = _health(account, r.tc, r.tokens, r.strict && increases, r.market, r.ctx);
        uint256 requirement = increases ? h.im : 0;
        if (h.equity < requirement.toInt256()) revert ClearingInsufficientMargin(account, h.equity, requirement);
        return h.equity;
    }

    // ================================================================ funding

    /// @dev Funding follows the pool's inventory: when the pool is short (traders net long), longs pay.
    /// Rate per day = maxFunding × clamp(−poolSize / skewScale, −1, 1), applied to the mid price.
    function _fundingIndexNow(
        uint8 tier,
        uint16 market,
        uint256 price,
        uint256 maxFundingBpsPerDay,
        uint256 fundingSkewScale
    ) private view returns (int256 index, int256 ratePerDayWad) {
        MarketState memory ms = _marketStates[tier][market];
        index = ms.fundingIndex;
        address pool_ = _pools[tier];
        if (pool_ == address(0) || fundingSkewScale == 0) return (index, 0);
        int256 skew = -_positions[BucketIdLib.account(pool_, tier, 0)][market].size;
        int256 maxRate = (maxFundingBpsPerDay * BPS_TO_WAD).toInt256();
        ratePerDayWad = (maxRate * skew) / fundingSkewScale.toInt256();
        if (ratePerDayWad > maxRate) ratePerDayWad = maxRate;
        if (ratePerDayWad < -maxRate) ratePerDayWad = -maxRate;
        uint256 elapsed = ms.lastFundingUpdate == 0 ? 0 : block.timestamp - ms.lastFundingUpdate;
        // index moves by rate × price × elapsed / 1 day, in quote WAD per base unit.
        int256 move = (ratePerDayWad * price.toInt256() * elapsed.toInt256()) / (1 days * int256(WAD));
        index += move;
    }

    /// @dev Moves the funding index of `market` in `tier` to now. Reads nothing when it already moved this
    /// block; otherwise one risk read and one oracle read.
    function _accrueFunding(uint8 tier, uint16 market) private {
        if (_marketStates[tier][market].lastFundingUpdate == block.timestamp) return;
        IRiskEngine.MarginParams memory mp = RISK.marginParams(tier, market);
        _accrueWith(tier, market, mp, _price(mp.oracleAsset, false).price);
    }

    /// @dev Moves the funding index of `market` in `tier` to now with parameters and a mid price already
    /// read, and returns it.
    function _accrueWith(
        uint8 tier,
        uint16 market,
        IRiskEngine.MarginParams memory mp,
        uint256 mid
    ) private returns (int256 index) {
        MarketState storage ms = _marketStates[tier][market];
        if (ms.lastFundingUpdate == block.timestamp) return ms.fundingIndex;
        int256 rate;
        (index, rate) = _fundingIndexNow(tier, market, mid, mp.maxFundingBpsPerDay, mp.fundingSkewScale);
        ms.fundingIndex = index;
        ms.lastFundingUpdate = uint48(block.timestamp);
        emit FundingAccrued(tier, market, index, rate);
    }

    /// @dev Realizes the funding a position owes since its snapshot into cash, and moves the snapshot.
    function _settleFunding(BucketId account, uint16 market, Position storage p, int256 index) private {
        int256 owed = PositionMath.fundingOwed(p.size, index, p.fundingIndex);
        p.fundingIndex = index;
        if (owed != 0) {
            _cash[account] -= owed;
            emit FundingSettled(account, market, owed);
        }
    }

    // ================================================================ settlement

    function _settle(BucketId account, IRiskEngine.TierConfig memory tc) private {
        uint8 tier = account.tier();
        uint256 markets = _accountMarkets[account];
        uint256 count = MarketSet.length(markets);
        for (uint256 i; i < count; ++i) {
            uint16 market = MarketSet.at(markets, i);
            _settleFunding(account, market, _positions[account][market], _marketStates[tier][market].fundingIndex);
        }
        _settleCash(account, tc);
    }

    /// @dev Pays the account's cash in quote tokens to or from its tier's settlement bucket, as far as the
    /// payer's balance goes.
    function _settleCash(BucketId account, IRiskEngine.TierConfig memory tc) private {
        int256 balance = _cash[account];
        if (balance == 0) return;
        uint256 scale = 10 ** (18 - tc.quoteDecimals);
        BucketId settlement = BucketIdLib.settlement(account.tier());
        // A debt is paid into the settlement bucket, rounded up (the account pays at least what it owes); a
        // credit is paid out of it, rounded down (at most what it is owed). The rest stays cash.
        (BucketId from, BucketId to, uint256 due) = balance < 0
            ? (account, settlement, Math.ceilDiv(uint256(-balance), scale))
            : (settlement, account, uint256(balance) / scale);
        uint256 paid = Math.min(due, VAULT.balanceOf(from, tc.quoteToken));
        if (paid == 0) return;
        VAULT.move(from, to, tc.quoteToken, paid);
        int256 tokens = balance < 0 ? paid.toInt256() : -paid.toInt256();
        int256 cashAfter = balance + tokens * scale.toInt256();
        _cash[account] = cashAfter;
        emit Settled(account, tokens, cashAfter);
    }

    // ================================================================ margin

    /// @dev The liquidation read of `account`: funding of each of its markets moved to now, its health at the
    /// liquidation price, and what the figures came from (per market and per collateral token).
    function _accrueRead(
        BucketId account,
        IRiskEngine.TierConfig memory tc,
        address[] memory tokens
    ) private returns (AccountRead memory r) {
        uint8 tier = account.tier();
        Health memory h = r.h;
        r.tokens = tokens;
        (r.balances, h.collateralValue) = _collateral(account, tc, tokens, false);
        h.cash = _cash[account];
        uint256 markets = _accountMarkets[account];
        uint256 count = MarketSet.length(markets);
        h.positions = count;
        r.markets = new MarketSnapshot[](count);
        for (uint256 i; i < count; ++i) {
            MarketSnapshot memory snap = r.markets[i];
            snap.market = MarketSet.at(markets, i);
            ContextCache.MarketEntry memory ctx = _marketContext(tier, snap.market);
            snap.params = ctx.params;
            int256 index = _accrueWith(tier, snap.market, snap.params, ctx.mid);
            snap.position = _positions[account][snap.market];
            (snap.lower, snap.upper) = (ctx.lower, ctx.upper);
            _addPosition(h, snap.position, ctx, index);
        }
        h.equity = _equity(h);
    }

    /// @dev The parameters and liquidation price band of `market` in `tier`: read once per batch (a batch of
    /// liquidations in one market reads the risk engine and the oracle once), otherwise at each call.
    function _marketContext(uint8 tier, uint16 market) private returns (ContextCache.MarketEntry memory e) {
        uint256 scope = _scope();
        if (scope != 0) {
            bool found;
            (found, e) = ContextCache.loadMarket(scope, tier, market);
            if (found) return e;
        }
        e = _readMarket(tier, market, false);
        if (scope != 0) ContextCache.storeMarket(scope, tier, market, e);
    }

    /// @dev The parameters of `market` in `tier` and its price band (strict or liquidation read), read now.
    function _readMarket(
        uint8 tier,
        uint16 market,
        bool strict
    ) private view returns (ContextCache.MarketEntry memory e) {
        e.params = RISK.marginParams(tier, market);
        IOracleRouter.Price memory p = _price(e.params.oracleAsset, strict);
        (e.lower, e.mid, e.upper) = (p.lower, p.price, p.upper);
    }

    /// @dev The margin figures of `account`. `strict` uses the strict oracle read (reverts unless every
    /// price is good), otherwise the liquidation read (never reverts but for a missing price). `known`
    /// (0: none; market 0 is never listed) is valued with `ctx`, read already, at its accrued funding index.
    function _health(
        BucketId account,
        IRiskEngine.TierConfig memory tc,
        address[] memory tokens,
        bool strict,
        uint16 known,
        ContextCache.MarketEntry memory ctx
    ) private view returns (Health memory h) {
        uint8 tier = account.tier();
        (, h.collateralValue) = _collateral(account, tc, tokens, strict);
        h.cash = _cash[account];

        uint256 markets = _accountMarkets[account];
        uint256 count = MarketSet.length(markets);
        h.positions = count;
        for (uint256 i; i < count; ++i) {
            uint16 market = MarketSet.at(markets, i);
            // The fill's market was read already and its funding accrued; any other is read now.
            if (market == known) {
                _addPosition(h, _positions[account][market], ctx, _marketStates[tier][market].fundingIndex);
            } else {
                _addPositionNow(h, account, tier, market, strict);
            }
        }
        h.equity = _equity(h);
    }

    /// @dev Adds `account`'s position in `market` to `h`, read now (one risk and one oracle read).
    function _addPositionNow(Health memory h, BucketId account, uint8 tier, uint16 market, bool strict) private view {
        ContextCache.MarketEntry memory e = _readMarket(tier, market, strict);
        (int256 index, ) = _fundingIndexNow(
            tier,
            market,
            e.mid,
            e.params.maxFundingBpsPerDay,
            e.params.fundingSkewScale
        );
        _addPosition(h, _positions[account][market], e, index);
    }

    function _equity(Health memory h) private pure returns (int256) {
        return h.collateralValue.toInt256() + h.cash + h.unrealizedPnl - h.pendingFunding;
    }

    /// @dev Adds one position's PnL, pending funding (against `index`) and requirements to `h`.
    function _addPosition(
        Health memory h,
        Position memory p,
        ContextCache.MarketEntry memory e,
        int256 index
    ) private pure {
        // Conservative mark: a long is worth its low side, a short its high side.
        int256 pnl = PositionMath.unrealizedPnl(p.size, p.openNotional, p.size > 0 ? e.lower : e.upper);
        h.unrealizedPnl += pnl;
        if (pnl < 0) h.unrealizedLoss += pnl;
        h.pendingFunding += PositionMath.fundingOwed(p.size, index, p.fundingIndex);
        (uint256 im, uint256 mm, uint256 backstop) = MarginMath.requirements(
            PositionMath.notionalUp(p.size, e.upper),
            e.params
        );
        h.im += im;
        h.mm += mm;
        h.backstop += backstop;
    }

    /// @dev The account's balance of each of the tier's collateral `tokens`, and their Σ weighted value.
    function _collateral(
        BucketId account,
        IRiskEngine.TierConfig memory tc,
        address[] memory tokens,
        bool strict
    ) private view returns (uint256[] memory balances, uint256 total) {
        uint8 tier = account.tier();
        balances = VAULT.balancesOf(account, tokens);
        for (uint256 i; i < tokens.length; ++i) {
            if (balances[i] != 0) total += _weightedValue(tier, tc, tokens[i], balances[i], strict);
        }
    }

    /// @dev How much weighted collateral value `amount` of `token` carries out of the account.
    function _collateralValueRemoved(
        BucketId account,
        IRiskEngine.TierConfig memory tc,
        address token,
        uint256 amount
    ) private view returns (uint256) {
        uint256 balance = VAULT.balanceOf(account, token);
        if (amount >= balance) return _weightedValue(account.tier(), tc, token, balance, false);
        return
            _weightedValue(account.tier(), tc, token, balance, false) -
            _weightedValue(account.tier(), tc, token, balance - amount, false);
    }

    function _weightedValue(
        uint8 tier,
        IRiskEngine.TierConfig memory tc,
        address token,
        uint256 amount,
        bool strict
    ) private view returns (uint256) {
        if (amount == 0) return 0;
        if (token == tc.quoteToken) return amount * 10 ** (18 - tc.quoteDecimals);
        IRiskEngine.CollateralRisk memory c = RISK.collateralRisk(tier, token);
        if (!c.listed) return 0;
        uint8 decimals = VAULT.tokenConfig(token).decimals;
        // Rounding: down — collateral value favours the protocol; priced at the low side of the band.
        uint256 value = Math.mulDiv(amount, _price(c.oracleAsset, strict).lower, 10 ** decimals);
        return MarginMath.weightedValue(value, c);
    }

    function _price(bytes32 asset, bool strict) private view returns (IOracleRouter.Price memory p) {
        p = strict ? ORACLE.getPrice(asset) : ORACLE.getPriceForLiquidation(asset);
        if (p.flags & PriceFlags.UNAVAILABLE != 0) revert ClearingPriceUnavailable(asset);
    }

    // ================================================================ access

    /// @dev {_requireAccount} with the tier's collateral tokens, in one risk read.
    function _requireAccountContext(
        BucketId account
    ) private view returns (IRiskEngine.TierConfig memory tc, address[] memory tokens) {
        (tc, tokens) = RISK.tierContext(account.tier());
        if (!tc.listed || !account.isValid()) revert ClearingInvalidAccount(account);
    }

    function _requireAccount(BucketId account) private view returns (IRiskEngine.TierConfig memory tc) {
        tc = RISK.tierConfig(account.tier());
        if (!tc.listed || !account.isValid()) revert ClearingInvalidAccount(account);
    }

    function _requireSameTier(BucketId from, BucketId to) private view returns (IRiskEngine.TierConfig memory) {
        if (from.tier() != to.tier()) revert ClearingCrossTierTransfer(from, to);
        return _requireAccount(from);
    }

    function _requireOwnerOrOperator(BucketId account) private view {
        address owner = account.owner();
        if (msg.sender != owner && !_operators[owner][msg.sender]) revert ClearingUnauthorized(account, msg.sender);
    }
}
