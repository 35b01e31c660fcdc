// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

import {BucketId} from "../libraries/BucketId.sol";
import {IClearingHouse} from "../interfaces/IClearingHouse.sol";
import {ICollateralVault} from "../interfaces/ICollateralVault.sol";
import {ILiquidationEngine} from "../interfaces/ILiquidationEngine.sol";

/// @title KeeperScan
/// @notice The keeper's health reads for many accounts in one `eth_call` (sdk/src/keeper/scanner.ts). Never
/// deployed: the keeper sends this contract's creation code with its arguments as a call without a `to`; the
/// constructor reads every account and returns the ABI-encoded {scan} result as the code it would deploy, which
/// the node answers with. It works on any node, needs no address in the manifest and writes nothing. The result
/// is bound by EIP-170's 24,576 bytes (320 bytes an account with one market and three tokens): the keeper reads
/// a batch that fails again one account at a time.
contract KeeperScan {
    /// @notice Words of an account's record before its previews: the previews' count and the account's cash.
    uint256 internal constant HEAD_WORDS = 2;
    /// @notice Words of one market's preview.
    uint256 internal constant PREVIEW_WORDS = 5;
    uint256 internal constant LIQUIDATABLE = 1;
    uint256 internal constant BACKSTOP = 2;

    constructor(
        IClearingHouse clearing,
        ILiquidationEngine liquidation,
        ICollateralVault vault,
        BucketId[] memory accounts,
        address[] memory tokens
    ) {
        bytes memory result = abi.encode(scan(clearing, liquidation, vault, accounts, tokens));
        assembly ("memory-safe") {
            return(add(result, 0x20), mload(result))
        }
    }

    /// @notice The reads of every account of `accounts`, one record after the other in one flat array (a flat array
    /// of words decodes far faster than nested structs). An account's record, in words:
    /// - `n`: how many market previews follow;
    /// - the account's realized cash (int256, quote WAD);
    /// - the vault's balance of the account in each of `tokens`;
    /// - `n` previews (`LiquidationEngine.preview`) of the account's markets in `accountMarkets` order, up to and
    ///   including the first that is not liquidatable or is a backstop (as the keeper reads them one by one: equity
    ///   and the backstop are the account's, later markets would tell nothing more), each: the market, flags
    ///   (1: liquidatable, 2: backstop), equity (int256), close size, keeper reward.
    function scan(
        IClearingHouse clearing,
        ILiquidationEngine liquidation,
        ICollateralVault vault,
        BucketId[] memory accounts,
        address[] memory tokens
    ) public view returns (uint256[] memory words) {
        uint256[][] memory records = new uint256[][](accounts.length);
        uint256 total;
        for (uint256 i; i < accounts.length; ++i) {
            records[i] = _scanAccount(clearing, liquidation, vault, accounts[i], tokens);
            total += records[i].length;
        }
        words = new uint256[](total);
        uint256 at;
        for (uint256 i; i < records.length; ++i) {
            uint256[] memory record = records[i];
            for (uint256 j; j < record.length; ++j) words[at++] = record[j];
        }
    }

    function _scanAccount(
        IClearingHouse clearing,
        ILiquidationEngine liquidation,
        ICollateralVault vault,
        BucketId account,
        address[] memory tokens
    ) private view returns (uint256[] memory record) {
        uint16[] memory markets = clearing.accountMarkets(account);
        uint256 first = HEAD_WORDS + tokens.length;
        record = new uint256[](first + PREVIEW_WORDS * markets.length);
        uint256 read;
        while (read < markets.length) {
            uint16 market = markets[read];
            ILiquidationEngine.Preview memory p = liquidation.preview(account, market);
            uint256 at = first + PREVIEW_WORDS * read;
            record[at] = market;
            record[at + 1] = (p.liquidatable ? LIQUIDATABLE : 0) | (p.backstop ? BACKSTOP : 0);
            record[at + 2] = uint256(p.equity);
            record[at + 3] = p.closeSize;
            record[at + 4] = p.keeperReward;
            ++read;
            if (!p.liquidatable || p.backstop) break;
        }
        record[0] = read;
        record[1] = uint256(clearing.cash(account));
        for (uint256 t; t < tokens.length; ++t) record[HEAD_WORDS + t] = vault.balanceOf(account, tokens[t]);
        // Trim the record to the previews read.
        uint256 length = first + PREVIEW_WORDS * read;
        assembly ("memory-safe") {
            mstore(record, length)
        }
    }
}
