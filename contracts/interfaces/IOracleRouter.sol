// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @title IOracleRouter
/// @notice Prices for Strata, read from Chainlink `AggregatorV3Interface` feeds (through their proxies)
/// and normalised to 18 decimals (WAD), each with a confidence band that widens with the price's age.
///
/// Two reads:
/// - {getPrice} is the strict read for risk-increasing actions: it reverts with a precise error unless
///   the price is fresh, in bounds, confirmed by the secondary feed (when one is set), the asset's jump
///   circuit breaker is not tripped, and the L2 sequencer is up and past its grace period.
/// - {getPriceForLiquidation} never reverts for staleness, sequencer grace or the circuit breaker, nor
///   for a reverting or deprecated feed: it falls back to the secondary feed, then to the last good
///   price recorded by {poke}, and reports every condition it met in `flags`. Margin checks use the
///   conservative side of the band (`lower` for what the protocol is owed in the asset, `upper` for what
///   it owes), which widens with age and disagreement, so that liquidating deeply underwater accounts is
///   never blocked: blocking them is what turns a shock into bad debt.
/// @dev Warning: the router trusts its feeds' `decimals()` as read when the feed is set (Chainlink
/// proxies keep them across aggregator upgrades). It trusts the secondary feed exactly as the primary.
/// Warning: the jump circuit breaker sees the latest round against the one before it; a jump followed
/// quickly by further rounds is kept tripped by anyone calling {tripBreaker} with the jump's round.
interface IOracleRouter {
    // ---------------------------------------------------------------- types

    /// @notice A price and its confidence band, all in WAD (1e18 = 1 quote unit per asset unit).
    /// @param price The best estimate (primary feed, else the fallback used).
    /// @param lower Conservative low side: `price` minus the confidence, rounded down.
    /// @param upper Conservative high side: `price` plus the confidence, rounded up.
    /// @param updatedAt When the source of `price` was last updated.
    /// @param flags Every condition met, as a bit set of the `FLAG_*` constants of {PriceFlags}; 0 is a good price.
    struct Price {
        uint256 price;
        uint256 lower;
        uint256 upper;
        uint256 updatedAt;
        uint256 flags;
    }

    /// @notice Feeds and safety parameters of one asset.
    /// @param primary The main feed (a Chainlink proxy).
    /// @param secondary An optional second AggregatorV3-compatible source (address(0) for none).
    /// @param primaryMaxAge Oldest acceptable primary update, in seconds (heartbeat plus a buffer).
    /// @param secondaryMaxAge Oldest acceptable secondary update, in seconds.
    /// @param maxDeviationBps Largest primary/secondary disagreement accepted by the strict read.
    /// @param minPrice Lowest plausible price (WAD); below it the feed is treated as clamped or broken.
    /// @param maxPrice Highest plausible price (WAD).
    /// @param jumpThresholdBps A round moving more than this from the previous one trips the breaker.
    /// @param breakerCooldown How long a tripped breaker keeps the asset reduce-only, in seconds.
    /// @param baseConfidenceBps Confidence half-width of a fresh price.
    /// @param confidenceBpsPerHour How fast the half-width grows with the price's age.
    /// @param maxConfidenceBps Cap on the half-width (also the width used for clamped prices).
    struct AssetConfig {
        // Three storage words: the primary's, the secondary's and the bounds.
        AggregatorV3Interface primary;
        uint32 primaryMaxAge;
        uint16 maxDeviationBps;
        uint16 jumpThresholdBps;
        uint16 baseConfidenceBps;
        uint16 confidenceBpsPerHour;
        AggregatorV3Interface secondary;
        uint32 secondaryMaxAge;
        uint32 breakerCooldown;
        uint16 maxConfidenceBps;
        uint128 minPrice;
        uint128 maxPrice;
    }

    // ---------------------------------------------------------------- errors

    /// @notice The asset has no feeds.
    error OracleUnknownAsset(bytes32 asset);
    /// @notice The asset is configured already.
    error OracleAssetAlreadyListed(bytes32 asset);
    /// @notice The feed's call reverted or returned malformed data (`asset` is 0 for the sequencer feed).
    error OracleFeedReverted(bytes32 asset, address feed);
    /// @notice The feed returned a zero or negative answer, or one above the hard ceiling of 1e36 (WAD).
    error OracleInvalidAnswer(bytes32 asset, address feed, int256 answer);
    /// @notice The feed returned a round with id 0, `updatedAt` 0 or `updatedAt` in the future.
    error OracleInvalidRound(bytes32 asset, address feed, uint80 roundId, uint256 updatedAt);
    /// @notice The feed's decimals are outside 0..36.
    error OracleUnsupportedDecimals(address feed, uint8 decimals);
    /// @notice The price was last updated at `updatedAt`, older than `maxAge` seconds.
    error OracleStalePrice(bytes32 asset, address feed, uint256 updatedAt, uint256 maxAge);
    /// @notice The price lies outside the asset's bounds.
    error OraclePriceOutOfBounds(bytes32 asset, uint256 price, uint256 minPrice, uint256 maxPrice);
    /// @notice Primary and secondary disagree by more than `maxDeviationBps`.
    error OraclePriceDeviation(bytes32 asset, uint256 primaryPrice, uint256 secondaryPrice, uint256 maxDeviationBps);
    /// @notice A secondary feed is configured but gives no usable price.
    error OracleSecondaryUnavailable(bytes32 asset, address feed);
    /// @notice The jump circuit breaker holds the asset reduce-only until `until`.
    error OracleCircuitBreakerActive(bytes32 asset, uint256 until);
    /// @notice The L2 sequencer is down (or its uptime feed cannot be read).
    error OracleSequencerDown();
    /// @notice The L2 sequencer is back up but inside its grace period, which ends at `graceEndsAt`.
    error OracleSequencerGracePeriod(uint256 graceEndsAt);
    /// @notice {setAssetParams} changes numbers only; feeds change through {setFeeds}.
    error OracleFeedsImmutableHere(bytes32 asset);
    /// @notice The round given to {tripBreaker} is not a jump, or is too old to keep the breaker on.
    error OracleNoJump(bytes32 asset, uint80 roundId);

    // ---------------------------------------------------------------- events

    /// @notice `asset` was configured.
    event AssetConfigured(bytes32 indexed asset, AssetConfig config);
    /// @notice The feeds of `asset` were replaced.
    event FeedsSet(bytes32 indexed asset, address primary, address secondary);
    /// @notice The L2 sequencer-uptime feed and grace period were set.
    event SequencerFeedSet(address indexed feed, uint256 gracePeriod);
    /// @notice A good price of `asset` was recorded as its fallback.
    event LastGoodPriceRecorded(bytes32 indexed asset, uint256 price, uint256 updatedAt);
    /// @notice The jump circuit breaker of `asset` was tripped by round `roundId` until `until`.
    event CircuitBreakerTripped(bytes32 indexed asset, uint80 roundId, uint256 until);

    // ---------------------------------------------------------------- reads

    /// @notice The strict read for risk-increasing actions. Reverts unless the price is good (flags 0).
    function getPrice(bytes32 asset) external view returns (Price memory);

    /// @notice The read for liquidations and health checks. Never reverts for staleness, sequencer
    /// grace, the circuit breaker, or a broken feed; reports every condition in `flags`. Returns
    /// `price == 0` with `FLAG_UNAVAILABLE` only when no feed and no recorded price exist at all.
    /// @dev Reverts only with {OracleUnknownAsset} for an asset that was never configured.
    /// Its `CIRCUIT_BREAKER` flag reports a breaker in force (persisted by {poke} or {tripBreaker}) and a
    /// jump from the last good price, but does not fetch the feed's previous round: nothing acts on that
    /// flag in a liquidation or margin read, and the fetch would cost every liquidation a feed call. The
    /// complete status, previous round included, is {isRiskIncreaseAllowed} (and {getPrice}).
    function getPriceForLiquidation(bytes32 asset) external view returns (Price memory);

    /// @notice Whether risk-increasing actions on `asset` are allowed now (the strict read would succeed).
    function isRiskIncreaseAllowed(bytes32 asset) external view returns (bool);

    /// @notice The configuration of `asset`.
    function assetConfig(bytes32 asset) external view returns (AssetConfig memory);

    /// @notice The recorded fallback price of `asset` and its time, and the stored breaker deadline.
    function assetState(
        bytes32 asset
    ) external view returns (uint256 lastGoodPrice, uint256 lastGoodAt, uint256 breakerUntil);

    /// @notice The L2 sequencer-uptime feed (address(0) on L1) and its grace period.
    function sequencer() external view returns (address feed, uint256 gracePeriod);

    // ---------------------------------------------------------------- keepers

    /// @notice Records the current primary price of `asset` as its fallback when it is good, and trips the
    /// breaker if the latest round is a jump. Anyone may call it; keepers do after every round.
    function poke(bytes32 asset) external;

    /// @notice Trips the breaker of `asset` by proving that round `roundId` jumped from its predecessor
    /// by more than the threshold and is recent enough to still hold the asset reduce-only.
    function tripBreaker(bytes32 asset, uint80 roundId) external;

    // ---------------------------------------------------------------- governance

    /// @notice Configures a new asset (ADMIN).
    function listAsset(bytes32 asset, AssetConfig calldata config) external;

    /// @notice Replaces the feeds of `asset` (ORACLE). The new primary must answer, in bounds, within
    /// `maxDeviationBps` of the current price when that price is sound (the max step of a feed change); a
    /// new secondary must answer in bounds and agree with the new primary. At most once per cooldown.
    function setFeeds(bytes32 asset, AggregatorV3Interface primary, AggregatorV3Interface secondary) external;

    /// @notice Changes the numeric parameters of `asset` (RISK), each within its envelope and one step
    /// (50% of its value, or a small absolute step where larger), at most once per cooldown.
    /// The feeds in `config` must equal the current ones.
    function setAssetParams(bytes32 asset, AssetConfig calldata config) external;

    /// @notice Sets the L2 sequencer-uptime feed (address(0) on L1) and its grace period (ADMIN).
    function setSequencerFeed(AggregatorV3Interface feed, uint32 gracePeriod) external;
}

/// @title PriceFlags
/// @notice The bits of {IOracleRouter.Price.flags}.
library PriceFlags {
    /// @notice The primary price is older than its max age.
    uint256 internal constant STALE = 1 << 0;
    /// @notice The jump circuit breaker is tripped.
    uint256 internal constant CIRCUIT_BREAKER = 1 << 1;
    /// @notice The L2 sequencer is down.
    uint256 internal constant SEQUENCER_DOWN = 1 << 2;
    /// @notice The L2 sequencer is up but inside its grace period.
    uint256 internal constant SEQUENCER_GRACE = 1 << 3;
    /// @notice Primary and secondary disagree beyond the max deviation (band spans both).
    uint256 internal constant DEVIATION = 1 << 4;
    /// @notice The primary price is outside the asset's bounds (clamped feed or broken source).
    uint256 internal constant OUT_OF_BOUNDS = 1 << 5;
    /// @notice The primary feed reverted or returned an invalid round or answer.
    uint256 internal constant PRIMARY_FAILED = 1 << 6;
    /// @notice A configured secondary feed gave no usable price.
    uint256 internal constant SECONDARY_FAILED = 1 << 7;
    /// @notice `price` comes from the secondary feed.
    uint256 internal constant FALLBACK_SECONDARY = 1 << 8;
    /// @notice `price` is the last good price recorded by `poke`.
    uint256 internal constant FALLBACK_LAST_GOOD = 1 << 9;
    /// @notice No price at all (`price == 0`).
    uint256 internal constant UNAVAILABLE = 1 << 10;
}
