// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {IRiskEngine} from "../interfaces/IRiskEngine.sol";

/// @title MarginMath
/// @notice Pure margin maths shared by the risk engine, the clearing house and (mirrored in bigint) the SDK.
/// Every division names its rounding: requirements round up, collateral values round down.
library MarginMath {
    uint256 internal constant BPS = 10_000;

    /// @notice The requirement at `rateBps` of `notional`, plus the progressive bracket add-ons, rounded up.
    function requirement(
        uint256 notional,
        uint256 rateBps,
        IRiskEngine.MarketRisk memory risk
    ) internal pure returns (uint256) {
        return
            requirement(
                notional,
                rateBps,
                risk.bracketNotional1,
                risk.bracketAddBps1,
                risk.bracketNotional2,
                risk.bracketAddBps2
            );
    }

    /// @notice The requirement at `rateBps` of `notional`, plus `add1`/`add2` on the excess over the bracket
    /// thresholds `b1`/`b2` (a zero threshold disables its bracket), rounded up.
    function requirement(
        uint256 notional,
        uint256 rateBps,
        uint256 b1,
        uint256 add1,
        uint256 b2,
        uint256 add2
    ) internal pure returns (uint256) {
        uint256 scaled = notional * rateBps;
        if (b1 != 0 && notional > b1) scaled += (notional - b1) * add1;
        if (b2 != 0 && notional > b2) scaled += (notional - b2) * add2;
        // Rounding: up — requirements favour the protocol.
        return Math.ceilDiv(scaled, BPS);
    }

    /// @notice IM, MM and backstop requirements of a position of `notional` under `ratios`.
    function requirements(
        uint256 notional,
        IRiskEngine.MarginRatios memory ratios,
        IRiskEngine.MarketRisk memory risk
    ) internal pure returns (uint256 im, uint256 mm, uint256 backstop) {
        im = requirement(notional, ratios.imr, risk);
        mm = requirement(notional, ratios.mmr, risk);
        backstop = requirement(notional, ratios.bmr, risk);
    }

    /// @notice IM, MM and backstop requirements of a position of `notional` under {IRiskEngine-MarginParams}.
    function requirements(
        uint256 notional,
        IRiskEngine.MarginParams memory p
    ) internal pure returns (uint256 im, uint256 mm, uint256 backstop) {
        (uint256 b1, uint256 a1, uint256 b2, uint256 a2) = (
            p.bracketNotional1,
            p.bracketAddBps1,
            p.bracketNotional2,
            p.bracketAddBps2
        );
        im = requirement(notional, p.ratios.imr, b1, a1, b2, a2);
        mm = requirement(notional, p.ratios.mmr, b1, a1, b2, a2);
        backstop = requirement(notional, p.ratios.bmr, b1, a1, b2, a2);
    }

    /// @notice The weighted value of collateral worth `value`: `weightBps` up to the size threshold,
    /// `excessWeightBps` above it. Rounded down.
    function weightedValue(uint256 value, IRiskEngine.CollateralRisk memory c) internal pure returns (uint256) {
        if (c.sizeThreshold == 0 || value <= c.sizeThreshold) {
            // Rounding: down — collateral value favours the protocol.
            return Math.mulDiv(value, c.weightBps, BPS);
        }
        return (uint256(c.sizeThreshold) * c.weightBps + (value - c.sizeThreshold) * c.excessWeightBps) / BPS;
    }

    /// @notice Ratios on the linear ramp from `from` to `to` between `start` and `end`, at `now_`.
    /// @dev Rounding: up — during a ramp the requirement is never below the straight line.
    function rampedRatios(
        IRiskEngine.MarginRatios memory from,
        IRiskEngine.MarginRatios memory to,
        uint256 start,
        uint256 end,
        uint256 now_
    ) internal pure returns (IRiskEngine.MarginRatios memory) {
        if (now_ >= end || end <= start) return to;
        uint256 elapsed = now_ - start;
        uint256 span = end - start;
        return
            IRiskEngine.MarginRatios({
                imr: _lerp(from.imr, to.imr, elapsed, span),
                mmr: _lerp(from.mmr, to.mmr, elapsed, span),
                bmr: _lerp(from.bmr, to.bmr, elapsed, span)
            });
    }

    function _lerp(uint16 a, uint16 b, uint256 elapsed, uint256 span) private pure returns (uint16) {
        // Both results lie between a and b, so they fit in uint16.
        if (b >= a) return uint16(a + Math.mulDiv(b - a, elapsed, span, Math.Rounding.Ceil));
        return uint16(a - Math.mulDiv(a - b, elapsed, span, Math.Rounding.Floor));
    }
}
