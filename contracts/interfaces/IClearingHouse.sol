// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

import {BucketId} from "../libraries/BucketId.sol";

/// @title IClearingHouse
/// @notice Isolated margin accounts `(owner, tier, subId)`, their perpetual positions, signed cash and
/// funding, settlement through each tier's settlement bucket, and margin checks on the conservative side
/// of the oracle band. Tokens stay in the vault; the clearing house moves them only by instructing it.
///
/// An account is identified by its vault bucket id. Its collateral (the vault balances of the tier's
/// collateral tokens) backs only its own positions. Both sides of every fill are accounts of one tier,
/// so per tier and market Σ size = 0 and Σ (cash + unrealized PnL) changes only by fees and by rounding
/// dust in the protocol's favour (DESIGN §6.3).
/// @dev Units: sizes base WAD; prices quote WAD per base unit; cash, notionals, equity and requirements
/// quote WAD. Token amounts convert at the vault boundary with the quote token's decimals.
interface IClearingHouse {
    // ---------------------------------------------------------------- types

    /// @notice A position of an account in one market.
    /// @param size Signed base size (long > 0).
    /// @param openNotional Signed cost basis, the sign of `size`.
    /// @param fundingIndex The market's funding index when funding was last settled into cash.
    struct Position {
        int128 size;
        int128 openNotional;
        int256 fundingIndex;
    }

    /// @notice One fill between two accounts of one tier, as the execution layer submits it.
    /// @param taker The account whose size changes by `size`.
    /// @param maker The counterparty, whose size changes by `-size`.
    /// @param market The market.
    /// @param size Signed base size for the taker.
    /// @param price Fill price (quote WAD per base unit).
    /// @param takerFee Fee charged to the taker (quote WAD).
    /// @param makerFee Fee charged to the maker (quote WAD).
    /// @param poolFee The share of the two fees credited to the tier's pool account.
    /// @param protocolFee The share of the two fees credited to `protocol`.
    /// @param protocol The protocol's fee account in the tier (ignored when `protocolFee` is 0). The rest of
    /// the fees goes to the tier's insurance fund.
    struct Fill {
        BucketId taker;
        BucketId maker;
        uint16 market;
        int256 size;
        uint256 price;
        uint256 takerFee;
        uint256 makerFee;
        uint256 poolFee;
        uint256 protocolFee;
        BucketId protocol;
    }

    /// @notice An account's margin figures (quote WAD), on the conservative side of every price band.
    /// @param collateralValue Weighted value of the account's collateral tokens.
    /// @param cash Realized PnL, funding and fees not yet settled into tokens.
    /// @param unrealizedPnl Σ unrealized PnL of the positions.
    /// @param unrealizedLoss Σ of the negative unrealized PnLs only (profits excluded, for withdrawals).
    /// @param pendingFunding Funding owed since the last settlement (positive: the account pays).
    /// @param equity collateralValue + cash + unrealizedPnl − pendingFunding.
    /// @param im Initial margin requirement.
    /// @param mm Maintenance margin requirement.
    /// @param backstop Backstop margin requirement.
    /// @param positions Number of open positions.
    struct Health {
        uint256 collateralValue;
        int256 cash;
        int256 unrealizedPnl;
        int256 unrealizedLoss;
        int256 pendingFunding;
        int256 equity;
        uint256 im;
        uint256 mm;
        uint256 backstop;
        uint256 positions;
    }

    /// @notice A partial liquidation of one position (DESIGN §4).
    /// @param closeSize Base size closed (absolute); 0 when no partial liquidation took place.
    /// @param mark The conservative mark it closed at: the low side of the band for a long, the high side
    /// for a short.
    /// @param penalty Charged to the account on the closed notional (quote WAD).
    /// @param reward The keeper's part of the penalty; the rest went to the tier's insurance fund.
    /// @param signedClose The pool's size change (= −the account's): the sign of the position.
    struct LiquidationPlan {
        uint256 closeSize;
        uint256 mark;
        uint256 penalty;
        uint256 reward;
        int256 signedClose;
    }

    // ---------------------------------------------------------------- errors

    /// @notice The account's owner is address(0) or its tier is not listed.
    error ClearingInvalidAccount(BucketId account);
    /// @notice `caller` is neither the owner of `account` nor an operator the owner authorized.
    error ClearingUnauthorized(BucketId account, address caller);
    /// @notice A fill between an account and itself.
    error ClearingSelfTrade(BucketId account);
    /// @notice A fill between accounts of two tiers (the tier firewall).
    error ClearingCrossTierFill(BucketId taker, BucketId maker);
    /// @notice A fill of size zero.
    error ClearingZeroSize();
    /// @notice A fill price of zero or above the oracle's hard ceiling.
    error ClearingInvalidPrice(uint256 price);
    /// @notice The account would hold more positions than its tier allows.
    error ClearingTooManyPositions(BucketId account, uint256 max);
    /// @notice After the operation the account's equity would fall below its requirement.
    error ClearingInsufficientMargin(BucketId account, int256 equity, uint256 requirement);
    /// @notice No price at all is available for the oracle asset (the router reports UNAVAILABLE).
    error ClearingPriceUnavailable(bytes32 asset);
    /// @notice The tier's pool is set already.
    error ClearingPoolAlreadySet(uint8 tier);
    /// @notice A liquidation hook named accounts of two tiers.
    error ClearingCrossTierTransfer(BucketId from, BucketId to);
    /// @notice A liquidation batch is open already (or, on endBatch, was opened by another caller).
    error ClearingBatchOpen();
    /// @notice The zero address cannot be registered as a liquidation engine or an executor.
    error ClearingInvalidLiquidator(address account);
    /// @notice The fee shares (`poolFee` + `protocolFee`) exceed the fees charged (`fees`).
    error ClearingInvalidFeeSplit(uint256 fees, uint256 poolFee, uint256 protocolFee);

    // ---------------------------------------------------------------- events

    /// @notice `owner` authorized (`approved`) or revoked `operator` for all its accounts.
    event OperatorSet(address indexed owner, address indexed operator, bool approved);
    /// @notice A fill was applied. `takerRealized`/`makerRealized` are the PnLs it realized into cash. Of the
    /// fees, `poolFee` went to the pool's account, `protocolFee` to the fill's protocol account and the rest
    /// to the tier's insurance fund.
    event FillApplied(
        BucketId indexed taker,
        BucketId indexed maker,
        uint16 indexed market,
        int256 size,
        uint256 price,
        uint256 takerFee,
        uint256 makerFee,
        uint256 poolFee,
        uint256 protocolFee,
        int256 takerRealized,
        int256 makerRealized
    );
    /// @notice The funding index of `market` in `tier` moved to `index` at `ratePerDayWad` (signed, WAD).
    event FundingAccrued(uint8 indexed tier, uint16 indexed market, int256 index, int256 ratePerDayWad);
    /// @notice `account` settled `payment` of funding in `market` into its cash (positive: it paid).
    event FundingSettled(BucketId indexed account, uint16 indexed market, int256 payment);
    /// @notice `account`'s cash was settled against its tier's settlement bucket: `tokens` moved (positive:
    /// the account paid), leaving `cashAfter`.
    event Settled(BucketId indexed account, int256 tokens, int256 cashAfter);
    /// @notice `amount` of `token` left `account` for `receiver` (`claimId` 0: paid at once, else queued).
    event CollateralWithdrawn(
        BucketId indexed account,
        address indexed token,
        address indexed receiver,
        uint256 amount,
        uint256 claimId
    );
    /// @notice The liquidation engine moved `size` of a position in `market` from `from` to `to` at `price`.
    event PositionTransferred(
        BucketId indexed from,
        BucketId indexed to,
        uint16 indexed market,
        int256 size,
        uint256 price,
        int256 fromRealized,
        int256 toRealized
    );
    /// @notice The liquidation engine moved `amount` of cash from `from` to `to`.
    event CashTransferred(BucketId indexed from, BucketId indexed to, int256 amount);
    /// @notice The backstop pool of `tier` was set.
    event PoolSet(uint8 indexed tier, address pool);
    /// @notice A liquidation penalty was charged to `account`'s cash: `reward` to the keeper's account,
    /// `insuranceFee` to the tier's insurance fund.
    event PenaltyCharged(BucketId indexed account, BucketId indexed keeper, uint256 reward, uint256 insuranceFee);
    /// @notice `account` became (or stopped being) a registered liquidation engine, exempt from the
    /// AccessManager round trip on the liquidation hooks.
    event LiquidatorSet(address indexed account, bool registered);
    /// @notice `account` became (or stopped being) a registered executor, exempt from the AccessManager round
    /// trip on {applyFill}.
    event ExecutorSet(address indexed account, bool registered);

    // ---------------------------------------------------------------- users

    /// @notice Authorizes or revokes `operator` for every account of the caller.
    function setOperator(address operator, bool approved) external;

    /// @notice Withdraws `amount` of `token` from `account` to `receiver`, after settling it. With open
    /// positions or negative cash, what remains must cover IM counting only what is in hand: unrealized
    /// profit, positive cash the settlement bucket cannot pay yet and funding receivable are excluded.
    /// @return claimId 0 when paid at once, otherwise the vault claim that pays it later.
    function withdraw(
        BucketId account,
        address token,
        uint256 amount,
        address receiver
    ) external returns (uint256 claimId);

    /// @notice Settles `account`: realizes its funding up to each market's last accrual (fills and
    /// {accrueFunding} move the index; settling reads no price), then pays negative cash from its quote
    /// balance into the tier's settlement bucket, or positive cash out of it (up to what it holds). Anyone
    /// may call. Funding accrued since then is pending and already counts in {health} and withdrawals.
    function settle(BucketId account) external;

    /// @notice Moves the funding index of `market` in `tier` up to now. Anyone may call.
    function accrueFunding(uint8 tier, uint16 market) external;

    // ---------------------------------------------------------------- execution layer

    /// @notice Applies a fill (a registered executor, or the EXECUTOR role) and credits its fees. The fill's
    /// market is read once: at the strict oracle read when a side's risk grows (it opens, increases or flips),
    /// except when that side is the tier's pool taking the other side of an exit; otherwise (every side only
    /// reduces, or the pool takes an exit) at the liquidation read, so no oracle condition blocks an exit.
    /// Afterwards each side whose risk grew must hold IM, and each reducing side must keep equity >= 0, so
    /// that no trade leaves bad debt behind; a reducing side values its other markets and collateral at the
    /// liquidation read.
    /// @return takerEquity The taker's equity after the fill, as its margin check saw it.
    /// @return makerEquity The maker's equity after the fill, as its margin check saw it.
    /// @return oraclePrice The oracle's mid price of the market in that read (for the execution layer's band).
    function applyFill(
        Fill calldata fill
    ) external returns (int256 takerEquity, int256 makerEquity, uint256 oraclePrice);

    // ---------------------------------------------------------------- liquidation engine
    // Narrow hooks for the LiquidationEngine (LIQUIDATOR role). Every one moves value between accounts of
    // one tier only; none creates value; none pays tokens out of the vault.

    /// @notice Liquidates `account` in one read of it (DESIGN §4): moves the funding of each of its markets
    /// to now and values it at the liquidation read. Then, by its health `h`:
    /// - equity ≥ MM: nothing (the caller refuses a healthy account);
    /// - backstop margin ≤ equity < MM: a partial liquidation of its `market` position against the tier's
    ///   pool, `plan` as {LiquidationMath-plan} computes it (or scaled to a smaller `requested` size), the
    ///   penalty to the keeper's account `(keeper, tier, 0)` and the tier's insurance fund;
    /// - equity < backstop margin: the pool takes over every position at its conservative mark, every
    ///   collateral token and the cash, and pays the keeper `backstopReward` (≤ the market's cap, ≤ the
    ///   account's own equity) from it.
    /// Reverts with the liquidation engine's errors for a tier without a pool, the pool's own account, a
    /// `market` the account does not hold, a `requested` size above the plan, or a plan that would not leave
    /// the account healthier (§6.4).
    function liquidate(
        BucketId account,
        uint16 market,
        uint256 requested,
        address keeper
    ) external returns (Health memory h, LiquidationPlan memory plan, uint256 backstopReward);

    /// @notice Opens a liquidation batch (LIQUIDATOR): until {endBatch}, the caller's {liquidate} calls read
    /// each market's parameters and price band once and reuse them; nobody else's
    /// calls see the batch. The opener must keep every price and parameter source still while its batch is
    /// open: the LiquidationEngine opens it around a loop whose calls never leave the protocol and closes it
    /// in the same call, so a batch never spans a caller's own calls (which could update a pull oracle).
    function beginBatch() external;

    /// @notice Closes the caller's liquidation batch (LIQUIDATOR): nothing when none is open, ClearingBatchOpen
    /// when another caller opened it. Only the opener's own calls use a batch's cache.
    function endBatch() external;

    /// @notice Moves `size` of `from`'s position in `market` to `to` at `price`: `from`'s size changes by
    /// `-size`, `to`'s by `+size`, both realize PnL as a fill would. No fees and no margin checks. A zero size
    /// reverts with ClearingZeroSize.
    function transferPosition(BucketId from, BucketId to, uint16 market, int256 size, uint256 price) external;

    /// @notice Moves `amount` of cash (quote WAD; may leave `from` negative) from `from` to `to`.
    function transferCash(BucketId from, BucketId to, int256 amount) external;

    /// @notice Moves `amount` of `token` collateral between two buckets of one tier in the vault.
    function transferCollateral(BucketId from, BucketId to, address token, uint256 amount) external;

    /// @notice Draws up to `amount` (token units) of the tier's quote token from the protocol reserve into
    /// `to`, within the tier's reserve allowance. Returns what was drawn.
    function drawReserve(BucketId to, uint256 amount) external returns (uint256 drawn);

    // ---------------------------------------------------------------- governance

    /// @notice Sets the backstop pool of `tier` once (ADMIN): its account `(pool, tier, 0)` is the tier's
    /// counterparty, and funding follows its inventory.
    function setPool(uint8 tier, address pool) external;

    /// @notice Registers `account` as a liquidation engine (ADMIN): its calls to the liquidation hooks skip
    /// the AccessManager round trip. Unregistered callers still pass with the LIQUIDATOR role.
    /// @dev A registered engine is not subject to the AccessManager at all: closing the clearing house as a
    /// target does not stop its liquidations (DESIGN: nothing may block liquidations); unregistering it and
    /// revoking its role does.
    function setLiquidator(address account, bool registered) external;

    /// @notice Registers `account` as an executor (ADMIN): its {applyFill} calls skip the AccessManager round
    /// trip. Unregistered callers still pass with the EXECUTOR role.
    /// @dev A registered executor is not subject to the AccessManager at all: closing the clearing house as a
    /// target or revoking its EXECUTOR role does not stop its fills; unregistering it does. The clearing house
    /// trusts an executor's fill prices (its own checks are the margin ones), so EXECUTOR belongs to the
    /// execution engine only.
    function setExecutor(address account, bool registered) external;

    // ---------------------------------------------------------------- views

    /// @notice The position of `account` in `market`.
    function position(BucketId account, uint16 market) external view returns (Position memory);

    /// @notice The markets in which `account` has an open position.
    function accountMarkets(BucketId account) external view returns (uint16[] memory);

    /// @notice The cash of `account` (quote WAD).
    function cash(BucketId account) external view returns (int256);

    /// @notice The margin figures of `account` now, on the conservative side of every band. Never
    /// reverts for stale or suspicious prices (it uses the liquidation read).
    function health(BucketId account) external view returns (Health memory);

    /// @notice Whether `account` is a registered liquidation engine.
    function isLiquidator(address account) external view returns (bool);

    /// @notice Whether `account` is a registered executor.
    function isExecutor(address account) external view returns (bool);

    /// @notice What the execution layer checks a fill against, in one read: the taker's and the maker's
    /// sizes in `market`, and the tier's open interest in it (Σ long sizes).
    function tradeState(
        BucketId taker,
        BucketId maker,
        uint16 market
    ) external view returns (int256 takerSize, int256 makerSize, uint256 openInterest);

    /// @notice The funding index of `market` in `tier` as of now, and its current rate per day (WAD).
    function fundingState(uint8 tier, uint16 market) external view returns (int256 index, int256 ratePerDayWad);

    /// @notice Σ long sizes of `market` in `tier` (equal to Σ short sizes).
    function openInterest(uint8 tier, uint16 market) external view returns (uint256);

    /// @notice The backstop pool of `tier`.
    function pool(uint8 tier) external view returns (address);

    /// @notice Whether `operator` may act for `owner`'s accounts.
    function isOperator(address owner, address operator) external view returns (bool);
}
