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
import {LiquidationMath} from "../libraries/LiquidationMath.sol";
import {PositionMath} from "../libraries/PositionMath.sol";

/// @title LiquidationEngine
/// @notice Partial liquidation, backstop takeover and the default waterfall. See {ILiquidationEngine}.
/// @dev Holds the LIQUIDATOR role on the clearing house; holds no funds and no state of its own.
contract LiquidationEngine is ILiquidationEngine, ReentrancyGuardTransient {
    using SafeCast for uint256;
    using SafeCast for int256;

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
    uint256 public constant HEALTH_BUFFER_BPS = LiquidationMath.HEALTH_BUFFER_BPS;
    /// @notice A remaining position under this notional (quote WAD) is closed in full.
    uint256 public constant DUST_NOTIONAL = LiquidationMath.DUST_NOTIONAL;
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
        // Within the loop no call leaves the protocol (rewards are cash credits, feeds are read-only), so no
        // price can move: the clearing house may read each market once for the whole batch.
        CLEARING.beginBatch();
        for (uint256 i; i < count; ++i) {
            // An account that became healthy, or cannot be liquidated now, is skipped, not a failed batch.
            try this.liquidateOnBehalf(accounts[i], markets[i], msg.sender) {
                ++liquidated;
            } catch {}
        }
        CLEARING.endBatch();
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
            if (p.backstop) p.deficit = h.equity < 0 ? uint256(-h.equity) : 0;
            // As liquidate does it: the named market must be one the account holds (when it holds any).
            if (h.positions != 0 && CLEARING.position(account, market).size == 0) return p;
            if (p.backstop) {
                try RISK.marginParams(account.tier(), market) returns (IRiskEngine.MarginParams memory mp) {
                    p.keeperReward = LiquidationMath.backstopReward(h, mp.keeperRewardCap);
                } catch {}
                return p;
            }
            try this.partialPlan(account, market, h) returns (IClearingHouse.LiquidationPlan memory plan) {
                (p.closeSize, p.keeperReward) = (plan.closeSize, plan.reward);
            } catch {}
        } catch {}
    }

    /// @notice The partial liquidation of `account` in `market` for health `h`, as the clearing house computes
    /// it ({LiquidationMath-plan}) at the current liquidation price. A view for keepers; reverts when the
    /// account has no position in the market or no price, or when the clearing house would refuse the plan
    /// (LiquidationNotImproved).
    function partialPlan(
        BucketId account,
        uint16 market,
        IClearingHouse.Health memory h
    ) public view returns (IClearingHouse.LiquidationPlan memory plan) {
        int256 size = CLEARING.position(account, market).size;
        if (size == 0) revert LiquidationNoPosition(account, market);
        IRiskEngine.MarginParams memory mp = RISK.marginParams(account.tier(), market);
        IOracleRouter.Price memory price = ORACLE.getPriceForLiquidation(mp.oracleAsset);
        if (price.flags & PriceFlags.UNAVAILABLE != 0) revert LiquidationNoPosition(account, market);
        plan = LiquidationMath.plan(h, size, price.lower, price.upper, mp);
        if (plan.mark == 0) revert LiquidationNoPosition(account, market);
        // As the clearing house refuses it: a plan that would not leave the account healthier (§6.4).
        LiquidationMath.requireImprovement(account, h, size, price.upper, mp, plan);
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
        // One read of the account and the whole liquidation in one call (see IClearingHouse.liquidate); it
        // refuses a tier without a pool and the pool's own account with this engine's errors.
        (IClearingHouse.Health memory h, IClearingHouse.LiquidationPlan memory plan, uint256 reward) = CLEARING
            .liquidate(account, market, requested, keeper);
        if (h.equity >= h.mm.toInt256()) revert LiquidationAccountHealthy(account, h.equity, h.mm);
        if (h.equity >= h.backstop.toInt256()) {
            emit Liquidated(account, market, keeper, plan.signedClose, plan.mark, plan.penalty, plan.reward);
            return;
        }

        emit BackstopTakeover(account, keeper, h.positions, h.equity, reward);
        emit WaterfallStep(account, 1, h.collateralValue);
        if (h.equity < 0) {
            uint8 tier = account.tier();
            _waterfall(account, tier, BucketIdLib.account(CLEARING.pool(tier), tier, 0), uint256(-h.equity));
        }
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
        int256 pnl = PositionMath.unrealizedPnl(t.size, t.openNotional, leg.mark);
        if (pnl <= 0) revert AdlNotInProfit(target, pnl);
        leg.profit = uint256(pnl);
        leg.closeSize = Math.min(SignedMath.abs(t.size), SignedMath.abs(poolSize));
    }
}
