// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @dev Minimal stand-in for forge-std's StdInvariant: the invariant runner (EDR, Foundry-compatible)
/// calls `targetContracts()` and `targetSelectors()` on the test contract after `setUp()` to learn which
/// contracts and functions to call at random. Without them every contract deployed in `setUp` would be
/// fuzzed directly (tokens, access manager, vault), bypassing the handler.
abstract contract InvariantBase {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address[] private _targetedContracts;
    FuzzSelector[] private _targetedSelectors;
    address[] private _targetedSenders;

    function targetContract(address target) internal {
        _targetedContracts.push(target);
    }

    function targetSelector(FuzzSelector memory selector) internal {
        _targetedSelectors.push(selector);
    }

    function targetSender(address sender) internal {
        _targetedSenders.push(sender);
    }

    function targetContracts() public view returns (address[] memory) {
        return _targetedContracts;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetedSelectors;
    }

    function targetSenders() public view returns (address[] memory) {
        return _targetedSenders;
    }
}
