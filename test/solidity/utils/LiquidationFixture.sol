// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {BackstopPool} from "../../../contracts/clearing/BackstopPool.sol";
import {ClearingHouse} from "../../../contracts/clearing/ClearingHouse.sol";
import {LiquidationEngine} from "../../../contracts/clearing/LiquidationEngine.sol";
import {BucketIdLib} from "../../../contracts/libraries/BucketId.sol";
import {ClearingFixture} from "./ClearingFixture.sol";
import {TestBase} from "./TestBase.sol";

/// @dev The clearing layer of {ClearingFixture} plus liquidation, with the roles of production: the
/// LiquidationEngine holds LIQUIDATOR (role 6), to which the clearing house's `liquidate`, `beginBatch`,
/// `endBatch`, `transferPosition`, `transferCash`, `transferCollateral` and `drawReserve` are mapped. Each
/// tier has a BackstopPool (cooldown 3 days, utilisation limit 80%) registered as its pool and funded by an
/// LP through ERC-4626 `deposit`; each tier's insurance fund holds some quote; the protocol reserve is funded
/// and tiers 0 and 1 (not 2) may draw from it. The amounts are small enough that deep losses reach every
/// step of the waterfall.
abstract contract LiquidationFixture is TestBase, ClearingFixture {
    uint64 internal constant LIQUIDATOR_ROLE = 6;
    uint32 internal constant POOL_COOLDOWN = 3 days;
    uint16 internal constant POOL_MAX_UTILISATION_BPS = 8_000;
    uint256 internal constant POOL_DEPOSIT = 20_000e6;
    uint256 internal constant INSURANCE_DEPOSIT = 2_000e6;
    uint256 internal constant RESERVE_DEPOSIT = 10_000e6;
    uint128 internal constant RESERVE_ALLOWANCE = 3_000e6;
    address internal constant LP = address(0x1111);

    LiquidationEngine internal engine;
    BackstopPool[TIER_COUNT] internal pools;

    function _deployLiquidation() internal {
        _deployClearing();
        engine = new LiquidationEngine(clearing, vault, oracle, risk);
        // The engine passes through the AccessManager here (it is not registered with setLiquidator, which
        // the mocha suites and the deployer use): both routes to the hooks stay exercised.
        bytes4[] memory liquidatorSelectors = new bytes4[](7);
        liquidatorSelectors[0] = ClearingHouse.transferPosition.selector;
        liquidatorSelectors[1] = ClearingHouse.transferCash.selector;
        liquidatorSelectors[2] = ClearingHouse.transferCollateral.selector;
        liquidatorSelectors[3] = ClearingHouse.drawReserve.selector;
        liquidatorSelectors[4] = ClearingHouse.liquidate.selector;
        liquidatorSelectors[5] = ClearingHouse.beginBatch.selector;
        liquidatorSelectors[6] = ClearingHouse.endBatch.selector;
        manager.setTargetFunctionRole(address(clearing), liquidatorSelectors, LIQUIDATOR_ROLE);
        manager.grantRole(LIQUIDATOR_ROLE, address(engine), 0);

        for (uint8 t; t < TIER_COUNT; ++t) {
            BackstopPool pool = new BackstopPool(
                address(manager),
                clearing,
                vault,
                IERC20(address(quote)),
                t,
                "Strata Backstop",
                "sBKS",
                POOL_COOLDOWN,
                POOL_MAX_UTILISATION_BPS
            );
            pools[t] = pool;
            clearing.setPool(t, address(pool));

            quote.mint(LP, POOL_DEPOSIT);
            VM.startPrank(LP);
            quote.approve(address(pool), POOL_DEPOSIT);
            pool.deposit(POOL_DEPOSIT, LP);
            VM.stopPrank();

            quote.mint(address(this), INSURANCE_DEPOSIT);
            quote.approve(address(vault), INSURANCE_DEPOSIT);
            vault.deposit(address(quote), INSURANCE_DEPOSIT, BucketIdLib.insurance(t));
        }

        quote.mint(address(this), RESERVE_DEPOSIT);
        quote.approve(address(vault), RESERVE_DEPOSIT);
        vault.fundReserve(address(quote), RESERVE_DEPOSIT);
        vault.setReserveAllowance(0, address(quote), RESERVE_ALLOWANCE);
        vault.setReserveAllowance(1, address(quote), RESERVE_ALLOWANCE);
    }
}
