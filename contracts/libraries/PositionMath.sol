// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {SignedMath} from "@openzeppelin/contracts/utils/math/SignedMath.sol";

/// @title PositionMath
/// @notice Fills, realized PnL and mark-to-market of perpetual positions, exactly zero-sum.
/// @dev A position is `{size, openNotional}`: signed base size (WAD) and signed cost basis (quote WAD, the
/// sign of `size`). The value an account holds in a position at mark `m` is `size × m − openNotional`.
/// A fill of `dSize` at signed notional `fillNotional` (= dSize × price, computed once per fill and
/// negated for the counterparty) sets `cash += realized` and `openNotional += fillNotional + realized`,
/// which changes `cash + value` by exactly `dSize × m − fillNotional` whatever `realized` is: rounding
/// only moves value between cash and cost basis, so the two sides of a fill always net to zero.
library PositionMath {
    using SafeCast for uint256;
    using SafeCast for int256;

    uint256 internal constant WAD = 1e18;

    /// @notice The signed notional of a fill of `dSize` at `price`: magnitude rounded down, sign of `dSize`.
    /// The counterparty's is exactly its negation.
    function fillNotional(int256 dSize, uint256 price) internal pure returns (int256) {
        int256 magnitude = Math.mulDiv(SignedMath.abs(dSize), price, WAD).toInt256();
        return dSize >= 0 ? magnitude : -magnitude;
    }

    /// @notice Whether a fill of `dSize` raises the risk of a position of `size`: it opens, increases or flips
    /// it (a flip opens the other side). A fill that only reduces or closes it does not.
    function increases(int256 size, int256 dSize) internal pure returns (bool) {
        int256 newSize = size + dSize;
        return SignedMath.abs(newSize) > SignedMath.abs(size) || ((size > 0) != (newSize > 0) && newSize != 0);
    }

    /// @notice Applies a fill to a position.
    /// @return newSize The size after the fill.
    /// @return newOpenNotional The cost basis after the fill.
    /// @return realized PnL realized into cash by the part of the fill that reduced the position.
    function applyFill(
        int256 size,
        int256 openNotional,
        int256 dSize,
        int256 notional
    ) internal pure returns (int256 newSize, int256 newOpenNotional, int256 realized) {
        newSize = size + dSize;
        if (size == 0 || (size > 0) == (dSize > 0)) {
            // Opening or increasing: all of the fill goes to the cost basis.
            return (newSize, openNotional + notional, 0);
        }
        uint256 absSize = SignedMath.abs(size);
        uint256 absDelta = SignedMath.abs(dSize);
        if (absDelta <= absSize) {
            // Reducing (or closing): the closed share of the cost basis leaves against the proceeds.
            int256 costClosed = _shareTowardsPositive(openNotional, absDelta, absSize);
            realized = -notional - costClosed;
        } else {
            // Flipping: close all of `size` with its share of the fill, open the rest.
            int256 closeNotional = _shareTowardsPositive(notional, absSize, absDelta);
            realized = -closeNotional - openNotional;
        }
        newOpenNotional = openNotional + notional + realized;
    }

    /// @notice `value × part / whole`, rounded towards +∞ (so realized PnL, `−notional − share`, rounds down).
    function _shareTowardsPositive(int256 value, uint256 part, uint256 whole) private pure returns (int256) {
        if (value >= 0) return Math.mulDiv(uint256(value), part, whole, Math.Rounding.Ceil).toInt256();
        return -Math.mulDiv(uint256(-value), part, whole, Math.Rounding.Floor).toInt256();
    }

    /// @notice Unrealized PnL of a position at `price`: `size × price − openNotional`, rounded down.
    function unrealizedPnl(int256 size, int256 openNotional, uint256 price) internal pure returns (int256) {
        if (size >= 0) return Math.mulDiv(uint256(size), price, WAD).toInt256() - openNotional;
        return -Math.mulDiv(uint256(-size), price, WAD, Math.Rounding.Ceil).toInt256() - openNotional;
    }

    /// @notice Notional of a position at `price`, rounded up (requirements favour the protocol).
    function notionalUp(int256 size, uint256 price) internal pure returns (uint256) {
        return Math.mulDiv(SignedMath.abs(size), price, WAD, Math.Rounding.Ceil);
    }

    /// @notice Funding owed by a position for an index move: `size × (index − snapshot) / WAD`, rounded up
    /// (what the account owes is rounded in the protocol's favour; positive means the account pays).
    function fundingOwed(int256 size, int256 index, int256 snapshot) internal pure returns (int256) {
        int256 delta = index - snapshot;
        if (size == 0 || delta == 0) return 0;
        uint256 magnitude = SignedMath.abs(size);
        uint256 move = SignedMath.abs(delta);
        bool pays = (size > 0) == (delta > 0);
        if (pays) return Math.mulDiv(magnitude, move, WAD, Math.Rounding.Ceil).toInt256();
        return -Math.mulDiv(magnitude, move, WAD, Math.Rounding.Floor).toInt256();
    }
}
