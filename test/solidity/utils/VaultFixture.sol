// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {StrataAccessManager} from "../../../contracts/governance/StrataAccessManager.sol";
import {CollateralVault} from "../../../contracts/vault/CollateralVault.sol";
import {MockERC20} from "../../../contracts/mocks/MockERC20.sol";

/// @dev Deploys an AccessManager and a CollateralVault with the roles of production: `move`, `withdraw` and
/// `drawReserve` are mapped to CONTROLLER (role 4); governance functions stay on the manager's ADMIN role
/// (0), held by the deploying test contract.
abstract contract VaultFixture {
    uint64 internal constant ADMIN_ROLE = 0;
    uint64 internal constant CONTROLLER_ROLE = 4;
    uint256 internal constant RESERVE_EPOCH = 7 days;

    StrataAccessManager internal manager;
    CollateralVault internal vault;

    function _deployVault() internal {
        manager = new StrataAccessManager(address(this));
        vault = new CollateralVault(address(manager), RESERVE_EPOCH);

        bytes4[] memory controllerSelectors = new bytes4[](3);
        controllerSelectors[0] = CollateralVault.move.selector;
        controllerSelectors[1] = CollateralVault.withdraw.selector;
        controllerSelectors[2] = CollateralVault.drawReserve.selector;
        manager.setTargetFunctionRole(address(vault), controllerSelectors, CONTROLLER_ROLE);

        bytes4[] memory adminSelectors = new bytes4[](6);
        adminSelectors[0] = CollateralVault.listToken.selector;
        adminSelectors[1] = CollateralVault.enableTierToken.selector;
        adminSelectors[2] = CollateralVault.setReserveAllowance.selector;
        adminSelectors[3] = CollateralVault.setOutflowLimit.selector;
        adminSelectors[4] = CollateralVault.setDepositCap.selector;
        adminSelectors[5] = CollateralVault.pauseDeposits.selector;
        manager.setTargetFunctionRole(address(vault), adminSelectors, ADMIN_ROLE);
    }

    function _grantController(address controller) internal {
        manager.grantRole(CONTROLLER_ROLE, controller, 0);
    }

    function _newToken(string memory symbol, uint8 decimals) internal returns (MockERC20) {
        return new MockERC20(symbol, symbol, decimals);
    }

    /// @dev The three test tokens: 6, 18 and 24 decimals.
    function _newTokenTrio() internal returns (MockERC20[3] memory trio) {
        trio[0] = _newToken("T6", 6);
        trio[1] = _newToken("T18", 18);
        trio[2] = _newToken("T24", 24);
    }
}
