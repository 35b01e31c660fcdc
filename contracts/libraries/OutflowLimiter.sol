// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title OutflowLimiter
/// @notice A refilling token bucket that can go into debt, so that an outflow over the limit is queued
/// with a fixed payout time instead of refused.
/// @dev The bucket holds `used`, which drains at `capacity / window` per second. An outflow that fits
/// under `capacity` leaves at once. A larger one still adds to `used` (which may then exceed `capacity`)
/// and becomes payable when `used` has drained back to `capacity`: the earliest moment at which paying
/// it keeps every window's outflow within `capacity + rate × elapsed`. Later outflows see the debt, so
/// they queue behind earlier ones: the queue is first-in first-out without any list to walk, and each
/// claim is paid independently, so one claim whose receiver reverts blocks nobody else.
///
/// OpenZeppelin's `RateLimiter.RefillingBucket` refuses to go into debt, which is exactly what turns a
/// refused withdrawal into a fair queue here; hence this small library.
library OutflowLimiter {
    /// @notice The per-token state: consumption not yet refilled, as of `updatedAt`.
    struct State {
        uint208 used;
        uint48 updatedAt;
    }

    /// @notice The quantity still counted as used at `now_`.
    /// @dev Rounding: the refill rounds down, so capacity comes back no faster than configured.
    function usedAt(State memory self, uint256 capacity, uint256 window, uint256 now_) internal pure returns (uint256) {
        uint256 refill = Math.mulDiv(now_ - self.updatedAt, capacity, window, Math.Rounding.Floor);
        return Math.saturatingSub(self.used, refill);
    }

    /// @notice The quantity that may leave at once at `now_`.
    function availableAt(
        State memory self,
        uint256 capacity,
        uint256 window,
        uint256 now_
    ) internal pure returns (uint256) {
        return Math.saturatingSub(capacity, usedAt(self, capacity, window, now_));
    }

    /// @notice Records an outflow of `amount` and returns when it may be paid (`now_` when at once).
    /// @dev `capacity` must be non-zero (the vault's envelope guarantees it). Rounding: the wait rounds
    /// up, so a queued claim never leaves ahead of the refill that covers it.
    function consume(
        State storage self,
        uint256 capacity,
        uint256 window,
        uint256 amount,
        uint256 now_
    ) internal returns (uint256 readyAt) {
        uint256 usedAfter = usedAt(self, capacity, window, now_) + amount;
        self.used = SafeCast.toUint208(usedAfter);
        self.updatedAt = SafeCast.toUint48(now_);
        if (usedAfter <= capacity) return now_;
        return now_ + Math.mulDiv(usedAfter - capacity, window, capacity, Math.Rounding.Ceil);
    }
}
