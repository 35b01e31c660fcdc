// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

import {AccessManager} from "@openzeppelin/contracts/access/manager/AccessManager.sol";

/// @title StrataAccessManager
/// @notice The single AccessManager of a Strata deployment: every module is an AccessManaged target,
/// each setter is mapped to a role, and each role member has its own execution delay.
/// @dev OpenZeppelin's AccessManager unchanged; this contract only gives the deployment its own artifact.
contract StrataAccessManager is AccessManager {
    /// @param initialAdmin Receives ADMIN_ROLE with no delay; the deployer hands it over and sets delays.
    constructor(address initialAdmin) AccessManager(initialAdmin) {}
}
