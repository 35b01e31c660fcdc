// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {MockERC20} from "./MockERC20.sol";

/// @notice Takes a fee of `feeBps` on every transfer (burned), like a fee-on-transfer token.
contract FeeOnTransferToken is MockERC20 {
    uint256 public feeBps;

    constructor(uint256 feeBps_) MockERC20("Fee Token", "FEE", 18) {
        feeBps = feeBps_;
    }

    function setFee(uint256 feeBps_) external {
        feeBps = feeBps_;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && to != address(0) && feeBps != 0) {
            uint256 fee = (value * feeBps) / 10_000;
            super._update(from, address(0), fee);
            value -= fee;
        }
        super._update(from, to, value);
    }
}

/// @notice Returns `false` instead of reverting when a transfer fails (and when told to fail).
contract FalseReturningToken is MockERC20 {
    bool public failTransfers;

    constructor() MockERC20("False Token", "FALSE", 6) {}

    function setFailTransfers(bool fail) external {
        failTransfers = fail;
    }

    function transfer(address to, uint256 value) public override returns (bool) {
        if (failTransfers || balanceOf(msg.sender) < value) return false;
        return super.transfer(to, value);
    }

    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        if (failTransfers || balanceOf(from) < value || allowance(from, msg.sender) < value) return false;
        return super.transferFrom(from, to, value);
    }
}

/// @notice Calls back a hook contract on every transfer, like ERC-777 tokens: used to attempt reentrancy.
contract CallbackToken is MockERC20 {
    address public hook;

    constructor() MockERC20("Callback Token", "CALL", 18) {}

    function setHook(address hook_) external {
        hook = hook_;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        address h = hook;
        if (h != address(0) && from != address(0) && to != address(0)) {
            // Bubble up the hook's revert so the test sees the reentrancy guard's error.
            (bool ok, bytes memory data) = h.call(
                abi.encodeWithSignature("onTokenTransfer(address,address,uint256)", from, to, value)
            );
            if (!ok) {
                assembly ("memory-safe") {
                    revert(add(data, 32), mload(data))
                }
            }
        }
    }
}

/// @notice Refuses transfers to or from blocklisted addresses, like USDC and USDT.
contract BlocklistToken is MockERC20 {
    error Blocklisted(address account);

    mapping(address => bool) public blocklisted;

    constructor() MockERC20("Blocklist USD", "BUSD", 6) {}

    function setBlocklisted(address account, bool blocked) external {
        blocklisted[account] = blocked;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (blocklisted[from]) revert Blocklisted(from);
        if (blocklisted[to]) revert Blocklisted(to);
        super._update(from, to, value);
    }
}
