// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @notice Test-only smart wallet: EIP-1271 signatures are its owner's ECDSA signatures of the hash. It can
/// deposit into the vault and set clearing operators like any account owner.
contract MockERC1271Wallet is IERC1271 {
    address public immutable OWNER;

    /// @notice Only the owner may make the wallet call out.
    error NotOwner(address caller);

    constructor(address owner) {
        OWNER = owner;
    }

    /// @inheritdoc IERC1271
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        (address signer, ECDSA.RecoverError err, ) = ECDSA.tryRecover(hash, signature);
        return err == ECDSA.RecoverError.NoError && signer == OWNER ? IERC1271.isValidSignature.selector : bytes4(0);
    }

    /// @notice Calls `target` with `data` as the wallet (the owner only).
    function execute(address target, bytes calldata data) external returns (bytes memory) {
        if (msg.sender != OWNER) revert NotOwner(msg.sender);
        (bool ok, bytes memory ret) = target.call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
        return ret;
    }
}
