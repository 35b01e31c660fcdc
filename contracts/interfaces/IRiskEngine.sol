// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

/// @title IRiskEngine
/// @notice The static risk parameters of Strata: tiers, markets, and per tier × market and per
/// tier × collateral settings, with pure requirement maths over them. Other layers read from it; it
/// holds no balances.
///
/// Every setter enforces a hard envelope and a max step per change, at most once per cooldown per
/// parameter group. Tightening the margin ratios takes effect on a linear ramp, never as a cliff that
/// liquidates accounts at once; loosening takes effect at once. For every market, a deeper tier (lower
/// `depth`, closer to the core) is never looser than a shallower one (DESIGN §6.6): every setter that
/// touches margin ratios checks it against all tiers that list the market.
/// @dev Ratios, rates and fees are in basis points (1 bps = 0.01%); sizes in base-asset WAD; notionals,
/// values and caps in quote WAD.
interface IRiskEngine {
    // ---------------------------------------------------------------- types

    /// @notice A tier: an isolated risk domain.
    /// @param depth 0 is the innermost and strictest tier.
    /// @param quoteToken The settlement token of the tier (at most 18 decimals).
    /// @param maxPositions Open positions one account of the tier may hold (bounds liquidation gas).
    struct TierConfig {
        bool listed;
        uint8 depth;
        uint8 quoteDecimals;
        uint8 maxPositions;
        address quoteToken;
    }

    /// @notice Margin ratios of one tier × market, in bps of notional.
    /// @param imr Initial margin: needed to open or increase risk, and to withdraw.
    /// @param mmr Maintenance margin: below it an account may be partially liquidated.
    /// @param bmr Backstop margin: below it the tier's pool takes the account over.
    struct MarginRatios {
        uint16 imr;
        uint16 mmr;
        uint16 bmr;
    }

    /// @notice Everything set per tier × market.
    /// @param ratios Target margin ratios (reached at the end of a tightening ramp).
    /// @param bracketNotional1 Above this notional the MM and IM rates rise by `bracketAddBps1` on the excess.
    /// @param bracketAddBps1 Extra rate above `bracketNotional1`.
    /// @param bracketNotional2 Above this notional the rates rise by `bracketAddBps2` more on the excess.
    /// @param bracketAddBps2 Extra rate above `bracketNotional2`.
    /// @param maxLeverage Largest notional / equity at open, as a whole multiple.
    /// @param liquidationPenaltyBps Penalty on closed notional; split between keeper and insurance fund. At most
    /// `mmr − bmr` and at most `bmr` (so a partial liquidation can always pay it from the account's equity).
    /// @param keeperShareBps Share of the penalty paid to the keeper (the rest goes to the insurance fund).
    /// @param keeperRewardCap Largest keeper reward per liquidation, in quote WAD.
    /// @param oiCap Largest open interest (longs) of the tier in this market, in base WAD.
    /// @param priceBandBps Largest distance of a fill price from the oracle price.
    /// @param makerFeeBps Fee of a maker fill.
    /// @param takerFeeBps Fee of a taker fill.
    /// @param maxFundingBpsPerDay Largest funding rate per day.
    /// @param fundingSkewScale Pool inventory (base WAD) at which funding reaches its largest rate.
    struct MarketRisk {
        // Three storage words, in the order {RiskEngine-marginParams} reads them.
        MarginRatios ratios;
        uint96 bracketNotional1;
        uint16 bracketAddBps1;
        uint96 bracketNotional2;
        uint16 bracketAddBps2;
        uint16 maxFundingBpsPerDay;
        uint16 liquidationPenaltyBps;
        uint16 keeperShareBps;
        uint128 keeperRewardCap;
        uint16 maxLeverage;
        uint16 priceBandBps;
        uint16 makerFeeBps;
        uint16 takerFeeBps;
        uint128 fundingSkewScale;
        uint128 oiCap;
    }

    /// @notice A collateral token of a tier and its haircut.
    /// @param oracleAsset The oracle asset pricing the token in the tier's quote (ignored for the quote token).
    /// @param weightBps Weight of the value up to `sizeThreshold`.
    /// @param sizeThreshold Collateral value (quote WAD) above which `excessWeightBps` applies instead.
    /// @param excessWeightBps Weight of the value above `sizeThreshold` (size scaling; <= weightBps).
    struct CollateralRisk {
        bool listed;
        uint16 weightBps;
        uint16 excessWeightBps;
        uint128 sizeThreshold;
        bytes32 oracleAsset;
    }

    /// @notice What margin maths and liquidation need of one tier × market, in one read: the oracle asset, the
    /// ratios in force now (on the ramp), the size brackets, the funding and the liquidation parameters.
    struct MarginParams {
        bytes32 oracleAsset;
        MarginRatios ratios;
        uint96 bracketNotional1;
        uint16 bracketAddBps1;
        uint96 bracketNotional2;
        uint16 bracketAddBps2;
        uint16 maxFundingBpsPerDay;
        uint128 fundingSkewScale;
        uint16 liquidationPenaltyBps;
        uint16 keeperShareBps;
        uint128 keeperRewardCap;
    }

    /// @notice What the execution layer checks a trade against in one tier × market, in one read.
    /// @param oracleAsset The market's oracle asset.
    /// @param maxLeverage Largest position notional / account equity at open (whole multiple).
    /// @param priceBandBps Largest distance of a fill price from the oracle price.
    /// @param makerFeeBps Fee of a maker fill.
    /// @param takerFeeBps Fee of a taker fill (and of a pool trade).
    /// @param oiCap Largest open interest (longs) of the tier in the market, base WAD.
    /// @param skewScale The pool inventory (base WAD) at which a pool trade's price impact reaches 100% (and
    /// funding its largest rate).
    struct TradeParams {
        bytes32 oracleAsset;
        uint16 maxLeverage;
        uint16 priceBandBps;
        uint16 makerFeeBps;
        uint16 takerFeeBps;
        uint128 oiCap;
        uint128 skewScale;
    }

    // ---------------------------------------------------------------- errors

    /// @notice The tier is not listed.
    error RiskUnknownTier(uint8 tier);
    /// @notice The tier is listed already.
    error RiskTierAlreadyListed(uint8 tier);
    /// @notice The market is not listed globally.
    error RiskUnknownMarket(uint16 market);
    /// @notice The market is listed globally already.
    error RiskMarketAlreadyListed(uint16 market);
    /// @notice The market is not listed in the tier.
    error RiskMarketNotInTier(uint8 tier, uint16 market);
    /// @notice The market is listed in the tier already.
    error RiskMarketAlreadyInTier(uint8 tier, uint16 market);
    /// @notice The tier lists its largest number of markets or collaterals already.
    error RiskTierFull(uint8 tier, uint256 max);
    /// @notice The collateral is not listed in the tier.
    error RiskCollateralNotInTier(uint8 tier, address token);
    /// @notice The collateral is listed in the tier already.
    error RiskCollateralAlreadyInTier(uint8 tier, address token);
    /// @notice The quote token has more than 18 decimals, or no readable decimals.
    error RiskUnsupportedQuoteToken(address token);
    /// @notice The ratios are not ordered `imr > mmr > bmr > 0`, or the penalty exceeds `mmr − bmr` or `bmr`.
    error RiskInconsistentRatios(uint16 imr, uint16 mmr, uint16 bmr, uint16 liquidationPenaltyBps);
    /// @notice The setting would make `deeperTier` looser than `shallowerTier` for `market` (DESIGN §6.6).
    error RiskDepthMonotonicityViolated(uint16 market, uint8 deeperTier, uint8 shallowerTier);

    // ---------------------------------------------------------------- events

    /// @notice A tier was listed.
    event TierListed(uint8 indexed tier, uint8 depth, address quoteToken, uint8 maxPositions);
    /// @notice A market was listed globally, priced by `oracleAsset`.
    event MarketListed(uint16 indexed market, bytes32 oracleAsset);
    /// @notice The risk settings of `market` in `tier` were set; ratios ramp from `from` to `to` until `rampEnd`.
    event MarketRiskSet(
        uint8 indexed tier,
        uint16 indexed market,
        MarketRisk risk,
        MarginRatios from,
        uint256 rampStart,
        uint256 rampEnd
    );
    /// @notice The collateral settings of `token` in `tier` were set.
    event CollateralRiskSet(uint8 indexed tier, address indexed token, CollateralRisk risk);

    // ---------------------------------------------------------------- governance

    /// @notice Lists a tier (ADMIN).
    function listTier(uint8 tier, uint8 depth, address quoteToken, uint8 maxPositions) external;

    /// @notice Lists a market globally (ADMIN). Market id 0 is reserved (RiskUnknownMarket).
    function listMarket(uint16 market, bytes32 oracleAsset) external;

    /// @notice Lists `market` in `tier` with its first risk settings (ADMIN). Checks envelopes and depth
    /// monotonicity; no ramp, no step.
    function addMarketToTier(uint8 tier, uint16 market, MarketRisk calldata risk) external;

    /// @notice Changes the risk settings of `market` in `tier` (RISK): envelopes, one step per field, one
    /// change per cooldown, depth monotonicity, and a ramp when the margin ratios tighten.
    function setMarketRisk(uint8 tier, uint16 market, MarketRisk calldata risk) external;

    /// @notice Lists a collateral token in `tier` (ADMIN). The quote token is listed with the tier.
    function addCollateralToTier(uint8 tier, address token, CollateralRisk calldata risk) external;

    /// @notice Changes the haircut of a collateral of `tier` (RISK): envelopes, one step, one change per cooldown.
    function setCollateralRisk(uint8 tier, address token, CollateralRisk calldata risk) external;

    // ---------------------------------------------------------------- views

    /// @notice The configuration of `tier`.
    function tierConfig(uint8 tier) external view returns (TierConfig memory);

    /// @notice The oracle asset of `market` (reverts for an unknown market).
    function marketOracleAsset(uint16 market) external view returns (bytes32);

    /// @notice The markets listed in `tier`, in listing order.
    function tierMarkets(uint8 tier) external view returns (uint16[] memory);

    /// @notice The collateral tokens of `tier`, the quote token first.
    function tierCollaterals(uint8 tier) external view returns (address[] memory);

    /// @notice {tierConfig} and {tierCollaterals} of `tier` in one read (what a margin check needs).
    function tierContext(uint8 tier) external view returns (TierConfig memory config, address[] memory collaterals);

    /// @notice The settings of `market` in `tier` (target ratios; see {currentRatios} for the ramp).
    function marketRisk(uint8 tier, uint16 market) external view returns (MarketRisk memory);

    /// @notice The margin ratios in force now, on the ramp between the previous and the target ratios.
    function currentRatios(uint8 tier, uint16 market) external view returns (MarginRatios memory);

    /// @notice {MarginParams} of `market` in `tier` (reverts with RiskMarketNotInTier for an unlisted pair).
    function marginParams(uint8 tier, uint16 market) external view returns (MarginParams memory);

    /// @notice {TradeParams} of `market` in `tier` (reverts with RiskMarketNotInTier for an unlisted pair).
    function tradeParams(uint8 tier, uint16 market) external view returns (TradeParams memory);

    /// @notice The settings of collateral `token` in `tier`.
    function collateralRisk(uint8 tier, address token) external view returns (CollateralRisk memory);

    /// @notice IM, MM and backstop requirements (quote WAD, rounded up) of a position of `notional` in
    /// `market` of `tier`, with the size brackets applied progressively to the excess over each threshold.
    function requirements(
        uint8 tier,
        uint16 market,
        uint256 notional
    ) external view returns (uint256 im, uint256 mm, uint256 backstop);

    /// @notice The weighted value (quote WAD, rounded down) of collateral worth `value` in `tier`.
    function weightedCollateralValue(uint8 tier, address token, uint256 value) external view returns (uint256);
}
