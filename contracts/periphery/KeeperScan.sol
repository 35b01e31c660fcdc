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
/// the node answers with. It works on any node, needs no address in the manifest and writes nothing. The
/// returned data is bound by EIP-170's 24,576 bytes (≈ 480 bytes an account with one market): the keeper
/// falls back to one account at a time when a batch fails.
contract KeeperScan {
    /// @notice `LiquidationEngine.preview` of one market of an account.
    struct MarketPreview {
        uint16 market;
        bool liquidatable;
        bool backstop;
        int256 equity;
        uint256 closeSize;
        uint256 keeperReward;
    }

    /// @notice What the keeper reads about one account.
    /// @param previews The account's markets in `accountMarkets` order, up to and including the first that is not
    /// liquidatable or is a backstop (as the keeper reads them one by one: equity and the backstop are the
    /// account's, so later markets would tell nothing more).
    /// @param cash The account's realized cash (quote WAD).
    /// @param balances The vault's balance of the account in each of `tokens`.
    struct AccountScan {
        MarketPreview[] previews;
        int256 cash;
        uint256[] balances;
    }

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

    /// @notice The reads of every account of `accounts` (also callable on a deployed copy).
    function scan(
        IClearingHouse clearing,
        ILiquidationEngine liquidation,
        ICollateralVault vault,
        BucketId[] memory accounts,
        address[] memory tokens
    ) public view returns (AccountScan[] memory out) {
        out = new AccountScan[](accounts.length);
        for (uint256 i; i < accounts.length; ++i) {
            BucketId account = accounts[i];
            uint16[] memory markets = clearing.accountMarkets(account);
            MarketPreview[] memory previews = new MarketPreview[](markets.length);
            uint256 read;
            while (read < markets.length) {
                uint16 market = markets[read];
                ILiquidationEngine.Preview memory p = liquidation.preview(account, market);
                previews[read] = MarketPreview({
                    market: market,
                    liquidatable: p.liquidatable,
                    backstop: p.backstop,
                    equity: p.equity,
                    closeSize: p.closeSize,
                    keeperReward: p.keeperReward
                });
                ++read;
                if (!p.liquidatable || p.backstop) break;
            }
            // Trim the array to the markets read.
            assembly ("memory-safe") {
                mstore(previews, read)
            }
            uint256[] memory balances = new uint256[](tokens.length);
            for (uint256 t; t < tokens.length; ++t) balances[t] = vault.balanceOf(account, tokens[t]);
            out[i] = AccountScan({previews: previews, cash: clearing.cash(account), balances: balances});
        }
    }
}
