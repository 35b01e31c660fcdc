// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

/// @title MarketSet
/// @notice The markets an account holds positions in, packed in one storage word: up to 16 market ids of
/// 16 bits, contiguous from the low lane, 0 marking the end. One word instead of an array's length and
/// elements makes reading and changing an account's market list one storage access.
/// @dev Market ids are never 0 (the risk engine refuses to list market 0).
library MarketSet {
    /// @notice The most markets a set holds (the risk engine's markets per tier).
    uint256 internal constant CAPACITY = 16;

    /// @notice `market` is 0, which no set may hold.
    error MarketSetZeroMarket();
    /// @notice The set holds `CAPACITY` markets already.
    error MarketSetFull();

    /// @notice Number of markets in `set`.
    function length(uint256 set) internal pure returns (uint256 n) {
        // At most 16 steps.
        while (n < CAPACITY && (set >> (n << 4)) & 0xffff != 0) ++n;
    }

    /// @notice The market in lane `i` (0 past the end).
    function at(uint256 set, uint256 i) internal pure returns (uint16) {
        return uint16(set >> (i << 4));
    }

    /// @notice `set` with `market` appended; the caller ensures it is not held yet.
    function add(uint256 set, uint16 market) internal pure returns (uint256) {
        if (market == 0) revert MarketSetZeroMarket();
        uint256 n = length(set);
        if (n == CAPACITY) revert MarketSetFull();
        return set | (uint256(market) << (n << 4));
    }

    /// @notice `set` without `market` (unchanged when not held): the last market moves into its lane.
    function remove(uint256 set, uint16 market) internal pure returns (uint256) {
        uint256 n = length(set);
        for (uint256 i; i < n; ++i) {
            if (at(set, i) == market) {
                uint256 last = (n - 1) << 4;
                uint256 lastMarket = (set >> last) & 0xffff;
                set &= ~(uint256(0xffff) << last); // clear the last lane
                set &= ~(uint256(0xffff) << (i << 4)); // clear the removed lane (a no-op when it was the last)
                if ((i << 4) != last) set |= lastMarket << (i << 4);
                return set;
            }
        }
        return set;
    }

    /// @notice The markets of `set`, in lane order.
    function toArray(uint256 set) internal pure returns (uint16[] memory markets) {
        uint256 n = length(set);
        markets = new uint16[](n);
        for (uint256 i; i < n; ++i) markets[i] = at(set, i);
    }
}
