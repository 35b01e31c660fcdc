// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {SignedMath} from "@openzeppelin/contracts/utils/math/SignedMath.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IClearingHouse} from "../interfaces/IClearingHouse.sol";
import {ICollateralVault} from "../interfaces/ICollateralVault.sol";
import {ILiquidationEngine} from "../interfaces/ILiquidationEngine.sol";
import {IOracleRouter, PriceFlags} from "../interfaces/IOracleRouter.sol";
import {IRiskEngine} from "../interfaces/IRiskEngine.sol";
import {BucketId, BucketIdLib} from "../libraries/BucketId.sol";
import {PositionMath as PositionMathView} from "../libraries/PositionMath.sol";

/// @title LiquidationEngine
/// @notice Partial liquidation, backstop takeover and the default waterfall. See {ILiquidationEngine}.
/// @dev Holds the LIQUIDATOR role on the clearing house; holds no funds and no state of its own.
contract LiquidationEngine is ILiquidationEngine, ReentrancyGuardTransient {
    using SafeCast for uint256;
    using SafeCast for int256;

    /// @dev A partial liquidation's plan.
    struct Plan {
        uint256 closeSize;
        uint256 mark;
        uint256 penalty;
        uint256 reward;
        bool isLong;
        int256 signedClose;
    }

    /// @dev One ADL target's position as validated.
    struct AdlLeg {
        int256 size;
        uint256 mark;
        uint256 profit;
        uint256 closeSize;
    }

    uint256 private constant WAD = 1e18;
    uint256 private constant BPS = 10_000;
    /// @notice A partial liquidation restores equity to MM plus this buffer (bps of MM).
    uint256 public constant HEALTH_BUFFER_BPS = 1_000;
    /// @notice A remaining position under this notional (quote WAD) is closed in full.
    uint256 public constant DUST_NOTIONAL = 10e18;
    /// @notice Discount a keeper receives on collateral it takes for repaying an account's debt.
    uint256 public constant COLLATERAL_DISCOUNT_BPS = 300;

    IClearingHouse public immutable CLEARING;
    ICollateralVault public immutable VAULT;
    IOracleRouter public immutable ORACLE;
    IRiskEngine public immutable RISK;

    constructor(IClearingHouse clearing, ICollateralVault vault, IOracleRouter oracle, IRiskEngine risk) {
        CLEARING = clearing;
        VAULT = vault;
        ORACLE = oracle;
        RISK = risk;
    }

    // ================================================================ keepers

    /// @inheritdoc ILiquidationEngine
    function liquidate(BucketId account, uint16 market, uint256 size) external nonReentrant {
        _liquidate(account, market, size, msg.sender);
    }

    /// @inheritdoc ILiquidationEngine
    function liquidateBatch(
        BucketId[] calldata accounts,
        uint16[] calldata markets
    ) external nonReentrant returns (uint256 liquidated) {
        uint256 count = Math.min(accounts.length, markets.length);
        for (uint256 i; i < count; ++i) {
            // An account that became healthy, or cannot be liquidated now, is skipped, not a failed batch.
            try this.liquidateOnBehalf(accounts[i], markets[i], msg.sender) {
                ++liquidated;
            } catch {}
        }
    }

    /// @inheritdoc ILiquidationEngine
    function liquidateOnBehalf(BucketId account, uint16 market, address keeper) external {
        if (msg.sender != address(this)) revert LiquidationOnlySelf(msg.sender);
        _liquidate(account, market, 0, keeper);
    }

    /// @inheritdoc ILiquidationEngine
    function preview(BucketId account, uint16 market) external view returns (Preview memory p) {
        try CLEARING.health(account) returns (IClearingHouse.Health memory h) {
            p.equity = h.equity;
            p.mm = h.mm;
            p.backstopRequirement = h.backstop;
            p.liquidatable = h.equity < h.mm.toInt256();
            if (!p.liquidatable) return p;
            p.backstop = h.equity < h.backstop.toInt256();
            if (p.backstop) {
                p.deficit = h.equity < 0 ? uint256(-h.equity) : 0;
                p.keeperReward = _backstopReward(h, RISK.marketRisk(account.tier(), market).keeperRewardCap);
                return p;
            }
            try this.partialPlan(account, market, h) returns (uint256 closeSize, uint256, uint256, uint256 reward) {
                (p.closeSize, p.keeperReward) = (closeSize, reward);
            } catch {}
        } catch {}
    }

    /// @notice The partial liquidation `preview` and `liquidate` compute: size to close, mark price, penalty
    /// and keeper reward. A view for keepers; reverts when the account has no position in the market.
    function partialPlan(
        BucketId account,
        uint16 market,
        IClearingHouse.Health memory h
    ) public view returns (uint256 closeSize, uint256 mark, uint256 penalty, uint256 reward) {
        Plan memory plan = _plan(account, market, h);
        return (plan.closeSize, plan.mark, plan.penalty, plan.reward);
    }

    /// @inheritdoc ILiquidationEngine
    function adl(uint8 tier, uint16 market, BucketId[] calldata targets) external nonReentrant {
        address pool = CLEARING.pool(tier);
        if (pool == address(0)) revert LiquidationNoPool(tier);
        BucketId poolAccount = BucketIdLib.account(pool, tier, 0);
        int256 poolEquity = CLEARING.health(poolAccount).equity;
        if (poolEquity >= 0) revert AdlNotNeeded(tier, poolEquity);
        uint256 deficit = uint256(-poolEquity);
        IOracleRouter.Price memory price = ORACLE.getPriceForLiquidation(RISK.marketOracleAsset(market));

        for (uint256 i; i < targets.length && deficit != 0; ++i) {
            deficit -= _deleverage(targets[i], tier, market, poolAccount, price, deficit);
        }
    }

    /// @inheritdoc ILiquidationEngine
    function liquidateCollateral(BucketId account, address token, uint256 repay) external nonReentrant {
        uint8 tier = account.tier();
        IRiskEngine.TierConfig memory tc = RISK.tierConfig(tier);
        IRiskEngine.CollateralRisk memory c = RISK.collateralRisk(tier, token);
        if (token == tc.quoteToken || !c.listed) revert CollateralLiquidationInvalidToken(account, token);
        uint256 repaid = _repayDebt(account, tc, repay);

        // Collateral worth the repaid amount plus the discount, at the mid price; never more than there is.
        uint256 value = Math.mulDiv(repaid, BPS + COLLATERAL_DISCOUNT_BPS, BPS);
        uint256 unit = 10 ** VAULT.tokenConfig(token).decimals;
        // Rounding: down — the keeper receives no more than the discount allows.
        uint256 seized = Math.mulDiv(value, unit, ORACLE.getPriceForLiquidation(c.oracleAsset).price);
        seized = Math.min(seized, VAULT.balanceOf(account, token));
        CLEARING.transferCollateral(account, BucketIdLib.account(msg.sender, tier, 0), token, seized);
        emit CollateralLiquidated(account, token, msg.sender, repaid, seized);
    }

    /// @dev Pulls up to `repay` quote tokens from the keeper into the account and settles them against its
    /// debt. Returns the repaid amount in quote WAD.
    function _repayDebt(
        BucketId account,
        IRiskEngine.TierConfig memory tc,
        uint256 repay
    ) private returns (uint256 repaid) {
        CLEARING.settle(account);
        int256 cash = CLEARING.cash(account);
        uint256 quoteBalance = VAULT.balanceOf(account, tc.quoteToken);
        if (cash >= 0 || quoteBalance != 0) revert CollateralLiquidationNotAllowed(account, cash, quoteBalance);

        uint256 scale = 10 ** (18 - tc.quoteDecimals);
        // Rounding: up — the debt in token units, the most the keeper may repay.
        uint256 repayTokens = Math.min(repay, Math.ceilDiv(uint256(-cash), scale));
        // The keeper's quote goes into the account's bucket; settling moves it to the settlement bucket.
        SafeERC20.safeTransferFrom(IERC20(tc.quoteToken), msg.sender, address(this), repayTokens);
        SafeERC20.forceApprove(IERC20(tc.quoteToken), address(VAULT), repayTokens);
        VAULT.deposit(tc.quoteToken, repayTokens, account);
        CLEARING.settle(account);
        repaid = repayTokens * scale;
    }

    // ================================================================ liquidation

    function _liquidate(BucketId account, uint16 market, uint256 requested, address keeper) private {
        uint8 tier = account.tier();
        address pool = CLEARING.pool(tier);
        if (pool == address(0)) revert LiquidationNoPool(tier);
        // The pool is the backstop itself: its losses are its LPs' (step 4), then auto-deleveraging.
        if (account.owner() == pool) revert LiquidationOfPool(tier);
        IClearingHouse.Health memory h = CLEARING.health(account);
        if (h.equity >= h.mm.toInt256()) revert LiquidationAccountHealthy(account, h.equity, h.mm);
        BucketId poolAccount = BucketIdLib.account(pool, tier, 0);
        if (h.equity < h.backstop.toInt256()) {
            _backstop(account, market, h, poolAccount, keeper);
            return;
        }

        _partial(account, market, requested, keeper, h, poolAccount);
    }

    /// @dev A partial liquidation: the plan's size (or the keeper's smaller `requested`) goes to the pool.
    function _partial(
        BucketId account,
        uint16 market,
        uint256 requested,
        address keeper,
        IClearingHouse.Health memory h,
        BucketId poolAccount
    ) private {
        Plan memory plan = _plan(account, market, h);
        if (requested != 0) {
            if (requested > plan.closeSize) revert LiquidationTooLarge(account, plan.closeSize, requested);
            // A smaller close pays a proportionally smaller penalty and reward.
            plan.penalty = Math.mulDiv(plan.penalty, requested, plan.closeSize, Math.Rounding.Ceil);
            plan.reward = Math.mulDiv(plan.reward, requested, plan.closeSize);
            plan.closeSize = requested;
        }
        plan.signedClose = plan.isLong ? plan.closeSize.toInt256() : -plan.closeSize.toInt256();

        CLEARING.transferPosition(account, poolAccount, market, plan.signedClose, plan.mark);
        uint8 tier = account.tier();
        if (plan.reward != 0) {
            CLEARING.transferCash(account, BucketIdLib.account(keeper, tier, 0), plan.reward.toInt256());
        }
        if (plan.penalty > plan.reward) {
            CLEARING.transferCash(account, BucketIdLib.insurance(tier), (plan.penalty - plan.reward).toInt256());
        }
        emit Liquidated(account, market, keeper, plan.signedClose, plan.mark, plan.penalty, plan.reward);

        // DESIGN §6.4: a liquidation leaves the account healthier (its excess over MM grows) or closed.
        IClearingHouse.Health memory after_ = CLEARING.health(account);
        int256 excessBefore = h.equity - h.mm.toInt256();
        int256 excessAfter = after_.equity - after_.mm.toInt256();
        if (after_.positions != 0 && excessAfter <= excessBefore) {
            revert LiquidationNotImproved(account, excessBefore, excessAfter);
        }
    }

    /// @dev The pool takes over every position, the collateral and the cash; then the waterfall.
    function _backstop(
        BucketId account,
        uint16 market,
        IClearingHouse.Health memory h,
        BucketId poolAccount,
        address keeper
    ) private {
        uint8 tier = account.tier();
        BucketId keeperAccount = BucketIdLib.account(keeper, tier, 0);
        uint16[] memory markets = CLEARING.accountMarkets(account);
        for (uint256 i; i < markets.length; ++i) {
            int256 size = CLEARING.position(account, markets[i]).size;
            IOracleRouter.Price memory price = ORACLE.getPriceForLiquidation(RISK.marketOracleAsset(markets[i]));
            CLEARING.transferPosition(account, poolAccount, markets[i], size, size > 0 ? price.lower : price.upper);
        }
        address[] memory tokens = RISK.tierCollaterals(tier);
        for (uint256 i; i < tokens.length; ++i) {
            uint256 balance = VAULT.balanceOf(account, tokens[i]);
            if (balance != 0) CLEARING.transferCollateral(account, poolAccount, tokens[i], balance);
        }
        int256 cash = CLEARING.cash(account);
        if (cash != 0) CLEARING.transferCash(account, poolAccount, cash);

        uint256 reward = _backstopReward(h, RISK.marketRisk(tier, market).keeperRewardCap);
        if (reward != 0) CLEARING.transferCash(poolAccount, keeperAccount, reward.toInt256());
        emit BackstopTakeover(account, keeper, markets.length, h.equity, reward);

        emit WaterfallStep(account, 1, h.collateralValue);
        if (h.equity < 0) _waterfall(account, tier, poolAccount, uint256(-h.equity));
    }

    /// @dev Steps 2–4 of DESIGN §5 for a deficit the pool now carries: the insurance fund and the reserve
    /// compensate the pool as far as they can, the pool's LPs absorb the rest. Σ steps == deficit (§6.5).
    function _waterfall(BucketId account, uint8 tier, BucketId poolAccount, uint256 deficit) private {
        BucketId insurance = BucketIdLib.insurance(tier);
        IRiskEngine.TierConfig memory tc = RISK.tierConfig(tier);
        uint256 scale = 10 ** (18 - tc.quoteDecimals);

        // 2. The tier's insurance fund: its cash plus its quote tokens (the cash it owes turns into a token
        //    payment when it settles).
        int256 insuranceFunds =
            CLEARING.cash(insurance) + (VAULT.balanceOf(insurance, tc.quoteToken) * scale).toInt256();
        uint256 fromInsurance = insuranceFunds <= 0 ? 0 : Math.min(deficit, uint256(insuranceFunds));
        if (fromInsurance != 0) CLEARING.transferCash(insurance, poolAccount, fromInsurance.toInt256());
        emit WaterfallStep(account, 2, fromInsurance);
        uint256 rest = deficit - fromInsurance;

        // 3. The protocol reserve, for eligible tiers and within the tier's allowance this epoch.
        uint256 fromReserve;
        if (rest != 0) {
            // Rounding: down — the reserve pays whole token units, never more than the rest.
            uint256 drawn = CLEARING.drawReserve(poolAccount, rest / scale);
            fromReserve = drawn * scale;
        }
        emit WaterfallStep(account, 3, fromReserve);

        // 4. The tier's pool: what is left stays its loss, in its share price at once.
        emit WaterfallStep(account, 4, rest - fromReserve);
    }

    /// @dev One ADL target: validated, then closed against the pool at a price that moves up to `deficit` of
    /// its profit to the pool. Returns what it absorbed.
    function _deleverage(
        BucketId target,
        uint8 tier,
        uint16 market,
        BucketId poolAccount,
        IOracleRouter.Price memory price,
        uint256 deficit
    ) private returns (uint256 absorbed) {
        AdlLeg memory leg = _adlLeg(target, tier, market, poolAccount, price);
        // Profit carried by the closed part, rounded down; at most the deficit.
        absorbed = Math.min(Math.mulDiv(leg.profit, leg.closeSize, SignedMath.abs(leg.size)), deficit);
        // Shift the close price against the target by absorbed / closeSize (rounded so it absorbs no less).
        uint256 shift = Math.mulDiv(absorbed, WAD, leg.closeSize, Math.Rounding.Ceil);
        uint256 adlPrice = leg.size > 0 ? leg.mark - Math.min(shift, leg.mark - 1) : leg.mark + shift;
        int256 signedClose = leg.size > 0 ? leg.closeSize.toInt256() : -leg.closeSize.toInt256();
        CLEARING.transferPosition(target, poolAccount, market, signedClose, adlPrice);
        emit AutoDeleveraged(target, market, signedClose, adlPrice, absorbed);
        emit WaterfallStep(target, 5, absorbed);
    }

    /// @dev Validates an ADL target (same tier, opposite to the pool, in profit at its conservative mark).
    function _adlLeg(
        BucketId target,
        uint8 tier,
        uint16 market,
        BucketId poolAccount,
        IOracleRouter.Price memory price
    ) private view returns (AdlLeg memory leg) {
        if (target.tier() != tier) revert AdlWrongTier(target, tier);
        IClearingHouse.Position memory t = CLEARING.position(target, market);
        int256 poolSize = CLEARING.position(poolAccount, market).size;
        if (t.size == 0 || poolSize == 0 || (t.size > 0) == (poolSize > 0)) {
            revert AdlSameSide(target, t.size, poolSize);
        }
        leg.size = t.size;
        // The low side for a long, the high side for a short.
        leg.mark = t.size > 0 ? price.lower : price.upper;
        int256 pnl = PositionMathView.unrealizedPnl(t.size, t.openNotional, leg.mark);
        if (pnl <= 0) revert AdlNotInProfit(target, pnl);
        leg.profit = uint256(pnl);
        leg.closeSize = Math.min(SignedMath.abs(t.size), SignedMath.abs(poolSize));
    }

    /// @dev The partial liquidation of `account` in `market`: size to close, the position's side, mark
    /// price, penalty and keeper reward. Reverts when there is no position or no price.
    function _plan(
        BucketId account,
        uint16 market,
        IClearingHouse.Health memory h
    ) private view returns (Plan memory plan) {
        int256 size = CLEARING.position(account, market).size;
        if (size == 0) revert LiquidationNoPosition(account, market);
        uint8 tier = account.tier();
        IRiskEngine.MarketRisk memory risk = RISK.marketRisk(tier, market);
        IRiskEngine.MarginParams memory mp = RISK.marginParams(tier, market);
        IOracleRouter.Price memory price = ORACLE.getPriceForLiquidation(mp.oracleAsset);
        // The pool takes over at the conservative mark: the low side for a long, the high side for a short.
        plan.mark = size > 0 ? price.lower : price.upper;
        if (plan.mark == 0 || price.flags & PriceFlags.UNAVAILABLE != 0) revert LiquidationNoPosition(account, market);

        uint256 absSize = SignedMath.abs(size);
        plan.closeSize = _closeSize(h, mp.ratios.mmr, risk.liquidationPenaltyBps, plan.mark, absSize);
        uint256 closedNotional = Math.mulDiv(plan.closeSize, plan.mark, WAD);
        // Rounding: up — the penalty owed to the protocol.
        plan.penalty = Math.mulDiv(closedNotional, risk.liquidationPenaltyBps, BPS, Math.Rounding.Ceil);
        plan.reward = Math.min(
            Math.mulDiv(plan.penalty, _keeperShareBps(h, risk.keeperShareBps), BPS),
            risk.keeperRewardCap
        );
        plan.isLong = size > 0;
    }

    /// @dev Smallest close restoring equity to MM × (1 + buffer): equity − penalty·X ≥ (1+b)(MM − mmr·X),
    /// so X ≥ ((1+b)·MM − equity) / ((1+b)·mmr − penalty). Closing at the mark moves no equity; the MM of
    /// the closed part falls by at least `mmr` of its notional (brackets only add), so X is enough.
    function _closeSize(
        IClearingHouse.Health memory h,
        uint256 mmrBps,
        uint256 penaltyBps,
        uint256 mark,
        uint256 absSize
    ) private pure returns (uint256 closeSize) {
        uint256 target = Math.mulDiv(h.mm, BPS + HEALTH_BUFFER_BPS, BPS, Math.Rounding.Ceil);
        uint256 equity = h.equity > 0 ? uint256(h.equity) : 0;
        if (equity >= target) return 0;
        // (1+b)·mmr − penalty, in bps² / bps: the risk engine keeps penalty <= mmr − bmr < mmr.
        uint256 denominator = ((BPS + HEALTH_BUFFER_BPS) * mmrBps) / BPS - penaltyBps;
        // Rounding: up — close enough.
        uint256 notional = Math.mulDiv(target - equity, BPS, denominator, Math.Rounding.Ceil);
        closeSize = Math.mulDiv(notional, WAD, mark, Math.Rounding.Ceil);
        if (closeSize >= absSize) return absSize;
        // A remainder under the dust threshold is closed with the rest.
        if (Math.mulDiv(absSize - closeSize, mark, WAD) < DUST_NOTIONAL) return absSize;
    }

    /// @dev The backstop reward: up to `cap`, but never more than the account's own remaining equity, so it is
    /// never paid out of LPs' capital and taking over one's own bankrupt account never profits (DESIGN §4).
    function _backstopReward(IClearingHouse.Health memory h, uint256 cap) private pure returns (uint256) {
        return h.equity <= 0 ? 0 : Math.min(cap, uint256(h.equity));
    }

    /// @dev The keeper's share of the penalty: `baseShare` at MM, rising linearly to all of it at the
    /// backstop margin, so keepers act early rather than wait for a richer reward.
    function _keeperShareBps(IClearingHouse.Health memory h, uint256 baseShare) private pure returns (uint256) {
        if (h.mm <= h.backstop || h.equity <= h.backstop.toInt256()) return BPS;
        uint256 fallen = h.equity >= h.mm.toInt256() ? 0 : uint256(h.mm.toInt256() - h.equity);
        return Math.min(BPS, baseShare + Math.mulDiv(BPS - baseShare, fallen, h.mm - h.backstop));
    }
}
