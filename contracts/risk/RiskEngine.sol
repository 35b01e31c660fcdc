// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {IRiskEngine} from "../interfaces/IRiskEngine.sol";
import {MarginMath} from "../libraries/MarginMath.sol";
import {MarketSet} from "../libraries/MarketSet.sol";
import {ParamGuard} from "../libraries/ParamGuard.sol";
import {TokenMetadata} from "../libraries/TokenMetadata.sol";

/// @title RiskEngine
/// @notice Tiers, markets and their risk settings. See {IRiskEngine}.
/// @dev Roles: ADMIN lists tiers, markets and collaterals (`listTier`, `listMarket`, `addMarketToTier`,
/// `addCollateralToTier`); RISK tunes them (`setMarketRisk`, `setCollateralRisk`).
contract RiskEngine is IRiskEngine, AccessManaged {
    /// @dev The ramp of one tier × market: ratios move linearly from `from` to the target until `end`.

    struct Ramp {
        MarginRatios from;
        uint48 start;
        uint48 end;
    }

    // Bounds on work per account and per tier (DESIGN §3: bounded liquidation gas).
    uint256 public constant MAX_TIERS = 16;
    /// @dev The clearing house packs an account's markets in one word of this capacity (the pool may hold a
    /// position in every market of its tier).
    uint256 public constant MAX_MARKETS_PER_TIER = MarketSet.CAPACITY;
    uint256 public constant MAX_COLLATERALS_PER_TIER = 4;
    uint8 public constant MAX_POSITIONS_PER_ACCOUNT = 8;

    // Hard envelopes (bps unless named otherwise).
    uint256 public constant MIN_IMR = 50; // 200x at most
    uint256 public constant MIN_MMR = 25;
    uint256 public constant MIN_BMR = 10;
    uint256 public constant MAX_LEVERAGE = 200;
    uint256 public constant MAX_BRACKET_ADD = 2_000;
    uint256 public constant MAX_KEEPER_REWARD_CAP = 1e24; // 1,000,000 quote units
    uint256 public constant MIN_PRICE_BAND = 10;
    uint256 public constant MAX_PRICE_BAND = 2_000;
    uint256 public constant MAX_FEE = 100;
    uint256 public constant MAX_FUNDING_PER_DAY = 1_000;
    uint256 public constant MIN_WEIGHT = 100;
    uint256 public constant MAX_PARAM_STEP_BPS = 5_000;
    /// @notice Shortest interval between two changes of one tier × market or tier × collateral.
    uint256 public constant PARAM_COOLDOWN = 1 days;
    /// @notice How long a tightening of the margin ratios takes to reach its target.
    uint256 public constant RAMP_DURATION = 3 days;

    /// @dev A tier as stored: its {TierConfig} and collateral count in one word, its collateral tokens (the
    /// quote token first) in four more, so a margin check reads the tier in one call and 1 + count words.
    struct Tier {
        bool listed;
        uint8 depth;
        uint8 quoteDecimals;
        uint8 maxPositions;
        address quoteToken;
        uint8 collateralCount;
        address[MAX_COLLATERALS_PER_TIER] collaterals;
    }

    uint8[] private _tierIds;
    mapping(uint8 tier => Tier) private _tiers;
    mapping(uint8 tier => uint16[]) private _tierMarkets;
    mapping(uint16 market => bytes32 oracleAsset) private _marketAssets;
    mapping(uint8 tier => mapping(uint16 market => MarketRisk)) private _marketRisks;
    mapping(uint8 tier => mapping(uint16 market => Ramp)) private _ramps;
    mapping(uint8 tier => mapping(address token => CollateralRisk)) private _collateralRisks;
    mapping(bytes32 key => uint256) private _lastParamChange;

    /// @param authority The AccessManager that governs this engine.
    constructor(address authority) AccessManaged(authority) {}

    // ================================================================ governance

    /// @inheritdoc IRiskEngine
    function listTier(uint8 tier, uint8 depth, address quoteToken, uint8 maxPositions) external restricted {
        if (_tiers[tier].listed) revert RiskTierAlreadyListed(tier);
        if (_tierIds.length >= MAX_TIERS) revert RiskTierFull(tier, MAX_TIERS);
        ParamGuard.checkEnvelope("maxPositions", maxPositions, 1, MAX_POSITIONS_PER_ACCOUNT);
        uint8 decimals = _quoteDecimals(quoteToken);

        _tierIds.push(tier);
        Tier storage t = _tiers[tier];
        (t.listed, t.depth, t.quoteDecimals, t.maxPositions, t.quoteToken) = (
            true,
            depth,
            decimals,
            maxPositions,
            quoteToken
        );
        // The quote token is the tier's unit of account: full weight, no oracle.
        CollateralRisk memory quote = CollateralRisk({
            listed: true,
            weightBps: uint16(ParamGuard.BPS),
            excessWeightBps: uint16(ParamGuard.BPS),
            sizeThreshold: 0,
            oracleAsset: bytes32(0)
        });
        _collateralRisks[tier][quoteToken] = quote;
        t.collaterals[0] = quoteToken;
        t.collateralCount = 1;
        emit TierListed(tier, depth, quoteToken, maxPositions);
        emit CollateralRiskSet(tier, quoteToken, quote);
    }

    /// @inheritdoc IRiskEngine
    function listMarket(uint16 market, bytes32 oracleAsset) external restricted {
        if (_marketAssets[market] != bytes32(0)) revert RiskMarketAlreadyListed(market);
        // Market 0 is reserved: the clearing house packs account market lists with 0 as their end.
        if (market == 0 || oracleAsset == bytes32(0)) revert RiskUnknownMarket(market);
        _marketAssets[market] = oracleAsset;
        emit MarketListed(market, oracleAsset);
    }

    /// @inheritdoc IRiskEngine
    function addMarketToTier(uint8 tier, uint16 market, MarketRisk calldata risk) external restricted {
        _requireTier(tier);
        if (_marketAssets[market] == bytes32(0)) revert RiskUnknownMarket(market);
        if (_isMarketInTier(tier, market)) revert RiskMarketAlreadyInTier(tier, market);
        if (_tierMarkets[tier].length >= MAX_MARKETS_PER_TIER) revert RiskTierFull(tier, MAX_MARKETS_PER_TIER);
        _checkMarketEnvelopes(risk);
        _checkDepthMonotonicity(tier, market, risk.ratios, risk.ratios);

        _tierMarkets[tier].push(market);
        _marketRisks[tier][market] = risk;
        uint48 now_ = uint48(block.timestamp);
        _ramps[tier][market] = Ramp({from: risk.ratios, start: now_, end: now_});
        _lastParamChange[_marketKey(tier, market)] = block.timestamp;
        emit MarketRiskSet(tier, market, risk, risk.ratios, now_, now_);
    }

    /// @inheritdoc IRiskEngine
    function setMarketRisk(uint8 tier, uint16 market, MarketRisk calldata risk) external restricted {
        _requireTier(tier);
        if (!_isMarketInTier(tier, market)) revert RiskMarketNotInTier(tier, market);
        MarketRisk memory old = _marketRisks[tier][market];
        _checkMarketEnvelopes(risk);
        _checkMarketSteps(old, risk);
        ParamGuard.checkCooldown(_lastParamChange, _marketKey(tier, market), PARAM_COOLDOWN);

        // Unchanged target ratios keep a ramp under way (a fee or cap change must not restart it).
        // Otherwise tightening any ratio ramps every ratio from where it stands now; loosening is immediate.
        Ramp memory ramp = _ramps[tier][market];
        if (!_sameRatios(risk.ratios, old.ratios)) {
            MarginRatios memory current = currentRatios(tier, market);
            bool tightens =
                risk.ratios.imr > current.imr || risk.ratios.mmr > current.mmr || risk.ratios.bmr > current.bmr;
            uint48 now_ = uint48(block.timestamp);
            ramp =
                tightens
                    ? Ramp({from: current, start: now_, end: uint48(block.timestamp + RAMP_DURATION)})
                    : Ramp({from: risk.ratios, start: now_, end: now_});
        }
        _checkDepthMonotonicity(tier, market, risk.ratios, ramp.from);
        _marketRisks[tier][market] = risk;
        _ramps[tier][market] = ramp;
        emit MarketRiskSet(tier, market, risk, ramp.from, ramp.start, ramp.end);
    }

    /// @inheritdoc IRiskEngine
    function addCollateralToTier(uint8 tier, address token, CollateralRisk calldata risk) external restricted {
        _requireTier(tier);
        if (_collateralRisks[tier][token].listed) revert RiskCollateralAlreadyInTier(tier, token);
        Tier storage t = _tiers[tier];
        uint8 count = t.collateralCount;
        if (count >= MAX_COLLATERALS_PER_TIER) revert RiskTierFull(tier, MAX_COLLATERALS_PER_TIER);
        _checkCollateralEnvelopes(risk);
        t.collaterals[count] = token;
        t.collateralCount = count + 1;
        _collateralRisks[tier][token] = risk;
        _collateralRisks[tier][token].listed = true;
        _lastParamChange[_collateralKey(tier, token)] = block.timestamp;
        emit CollateralRiskSet(tier, token, _collateralRisks[tier][token]);
    }

    /// @inheritdoc IRiskEngine
    function setCollateralRisk(uint8 tier, address token, CollateralRisk calldata risk) external restricted {
        CollateralRisk memory old = _collateralRisks[tier][token];
        if (!old.listed || token == _tiers[tier].quoteToken) revert RiskCollateralNotInTier(tier, token);
        _checkCollateralEnvelopes(risk);
        if (risk.oracleAsset != old.oracleAsset) revert RiskCollateralNotInTier(tier, token);
        uint256 step = MAX_PARAM_STEP_BPS;
        ParamGuard.checkStep("weightBps", old.weightBps, risk.weightBps, step, 100);
        ParamGuard.checkStep("excessWeightBps", old.excessWeightBps, risk.excessWeightBps, step, 100);
        ParamGuard.checkStep("sizeThreshold", old.sizeThreshold, risk.sizeThreshold, step, 1e18);
        ParamGuard.checkCooldown(_lastParamChange, _collateralKey(tier, token), PARAM_COOLDOWN);
        _collateralRisks[tier][token] = risk;
        _collateralRisks[tier][token].listed = true;
        emit CollateralRiskSet(tier, token, _collateralRisks[tier][token]);
    }

    // ================================================================ views

    /// @inheritdoc IRiskEngine
    function tierConfig(uint8 tier) external view returns (TierConfig memory) {
        return _tierConfig(_tiers[tier]);
    }

    /// @inheritdoc IRiskEngine
    function tierContext(uint8 tier) external view returns (TierConfig memory config, address[] memory collaterals) {
        Tier storage t = _tiers[tier];
        config = _tierConfig(t);
        collaterals = _collaterals(t);
    }

    /// @inheritdoc IRiskEngine
    function marketOracleAsset(uint16 market) external view returns (bytes32 asset) {
        asset = _marketAssets[market];
        if (asset == bytes32(0)) revert RiskUnknownMarket(market);
    }

    /// @inheritdoc IRiskEngine
    function tierMarkets(uint8 tier) external view returns (uint16[] memory) {
        return _tierMarkets[tier];
    }

    /// @inheritdoc IRiskEngine
    function tierCollaterals(uint8 tier) external view returns (address[] memory) {
        return _collaterals(_tiers[tier]);
    }

    /// @inheritdoc IRiskEngine
    function marketRisk(uint8 tier, uint16 market) external view returns (MarketRisk memory) {
        return _marketRisks[tier][market];
    }

    /// @inheritdoc IRiskEngine
    function currentRatios(uint8 tier, uint16 market) public view returns (MarginRatios memory) {
        Ramp memory ramp = _ramps[tier][market];
        return
            MarginMath.rampedRatios(
                ramp.from,
                _marketRisks[tier][market].ratios,
                ramp.start,
                ramp.end,
                block.timestamp
            );
    }

    /// @inheritdoc IRiskEngine
    function marginParams(uint8 tier, uint16 market) external view returns (MarginParams memory p) {
        MarketRisk storage risk = _marketRisks[tier][market];
        MarginRatios memory target = risk.ratios;
        if (target.imr == 0) revert RiskMarketNotInTier(tier, market);
        Ramp memory ramp = _ramps[tier][market];
        p.oracleAsset = _marketAssets[market];
        p.ratios = MarginMath.rampedRatios(ramp.from, target, ramp.start, ramp.end, block.timestamp);
        p.bracketNotional1 = risk.bracketNotional1;
        p.bracketAddBps1 = risk.bracketAddBps1;
        p.bracketNotional2 = risk.bracketNotional2;
        p.bracketAddBps2 = risk.bracketAddBps2;
        p.maxFundingBpsPerDay = risk.maxFundingBpsPerDay;
        p.fundingSkewScale = risk.fundingSkewScale;
        // The envelope's penalty <= min(mmr − bmr, bmr) holds for the target ratios; during a tightening ramp
        // the ratios in force lag a penalty already raised, so it is held to the ratios in force.
        // (Rounding in the ramp can bring mmr and bmr together, never across: the floor at 0 is defensive.)
        uint256 room = p.ratios.mmr > p.ratios.bmr ? p.ratios.mmr - p.ratios.bmr : 0;
        uint256 penalty = Math.min(risk.liquidationPenaltyBps, Math.min(room, p.ratios.bmr));
        p.liquidationPenaltyBps = uint16(penalty); // <= the stored uint16
        p.keeperShareBps = risk.keeperShareBps;
        p.keeperRewardCap = risk.keeperRewardCap;
    }

    /// @inheritdoc IRiskEngine
    function tradeParams(uint8 tier, uint16 market) external view returns (TradeParams memory p) {
        MarketRisk storage risk = _marketRisks[tier][market];
        // Two of the pair's three words; a listed pair's maxLeverage is at least 1 (its envelope).
        p.maxLeverage = risk.maxLeverage;
        if (p.maxLeverage == 0) revert RiskMarketNotInTier(tier, market);
        p.oracleAsset = _marketAssets[market];
        p.priceBandBps = risk.priceBandBps;
        p.makerFeeBps = risk.makerFeeBps;
        p.takerFeeBps = risk.takerFeeBps;
        p.oiCap = risk.oiCap;
        p.skewScale = risk.fundingSkewScale;
    }

    /// @inheritdoc IRiskEngine
    function collateralRisk(uint8 tier, address token) external view returns (CollateralRisk memory) {
        return _collateralRisks[tier][token];
    }

    /// @inheritdoc IRiskEngine
    function requirements(
        uint8 tier,
        uint16 market,
        uint256 notional
    ) external view returns (uint256 im, uint256 mm, uint256 backstop) {
        if (!_isMarketInTier(tier, market)) revert RiskMarketNotInTier(tier, market);
        return MarginMath.requirements(notional, currentRatios(tier, market), _marketRisks[tier][market]);
    }

    /// @inheritdoc IRiskEngine
    function weightedCollateralValue(uint8 tier, address token, uint256 value) external view returns (uint256) {
        CollateralRisk memory c = _collateralRisks[tier][token];
        if (!c.listed) revert RiskCollateralNotInTier(tier, token);
        return MarginMath.weightedValue(value, c);
    }

    // ================================================================ checks

    function _checkMarketEnvelopes(MarketRisk calldata r) private pure {
        MarginRatios calldata m = r.ratios;
        ParamGuard.checkEnvelope("imr", m.imr, MIN_IMR, ParamGuard.BPS);
        ParamGuard.checkEnvelope("mmr", m.mmr, MIN_MMR, ParamGuard.BPS);
        ParamGuard.checkEnvelope("bmr", m.bmr, MIN_BMR, ParamGuard.BPS);
        // The penalty must fit inside the maintenance margin, so a liquidation at MM can pay it, and inside the
        // backstop margin, so that closing a whole position in the partial zone (equity >= bmr of the
        // account's notional) never leaves the account in debt: a liquidation never creates bad debt, and
        // liquidating oneself through a second account never profits (DESIGN §4).
        uint256 penalty = r.liquidationPenaltyBps;
        if (!(m.imr > m.mmr && m.mmr > m.bmr && penalty <= m.mmr - m.bmr && penalty <= m.bmr)) {
            revert RiskInconsistentRatios(m.imr, m.mmr, m.bmr, r.liquidationPenaltyBps);
        }
        // Leverage at open can never exceed what the initial margin allows.
        ParamGuard.checkEnvelope("maxLeverage", r.maxLeverage, 1, ParamGuard.BPS / m.imr);
        ParamGuard.checkEnvelope("bracketAddBps1", r.bracketAddBps1, 0, MAX_BRACKET_ADD);
        ParamGuard.checkEnvelope("bracketAddBps2", r.bracketAddBps2, 0, MAX_BRACKET_ADD);
        if (r.bracketNotional2 != 0) {
            ParamGuard.checkEnvelope("bracketNotional2", r.bracketNotional2, r.bracketNotional1, type(uint96).max);
        }
        ParamGuard.checkEnvelope("keeperShareBps", r.keeperShareBps, 0, ParamGuard.BPS);
        ParamGuard.checkEnvelope("keeperRewardCap", r.keeperRewardCap, 0, MAX_KEEPER_REWARD_CAP);
        ParamGuard.checkEnvelope("oiCap", r.oiCap, 1, type(uint128).max);
        ParamGuard.checkEnvelope("priceBandBps", r.priceBandBps, MIN_PRICE_BAND, MAX_PRICE_BAND);
        ParamGuard.checkEnvelope("makerFeeBps", r.makerFeeBps, 0, MAX_FEE);
        ParamGuard.checkEnvelope("takerFeeBps", r.takerFeeBps, 0, MAX_FEE);
        ParamGuard.checkEnvelope("maxFundingBpsPerDay", r.maxFundingBpsPerDay, 0, MAX_FUNDING_PER_DAY);
        ParamGuard.checkEnvelope("fundingSkewScale", r.fundingSkewScale, 1, type(uint128).max);
    }

    function _checkMarketSteps(MarketRisk memory o, MarketRisk calldata n) private pure {
        uint256 s = MAX_PARAM_STEP_BPS;
        ParamGuard.checkStep("imr", o.ratios.imr, n.ratios.imr, s, 10);
        ParamGuard.checkStep("mmr", o.ratios.mmr, n.ratios.mmr, s, 10);
        ParamGuard.checkStep("bmr", o.ratios.bmr, n.ratios.bmr, s, 10);
        ParamGuard.checkStep("bracketNotional1", o.bracketNotional1, n.bracketNotional1, s, 1e18);
        ParamGuard.checkStep("bracketAddBps1", o.bracketAddBps1, n.bracketAddBps1, s, 10);
        ParamGuard.checkStep("bracketNotional2", o.bracketNotional2, n.bracketNotional2, s, 1e18);
        ParamGuard.checkStep("bracketAddBps2", o.bracketAddBps2, n.bracketAddBps2, s, 10);
        ParamGuard.checkStep("maxLeverage", o.maxLeverage, n.maxLeverage, s, 1);
        ParamGuard.checkStep("liquidationPenaltyBps", o.liquidationPenaltyBps, n.liquidationPenaltyBps, s, 10);
        ParamGuard.checkStep("keeperShareBps", o.keeperShareBps, n.keeperShareBps, s, 100);
        ParamGuard.checkStep("keeperRewardCap", o.keeperRewardCap, n.keeperRewardCap, s, 1e18);
        ParamGuard.checkStep("oiCap", o.oiCap, n.oiCap, s, 1e18);
        ParamGuard.checkStep("priceBandBps", o.priceBandBps, n.priceBandBps, s, 10);
        ParamGuard.checkStep("makerFeeBps", o.makerFeeBps, n.makerFeeBps, s, 1);
        ParamGuard.checkStep("takerFeeBps", o.takerFeeBps, n.takerFeeBps, s, 1);
        ParamGuard.checkStep("maxFundingBpsPerDay", o.maxFundingBpsPerDay, n.maxFundingBpsPerDay, s, 10);
        ParamGuard.checkStep("fundingSkewScale", o.fundingSkewScale, n.fundingSkewScale, s, 1e18);
    }

    function _checkCollateralEnvelopes(CollateralRisk calldata c) private pure {
        ParamGuard.checkEnvelope("weightBps", c.weightBps, MIN_WEIGHT, ParamGuard.BPS);
        ParamGuard.checkEnvelope("excessWeightBps", c.excessWeightBps, 0, c.weightBps);
        if (c.oracleAsset == bytes32(0))
            revert ParamGuard.ParameterOutOfEnvelope("oracleAsset", 0, 1, type(uint256).max);
    }

    /// @dev For `market`, every tier deeper than `tier` (lower depth) must be at least as strict in every
    /// ratio, and every shallower tier at most as strict — at every moment, ramps included. Ratios in force
    /// move linearly between a ramp's start and its target, so comparing the intervals [min, max] of both
    /// endpoints of this tier (`target`, `from`) against those of each other tier (target, ratios in force
    /// now) proves the order holds throughout. Bounded by MAX_TIERS.
    function _checkDepthMonotonicity(
        uint8 tier,
        uint16 market,
        MarginRatios memory target,
        MarginRatios memory from
    ) private view {
        uint8 depth = _tiers[tier].depth;
        MarginRatios memory mineHigh = _maxRatios(target, from);
        MarginRatios memory mineLow = _minRatios(target, from);
        uint256 count = _tierIds.length;
        for (uint256 i; i < count; ++i) {
            uint8 other = _tierIds[i];
            if (other == tier || !_isMarketInTier(other, market)) continue;
            uint8 otherDepth = _tiers[other].depth;
            if (otherDepth == depth) continue;
            MarginRatios memory otherTarget = _marketRisks[other][market].ratios;
            MarginRatios memory otherNow = currentRatios(other, market);
            if (otherDepth < depth && !_atLeast(_minRatios(otherTarget, otherNow), mineHigh)) {
                revert RiskDepthMonotonicityViolated(market, other, tier);
            }
            if (otherDepth > depth && !_atLeast(mineLow, _maxRatios(otherTarget, otherNow))) {
                revert RiskDepthMonotonicityViolated(market, tier, other);
            }
        }
    }

    function _atLeast(MarginRatios memory a, MarginRatios memory b) private pure returns (bool) {
        return a.imr >= b.imr && a.mmr >= b.mmr && a.bmr >= b.bmr;
    }

    function _sameRatios(MarginRatios memory a, MarginRatios memory b) private pure returns (bool) {
        return a.imr == b.imr && a.mmr == b.mmr && a.bmr == b.bmr;
    }

    function _maxRatios(MarginRatios memory a, MarginRatios memory b) private pure returns (MarginRatios memory) {
        return
            MarginRatios({
                imr: a.imr > b.imr ? a.imr : b.imr,
                mmr: a.mmr > b.mmr ? a.mmr : b.mmr,
                bmr: a.bmr > b.bmr ? a.bmr : b.bmr
            });
    }

    function _minRatios(MarginRatios memory a, MarginRatios memory b) private pure returns (MarginRatios memory) {
        return
            MarginRatios({
                imr: a.imr < b.imr ? a.imr : b.imr,
                mmr: a.mmr < b.mmr ? a.mmr : b.mmr,
                bmr: a.bmr < b.bmr ? a.bmr : b.bmr
            });
    }

    function _requireTier(uint8 tier) private view {
        if (!_tiers[tier].listed) revert RiskUnknownTier(tier);
    }

    /// @dev Bounded by MAX_MARKETS_PER_TIER.
    function _isMarketInTier(uint8 tier, uint16 market) private view returns (bool) {
        uint16[] storage markets = _tierMarkets[tier];
        uint256 count = markets.length;
        for (uint256 i; i < count; ++i) {
            if (markets[i] == market) return true;
        }
        return false;
    }

    function _quoteDecimals(address token) private view returns (uint8 decimals) {
        bool ok;
        (ok, decimals) = TokenMetadata.tryDecimals(token);
        if (!ok || decimals > 18) revert RiskUnsupportedQuoteToken(token);
    }

    function _marketKey(uint8 tier, uint16 market) private pure returns (bytes32) {
        return keccak256(abi.encode("marketRisk", tier, market));
    }

    function _collateralKey(uint8 tier, address token) private pure returns (bytes32) {
        return keccak256(abi.encode("collateralRisk", tier, token));
    }

    function _tierConfig(Tier storage t) private view returns (TierConfig memory) {
        return
            TierConfig({
                listed: t.listed,
                depth: t.depth,
                quoteDecimals: t.quoteDecimals,
                maxPositions: t.maxPositions,
                quoteToken: t.quoteToken
            });
    }

    function _collaterals(Tier storage t) private view returns (address[] memory tokens) {
        tokens = new address[](t.collateralCount);
        // At most MAX_COLLATERALS_PER_TIER.
        for (uint256 i; i < tokens.length; ++i) tokens[i] = t.collaterals[i];
    }
}
