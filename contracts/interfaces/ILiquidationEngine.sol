// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

import {BucketId} from "../libraries/BucketId.sol";

/// @title ILiquidationEngine
/// @notice Liquidation and the per-tier default waterfall (DESIGN §4, §5). Anyone (a keeper) may call.
///
/// - Partial (equity < MM): closes part of one position against the tier's backstop pool at the
///   conservative mark, only as much as restores equity to MM plus a buffer (all of it when the rest would
///   be dust). The account pays a penalty on the closed notional: a keeper reward (a share that grows as
///   health falls towards the backstop margin, capped) and the rest to the tier's insurance fund.
/// - Backstop (equity < backstop margin): the pool takes over every position, all collateral and the cash
///   of the account; the keeper gets a fixed reward (the market's keeper reward cap), limited to the
///   account's own remaining equity — never LPs' capital, so taking over one's own bankrupt account never
///   profits. Keepers are paid to act earlier by partial liquidations, whose reward grows as health falls.
///   A deficit (negative equity) is then absorbed in order by the defaulter's collateral (1), the tier's
///   insurance fund (2), the protocol reserve within the tier's allowance (3) and the tier's pool (4), each
///   step emitting what it absorbed; if the pool's own equity turns negative, auto-deleveraging (5) of
///   profitable opposite positions in the same tier and market covers the rest.
/// Nothing is ever paid to the liquidated owner; keepers are credited in their own account of the tier
/// `(keeper, tier, 0)`, withdrawn through the clearing house like any other balance.
interface ILiquidationEngine {
    /// @notice What a liquidation of `account` in `market` would do now (keepers; never reverts).
    /// @param liquidatable Equity is below MM.
    /// @param backstop Equity is below the backstop margin: the pool takes the account over.
    /// @param closeSize Base size a partial liquidation closes (0 for a backstop or a healthy account).
    /// @param keeperReward Reward the keeper would be credited (quote WAD).
    /// @param deficit Negative equity a backstop would pass to the waterfall (quote WAD).
    struct Preview {
        bool liquidatable;
        bool backstop;
        int256 equity;
        uint256 mm;
        uint256 backstopRequirement;
        uint256 closeSize;
        uint256 keeperReward;
        uint256 deficit;
    }

    /// @notice The account's equity is at or above its maintenance margin.
    error LiquidationAccountHealthy(BucketId account, int256 equity, uint256 mm);
    /// @notice The keeper asked to close more than the liquidation allows.
    error LiquidationTooLarge(BucketId account, uint256 allowed, uint256 requested);
    /// @notice The account has no position in the market.
    error LiquidationNoPosition(BucketId account, uint16 market);
    /// @notice The tier has no backstop pool to take positions over.
    error LiquidationNoPool(uint8 tier);
    /// @notice The liquidation would not leave the account healthier (a safety net; should never happen).
    error LiquidationNotImproved(BucketId account, int256 excessBefore, int256 excessAfter);
    /// @notice The tier's pool account is not liquidated: its losses fall on its LPs.
    error LiquidationOfPool(uint8 tier);
    /// @notice `liquidateOnBehalf` is for the engine's own batch loop.
    error LiquidationOnlySelf(address caller);
    /// @notice The pool's equity is not negative: there is nothing to auto-deleverage.
    error AdlNotNeeded(uint8 tier, int256 poolEquity);
    /// @notice An ADL target of another tier.
    error AdlWrongTier(BucketId target, uint8 tier);
    /// @notice An ADL target whose position is not opposite to the pool's.
    error AdlSameSide(BucketId target, int256 targetSize, int256 poolSize);
    /// @notice An ADL target whose position is not in profit at the conservative mark.
    error AdlNotInProfit(BucketId target, int256 unrealizedPnl);
    /// @notice Collateral liquidation needs negative cash and no quote tokens left in the account.
    error CollateralLiquidationNotAllowed(BucketId account, int256 cash, uint256 quoteBalance);
    /// @notice The token is the quote token or not a collateral of the tier.
    error CollateralLiquidationInvalidToken(BucketId account, address token);

    /// @notice `closedSize` of `account`'s position in `market` went to the pool at `price`; the account paid
    /// `penalty`, of which `keeperReward` to `keeper` and the rest to the insurance fund.
    event Liquidated(
        BucketId indexed account,
        uint16 indexed market,
        address indexed keeper,
        int256 closedSize,
        uint256 price,
        uint256 penalty,
        uint256 keeperReward
    );
    /// @notice The pool took `account` over (`positions` positions, equity `equity`); `keeper` got `keeperReward`.
    event BackstopTakeover(
        BucketId indexed account,
        address indexed keeper,
        uint256 positions,
        int256 equity,
        uint256 keeperReward
    );
    /// @notice `target`'s position in `market` was auto-deleveraged: `size` closed against the pool at
    /// `price`, giving up `absorbed` of its profit to the pool's deficit (waterfall step 5).
    event AutoDeleveraged(BucketId indexed target, uint16 indexed market, int256 size, uint256 price, uint256 absorbed);
    /// @notice `keeper` repaid `repaid` (quote WAD) of `account`'s debt and received `seized` of `token`.
    event CollateralLiquidated(
        BucketId indexed account,
        address indexed token,
        address indexed keeper,
        uint256 repaid,
        uint256 seized
    );
    /// @notice Step `step` of the default waterfall absorbed `amount` (quote WAD) of `account`'s default:
    /// 1 defaulter's collateral, 2 insurance fund, 3 protocol reserve, 4 backstop pool, 5 ADL (per target).
    event WaterfallStep(BucketId indexed account, uint8 indexed step, uint256 amount);

    /// @notice Liquidates `account` in `market`: partially (closing `size`, or as much as needed when 0) when
    /// equity < MM, or by backstop takeover when equity < the backstop margin.
    function liquidate(BucketId account, uint16 market, uint256 size) external;

    /// @notice Liquidates each account in its market as much as needed; skips (does not revert on)
    /// accounts that are healthy or cannot be liquidated now. Returns how many were liquidated.
    function liquidateBatch(BucketId[] calldata accounts, uint16[] calldata markets) external returns (uint256);

    /// @notice The batch loop's per-account call (the engine only).
    function liquidateOnBehalf(BucketId account, uint16 market, address keeper) external;

    /// @notice Auto-deleverages (waterfall step 5) when the tier's pool has negative equity: each keeper-chosen
    /// target must be of the tier, opposite to the pool in `market` and in profit; it closes against the pool
    /// at a price that hands over its profit until the pool's deficit is covered.
    function adl(uint8 tier, uint16 market, BucketId[] calldata targets) external;

    /// @notice When `account` has negative cash and no quote tokens, the keeper repays up to `repay` (quote
    /// token units, pulled from the keeper) of the debt and receives `token` collateral worth the repaid
    /// amount plus a discount, at the oracle's mid price, credited to the keeper's account of the tier.
    function liquidateCollateral(BucketId account, address token, uint256 repay) external;

    /// @notice What liquidating `account` in `market` would do now. Never reverts.
    function preview(BucketId account, uint16 market) external view returns (Preview memory);
}
