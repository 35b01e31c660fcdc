import { expect } from "chai";
import { ZeroAddress, parseUnits, type ContractTransactionReceipt, type Interface, type TypedDataDomain } from "ethers";

import { accountBucket, insuranceBucket } from "../../sdk/src/client/buckets.js";
import { orderDigest, orderDomain, signOrder, type Order, type SignedOrder } from "../../sdk/src/execution/orders.js";
import { BTC, CORE, ETH, ETH_KEY, PRIMARY_MAX_AGE, PRO, WAD, mulDiv, usdc, w } from "../clearing/clearingFixture.js";
import { connectChain, deployLocalFoundation } from "../helpers/foundation.js";
import { MockERC1271Wallet__factory } from "../../types/index.js";

const chain = await connectChain();
const { ethers, networkHelpers } = chain;
const { time } = networkHelpers;

/** An expiry far in the future. */
const FAR = 2n ** 40n;
/** A gas limit for calls whose revert must happen in a mined block (no estimate at another timestamp). */
const GAS = { gasLimit: 5_000_000n };
const MAX_INT256 = 2n ** 255n - 1n;
const MIN_INT256 = -(2n ** 255n);
const MAX_UINT256 = 2n ** 256n - 1n;
const MAX_UINT64 = 2n ** 64n - 1n;

/**
 * The local foundation with both ETH feeds at 3,000 (a narrow band). The maker (alice) and the taker (bob)
 * each hold 100,000 USDC in a pro account; `matcher` (carol) settles as a third party; `stranger`
 * (mallory) holds nothing.
 */
async function engineFixture() {
  const f = await deployLocalFoundation(chain);
  const { d } = f;
  const [maker, taker, matcher, stranger] = [f.alice, f.bob, f.carol, f.mallory];
  type User = typeof maker;
  const usdcToken = d.tokens.USDC!;
  const vaultAddress = await d.vault.getAddress();
  const engineAddress = await d.execution.getAddress();
  const clearingAddress = await d.clearing.getAddress();
  const { chainId } = await ethers.provider.getNetwork();
  const domain = orderDomain(chainId, engineAddress);
  const eth = d.assets["ETH/USD"]!;
  const btc = d.assets["BTC/USD"]!;

  /** Mints `amount` USDC to `user` and deposits it into `(user, tier, subId)`; returns the account. */
  async function fund(user: User, tier: number, amount: bigint, subId = 0n): Promise<bigint> {
    const account = accountBucket(user.address, tier, subId);
    await (await usdcToken.mock!.mint(user.address, amount)).wait();
    await (await usdcToken.mock!.connect(user).approve(vaultAddress, amount)).wait();
    await (await d.vault.connect(user).deposit(usdcToken.address, amount, account)).wait();
    return account;
  }

  /** Both ETH feeds (and BTC's) at fresh rounds, then a block. */
  async function setPrices(ethPrice: string, btcPrice = "60000") {
    await (await eth.mockPrimary!.updateAnswer(parseUnits(ethPrice, 8))).wait();
    await (await eth.mockSecondary!.updateAnswer(parseUnits(ethPrice, 18))).wait();
    await (await btc.mockPrimary!.updateAnswer(parseUnits(btcPrice, 8))).wait();
    await networkHelpers.mine();
  }

  await setPrices("3000");
  const makerAccount = await fund(maker, PRO, usdc("100000"));
  const takerAccount = await fund(taker, PRO, usdc("100000"));
  const risk = await d.risk.marketRisk(PRO, ETH);

  let nextNonce = 1n;
  /** An order of `account` in ETH, far expiry, a fresh nonce; `extra` overrides any field. */
  function order(account: bigint, size: bigint, limitPrice: bigint, extra: Partial<Order> = {}): Order {
    return {
      account,
      market: ETH,
      size,
      limitPrice,
      reduceOnly: false,
      expiry: FAR,
      nonce: nextNonce++,
      ...extra,
    };
  }

  /** `order` signed by `signer` for `dom` (this chain and engine unless given). */
  const sign = (signer: User, o: Order, dom: TypedDataDomain = domain) => signOrder(signer, dom, o);
  const digest = (o: Order) => orderDigest(domain, o);

  /** Settles as the third-party matcher unless `from` is given. */
  const settle = (m: SignedOrder, t: SignedOrder, size: bigint, from: User = matcher, overrides = {}) =>
    d.execution.connect(from).settleMatch(m, t, size, overrides);

  return {
    ...f,
    risk_: f.risk,
    maker,
    taker,
    matcher,
    stranger,
    usdcToken,
    engineAddress,
    clearingAddress,
    chainId,
    domain,
    eth,
    makerAccount,
    takerAccount,
    risk,
    fund,
    setPrices,
    order,
    sign,
    digest,
    settle,
  };
}

type Fixture = Awaited<ReturnType<typeof engineFixture>>;

/** The fixture with the maker long 2 ETH and the taker short 2 ETH at 3,000. */
async function positionsFixture() {
  const f = await engineFixture();
  const m = await f.sign(f.maker, f.order(f.makerAccount, 2n * WAD, w("3000")));
  const t = await f.sign(f.taker, f.order(f.takerAccount, -2n * WAD, w("3000")));
  await (await f.settle(m, t, 2n * WAD)).wait();
  return f;
}

/** Positions (both markets), cash of `accounts`, the tier's insurance cash and the filled amounts of `digests`. */
async function snapshot(f: Fixture, accounts: bigint[], digests: string[]) {
  const out: Record<string, unknown> = {};
  for (const a of accounts) {
    for (const m of [ETH, BTC]) {
      const p = await f.d.clearing.position(a, m);
      out[`position:${a}:${m}`] = [p.size, p.openNotional, p.fundingIndex];
    }
    out[`cash:${a}`] = await f.d.clearing.cash(a);
  }
  out.insurance = await f.d.clearing.cash(insuranceBucket(PRO));
  for (const g of digests) out[`filled:${g}`] = await f.d.execution.filled(g);
  return out;
}

/** The arguments of every `name` event that `address` emitted in `receipt`. */
function events(iface: Interface, address: string, receipt: ContractTransactionReceipt, name: string): unknown[][] {
  const out: unknown[][] = [];
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== address.toLowerCase()) continue;
    const parsed = iface.parseLog(log);
    if (parsed !== null && parsed.name === name) out.push([...parsed.args]);
  }
  return out;
}

/** The notional (rounded down) and both fees (rounded up) of a fill, as the engine computes them. */
function fees(f: Fixture, size: bigint, price: bigint) {
  const notional = mulDiv(size, price, WAD);
  return {
    notional,
    makerFee: mulDiv(notional, f.risk.makerFeeBps, 10_000n, true),
    takerFee: mulDiv(notional, f.risk.takerFeeBps, 10_000n, true),
  };
}

const ethSize = async (f: Fixture, account: bigint) => (await f.d.clearing.position(account, ETH)).size;

/** A deterministic PRNG (xorshift64*), returning uniformly random bigints. */
function prng(seed: bigint) {
  let s = seed & (2n ** 64n - 1n);
  const next64 = (): bigint => {
    s ^= s >> 12n;
    s ^= (s << 25n) & (2n ** 64n - 1n);
    s ^= s >> 27n;
    return (s * 0x2545f4914f6cdd1dn) & (2n ** 64n - 1n);
  };
  /** A random integer of `bits` bits. */
  const bits = (n: number): bigint => {
    let out = 0n;
    for (let i = 0; i < n; i += 64) out = (out << 64n) | next64();
    return out & ((1n << BigInt(n)) - 1n);
  };
  /** A random integer in [lo, hi]. */
  const range = (lo: bigint, hi: bigint): bigint => lo + (bits(256) % (hi - lo + 1n));
  const pick = <T>(xs: readonly T[]): T => xs[Number(next64() % BigInt(xs.length))]!;
  return { bits, range, pick, bool: () => (next64() & 1n) === 1n };
}

describe("ExecutionEngine", () => {
  // ================================================================ happy path

  describe("settleMatch: happy path", () => {
    for (const makerSells of [true, false]) {
      it(`maker ${makerSells ? "sells" : "buys"}, taker ${makerSells ? "buys" : "sells"}: fills at the maker's price, fees rounded up, events, positions and filled()`, async () => {
        const f = await networkHelpers.loadFixture(engineFixture);
        const size = w("1.234567890123456789");
        const price = w("3001.23");
        const sign = makerSells ? -1n : 1n;
        // The taker's limit is better than the maker's price; the maker's price is what is paid.
        const takerLimit = makerSells ? w("3020") : w("2980");
        const mo = f.order(f.makerAccount, sign * 3n * WAD, price);
        const to = f.order(f.takerAccount, -sign * 2n * WAD, takerLimit);
        const [m, t] = [await f.sign(f.maker, mo), await f.sign(f.taker, to)];
        const [md, td] = [f.digest(mo), f.digest(to)];
        expect(await f.d.execution.orderDigest(mo)).to.equal(md);
        const takerSize = -sign * size;
        const { makerFee, takerFee } = fees(f, size, price);
        expect(makerFee).to.be.greaterThan(0n);
        expect(takerFee).to.be.greaterThan(makerFee);
        const [makerCash, takerCash, insurance] = [
          await f.d.clearing.cash(f.makerAccount),
          await f.d.clearing.cash(f.takerAccount),
          await f.d.clearing.cash(insuranceBucket(PRO)),
        ];

        const tx = await f.settle(m, t, size);
        const receipt = (await tx.wait())!;
        const exec = f.d.execution.interface;
        expect(events(exec, f.engineAddress, receipt, "OrdersMatched")).to.deep.equal([
          [md, td, f.matcher.address, takerSize, price, makerFee, takerFee],
        ]);
        expect(events(exec, f.engineAddress, receipt, "OrderFilled")).to.deep.equal([
          [md, f.makerAccount, size],
          [td, f.takerAccount, size],
        ]);
        expect(events(f.d.clearing.interface, f.clearingAddress, receipt, "FillApplied")).to.deep.equal([
          [f.takerAccount, f.makerAccount, BigInt(ETH), takerSize, price, takerFee, makerFee, 0n, 0n, 0n, 0n],
        ]);
        await expect(tx)
          .to.emit(f.d.execution, "OrdersMatched")
          .withArgs(md, td, f.matcher.address, takerSize, price, makerFee, takerFee);

        expect(await ethSize(f, f.makerAccount)).to.equal(-takerSize);
        expect(await ethSize(f, f.takerAccount)).to.equal(takerSize);
        expect(await f.d.execution.filled(md)).to.equal(size);
        expect(await f.d.execution.filled(td)).to.equal(size);
        expect(await f.d.clearing.cash(f.makerAccount)).to.equal(makerCash - makerFee);
        expect(await f.d.clearing.cash(f.takerAccount)).to.equal(takerCash - takerFee);
        expect(await f.d.clearing.cash(insuranceBucket(PRO))).to.equal(insurance + makerFee + takerFee);
        // The matcher is neither side and has no position.
        expect(await ethSize(f, accountBucket(f.matcher.address, PRO, 0n))).to.equal(0n);
      });
    }
  });

  // ================================================================ partial fills

  describe("partial fills and overfill", () => {
    it("fills across several settlements; the maker's overfill reverts ExecutionOverfill(digest, remaining, requested); the exact rest fills", async () => {
      const f = await networkHelpers.loadFixture(engineFixture);
      const mo = f.order(f.makerAccount, -10n * WAD, w("3000"));
      const to = f.order(f.takerAccount, 20n * WAD, w("3000"));
      const [m, t] = [await f.sign(f.maker, mo), await f.sign(f.taker, to)];
      const [md, td] = [f.digest(mo), f.digest(to)];
      await (await f.settle(m, t, 3n * WAD)).wait();
      await (await f.settle(m, t, w("4.5"))).wait();
      expect(await f.d.execution.filled(md)).to.equal(w("7.5"));
      expect(await f.d.execution.filled(td)).to.equal(w("7.5"));

      const before = await snapshot(f, [f.makerAccount, f.takerAccount], [md, td]);
      await expect(f.settle(m, t, w("2.5") + 1n))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionOverfill")
        .withArgs(md, w("2.5"), w("2.5") + 1n);
      expect(await snapshot(f, [f.makerAccount, f.takerAccount], [md, td])).to.deep.equal(before);

      await expect(f.settle(m, t, w("2.5")))
        .to.emit(f.d.execution, "OrderFilled")
        .withArgs(md, f.makerAccount, 10n * WAD);
      expect(await f.d.execution.filled(md)).to.equal(10n * WAD);
      expect(await f.d.execution.filled(td)).to.equal(10n * WAD);
      expect(await ethSize(f, f.makerAccount)).to.equal(-10n * WAD);
      expect(await ethSize(f, f.takerAccount)).to.equal(10n * WAD);
    });

    it("the taker's overfill reverts ExecutionOverfill(takerDigest, remaining, requested); nothing changes", async () => {
      const f = await networkHelpers.loadFixture(engineFixture);
      const mo = f.order(f.makerAccount, 10n * WAD, w("3000"));
      const to = f.order(f.takerAccount, -5n * WAD, w("2999"));
      const [m, t] = [await f.sign(f.maker, mo), await f.sign(f.taker, to)];
      const [md, td] = [f.digest(mo), f.digest(to)];
      await (await f.settle(m, t, 3n * WAD)).wait();
      const before = await snapshot(f, [f.makerAccount, f.takerAccount], [md, td]);
      await expect(f.settle(m, t, 3n * WAD))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionOverfill")
        .withArgs(td, 2n * WAD, 3n * WAD);
      expect(await snapshot(f, [f.makerAccount, f.takerAccount], [md, td])).to.deep.equal(before);
      await (await f.settle(m, t, 2n * WAD)).wait();
      expect(await f.d.execution.filled(td)).to.equal(5n * WAD);
      expect(await f.d.execution.filled(md)).to.equal(5n * WAD);
    });
  });

  // ================================================================ replay, expiry, cancellation

  describe("replay, expiry and cancellation", () => {
    it("a fully filled order replayed reverts ExecutionOverfill(digest, 0, size); nothing changes", async () => {
      const f = await networkHelpers.loadFixture(engineFixture);
      const mo = f.order(f.makerAccount, -2n * WAD, w("3000"));
      const to = f.order(f.takerAccount, 2n * WAD, w("3000"));
      const [m, t] = [await f.sign(f.maker, mo), await f.sign(f.taker, to)];
      await (await f.settle(m, t, 2n * WAD)).wait();
      // Replayed with a fresh taker order: the maker's order is spent.
      const to2 = f.order(f.takerAccount, 2n * WAD, w("3000"));
      const t2 = await f.sign(f.taker, to2);
      const digests = [f.digest(mo), f.digest(to), f.digest(to2)];
      const before = await snapshot(f, [f.makerAccount, f.takerAccount], digests);
      await expect(f.settle(m, t2, 2n * WAD))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionOverfill")
        .withArgs(f.digest(mo), 0n, 2n * WAD);
      // The very same pair replayed.
      await expect(f.settle(m, t, 2n * WAD))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionOverfill")
        .withArgs(f.digest(mo), 0n, 2n * WAD);
      expect(await snapshot(f, [f.makerAccount, f.takerAccount], digests)).to.deep.equal(before);
    });

    for (const side of ["maker", "taker"] as const) {
      it(`the ${side}'s order expires: block time > expiry reverts ExecutionOrderExpired(digest, expiry); expiry == block time fills`, async () => {
        const f = await networkHelpers.loadFixture(engineFixture);
        const expiry = BigInt(await time.latest()) + 1_000n;
        const mo = f.order(f.makerAccount, -4n * WAD, w("3000"), side === "maker" ? { expiry } : {});
        const to = f.order(f.takerAccount, 4n * WAD, w("3000"), side === "taker" ? { expiry } : {});
        const [m, t] = [await f.sign(f.maker, mo), await f.sign(f.taker, to)];
        const digests = [f.digest(mo), f.digest(to)];
        const expired = side === "maker" ? digests[0]! : digests[1]!;

        await time.setNextBlockTimestamp(expiry);
        const receipt = (await (await f.settle(m, t, WAD, f.matcher, GAS)).wait())!;
        expect(BigInt((await ethers.provider.getBlock(receipt.blockNumber))!.timestamp)).to.equal(expiry);
        expect(await f.d.execution.filled(expired)).to.equal(WAD);

        const before = await snapshot(f, [f.makerAccount, f.takerAccount], digests);
        await time.setNextBlockTimestamp(expiry + 1n);
        await expect(f.settle(m, t, WAD, f.matcher, GAS))
          .to.be.revertedWithCustomError(f.d.execution, "ExecutionOrderExpired")
          .withArgs(expired, expiry);
        expect(await snapshot(f, [f.makerAccount, f.takerAccount], digests)).to.deep.equal(before);
      });
    }

    it("cancel(order) by the owner: OrderCancelled, then settling reverts ExecutionOrderCancelled(digest, minNonce)", async () => {
      const f = await networkHelpers.loadFixture(engineFixture);
      const mo = f.order(f.makerAccount, -4n * WAD, w("3000"));
      const to = f.order(f.takerAccount, 4n * WAD, w("3000"));
      const [m, t] = [await f.sign(f.maker, mo), await f.sign(f.taker, to)];
      const [md, td] = [f.digest(mo), f.digest(to)];
      await (await f.settle(m, t, WAD)).wait();
      await expect(f.d.execution.connect(f.maker).cancel(mo))
        .to.emit(f.d.execution, "OrderCancelled")
        .withArgs(md, f.maker.address);
      expect(await f.d.execution.cancelled(md)).to.equal(true);
      const before = await snapshot(f, [f.makerAccount, f.takerAccount], [md, td]);
      await expect(f.settle(m, t, WAD))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionOrderCancelled")
        .withArgs(md, 0n);
      expect(await snapshot(f, [f.makerAccount, f.takerAccount], [md, td])).to.deep.equal(before);
      // The taker's cancelled order is refused the same way (checked after the maker's).
      await expect(f.d.execution.connect(f.taker).cancel(to))
        .to.emit(f.d.execution, "OrderCancelled")
        .withArgs(td, f.taker.address);
      const mo2 = f.order(f.makerAccount, -4n * WAD, w("3000"));
      const m2 = await f.sign(f.maker, mo2);
      await expect(f.settle(m2, t, WAD))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionOrderCancelled")
        .withArgs(td, 0n);
      expect(await snapshot(f, [f.makerAccount, f.takerAccount], [md, td, f.digest(mo2)])).to.deep.equal({
        ...before,
        [`filled:${f.digest(mo2)}`]: 0n,
      });
    });

    it("cancel by a stranger reverts ExecutionUnauthorizedCancel(digest, caller); an operator of the owner may cancel", async () => {
      const f = await networkHelpers.loadFixture(engineFixture);
      const mo = f.order(f.makerAccount, -4n * WAD, w("3000"));
      const to = f.order(f.takerAccount, 4n * WAD, w("3000"));
      const [m, t] = [await f.sign(f.maker, mo), await f.sign(f.taker, to)];
      const md = f.digest(mo);
      for (const caller of [f.stranger, f.taker, f.matcher]) {
        await expect(f.d.execution.connect(caller).cancel(mo))
          .to.be.revertedWithCustomError(f.d.execution, "ExecutionUnauthorizedCancel")
          .withArgs(md, caller.address);
      }
      expect(await f.d.execution.cancelled(md)).to.equal(false);
      // Still fillable after the refused cancels.
      await (await f.settle(m, t, WAD)).wait();
      expect(await f.d.execution.filled(md)).to.equal(WAD);

      await (await f.d.clearing.connect(f.maker).setOperator(f.stranger.address, true)).wait();
      expect(await f.d.clearing.isOperator(f.maker.address, f.stranger.address)).to.equal(true);
      await expect(f.d.execution.connect(f.stranger).cancel(mo))
        .to.emit(f.d.execution, "OrderCancelled")
        .withArgs(md, f.stranger.address);
      expect(await f.d.execution.cancelled(md)).to.equal(true);
      await expect(f.settle(m, t, WAD))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionOrderCancelled")
        .withArgs(md, 0n);
      expect(await f.d.execution.filled(md)).to.equal(WAD);
    });

    it("setMinNonce cancels lower nonces (ExecutionOrderCancelled(digest, minNonce)); nonce == minNonce fills; not increasing reverts ExecutionNonceNotIncreasing(current, requested)", async () => {
      const f = await networkHelpers.loadFixture(engineFixture);
      await expect(f.d.execution.connect(f.maker).setMinNonce(0n))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionNonceNotIncreasing")
        .withArgs(0n, 0n);
      const low = f.order(f.makerAccount, -4n * WAD, w("3000"), { nonce: 99n });
      const edge = f.order(f.makerAccount, -4n * WAD, w("3000"), { nonce: 100n });
      const to = f.order(f.takerAccount, 8n * WAD, w("3000"));
      const [mLow, mEdge, t] = [await f.sign(f.maker, low), await f.sign(f.maker, edge), await f.sign(f.taker, to)];
      await expect(f.d.execution.connect(f.maker).setMinNonce(100n))
        .to.emit(f.d.execution, "MinNonceSet")
        .withArgs(f.maker.address, 100n);
      expect(await f.d.execution.minNonce(f.maker.address)).to.equal(100n);
      expect(await f.d.execution.minNonce(f.taker.address)).to.equal(0n);

      const digests = [f.digest(low), f.digest(edge), f.digest(to)];
      const before = await snapshot(f, [f.makerAccount, f.takerAccount], digests);
      await expect(f.settle(mLow, t, WAD))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionOrderCancelled")
        .withArgs(f.digest(low), 100n);
      expect(await snapshot(f, [f.makerAccount, f.takerAccount], digests)).to.deep.equal(before);

      await (await f.settle(mEdge, t, WAD)).wait();
      expect(await f.d.execution.filled(f.digest(edge))).to.equal(WAD);

      for (const requested of [100n, 99n, 0n]) {
        await expect(f.d.execution.connect(f.maker).setMinNonce(requested))
          .to.be.revertedWithCustomError(f.d.execution, "ExecutionNonceNotIncreasing")
          .withArgs(100n, requested);
      }
      expect(await f.d.execution.minNonce(f.maker.address)).to.equal(100n);
      // An operator cannot move the owner's minimum nonce: setMinNonce is the caller's own.
      await (await f.d.clearing.connect(f.maker).setOperator(f.stranger.address, true)).wait();
      await (await f.d.execution.connect(f.stranger).setMinNonce(500n)).wait();
      expect(await f.d.execution.minNonce(f.maker.address)).to.equal(100n);
      await (await f.settle(mEdge, t, WAD)).wait();
      expect(await f.d.execution.filled(f.digest(edge))).to.equal(2n * WAD);
    });
  });

  // ================================================================ signatures

  describe("signatures", () => {
    it("an EIP-1271 smart wallet owning the account signs through isValidSignature; another key's signature for it reverts", async () => {
      const f = await networkHelpers.loadFixture(engineFixture);
      // The wallet belongs to `stranger`; its account in pro is funded by `stranger` (deposits credit any bucket).
      const wallet = await new MockERC1271Wallet__factory(f.stranger).deploy(f.stranger.address);
      const walletAddress = await wallet.getAddress();
      const walletAccount = accountBucket(walletAddress, PRO, 0n);
      const amount = usdc("100000");
      await (await f.usdcToken.mock!.mint(f.stranger.address, amount)).wait();
      await (await f.usdcToken.mock!.connect(f.stranger).approve(await f.d.vault.getAddress(), amount)).wait();
      await (await f.d.vault.connect(f.stranger).deposit(f.usdcToken.address, amount, walletAccount)).wait();

      const mo = f.order(walletAccount, -WAD, w("3000"));
      const to = f.order(f.takerAccount, WAD, w("3000"));
      const [md, td] = [f.digest(mo), f.digest(to)];
      const t = await f.sign(f.taker, to);
      // Signed by a key that is not the wallet's owner, presented as the wallet's signature: refused.
      const forged = { ...(await f.sign(f.maker, mo)), signer: walletAddress };
      const before = await snapshot(f, [walletAccount, f.takerAccount], [md, td]);
      await expect(f.settle(forged, t, WAD))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionInvalidSignature")
        .withArgs(md, walletAddress);
      expect(await snapshot(f, [walletAccount, f.takerAccount], [md, td])).to.deep.equal(before);

      // Signed by the wallet's owner key: the wallet validates it (EIP-1271) and the order fills.
      const valid = { ...(await f.sign(f.stranger, mo)), signer: walletAddress };
      await expect(f.settle(valid, t, WAD)).to.emit(f.d.execution, "OrdersMatched");
      expect(await ethSize(f, walletAccount)).to.equal(-WAD);
      expect(await f.d.execution.filled(md)).to.equal(WAD);
    });

    it("a signature for another chain id or another verifying contract reverts ExecutionInvalidSignature(digest, signer)", async () => {
      const f = await networkHelpers.loadFixture(engineFixture);
      const mo = f.order(f.makerAccount, -4n * WAD, w("3000"));
      const to = f.order(f.takerAccount, 4n * WAD, w("3000"));
      const [md, td] = [f.digest(mo), f.digest(to)];
      const [m, t] = [await f.sign(f.maker, mo), await f.sign(f.taker, to)];
      const before = await snapshot(f, [f.makerAccount, f.takerAccount], [md, td]);
      const wrongDomains = [
        orderDomain(f.chainId + 1n, f.engineAddress),
        orderDomain(f.chainId, f.clearingAddress),
        { ...f.domain, name: "Strata Executio" },
        { ...f.domain, version: "2" },
      ];
      for (const dom of wrongDomains) {
        expect(orderDigest(dom, mo)).to.not.equal(md);
        const badMaker = await f.sign(f.maker, mo, dom);
        await expect(f.settle(badMaker, t, WAD))
          .to.be.revertedWithCustomError(f.d.execution, "ExecutionInvalidSignature")
          .withArgs(md, f.maker.address);
        const badTaker = await f.sign(f.taker, to, dom);
        await expect(f.settle(m, badTaker, WAD))
          .to.be.revertedWithCustomError(f.d.execution, "ExecutionInvalidSignature")
          .withArgs(td, f.taker.address);
      }
      expect(await snapshot(f, [f.makerAccount, f.takerAccount], [md, td])).to.deep.equal(before);
    });

    it("a signature by someone else, a tampered order or a malformed signature while claiming the owner reverts ExecutionInvalidSignature", async () => {
      const f = await networkHelpers.loadFixture(engineFixture);
      const mo = f.order(f.makerAccount, -4n * WAD, w("3000"));
      const to = f.order(f.takerAccount, 4n * WAD, w("3000"));
      const [md, td] = [f.digest(mo), f.digest(to)];
      const t = await f.sign(f.taker, to);
      const before = await snapshot(f, [f.makerAccount, f.takerAccount], [md, td]);

      const byStranger = await f.sign(f.stranger, mo);
      await expect(f.settle({ ...byStranger, signer: f.maker.address }, t, WAD))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionInvalidSignature")
        .withArgs(md, f.maker.address);
      // Signed by the counterparty, claimed as the maker.
      const byTaker = await f.sign(f.taker, mo);
      await expect(f.settle({ ...byTaker, signer: f.maker.address }, t, WAD))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionInvalidSignature")
        .withArgs(md, f.maker.address);
      // A good signature over different terms: the price was changed after signing.
      const m = await f.sign(f.maker, mo);
      const tampered = { ...mo, limitPrice: w("2990") };
      await expect(f.settle({ ...m, order: tampered }, t, WAD))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionInvalidSignature")
        .withArgs(f.digest(tampered), f.maker.address);
      for (const signature of ["0x", m.signature.slice(0, 128), `${m.signature}00`]) {
        await expect(f.settle({ ...m, signature }, t, WAD))
          .to.be.revertedWithCustomError(f.d.execution, "ExecutionInvalidSignature")
          .withArgs(md, f.maker.address);
      }
      expect(await snapshot(f, [f.makerAccount, f.takerAccount], [md, td])).to.deep.equal(before);
      // The genuine signature fills.
      await (await f.settle(m, t, WAD)).wait();
      expect(await f.d.execution.filled(md)).to.equal(WAD);
    });

    it("a signer who is neither owner nor operator reverts ExecutionUnauthorizedSigner(digest, signer); an operator may sign until revoked", async () => {
      const f = await networkHelpers.loadFixture(engineFixture);
      const mo = f.order(f.makerAccount, -4n * WAD, w("3000"));
      const to = f.order(f.takerAccount, 4n * WAD, w("3000"));
      const [md, td] = [f.digest(mo), f.digest(to)];
      const t = await f.sign(f.taker, to);
      const byStranger = await f.sign(f.stranger, mo);
      const before = await snapshot(f, [f.makerAccount, f.takerAccount], [md, td]);
      await expect(f.settle(byStranger, t, WAD))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionUnauthorizedSigner")
        .withArgs(md, f.stranger.address);
      // The taker signing the maker's order in its own name: also not authorized.
      const byTaker = await f.sign(f.taker, mo);
      await expect(f.settle(byTaker, t, WAD))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionUnauthorizedSigner")
        .withArgs(md, f.taker.address);
      // An operator of another owner is not an operator of the maker.
      await (await f.d.clearing.connect(f.taker).setOperator(f.stranger.address, true)).wait();
      await expect(f.settle(byStranger, t, WAD))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionUnauthorizedSigner")
        .withArgs(md, f.stranger.address);
      expect(await snapshot(f, [f.makerAccount, f.takerAccount], [md, td])).to.deep.equal(before);

      await (await f.d.clearing.connect(f.maker).setOperator(f.stranger.address, true)).wait();
      await expect(f.settle(byStranger, t, WAD))
        .to.emit(f.d.execution, "OrderFilled")
        .withArgs(md, f.makerAccount, WAD);
      expect(await ethSize(f, f.makerAccount)).to.equal(-WAD);

      await (await f.d.clearing.connect(f.maker).setOperator(f.stranger.address, false)).wait();
      const after = await snapshot(f, [f.makerAccount, f.takerAccount], [md, td]);
      await expect(f.settle(byStranger, t, WAD))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionUnauthorizedSigner")
        .withArgs(md, f.stranger.address);
      expect(await snapshot(f, [f.makerAccount, f.takerAccount], [md, td])).to.deep.equal(after);
    });
  });

  // ================================================================ mismatch

  describe("mismatched orders", () => {
    it("different markets, different tiers, both buys or both sells revert ExecutionOrdersMismatch(makerDigest, takerDigest)", async () => {
      const f = await networkHelpers.loadFixture(engineFixture);
      const coreTaker = await f.fund(f.taker, CORE, usdc("100000"));
      const mo = f.order(f.makerAccount, -4n * WAD, w("3000"));
      const m = await f.sign(f.maker, mo);
      const cases: Order[] = [
        f.order(f.takerAccount, 4n * WAD, w("60000"), { market: BTC }),
        f.order(coreTaker, 4n * WAD, w("3000")),
        f.order(f.takerAccount, -4n * WAD, w("3000")),
      ];
      const buyer = f.order(f.makerAccount, 4n * WAD, w("3000"));
      const mBuy = await f.sign(f.maker, buyer);
      const bothBuy = f.order(f.takerAccount, 4n * WAD, w("3000"));
      const accounts = [f.makerAccount, f.takerAccount, coreTaker];
      const digests = [mo, buyer, bothBuy, ...cases].map((o) => f.digest(o));
      const before = await snapshot(f, accounts, digests);
      for (const to of cases) {
        await expect(f.settle(m, await f.sign(f.taker, to), WAD))
          .to.be.revertedWithCustomError(f.d.execution, "ExecutionOrdersMismatch")
          .withArgs(f.digest(mo), f.digest(to));
      }
      await expect(f.settle(mBuy, await f.sign(f.taker, bothBuy), WAD))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionOrdersMismatch")
        .withArgs(f.digest(buyer), f.digest(bothBuy));
      expect(await snapshot(f, accounts, digests)).to.deep.equal(before);
    });

    it("a taker limit that does not reach the maker's price reverts ExecutionOrdersDoNotCross(makerPrice, takerLimit)", async () => {
      const f = await networkHelpers.loadFixture(engineFixture);
      const sell = f.order(f.makerAccount, -4n * WAD, w("3000"));
      const buy = f.order(f.takerAccount, 4n * WAD, w("3000") - 1n);
      const buyM = f.order(f.makerAccount, 4n * WAD, w("3000"));
      const sellT = f.order(f.takerAccount, -4n * WAD, w("3000") + 1n);
      const digests = [sell, buy, buyM, sellT].map((o) => f.digest(o));
      const before = await snapshot(f, [f.makerAccount, f.takerAccount], digests);
      await expect(f.settle(await f.sign(f.maker, sell), await f.sign(f.taker, buy), WAD))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionOrdersDoNotCross")
        .withArgs(w("3000"), w("3000") - 1n);
      await expect(f.settle(await f.sign(f.maker, buyM), await f.sign(f.taker, sellT), WAD))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionOrdersDoNotCross")
        .withArgs(w("3000"), w("3000") + 1n);
      expect(await snapshot(f, [f.makerAccount, f.takerAccount], digests)).to.deep.equal(before);
      // A limit equal to the maker's price crosses.
      const exact = f.order(f.takerAccount, 4n * WAD, w("3000"));
      await (await f.settle(await f.sign(f.maker, sell), await f.sign(f.taker, exact), WAD)).wait();
      expect(await f.d.execution.filled(f.digest(sell))).to.equal(WAD);
    });

    it("two sub-accounts of one owner revert ExecutionSelfTrade(owner)", async () => {
      const f = await networkHelpers.loadFixture(engineFixture);
      const sub1 = await f.fund(f.maker, PRO, usdc("100000"), 1n);
      const mo = f.order(f.makerAccount, -4n * WAD, w("3000"));
      const to = f.order(sub1, 4n * WAD, w("3000"));
      const digests = [f.digest(mo), f.digest(to)];
      const before = await snapshot(f, [f.makerAccount, sub1], digests);
      await expect(f.settle(await f.sign(f.maker, mo), await f.sign(f.maker, to), WAD))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionSelfTrade")
        .withArgs(f.maker.address);
      // The same account on both sides too.
      const to2 = f.order(f.makerAccount, 4n * WAD, w("3000"));
      await expect(f.settle(await f.sign(f.maker, mo), await f.sign(f.maker, to2), WAD))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionSelfTrade")
        .withArgs(f.maker.address);
      expect(await snapshot(f, [f.makerAccount, sub1], digests)).to.deep.equal(before);
    });

    it("a zero fill size and a zero-size order (either side) revert ExecutionZeroSize()", async () => {
      const f = await networkHelpers.loadFixture(engineFixture);
      const mo = f.order(f.makerAccount, -4n * WAD, w("3000"));
      const to = f.order(f.takerAccount, 4n * WAD, w("3000"));
      const zeroM = f.order(f.makerAccount, 0n, w("3000"));
      const zeroT = f.order(f.takerAccount, 0n, w("3000"));
      const [m, t] = [await f.sign(f.maker, mo), await f.sign(f.taker, to)];
      const digests = [mo, to, zeroM, zeroT].map((o) => f.digest(o));
      const before = await snapshot(f, [f.makerAccount, f.takerAccount], digests);
      await expect(f.settle(m, t, 0n))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionZeroSize")
        .withArgs();
      await expect(f.settle(await f.sign(f.maker, zeroM), t, WAD))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionZeroSize")
        .withArgs();
      await expect(f.settle(m, await f.sign(f.taker, zeroT), WAD))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionZeroSize")
        .withArgs();
      expect(await snapshot(f, [f.makerAccount, f.takerAccount], digests)).to.deep.equal(before);
    });
  });

  // ================================================================ price band

  describe("price band", () => {
    it("a maker price outside the tier's band around the oracle mid reverts ExecutionPriceOutsideBand(price, mid, bandBps); the band edges fill", async () => {
      const f = await networkHelpers.loadFixture(engineFixture);
      const mid = (await f.d.oracle.getPrice(ETH_KEY)).price;
      const bandBps = f.risk.priceBandBps;
      expect(bandBps).to.equal(100n);
      expect(mid).to.equal(w("3000"));
      const allowed = mulDiv(mid, bandBps, 10_000n);
      for (const [price, makerSells] of [
        [mid + allowed + 1n, true],
        [mid - allowed - 1n, false],
        [mid + allowed + 1n, false],
        [mid - allowed - 1n, true],
      ] as const) {
        const s = makerSells ? -1n : 1n;
        const mo = f.order(f.makerAccount, s * 4n * WAD, price);
        const to = f.order(f.takerAccount, -s * 4n * WAD, price);
        const digests = [f.digest(mo), f.digest(to)];
        const before = await snapshot(f, [f.makerAccount, f.takerAccount], digests);
        await expect(f.settle(await f.sign(f.maker, mo), await f.sign(f.taker, to), WAD))
          .to.be.revertedWithCustomError(f.d.execution, "ExecutionPriceOutsideBand")
          .withArgs(price, mid, bandBps);
        expect(await snapshot(f, [f.makerAccount, f.takerAccount], digests)).to.deep.equal(before);
      }
      for (const price of [mid + allowed, mid - allowed]) {
        const mo = f.order(f.makerAccount, -WAD, price);
        const to = f.order(f.takerAccount, WAD, price);
        await expect(f.settle(await f.sign(f.maker, mo), await f.sign(f.taker, to), WAD))
          .to.emit(f.d.execution, "OrdersMatched")
          .withArgs(
            f.digest(mo),
            f.digest(to),
            f.matcher.address,
            WAD,
            price,
            fees(f, WAD, price).makerFee,
            fees(f, WAD, price).takerFee,
          );
      }
      expect(await ethSize(f, f.takerAccount)).to.equal(2n * WAD);
    });

    it("the band follows the oracle: after both ETH feeds move, the old price is outside and a price at the new mid fills", async () => {
      const f = await networkHelpers.loadFixture(engineFixture);
      await f.setPrices("3200");
      const mid = (await f.d.oracle.getPrice(ETH_KEY)).price;
      expect(mid).to.equal(w("3200"));
      const mo = f.order(f.makerAccount, -WAD, w("3000"));
      const to = f.order(f.takerAccount, WAD, w("3000"));
      await expect(f.settle(await f.sign(f.maker, mo), await f.sign(f.taker, to), WAD))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionPriceOutsideBand")
        .withArgs(w("3000"), mid, f.risk.priceBandBps);
      const mo2 = f.order(f.makerAccount, -WAD, w("3200"));
      const to2 = f.order(f.takerAccount, WAD, w("3200"));
      await (await f.settle(await f.sign(f.maker, mo2), await f.sign(f.taker, to2), WAD)).wait();
      expect(await ethSize(f, f.takerAccount)).to.equal(WAD);
    });
  });

  // ================================================================ reduce-only

  describe("reduce-only", () => {
    it("a reduce-only order with no position reverts ExecutionNotReducing(digest, 0, signedFill) on either side", async () => {
      const f = await networkHelpers.loadFixture(engineFixture);
      const mo = f.order(f.makerAccount, -4n * WAD, w("3000"), { reduceOnly: true });
      const to = f.order(f.takerAccount, 4n * WAD, w("3000"));
      const mo2 = f.order(f.makerAccount, -4n * WAD, w("3000"));
      const to2 = f.order(f.takerAccount, 4n * WAD, w("3000"), { reduceOnly: true });
      const digests = [mo, to, mo2, to2].map((o) => f.digest(o));
      const before = await snapshot(f, [f.makerAccount, f.takerAccount], digests);
      await expect(f.settle(await f.sign(f.maker, mo), await f.sign(f.taker, to), WAD))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionNotReducing")
        .withArgs(f.digest(mo), 0n, -WAD);
      await expect(f.settle(await f.sign(f.maker, mo2), await f.sign(f.taker, to2), WAD))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionNotReducing")
        .withArgs(f.digest(to2), 0n, WAD);
      expect(await snapshot(f, [f.makerAccount, f.takerAccount], digests)).to.deep.equal(before);
    });

    it("a reduce-only order that would increase or flip reverts ExecutionNotReducing(digest, position, signedFill); reducing works", async () => {
      const f = await networkHelpers.loadFixture(positionsFixture);
      // maker long 2, taker short 2; a third account as counterparty.
      const thirdAccount = await f.fund(f.matcher, PRO, usdc("100000"));
      const accounts = [f.makerAccount, f.takerAccount, thirdAccount];
      const increase = f.order(f.makerAccount, WAD, w("3000"), { reduceOnly: true });
      const flip = f.order(f.makerAccount, -3n * WAD, w("3000"), { reduceOnly: true });
      const sellTo3 = f.order(thirdAccount, -5n * WAD, w("3000"));
      const buyFrom3 = f.order(thirdAccount, 5n * WAD, w("3000"));
      const takerIncrease = f.order(f.takerAccount, -WAD, w("3000"), { reduceOnly: true });
      const digests = [increase, flip, sellTo3, buyFrom3, takerIncrease].map((o) => f.digest(o));
      const before = await snapshot(f, accounts, digests);
      const s3sell = await f.sign(f.matcher, sellTo3);
      const s3buy = await f.sign(f.matcher, buyFrom3);

      await expect(f.settle(await f.sign(f.maker, increase), s3sell, WAD, f.stranger))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionNotReducing")
        .withArgs(f.digest(increase), 2n * WAD, WAD);
      await expect(f.settle(await f.sign(f.maker, flip), s3buy, 3n * WAD, f.stranger))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionNotReducing")
        .withArgs(f.digest(flip), 2n * WAD, -3n * WAD);
      // The taker side: short 2, selling more.
      await expect(f.settle(s3buy, await f.sign(f.taker, takerIncrease), WAD, f.stranger))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionNotReducing")
        .withArgs(f.digest(takerIncrease), -2n * WAD, -WAD);
      expect(await snapshot(f, accounts, digests)).to.deep.equal(before);

      // Reducing: the flip order filled only up to the position, then exactly closing it.
      const sFlip = await f.sign(f.maker, flip);
      await (await f.settle(sFlip, s3buy, WAD, f.stranger)).wait();
      expect(await ethSize(f, f.makerAccount)).to.equal(WAD);
      await expect(f.settle(sFlip, s3buy, 2n * WAD, f.stranger))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionNotReducing")
        .withArgs(f.digest(flip), WAD, -2n * WAD);
      await (await f.settle(sFlip, s3buy, WAD, f.stranger)).wait();
      expect(await ethSize(f, f.makerAccount)).to.equal(0n);
      expect(await f.d.execution.filled(f.digest(flip))).to.equal(2n * WAD);
      // Closed: reduce-only refuses any further fill.
      await expect(f.settle(sFlip, s3buy, WAD, f.stranger))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionNotReducing")
        .withArgs(f.digest(flip), 0n, -WAD);
    });

    it("a reduce-only pair executes on a stale primary feed, where the strict read and any risk-increasing match revert OracleStalePrice", async () => {
      const f = await networkHelpers.loadFixture(positionsFixture);
      const thirdAccount = await f.fund(f.matcher, PRO, usdc("100000"));
      const primary = f.eth.mockPrimary!;
      const { updatedAt } = await primary.latestRoundData();
      await time.increaseTo(updatedAt + PRIMARY_MAX_AGE + 1n);
      await networkHelpers.mine();
      const primaryAddress = await primary.getAddress();
      await expect(f.d.oracle.getPrice(ETH_KEY))
        .to.be.revertedWithCustomError(f.d.oracle, "OracleStalePrice")
        .withArgs(ETH_KEY, primaryAddress, updatedAt, PRIMARY_MAX_AGE);
      const mid = (await f.d.oracle.getPriceForLiquidation(ETH_KEY)).price;
      expect(mid).to.equal(w("3000"));

      // Risk-increasing: both sides grow; and one side reduces while the other opens.
      const mGrow = f.order(f.makerAccount, WAD, w("3000"));
      const tGrow = f.order(f.takerAccount, -WAD, w("3000"));
      const mReduce = f.order(f.makerAccount, -WAD, w("3000"), { reduceOnly: true });
      const tOpen = f.order(thirdAccount, WAD, w("3000"));
      const tReduce = f.order(f.takerAccount, WAD, w("3000"), { reduceOnly: true });
      const accounts = [f.makerAccount, f.takerAccount, thirdAccount];
      const digests = [mGrow, tGrow, mReduce, tOpen, tReduce].map((o) => f.digest(o));
      const before = await snapshot(f, accounts, digests);
      await expect(f.settle(await f.sign(f.maker, mGrow), await f.sign(f.taker, tGrow), WAD, f.stranger, GAS))
        .to.be.revertedWithCustomError(f.d.oracle, "OracleStalePrice")
        .withArgs(ETH_KEY, primaryAddress, updatedAt, PRIMARY_MAX_AGE);
      await expect(f.settle(await f.sign(f.maker, mReduce), await f.sign(f.matcher, tOpen), WAD, f.stranger, GAS))
        .to.be.revertedWithCustomError(f.d.oracle, "OracleStalePrice")
        .withArgs(ETH_KEY, primaryAddress, updatedAt, PRIMARY_MAX_AGE);
      expect(await snapshot(f, accounts, digests)).to.deep.equal(before);

      // Both sides only reduce: the band is checked on the liquidation read, and the fill goes through.
      const sReduce = await f.sign(f.maker, mReduce);
      const sTReduce = await f.sign(f.taker, tReduce);
      await expect(f.settle(sReduce, sTReduce, WAD, f.stranger, GAS))
        .to.emit(f.d.execution, "OrdersMatched")
        .withArgs(
          f.digest(mReduce),
          f.digest(tReduce),
          f.stranger.address,
          WAD,
          w("3000"),
          fees(f, WAD, w("3000")).makerFee,
          fees(f, WAD, w("3000")).takerFee,
        );
      expect(await ethSize(f, f.makerAccount)).to.equal(WAD);
      expect(await ethSize(f, f.takerAccount)).to.equal(-WAD);
      // Still stale; the band still applies on the liquidation read.
      await expect(f.d.oracle.getPrice(ETH_KEY)).to.be.revertedWithCustomError(f.d.oracle, "OracleStalePrice");
      const far = f.order(f.makerAccount, -WAD, w("3100"), { reduceOnly: true });
      const farT = f.order(f.takerAccount, WAD, w("3100"), { reduceOnly: true });
      await expect(f.settle(await f.sign(f.maker, far), await f.sign(f.taker, farT), WAD, f.stranger, GAS))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionPriceOutsideBand")
        .withArgs(w("3100"), mid, f.risk.priceBandBps);
    });
  });

  // ================================================================ margin

  describe("open-interest cap", () => {
    /** Two well-funded pro accounts; the taker buys the tier's whole ETH cap (20,000 ETH) from the maker. */
    async function atCapFixture() {
      const f = await engineFixture();
      const cap = f.risk.oiCap;
      expect(cap).to.equal(20_000n * WAD);
      const [big1, big2, third] = await Promise.all([
        // 7,000,000 each: 60,000,000 of notional is under pro's 10x max leverage at open.
        f.fund(f.maker, PRO, usdc("7000000"), 7n),
        f.fund(f.taker, PRO, usdc("7000000"), 7n),
        f.fund(f.stranger, PRO, usdc("100000")),
      ]);
      const m = await f.sign(f.maker, f.order(big1, -cap, w("3000")));
      const t = await f.sign(f.taker, f.order(big2, cap, w("3000")));
      await (await f.settle(m, t, cap)).wait();
      return { ...f, cap, big1, big2, third };
    }

    it("a fill may take the tier's open interest exactly to the cap; one wei more reverts ExecutionOpenInterestCap", async () => {
      const f = await networkHelpers.loadFixture(atCapFixture);
      expect(await f.d.clearing.openInterest(PRO, ETH)).to.equal(f.cap);
      const mo = f.order(f.makerAccount, -WAD, w("3000"));
      const to = f.order(f.third, WAD, w("3000"));
      const [md, td] = [f.digest(mo), f.digest(to)];
      const [m, t] = [await f.sign(f.maker, mo), await f.sign(f.stranger, to)];
      const before = await snapshot(f, [f.makerAccount, f.third], [md, td]);
      await expect(f.settle(m, t, 1n))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionOpenInterestCap")
        .withArgs(PRO, ETH, f.cap + 1n, f.cap);
      expect(await snapshot(f, [f.makerAccount, f.third], [md, td])).to.deep.equal(before);
      expect(await f.d.clearing.openInterest(PRO, ETH)).to.equal(f.cap);
    });

    it("at the cap, fills that lower or keep the open interest still execute", async () => {
      const f = await networkHelpers.loadFixture(atCapFixture);
      // The long sells 1 ETH to a new buyer: one long shrinks, one opens — open interest unchanged.
      const sell = await f.sign(f.taker, f.order(f.big2, -WAD, w("3000")));
      const buy = await f.sign(f.stranger, f.order(f.third, WAD, w("3000")));
      await (await f.settle(sell, buy, WAD)).wait();
      expect(await f.d.clearing.openInterest(PRO, ETH)).to.equal(f.cap);
      // The short buys 2 ETH back from the long: both reduce — open interest falls.
      const cover = await f.sign(f.maker, f.order(f.big1, 2n * WAD, w("3000"), { reduceOnly: true }));
      const close = await f.sign(f.taker, f.order(f.big2, -2n * WAD, w("3000"), { reduceOnly: true }));
      await (await f.settle(cover, close, 2n * WAD)).wait();
      expect(await f.d.clearing.openInterest(PRO, ETH)).to.equal(f.cap - 2n * WAD);
    });
  });

  describe("pause of risk-increasing trades (GUARDIAN)", () => {
    it("only GUARDIAN pauses and only ADMIN resumes; others get AccessManagedUnauthorized(caller)", async () => {
      const f = await networkHelpers.loadFixture(engineFixture);
      for (const caller of [f.stranger, f.deployer, f.risk_]) {
        await expect(f.d.execution.connect(caller).pauseRiskIncrease())
          .to.be.revertedWithCustomError(f.d.execution, "AccessManagedUnauthorized")
          .withArgs(caller.address);
      }
      await expect(f.d.execution.connect(f.guardian).pauseRiskIncrease())
        .to.emit(f.d.execution, "RiskIncreasePausedSet")
        .withArgs(true);
      expect(await f.d.execution.riskIncreasePaused()).to.equal(true);
      for (const caller of [f.stranger, f.guardian]) {
        await expect(f.d.execution.connect(caller).unpauseRiskIncrease())
          .to.be.revertedWithCustomError(f.d.execution, "AccessManagedUnauthorized")
          .withArgs(caller.address);
      }
      await expect(f.d.execution.connect(f.deployer).unpauseRiskIncrease())
        .to.emit(f.d.execution, "RiskIncreasePausedSet")
        .withArgs(false);
      expect(await f.d.execution.riskIncreasePaused()).to.equal(false);
    });

    it("while paused, a trade with a risk-increasing side reverts ExecutionRiskIncreasePaused; one whose both sides reduce executes", async () => {
      const f = await networkHelpers.loadFixture(positionsFixture); // maker long 2, taker short 2
      await (await f.d.execution.connect(f.guardian).pauseRiskIncrease()).wait();

      // Both sides increasing (the long buys more from the short), and one side reducing while the other
      // opens (the long sells 1 to a new buyer): refused, nothing changes.
      const buyer = await f.fund(f.stranger, PRO, usdc("100000"));
      const cases = [
        {
          m: f.order(f.makerAccount, 3n * WAD, w("3000")),
          t: f.order(f.takerAccount, -3n * WAD, w("3000")),
          taker: f.taker,
        },
        { m: f.order(f.makerAccount, -WAD, w("3000")), t: f.order(buyer, WAD, w("3000")), taker: f.stranger },
      ];
      for (const c of cases) {
        const [md, td] = [f.digest(c.m), f.digest(c.t)];
        const accounts = [f.makerAccount, f.takerAccount, buyer];
        const before = await snapshot(f, accounts, [md, td]);
        const [m, t] = [await f.sign(f.maker, c.m), await f.sign(c.taker, c.t)];
        await expect(f.settle(m, t, WAD)).to.be.revertedWithCustomError(f.d.execution, "ExecutionRiskIncreasePaused");
        expect(await snapshot(f, accounts, [md, td])).to.deep.equal(before);
      }

      // Both reduce: the long sells 1 to the short.
      const m = await f.sign(f.maker, f.order(f.makerAccount, -WAD, w("3000"), { reduceOnly: true }));
      const t = await f.sign(f.taker, f.order(f.takerAccount, WAD, w("3000"), { reduceOnly: true }));
      await expect(f.settle(m, t, WAD)).to.emit(f.d.execution, "OrdersMatched");
      expect([await ethSize(f, f.makerAccount), await ethSize(f, f.takerAccount)]).to.deep.equal([WAD, -WAD]);
    });

    it("a trade whose both sides reduce executes while the ETH circuit breaker is tripped (the strict read refuses)", async () => {
      const f = await networkHelpers.loadFixture(positionsFixture);
      // A jump far beyond the breaker's threshold on both feeds, persisted by poke.
      await f.setPrices("3900");
      await (await f.d.oracle.poke(ETH_KEY)).wait();
      await expect(f.d.oracle.getPrice(ETH_KEY)).to.be.revertedWithCustomError(
        f.d.oracle,
        "OracleCircuitBreakerActive",
      );
      // A risk-increasing trade is refused by the strict read.
      const mo = f.order(f.makerAccount, WAD, w("3900"));
      const to = f.order(f.takerAccount, -WAD, w("3900"));
      await expect(f.settle(await f.sign(f.maker, mo), await f.sign(f.taker, to), WAD)).to.be.revertedWithCustomError(
        f.d.oracle,
        "OracleCircuitBreakerActive",
      );
      // Both reduce: executes at a price inside the band around the (liquidation read's) mid.
      const m = await f.sign(f.maker, f.order(f.makerAccount, -WAD, w("3900"), { reduceOnly: true }));
      const t = await f.sign(f.taker, f.order(f.takerAccount, WAD, w("3900"), { reduceOnly: true }));
      await expect(f.settle(m, t, WAD)).to.emit(f.d.execution, "OrdersMatched");
      expect([await ethSize(f, f.makerAccount), await ethSize(f, f.takerAccount)]).to.deep.equal([WAD, -WAD]);
    });
  });

  describe("margin", () => {
    it("a reducing fill that would leave its account in debt reverts ClearingInsufficientMargin(account, equity, 0); a fair one executes", async () => {
      const f = await networkHelpers.loadFixture(engineFixture);
      // A: 3,050 USDC, long 10 ETH at 3,000 (against the maker; just under pro's 10x at open). Then ETH falls
      // to 2,720: A is under MM.
      const a = await f.fund(f.stranger, PRO, usdc("3050"));
      const open = [
        await f.sign(f.maker, f.order(f.makerAccount, -10n * WAD, w("3000"))),
        await f.sign(f.stranger, f.order(a, 10n * WAD, w("3000"))),
      ] as const;
      await (await f.settle(open[0], open[1], 10n * WAD)).wait();
      await f.setPrices("2720");
      const h = await f.d.clearing.health(a);
      expect(h.equity).to.be.greaterThan(0n);
      expect(h.equity).to.be.lessThan(h.mm);

      // A sells its 10 ETH to a colluder at the band's low edge: A would end at a negative equity, the loss
      // left to the waterfall. Refused, nothing changes.
      const mid = (await f.d.oracle.getPriceForLiquidation(ETH_KEY)).price;
      const edge = mid - (mid * f.risk.priceBandBps) / 10_000n;
      const colluder = await f.fund(f.taker, PRO, usdc("100000"), 3n);
      const mo = f.order(a, -10n * WAD, edge, { reduceOnly: true });
      const to = f.order(colluder, 10n * WAD, edge);
      const accounts = [a, colluder];
      const digests = [f.digest(mo), f.digest(to)];
      const before = await snapshot(f, accounts, digests);
      const [m, t] = [await f.sign(f.stranger, mo), await f.sign(f.taker, to)];
      await expect(f.settle(m, t, 10n * WAD))
        .to.be.revertedWithCustomError(f.d.clearing, "ClearingInsufficientMargin")
        .withArgs(a, (equity: bigint) => equity < 0n, 0n);
      expect(await snapshot(f, accounts, digests)).to.deep.equal(before);

      // At the oracle's price the same exit keeps A solvent, and executes.
      const fairM = await f.sign(f.stranger, f.order(a, -10n * WAD, mid, { reduceOnly: true }));
      const fairT = await f.sign(f.taker, f.order(colluder, 10n * WAD, mid));
      await expect(f.settle(fairM, fairT, 10n * WAD)).to.emit(f.d.execution, "OrdersMatched");
      expect(await ethSize(f, a)).to.equal(0n);
      expect((await f.d.clearing.health(a)).equity).to.be.greaterThanOrEqual(0n);
    });

    for (const side of ["maker", "taker"] as const) {
      it(`a risk-increasing fill that breaks the ${side}'s IM reverts ClearingInsufficientMargin(account, equity, im); nothing changes`, async () => {
        const f = await networkHelpers.loadFixture(engineFixture);
        // 1,000 USDC backs at most ~20,000 of notional at pro's 5% IM; 10 ETH at 3,000 is 30,000.
        const poor = await f.fund(f.stranger, PRO, usdc("1000"));
        const mo = f.order(side === "maker" ? poor : f.makerAccount, -10n * WAD, w("3000"));
        const to = f.order(side === "taker" ? poor : f.takerAccount, 10n * WAD, w("3000"));
        const m = await f.sign(side === "maker" ? f.stranger : f.maker, mo);
        const t = await f.sign(side === "taker" ? f.stranger : f.taker, to);
        const accounts = [poor, f.makerAccount, f.takerAccount];
        const digests = [f.digest(mo), f.digest(to)];
        const before = await snapshot(f, accounts, digests);
        await expect(f.settle(m, t, 10n * WAD))
          .to.be.revertedWithCustomError(f.d.clearing, "ClearingInsufficientMargin")
          .withArgs(
            poor,
            (equity: bigint) => equity > 0n && equity <= w("1000"),
            (im: bigint) => im > w("1000"),
          );
        expect(await snapshot(f, accounts, digests)).to.deep.equal(before);
        // A fill it can carry goes through.
        await (await f.settle(m, t, 2n * WAD)).wait();
        expect(await ethSize(f, poor)).to.equal(side === "maker" ? -2n * WAD : 2n * WAD);
      });
    }
  });

  // ================================================================ leverage and fee split

  describe("max leverage at open and the fee split", () => {
    /** What the clearing house returns for the fill the engine would submit (the engine's own call, static). */
    async function clearingView(f: Fixture, fill: Parameters<typeof f.d.clearing.applyFill>[0]) {
      await networkHelpers.impersonateAccount(f.engineAddress);
      await networkHelpers.setBalance(f.engineAddress, 10n ** 18n);
      const engine = await ethers.getSigner(f.engineAddress);
      const out = await f.d.clearing.connect(engine).applyFill.staticCall(fill);
      await networkHelpers.stopImpersonatingAccount(f.engineAddress);
      return out;
    }

    it("a side whose risk grows holds at most maxLeverage × equity: ExecutionLeverageExceeded(account, notional, equity, max)", async () => {
      const f = await networkHelpers.loadFixture(engineFixture);
      // Pro: IM 5% (20x) but 10x at most at open. 1,000 USDC carries 15,000 of notional under IM, not 10x.
      const maxLeverage = (await f.d.risk.tradeParams(PRO, ETH)).maxLeverage;
      expect(maxLeverage).to.equal(10n);
      const poor = await f.fund(f.stranger, PRO, usdc("1000"));
      const size = 5n * WAD;
      const price = w("3000");
      const mo = f.order(f.makerAccount, -size, price);
      const to = f.order(poor, size, price);
      const [m, t] = [await f.sign(f.maker, mo), await f.sign(f.stranger, to)];
      const { makerFee, takerFee } = fees(f, size, price);
      const view = await clearingView(f, {
        taker: poor,
        maker: f.makerAccount,
        market: ETH,
        size,
        price,
        takerFee,
        makerFee,
        poolFee: 0n,
        protocolFee: 0n,
        protocol: 0n,
      });
      // IM passes (the clearing house would apply it), the leverage does not.
      const notional = mulDiv(size, price, WAD, true);
      expect(view.takerEquity * 10n < notional).to.equal(true);
      const accounts = [poor, f.makerAccount];
      const digests = [f.digest(mo), f.digest(to)];
      const before = await snapshot(f, accounts, digests);
      await expect(f.settle(m, t, size))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionLeverageExceeded")
        .withArgs(poor, notional, view.takerEquity, maxLeverage);
      expect(await snapshot(f, accounts, digests)).to.deep.equal(before);

      // 3 ETH (9,000 of notional, under 10 × ~995) fills; so does a reduction of it, whatever the leverage.
      await (await f.settle(m, t, 3n * WAD)).wait();
      expect(await ethSize(f, poor)).to.equal(3n * WAD);
      const back = await f.sign(f.stranger, f.order(poor, -WAD, w("2990"), { reduceOnly: true }));
      const buyer = await f.sign(f.taker, f.order(f.takerAccount, WAD, w("2990")));
      await expect(f.settle(back, buyer, WAD)).to.emit(f.d.execution, "OrdersMatched");
    });

    it("the maker's side is held to the max leverage too", async () => {
      const f = await networkHelpers.loadFixture(engineFixture);
      const poor = await f.fund(f.stranger, PRO, usdc("1000"));
      const size = 5n * WAD;
      const price = w("3000");
      const mo = f.order(poor, -size, price);
      const to = f.order(f.takerAccount, size, price);
      const [m, t] = [await f.sign(f.stranger, mo), await f.sign(f.taker, to)];
      const { makerFee, takerFee } = fees(f, size, price);
      const view = await clearingView(f, {
        taker: f.takerAccount,
        maker: poor,
        market: ETH,
        size,
        price,
        takerFee,
        makerFee,
        poolFee: 0n,
        protocolFee: 0n,
        protocol: 0n,
      });
      await expect(f.settle(m, t, size))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionLeverageExceeded")
        .withArgs(poor, mulDiv(size, price, WAD, true), view.makerEquity, 10n);
    });

    it("fees split as setFeeConfig says: the protocol's share to (treasury, tier, 0), the pool's to insurance without a pool", async () => {
      const f = await networkHelpers.loadFixture(engineFixture);
      const treasury = f.carol.address;
      await expect(f.d.execution.connect(f.deployer).setFeeConfig(treasury, 5_000, 2_000))
        .to.emit(f.d.execution, "FeeConfigSet")
        .withArgs(treasury, 5_000n, 2_000n);
      expect([...(await f.d.execution.feeConfig())]).to.deep.equal([treasury, 5_000n, 2_000n]);
      const size = w("1.5");
      const price = w("3000");
      const m = await f.sign(f.maker, f.order(f.makerAccount, -size, price));
      const t = await f.sign(f.taker, f.order(f.takerAccount, size, price));
      const { makerFee, takerFee } = fees(f, size, price);
      const total = makerFee + takerFee;
      const poolFee = (total * 5_000n) / 10_000n;
      const protocolFee = (total * 2_000n) / 10_000n;
      const protocol = accountBucket(treasury, PRO, 0n);
      await expect(f.settle(m, t, size))
        .to.emit(f.d.clearing, "FillApplied")
        .withArgs(f.takerAccount, f.makerAccount, ETH, size, price, takerFee, makerFee, poolFee, protocolFee, 0n, 0n);
      expect(await f.d.clearing.cash(protocol)).to.equal(protocolFee);
      // No pool in this deployment: its share joins the insurance fund's.
      expect(await f.d.clearing.cash(insuranceBucket(PRO))).to.equal(total - protocolFee);
    });

    it("setFeeConfig: ADMIN only; shares above 100% or a protocol share without a treasury are refused", async () => {
      const f = await networkHelpers.loadFixture(engineFixture);
      await expect(f.d.execution.connect(f.alice).setFeeConfig(f.carol.address, 0, 0))
        .to.be.revertedWithCustomError(f.d.execution, "AccessManagedUnauthorized")
        .withArgs(f.alice.address);
      for (const [treasury, pool, protocol] of [
        [f.carol.address, 10_000, 1],
        [f.carol.address, 0, 10_001],
        [ZeroAddress, 0, 1],
      ] as const) {
        await expect(f.d.execution.connect(f.deployer).setFeeConfig(treasury, pool, protocol))
          .to.be.revertedWithCustomError(f.d.execution, "ExecutionInvalidFeeConfig")
          .withArgs(treasury, pool, protocol);
      }
      // All to the pool, no treasury needed.
      await expect(f.d.execution.connect(f.deployer).setFeeConfig(ZeroAddress, 10_000, 0)).to.emit(
        f.d.execution,
        "FeeConfigSet",
      );
    });
  });

  // ================================================================ fuzz-style

  describe("fuzz-style (seeded)", () => {
    it("the SDK's orderDigest equals the engine's for 50 random orders, extremes included", async () => {
      const f = await networkHelpers.loadFixture(engineFixture);
      const r = prng(0x5eed_1234_abcdn);
      const sizes = [MIN_INT256, MAX_INT256, -1n, 1n, 0n];
      const seen = new Set<string>();
      for (let i = 0; i < 50; i++) {
        const extreme = i % 5 === 0;
        const o: Order = {
          account: extreme ? r.pick([0n, MAX_UINT256]) : r.bits(256),
          market: Number(extreme ? r.pick([0n, 65_535n]) : r.bits(16)),
          size: extreme ? r.pick(sizes) : r.range(MIN_INT256, MAX_INT256),
          limitPrice: extreme ? r.pick([0n, MAX_UINT256]) : r.bits(256),
          reduceOnly: r.bool(),
          expiry: extreme ? r.pick([0n, MAX_UINT64]) : r.bits(64),
          nonce: extreme ? r.pick([0n, MAX_UINT256]) : r.bits(256),
        };
        const sdk = orderDigest(f.domain, o);
        expect(await f.d.execution.orderDigest(o), `order ${i}`).to.equal(sdk);
        seen.add(sdk);
        // Every field is bound: flipping reduceOnly changes the digest on both sides.
        if (i % 10 === 1) {
          const flipped = { ...o, reduceOnly: !o.reduceOnly };
          expect(await f.d.execution.orderDigest(flipped)).to.equal(orderDigest(f.domain, flipped));
          expect(orderDigest(f.domain, flipped)).to.not.equal(sdk);
        }
      }
      expect(seen.size).to.be.greaterThan(40);
    });

    it("random partial fills against a large maker order: filled never exceeds |size|, equals the sum of fills, every overfill reverts", async () => {
      const f = await networkHelpers.loadFixture(engineFixture);
      const r = prng(0xf111_5eedn);
      const total = 40n * WAD;
      const mo = f.order(f.makerAccount, -total, w("3000"));
      const to = f.order(f.takerAccount, total, w("3000"));
      const [m, t] = [await f.sign(f.maker, mo), await f.sign(f.taker, to)];
      const [md, td] = [f.digest(mo), f.digest(to)];
      let sum = 0n;
      let overfills = 0;
      let fills = 0;
      for (let i = 0; i < 24 && sum < total; i++) {
        const remaining = total - sum;
        const mode = r.range(0n, 5n);
        const size =
          mode === 0n
            ? remaining + 1n
            : mode === 1n
              ? remaining + r.range(1n, 10n * WAD)
              : r.range(1n, remaining < 8n * WAD ? remaining : 8n * WAD);
        if (size > remaining) {
          const before = await snapshot(f, [f.makerAccount, f.takerAccount], [md, td]);
          await expect(f.settle(m, t, size), `attempt ${i}`)
            .to.be.revertedWithCustomError(f.d.execution, "ExecutionOverfill")
            .withArgs(md, remaining, size);
          expect(await snapshot(f, [f.makerAccount, f.takerAccount], [md, td])).to.deep.equal(before);
          overfills++;
        } else {
          await expect(f.settle(m, t, size), `attempt ${i}`)
            .to.emit(f.d.execution, "OrderFilled")
            .withArgs(md, f.makerAccount, sum + size);
          sum += size;
          fills++;
        }
        const filled = await f.d.execution.filled(md);
        expect(filled).to.equal(sum);
        expect(filled <= total).to.equal(true);
        expect(await f.d.execution.filled(td)).to.equal(sum);
        expect(await ethSize(f, f.takerAccount)).to.equal(sum);
        expect(await ethSize(f, f.makerAccount)).to.equal(-sum);
      }
      expect(fills).to.be.greaterThan(3);
      expect(overfills).to.be.greaterThan(1);
      // Close out exactly, then nothing more fits.
      const rest = total - sum;
      if (rest > 0n) await (await f.settle(m, t, rest)).wait();
      expect(await f.d.execution.filled(md)).to.equal(total);
      await expect(f.settle(m, t, 1n))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionOverfill")
        .withArgs(md, 0n, 1n);
    });
  });
});
