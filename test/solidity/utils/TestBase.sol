// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Vm, VM_ADDRESS} from "./Vm.sol";

/// @dev Minimal stand-in for forge-std's Test: the cheatcode handle, `bound`, and assertions that fail
/// with custom errors carrying the values compared.
abstract contract TestBase {
    Vm internal constant VM = Vm(VM_ADDRESS);

    error AssertEqFailed(string what, uint256 actual, uint256 expected);
    error AssertLeFailed(string what, uint256 actual, uint256 limit);
    error AssertTrueFailed(string what);
    error BoundInvalid(uint256 min, uint256 max);

    function assertEq(uint256 actual, uint256 expected, string memory what) internal pure {
        if (actual != expected) revert AssertEqFailed(what, actual, expected);
    }

    function assertLe(uint256 actual, uint256 limit, string memory what) internal pure {
        if (actual > limit) revert AssertLeFailed(what, actual, limit);
    }

    function assertTrue(bool condition, string memory what) internal pure {
        if (!condition) revert AssertTrueFailed(what);
    }

    /// @dev Maps `x` onto `[min, max]` (uniform enough for fuzzing; keeps small inputs unchanged).
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        if (min > max) revert BoundInvalid(min, max);
        if (x >= min && x <= max) return x;
        uint256 size = max - min;
        if (size == type(uint256).max) return x;
        return min + (x % (size + 1));
    }
}
