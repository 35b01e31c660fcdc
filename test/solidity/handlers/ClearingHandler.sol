// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MockV3Aggregator} from "@chainlink/contracts/src/v0.8/tests/MockV3Aggregator.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SignedMath} from "@openzeppelin/contracts/utils/math/SignedMath.sol";

import {ClearingHouse} from "../../../contracts/clearing/ClearingHouse.sol";
import {IClearingHouse} from "../../../contracts/interfaces/IClearingHouse.sol";
import {ICollateralVault} from "../../../contracts/interfaces/ICollateralVault.sol";
import {IRiskEngine} from "../../../contracts/interfaces/IRiskEngine.sol";
import {BucketId, BucketIdLib} from "../../../contracts/libraries/BucketId.sol";
import {MockERC20} from "../../../contracts/mocks/MockERC20.sol";
import {OracleRouter} from "../../../contracts/oracle/OracleRouter.sol";
import {CollateralVault} from "../../../contracts/vault/CollateralVault.sol";
import {TestBase} from "../utils/TestBase.sol";

/// @notice Drives a ClearingHouse (one market, three tiers, one 6-decimal quote token) with random but
/// well-formed calls, and keeps an exact ghost model of what each account's books and each bucket's vault
/// balance must be. It holds the EXECUTOR role (`applyFill`).
/// @dev The runner ignores reverts of handler calls (failOnRevert = false), so the handler never asserts by
/// reverting: it calls the protocol in try/catch, accepts only the reverts the spec allows, and counts
/// anything else in the public `fail*` counters that the invariants require to stay zero.
///
/// Ghost model, per account `a` (units: "WAD²" = quote WAD × 1e18, so that no division is needed):
/// `book(a) = (cash − openNotional) × WAD + size × fundingSnapshot`. Then the account's exact value at price
/// `p` and funding index `I` is `collateral × 1e12 × WAD + book(a) + size × (p − I)`, and
/// - a funding settlement at index `I` changes `book` by `−dust`, where `dust = owed × WAD − size × (I −
///   snapshot) ∈ [0, WAD)` is the protocol-favouring rounding of the amount owed;
/// - a fill side of `dSize` at signed notional `n` (= dSize × price rounded towards zero) with fee `f`
///   changes `book` by `dSize × I − (n + f) × WAD`, whatever PnL it realizes;
/// - a settlement of `tokens` (positive: the account paid) changes `book` by `tokens × 1e12 × WAD`.
/// Time is kept in `currentTime` and re-applied at the start of each action.
// One ghost or failure counter per property checked: more state than a production contract.
// solhint-disable-next-line max-states-count
contract ClearingHandler is TestBase {
    uint8 public constant TIERS = 3;
    uint16 public constant MARKET = 1;
    uint256 public constant ACTORS = 2;
    uint256 public constant SUB_IDS = 2;
    /// Trader accounts per tier (actor × subId). Account 0, `(actor 0, tier, 0)`, is the tier's pool account.
    uint256 public constant TRADERS = ACTORS * SUB_IDS;
    /// Known buckets per tier: the traders, then the settlement bucket, then the insurance fund.
    uint256 public constant BUCKETS = TRADERS + 2;
    int256 public constant WAD = 1e18;
    /// Quote WAD per unit of the 6-decimal quote token.
    int256 public constant SCALE = 1e12;
    /// `tier` argument of `_checkFirewall` when no tier may change (a reverted call).
    uint256 internal constant NO_TIER = type(uint256).max;
    uint256 internal constant MIN_SIZE = 1e15;
    uint256 internal constant MAX_CROSS_SIZE = 100e18;
    uint256 internal constant MAX_DEPOSIT = 100_000e6;
    uint256 internal constant MAX_FEE_BPS = 10;
    uint256 internal constant PPM = 1e6;
    /// Largest distance of a fill price from the oracle price: 1%.
    uint256 internal constant MAX_FILL_OFFSET_PPM = 10_000;
    int256 internal constant MIN_ANSWER = 200e8;
    int256 internal constant MAX_ANSWER = 20_000e8;
    /// Largest price move per `setPrice`: 5%.
    uint256 internal constant MAX_MOVE_BPS = 500;
    /// The feed posts a round at least this often (a keeper heartbeat), within the router's 2-day max age.
    uint256 internal constant HEARTBEAT = 1 days;
    /// Pseudo-selectors counting refusals that the spec allows (reported, never failures).
    bytes4 public constant MARGIN_REFUSAL = bytes4("IMrf");
    bytes4 public constant WITHDRAW_REFUSAL = bytes4("WDrf");

    ClearingHouse public immutable clearing;
    CollateralVault public immutable vault;
    OracleRouter public immutable oracle;
    MockERC20 public immutable quote;
    MockV3Aggregator public immutable feed;
    bytes32 public immutable asset;
    IRiskEngine public immutable risk;
    address[ACTORS] internal _actors;

    uint256 public currentTime;

    // ------------------------------------------------------------ ghost model

    /// `(cash − openNotional) × WAD + size × fundingSnapshot` of every known bucket (WAD² units).
    mapping(BucketId bucket => int256) public ghostBook;
    /// Vault quote balance of every known bucket; signed, so a missing credit shows as a negative balance.
    mapping(BucketId bucket => int256) public ghostBalance;
    /// The tier's stored funding index (moved by fills and `accrueFunding` only), and when it last moved.
    mapping(uint8 tier => int256) public ghostStoredIndex;
    mapping(uint8 tier => uint256) public ghostLastAccrual;
    /// Σ protocol-favouring rounding dust of the tier's funding settlements (WAD² units).
    mapping(uint8 tier => uint256) public ghostFundingDust;
    /// Funding settlements of the tier with a non-zero exact amount (each leaves dust < 1 wei of quote WAD).
    mapping(uint8 tier => uint256) public fundingSettlements;

    // ------------------------------------------------------------ failure counters (must stay zero)

    /// A call the handler had checked to be valid reverted, or reverted with an error the spec does not allow.
    uint256 public failUnexpectedRevert;
    /// A call acting on one tier changed another tier's positions, cash, balances, totals or funding.
    uint256 public failOtherTierChanged;
    /// A fill between accounts of two tiers did not revert with ClearingCrossTierFill.
    uint256 public failCrossTierFill;
    /// A risk-increasing side ended below IM after a fill, or a margin refusal was neither an increasing side
    /// below its requirement nor a reducing side ending in debt.
    uint256 public failFillMargin;
    /// A fill reducing both sides was refused for anything but a side ending in debt.
    uint256 public failReduceRefused;
    /// Settlement moved other tokens, or left other cash, than the rounding rules of DESIGN §3 give.
    uint256 public failSettlement;
    /// After settling, a position's funding snapshot differed from the tier's stored index.
    uint256 public failFundingIndex;
    /// A withdrawal with open positions or debt left what is in hand below IM (or a refusal reported equity >= IM).
    uint256 public failWithdrawMargin;
    /// A withdrawal of free collateral (no position, no debt, within the balance) was refused, one above the
    /// balance went through, or the receiver got another amount than withdrawn.
    uint256 public failWithdrawal;
    /// A round trip at one price left an account with more value than before minus its fees.
    uint256 public failRoundTripProfit;
    /// A round trip at one price cost an account more than its fees plus funding rounding dust.
    uint256 public failRoundTripOvercharged;
    bytes public lastUnexpectedRevert;

    /// Calls per action that did something (for sanity checks), and allowed refusals.
    mapping(bytes4 selector => uint256) public calls;

    /// @dev What settling an account must do, computed from the state before the call.
    struct Settlement {
        uint256 dust;
        bool counted;
        int256 tokens;
        int256 cashAfter;
        bool hasPosition;
    }

    /// @dev Inputs of one fill, as the handler chose them.
    struct FillArgs {
        BucketId taker;
        BucketId maker;
        int256 size;
        uint256 price;
        uint256 takerFee;
        uint256 makerFee;
    }

    constructor(
        ClearingHouse clearing_,
        CollateralVault vault_,
        OracleRouter oracle_,
        IRiskEngine risk_,
        MockERC20 quote_,
        MockV3Aggregator feed_,
        bytes32 asset_
    ) {
        clearing = clearing_;
        vault = vault_;
        oracle = oracle_;
        quote = quote_;
        feed = feed_;
        asset = asset_;
        risk = risk_;
        for (uint256 i; i < ACTORS; ++i) _actors[i] = address(uint160(0xA000 + i));
        currentTime = block.timestamp;
    }

    // ================================================================ actions

    /// @notice A trader deposits quote into one of its accounts of a random tier.
    function depositNoRevert(uint256 tierSeed, uint256 accountSeed, uint256 amountSeed) external {
        _syncTime();
        uint8 tier = _tier(tierSeed);
        BucketId account = bucketAt(tier, accountSeed % TRADERS);
        address owner = account.owner();
        uint256 amount = bound(amountSeed, 1e6, MAX_DEPOSIT);
        quote.mint(owner, amount);
        bytes32[TIERS] memory before = _digests();
        VM.startPrank(owner);
        quote.approve(address(vault), amount);
        try vault.deposit(address(quote), amount, account) {
            ghostBalance[account] += int256(amount);
            ++calls[this.depositNoRevert.selector];
        } catch (bytes memory err) {
            _unexpected(err);
        }
        VM.stopPrank();
        _checkFirewall(before, tier);
    }

    /// @notice The executor applies a fill between two accounts of one tier, within 1% of the oracle price,
    /// sized around what the sides' margin allows. Only margin refusals of risk-increasing sides may revert.
    function fillNoRevert(
        uint256 tierSeed,
        uint256 takerSeed,
        uint256 makerSeed,
        uint256 sizeSeed,
        uint256 priceSeed,
        uint256 feeSeed
    ) external {
        _syncTime();
        FillArgs memory f = _randomFill(
            _tierWithHeadroom(tierSeed),
            takerSeed,
            makerSeed,
            sizeSeed,
            priceSeed,
            feeSeed
        );
        if (_fillAllowingMarginRefusal(f)) ++calls[this.fillNoRevert.selector];
    }

    /// @notice A fill that reduces both sides (opposite positions of one tier): never refused, even for an
    /// account under water.
    function reduceFillNoRevert(
        uint256 tierSeed,
        uint256 accountSeed,
        uint256 sizeSeed,
        uint256 priceSeed,
        uint256 feeSeed
    ) external {
        _syncTime();
        bool found;
        BucketId taker;
        BucketId maker;
        for (uint256 k; k < TIERS && !found; ++k) {
            (found, taker, maker) = _oppositePair(_tier((tierSeed % TIERS) + k), accountSeed);
        }
        if (!found) return;
        int256 takerSize = clearing.position(taker, MARKET).size;
        int256 makerSize = clearing.position(maker, MARKET).size;
        uint256 most = Math.min(SignedMath.abs(takerSize), SignedMath.abs(makerSize));
        uint256 magnitude = bound(sizeSeed, 1, most);
        FillArgs memory f;
        f.taker = taker;
        f.maker = maker;
        f.size = takerSize > 0 ? -int256(magnitude) : int256(magnitude);
        f.price = _fillPrice(priceSeed);
        (f.takerFee, f.makerFee) = _fees(f.size, f.price, feeSeed);
        (bool ok, bytes memory err) = _applyFill(f);
        if (ok) {
            ++calls[this.reduceFillNoRevert.selector];
        } else if (!_refusedForDebt(err, taker, maker)) {
            ++failReduceRefused;
            lastUnexpectedRevert = err;
        }
    }

    /// @dev The one refusal a reducing fill may meet: a side would end in debt (at a price against it), refused
    /// with ClearingInsufficientMargin(side, equity < 0, requirement 0).
    function _refusedForDebt(bytes memory err, BucketId taker, BucketId maker) internal pure returns (bool) {
        if (err.length != 100 || bytes4(err) != IClearingHouse.ClearingInsufficientMargin.selector) return false;
        bytes memory args = new bytes(96);
        for (uint256 i; i < 96; ++i) args[i] = err[i + 4];
        (BucketId account, int256 equity, uint256 requirement) = abi.decode(args, (BucketId, int256, uint256));
        bool side =
            BucketId.unwrap(account) == BucketId.unwrap(taker) || BucketId.unwrap(account) == BucketId.unwrap(maker);
        return side && equity < 0 && requirement == 0;
    }

    /// @notice DESIGN §6.8: a fill opened and at once closed at the same price by the same two accounts leaves
    /// each of them with no more value than before minus its fees (value: collateral + cash + unrealized PnL −
    /// pending funding, exact, at the oracle price). An account flat before must end with cash + collateral
    /// no higher than before minus its fees.
    function roundTripNoRevert(
        uint256 tierSeed,
        uint256 takerSeed,
        uint256 makerSeed,
        uint256 sizeSeed,
        uint256 priceSeed,
        uint256 feeSeed
    ) external {
        _syncTime();
        FillArgs memory open = _randomFill(
            _tierWithHeadroom(tierSeed),
            takerSeed,
            makerSeed,
            sizeSeed,
            priceSeed,
            feeSeed
        );
        FillArgs memory close = FillArgs({
            taker: open.taker,
            maker: open.maker,
            size: -open.size,
            price: open.price,
            takerFee: 0,
            makerFee: 0
        });
        (close.takerFee, close.makerFee) = _fees(close.size, close.price, uint256(keccak256(abi.encode(feeSeed))));

        int256[2] memory valueBefore = [_value(open.taker), _value(open.maker)];
        int256[2] memory cashBefore = [_cashAndCollateral(open.taker), _cashAndCollateral(open.maker)];
        bool[2] memory flat = [_size(open.taker) == 0, _size(open.maker) == 0];

        // The unwind may increase a side that the opening fill reduced, and be refused for its margin.
        if (!_fillAllowingMarginRefusal(open) || !_fillAllowingMarginRefusal(close)) return;

        BucketId[2] memory accounts = [open.taker, open.maker];
        uint256[2] memory fees = [open.takerFee + close.takerFee, open.makerFee + close.makerFee];
        for (uint256 k; k < 2; ++k) {
            int256 feesWad = int256(fees[k]) * WAD;
            int256 valueAfter = _value(accounts[k]);
            if (valueAfter > valueBefore[k] - feesWad) ++failRoundTripProfit;
            // Only the funding settled by the opening fill may cost more: less than 1 wei of quote WAD.
            if (valueAfter <= valueBefore[k] - feesWad - WAD) ++failRoundTripOvercharged;
            if (flat[k] && _cashAndCollateral(accounts[k]) > cashBefore[k] - int256(fees[k])) ++failRoundTripProfit;
        }
        ++calls[this.roundTripNoRevert.selector];
    }

    /// @notice A fill between accounts of two tiers must revert with ClearingCrossTierFill and change nothing.
    function crossTierFillMustRevert(
        uint256 tierSeed,
        uint256 otherSeed,
        uint256 takerSeed,
        uint256 makerSeed,
        uint256 sizeSeed,
        uint256 priceSeed
    ) external {
        _syncTime();
        uint8 tier = _tier(tierSeed);
        uint8 other = uint8((uint256(tier) + 1 + (otherSeed % (TIERS - 1))) % TIERS);
        BucketId taker = bucketAt(tier, takerSeed % TRADERS);
        BucketId maker = bucketAt(other, makerSeed % TRADERS);
        int256 size = _signed(bound(sizeSeed >> 1, MIN_SIZE, MAX_CROSS_SIZE), sizeSeed);
        IClearingHouse.Fill memory fill = IClearingHouse.Fill({
            taker: taker,
            maker: maker,
            market: MARKET,
            size: size,
            price: _fillPrice(priceSeed),
            takerFee: 0,
            makerFee: 0,
            poolFee: 0,
            protocolFee: 0,
            protocol: BucketId.wrap(0)
        });
        bytes32[TIERS] memory before = _digests();
        try clearing.applyFill(fill) {
            ++failCrossTierFill;
        } catch (bytes memory err) {
            bytes memory expected = abi.encodeWithSelector(IClearingHouse.ClearingCrossTierFill.selector, taker, maker);
            if (keccak256(err) == keccak256(expected)) ++calls[this.crossTierFillMustRevert.selector];
            else ++failCrossTierFill;
        }
        _checkFirewall(before, NO_TIER);
    }

    /// @notice The oracle moves by up to 5% (within [200, 20000]) a few minutes later.
    function setPrice(uint256 moveSeed, uint256 secondsSeed) external {
        _syncTime();
        _advance(bound(secondsSeed, 1, 10 minutes));
        int256 answer = feed.latestAnswer();
        int256 moveBps = int256(bound(moveSeed, 0, 2 * MAX_MOVE_BPS)) - int256(MAX_MOVE_BPS);
        int256 next = (answer * (10_000 + moveBps)) / 10_000 + int256((moveSeed >> 128) % 1e6);
        if (next < MIN_ANSWER) next = MIN_ANSWER;
        if (next > MAX_ANSWER) next = MAX_ANSWER;
        feed.updateAnswer(next);
        ++calls[this.setPrice.selector];
    }

    /// @notice Time passes (up to 12 hours), so funding accrues.
    function warp(uint256 secondsSeed) external {
        _syncTime();
        _advance(bound(secondsSeed, 1, 12 hours));
        ++calls[this.warp.selector];
    }

    /// @notice Anyone moves a tier's funding index up to now.
    function accrueFundingNoRevert(uint256 tierSeed) external {
        _syncTime();
        uint8 tier = _tier(tierSeed);
        (int256 index, ) = clearing.fundingState(tier, MARKET);
        bytes32[TIERS] memory before = _digests();
        try clearing.accrueFunding(tier, MARKET) {
            ghostStoredIndex[tier] = index;
            ghostLastAccrual[tier] = block.timestamp;
            ++calls[this.accrueFundingNoRevert.selector];
        } catch (bytes memory err) {
            _unexpected(err);
        }
        _checkFirewall(before, tier);
    }

    /// @notice Anyone settles a trader account, the insurance fund or the settlement bucket of a tier.
    function settleNoRevert(uint256 tierSeed, uint256 bucketSeed, uint256 callerSeed) external {
        _syncTime();
        uint8 tier = _tier(tierSeed);
        BucketId account = bucketAt(tier, bucketSeed % BUCKETS);
        Settlement memory s = _expectSettlement(account);
        bytes32[TIERS] memory before = _digests();
        VM.prank(_actors[callerSeed % ACTORS]);
        try clearing.settle(account) {
            _recordSettlement(account, s);
            ++calls[this.settleNoRevert.selector];
        } catch (bytes memory err) {
            _unexpected(err);
        }
        _checkFirewall(before, tier);
    }

    /// @notice An owner withdraws quote from one of its accounts (sometimes more than it holds). Free
    /// collateral must leave; otherwise only margin refusals (with positions or debt) and balance refusals
    /// (above the balance after settlement) are allowed.
    function withdrawNoRevert(uint256 tierSeed, uint256 accountSeed, uint256 amountSeed) external {
        _syncTime();
        uint8 tier = _tier(tierSeed);
        BucketId account = bucketAt(tier, _pickFunded(tier, accountSeed));
        address owner = account.owner();
        Settlement memory s = _expectSettlement(account);
        uint256 balance = uint256(int256(vault.balanceOf(account, address(quote))) - s.tokens);
        // One withdrawal in eight asks for more than the balance after settlement.
        uint256 amount =
            amountSeed & 7 == 7
                ? balance + bound(amountSeed >> 3, 1, balance / 8 + 1)
                : bound(amountSeed >> 3, 1, Math.max(balance, 1));
        bool marginChecked = s.hasPosition || s.cashAfter < 0;
        bytes32[TIERS] memory before = _digests();
        uint256 ownerBefore = quote.balanceOf(owner);
        VM.prank(owner);
        try clearing.withdraw(account, address(quote), amount, owner) returns (uint256 claimId) {
            _recordSettlement(account, s);
            ghostBalance[account] -= int256(amount);
            if (amount > balance) ++failWithdrawal;
            if (claimId == 0 && quote.balanceOf(owner) - ownerBefore != amount) ++failWithdrawal;
            if (marginChecked && !_holdsImWithWhatIsInHand(account)) ++failWithdrawMargin;
            ++calls[this.withdrawNoRevert.selector];
            _checkFirewall(before, tier);
        } catch (bytes memory err) {
            if (_isAllowedWithdrawRefusal(err, marginChecked, amount > balance)) {
                ++calls[WITHDRAW_REFUSAL];
            } else {
                if (!marginChecked && amount <= balance) ++failWithdrawal;
                _unexpected(err);
            }
            _checkFirewall(before, NO_TIER);
        }
    }

    // ================================================================ views for the invariants

    /// @notice Known bucket `i` of `tier`: trader accounts `0 .. TRADERS − 1`, then settlement, then insurance.
    function bucketAt(uint8 tier, uint256 i) public view returns (BucketId) {
        if (i == TRADERS) return BucketIdLib.settlement(tier);
        if (i == TRADERS + 1) return BucketIdLib.insurance(tier);
        return BucketIdLib.account(_actors[i / SUB_IDS], tier, uint88(i % SUB_IDS));
    }

    function actor(uint256 i) external view returns (address) {
        return _actors[i];
    }

    /// @notice The oracle's mid price (quote WAD per base unit), as the clearing house reads it.
    function mid() public view returns (uint256) {
        return oracle.getPriceForLiquidation(asset).price;
    }

    /// @notice The funding index of `tier` now, by the spec: the stored index moved since its last accrual at
    /// `maxFunding × clamp(−poolSize / skewScale, −1, 1)` per day, applied to the mid price (so when the pool is
    /// short, i.e. traders are net long, the index rises and longs pay).
    function fundingIndexModel(uint8 tier) external view returns (int256 index) {
        index = ghostStoredIndex[tier];
        uint256 last = ghostLastAccrual[tier];
        if (last == 0) return index;
        IRiskEngine.MarketRisk memory r = risk.marketRisk(tier, MARKET);
        int256 maxRate = int256(uint256(r.maxFundingBpsPerDay)) * 1e14;
        int256 rate = (maxRate * -_size(bucketAt(tier, 0))) / int256(uint256(r.fundingSkewScale));
        if (rate > maxRate) rate = maxRate;
        if (rate < -maxRate) rate = -maxRate;
        index += (rate * int256(mid()) * int256(block.timestamp - last)) / (1 days * WAD);
    }

    /// @notice `(cash − openNotional) × WAD + size × fundingSnapshot` of `account` as the contract holds it.
    function book(BucketId account) public view returns (int256) {
        IClearingHouse.Position memory p = clearing.position(account, MARKET);
        return (clearing.cash(account) - p.openNotional) * WAD + int256(p.size) * p.fundingIndex;
    }

    // ================================================================ fills

    /// @dev Applies `f`; a margin refusal of a risk-increasing side is allowed (counted), any other revert is
    /// a failure. Returns whether the fill went through.
    function _fillAllowingMarginRefusal(FillArgs memory f) internal returns (bool ok) {
        int256 takerOld = _size(f.taker);
        int256 makerOld = _size(f.maker);
        bytes memory err;
        (ok, err) = _applyFill(f);
        if (ok) return true;
        if (_isMarginRefusal(err, f, takerOld, makerOld)) ++calls[MARGIN_REFUSAL];
        else _unexpected(err);
    }

    /// @dev Applies `f` and, if it went through, moves the ghost model and checks IM of the increasing sides.
    function _applyFill(FillArgs memory f) internal returns (bool ok, bytes memory err) {
        uint8 tier = f.taker.tier();
        // The fill first moves the stored index to now: to the index `fundingState` reports now.
        (int256 index, ) = clearing.fundingState(tier, MARKET);
        IClearingHouse.Position memory takerBefore = clearing.position(f.taker, MARKET);
        IClearingHouse.Position memory makerBefore = clearing.position(f.maker, MARKET);
        bytes32[TIERS] memory before = _digests();
        IClearingHouse.Fill memory fill = IClearingHouse.Fill({
            taker: f.taker,
            maker: f.maker,
            market: MARKET,
            size: f.size,
            price: f.price,
            takerFee: f.takerFee,
            makerFee: f.makerFee,
            poolFee: 0,
            protocolFee: 0,
            protocol: BucketId.wrap(0)
        });
        try clearing.applyFill(fill) {
            ok = true;
        } catch (bytes memory reason) {
            err = reason;
        }
        _checkFirewall(before, ok ? tier : NO_TIER);
        if (!ok) return (ok, err);

        ghostStoredIndex[tier] = index;
        ghostLastAccrual[tier] = block.timestamp;
        _recordFunding(f.taker, takerBefore, index);
        _recordFunding(f.maker, makerBefore, index);
        int256 notional = _fillNotional(f.size, f.price);
        ghostBook[f.taker] += f.size * index - (notional + int256(f.takerFee)) * WAD;
        ghostBook[f.maker] += -f.size * index - (-notional + int256(f.makerFee)) * WAD;
        ghostBook[BucketIdLib.insurance(tier)] += int256(f.takerFee + f.makerFee) * WAD;
        _checkImIfIncreased(f.taker, takerBefore.size, f.size);
        _checkImIfIncreased(f.maker, makerBefore.size, -f.size);
    }

    /// @dev A fill of random size and direction between two distinct accounts of `tier`, within 1% of the
    /// oracle price, with fees of up to 10 bps of its notional.
    function _randomFill(
        uint8 tier,
        uint256 takerSeed,
        uint256 makerSeed,
        uint256 sizeSeed,
        uint256 priceSeed,
        uint256 feeSeed
    ) internal view returns (FillArgs memory f) {
        uint256 takerIndex = _pickWithHeadroom(tier, takerSeed, TRADERS);
        f.taker = bucketAt(tier, takerIndex);
        f.maker = bucketAt(tier, _pickWithHeadroom(tier, makerSeed, takerIndex));
        f.price = _fillPrice(priceSeed);
        // Bits of `sizeSeed`: 0 the direction, 1-3 whether to aim beyond the tighter side's IM headroom (one
        // fill in eight, up to 1.5 times it, so that some are refused), the rest the magnitude. The others
        // stay within half of the headroom, which the fill price's distance from the oracle cannot exhaust.
        uint256 cap = Math.min(_maxIncrease(f.taker, f.price), _maxIncrease(f.maker, f.price));
        cap = (sizeSeed >> 1) & 7 == 7 ? (cap * 3) / 2 : cap / 2;
        f.size = _signed(bound(sizeSeed >> 4, MIN_SIZE, Math.max(cap, MIN_SIZE)), sizeSeed);
        (f.takerFee, f.makerFee) = _fees(f.size, f.price, feeSeed);
    }

    /// @dev The first tier from `seed` on with two accounts that have IM headroom; the tier at `seed` if none.
    function _tierWithHeadroom(uint256 seed) internal view returns (uint8) {
        for (uint256 k; k < TIERS; ++k) {
            uint8 tier = _tier((seed % TIERS) + k);
            uint256 count;
            for (uint256 i; i < TRADERS; ++i) {
                IClearingHouse.Health memory h = clearing.health(bucketAt(tier, i));
                if (h.equity > int256(h.im)) ++count;
            }
            if (count >= 2) return tier;
        }
        return _tier(seed);
    }

    /// @dev The first trader account of `tier` from `seed` on, other than `excluded`, that has IM headroom;
    /// the account at `seed` (or the next one) when none has.
    function _pickWithHeadroom(uint8 tier, uint256 seed, uint256 excluded) internal view returns (uint256) {
        uint256 fallbackIndex = seed % TRADERS == excluded ? (excluded + 1) % TRADERS : seed % TRADERS;
        for (uint256 k; k < TRADERS; ++k) {
            uint256 i = ((seed % TRADERS) + k) % TRADERS;
            if (i == excluded) continue;
            IClearingHouse.Health memory h = clearing.health(bucketAt(tier, i));
            if (h.equity > int256(h.im)) return i;
        }
        return fallbackIndex;
    }

    /// @dev Largest size by which `account` could add risk before hitting IM (ignoring brackets and the band).
    function _maxIncrease(BucketId account, uint256 price) internal view returns (uint256) {
        IClearingHouse.Health memory h = clearing.health(account);
        if (h.equity <= int256(h.im)) return 0;
        uint256 imr = risk.marketRisk(account.tier(), MARKET).ratios.imr;
        uint256 notional = (uint256(h.equity - int256(h.im)) * 10_000) / imr;
        return Math.mulDiv(notional, uint256(WAD), price);
    }

    /// @dev Two accounts of `tier` with opposite positions, searching from `seed`.
    function _oppositePair(
        uint8 tier,
        uint256 seed
    ) internal view returns (bool found, BucketId taker, BucketId maker) {
        for (uint256 i; i < TRADERS; ++i) {
            taker = bucketAt(tier, ((seed % TRADERS) + i) % TRADERS);
            int256 takerSize = _size(taker);
            if (takerSize == 0) continue;
            for (uint256 j = 1; j < TRADERS; ++j) {
                maker = bucketAt(tier, ((seed % TRADERS) + i + j) % TRADERS);
                int256 makerSize = _size(maker);
                if (makerSize != 0 && (makerSize > 0) != (takerSize > 0)) return (true, taker, maker);
            }
        }
    }

    /// @dev The oracle price moved by up to ±1%, with random low digits (towards the mid, so within ±1%).
    function _fillPrice(uint256 seed) internal view returns (uint256) {
        uint256 offset = bound(seed % (1 << 128), 0, 2 * MAX_FILL_OFFSET_PPM);
        uint256 price = (mid() * (PPM - MAX_FILL_OFFSET_PPM + offset)) / PPM;
        uint256 jitter = (seed >> 128) % 1e9;
        return offset >= MAX_FILL_OFFSET_PPM ? price - jitter : price + jitter;
    }

    function _fees(
        int256 size,
        uint256 price,
        uint256 seed
    ) internal pure returns (uint256 takerFee, uint256 makerFee) {
        uint256 notional = Math.mulDiv(SignedMath.abs(size), price, uint256(WAD));
        uint256 most = (notional * MAX_FEE_BPS) / 10_000;
        takerFee = bound(seed % (1 << 128), 0, most);
        makerFee = bound(seed >> 128, 0, most);
    }

    /// @dev The signed notional of a fill: |size| × price / WAD rounded down, with the sign of `size`.
    function _fillNotional(int256 size, uint256 price) internal pure returns (int256) {
        int256 magnitude = int256(Math.mulDiv(SignedMath.abs(size), price, uint256(WAD)));
        return size >= 0 ? magnitude : -magnitude;
    }

    /// @dev A side increases risk when its size grows in magnitude or changes sign.
    function _increases(int256 oldSize, int256 newSize) internal pure returns (bool) {
        if (SignedMath.abs(newSize) > SignedMath.abs(oldSize)) return true;
        return newSize != 0 && (oldSize > 0) != (newSize > 0);
    }

    function _checkImIfIncreased(BucketId account, int256 oldSize, int256 dSize) internal {
        if (!_increases(oldSize, oldSize + dSize)) return;
        IClearingHouse.Health memory h = clearing.health(account);
        if (h.equity < int256(h.im)) ++failFillMargin;
    }

    /// @dev Whether `err` is ClearingInsufficientMargin; counts a failure unless it names a side of `f` whose
    /// risk increases with equity below its requirement, or a reducing side that would end in debt.
    function _isMarginRefusal(
        bytes memory err,
        FillArgs memory f,
        int256 takerOld,
        int256 makerOld
    ) internal returns (bool) {
        if (_selector(err) != IClearingHouse.ClearingInsufficientMargin.selector) return false;
        (BucketId account, int256 equity, uint256 requirement) = abi.decode(
            _arguments(err),
            (BucketId, int256, uint256)
        );
        bool isTaker = BucketId.unwrap(account) == BucketId.unwrap(f.taker);
        bool isMaker = BucketId.unwrap(account) == BucketId.unwrap(f.maker);
        bool increasingSide =
            (isTaker && _increases(takerOld, takerOld + f.size)) ||
                (isMaker && _increases(makerOld, makerOld - f.size));
        // An increasing side below IM, or a reducing side that would end in debt (requirement 0).
        bool allowed =
            increasingSide ? equity < int256(requirement) : (isTaker || isMaker) && requirement == 0 && equity < 0;
        if (!allowed) ++failFillMargin;
        return true;
    }

    // ================================================================ funding and settlement

    /// @dev Funding owed for an index move, rounded towards +∞ (the account pays at least / receives at most
    /// the exact amount), and the dust that rounding leaves with the protocol (WAD² units).
    function _fundingOwed(
        int256 size,
        int256 index,
        int256 snapshot
    ) internal pure returns (int256 owed, uint256 dust, bool counted) {
        int256 exact = size * (index - snapshot);
        if (exact == 0) return (0, 0, false);
        owed = exact > 0 ? (exact + WAD - 1) / WAD : -(-exact / WAD);
        return (owed, uint256(owed * WAD - exact), true);
    }

    function _recordFunding(BucketId account, IClearingHouse.Position memory before, int256 index) internal {
        (, uint256 dust, bool counted) = _fundingOwed(before.size, index, before.fundingIndex);
        if (!counted) return;
        uint8 tier = account.tier();
        ghostFundingDust[tier] += dust;
        ++fundingSettlements[tier];
        ghostBook[account] -= int256(dust);
    }

    /// @dev DESIGN §3: funding at the stored index first; then debt is paid from the account's quote (tokens
    /// owed rounded up, at most its balance), profit out of the settlement bucket (rounded down, at most what
    /// it holds).
    function _expectSettlement(BucketId account) internal view returns (Settlement memory s) {
        uint8 tier = account.tier();
        IClearingHouse.Position memory p = clearing.position(account, MARKET);
        int256 owed;
        (owed, s.dust, s.counted) = _fundingOwed(p.size, ghostStoredIndex[tier], p.fundingIndex);
        s.hasPosition = p.size != 0;
        int256 cash = clearing.cash(account) - owed;
        if (cash < 0) {
            uint256 due = Math.ceilDiv(uint256(-cash), uint256(SCALE));
            s.tokens = int256(Math.min(due, vault.balanceOf(account, address(quote))));
        } else if (cash > 0) {
            uint256 due = uint256(cash) / uint256(SCALE);
            s.tokens = -int256(Math.min(due, vault.balanceOf(BucketIdLib.settlement(tier), address(quote))));
        }
        s.cashAfter = cash + s.tokens * SCALE;
    }

    function _recordSettlement(BucketId account, Settlement memory s) internal {
        uint8 tier = account.tier();
        if (s.counted) {
            ghostFundingDust[tier] += s.dust;
            ++fundingSettlements[tier];
        }
        ghostBook[account] += s.tokens * SCALE * WAD - int256(s.dust);
        ghostBalance[account] -= s.tokens;
        ghostBalance[BucketIdLib.settlement(tier)] += s.tokens;
        if (clearing.cash(account) != s.cashAfter) ++failSettlement;
        if (s.hasPosition && clearing.position(account, MARKET).fundingIndex != ghostStoredIndex[tier]) {
            ++failFundingIndex;
        }
    }

    // ================================================================ withdrawals

    /// @dev What is in hand covers IM (what a withdrawal with positions or debt must leave): collateral, debt,
    /// unrealized losses and funding owed count; unrealized profit, positive cash (the settlement before the
    /// withdrawal paid what it could) and funding receivable do not.
    function _holdsImWithWhatIsInHand(BucketId account) internal view returns (bool) {
        IClearingHouse.Health memory h = clearing.health(account);
        int256 equity =
            int256(h.collateralValue) +
                SignedMath.min(h.cash, 0) +
                h.unrealizedLoss -
                SignedMath.max(h.pendingFunding, 0);
        return equity >= int256(h.im);
    }

    function _isAllowedWithdrawRefusal(
        bytes memory err,
        bool marginChecked,
        bool aboveBalance
    ) internal returns (bool) {
        bytes4 selector = _selector(err);
        if (selector == ICollateralVault.VaultInsufficientBalance.selector) return aboveBalance;
        if (selector != IClearingHouse.ClearingInsufficientMargin.selector || !marginChecked) return false;
        (, int256 equity, uint256 requirement) = abi.decode(_arguments(err), (BucketId, int256, uint256));
        if (equity >= int256(requirement)) ++failWithdrawMargin;
        return true;
    }

    /// @dev The first trader account of `tier` from `seed` on that holds quote; the one at `seed` if none does.
    function _pickFunded(uint8 tier, uint256 seed) internal view returns (uint256) {
        for (uint256 k; k < TRADERS; ++k) {
            uint256 i = ((seed % TRADERS) + k) % TRADERS;
            if (vault.balanceOf(bucketAt(tier, i), address(quote)) != 0) return i;
        }
        return seed % TRADERS;
    }

    // ================================================================ values

    /// @dev Exact value of `account` at the oracle mid (WAD² units): collateral + cash + unrealized PnL −
    /// pending funding, with no rounding at all.
    function _value(BucketId account) internal view returns (int256) {
        IClearingHouse.Position memory p = clearing.position(account, MARKET);
        (int256 index, ) = clearing.fundingState(account.tier(), MARKET);
        int256 collateral = int256(vault.balanceOf(account, address(quote))) * SCALE * WAD;
        return
            collateral +
            (clearing.cash(account) - p.openNotional) * WAD +
            int256(p.size) * int256(mid()) -
            int256(p.size) * (index - p.fundingIndex);
    }

    /// @dev cash + collateral of `account`, in quote WAD.
    function _cashAndCollateral(BucketId account) internal view returns (int256) {
        return clearing.cash(account) + int256(vault.balanceOf(account, address(quote))) * SCALE;
    }

    // ================================================================ firewall

    /// @dev Everything the clearing house and the vault hold for `tier`: each known bucket's position, cash
    /// and balance, the tier's vault total, open interest and funding state.
    function _tierDigest(uint8 tier) internal view returns (bytes32 digest) {
        for (uint256 i; i < BUCKETS; ++i) {
            BucketId bucket = bucketAt(tier, i);
            IClearingHouse.Position memory p = clearing.position(bucket, MARKET);
            digest = keccak256(
                abi.encode(
                    digest,
                    p.size,
                    p.openNotional,
                    p.fundingIndex,
                    clearing.cash(bucket),
                    vault.balanceOf(bucket, address(quote))
                )
            );
        }
        (uint256 total, ) = vault.tierTotal(tier, address(quote));
        (int256 index, int256 rate) = clearing.fundingState(tier, MARKET);
        return keccak256(abi.encode(digest, total, clearing.openInterest(tier, MARKET), index, rate));
    }

    function _digests() internal view returns (bytes32[TIERS] memory digests) {
        for (uint8 t; t < TIERS; ++t) digests[t] = _tierDigest(t);
    }

    /// @dev Every tier but `actingTier` must be unchanged since `before`.
    function _checkFirewall(bytes32[TIERS] memory before, uint256 actingTier) internal {
        for (uint8 t; t < TIERS; ++t) {
            if (t != actingTier && _tierDigest(t) != before[t]) ++failOtherTierChanged;
        }
    }

    // ================================================================ internal

    function _syncTime() internal {
        if (block.timestamp != currentTime) VM.warp(currentTime);
    }

    /// @dev Moves time forward; the feed posts a heartbeat round at the same answer when its last one is a
    /// day old, so the strict read (max age 2 days) never sees a stale price.
    function _advance(uint256 secondsForward) internal {
        currentTime += secondsForward;
        VM.warp(currentTime);
        if (currentTime - feed.latestTimestamp() >= HEARTBEAT) feed.updateAnswer(feed.latestAnswer());
    }

    function _tier(uint256 seed) internal pure returns (uint8) {
        return uint8(seed % TIERS);
    }

    function _size(BucketId account) internal view returns (int256) {
        return clearing.position(account, MARKET).size;
    }

    /// @dev `magnitude` with the sign given by the lowest bit of `seed`.
    function _signed(uint256 magnitude, uint256 seed) internal pure returns (int256) {
        return seed & 1 == 0 ? int256(magnitude) : -int256(magnitude);
    }

    function _selector(bytes memory err) internal pure returns (bytes4 selector) {
        if (err.length < 4) return bytes4(0);
        return bytes4(err);
    }

    /// @dev The ABI-encoded arguments of a custom error (its data without the selector).
    function _arguments(bytes memory err) internal pure returns (bytes memory args) {
        args = new bytes(err.length - 4);
        for (uint256 i; i < args.length; ++i) args[i] = err[i + 4];
    }

    function _unexpected(bytes memory err) internal {
        ++failUnexpectedRevert;
        lastUnexpectedRevert = err;
    }
}
