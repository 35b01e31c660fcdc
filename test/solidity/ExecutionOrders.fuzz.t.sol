// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IClearingHouse} from "../../contracts/interfaces/IClearingHouse.sol";
import {IExecutionEngine} from "../../contracts/interfaces/IExecutionEngine.sol";
import {IOracleRouter} from "../../contracts/interfaces/IOracleRouter.sol";
import {IRiskEngine} from "../../contracts/interfaces/IRiskEngine.sol";
import {ExecutionEngine} from "../../contracts/execution/ExecutionEngine.sol";
import {BucketId} from "../../contracts/libraries/BucketId.sol";
import {TestBase} from "./utils/TestBase.sol";

/// @notice Fuzz tests of the ExecutionEngine's EIP-712 order hashing against the standard written out by
/// hand: the digest binds every field, the chain and the engine, and matches the SDK's typed data
/// (sdk/src/execution/orders.ts uses the same type string).
contract ExecutionOrdersFuzzTest is TestBase {
    bytes32 internal constant DOMAIN_TYPEHASH = keccak256(
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    );
    /// @dev The documented type string, written out in two parts (line length).
    bytes32 internal constant ORDER_TYPEHASH = keccak256(
        abi.encodePacked(
            "Order(uint256 account,uint16 market,int256 size,uint256 limitPrice,bool reduceOnly,",
            "uint64 expiry,uint256 nonce)"
        )
    );

    ExecutionEngine internal engine;

    function setUp() public {
        // Hashing reads no other contract: the dependencies are never called here.
        engine = new ExecutionEngine(
            address(0x1000),
            IClearingHouse(address(0x1001)),
            IOracleRouter(address(0x1002)),
            IRiskEngine(address(0x1003))
        );
    }

    function _order(
        uint256 account,
        uint16 market,
        int256 size,
        uint256 limitPrice,
        bool reduceOnly,
        uint64 expiry,
        uint256 nonce
    ) internal pure returns (IExecutionEngine.Order memory) {
        return IExecutionEngine.Order(BucketId.wrap(account), market, size, limitPrice, reduceOnly, expiry, nonce);
    }

    function _expected(
        IExecutionEngine.Order memory o,
        uint256 chainId,
        address verifier
    ) internal pure returns (bytes32) {
        bytes32 domain = keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("Strata Execution"), keccak256("1"), chainId, verifier)
        );
        bytes32 structHash = keccak256(
            abi.encode(
                ORDER_TYPEHASH,
                BucketId.unwrap(o.account),
                o.market,
                o.size,
                o.limitPrice,
                o.reduceOnly,
                o.expiry,
                o.nonce
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", domain, structHash));
    }

    /// @notice The engine's digest is the EIP-712 digest of the order for this chain and engine, and its
    /// type hash is the documented type string.
    function testFuzz_DigestIsEip712(
        uint256 account,
        uint16 market,
        int256 size,
        uint256 limitPrice,
        bool reduceOnly,
        uint64 expiry,
        uint256 nonce
    ) public view {
        IExecutionEngine.Order memory o = _order(account, market, size, limitPrice, reduceOnly, expiry, nonce);
        assertTrue(engine.ORDER_TYPEHASH() == ORDER_TYPEHASH, "type hash");
        assertTrue(engine.orderDigest(o) == _expected(o, block.chainid, address(engine)), "digest");
    }

    /// @notice Changing any one field changes the digest (no field is left out of the signed data).
    function testFuzz_EveryFieldIsSigned(
        uint256 account,
        int256 size,
        uint256 limitPrice,
        uint256 nonce,
        uint8 which
    ) public view {
        IExecutionEngine.Order memory o = _order(account, 7, size, limitPrice, false, 1_000, nonce);
        bytes32 before = engine.orderDigest(o);
        uint256 field = which % 7;
        if (field == 0) o.account = BucketId.wrap(account ^ 1);
        else if (field == 1) o.market = 8;
        else if (field == 2) o.size = size == type(int256).min ? size + 1 : size - 1;
        else if (field == 3) o.limitPrice = limitPrice ^ 1;
        else if (field == 4) o.reduceOnly = true;
        else if (field == 5) o.expiry = 1_001;
        else o.nonce = nonce ^ 1;
        assertTrue(engine.orderDigest(o) != before, "a changed field changes the digest");
    }

    /// @notice Another engine (another verifying contract) or another chain gives another digest: a signature
    /// cannot be replayed there.
    function testFuzz_DigestBindsChainAndEngine(uint256 account, int256 size, uint256 nonce) public {
        IExecutionEngine.Order memory o = _order(account, 1, size, 3_000e18, false, 1_000, nonce);
        ExecutionEngine other = new ExecutionEngine(
            address(0x1000),
            IClearingHouse(address(0x1001)),
            IOracleRouter(address(0x1002)),
            IRiskEngine(address(0x1003))
        );
        assertTrue(engine.orderDigest(o) != other.orderDigest(o), "another engine, another digest");
        assertTrue(
            engine.orderDigest(o) != _expected(o, block.chainid + 1, address(engine)),
            "another chain, another digest"
        );
    }
}
