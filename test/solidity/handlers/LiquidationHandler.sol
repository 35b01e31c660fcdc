// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MockV3Aggregator} from "@chainlink/contracts/src/v0.8/tests/MockV3Aggregator.sol";
import {SignedMath} from "@openzeppelin/contracts/utils/math/SignedMath.sol";

import {ClearingHouse} from "../../../contracts/clearing/ClearingHouse.sol";
import {LiquidationEngine} from "../../../contracts/clearing/LiquidationEngine.sol";
import {IClearingHouse} from "../../../contracts/interfaces/IClearingHouse.sol";
import {ILiquidationEngine} from "../../../contracts/interfaces/ILiquidationEngine.sol";
import {IOracleRouter} from "../../../contracts/interfaces/IOracleRouter.sol";
import {IRiskEngine} from "../../../contracts/interfaces/IRiskEngine.sol";
import {BucketId, BucketIdLib} from "../../../contracts/libraries/BucketId.sol";
import {MockERC20} from "../../../contracts/mocks/MockERC20.sol";
import {CollateralVault} from "../../../contracts/vault/CollateralVault.sol";
import {TestBase} from "../utils/TestBase.sol";
import {VM_ADDRESS} from "../utils/Vm.sol";

/// @dev The log-recording cheatcodes (served by Hardhat's EDR, Foundry-compatible); not in the shared `Vm`.
interface VmLogs {
    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }

    function recordLogs() external;

    function getRecordedLogs() external returns (Log[] memory);
}

/// @notice Drives the LiquidationEngine over the real clearing house, vault, oracle router, risk engine and
/// one BackstopPool per tier: traders open leveraged positions against their tier's market maker, the price
/// moves (gaps down to −30%), and the handler (as keeper) liquidates, batch-liquidates and auto-deleverages.
/// It holds the EXECUTOR role (`applyFill`).
/// @dev The runner ignores reverts of handler calls (failOnRevert = false), so the handler never asserts by
/// reverting: it calls the protocol in try/catch and counts every violation in a public `fail*` counter that
/// the invariants require to stay zero. Per liquidation it checks DESIGN §6.4 (healthy accounts revert with
/// LiquidationAccountHealthy; a partial liquidation raises equity − MM strictly or closes the account),
/// §6.5 (the WaterfallStep events of steps 2+3+4 sum to the deficit exactly, step 2 equals what the
/// insurance fund lost, step 3 what the reserve paid), §6.2 (nothing of another tier changes), and that the
/// keeper is credited exactly the previewed reward in its own account of the tier while no owner's token
/// balance moves.
// One failure counter per property checked: more state than a production contract.
// solhint-disable-next-line max-states-count
contract LiquidationHandler is TestBase {
    uint8 public constant TIERS = 3;
    uint16 public constant MARKET = 1;
    /// Traders per tier; account index TRADERS is the tier's market maker.
    uint256 public constant TRADERS = 4;
    uint256 public constant ACCOUNTS = TRADERS + 1;
    uint256 internal constant SCALE = 1e12;
    /// Wei of quote WAD the pool's conservative valuation may move by rounding when it takes a position over.
    int256 internal constant POOL_ROUNDING = 2;
    uint256 internal constant MIN_DEPOSIT = 500e6;
    uint256 internal constant MAX_DEPOSIT = 20_000e6;
    uint256 internal constant MM_DEPOSIT = 2_000_000e6;
    int256 internal constant MIN_ANSWER = 200e8;
    int256 internal constant MAX_ANSWER = 20_000e8;
    /// Price gaps (falls) per `setPrice`, and the range of ordinary steps (either way).
    uint256 internal constant MIN_GAP_BPS = 500;
    uint256 internal constant MAX_GAP_BPS = 3_000;
    uint256 internal constant MAX_STEP_BPS = 300;
    /// The feed posts a round at least this often, within the router's 2-day max age.
    uint256 internal constant HEARTBEAT = 1 days;
    bytes32 internal constant WATERFALL_STEP = keccak256("WaterfallStep(uint256,uint8,uint256)");
    /// Pseudo-selectors counting refusals the spec allows (reported, never failures).
    bytes4 public constant MARGIN_REFUSAL = bytes4("IMrf");
    bytes4 public constant PARTIAL = bytes4("part");
    bytes4 public constant BACKSTOP = bytes4("bkst");
    bytes4 public constant DEFICIT = bytes4("dfct");
    bytes4 public constant STEP4 = bytes4("stp4");

    VmLogs internal constant LOGS = VmLogs(VM_ADDRESS);

    ClearingHouse public immutable clearing;
    CollateralVault public immutable vault;
    LiquidationEngine public immutable engine;
    IRiskEngine public immutable risk;
    MockERC20 public immutable quote;
    MockV3Aggregator public immutable feed;
    IOracleRouter public immutable oracle;
    bytes32 public immutable asset;

    uint256 public currentTime;

    // ------------------------------------------------------------ failure counters (must stay zero)

    /// A call the handler had checked to be valid reverted, or reverted with an error the spec does not allow.
    uint256 public failUnexpectedRevert;
    /// A liquidation of a healthy account did not revert with LiquidationAccountHealthy (§6.4).
    uint256 public failHealthyLiquidated;
    /// A partial liquidation left equity − MM not strictly higher with positions left (§6.4).
    uint256 public failNotImproved;
    /// A backstop's WaterfallStep amounts of steps 2+3+4 differed from its deficit, a step was emitted
    /// without a deficit, or step 2 / step 3 differed from what the insurance fund / reserve lost (§6.5).
    uint256 public failWaterfall;
    /// The pool's equity fell by more than its share of the waterfall (step 4) in a backstop, or at all (but
    /// rounding) in a partial liquidation: the keeper's reward must never come out of LPs' capital.
    uint256 public failPoolCharged;
    /// A liquidation or ADL in tier A changed something of another tier (§6.1, §6.2, §5 "nothing ... belongs
    /// to another tier").
    uint256 public failOtherTierChanged;
    /// The keeper's account of the tier was not credited exactly the previewed reward, or some owner's
    /// token balance moved during a liquidation.
    uint256 public failKeeperOrOwnerPaid;
    /// liquidateBatch returned another count than the number of distinct liquidatable accounts given.
    uint256 public failBatchCount;
    /// ADL absorbed more than the pool's deficit or left the pool's equity lower.
    uint256 public failAdl;
    bytes public lastUnexpectedRevert;

    /// Calls per action that did something, and outcomes (for sanity checks).
    mapping(bytes4 selector => uint256) public calls;

    /// @dev What a liquidation is checked against, taken before the call.
    struct Before {
        ILiquidationEngine.Preview preview;
        int256 keeperCash;
        uint256 keeperTokens;
        uint256 ownerTokens;
        int256 insuranceFunds;
        uint256 reserve;
        int256 poolEquity;
        bytes32[TIERS] digests;
    }

    /// @dev WaterfallStep amounts seen in one call, per step (index 0: steps outside 1..5); `count` per step.
    struct Steps {
        uint256[6] amount;
        uint256[6] count;
    }

    constructor(
        ClearingHouse clearing_,
        CollateralVault vault_,
        LiquidationEngine engine_,
        IRiskEngine risk_,
        MockERC20 quote_,
        MockV3Aggregator feed_,
        IOracleRouter oracle_,
        bytes32 asset_
    ) {
        oracle = oracle_;
        asset = asset_;
        clearing = clearing_;
        vault = vault_;
        engine = engine_;
        risk = risk_;
        quote = quote_;
        feed = feed_;
        currentTime = block.timestamp;
    }

    /// @notice Funds each tier's market maker (called once by the test's setUp).
    function fundMarketMakers() external {
        for (uint8 t; t < TIERS; ++t) _deposit(accountAt(t, TRADERS), MM_DEPOSIT);
    }

    // ================================================================ actions

    /// @notice A trader deposits and opens a position against its tier's market maker at the oracle mid, at a
    /// leverage up to 95% of the tier's maximum. Only margin refusals may revert.
    function openPosition(uint256 tierSeed, uint256 traderSeed, uint256 depositSeed, uint256 leverageSeed) external {
        _syncTime();
        uint8 tier = uint8(tierSeed % TIERS);
        BucketId trader = accountAt(tier, traderSeed % TRADERS);
        BucketId maker = accountAt(tier, TRADERS);
        _deposit(trader, bound(depositSeed, MIN_DEPOSIT, MAX_DEPOSIT));

        IClearingHouse.Health memory h = clearing.health(trader);
        if (h.equity <= 0) return;
        uint256 maxLeverage = risk.marketRisk(tier, MARKET).maxLeverage;
        // Leverage in bps of equity: 0.5x to 95% of the maximum.
        uint256 leverageBps = bound(leverageSeed, 5_000, maxLeverage * 9_500);
        uint256 price = mid();
        uint256 size = (uint256(h.equity) * leverageBps * 1e14) / price;
        if (size < 1e15) return;
        int256 signedSize = (leverageSeed >> 128) % 2 == 0 ? int256(size) : -int256(size);

        IClearingHouse.Fill memory f = IClearingHouse.Fill({
            taker: trader,
            maker: maker,
            market: MARKET,
            size: signedSize,
            price: price,
            takerFee: 0,
            makerFee: 0,
            poolFee: 0,
            protocolFee: 0,
            protocol: BucketId.wrap(0)
        });
        try clearing.applyFill(f) {
            ++calls[this.openPosition.selector];
        } catch (bytes memory err) {
            if (_selector(err) == IClearingHouse.ClearingInsufficientMargin.selector) {
                ++calls[MARGIN_REFUSAL];
            } else {
                _unexpected(err);
            }
        }
    }

    /// @notice The oracle price moves, a few minutes later: one time in four by a gap of −30% to −5%, otherwise
    /// by −3% to +3% (small steps walk accounts through the partial-liquidation band).
    function setPrice(uint256 moveSeed, uint256 secondsSeed) external {
        _syncTime();
        _advance(bound(secondsSeed, 1, 10 minutes));
        int256 answer = feed.latestAnswer();
        // The low two bits choose a gap (0) or a step; the rest is the size of the move.
        uint256 magnitude = moveSeed >> 2;
        int256 moveBps =
            moveSeed % 4 == 0
                ? -int256(bound(magnitude, MIN_GAP_BPS, MAX_GAP_BPS))
                : int256(bound(magnitude, 0, 2 * MAX_STEP_BPS)) - int256(MAX_STEP_BPS);
        int256 next = (answer * (10_000 + moveBps)) / 10_000;
        if (next < MIN_ANSWER) next = MIN_ANSWER;
        if (next > MAX_ANSWER) next = MAX_ANSWER;
        feed.updateAnswer(next);
        ++calls[this.setPrice.selector];
    }

    /// @notice The keeper liquidates an account (traders or the market maker; the first liquidatable one
    /// from a random start, else the random one) with `size` 0: it must succeed when the preview says
    /// liquidatable and revert with LiquidationAccountHealthy otherwise.
    function liquidate(uint256 tierSeed, uint256 accountSeed) external {
        _syncTime();
        uint8 tier = uint8(tierSeed % TIERS);
        for (uint256 i; i < ACCOUNTS; ++i) {
            BucketId account = accountAt(tier, (accountSeed + i) % ACCOUNTS);
            if (engine.preview(account, MARKET).liquidatable) {
                _liquidateChecked(account);
                return;
            }
        }
        _liquidateChecked(accountAt(tier, accountSeed % ACCOUNTS));
    }

    /// @notice The keeper tries to liquidate a healthy account (the first healthy one from a random start):
    /// it must revert with LiquidationAccountHealthy and change nothing (§6.4).
    function liquidateHealthy(uint256 tierSeed, uint256 accountSeed) external {
        _syncTime();
        uint8 tier = uint8(tierSeed % TIERS);
        for (uint256 i; i < ACCOUNTS; ++i) {
            BucketId account = accountAt(tier, (accountSeed + i) % ACCOUNTS);
            if (!engine.preview(account, MARKET).liquidatable) {
                _liquidateChecked(account);
                return;
            }
        }
    }

    /// @notice The keeper batch-liquidates a random subset (distinct accounts) of a tier's accounts. The
    /// count returned must be the number of liquidatable ones; each is checked as a single liquidation is.
    function liquidateBatch(uint256 tierSeed, uint256 maskSeed) external {
        _syncTime();
        uint8 tier = uint8(tierSeed % TIERS);
        uint256 mask = maskSeed % (1 << ACCOUNTS);
        uint256 n;
        for (uint256 i; i < ACCOUNTS; ++i) if (mask & (1 << i) != 0) ++n;
        if (n == 0) return;
        BucketId[] memory accounts = new BucketId[](n);
        uint16[] memory markets = new uint16[](n);
        uint256 expected;
        uint256 k;
        bytes32[TIERS] memory digests = _digests();
        for (uint256 i; i < ACCOUNTS; ++i) {
            if (mask & (1 << i) == 0) continue;
            accounts[k] = accountAt(tier, i);
            markets[k++] = MARKET;
            if (engine.preview(accountAt(tier, i), MARKET).liquidatable) ++expected;
        }
        uint256[ACCOUNTS] memory ownerTokens;
        for (uint256 i; i < ACCOUNTS; ++i) ownerTokens[i] = quote.balanceOf(accountAt(tier, i).owner());
        uint256 keeperTokens = quote.balanceOf(address(this));

        try engine.liquidateBatch(accounts, markets) returns (uint256 liquidated) {
            if (liquidated != expected) ++failBatchCount;
            if (liquidated != 0) ++calls[this.liquidateBatch.selector];
        } catch (bytes memory err) {
            _unexpected(err);
        }
        for (uint256 i; i < ACCOUNTS; ++i) {
            if (quote.balanceOf(accountAt(tier, i).owner()) != ownerTokens[i]) ++failKeeperOrOwnerPaid;
        }
        if (quote.balanceOf(address(this)) != keeperTokens) ++failKeeperOrOwnerPaid;
        _checkFirewall(digests, tier);
    }

    /// @notice When a tier's pool has negative equity, the keeper auto-deleverages the profitable accounts
    /// opposite to the pool. It must not revert, absorb at most the deficit, and never lower the pool's equity.
    function adl(uint256 tierSeed) external {
        _syncTime();
        uint8 tier = uint8(tierSeed % TIERS);
        BucketId poolAccount = poolAccountOf(tier);
        int256 poolEquity = clearing.health(poolAccount).equity;
        int256 poolSize = clearing.position(poolAccount, MARKET).size;
        if (poolEquity >= 0 || poolSize == 0) return;

        BucketId[] memory targets = _adlTargets(tier, tierSeed / TIERS, poolSize);
        if (targets.length == 0) return;

        bytes32[TIERS] memory digests = _digests();
        LOGS.recordLogs();
        try engine.adl(tier, MARKET, targets) {
            Steps memory s = _steps(LOGS.getRecordedLogs());
            int256 after_ = clearing.health(poolAccount).equity;
            if (s.amount[5] > uint256(-poolEquity) || after_ < poolEquity) ++failAdl;
            if (s.count[2] + s.count[3] + s.count[4] != 0) ++failWaterfall;
            ++calls[this.adl.selector];
        } catch (bytes memory err) {
            LOGS.getRecordedLogs();
            _unexpected(err);
        }
        _checkFirewall(digests, tier);
    }

    /// @dev Profitable accounts opposite to the pool, from a random start, until they cover the pool's size: a
    /// target after the pool is flat would no longer be opposite to it (AdlSameSide, the keeper's mistake).
    function _adlTargets(uint8 tier, uint256 start, int256 poolSize) internal view returns (BucketId[] memory targets) {
        targets = new BucketId[](ACCOUNTS);
        uint256 n;
        uint256 covered;
        (uint256 lower, uint256 upper) = _band();
        for (uint256 j; j < ACCOUNTS && covered < SignedMath.abs(poolSize); ++j) {
            BucketId a = accountAt(tier, (start + j) % ACCOUNTS);
            IClearingHouse.Position memory p = clearing.position(a, MARKET);
            if (p.size == 0 || (p.size > 0) == (poolSize > 0)) continue;
            int256 pnl = (int256(p.size) * int256(p.size > 0 ? lower : upper)) / 1e18 - p.openNotional;
            // A margin of 1 wei of rounding: the engine's own PnL maths rounds on its side.
            if (pnl <= 1) continue;
            targets[n++] = a;
            covered += SignedMath.abs(p.size);
        }
        assembly ("memory-safe") {
            mstore(targets, n)
        }
    }

    // ================================================================ views

    /// @notice Account `i` of `tier`: traders `(0xA000 + i, tier, 0)`, and at `TRADERS` the market maker.
    function accountAt(uint8 tier, uint256 i) public pure returns (BucketId) {
        return BucketIdLib.account(address(uint160(0xA000 + i)), tier, 0);
    }

    function poolAccountOf(uint8 tier) public view returns (BucketId) {
        return BucketIdLib.account(clearing.pool(tier), tier, 0);
    }

    /// @notice The oracle's mid price (quote WAD per ETH).
    function mid() public view returns (uint256) {
        return uint256(feed.latestAnswer()) * 1e10;
    }

    // ================================================================ liquidation checks

    function _liquidateChecked(BucketId account) internal {
        uint8 tier = account.tier();
        Before memory b = _before(account);
        LOGS.recordLogs();
        try engine.liquidate(account, MARKET, 0) {
            Steps memory s = _steps(LOGS.getRecordedLogs());
            if (!b.preview.liquidatable) {
                ++failHealthyLiquidated;
            } else {
                _checkLiquidated(account, b, s);
            }
        } catch (bytes memory err) {
            LOGS.getRecordedLogs();
            if (b.preview.liquidatable) {
                if (_selector(err) == ILiquidationEngine.LiquidationNotImproved.selector) ++failNotImproved;
                _unexpected(err);
            } else if (_selector(err) != ILiquidationEngine.LiquidationAccountHealthy.selector) {
                ++failHealthyLiquidated;
                _unexpected(err);
            } else {
                ++calls[this.liquidateHealthy.selector];
            }
        }
        if (quote.balanceOf(account.owner()) != b.ownerTokens) ++failKeeperOrOwnerPaid;
        if (quote.balanceOf(address(this)) != b.keeperTokens) ++failKeeperOrOwnerPaid;
        _checkFirewall(b.digests, tier);
    }

    function _before(BucketId account) internal view returns (Before memory b) {
        uint8 tier = account.tier();
        b.preview = engine.preview(account, MARKET);
        b.keeperCash = clearing.cash(BucketIdLib.account(address(this), tier, 0));
        b.keeperTokens = quote.balanceOf(address(this));
        b.ownerTokens = quote.balanceOf(account.owner());
        b.insuranceFunds = _insuranceFunds(tier);
        b.reserve = vault.reserveBalance(address(quote));
        b.poolEquity = clearing.health(poolAccountOf(tier)).equity;
        b.digests = _digests();
    }

    function _checkLiquidated(BucketId account, Before memory b, Steps memory s) internal {
        uint8 tier = account.tier();
        ++calls[this.liquidate.selector];
        if (s.count[0] != 0) ++failWaterfall; // a step outside 1..5
        // A backstop's reward is the market's cap, limited to the account's own remaining equity (never LPs'
        // capital); a partial's is the previewed share of the penalty, within the cap.
        uint256 cap = risk.marketRisk(tier, MARKET).keeperRewardCap;
        uint256 reward = b.preview.keeperReward;
        if (b.preview.backstop) {
            reward = b.preview.equity <= 0 ? 0 : uint256(b.preview.equity);
            if (reward > cap) reward = cap;
        }
        int256 keeperGain = clearing.cash(BucketIdLib.account(address(this), tier, 0)) - b.keeperCash;
        if (keeperGain != int256(reward) || reward > cap) ++failKeeperOrOwnerPaid;

        // The pool takes positions at the conservative mark (never a loss for it beyond rounding); in a
        // backstop it also receives the account's equity (negative: the deficit), steps 2 and 3, and pays the
        // reward (only out of a positive equity). So its equity falls by at most step 4.
        int256 poolExpected = b.poolEquity;
        if (b.preview.backstop) {
            poolExpected += b.preview.equity + int256(s.amount[2] + s.amount[3]) - int256(reward);
        }
        if (clearing.health(poolAccountOf(tier)).equity + POOL_ROUNDING < poolExpected) ++failPoolCharged;

        if (!b.preview.backstop) {
            ++calls[PARTIAL];
            IClearingHouse.Health memory a = clearing.health(account);
            if (a.positions != 0 && a.equity - int256(a.mm) <= b.preview.equity - int256(b.preview.mm)) {
                ++failNotImproved;
            }
            if (s.count[1] + s.count[2] + s.count[3] + s.count[4] != 0) ++failWaterfall;
            return;
        }
        ++calls[BACKSTOP];
        if (b.preview.equity >= 0) {
            // No deficit: no step of 2–4 runs.
            if (s.count[2] + s.count[3] + s.count[4] != 0) ++failWaterfall;
            return;
        }
        ++calls[DEFICIT];
        if (s.amount[4] != 0) ++calls[STEP4];
        uint256 deficit = uint256(-b.preview.equity);
        if (s.count[2] != 1 || s.count[3] != 1 || s.count[4] != 1) ++failWaterfall;
        if (s.amount[2] + s.amount[3] + s.amount[4] != deficit) ++failWaterfall;
        // Step 2 is what the insurance fund lost; step 3 what the reserve paid (whole token units).
        if (b.insuranceFunds - _insuranceFunds(tier) != int256(s.amount[2])) ++failWaterfall;
        if ((b.reserve - vault.reserveBalance(address(quote))) * SCALE != s.amount[3]) ++failWaterfall;
    }

    /// @dev Sums the WaterfallStep events of the engine in `logs`, per step.
    function _steps(VmLogs.Log[] memory logs) internal view returns (Steps memory s) {
        for (uint256 i; i < logs.length; ++i) {
            VmLogs.Log memory entry = logs[i];
            if (entry.emitter != address(engine) || entry.topics.length != 3 || entry.topics[0] != WATERFALL_STEP)
                continue;
            uint256 step = uint256(entry.topics[2]);
            if (step == 0 || step > 5) {
                ++s.count[0];
                continue;
            }
            s.amount[step] += abi.decode(entry.data, (uint256));
            ++s.count[step];
        }
    }

    function _insuranceFunds(uint8 tier) internal view returns (int256) {
        BucketId insurance = BucketIdLib.insurance(tier);
        return clearing.cash(insurance) + int256(vault.balanceOf(insurance, address(quote)) * SCALE);
    }

    // ================================================================ firewall

    /// @dev Everything of `tier` a liquidation elsewhere must leave alone: vault total, reserve allowance,
    /// open interest, funding state, system buckets, the pool's and the keeper's accounts, every account.
    function _tierDigest(uint8 tier) internal view returns (bytes32 digest) {
        (uint256 total, ) = vault.tierTotal(tier, address(quote));
        (int256 index, ) = clearing.fundingState(tier, MARKET);
        digest = keccak256(
            abi.encode(
                total,
                vault.reserveAvailable(tier, address(quote)),
                clearing.openInterest(tier, MARKET),
                index,
                _bucketDigest(BucketIdLib.insurance(tier)),
                _bucketDigest(BucketIdLib.settlement(tier)),
                _bucketDigest(poolAccountOf(tier)),
                _bucketDigest(BucketIdLib.account(address(this), tier, 0))
            )
        );
        for (uint256 i; i < ACCOUNTS; ++i) digest = keccak256(abi.encode(digest, _bucketDigest(accountAt(tier, i))));
    }

    function _bucketDigest(BucketId b) internal view returns (bytes32) {
        return
            keccak256(abi.encode(clearing.cash(b), clearing.position(b, MARKET), vault.balanceOf(b, address(quote))));
    }

    function _digests() internal view returns (bytes32[TIERS] memory d) {
        for (uint8 t; t < TIERS; ++t) d[t] = _tierDigest(t);
    }

    function _checkFirewall(bytes32[TIERS] memory before, uint8 actingTier) internal {
        for (uint8 t; t < TIERS; ++t) {
            if (t != actingTier && _tierDigest(t) != before[t]) ++failOtherTierChanged;
        }
    }

    // ================================================================ helpers

    function _deposit(BucketId account, uint256 amount) internal {
        address owner = account.owner();
        quote.mint(owner, amount);
        VM.startPrank(owner);
        quote.approve(address(vault), amount);
        try vault.deposit(address(quote), amount, account) {} catch (bytes memory err) {
            _unexpected(err);
        }
        VM.stopPrank();
    }

    /// @dev The router's conservative band, as the engine reads it.
    function _band() internal view returns (uint256 lower, uint256 upper) {
        IOracleRouter.Price memory p = oracle.getPriceForLiquidation(asset);
        return (p.lower, p.upper);
    }

    function _syncTime() internal {
        if (block.timestamp != currentTime) VM.warp(currentTime);
    }

    function _advance(uint256 secondsForward) internal {
        currentTime += secondsForward;
        VM.warp(currentTime);
        if (currentTime - feed.latestTimestamp() >= HEARTBEAT) feed.updateAnswer(feed.latestAnswer());
    }

    function _selector(bytes memory err) internal pure returns (bytes4 selector) {
        if (err.length < 4) return bytes4(0);
        assembly ("memory-safe") {
            selector := mload(add(err, 32))
        }
    }

    function _unexpected(bytes memory err) internal {
        ++failUnexpectedRevert;
        lastUnexpectedRevert = err;
    }
}
