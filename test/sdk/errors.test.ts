import { expect } from "chai";
import {
  AbiCoder,
  BrowserProvider,
  Interface,
  Wallet,
  concat,
  encodeBytes32String,
  id,
  parseUnits,
  type Eip1193Provider,
  type ParamType,
} from "ethers";

import { accountBucket, settlementBucket } from "../../sdk/src/client/buckets.js";
import {
  ERROR_CATALOG,
  formatBucket,
  formatDuration,
  formatTime,
  formatWad,
} from "../../sdk/src/client/errorCatalog.js";
import {
  AccessError,
  ClearingError,
  ExecutionError,
  GovernanceError,
  LiquidationError,
  LibraryError,
  OracleError,
  PanicError,
  PoolError,
  RevertReasonError,
  RiskError,
  STRATA_INTERFACES,
  StrataError,
  TokenError,
  VaultError,
  decodeStrataError,
  withStrataErrors,
} from "../../sdk/src/client/errors.js";
import { orderDigest, orderDomain, signOrder, type Order } from "../../sdk/src/execution/orders.js";
import {
  BackstopPool__factory,
  ClearingHouse__factory,
  CollateralVault__factory,
  ExecutionEngine__factory,
  LiquidationEngine__factory,
  OracleRouter__factory,
  RiskEngine__factory,
  StrataAccessManager__factory,
} from "../../types/index.js";
import { ETH, ETH_KEY, PRIMARY_MAX_AGE, PRO, usdc, w } from "../clearing/clearingFixture.js";
import { connectChain, deployLocalFoundation } from "../helpers/foundation.js";

const chain = await connectChain();
const { ethers, networkHelpers } = chain;
const { time } = networkHelpers;

const MAX_UINT256 = 2n ** 256n - 1n;
const coder = AbiCoder.defaultAbiCoder();

/** The ABIs of every deployed contract, straight from the typechain factories (not through the SDK). */
const DEPLOYED_ABIS = {
  CollateralVault: CollateralVault__factory.abi,
  OracleRouter: OracleRouter__factory.abi,
  RiskEngine: RiskEngine__factory.abi,
  ClearingHouse: ClearingHouse__factory.abi,
  LiquidationEngine: LiquidationEngine__factory.abi,
  ExecutionEngine: ExecutionEngine__factory.abi,
  BackstopPool: BackstopPool__factory.abi,
  StrataAccessManager: StrataAccessManager__factory.abi,
};

/** selector → every signature declared with it, and which contracts declare each signature. */
function abiErrors() {
  const bySelector = new Map<string, Set<string>>();
  const declaredBy = new Map<string, string[]>();
  const fragments = new Map<string, { name: string; inputs: readonly ParamType[]; selector: string }>();
  for (const [contract, abi] of Object.entries(DEPLOYED_ABIS)) {
    new Interface(abi).forEachError((e) => {
      const signature = e.format("sighash");
      bySelector.set(e.selector, (bySelector.get(e.selector) ?? new Set()).add(signature));
      declaredBy.set(signature, [...(declaredBy.get(signature) ?? []), contract]);
      fragments.set(signature, { name: e.name, inputs: e.inputs, selector: e.selector });
    });
  }
  return { bySelector, declaredBy, fragments };
}

/** The error classes by the prefix of the error's name (the module that declares it). */
const CLASS_BY_PREFIX: [RegExp, typeof StrataError][] = [
  [/^Vault/, VaultError],
  [/^Oracle/, OracleError],
  [/^Risk/, RiskError],
  [/^(Clearing|MarketSet)/, ClearingError],
  [/^(Liquidation|Adl|CollateralLiquidation)/, LiquidationError],
  [/^Execution/, ExecutionError],
  [/^(Pool|ERC4626)/, PoolError],
  [/^Parameter/, GovernanceError],
  [/^(AccessManage|AddressEmptyCode|FailedCall|InsufficientBalance)/, AccessError],
  [/^(ERC20|SafeERC20)/, TokenError],
  [/^(SafeCast|ReentrancyGuard|StringTooLong|InvalidShortString)/, LibraryError],
];

/** A plausible value of each ABI type, distinct per position. */
function sample(type: string, i: number): unknown {
  const bits = Number(/^u?int(\d*)$/.exec(type)?.[1] || 256);
  const magnitude = bits >= 128 ? 10n ** 18n * BigInt(i + 2) + 7n : BigInt(3 * i + 2);
  if (type.startsWith("uint")) return magnitude;
  if (type.startsWith("int")) return -magnitude;
  if (type === "address") return Wallet.createRandom().address;
  if (type === "bytes32") return encodeBytes32String(`ASSET${i}/USD`);
  if (type === "bytes4") return STRATA_INTERFACES.CollateralVault.getFunction("listToken")!.selector;
  if (type === "string") return `text ${i}`;
  if (type === "bool") return true;
  throw new Error(`no sample for ${type}`);
}

/** Revert data of `signature` with `values`. */
function revertData(signature: string, types: readonly string[], values: readonly unknown[]): string {
  return concat([id(signature).slice(0, 10), coder.encode(types, values)]);
}

/** The error a call throws (failing the test when it does not throw). */
async function rejection(call: Promise<unknown>): Promise<unknown> {
  try {
    await call;
  } catch (error) {
    return error;
  }
  expect.fail("expected the call to revert");
}

/** A contract method as typechain types it: sent, simulated with staticCall, or estimated. */
interface Method<A extends unknown[]> {
  (...args: A): Promise<unknown>;
  staticCall(...args: A): Promise<unknown>;
  estimateGas(...args: A): Promise<unknown>;
}

/** The decoded revert of `method(...args)` on each path an integrator uses: send, staticCall and estimateGas. */
async function decodedOnEveryPath<A extends unknown[]>(
  method: Method<A>,
  ...args: A
): Promise<{ path: string; error: StrataError; cause: unknown }[]> {
  const out = [];
  for (const [path, call] of [
    ["send", () => method(...args)],
    ["staticCall", () => method.staticCall(...args)],
    ["estimateGas", () => method.estimateGas(...args)],
  ] as const) {
    const cause = await rejection(call());
    const error = decodeStrataError(cause, { tokens: TOKENS });
    expect(error, `${path}: decoded`).to.be.instanceOf(StrataError);
    expect(error!.cause, `${path}: cause`).to.equal(cause);
    out.push({ path, error: error!, cause });
  }
  return out;
}

let TOKENS: { address: string; symbol: string; decimals: number }[] = [];

/**
 * The local foundation with pools, both ETH feeds at 3,000, carol's 1,000,000 USDC in the pro pool, and alice
 * and bob each holding 10,000 USDC in their pro account `(user, PRO, 0)`.
 */
async function errorsFixture() {
  const f = await deployLocalFoundation(chain, { pools: true });
  const { d } = f;
  const usdcToken = d.tokens.USDC!;
  const vaultAddress = await d.vault.getAddress();
  const eth = d.assets["ETH/USD"]!;
  await (await eth.mockPrimary!.updateAnswer(parseUnits("3000", 8))).wait();
  await (await eth.mockSecondary!.updateAnswer(parseUnits("3000", 18))).wait();
  await networkHelpers.mine();

  async function fund(user: typeof f.alice, amount: bigint): Promise<bigint> {
    const account = accountBucket(user.address, PRO, 0n);
    await (await usdcToken.mock!.mint(user.address, amount)).wait();
    await (await usdcToken.mock!.connect(user).approve(vaultAddress, amount)).wait();
    await (await d.vault.connect(user).deposit(usdcToken.address, amount, account)).wait();
    return account;
  }
  const pool = d.pools[PRO]!;
  await (await usdcToken.mock!.mint(f.carol.address, usdc("1000000"))).wait();
  await (await usdcToken.mock!.connect(f.carol).approve(await pool.getAddress(), usdc("1000000"))).wait();
  await (await pool.connect(f.carol).deposit(usdc("1000000"), f.carol.address)).wait();
  const aliceAccount = await fund(f.alice, usdc("10000"));
  const bobAccount = await fund(f.bob, usdc("10000"));
  const { chainId } = await ethers.provider.getNetwork();
  const domain = orderDomain(chainId, await d.execution.getAddress());
  return { ...f, usdcToken, vaultAddress, eth, aliceAccount, bobAccount, domain };
}

before(async () => {
  const f = await networkHelpers.loadFixture(errorsFixture);
  TOKENS = Object.values(f.d.tokens);
});

describe("SDK errors (sdk/src/client/errors.ts)", () => {
  describe("the catalogue", () => {
    it("has an entry for every custom error of every deployed contract's ABI, by selector", () => {
      const { bySelector } = abiErrors();
      const catalogued = new Set(Object.keys(ERROR_CATALOG).map((s) => id(s).slice(0, 10)));
      const missing = [...bySelector].filter(([selector]) => !catalogued.has(selector)).map(([, s]) => [...s]);
      expect(missing).to.deep.equal([]);
      expect(bySelector.size).to.equal(Object.keys(ERROR_CATALOG).length);
    });

    it("has no stale entry: every catalogued signature is declared by some deployed contract", () => {
      const { declaredBy } = abiErrors();
      const stale = Object.keys(ERROR_CATALOG).filter((signature) => !declaredBy.has(signature));
      expect(stale).to.deep.equal([]);
    });

    it("a selector names one signature across contracts; errors several contracts declare decode alike", () => {
      const { bySelector, declaredBy } = abiErrors();
      for (const [selector, signatures] of bySelector) {
        expect([...signatures], `selector ${selector}`).to.have.length(1);
      }
      // Shared errors: AccessManaged's in every restricted module, the liquidation errors the clearing house
      // raises for the engine, ParamGuard's in every module with governed parameters.
      expect(declaredBy.get("AccessManagedUnauthorized(address)")).to.have.length.above(4);
      expect(declaredBy.get("LiquidationNoPool(uint8)")).to.include.members(["ClearingHouse", "LiquidationEngine"]);
      expect(Object.keys(STRATA_INTERFACES).sort()).to.deep.equal(Object.keys(DEPLOYED_ABIS).sort());
    });

    it("every entry renders a message and a hint from its ABI's arguments, in its module's class", () => {
      const { fragments } = abiErrors();
      for (const [signature, fragment] of fragments) {
        const types = fragment.inputs.map((p) => p.type);
        const values = types.map(sample);
        const data = revertData(signature, types, values);
        const error = decodeStrataError(data);
        expect(error, signature).to.be.instanceOf(StrataError);
        const e = error!;
        expect(e.errorName).to.equal(fragment.name);
        expect(e.selector).to.equal(fragment.selector);
        expect(e.data).to.equal(data);
        expect(e.contract).to.equal(ERROR_CATALOG[signature as keyof typeof ERROR_CATALOG].contract);
        fragment.inputs.forEach((p, i) => expect(e.args[p.name], `${signature} ${p.name}`).to.equal(values[i]));
        for (const text of [e.message, e.hint]) {
          expect(text, signature).to.match(/^[A-Z0-9`"(]/);
          expect(text, signature).to.match(/\.$/);
          expect(text, signature).not.to.match(/undefined|NaN|\[object|See the NatSpec/);
        }
        expect(e.message).not.to.equal(e.hint);
        expect(e.details).to.equal(
          `${fragment.name}(${fragment.inputs.map((p, i) => `${p.name}: ${String(values[i])}`).join(", ")})`,
        );
        const [, expected] = CLASS_BY_PREFIX.find(([prefix]) => prefix.test(fragment.name)) ?? [];
        expect(expected, `a class for ${fragment.name}`).not.to.equal(undefined);
        expect(e, signature).to.be.instanceOf(expected!);
        expect(e.name).to.equal(expected!.name);
      }
    });

    it("renders bucket ids as (owner, tier, subId), system buckets by name, WAD as decimals", () => {
      const owner = Wallet.createRandom().address;
      const account = accountBucket(owner, 2, 7n);
      const e = decodeStrataError(
        revertData(
          "ClearingInsufficientMargin(uint256,int256,uint256)",
          ["uint256", "int256", "uint256"],
          [account, w("1200.5"), w("1500")],
        ),
      )!;
      expect(e.message).to.equal(
        `Account (${owner}, 2, 7) would have equity 1,200.5, below the required 1,500 (initial margin).`,
      );
      expect(e.hint).to.include("at least 299.5 more");
      expect(formatBucket(settlementBucket(1))).to.equal(
        "(0x0000000000000000000000000000000000000000, 1, 1) [tier 1 settlement bucket]",
      );
      expect(formatWad(-w("0.000001"))).to.equal("-0.000001");
      expect(formatDuration(4_200n)).to.equal("4200 s (1 h 10 min)");
      expect(formatTime(1_714_564_800n)).to.equal("2024-05-01T12:00:00Z (unix 1714564800)");
    });

    it("a margin check that leaves a reducing side in debt says so (requirement 0)", () => {
      const account = accountBucket(Wallet.createRandom().address, 1, 0n);
      const e = decodeStrataError(
        revertData(
          "ClearingInsufficientMargin(uint256,int256,uint256)",
          ["uint256", "int256", "uint256"],
          [account, -w("25"), 0n],
        ),
      )!;
      expect(e.message).to.include("would end in debt").and.include("-25");
      expect(e.hint).to.include("collateral worth at least 25 first");
    });
  });

  describe("real reverts on the local chain (send, staticCall and estimateGas)", () => {
    it("a vault deposit of an unlisted token: VaultError VaultTokenNotListed(token)", async () => {
      const f = await networkHelpers.loadFixture(errorsFixture);
      const unlisted = Wallet.createRandom().address;
      for (const { error } of await decodedOnEveryPath(
        f.d.vault.connect(f.alice).deposit,
        unlisted,
        1n,
        f.aliceAccount,
      )) {
        expect(error).to.be.instanceOf(VaultError);
        expect(error.errorName).to.equal("VaultTokenNotListed");
        expect(error.contract).to.equal("vault");
        expect(error.args).to.deep.equal({ token: unlisted });
        expect(error.message).to.equal(`Token ${unlisted} is not listed in the vault.`);
        expect(error.hint).to.include("listed tokens");
      }
    });

    it("a deposit over the tier's cap names the token and its amounts in USDC", async () => {
      const f = await networkHelpers.loadFixture(errorsFixture);
      const [total, cap] = await f.d.vault.tierTotal(PRO, f.usdcToken.address);
      const amount = cap - total + usdc("1.5");
      await (await f.usdcToken.mock!.mint(f.alice.address, amount)).wait();
      await (await f.usdcToken.mock!.connect(f.alice).approve(f.vaultAddress, amount)).wait();
      for (const { error } of await decodedOnEveryPath(
        f.d.vault.connect(f.alice).deposit,
        f.usdcToken.address,
        amount,
        f.aliceAccount,
      )) {
        expect(error.errorName).to.equal("VaultDepositCapExceeded");
        expect(error.args).to.deep.equal({ tier: 1n, token: f.usdcToken.address, cap, totalAfter: total + amount });
        expect(error.message).to.equal(
          `The deposit would take tier 1's total of USDC (${f.usdcToken.address}) to 20,000,001.5 USDC, above its ` +
            "cap of 20,000,000 USDC.",
        );
        expect(error.hint).to.include("Deposit 1.5 USDC less");
      }
    });

    it("errors of the contracts a call reaches bubble up: the vault's balance check, a token's allowance", async () => {
      const f = await networkHelpers.loadFixture(errorsFixture);
      // bob holds no position: the clearing house asks the vault, which refuses the debit.
      for (const { error } of await decodedOnEveryPath(
        f.d.clearing.connect(f.bob).withdraw,
        f.bobAccount,
        f.usdcToken.address,
        usdc("10000.5"),
        f.bob.address,
      )) {
        expect(error).to.be.instanceOf(VaultError);
        expect(error.errorName).to.equal("VaultInsufficientBalance");
        expect(error.message).to.equal(
          `Bucket (${f.bob.address}, 1, 0) holds 10,000 USDC, less than the 10,000.5 USDC to debit (token USDC ` +
            `(${f.usdcToken.address})).`,
        );
        expect(error.hint).to.include("deposit 0.5 USDC more first");
      }
      // A deposit without an allowance: the token's own error, through SafeERC20.
      await (await f.usdcToken.mock!.mint(f.carol.address, usdc("5"))).wait();
      for (const { error } of await decodedOnEveryPath(
        f.d.vault.connect(f.carol).deposit,
        f.usdcToken.address,
        usdc("5"),
        accountBucket(f.carol.address, PRO, 0n),
      )) {
        expect(error).to.be.instanceOf(TokenError);
        expect(error.errorName).to.equal("ERC20InsufficientAllowance");
        expect(error.args).to.deep.equal({ spender: f.vaultAddress, allowance: 0n, needed: usdc("5") });
        expect(error.hint).to.include(`Approve ${f.vaultAddress} for at least 5000000`);
      }
    });

    it("a withdrawal that breaks IM: ClearingError ClearingInsufficientMargin(account, equity, requirement)", async () => {
      const f = await networkHelpers.loadFixture(errorsFixture);
      // 10 ETH at ~3,000: 30,000 notional, 3x on 10,000 USDC; pro's IM is 5% (1,500).
      await (
        await f.d.execution.connect(f.alice).tradeWithPool(f.aliceAccount, ETH, w("10"), MAX_UINT256, false)
      ).wait();
      const { im } = await f.d.clearing.health(f.aliceAccount);
      for (const { error } of await decodedOnEveryPath(
        f.d.clearing.connect(f.alice).withdraw,
        f.aliceAccount,
        f.usdcToken.address,
        usdc("9000"),
        f.alice.address,
      )) {
        expect(error).to.be.instanceOf(ClearingError);
        expect(error.errorName).to.equal("ClearingInsufficientMargin");
        expect(error.args.account).to.equal(f.aliceAccount);
        expect(error.args.requirement).to.equal(im);
        const equity = error.args.equity as bigint;
        expect(equity < im).to.equal(true);
        expect(error.message).to.equal(
          `Account (${f.alice.address}, 1, 0) would have equity ${formatWad(equity)}, below the required ` +
            `${formatWad(im)} (initial margin).`,
        );
        expect(error.hint).to.include(`at least ${formatWad(im - equity)} more`);
      }
    });

    it("an unauthorized call: AccessError AccessManagedUnauthorized(caller)", async () => {
      const f = await networkHelpers.loadFixture(errorsFixture);
      const token = Wallet.createRandom().address;
      for (const { error } of await decodedOnEveryPath(f.d.vault.connect(f.alice).listToken, token, 1n, 3600)) {
        expect(error).to.be.instanceOf(AccessError);
        expect(error.errorName).to.equal("AccessManagedUnauthorized");
        expect(error.contract).to.equal("AccessManaged");
        expect(error.args).to.deep.equal({ caller: f.alice.address });
        expect(error.message).to.include(f.alice.address).and.include("lacks the role");
        expect(error.hint).to.include("getTargetFunctionRole").and.include("grantRole");
      }
    });

    it("through ethers' JSON-RPC provider the error carries the call, and the hint names the role to ask for", async () => {
      const f = await networkHelpers.loadFixture(errorsFixture);
      const provider = new BrowserProvider(chain.provider as unknown as Eip1193Provider);
      const vault = CollateralVault__factory.connect(f.vaultAddress, await provider.getSigner(f.alice.address));
      for (const { error, cause } of await decodedOnEveryPath(vault.listToken, f.vaultAddress, 1n, 3600)) {
        expect(cause).to.have.property("code", "CALL_EXCEPTION");
        expect(error.call?.to?.toLowerCase()).to.equal(f.vaultAddress.toLowerCase());
        expect(error.call?.functions).to.deep.include({
          contract: "CollateralVault",
          name: "listToken",
          role: "ADMIN",
        });
        expect(error.message).to.equal(
          `${f.alice.address} may not call CollateralVault.listToken: it lacks the role the AccessManager requires.`,
        );
        expect(error.hint).to.include(`grant ${f.alice.address} the role ADMIN (role 0) for CollateralVault.listToken`);
      }
      // A withdrawal over IM through the same provider: the hint is worded for a withdrawal.
      await (
        await f.d.execution.connect(f.alice).tradeWithPool(f.aliceAccount, ETH, w("10"), MAX_UINT256, false)
      ).wait();
      const clearing = ClearingHouse__factory.connect(
        await f.d.clearing.getAddress(),
        await provider.getSigner(f.alice.address),
      );
      const cause = await rejection(
        clearing.withdraw(f.aliceAccount, f.usdcToken.address, usdc("9000"), f.alice.address),
      );
      const error = decodeStrataError(cause)!;
      expect(error.errorName).to.equal("ClearingInsufficientMargin");
      expect(error.hint).to.match(/^Withdraw collateral worth [\d,.]+ less/);
    });

    it("a stale price on a risk increase: OracleError OracleStalePrice(asset, feed, updatedAt, maxAge)", async () => {
      const f = await networkHelpers.loadFixture(errorsFixture);
      const { updatedAt } = await f.eth.mockPrimary!.latestRoundData();
      await time.increaseTo(updatedAt + PRIMARY_MAX_AGE + 10n);
      for (const { error } of await decodedOnEveryPath(
        f.d.execution.connect(f.alice).tradeWithPool,
        f.aliceAccount,
        ETH,
        w("1"),
        MAX_UINT256,
        false,
      )) {
        expect(error).to.be.instanceOf(OracleError);
        expect(error.errorName).to.equal("OracleStalePrice");
        expect(error.args).to.deep.equal({
          asset: ETH_KEY,
          feed: f.eth.primary,
          updatedAt,
          maxAge: PRIMARY_MAX_AGE,
        });
        expect(error.message).to.equal(
          `The price of ETH/USD from feed ${f.eth.primary} was last updated at ${formatTime(updatedAt)}, older than ` +
            "its max age of 4200 s (1 h 10 min).",
        );
        expect(error.hint).to.include("wait for a fresh round").and.include("exits and liquidations still work");
      }
    });

    it("an expired order: ExecutionError ExecutionOrderExpired(digest, expiry)", async () => {
      const f = await networkHelpers.loadFixture(errorsFixture);
      const expiry = BigInt(await time.latest()) - 1n;
      const order = (account: bigint, size: bigint, nonce: bigint): Order => ({
        account,
        market: ETH,
        size,
        limitPrice: w("3000"),
        reduceOnly: false,
        expiry,
        nonce,
      });
      const maker = await signOrder(f.alice, f.domain, order(f.aliceAccount, w("1"), 1n));
      const taker = await signOrder(f.bob, f.domain, order(f.bobAccount, -w("1"), 2n));
      for (const { error } of await decodedOnEveryPath(
        f.d.execution.connect(f.carol).settleMatch,
        maker,
        taker,
        w("1"),
      )) {
        expect(error).to.be.instanceOf(ExecutionError);
        expect(error.errorName).to.equal("ExecutionOrderExpired");
        expect(error.args).to.deep.equal({ digest: orderDigest(f.domain, maker.order), expiry });
        expect(error.message).to.equal(`Order ${orderDigest(f.domain, maker.order)} expired at ${formatTime(expiry)}.`);
        expect(error.hint).to.equal("Sign a new order with a later expiry.");
      }
    });

    it("a pool trade past the acceptable price: ExecutionError ExecutionAcceptablePriceExceeded(price, acceptable)", async () => {
      const f = await networkHelpers.loadFixture(errorsFixture);
      const [quoted] = await f.d.execution.quotePoolTrade(f.aliceAccount, ETH, w("2"));
      const acceptable = quoted - w("1");
      for (const { error } of await decodedOnEveryPath(
        f.d.execution.connect(f.alice).tradeWithPool,
        f.aliceAccount,
        ETH,
        w("2"),
        acceptable,
        false,
      )) {
        expect(error.errorName).to.equal("ExecutionAcceptablePriceExceeded");
        const price = error.args.price as bigint;
        expect(error.args.acceptablePrice).to.equal(acceptable);
        expect(price > acceptable).to.equal(true);
        expect(error.message).to.equal(
          `The pool would sell at ${formatWad(price)}, above the buyer's acceptable price ${formatWad(acceptable)}.`,
        );
        expect(error.hint)
          .to.include(`of at least ${formatWad(price)}`)
          .and.include("quotePoolTrade");
      }
      // A sell: the pool's bid is below the seller's acceptable price.
      const [bid] = await f.d.execution.quotePoolTrade(f.aliceAccount, ETH, -w("2"));
      const cause = await rejection(
        f.d.execution.connect(f.alice).tradeWithPool(f.aliceAccount, ETH, -w("2"), bid + w("1"), false),
      );
      expect(decodeStrataError(cause)!.message).to.match(/^The pool would buy at [\d,.]+, below the seller's/);
    });

    it("withStrataErrors rethrows the decoded error with the original as its cause, and passes results through", async () => {
      const f = await networkHelpers.loadFixture(errorsFixture);
      const error = await rejection(withStrataErrors(f.d.vault.connect(f.alice).pauseDeposits()));
      expect(error).to.be.instanceOf(AccessError);
      const strata = error as AccessError;
      expect(strata.cause).to.be.instanceOf(Error);
      expect((strata.cause as { data?: string }).data).to.equal(strata.data);
      expect(decodeStrataError(strata)).to.equal(strata);
      expect(await withStrataErrors(f.d.vault.depositsPaused())).to.equal(false);
      const tx = await withStrataErrors(f.d.vault.connect(f.guardian).pauseDeposits());
      expect((await tx.wait())?.status).to.equal(1);
    });
  });

  describe("errors that are not Strata's", () => {
    it("a plain Error, or anything without revert data, is not decoded and passes through withStrataErrors", async () => {
      const plain = new Error("socket hang up");
      for (const value of [
        plain,
        undefined,
        null,
        42,
        "not hex",
        "0x",
        { data: "0x" },
        { code: "CALL_EXCEPTION", data: null },
      ]) {
        expect(decodeStrataError(value)).to.equal(undefined);
      }
      expect(await rejection(withStrataErrors(Promise.reject(plain)))).to.equal(plain);
    });

    it("a revert with a selector no Strata contract declares is not decoded, nor is truncated data", async () => {
      const unknown = concat(["0xdeadbeef", coder.encode(["uint256"], [1n])]);
      expect(decodeStrataError(unknown)).to.equal(undefined);
      const cause = Object.assign(new Error("execution reverted (unknown custom error)"), {
        code: "CALL_EXCEPTION",
        data: unknown,
      });
      expect(await rejection(withStrataErrors(Promise.reject(cause)))).to.equal(cause);
      const truncated = revertData("VaultTokenNotListed(address)", [], []);
      expect(decodeStrataError(truncated)).to.equal(undefined);
    });

    it("a string reason (Error(string)) decodes to a RevertReasonError from outside Strata", () => {
      const data = revertData("Error(string)", ["string"], ["ERC20: transfer amount exceeds balance"]);
      const e = decodeStrataError({ code: "CALL_EXCEPTION", data })!;
      expect(e).to.be.instanceOf(RevertReasonError);
      expect(e.errorName).to.equal("Error");
      expect(e.contract).to.equal("external");
      expect(e.args).to.deep.equal({ reason: "ERC20: transfer amount exceeds balance" });
      expect(e.message).to.equal('A contract outside Strata reverted: "ERC20: transfer amount exceeds balance".');
      expect(e.hint).to.include("only with custom errors");
    });

    it("a panic (Panic(uint256)) decodes to a PanicError with the meaning of its code", () => {
      const e = decodeStrataError(revertData("Panic(uint256)", ["uint256"], [0x11n]))!;
      expect(e).to.be.instanceOf(PanicError);
      expect(e.errorName).to.equal("Panic");
      expect(e.contract).to.equal("solidity");
      expect(e.args).to.deep.equal({ code: 17n, reason: "an arithmetic operation overflowed or underflowed" });
      expect(e.message).to.equal(
        "The call panicked: an arithmetic operation overflowed or underflowed (Solidity panic 0x11).",
      );
      expect(e.hint).to.include("report it");
      const unknownCode = decodeStrataError(revertData("Panic(uint256)", ["uint256"], [0x99n]))!;
      expect(unknownCode.args.reason).to.equal("an unknown panic code");
    });
  });

  describe("where revert data sits in the errors of nodes and clients", () => {
    const holder = Wallet.createRandom().address;
    const data = revertData("VaultTokenNotListed(address)", ["address"], [holder]);
    const vaultAddress = Wallet.createRandom().address;
    const calldata = STRATA_INTERFACES.CollateralVault.encodeFunctionData("deposit", [holder, 1n, 1n]);

    it("JSON-RPC error objects and responses of anvil and a Hardhat node", () => {
      const shapes = {
        // anvil's eth_call / eth_estimateGas error member
        anvil: { code: 3, message: "execution reverted: custom error 0xff08ab2b: …", data },
        // a Hardhat node's whole response
        hardhatNode: {
          jsonrpc: "2.0",
          id: 1,
          error: { code: 3, message: "VM Exception while processing transaction: reverted with custom error …", data },
        },
        // older nodes nest the data under data.data; wallets under data.originalError
        nested: { code: -32603, message: "Internal JSON-RPC error.", data: { message: "reverted", data } },
        wallet: { code: -32603, data: { originalError: { code: 3, message: "execution reverted", data } } },
        // an HTTP error whose body is the JSON-RPC response
        httpBody: { status: 200, body: JSON.stringify({ jsonrpc: "2.0", id: 1, error: { code: 3, data } }) },
        // ethers' CallExceptionError from a JSON-RPC provider
        ethers: {
          code: "CALL_EXCEPTION",
          action: "estimateGas",
          data,
          transaction: { to: vaultAddress, data: calldata },
          info: { error: { code: 3, data }, payload: { method: "eth_estimateGas", params: [{ to: vaultAddress }] } },
        },
        // an error wrapping another
        causeChain: new Error("deposit failed", { cause: { info: { error: { code: 3, data } } } }),
      };
      for (const [shape, error] of Object.entries(shapes)) {
        const e = decodeStrataError(error);
        expect(e, shape).to.be.instanceOf(VaultError);
        expect(e!.args, shape).to.deep.equal({ token: holder });
        expect(e!.cause, shape).to.equal(error);
      }
      expect(decodeStrataError(shapes.ethers)!.call).to.deep.equal({
        to: vaultAddress,
        data: calldata,
        functions: [{ contract: "CollateralVault", name: "deposit" }],
      });
    });

    it("ethers' 'could not coalesce error' for a raw transaction a Hardhat node refused: data and the signed call", async () => {
      const wallet = Wallet.createRandom();
      const raw = await wallet.signTransaction({
        to: vaultAddress,
        data: calldata,
        chainId: 31337n,
        gasLimit: 100_000n,
      });
      const error = {
        code: "UNKNOWN_ERROR",
        shortMessage: "could not coalesce error",
        error: { code: 3, message: "VM Exception while processing transaction: …", data },
        payload: { method: "eth_sendRawTransaction", params: [raw], id: 25, jsonrpc: "2.0" },
      };
      const e = decodeStrataError(error)!;
      expect(e.errorName).to.equal("VaultTokenNotListed");
      expect(e.call?.to).to.equal(vaultAddress);
      expect(e.call?.functions).to.deep.equal([{ contract: "CollateralVault", name: "deposit" }]);
    });
  });
});
