// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {SignedMath} from "@openzeppelin/contracts/utils/math/SignedMath.sol";

import {IClearingHouse} from "../interfaces/IClearingHouse.sol";
import {ILiquidationEngine} from "../interfaces/ILiquidationEngine.sol";
import {IRiskEngine} from "../interfaces/IRiskEngine.sol";
import {BucketId} from "./BucketId.sol";
import {MarginMath} from "./MarginMath.sol";
import {PositionMath} from "./PositionMath.sol";

/// @title LiquidationMath
/// @notice The partial-liquidation policy of DESIGN §4 as pure functions: how much to close, at which mark,
/// the penalty and the keeper's share of it, and the proof that the account ends healthier. The clearing
/// house executes it; the liquidation engine previews it for keepers with the same code.
library LiquidationMath {
    using SafeCast for uint256;

    uint256 internal constant WAD = 1e18;
    uint256 internal constant BPS = 10_000;
    /// @dev A partial liquidation restores equity to MM plus this buffer (bps of MM).
    uint256 internal constant HEALTH_BUFFER_BPS = 1_000;
    /// @dev A remaining position under this notional (quote WAD) is closed in full.
    uint256 internal constant DUST_NOTIONAL = 10e18;

    /// @notice The plan for a position of `size` whose band is [`lower`, `upper`], in an account of health
    /// `h`. `mark` is 0 when the position or its price is missing.
    function plan(
        IClearingHouse.Health memory h,
        int256 size,
        uint256 lower,
        uint256 upper,
        IRiskEngine.MarginParams memory mp
    ) internal pure returns (IClearingHouse.LiquidationPlan memory p) {
        p.mark = size > 0 ? lower : upper;
        if (size == 0 || p.mark == 0) return p;
        uint256 absSize = SignedMath.abs(size);
        p.closeSize = closeSize(h, mp.ratios.mmr, mp.liquidationPenaltyBps, p.mark, absSize);
        // Rounding: down for the notional, up for the penalty owed to the protocol.
        uint256 closedNotional = Math.mulDiv(p.closeSize, p.mark, WAD);
        p.penalty = Math.mulDiv(closedNotional, mp.liquidationPenaltyBps, BPS, Math.Rounding.Ceil);
        // Never more than the account's equity, less the 1 wei the close may round away: a liquidation never
        // leaves the account in debt, so it never creates bad debt and liquidating oneself never profits.
        // (The risk engine keeps penalty <= bmr, so this binds only in a ramp or with rounding.)
        uint256 payable_ = h.equity > 1 ? uint256(h.equity) - 1 : 0;
        if (p.penalty > payable_) p.penalty = payable_;
        // Rounding: down — the keeper is paid at most its share.
        p.reward = Math.min(Math.mulDiv(p.penalty, keeperShareBps(h, mp.keeperShareBps), BPS), mp.keeperRewardCap);
        p.signedClose = size > 0 ? p.closeSize.toInt256() : -p.closeSize.toInt256();
    }

    /// @notice `p` scaled down to a keeper's smaller `requested` size: a smaller close pays a proportionally
    /// smaller penalty (rounded up) and reward (rounded down).
    function scaled(
        IClearingHouse.LiquidationPlan memory p,
        uint256 requested
    ) internal pure returns (IClearingHouse.LiquidationPlan memory) {
        p.penalty = Math.mulDiv(p.penalty, requested, p.closeSize, Math.Rounding.Ceil);
        p.reward = Math.mulDiv(p.reward, requested, p.closeSize);
        p.closeSize = requested;
        p.signedClose = p.signedClose > 0 ? requested.toInt256() : -requested.toInt256();
        return p;
    }

    /// @notice Smallest close restoring equity to MM × (1 + buffer): equity − penalty·X ≥ (1+b)(MM − mmr·X),
    /// so X ≥ ((1+b)·MM − equity) / ((1+b)·mmr − penalty). Closing at the mark moves no equity; the MM of
    /// the closed part falls by at least `mmr` of its notional (brackets only add), so X is enough. Closes
    /// everything when the rest would be dust.
    function closeSize(
        IClearingHouse.Health memory h,
        uint256 mmrBps,
        uint256 penaltyBps,
        uint256 mark,
        uint256 absSize
    ) internal pure returns (uint256 size) {
        uint256 target = Math.mulDiv(h.mm, BPS + HEALTH_BUFFER_BPS, BPS, Math.Rounding.Ceil);
        uint256 equity = h.equity > 0 ? uint256(h.equity) : 0;
        if (equity >= target) return 0;
        // (1+b)·mmr − penalty, in bps. The risk engine keeps penalty <= mmr − bmr < mmr for the target ratios,
        // but while a tightening ramps the ratios in force lag a penalty already raised: with nothing left to
        // gain per unit closed, the whole position is closed.
        uint256 scaledMmr = ((BPS + HEALTH_BUFFER_BPS) * mmrBps) / BPS;
        if (scaledMmr <= penaltyBps) return absSize;
        uint256 denominator = scaledMmr - penaltyBps;
        // Rounding: up — close enough.
        uint256 notional = Math.mulDiv(target - equity, BPS, denominator, Math.Rounding.Ceil);
        size = Math.mulDiv(notional, WAD, mark, Math.Rounding.Ceil);
        if (size >= absSize) return absSize;
        // A remainder under the dust threshold is closed with the rest.
        if (Math.mulDiv(absSize - size, mark, WAD) < DUST_NOTIONAL) return absSize;
    }

    /// @notice The keeper's share of the penalty: `baseShare` at MM, rising linearly to all of it at the
    /// backstop margin, so keepers act early rather than wait for a richer reward.
    function keeperShareBps(IClearingHouse.Health memory h, uint256 baseShare) internal pure returns (uint256) {
        if (h.mm <= h.backstop || h.equity <= h.backstop.toInt256()) return BPS;
        uint256 fallen = h.equity >= h.mm.toInt256() ? 0 : uint256(h.mm.toInt256() - h.equity);
        return Math.min(BPS, baseShare + Math.mulDiv(BPS - baseShare, fallen, h.mm - h.backstop));
    }

    /// @notice The backstop reward: up to `cap`, never more than the account's own remaining equity, so it is
    /// never paid out of LPs' capital and taking over one's own bankrupt account never profits (DESIGN §4).
    function backstopReward(IClearingHouse.Health memory h, uint256 cap) internal pure returns (uint256) {
        return h.equity <= 0 ? 0 : Math.min(cap, uint256(h.equity));
    }

    /// @notice DESIGN §6.4 for a partial liquidation `p` of a position of `size` (band high side `upper`):
    /// the account's excess over MM before and a lower bound of it after, from the figures of one read.
    /// Closing at the mark the health used realizes exactly the closed part's unrealized PnL up to 1 wei
    /// (PositionMath.fillNotional floors the closed notional; unrealizedPnl floors a long's value and ceils a
    /// short's, so equity moves by ⌊(s−δ)m⌋ − ⌊sm⌋ + ⌊δm⌋ ∈ [−1, 0] for a long and the mirror ∈ [0, 1] for a
    /// short), funding settled is exactly the pending funding, and the penalty leaves as cash: equity falls
    /// by at most penalty + 1, while MM falls by the closed part's requirement at `upper`.
    function excessAfter(
        IClearingHouse.Health memory h,
        int256 size,
        uint256 upper,
        IRiskEngine.MarginParams memory mp,
        IClearingHouse.LiquidationPlan memory p
    ) internal pure returns (int256 before, int256 after_) {
        uint256 mmBefore = _maintenance(PositionMath.notionalUp(size, upper), mp);
        uint256 mmAfter = _maintenance(PositionMath.notionalUp(size - p.signedClose, upper), mp);
        before = h.equity - h.mm.toInt256();
        after_ = h.equity - (p.penalty + 1).toInt256() - (h.mm - mmBefore + mmAfter).toInt256();
    }

    /// @notice Reverts with LiquidationNotImproved unless plan `p` leaves `account` healthier ({excessAfter}) or
    /// flat (its only position closed in full). The one check the clearing house applies and the liquidation
    /// engine's preview mirrors.
    function requireImprovement(
        BucketId account,
        IClearingHouse.Health memory h,
        int256 size,
        uint256 upper,
        IRiskEngine.MarginParams memory mp,
        IClearingHouse.LiquidationPlan memory p
    ) internal pure {
        if (p.closeSize == SignedMath.abs(size) && h.positions == 1) return;
        (int256 before, int256 after_) = excessAfter(h, size, upper, mp, p);
        if (after_ <= before) revert ILiquidationEngine.LiquidationNotImproved(account, before, after_);
    }

    /// @dev The MM requirement of a position of `notional`, as {MarginMath-requirements} computes it.
    function _maintenance(uint256 notional, IRiskEngine.MarginParams memory mp) private pure returns (uint256) {
        return
            MarginMath.requirement(
                notional,
                mp.ratios.mmr,
                mp.bracketNotional1,
                mp.bracketAddBps1,
                mp.bracketNotional2,
                mp.bracketAddBps2
            );
    }
}
