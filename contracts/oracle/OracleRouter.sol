// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {AccessManaged} from "@openzeppelin/contracts/access/manager/AccessManaged.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {IOracleRouter, PriceFlags} from "../interfaces/IOracleRouter.sol";
import {ParamGuard} from "../libraries/ParamGuard.sol";

/// @title OracleRouter
/// @notice Chainlink-fed prices with bounds, staleness, cross-checks, sequencer awareness, a jump
/// circuit breaker and an age-widened confidence band. See {IOracleRouter}.
/// @dev One code path serves both reads: in strict mode each check reverts with its own error, in
/// liquidation mode it sets a flag and the read goes on with the most conservative price it can find.
contract OracleRouter is IOracleRouter, AccessManaged {
    /// @dev Outcome of one feed call. `ok` means: the call succeeded, roundId > 0, 0 < updatedAt <= now,
    /// answer > 0. Bounds and age are judged by the caller.
    struct FeedRead {
        bool ok;
        FeedFailure failure;
        uint80 roundId;
        int256 answer;
        uint256 price;
        uint256 updatedAt;
    }

    /// @dev Why a feed read is not `ok`.
    enum FeedFailure {
        None,
        Reverted,
        InvalidRound,
        InvalidAnswer
    }

    /// @dev Per asset: fallback price, breaker deadline and the feeds' decimals (read when the feed is set).
    struct AssetState {
        uint128 lastGoodPrice;
        uint48 lastGoodAt;
        uint48 breakerUntil;
        uint8 primaryDecimals;
        uint8 secondaryDecimals;
    }

    uint256 private constant WAD = 1e18;
    uint256 private constant BPS = 10_000;

    // Hard envelopes (DESIGN §2).
    uint8 public constant MAX_FEED_DECIMALS = 36;
    uint256 public constant MIN_MAX_AGE = 1 minutes;
    uint256 public constant MAX_MAX_AGE = 2 days;
    uint256 public constant MIN_DEVIATION_BPS = 10;
    uint256 public constant MAX_DEVIATION_BPS = 2_000;
    uint256 public constant MAX_PRICE = 1e36;
    uint256 public constant MIN_JUMP_BPS = 100;
    uint256 public constant MAX_JUMP_BPS = 9_000;
    uint256 public constant MAX_BREAKER_COOLDOWN = 1 days;
    uint256 public constant MAX_BASE_CONFIDENCE_BPS = 1_000;
    uint256 public constant MAX_CONFIDENCE_GROWTH_BPS = 5_000;
    uint256 public constant MAX_CONFIDENCE_BPS = 5_000;
    uint256 public constant MAX_GRACE_PERIOD = 1 days;
    /// @notice Largest relative change of a numeric parameter per governance action.
    uint256 public constant MAX_PARAM_STEP_BPS = 5_000;
    /// @notice Shortest interval between two parameter or feed changes of one asset.
    uint256 public constant PARAM_COOLDOWN = 1 days;

    /// @dev Gas forwarded to one feed call. A Chainlink proxy read costs ~10-30k; the cap keeps a feed
    /// that burns its gas from starving the "never reverts" liquidation read of the gas it needs.
    uint256 private constant FEED_CALL_GAS = 150_000;
    /// @dev Bytes of a `(uint80, int256, uint256, uint256, uint80)` round: all that is copied back.
    uint256 private constant ROUND_DATA_SIZE = 160;
    /// @dev Flags under which the current price cannot serve as the reference for a feed change.
    uint256 private constant UNSOUND_REFERENCE =
        PriceFlags.STALE |
            PriceFlags.OUT_OF_BOUNDS |
            PriceFlags.PRIMARY_FAILED |
            PriceFlags.FALLBACK_SECONDARY |
            PriceFlags.FALLBACK_LAST_GOOD |
            PriceFlags.UNAVAILABLE;

    /// @dev A sequencer-uptime feed answers 0 when the sequencer is up.
    int256 private constant SEQUENCER_UP = 0;

    mapping(bytes32 asset => AssetConfig) private _configs;
    mapping(bytes32 asset => AssetState) private _states;
    mapping(bytes32 key => uint256) private _lastParamChange;
    AggregatorV3Interface private _sequencerFeed;
    uint32 private _gracePeriod;

    /// @param authority The AccessManager that governs this router.
    constructor(address authority) AccessManaged(authority) {}

    // ================================================================ reads

    /// @inheritdoc IOracleRouter
    function getPrice(bytes32 asset) external view returns (Price memory) {
        return _read(asset, true, true);
    }

    /// @inheritdoc IOracleRouter
    function getPriceForLiquidation(bytes32 asset) external view returns (Price memory) {
        return _read(asset, false, false);
    }

    /// @inheritdoc IOracleRouter
    function isRiskIncreaseAllowed(bytes32 asset) external view returns (bool) {
        return _read(asset, false, true).flags == 0;
    }

    /// @inheritdoc IOracleRouter
    function assetConfig(bytes32 asset) external view returns (AssetConfig memory) {
        return _configs[asset];
    }

    /// @inheritdoc IOracleRouter
    function assetState(
        bytes32 asset
    ) external view returns (uint256 lastGoodPrice, uint256 lastGoodAt, uint256 breakerUntil) {
        AssetState memory st = _states[asset];
        return (st.lastGoodPrice, st.lastGoodAt, st.breakerUntil);
    }

    /// @inheritdoc IOracleRouter
    function sequencer() external view returns (address feed, uint256 gracePeriod) {
        return (address(_sequencerFeed), _gracePeriod);
    }

    // ================================================================ keepers

    /// @inheritdoc IOracleRouter
    function poke(bytes32 asset) external {
        Price memory p = _read(asset, false, true);
        AssetState storage st = _states[asset];
        // Persist a jump first, judged against the state before this poke: recording the jumped round as
        // the last good price first would erase the reference the jump is measured against.
        if (p.flags & PriceFlags.CIRCUIT_BREAKER != 0) {
            AssetConfig memory cfg = _configs[asset];
            FeedRead memory latest = _readLatest(cfg.primary, st.primaryDecimals);
            uint256 until = _jumpUntil(cfg, st, latest, true);
            if (until > st.breakerUntil) {
                st.breakerUntil = uint48(until); // updatedAt + cooldown, both bounded
                emit CircuitBreakerTripped(asset, latest.roundId, until);
            }
        }
        // Only a good price becomes the fallback; a jumped round is recorded once its breaker has passed.
        uint256 unsound =
            PriceFlags.STALE |
                PriceFlags.OUT_OF_BOUNDS |
                PriceFlags.PRIMARY_FAILED |
                PriceFlags.DEVIATION |
                PriceFlags.SEQUENCER_DOWN |
                PriceFlags.CIRCUIT_BREAKER;
        if (p.flags & unsound == 0 && p.updatedAt > st.lastGoodAt) {
            // price <= MAX_PRICE < 2^128 (bounds); updatedAt <= block.timestamp < 2^48.
            st.lastGoodPrice = uint128(p.price);
            st.lastGoodAt = uint48(p.updatedAt);
            emit LastGoodPriceRecorded(asset, p.price, p.updatedAt);
        }
    }

    /// @inheritdoc IOracleRouter
    function tripBreaker(bytes32 asset, uint80 roundId) external {
        AssetConfig memory cfg = _requireAsset(asset);
        AssetState storage st = _states[asset];
        FeedRead memory r = _readRound(cfg.primary, st.primaryDecimals, roundId);
        uint256 until = _jumpUntil(cfg, st, r, true);
        if (until <= block.timestamp) revert OracleNoJump(asset, roundId);
        if (until > st.breakerUntil) {
            st.breakerUntil = uint48(until); // updatedAt + cooldown, both bounded
            emit CircuitBreakerTripped(asset, roundId, until);
        }
    }

    // ================================================================ governance

    /// @inheritdoc IOracleRouter
    function listAsset(bytes32 asset, AssetConfig calldata config) external restricted {
        if (address(_configs[asset].primary) != address(0)) revert OracleAssetAlreadyListed(asset);
        _checkEnvelopes(config);
        AssetState storage st = _states[asset];
        st.primaryDecimals = _feedDecimals(asset, config.primary);
        st.secondaryDecimals = address(config.secondary) == address(0) ? 0 : _feedDecimals(asset, config.secondary);
        _configs[asset] = config;
        uint256 primaryPrice = _requireSaneFeed(asset, config.primary, st.primaryDecimals, config);
        if (address(config.secondary) != address(0)) {
            uint256 secondaryPrice = _requireSaneFeed(asset, config.secondary, st.secondaryDecimals, config);
            if (_deviationBps(primaryPrice, secondaryPrice) > config.maxDeviationBps) {
                revert OraclePriceDeviation(asset, primaryPrice, secondaryPrice, config.maxDeviationBps);
            }
        }
        emit AssetConfigured(asset, config);
    }

    /// @inheritdoc IOracleRouter
    function setFeeds(
        bytes32 asset,
        AggregatorV3Interface primary,
        AggregatorV3Interface secondary
    ) external restricted {
        AssetConfig memory cfg = _requireAsset(asset);
        ParamGuard.checkCooldown(_lastParamChange, keccak256(abi.encode("feeds", asset)), PARAM_COOLDOWN);
        // Reference for the step check: the current price as the liquidation read sees it.
        Price memory current = _read(asset, false, true);

        AssetState storage st = _states[asset];
        uint8 primaryDecimals = _feedDecimals(asset, primary);
        uint8 secondaryDecimals = address(secondary) == address(0) ? 0 : _feedDecimals(asset, secondary);
        uint256 newPrice = _requireSaneFeed(asset, primary, primaryDecimals, cfg);
        // The max step of a feed change: the new feed must agree with a sound current price. A stale,
        // broken or fallback price is no reference (replacing such a feed is the point of the change).
        if (current.flags & UNSOUND_REFERENCE == 0 && _deviationBps(current.price, newPrice) > cfg.maxDeviationBps) {
            revert OraclePriceDeviation(asset, current.price, newPrice, cfg.maxDeviationBps);
        }
        if (address(secondary) != address(0)) {
            ParamGuard.checkEnvelope("secondaryMaxAge", cfg.secondaryMaxAge, MIN_MAX_AGE, MAX_MAX_AGE);
            uint256 secondaryPrice = _requireSaneFeed(asset, secondary, secondaryDecimals, cfg);
            if (_deviationBps(newPrice, secondaryPrice) > cfg.maxDeviationBps) {
                revert OraclePriceDeviation(asset, newPrice, secondaryPrice, cfg.maxDeviationBps);
            }
        }

        st.primaryDecimals = primaryDecimals;
        st.secondaryDecimals = secondaryDecimals;
        _configs[asset].primary = primary;
        _configs[asset].secondary = secondary;
        emit FeedsSet(asset, address(primary), address(secondary));
    }

    /// @inheritdoc IOracleRouter
    function setAssetParams(bytes32 asset, AssetConfig calldata config) external restricted {
        AssetConfig memory old = _requireAsset(asset);
        if (config.primary != old.primary || config.secondary != old.secondary) revert OracleFeedsImmutableHere(asset);
        _checkEnvelopes(config);
        // Each parameter moves by at most 50% of its value, or by a small absolute step where that is
        // larger (so that zero and small values can move at all), and the asset's parameters change at
        // most once per PARAM_COOLDOWN.
        uint256 step = MAX_PARAM_STEP_BPS;
        ParamGuard.checkStep("primaryMaxAge", old.primaryMaxAge, config.primaryMaxAge, step, 1 minutes);
        ParamGuard.checkStep("secondaryMaxAge", old.secondaryMaxAge, config.secondaryMaxAge, step, 1 minutes);
        ParamGuard.checkStep("maxDeviationBps", old.maxDeviationBps, config.maxDeviationBps, step, 10);
        ParamGuard.checkStep("minPrice", old.minPrice, config.minPrice, step, 1);
        ParamGuard.checkStep("maxPrice", old.maxPrice, config.maxPrice, step, 1);
        ParamGuard.checkStep("jumpThresholdBps", old.jumpThresholdBps, config.jumpThresholdBps, step, 100);
        ParamGuard.checkStep("breakerCooldown", old.breakerCooldown, config.breakerCooldown, step, 1 minutes);
        ParamGuard.checkStep("baseConfidenceBps", old.baseConfidenceBps, config.baseConfidenceBps, step, 5);
        ParamGuard.checkStep("confidenceBpsPerHour", old.confidenceBpsPerHour, config.confidenceBpsPerHour, step, 10);
        ParamGuard.checkStep("maxConfidenceBps", old.maxConfidenceBps, config.maxConfidenceBps, step, 100);
        ParamGuard.checkCooldown(_lastParamChange, keccak256(abi.encode("assetParams", asset)), PARAM_COOLDOWN);
        _configs[asset] = config;
        emit AssetConfigured(asset, config);
    }

    /// @inheritdoc IOracleRouter
    function setSequencerFeed(AggregatorV3Interface feed, uint32 gracePeriod) external restricted {
        ParamGuard.checkEnvelope("gracePeriod", gracePeriod, 0, MAX_GRACE_PERIOD);
        if (address(feed) != address(0) && address(feed).code.length == 0) {
            revert OracleFeedReverted(bytes32(0), address(feed));
        }
        _sequencerFeed = feed;
        _gracePeriod = gracePeriod;
        emit SequencerFeedSet(address(feed), gracePeriod);
    }

    // ================================================================ the read

    /// @dev The one read path. `strict` reverts on any unsound condition; otherwise conditions become flags.
    /// `lookBack` judges a recent primary round against the feed's previous round for the jump breaker (one
    /// more feed call); without it, only a breaker in force and a jump from the last good price are seen.
    function _read(bytes32 asset, bool strict, bool lookBack) private view returns (Price memory p) {
        AssetConfig memory cfg = _requireAsset(asset);
        AssetState memory st = _states[asset];

        p.flags = _sequencerFlags(strict);

        // Primary feed: validity, bounds, age, jumps.
        FeedRead memory primary = _readLatest(cfg.primary, st.primaryDecimals);
        bool primaryInBounds;
        bool primaryFresh;
        if (!primary.ok) {
            if (strict) _revertFeed(asset, cfg.primary, primary);
            p.flags |= PriceFlags.PRIMARY_FAILED;
        } else {
            primaryInBounds = primary.price >= cfg.minPrice && primary.price <= cfg.maxPrice;
            if (!primaryInBounds) {
                if (strict) revert OraclePriceOutOfBounds(asset, primary.price, cfg.minPrice, cfg.maxPrice);
                p.flags |= PriceFlags.OUT_OF_BOUNDS;
            }
            primaryFresh = block.timestamp - primary.updatedAt <= cfg.primaryMaxAge;
            if (!primaryFresh) {
                if (strict) revert OracleStalePrice(asset, address(cfg.primary), primary.updatedAt, cfg.primaryMaxAge);
                p.flags |= PriceFlags.STALE;
            }
            uint256 breakerUntil = Math.max(st.breakerUntil, _jumpUntil(cfg, st, primary, lookBack));
            if (block.timestamp < breakerUntil) {
                if (strict) revert OracleCircuitBreakerActive(asset, breakerUntil);
                p.flags |= PriceFlags.CIRCUIT_BREAKER;
            }
        }

        // Secondary feed: a cross-check when the primary is sound, a fallback when it is not.
        FeedRead memory secondary;
        bool secondaryUsable;
        if (address(cfg.secondary) != address(0)) {
            secondary = _readLatest(cfg.secondary, st.secondaryDecimals);
            secondaryUsable =
                secondary.ok &&
                secondary.price >= cfg.minPrice &&
                secondary.price <= cfg.maxPrice &&
                block.timestamp - secondary.updatedAt <= cfg.secondaryMaxAge;
            if (!secondaryUsable) {
                if (strict) revert OracleSecondaryUnavailable(asset, address(cfg.secondary));
                p.flags |= PriceFlags.SECONDARY_FAILED;
            } else if (primaryInBounds && _deviationBps(primary.price, secondary.price) > cfg.maxDeviationBps) {
                if (strict) {
                    revert OraclePriceDeviation(asset, primary.price, secondary.price, cfg.maxDeviationBps);
                }
                p.flags |= PriceFlags.DEVIATION;
            }
        }

        // Choose the source, most trustworthy first.
        uint256 confidenceBps;
        bool outOfBoundsSource;
        if (primaryInBounds && (primaryFresh || !secondaryUsable)) {
            // A stale primary is still used when nothing fresher exists, with its age-widened band.
            (p.price, p.updatedAt) = (primary.price, primary.updatedAt);
            confidenceBps = _confidenceBps(cfg, p.updatedAt);
        } else if (secondaryUsable) {
            (p.price, p.updatedAt) = (secondary.price, secondary.updatedAt);
            p.flags |= PriceFlags.FALLBACK_SECONDARY;
            confidenceBps = _confidenceBps(cfg, p.updatedAt);
        } else if (primary.ok) {
            // Out of bounds with no alternative (e.g. a feed that broke through its floor): the feed's own
            // answer, not the bound, with the widest band. Clamping would overvalue a collapsing asset.
            (p.price, p.updatedAt) = (primary.price, primary.updatedAt);
            confidenceBps = cfg.maxConfidenceBps;
            outOfBoundsSource = true;
        } else if (st.lastGoodAt != 0) {
            (p.price, p.updatedAt) = (st.lastGoodPrice, st.lastGoodAt);
            p.flags |= PriceFlags.FALLBACK_LAST_GOOD;
            confidenceBps = _confidenceBps(cfg, p.updatedAt);
        } else {
            p.flags |= PriceFlags.UNAVAILABLE;
            return p;
        }

        // Rounding: the half-width rounds up, so the band is never narrower than configured.
        uint256 confidence = Math.mulDiv(p.price, confidenceBps, BPS, Math.Rounding.Ceil);
        p.lower = p.price - Math.min(confidence, p.price);
        p.upper = p.price + confidence;
        // The band spans every plausible answer, whichever is the source: an in-bounds primary (stale or
        // disagreeing) and a usable secondary both widen it, so margin sees the worse of them. An answer
        // outside the bounds is implausible and widens nothing when an alternative exists; used alone, its
        // band reaches from it to the bound it broke through (a floor-clamped feed may hide a lower price,
        // an absurd high one must not inflate collateral).
        if (primaryInBounds) _widen(p, primary.price, confidence);
        if (secondaryUsable) _widen(p, secondary.price, confidence);
        if (outOfBoundsSource) _widen(p, p.price < cfg.minPrice ? cfg.minPrice : cfg.maxPrice, confidence);
    }

    /// @dev Widens `p`'s band to include `other` ± `confidence` (rounded outwards).
    function _widen(Price memory p, uint256 other, uint256 confidence) private pure {
        p.lower = Math.min(p.lower, other - Math.min(confidence, other));
        p.upper = Math.max(p.upper, other + confidence);
    }

    function _sequencerFlags(bool strict) private view returns (uint256) {
        AggregatorV3Interface feed = _sequencerFeed;
        if (address(feed) == address(0)) return 0;
        (bool success, uint256[5] memory round) = _callFeed(
            address(feed),
            abi.encodeCall(AggregatorV3Interface.latestRoundData, ())
        );
        // A sequencer feed that cannot be read, reports down, or has no start time counts as down.
        if (!success) {
            if (strict) revert OracleSequencerDown();
            return PriceFlags.SEQUENCER_DOWN;
        }
        int256 answer = int256(round[1]);
        uint256 startedAt = round[2];
        if (answer != SEQUENCER_UP || startedAt == 0 || startedAt > block.timestamp) {
            if (strict) revert OracleSequencerDown();
            return PriceFlags.SEQUENCER_DOWN;
        }
        uint256 graceEndsAt = startedAt + _gracePeriod;
        if (block.timestamp < graceEndsAt) {
            if (strict) revert OracleSequencerGracePeriod(graceEndsAt);
            return PriceFlags.SEQUENCER_GRACE;
        }
        return 0;
    }

    /// @dev When the breaker set off by round `r` ends; 0 if `r` is no jump. `r` is compared with its
    /// predecessor; where that cannot be read (the first round of a new proxy phase, after an aggregator
    /// upgrade), with the last good price recorded before `r`.
    function _jumpUntil(
        AssetConfig memory cfg,
        AssetState memory st,
        FeedRead memory r,
        bool lookBack
    ) private view returns (uint256) {
        // No breaker can be active for a round older than the cooldown: skip the extra feed call.
        if (!r.ok || r.updatedAt + cfg.breakerCooldown <= block.timestamp) return 0;
        uint256 reference_;
        if (lookBack && r.roundId > 1) {
            FeedRead memory prev = _readRound(cfg.primary, st.primaryDecimals, r.roundId - 1);
            if (prev.ok) reference_ = prev.price;
        }
        if (reference_ == 0 && st.lastGoodAt != 0 && st.lastGoodAt < r.updatedAt) reference_ = st.lastGoodPrice;
        if (reference_ == 0 || _deviationBps(reference_, r.price) <= cfg.jumpThresholdBps) return 0;
        return r.updatedAt + cfg.breakerCooldown;
    }

    function _confidenceBps(AssetConfig memory cfg, uint256 updatedAt) private view returns (uint256) {
        uint256 age = block.timestamp - updatedAt;
        // Rounding: growth rounds up, widening the band.
        uint256 grown = cfg.baseConfidenceBps + Math.mulDiv(age, cfg.confidenceBpsPerHour, 1 hours, Math.Rounding.Ceil);
        return Math.min(grown, cfg.maxConfidenceBps);
    }

    // ================================================================ feed calls

    function _readLatest(AggregatorV3Interface feed, uint8 decimals) private view returns (FeedRead memory) {
        return _decodeRound(feed, decimals, abi.encodeCall(AggregatorV3Interface.latestRoundData, ()));
    }

    function _readRound(
        AggregatorV3Interface feed,
        uint8 decimals,
        uint80 roundId
    ) private view returns (FeedRead memory) {
        return _decodeRound(feed, decimals, abi.encodeCall(AggregatorV3Interface.getRoundData, (roundId)));
    }

    /// @dev A low-level call, so that a reverting feed, a feed without code, or malformed return data
    /// marks the read as failed instead of reverting the caller (try/catch cannot catch decoding errors).
    function _decodeRound(
        AggregatorV3Interface feed,
        uint8 decimals,
        bytes memory callData
    ) private view returns (FeedRead memory r) {
        (bool success, uint256[5] memory round) = _callFeed(address(feed), callData);
        if (!success) {
            r.failure = FeedFailure.Reverted;
            return r;
        }
        (uint256 roundId, int256 answer, uint256 updatedAt) = (round[0], int256(round[1]), round[3]);
        if (roundId > type(uint80).max) {
            r.failure = FeedFailure.Reverted;
            return r;
        }
        r.roundId = uint80(roundId);
        r.answer = answer;
        r.updatedAt = updatedAt;
        if (roundId == 0 || updatedAt == 0 || updatedAt > block.timestamp) {
            r.failure = FeedFailure.InvalidRound;
            return r;
        }
        // A positive int256 fits a uint256.
        r.price = answer > 0 ? _toWad(uint256(answer), decimals) : 0;
        // Above the hard ceiling no asset is plausible; it also keeps every band computation from overflowing.
        if (r.price == 0 || r.price > MAX_PRICE) {
            r.failure = FeedFailure.InvalidAnswer;
            return r;
        }
        r.ok = true;
    }

    /// @dev Static call with a gas cap that copies back at most one round (160 bytes), so neither a feed
    /// that burns its gas nor one that returns huge data can make the caller run out of gas. Fails when
    /// the call reverts or returns fewer than 160 bytes (including an address without code).
    function _callFeed(
        address feed,
        bytes memory callData
    ) private view returns (bool success, uint256[5] memory round) {
        assembly ("memory-safe") {
            success := staticcall(FEED_CALL_GAS, feed, add(callData, 0x20), mload(callData), round, ROUND_DATA_SIZE)
            if lt(returndatasize(), ROUND_DATA_SIZE) {
                success := 0
            }
        }
    }

    /// @dev Rounding: down when the feed has more than 18 decimals (the band absorbs the lost digits).
    function _toWad(uint256 answer, uint8 decimals) private pure returns (uint256) {
        if (decimals == 18) return answer;
        if (decimals < 18) {
            uint256 scale = 10 ** (18 - decimals);
            // A feed answer above this would not fit in WAD; treat it as invalid (price 0).
            return answer > type(uint256).max / scale ? 0 : answer * scale;
        }
        return answer / 10 ** (decimals - 18);
    }

    function _revertFeed(bytes32 asset, AggregatorV3Interface feed, FeedRead memory r) private pure {
        if (r.failure == FeedFailure.Reverted) revert OracleFeedReverted(asset, address(feed));
        if (r.failure == FeedFailure.InvalidRound)
            revert OracleInvalidRound(asset, address(feed), r.roundId, r.updatedAt);
        revert OracleInvalidAnswer(asset, address(feed), r.answer);
    }

    // ================================================================ helpers

    function _requireAsset(bytes32 asset) private view returns (AssetConfig memory cfg) {
        cfg = _configs[asset];
        if (address(cfg.primary) == address(0)) revert OracleUnknownAsset(asset);
    }

    /// @dev |a − b| / a in basis points, rounded up (so a borderline disagreement counts as exceeding).
    function _deviationBps(uint256 reference_, uint256 other) private pure returns (uint256) {
        uint256 diff = reference_ > other ? reference_ - other : other - reference_;
        return Math.mulDiv(diff, BPS, reference_, Math.Rounding.Ceil);
    }

    function _feedDecimals(bytes32 asset, AggregatorV3Interface feed) private view returns (uint8 decimals) {
        if (address(feed).code.length == 0) revert OracleFeedReverted(asset, address(feed));
        try feed.decimals() returns (uint8 d) {
            decimals = d;
        } catch {
            revert OracleFeedReverted(asset, address(feed));
        }
        if (decimals > MAX_FEED_DECIMALS) revert OracleUnsupportedDecimals(address(feed), decimals);
    }

    /// @dev A feed being set must answer a valid, in-bounds price now. Returns that price.
    function _requireSaneFeed(
        bytes32 asset,
        AggregatorV3Interface feed,
        uint8 decimals,
        AssetConfig memory cfg
    ) private view returns (uint256) {
        FeedRead memory r = _readLatest(feed, decimals);
        if (!r.ok) _revertFeed(asset, feed, r);
        if (r.price < cfg.minPrice || r.price > cfg.maxPrice) {
            revert OraclePriceOutOfBounds(asset, r.price, cfg.minPrice, cfg.maxPrice);
        }
        return r.price;
    }

    function _checkEnvelopes(AssetConfig calldata c) private pure {
        ParamGuard.checkEnvelope("primaryMaxAge", c.primaryMaxAge, MIN_MAX_AGE, MAX_MAX_AGE);
        if (address(c.secondary) != address(0)) {
            ParamGuard.checkEnvelope("secondaryMaxAge", c.secondaryMaxAge, MIN_MAX_AGE, MAX_MAX_AGE);
        }
        ParamGuard.checkEnvelope("maxDeviationBps", c.maxDeviationBps, MIN_DEVIATION_BPS, MAX_DEVIATION_BPS);
        ParamGuard.checkEnvelope("minPrice", c.minPrice, 1, MAX_PRICE);
        ParamGuard.checkEnvelope("maxPrice", c.maxPrice, uint256(c.minPrice) + 1, MAX_PRICE);
        ParamGuard.checkEnvelope("jumpThresholdBps", c.jumpThresholdBps, MIN_JUMP_BPS, MAX_JUMP_BPS);
        ParamGuard.checkEnvelope("breakerCooldown", c.breakerCooldown, 0, MAX_BREAKER_COOLDOWN);
        ParamGuard.checkEnvelope("baseConfidenceBps", c.baseConfidenceBps, 0, MAX_BASE_CONFIDENCE_BPS);
        ParamGuard.checkEnvelope("confidenceBpsPerHour", c.confidenceBpsPerHour, 0, MAX_CONFIDENCE_GROWTH_BPS);
        ParamGuard.checkEnvelope("maxConfidenceBps", c.maxConfidenceBps, c.baseConfidenceBps, MAX_CONFIDENCE_BPS);
    }
}
