// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MarketSet} from "../../contracts/libraries/MarketSet.sol";
import {TestBase} from "./utils/TestBase.sol";

/// @notice Fuzz tests of MarketSet, called directly (its functions are internal): sequences of adds and
/// removes checked lane by lane against an array model that appends on add and swaps the last element into
/// the removed slot on remove (the library's documented behaviour), plus its two refusals and its capacity.
/// @dev Market ids are drawn from 1..40 so that sequences both hit held markets and miss them. Reverts of
/// the internal functions are asserted through the external wrappers `addExternal` / `removeExternal`,
/// called as `this.addExternal(...)` after `VM.expectRevert`.
contract MarketSetFuzzTest is TestBase {
    uint256 internal constant MAX_OPS = 24;
    uint256 internal constant MAX_MARKET = 40;
    uint256 internal constant CAPACITY = 16;

    error SetWordMismatch(string what, uint256 actual, uint256 expected);

    /// @dev The model: the lanes in order and how many are in use.
    struct Model {
        uint16[CAPACITY] lanes;
        uint256 n;
    }

    // ================================================================ wrappers

    function addExternal(uint256 set, uint16 market) external pure returns (uint256) {
        return MarketSet.add(set, market);
    }

    function removeExternal(uint256 set, uint16 market) external pure returns (uint256) {
        return MarketSet.remove(set, market);
    }

    // ================================================================ helpers

    function _indexOf(Model memory m, uint16 market) internal pure returns (uint256) {
        for (uint256 i; i < m.n; ++i) if (m.lanes[i] == market) return i;
        return type(uint256).max;
    }

    /// @dev Lane by lane: the same markets in the same lanes, 0 past the end, `toArray` and `length` agreeing;
    /// no market twice; the word is exactly the packing of the model (no stray bits above the last lane).
    function _assertMatches(uint256 set, Model memory m) internal pure {
        assertEq(MarketSet.length(set), m.n, "length");
        uint16[] memory arr = MarketSet.toArray(set);
        assertEq(arr.length, m.n, "toArray length");
        uint256 packed;
        for (uint256 i; i < m.n; ++i) {
            assertEq(MarketSet.at(set, i), m.lanes[i], "at(i) == model lane i");
            assertEq(arr[i], m.lanes[i], "toArray[i] == model lane i");
            assertTrue(arr[i] != 0, "no zero inside the set");
            for (uint256 j; j < i; ++j) assertTrue(arr[j] != arr[i], "no duplicate");
            packed |= uint256(m.lanes[i]) << (16 * i);
        }
        for (uint256 i = m.n; i < CAPACITY; ++i) assertEq(MarketSet.at(set, i), 0, "0 past the end");
        if (set != packed) revert SetWordMismatch("word == packed model", set, packed);
    }

    /// @dev The same markets, in any order (the set semantics the clearing house relies on).
    function _assertSameSet(uint256 set, Model memory m) internal pure {
        uint16[] memory arr = MarketSet.toArray(set);
        assertEq(arr.length, m.n, "set size");
        for (uint256 i; i < m.n; ++i) {
            bool found;
            for (uint256 j; j < arr.length; ++j) if (arr[j] == m.lanes[i]) found = true;
            assertTrue(found, "every model market is in the set");
        }
        for (uint256 j; j < arr.length; ++j) {
            assertTrue(_indexOf(m, arr[j]) != type(uint256).max, "every set market is in the model");
        }
    }

    function _fill(uint256 count) internal pure returns (uint256 set, Model memory m) {
        for (uint256 i; i < count; ++i) {
            uint16 market = uint16(i + 1);
            set = MarketSet.add(set, market);
            m.lanes[m.n++] = market;
        }
    }

    // ================================================================ sequences

    /// @notice Up to 24 operations (a remove of any market 1..40 about once in every 2 to 12 operations, by a
    /// fuzzed ratio, otherwise an add of an absent market, so that full sets are reached too): after each, the
    /// set equals the model lane by lane and as a set, its length matches, it holds no duplicate; an add with
    /// 16 markets held reverts MarketSetFull and a remove of an absent market returns the word unchanged.
    function testFuzz_SequenceMatchesArrayModel(uint256[MAX_OPS] memory ops, uint256 countSeed) public view {
        uint256 count = bound(countSeed % 256, 1, MAX_OPS);
        uint256 removeEvery = bound(countSeed >> 8, 2, 12);
        uint256 set;
        Model memory m;
        for (uint256 k; k < count; ++k) {
            uint256 op = ops[k];
            uint16 market = uint16(1 + ((op >> 8) % MAX_MARKET));
            if (op % removeEvery != 0) {
                // Add: the caller's precondition is that the market is absent; take the next absent id.
                while (_indexOf(m, market) != type(uint256).max) market = uint16((market % MAX_MARKET) + 1);
                if (m.n == CAPACITY) {
                    try this.addExternal(set, market) returns (uint256) {
                        assertTrue(false, "an add to a full set must revert");
                    } catch (bytes memory err) {
                        assertTrue(
                            keccak256(err) == keccak256(abi.encodeWithSelector(MarketSet.MarketSetFull.selector)),
                            "full set reverts MarketSetFull"
                        );
                    }
                    continue;
                }
                set = MarketSet.add(set, market);
                m.lanes[m.n++] = market;
            } else {
                uint256 i = _indexOf(m, market);
                uint256 next = MarketSet.remove(set, market);
                if (i == type(uint256).max) {
                    if (next != set) revert SetWordMismatch("remove of an absent market", next, set);
                } else {
                    // Swap and pop: the last lane moves into lane i.
                    m.lanes[i] = m.lanes[m.n - 1];
                    m.lanes[--m.n] = 0;
                }
                set = next;
            }
            _assertMatches(set, m);
            _assertSameSet(set, m);
        }
    }

    /// @notice Removing a market that is not held leaves the word unchanged, for any set built by adds.
    function testFuzz_RemoveAbsentLeavesSetUnchanged(uint256 countSeed, uint256 absentSeed) public pure {
        uint256 count = bound(countSeed, 0, CAPACITY);
        (uint256 set, ) = _fill(count);
        // Absent: above the markets 1..count held, or 0, which a set never holds.
        uint16 absent = absentSeed % 7 == 0 ? 0 : uint16(bound(absentSeed, count + 1, type(uint16).max));
        uint256 next = MarketSet.remove(set, absent);
        if (next != set) revert SetWordMismatch("remove absent", next, set);
    }

    /// @notice Removing the last market clears only the last lane: no other lane moves.
    function testFuzz_RemoveLastNeedsNoSwap(uint256[CAPACITY] memory marketSeeds, uint256 countSeed) public pure {
        uint256 count = bound(countSeed, 1, CAPACITY);
        uint256 set;
        Model memory m;
        for (uint256 i; i < count; ++i) {
            uint16 market = uint16(bound(marketSeeds[i], 1, type(uint16).max));
            while (_indexOf(m, market) != type(uint256).max) market = market == type(uint16).max ? 1 : market + 1;
            set = MarketSet.add(set, market);
            m.lanes[m.n++] = market;
        }
        uint16 last = m.lanes[count - 1];
        uint256 next = MarketSet.remove(set, last);
        uint256 expected = set & ~(uint256(0xffff) << (16 * (count - 1)));
        if (next != expected) revert SetWordMismatch("only the last lane cleared", next, expected);
        m.lanes[--m.n] = 0;
        _assertMatches(next, m);
    }

    /// @notice Removing a market from lane i < n-1 moves exactly the last market into lane i.
    function testFuzz_RemoveMiddleSwapsLastIn(uint256 countSeed, uint256 indexSeed) public pure {
        uint256 count = bound(countSeed, 2, CAPACITY);
        (uint256 set, Model memory m) = _fill(count);
        uint256 i = bound(indexSeed, 0, count - 2);
        uint256 next = MarketSet.remove(set, m.lanes[i]);
        m.lanes[i] = m.lanes[count - 1];
        m.lanes[--m.n] = 0;
        _assertMatches(next, m);
        assertEq(MarketSet.at(next, i), count, "the last market (id count) moved into lane i");
    }

    // ================================================================ refusals and capacity

    /// @notice Adding market 0 reverts MarketSetZeroMarket, whatever the set holds (full included).
    function testFuzz_AddZeroReverts(uint256 countSeed) public {
        (uint256 set, ) = _fill(bound(countSeed, 0, CAPACITY));
        VM.expectRevert(abi.encodeWithSelector(MarketSet.MarketSetZeroMarket.selector));
        this.addExternal(set, 0);
    }

    /// @notice 16 markets fit (capacity reachable, every lane used, the top lane included); a 17th reverts
    /// MarketSetFull; after a removal one fits again.
    function testFuzz_CapacityIsSixteen(uint16 extraSeed, uint256 removeSeed) public {
        uint16 extra = uint16(bound(extraSeed, CAPACITY + 1, type(uint16).max));
        (uint256 set, Model memory m) = _fill(CAPACITY);
        _assertMatches(set, m);
        assertEq(MarketSet.length(set), CAPACITY, "16 markets held");
        assertEq(MarketSet.at(set, CAPACITY - 1), CAPACITY, "top lane holds the 16th market");

        VM.expectRevert(abi.encodeWithSelector(MarketSet.MarketSetFull.selector));
        this.addExternal(set, extra);

        uint16 removed = uint16(bound(removeSeed, 1, CAPACITY));
        set = MarketSet.remove(set, removed);
        assertEq(MarketSet.length(set), CAPACITY - 1, "15 after a removal");
        set = this.addExternal(set, extra);
        assertEq(MarketSet.length(set), CAPACITY, "16 again");
        assertEq(MarketSet.at(set, CAPACITY - 1), extra, "appended in the top lane");
    }

    /// @notice An empty set: length 0, empty array, every lane 0; removing anything is a no-op.
    function testFuzz_EmptySet(uint16 market) public pure {
        assertEq(MarketSet.length(0), 0, "empty length");
        assertEq(MarketSet.toArray(0).length, 0, "empty array");
        assertEq(MarketSet.remove(0, market), 0, "remove from empty");
        uint256 one = MarketSet.add(0, market == 0 ? 1 : market);
        assertEq(MarketSet.length(one), 1, "one market");
        assertEq(MarketSet.remove(one, market == 0 ? 1 : market), 0, "back to empty");
    }
}
