// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @dev The few cheatcodes these tests use (forge-std is not available). Served by Hardhat's EDR at
/// `VM_ADDRESS`.
interface Vm {
    function warp(uint256 newTimestamp) external;

    function prank(address msgSender) external;

    function startPrank(address msgSender) external;

    function stopPrank() external;

    function expectRevert(bytes calldata revertData) external;

    function expectRevert(bytes4 revertSelector) external;

    function assume(bool condition) external;

    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);

    function addr(uint256 privateKey) external pure returns (address keyAddr);
}

address constant VM_ADDRESS = address(uint160(uint256(keccak256("hevm cheat code"))));
