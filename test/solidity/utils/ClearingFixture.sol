// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {MockV3Aggregator} from "@chainlink/contracts/src/v0.8/tests/MockV3Aggregator.sol";

import {ClearingHouse} from "../../../contracts/clearing/ClearingHouse.sol";
import {IOracleRouter} from "../../../contracts/interfaces/IOracleRouter.sol";
import {IRiskEngine} from "../../../contracts/interfaces/IRiskEngine.sol";
import {MockERC20} from "../../../contracts/mocks/MockERC20.sol";
import {OracleRouter} from "../../../contracts/oracle/OracleRouter.sol";
import {RiskEngine} from "../../../contracts/risk/RiskEngine.sol";
import {VaultFixture} from "./VaultFixture.sol";

/// @dev Deploys the clearing layer over a vault with the roles of production: the clearing house holds
/// CONTROLLER (role 4) on the vault, `applyFill` is mapped to EXECUTOR (role 5, granted by the test), and
/// governance stays on ADMIN (0), held by the deploying test contract.
/// One quote token (6 decimals) settles three tiers of depths 0, 1, 2 (max 4 positions per account), each
/// listing one market (ETH/USD, id 1) with ratios that loosen with depth; a Chainlink mock (8 decimals)
/// prices ETH with a fixed 10 bps confidence band (no growth with age) and no jump breaker.
abstract contract ClearingFixture is VaultFixture {
    uint64 internal constant EXECUTOR_ROLE = 5;
    uint8 internal constant TIER_COUNT = 3;
    uint16 internal constant ETH_MARKET = 1;
    bytes32 internal constant ETH_ASSET = "ETH/USD";
    int256 internal constant ETH_INITIAL_ANSWER = 2_000e8;
    uint8 internal constant FEED_DECIMALS = 8;
    uint8 internal constant MAX_POSITIONS = 4;
    uint16 internal constant BASE_CONFIDENCE_BPS = 10;

    MockERC20 internal quote;
    MockV3Aggregator internal ethFeed;
    OracleRouter internal oracle;
    RiskEngine internal risk;
    ClearingHouse internal clearing;

    function _deployClearing() internal {
        _deployVault();
        quote = _newToken("USDQ", 6);
        ethFeed = new MockV3Aggregator(FEED_DECIMALS, ETH_INITIAL_ANSWER);
        oracle = new OracleRouter(address(manager));
        risk = new RiskEngine(address(manager));
        clearing = new ClearingHouse(address(manager), vault, oracle, risk);

        bytes4[] memory executorSelectors = new bytes4[](1);
        executorSelectors[0] = ClearingHouse.applyFill.selector;
        manager.setTargetFunctionRole(address(clearing), executorSelectors, EXECUTOR_ROLE);
        _grantController(address(clearing));

        vault.listToken(address(quote), type(uint128).max, 1 days);
        oracle.listAsset(ETH_ASSET, _ethConfig());
        risk.listMarket(ETH_MARKET, ETH_ASSET);
        for (uint8 t; t < TIER_COUNT; ++t) {
            vault.enableTierToken(t, address(quote), type(uint128).max);
            risk.listTier(t, t, address(quote), MAX_POSITIONS);
            risk.addMarketToTier(t, ETH_MARKET, _marketRisk(t));
        }
    }

    function _ethConfig() internal view returns (IOracleRouter.AssetConfig memory) {
        return
            IOracleRouter.AssetConfig({
                primary: ethFeed,
                secondary: AggregatorV3Interface(address(0)),
                primaryMaxAge: 2 days,
                secondaryMaxAge: 0,
                maxDeviationBps: 200,
                minPrice: 1e18,
                maxPrice: 1e24,
                jumpThresholdBps: 9_000,
                breakerCooldown: 0,
                baseConfidenceBps: BASE_CONFIDENCE_BPS,
                confidenceBpsPerHour: 0,
                maxConfidenceBps: 100
            });
    }

    /// @dev Initial margin ratio of `tier`, in bps: 10x, 20x and 50x at most.
    function _imrBps(uint8 tier) internal pure returns (uint16) {
        return [uint16(1_000), 500, 200][tier];
    }

    /// @dev Ratios loosen with depth (DESIGN §6.6); penalty <= mmr - bmr; leverage <= 10_000 / imr. Funding
    /// reaches its largest rate (1%/day) at a pool inventory of 10 ETH. Size brackets above 100k and 1M quote.
    function _marketRisk(uint8 tier) internal pure returns (IRiskEngine.MarketRisk memory) {
        uint16 imr = _imrBps(tier);
        return
            IRiskEngine.MarketRisk({
                ratios: IRiskEngine.MarginRatios({
                    imr: imr,
                    mmr: [uint16(500), 250, 100][tier],
                    bmr: [uint16(250), 120, 50][tier]
                }),
                bracketNotional1: 100_000e18,
                bracketAddBps1: 100,
                bracketNotional2: 1_000_000e18,
                bracketAddBps2: 200,
                maxLeverage: uint16(10_000 / imr),
                liquidationPenaltyBps: 50,
                keeperShareBps: 3_000,
                keeperRewardCap: 1_000e18,
                oiCap: type(uint128).max,
                priceBandBps: 100,
                makerFeeBps: 2,
                takerFeeBps: 5,
                maxFundingBpsPerDay: 100,
                fundingSkewScale: 10e18
            });
    }
}
