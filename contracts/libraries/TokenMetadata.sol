// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";

/// @title TokenMetadata
/// @notice Reads a token's `decimals()` without trusting its return data.
/// @dev `try/catch` cannot catch a call that succeeds with empty or malformed return data (decoding reverts
/// in the caller); a low-level static call with explicit checks can.
library TokenMetadata {
    /// @notice `(true, decimals)` when `token` has code and answers one word no larger than 255.
    function tryDecimals(address token) internal view returns (bool ok, uint8 decimals) {
        if (token.code.length == 0) return (false, 0);
        (bool success, bytes memory data) = token.staticcall(abi.encodeCall(IERC20Metadata.decimals, ()));
        if (!success || data.length < 32) return (false, 0);
        uint256 value = abi.decode(data, (uint256));
        if (value > type(uint8).max) return (false, 0);
        return (true, uint8(value));
    }
}
