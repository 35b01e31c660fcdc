// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice On a token callback, replays a stored call against a target (e.g. the vault) to test reentrancy guards.
contract ReentrancyAttacker {
    address public victim;
    bytes public payload;
    /// @notice What the last successful replayed call returned (lets tests observe state mid-call).
    bytes public lastReturn;

    function arm(address victim_, bytes calldata payload_) external {
        victim = victim_;
        payload = payload_;
    }

    function onTokenTransfer(address, address, uint256) external {
        if (victim == address(0)) return;
        (bool ok, bytes memory data) = victim.call(payload);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(data, 32), mload(data))
            }
        }
        lastReturn = data;
    }
}
