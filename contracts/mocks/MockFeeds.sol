// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @notice Stands in for a Chainlink proxy in front of an aggregator (e.g. `MockV3Aggregator`): forwards
/// reads, can switch aggregators, and can be broken to revert like a deprecated or failing feed.
contract MockFeedProxy is AggregatorV3Interface {
    error FeedDeprecated();

    AggregatorV3Interface public aggregator;
    bool public broken;

    constructor(AggregatorV3Interface aggregator_) {
        aggregator = aggregator_;
    }

    function setAggregator(AggregatorV3Interface aggregator_) external {
        aggregator = aggregator_;
    }

    function setBroken(bool broken_) external {
        broken = broken_;
    }

    function decimals() external view returns (uint8) {
        return aggregator.decimals();
    }

    function description() external view returns (string memory) {
        return aggregator.description();
    }

    function version() external view returns (uint256) {
        return aggregator.version();
    }

    function getRoundData(uint80 roundId) external view returns (uint80, int256, uint256, uint256, uint80) {
        if (broken) revert FeedDeprecated();
        return aggregator.getRoundData(roundId);
    }

    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
        if (broken) revert FeedDeprecated();
        return aggregator.latestRoundData();
    }
}
