import { expect } from "chai";
import { ZeroAddress, type ContractTransactionReceipt, type ContractTransactionResponse } from "ethers";

import { accountBucket } from "../../sdk/src/client/buckets.js";
import { toMarketRisk } from "../../sdk/src/deploy/foundation.js";
import { connectChain } from "../helpers/foundation.js";
import {
  BTC,
  BTC_KEY,
  CORE,
  DAY,
  EDGE,
  ETH,
  ETH_KEY,
  MAX_PRICE,
  PRIMARY_MAX_AGE,
  PRO,
  SKEW_SCALE,
  USDC_SCALE,
  WAD,
  applyFillMath,
  band,
  confidenceBps,
  deployClearing,
  fillNotional,
  fundingMove,
  fundingOwed,
  fundingRate,
  mulDiv,
  notionalUp,
  requirement,
  requirements,
  unrealizedPnl,
  usdc,
  w,
  weightedValue,
  type ClearingFixture,
} from "./clearingFixture.js";

const chain = await connectChain();
const { ethers, networkHelpers } = chain;
const { time } = networkHelpers;

async function clearingFixture() {
  return deployClearing(chain);
}

/** The fixture with fresh rounds on every feed: until ~70 s pass, every read sees the 11 bps bands below. */
async function setup(): Promise<ClearingFixture> {
  const f = await networkHelpers.loadFixture(clearingFixture);
  await f.setPrices();
  return f;
}

/** ETH/USD at 3000 (primary) and 3001.5 (secondary), 11 bps: the secondary widens the high side. */
const ETH_Q = band(w("3000"), 11n, w("3001.5"));
/** BTC/USD at 60000, 11 bps. */
const BTC_Q = band(w("60000"), 11n);

/** Core's collateral weights (deploy/local.ts): 80% up to 5,000,000 of value, 60% above. */
const coreWeighted = (value: bigint) => weightedValue(value, 8_000n, 6_000n, w("5000000"));

/** The timestamp of the block that mined `tx`. */
async function blockTime(tx: ContractTransactionResponse): Promise<bigint> {
  const r = await tx.wait();
  const block = await ethers.provider.getBlock(r!.blockNumber);
  return BigInt(block!.timestamp);
}

/** Every event of the clearing house in a receipt, by name. */
function clearingEvents(f: ClearingFixture, receipt: ContractTransactionReceipt) {
  const out: { name: string; args: unknown[] }[] = [];
  for (const log of receipt.logs) {
    const parsed = f.clearing.interface.parseLog(log);
    if (parsed !== null) out.push({ name: parsed.name, args: [...parsed.args] });
  }
  return out;
}

describe("ClearingHouse", () => {
  it("the tests' bands are the router's: 3000/3001.5 ETH and 60000 BTC at 11 bps", async () => {
    const f = await setup();
    expect(await f.quote(ETH_KEY)).to.deep.equal(ETH_Q);
    expect(await f.quote(BTC_KEY)).to.deep.equal(BTC_Q);
    expect(ETH_Q).to.deep.equal({ lower: w("2996.7"), mid: w("3000"), upper: w("3004.8") });
    expect(BTC_Q).to.deep.equal({ lower: w("59934"), mid: w("60000"), upper: w("60066") });
  });

  // ================================================================ operators

  describe("operators", () => {
    it("setOperator authorizes and revokes an operator for all the caller's accounts, emitting OperatorSet", async () => {
      const f = await setup();
      expect(await f.clearing.isOperator(f.alice.address, f.bob.address)).to.equal(false);

      await expect(f.clearing.connect(f.alice).setOperator(f.bob.address, true))
        .to.emit(f.clearing, "OperatorSet")
        .withArgs(f.alice.address, f.bob.address, true);
      expect(await f.clearing.isOperator(f.alice.address, f.bob.address)).to.equal(true);
      // Authorization is one-way and per owner.
      expect(await f.clearing.isOperator(f.bob.address, f.alice.address)).to.equal(false);
      expect(await f.clearing.isOperator(f.alice.address, f.carol.address)).to.equal(false);

      await expect(f.clearing.connect(f.alice).setOperator(f.bob.address, false))
        .to.emit(f.clearing, "OperatorSet")
        .withArgs(f.alice.address, f.bob.address, false);
      expect(await f.clearing.isOperator(f.alice.address, f.bob.address)).to.equal(false);
    });

    it("an operator withdraws from any of the owner's accounts to any receiver", async () => {
      const f = await setup();
      const account = await f.deposit(f.alice, "USDC", CORE, usdc("1000"), 3n);
      await f.clearing.connect(f.alice).setOperator(f.bob.address, true);

      await expect(f.clearing.connect(f.bob).withdraw(account, f.tokens.USDC.address, usdc("250"), f.carol.address))
        .to.emit(f.clearing, "CollateralWithdrawn")
        .withArgs(account, f.tokens.USDC.address, f.carol.address, usdc("250"), 0n);
      expect(await f.tokens.USDC.mock!.balanceOf(f.carol.address)).to.equal(usdc("250"));
      expect(await f.tokens.USDC.mock!.balanceOf(f.bob.address)).to.equal(0n);
      expect(await f.balance(account, "USDC")).to.equal(usdc("750"));
    });

    it("anyone else gets ClearingUnauthorized(account, caller), including a revoked operator and governance", async () => {
      const f = await setup();
      const account = await f.deposit(f.alice, "USDC", CORE, usdc("1000"));
      const daveAccount = await f.deposit(f.dave, "USDC", CORE, usdc("10"));
      await f.clearing.connect(f.alice).setOperator(f.bob.address, true);
      const usdcAddress = f.tokens.USDC.address;

      for (const caller of [f.carol, f.deployer, f.executor, f.controller]) {
        await expect(f.clearing.connect(caller).withdraw(account, usdcAddress, 1n, caller.address))
          .to.be.revertedWithCustomError(f.clearing, "ClearingUnauthorized")
          .withArgs(account, caller.address);
      }
      // Alice's operator is not Dave's.
      await expect(f.clearing.connect(f.bob).withdraw(daveAccount, usdcAddress, 1n, f.bob.address))
        .to.be.revertedWithCustomError(f.clearing, "ClearingUnauthorized")
        .withArgs(daveAccount, f.bob.address);

      await f.clearing.connect(f.alice).setOperator(f.bob.address, false);
      await expect(f.clearing.connect(f.bob).withdraw(account, usdcAddress, 1n, f.bob.address))
        .to.be.revertedWithCustomError(f.clearing, "ClearingUnauthorized")
        .withArgs(account, f.bob.address);
      expect(await f.balance(account, "USDC")).to.equal(usdc("1000"));

      // The owner itself may.
      await expect(f.clearing.connect(f.alice).withdraw(account, usdcAddress, usdc("1000"), f.alice.address))
        .to.emit(f.clearing, "CollateralWithdrawn")
        .withArgs(account, usdcAddress, f.alice.address, usdc("1000"), 0n);
    });

    it("nobody can withdraw from a tier's settlement bucket or insurance fund", async () => {
      const f = await setup();
      const usdcAddress = f.tokens.USDC.address;
      await f.tokens.USDC.mock!.mint(f.alice.address, usdc("20"));
      await f.tokens.USDC.mock!.connect(f.alice).approve(f.vaultAddress, usdc("20"));
      await f.vault.connect(f.alice).deposit(usdcAddress, usdc("10"), f.insurance(CORE));
      await f.vault.connect(f.alice).deposit(usdcAddress, usdc("10"), f.settlement(CORE));
      for (const bucket of [f.insurance(CORE), f.settlement(CORE)]) {
        for (const caller of [f.alice, f.deployer]) {
          await expect(f.clearing.connect(caller).withdraw(bucket, usdcAddress, 1n, caller.address))
            .to.be.revertedWithCustomError(f.clearing, "ClearingUnauthorized")
            .withArgs(bucket, caller.address);
        }
      }
    });

    it("withdraw from an unreachable bucket or an unlisted tier: ClearingInvalidAccount(account)", async () => {
      const f = await setup();
      for (const bucket of [
        accountBucket(ZeroAddress, CORE, 5n),
        accountBucket(ZeroAddress, CORE, 0n),
        f.acct(f.alice, 9),
      ]) {
        await expect(f.clearing.connect(f.alice).withdraw(bucket, f.tokens.USDC.address, 1n, f.alice.address))
          .to.be.revertedWithCustomError(f.clearing, "ClearingInvalidAccount")
          .withArgs(bucket);
      }
    });
  });

  // ================================================================ applyFill: fee split, executor, read rule

  describe("applyFill: fee split, registered executor, returns and the oracle read", () => {
    /** Alice and Bob with 100,000 USDC each in core; Carol's core account is the protocol's fee account. */
    async function funded() {
      const f = await setup();
      const a = await f.deposit(f.alice, "USDC", CORE, usdc("100000"));
      const b = await f.deposit(f.bob, "USDC", CORE, usdc("100000"));
      return { f, a, b, protocol: f.acct(f.carol, CORE), pool: f.acct(f.poolOwner, CORE) };
    }

    type Split = { poolFee: bigint; protocolFee: bigint; protocol: bigint };
    const fillWith = (f: ClearingFixture, a: bigint, b: bigint, split: Split, size = w("2")) =>
      f.clearing.connect(f.executor).applyFill({
        taker: a,
        maker: b,
        market: ETH,
        size,
        price: w("3000"),
        takerFee: w("3"),
        makerFee: w("1.2"),
        ...split,
      });

    async function cashes(f: ClearingFixture, accounts: bigint[]) {
      return Promise.all([...accounts, f.insurance(CORE)].map((x) => f.clearing.cash(x)));
    }

    it("splits the fees: the pool's share to its account, the protocol's to its account, the rest to insurance", async () => {
      const { f, a, b, protocol, pool } = await funded();
      await f.clearing.connect(f.deployer).setPool(CORE, f.poolOwner.address);
      await expect(fillWith(f, a, b, { poolFee: w("1"), protocolFee: w("0.5"), protocol }))
        .to.emit(f.clearing, "FillApplied")
        .withArgs(a, b, ETH, w("2"), w("3000"), w("3"), w("1.2"), w("1"), w("0.5"), 0n, 0n);
      expect(await cashes(f, [a, b, pool, protocol])).to.deep.equal([-w("3"), -w("1.2"), w("1"), w("0.5"), w("2.7")]);
      // Cash moved between accounts of one tier: Σ cash is 0, no tier's figures moved.
      for (const t of [PRO, EDGE]) expect(await f.clearing.cash(f.insurance(t))).to.equal(0n);
    });

    it("while the tier has no pool, the pool's share goes to the insurance fund", async () => {
      const { f, a, b, protocol, pool } = await funded();
      await fillWith(f, a, b, { poolFee: w("1"), protocolFee: w("0.5"), protocol });
      expect(await cashes(f, [pool, protocol])).to.deep.equal([0n, w("0.5"), w("3.7")]);
    });

    it("shares above the fees: ClearingInvalidFeeSplit(fees, poolFee, protocolFee), nothing changes", async () => {
      const { f, a, b, protocol } = await funded();
      const before = await cashes(f, [a, b, protocol]);
      for (const [poolFee, protocolFee] of [
        [w("4.2"), 1n],
        [w("4.2") + 1n, 0n],
        [0n, w("4.2") + 1n],
      ] as const) {
        await expect(fillWith(f, a, b, { poolFee, protocolFee, protocol }))
          .to.be.revertedWithCustomError(f.clearing, "ClearingInvalidFeeSplit")
          .withArgs(w("4.2"), poolFee, protocolFee);
      }
      expect(await cashes(f, [a, b, protocol])).to.deep.equal(before);
      // All of the fees to the pool and protocol is allowed.
      await expect(fillWith(f, a, b, { poolFee: w("4"), protocolFee: w("0.2"), protocol })).to.emit(
        f.clearing,
        "FillApplied",
      );
    });

    it("a protocol account of another tier or without an owner: ClearingInvalidAccount(protocol); ignored at fee 0", async () => {
      const { f, a, b } = await funded();
      for (const protocol of [f.acct(f.carol, PRO), f.insurance(CORE), accountBucket(ZeroAddress, CORE, 0n)]) {
        await expect(fillWith(f, a, b, { poolFee: 0n, protocolFee: 1n, protocol }))
          .to.be.revertedWithCustomError(f.clearing, "ClearingInvalidAccount")
          .withArgs(protocol);
      }
      await expect(fillWith(f, a, b, { poolFee: 0n, protocolFee: 0n, protocol: f.acct(f.carol, PRO) })).to.emit(
        f.clearing,
        "FillApplied",
      );
      expect(await f.clearing.cash(f.acct(f.carol, PRO))).to.equal(0n);
    });

    it("returns both sides' equity after the fill and the oracle mid of its read (what health() shows)", async () => {
      const { f, a, b } = await funded();
      const split = { poolFee: 0n, protocolFee: 0n, protocol: 0n };
      await (await fillWith(f, a, b, split)).wait();
      const takerEquity = (await f.health(a)).equity;
      const makerEquity = (await f.health(b)).equity;
      const oraclePrice = (await f.quote(ETH_KEY)).mid;
      // The same fill again, as a static call from the state after the first: its figures are the next ones.
      const next = await f.clearing.connect(f.executor).applyFill.staticCall({
        taker: a,
        maker: b,
        market: ETH,
        size: w("2"),
        price: w("3000"),
        takerFee: w("3"),
        makerFee: w("1.2"),
        ...split,
      });
      expect(next.oraclePrice).to.equal(oraclePrice);
      // Each side pays its fee again; the mark is unchanged in this block.
      expect(next.takerEquity).to.equal(takerEquity - w("3") + unrealizedPnl(w("2"), w("6000"), ETH_Q.lower));
      expect(next.makerEquity).to.equal(makerEquity - w("1.2") + unrealizedPnl(-w("2"), -w("6000"), ETH_Q.upper));
      expect(oraclePrice).to.equal(ETH_Q.mid);
    });

    it("tradeState: both sizes in the market and the tier's open interest, in one read", async () => {
      const { f, a, b } = await funded();
      await f.fill(a, b, ETH, w("2"), w("3000"));
      expect([...(await f.clearing.tradeState(a, b, ETH))]).to.deep.equal([w("2"), -w("2"), w("2")]);
      expect([...(await f.clearing.tradeState(b, f.acct(f.carol, CORE), BTC))]).to.deep.equal([0n, 0n, 0n]);
    });

    it("setExecutor: ADMIN only; the zero address is refused; a registered executor needs no EXECUTOR role", async () => {
      const { f, a, b } = await funded();
      const split = { poolFee: 0n, protocolFee: 0n, protocol: 0n };
      const fillArgs = { taker: a, maker: b, market: ETH, size: w("1"), price: w("3000"), takerFee: 0n, makerFee: 0n };
      for (const caller of [f.alice, f.executor, f.risk]) {
        await expect(f.clearing.connect(caller).setExecutor(f.outsider.address, true))
          .to.be.revertedWithCustomError(f.clearing, "AccessManagedUnauthorized")
          .withArgs(caller.address);
      }
      await expect(f.clearing.connect(f.deployer).setExecutor(ZeroAddress, true))
        .to.be.revertedWithCustomError(f.clearing, "ClearingInvalidLiquidator")
        .withArgs(ZeroAddress);
      await expect(f.clearing.connect(f.outsider).applyFill({ ...fillArgs, ...split }))
        .to.be.revertedWithCustomError(f.clearing, "AccessManagedUnauthorized")
        .withArgs(f.outsider.address);

      await expect(f.clearing.connect(f.deployer).setExecutor(f.outsider.address, true))
        .to.emit(f.clearing, "ExecutorSet")
        .withArgs(f.outsider.address, true);
      expect(await f.clearing.isExecutor(f.outsider.address)).to.equal(true);
      await expect(f.clearing.connect(f.outsider).applyFill({ ...fillArgs, ...split })).to.emit(
        f.clearing,
        "FillApplied",
      );

      await expect(f.clearing.connect(f.deployer).setExecutor(f.outsider.address, false))
        .to.emit(f.clearing, "ExecutorSet")
        .withArgs(f.outsider.address, false);
      expect(await f.clearing.isExecutor(f.outsider.address)).to.equal(false);
      await expect(f.clearing.connect(f.outsider).applyFill({ ...fillArgs, ...split }))
        .to.be.revertedWithCustomError(f.clearing, "AccessManagedUnauthorized")
        .withArgs(f.outsider.address);
      // The deployed execution engine is registered.
      expect(await f.clearing.isExecutor(await f.d.execution.getAddress())).to.equal(true);
    });

    it("a stale price: risk grows only at a good price, except the pool's taking the other side of an exit", async () => {
      const { f, a, b, pool } = await funded();
      await f.clearing.connect(f.deployer).setPool(CORE, f.poolOwner.address);
      await f.deposit(f.poolOwner, "USDC", CORE, usdc("100000"));
      const c = await f.deposit(f.carol, "USDC", CORE, usdc("100000"));
      await f.fill(a, b, ETH, w("1"), w("3000"));
      const updatedAt = (await f.feeds.ethPrimary.latestRoundData())[3];
      await time.increaseTo(updatedAt + PRIMARY_MAX_AGE + 60n);

      // Alice exits against Carol, whose risk would grow: refused (the strict read).
      await expect(f.fill(a, c, ETH, -w("0.5"), w("3000"))).to.be.revertedWithCustomError(f.oracle, "OracleStalePrice");
      // Carol opening against Bob's exit: refused too, whichever side is the taker.
      await expect(f.fill(b, c, ETH, w("0.5"), w("3000"))).to.be.revertedWithCustomError(f.oracle, "OracleStalePrice");
      // Alice exits against the pool, whose risk grows: it executes on the stale price (liquidation read).
      await expect(f.fill(a, pool, ETH, -w("0.5"), w("3000"))).to.emit(f.clearing, "FillApplied");
      expect((await f.position(pool, ETH)).size).to.equal(w("0.5"));
      // The pool itself opening as the taker is an ordinary risk increase: refused.
      await expect(f.fill(pool, c, ETH, w("0.5"), w("3000"))).to.be.revertedWithCustomError(
        f.oracle,
        "OracleStalePrice",
      );
      // Two exits always execute.
      await expect(f.fill(a, b, ETH, -w("0.5"), w("3000"))).to.emit(f.clearing, "FillApplied");
    });
  });

  // ================================================================ applyFill: validation

  describe("applyFill: validation", () => {
    async function funded() {
      const f = await setup();
      const a = await f.deposit(f.alice, "USDC", CORE, usdc("100000"));
      const b = await f.deposit(f.bob, "USDC", CORE, usdc("100000"));
      return { f, a, b };
    }

    /** Positions, cash and open interest of both accounts and the tier, to show a refused fill changes nothing. */
    async function state(f: ClearingFixture, accounts: bigint[]) {
      return {
        positions: await Promise.all(accounts.map((a) => f.position(a, ETH))),
        cash: await Promise.all(accounts.map((a) => f.clearing.cash(a))),
        insurance: await f.clearing.cash(f.insurance(CORE)),
        oi: await f.clearing.openInterest(CORE, ETH),
      };
    }

    it("only EXECUTOR: AccessManagedUnauthorized(caller)", async () => {
      const { f, a, b } = await funded();
      const fillArgs = {
        taker: a,
        maker: b,
        market: ETH,
        size: w("1"),
        price: w("3000"),
        takerFee: 0n,
        makerFee: 0n,
        poolFee: 0n,
        protocolFee: 0n,
        protocol: 0n,
      };
      for (const caller of [f.alice, f.deployer, f.controller, f.risk]) {
        await expect(f.clearing.connect(caller).applyFill(fillArgs))
          .to.be.revertedWithCustomError(f.clearing, "AccessManagedUnauthorized")
          .withArgs(caller.address);
      }
      await expect(f.clearing.connect(f.executor).applyFill(fillArgs)).to.emit(f.clearing, "FillApplied");
    });

    it("size 0: ClearingZeroSize", async () => {
      const { f, a, b } = await funded();
      const before = await state(f, [a, b]);
      await expect(f.fill(a, b, ETH, 0n, w("3000"))).to.be.revertedWithCustomError(f.clearing, "ClearingZeroSize");
      expect(await state(f, [a, b])).to.deep.equal(before);
    });

    it("price 0 or above 1e36: ClearingInvalidPrice(price); exactly 1e36 passes the price check", async () => {
      const { f, a, b } = await funded();
      await expect(f.fill(a, b, ETH, w("1"), 0n))
        .to.be.revertedWithCustomError(f.clearing, "ClearingInvalidPrice")
        .withArgs(0n);
      await expect(f.fill(a, b, ETH, w("1"), MAX_PRICE + 1n))
        .to.be.revertedWithCustomError(f.clearing, "ClearingInvalidPrice")
        .withArgs(MAX_PRICE + 1n);
      // 1 wei of ETH at 1e36: notional 1e18 (one quote unit).
      await expect(f.fill(a, b, ETH, 1n, MAX_PRICE))
        .to.emit(f.clearing, "FillApplied")
        .withArgs(a, b, ETH, 1n, MAX_PRICE, 0n, 0n, 0n, 0n, 0n, 0n);
      expect(await f.position(a, ETH)).to.deep.equal({ size: 1n, openNotional: WAD, fundingIndex: 0n });
      expect(await f.position(b, ETH)).to.deep.equal({ size: -1n, openNotional: -WAD, fundingIndex: 0n });
    });

    it("an account against itself: ClearingSelfTrade(account); two sub-accounts of one owner may trade", async () => {
      const { f, a } = await funded();
      await expect(f.fill(a, a, ETH, w("1"), w("3000")))
        .to.be.revertedWithCustomError(f.clearing, "ClearingSelfTrade")
        .withArgs(a);
      const a1 = await f.deposit(f.alice, "USDC", CORE, usdc("100000"), 1n);
      await expect(f.fill(a, a1, ETH, w("1"), w("3000"))).to.emit(f.clearing, "FillApplied");
      expect((await f.position(a1, ETH)).size).to.equal(-w("1"));
    });

    it("accounts of two tiers: ClearingCrossTierFill(taker, maker)", async () => {
      const { f, a } = await funded();
      const bobPro = await f.deposit(f.bob, "USDC", PRO, usdc("100000"));
      const before = await state(f, [a, bobPro]);
      await expect(f.fill(a, bobPro, ETH, w("1"), w("3000")))
        .to.be.revertedWithCustomError(f.clearing, "ClearingCrossTierFill")
        .withArgs(a, bobPro);
      await expect(f.fill(bobPro, a, ETH, -w("1"), w("3000")))
        .to.be.revertedWithCustomError(f.clearing, "ClearingCrossTierFill")
        .withArgs(bobPro, a);
      expect(await state(f, [a, bobPro])).to.deep.equal(before);
      expect((await f.position(bobPro, ETH)).size).to.equal(0n);
    });

    it("system buckets, owner-0 buckets and unlisted tiers: ClearingInvalidAccount(account)", async () => {
      const { f, a } = await funded();
      const orphan = accountBucket(ZeroAddress, CORE, 5n);
      for (const bad of [f.settlement(CORE), f.insurance(CORE), orphan, accountBucket(ZeroAddress, CORE, 0n)]) {
        await expect(f.fill(bad, a, ETH, w("1"), w("3000")))
          .to.be.revertedWithCustomError(f.clearing, "ClearingInvalidAccount")
          .withArgs(bad);
        await expect(f.fill(a, bad, ETH, w("1"), w("3000")))
          .to.be.revertedWithCustomError(f.clearing, "ClearingInvalidAccount")
          .withArgs(bad);
      }
      const alice9 = f.acct(f.alice, 9);
      const bob9 = f.acct(f.bob, 9);
      await expect(f.fill(alice9, bob9, ETH, w("1"), w("3000")))
        .to.be.revertedWithCustomError(f.clearing, "ClearingInvalidAccount")
        .withArgs(alice9);
      expect(await f.clearing.cash(f.insurance(CORE))).to.equal(0n);
      expect(await f.markets(f.settlement(CORE))).to.deep.equal([]);
    });

    it("a market the tier does not list: RiskMarketNotInTier(tier, market)", async () => {
      const { f } = await funded();
      const ae = await f.deposit(f.alice, "USDC", EDGE, usdc("100000"));
      const be = await f.deposit(f.bob, "USDC", EDGE, usdc("100000"));
      await expect(f.fill(ae, be, BTC, w("0.1"), w("60000")))
        .to.be.revertedWithCustomError(f.riskEngine, "RiskMarketNotInTier")
        .withArgs(EDGE, BTC);
      // A market id listed nowhere reverts alike in any tier.
      const a = f.acct(f.alice, CORE);
      const b = f.acct(f.bob, CORE);
      await expect(f.fill(a, b, 99, w("0.1"), w("3000")))
        .to.be.revertedWithCustomError(f.riskEngine, "RiskMarketNotInTier")
        .withArgs(CORE, 99);
      // ETH is listed in edge.
      await expect(f.fill(ae, be, ETH, w("0.1"), w("3000"))).to.emit(f.clearing, "FillApplied");
    });

    it("ClearingTooManyPositions(account, 4) past core's maxPositions, for taker and maker; closing frees a slot", async () => {
      const { f, a, b } = await funded();
      // Core lists two markets; list three more (priced by ETH/USD) with the same settings as ETH.
      const ethRisk = toMarketRisk(f.d.config.tiers[0]!.markets[0]!);
      for (const m of [3, 4, 5]) {
        await f.riskEngine.connect(f.deployer).listMarket(m, ETH_KEY);
        await f.riskEngine.connect(f.deployer).addMarketToTier(CORE, m, ethRisk);
      }
      expect((await f.riskEngine.tierConfig(CORE)).maxPositions).to.equal(4n);
      const c = await f.deposit(f.carol, "USDC", CORE, usdc("100000"));

      await f.fill(a, b, ETH, w("0.1"), w("3000"));
      await f.fill(a, b, BTC, w("0.01"), w("60000"));
      await f.fill(a, b, 3, w("0.1"), w("3000"));
      await f.fill(a, b, 4, w("0.1"), w("3000"));
      expect(await f.markets(a)).to.deep.equal([1n, 2n, 3n, 4n]);

      await expect(f.fill(a, c, 5, w("0.1"), w("3000")))
        .to.be.revertedWithCustomError(f.clearing, "ClearingTooManyPositions")
        .withArgs(a, 4n);
      await expect(f.fill(c, a, 5, w("0.1"), w("3000")))
        .to.be.revertedWithCustomError(f.clearing, "ClearingTooManyPositions")
        .withArgs(a, 4n);
      // Changing an existing position is fine at the limit.
      await f.fill(a, c, 3, w("0.1"), w("3000"));
      expect((await f.position(a, 3)).size).to.equal(w("0.2"));

      // Closing market 3 (against both counterparties) frees a slot; the last market takes the freed place.
      await f.fill(a, b, 3, -w("0.1"), w("3000"));
      await f.fill(a, c, 3, -w("0.1"), w("3000"));
      expect(await f.markets(a)).to.deep.equal([1n, 2n, 4n]);
      await f.fill(a, c, 5, w("0.1"), w("3000"));
      expect(await f.markets(a)).to.deep.equal([1n, 2n, 4n, 5n]);
    });
  });

  // ================================================================ applyFill: margin

  describe("applyFill: margin", () => {
    it("an under-collateralized open reverts ClearingInsufficientMargin(account, equity, im), exactly as health() computes them", async () => {
      const f = await setup();
      const a = await f.deposit(f.alice, "USDC", CORE, usdc("1000"));
      const b = await f.deposit(f.bob, "USDC", CORE, usdc("100000"));
      // Long 1 ETH at 3000: marked at 2996.7 (uPnL −3.3), IM 33.33% of 3004.8 rounded up.
      const im = requirement(notionalUp(w("1"), ETH_Q.upper), 3_333n);
      expect(im).to.equal(w("1001.49984"));
      const equity = w("1000") + unrealizedPnl(w("1"), w("3000"), ETH_Q.lower);
      expect(equity).to.equal(w("996.7"));

      await expect(f.fill(a, b, ETH, w("1"), w("3000")))
        .to.be.revertedWithCustomError(f.clearing, "ClearingInsufficientMargin")
        .withArgs(a, equity, im);
      expect(await f.position(a, ETH)).to.deep.equal({ size: 0n, openNotional: 0n, fundingIndex: 0n });

      // With 10 USDC more the same fill passes, and health() reports the same figures (+10).
      await f.deposit(f.alice, "USDC", CORE, usdc("10"));
      await f.fill(a, b, ETH, w("1"), w("3000"));
      const h = await f.health(a);
      expect(h.equity - w("10")).to.equal(equity);
      expect(h.im).to.equal(im);
    });

    it("fees count: equity exactly at IM passes, one wei of fee more reverts", async () => {
      const f = await setup();
      const a = await f.deposit(f.alice, "USDC", CORE, usdc("1010"));
      const b = await f.deposit(f.bob, "USDC", CORE, usdc("100000"));
      const im = w("1001.49984");
      // 1010 − 3.3 − fee = 1001.49984 at fee = 5.20016.
      await expect(f.fill(a, b, ETH, w("1"), w("3000"), w("5.20016") + 1n))
        .to.be.revertedWithCustomError(f.clearing, "ClearingInsufficientMargin")
        .withArgs(a, im - 1n, im);
      await f.fill(a, b, ETH, w("1"), w("3000"), w("5.20016"));
      const h = await f.health(a);
      expect(h.equity).to.equal(im);
      expect(h.im).to.equal(im);
    });

    it("the maker side is checked too (a short marked at the band's high side)", async () => {
      const f = await setup();
      const a = await f.deposit(f.alice, "USDC", CORE, usdc("100000"));
      const b = await f.deposit(f.bob, "USDC", CORE, usdc("100"));
      // Bob short 1 at 3000: marked at 3004.8 (uPnL −4.8).
      await expect(f.fill(a, b, ETH, w("1"), w("3000")))
        .to.be.revertedWithCustomError(f.clearing, "ClearingInsufficientMargin")
        .withArgs(b, w("95.2"), w("1001.49984"));
    });

    it("a reducing fill is never refused, even when the account stays under IM; an increase of it is refused", async () => {
      const f = await setup();
      const a = await f.deposit(f.alice, "USDC", CORE, usdc("1100"));
      const b = await f.deposit(f.bob, "USDC", CORE, usdc("100000"));
      await f.fill(a, b, ETH, w("1"), w("3000"));
      // ETH falls 10%: Alice is under IM (but above MM).
      await f.setPrices("2700", "2701.5");
      const q = await f.quote(ETH_KEY);
      expect(q).to.deep.equal(band(w("2700"), 11n, w("2701.5")));
      const before = await f.health(a);
      expect(before.equity).to.equal(w("1100") + unrealizedPnl(w("1"), w("3000"), q.lower));
      expect(before.im).to.equal(requirement(notionalUp(w("1"), q.upper), 3_333n));
      expect(before.equity < BigInt(before.im)).to.equal(true);
      expect(before.equity > BigInt(before.mm)).to.equal(true);

      // Sell 0.1 at 2700: still under IM afterwards, and accepted.
      const step = applyFillMath(w("1"), w("3000"), -w("0.1"), fillNotional(-w("0.1"), w("2700")));
      expect(step.realized).to.equal(-w("30"));
      await expect(f.fill(a, b, ETH, -w("0.1"), w("2700")))
        .to.emit(f.clearing, "FillApplied")
        .withArgs(a, b, ETH, -w("0.1"), w("2700"), 0n, 0n, 0n, 0n, step.realized, w("30"));
      const after = await f.health(a);
      expect(after.equity).to.equal(w("1100") + step.realized + unrealizedPnl(step.size, step.openNotional, q.lower));
      expect(after.im).to.equal(requirement(notionalUp(step.size, q.upper), 3_333n));
      expect(after.equity < BigInt(after.im)).to.equal(true);

      // Buying more is refused with the exact figures.
      const more = applyFillMath(step.size, step.openNotional, w("0.01"), fillNotional(w("0.01"), w("2700")));
      await expect(f.fill(a, b, ETH, w("0.01"), w("2700")))
        .to.be.revertedWithCustomError(f.clearing, "ClearingInsufficientMargin")
        .withArgs(
          a,
          w("1100") + step.realized + unrealizedPnl(more.size, more.openNotional, q.lower),
          requirement(notionalUp(more.size, q.upper), 3_333n),
        );

      // Even below MM (ETH at 2000, in two moves under the jump threshold), a full close is accepted.
      await f.setPrices("2300", "2301.5");
      await f.setPrices("2000", "2001.5");
      const low = await f.health(a);
      expect(low.equity < BigInt(low.mm)).to.equal(true);
      await expect(f.fill(b, a, ETH, step.size, w("2000"))).to.emit(f.clearing, "FillApplied");
      expect(await f.markets(a)).to.deep.equal([]);
    });

    it("a flip is a risk increase: it needs IM for the new side", async () => {
      const f = await setup();
      const a = await f.deposit(f.alice, "USDC", CORE, usdc("1100"));
      const b = await f.deposit(f.bob, "USDC", CORE, usdc("100000"));
      await f.fill(a, b, ETH, w("1"), w("3000"));
      // Sell 2.5 at 3000: short 1.5, IM on 1.5 × 3004.8.
      const flip = applyFillMath(w("1"), w("3000"), -w("2.5"), fillNotional(-w("2.5"), w("3000")));
      expect(flip).to.deep.equal({ size: -w("1.5"), openNotional: -w("4500"), realized: 0n });
      await expect(f.fill(a, b, ETH, -w("2.5"), w("3000")))
        .to.be.revertedWithCustomError(f.clearing, "ClearingInsufficientMargin")
        .withArgs(a, w("1100") + unrealizedPnl(-w("1.5"), -w("4500"), ETH_Q.upper), w("1502.24976"));
      // Selling exactly 1 (a close) is a reduction.
      await expect(f.fill(a, b, ETH, -w("1"), w("3000"))).to.emit(f.clearing, "FillApplied");
    });
  });

  // ================================================================ applyFill: positions and PnL

  describe("applyFill: positions, realized PnL and open interest", () => {
    it("open, increase, reduce at a profit and at a loss, flip, close: exact sizes, cost bases, PnL and events", async () => {
      const f = await setup();
      const a = await f.deposit(f.alice, "USDC", CORE, usdc("1000000"));
      const b = await f.deposit(f.bob, "USDC", CORE, usdc("1000000"));
      const pos = (size: string, on: string, fundingIndex = 0n) => ({
        size: w(size),
        openNotional: w(on),
        fundingIndex,
      });

      // Open long 2 at 3000.
      await expect(f.fill(a, b, ETH, w("2"), w("3000")))
        .to.emit(f.clearing, "FillApplied")
        .withArgs(a, b, ETH, w("2"), w("3000"), 0n, 0n, 0n, 0n, 0n, 0n);
      expect(await f.position(a, ETH)).to.deep.equal(pos("2", "6000"));
      expect(await f.position(b, ETH)).to.deep.equal(pos("-2", "-6000"));
      expect(await f.markets(a)).to.deep.equal([1n]);
      expect(await f.markets(b)).to.deep.equal([1n]);
      expect(await f.clearing.openInterest(CORE, ETH)).to.equal(w("2"));

      // Increase by 1 at 3300: average 3100.
      await expect(f.fill(a, b, ETH, w("1"), w("3300")))
        .to.emit(f.clearing, "FillApplied")
        .withArgs(a, b, ETH, w("1"), w("3300"), 0n, 0n, 0n, 0n, 0n, 0n);
      expect(await f.position(a, ETH)).to.deep.equal(pos("3", "9300"));
      expect(await f.position(b, ETH)).to.deep.equal(pos("-3", "-9300"));
      expect(await f.clearing.openInterest(CORE, ETH)).to.equal(w("3"));

      // Reduce by 1 at 3400: +300 realized.
      await expect(f.fill(a, b, ETH, -w("1"), w("3400")))
        .to.emit(f.clearing, "FillApplied")
        .withArgs(a, b, ETH, -w("1"), w("3400"), 0n, 0n, 0n, 0n, w("300"), -w("300"));
      expect(await f.position(a, ETH)).to.deep.equal(pos("2", "6200"));
      expect(await f.position(b, ETH)).to.deep.equal(pos("-2", "-6200"));
      expect(await f.clearing.cash(a)).to.equal(w("300"));
      expect(await f.clearing.cash(b)).to.equal(-w("300"));
      expect(await f.clearing.openInterest(CORE, ETH)).to.equal(w("2"));

      // Reduce by 0.5 at 3000: −50 realized.
      await expect(f.fill(a, b, ETH, -w("0.5"), w("3000")))
        .to.emit(f.clearing, "FillApplied")
        .withArgs(a, b, ETH, -w("0.5"), w("3000"), 0n, 0n, 0n, 0n, -w("50"), w("50"));
      expect(await f.position(a, ETH)).to.deep.equal(pos("1.5", "4650"));
      expect(await f.position(b, ETH)).to.deep.equal(pos("-1.5", "-4650"));
      expect(await f.clearing.cash(a)).to.equal(w("250"));
      expect(await f.clearing.cash(b)).to.equal(-w("250"));

      // Flip: sell 2.5 at 3200 closes 1.5 (+150) and opens short 1 at 3200.
      await expect(f.fill(a, b, ETH, -w("2.5"), w("3200")))
        .to.emit(f.clearing, "FillApplied")
        .withArgs(a, b, ETH, -w("2.5"), w("3200"), 0n, 0n, 0n, 0n, w("150"), -w("150"));
      expect(await f.position(a, ETH)).to.deep.equal(pos("-1", "-3200"));
      expect(await f.position(b, ETH)).to.deep.equal(pos("1", "3200"));
      expect(await f.clearing.cash(a)).to.equal(w("400"));
      expect(await f.clearing.cash(b)).to.equal(-w("400"));
      expect(await f.clearing.openInterest(CORE, ETH)).to.equal(w("1"));

      // Close: buy 1 at 3100, +100; both positions and market lists are emptied.
      await expect(f.fill(a, b, ETH, w("1"), w("3100")))
        .to.emit(f.clearing, "FillApplied")
        .withArgs(a, b, ETH, w("1"), w("3100"), 0n, 0n, 0n, 0n, w("100"), -w("100"));
      expect(await f.position(a, ETH)).to.deep.equal(pos("0", "0"));
      expect(await f.position(b, ETH)).to.deep.equal(pos("0", "0"));
      expect(await f.markets(a)).to.deep.equal([]);
      expect(await f.markets(b)).to.deep.equal([]);
      expect(await f.clearing.cash(a)).to.equal(w("500"));
      expect(await f.clearing.cash(b)).to.equal(-w("500"));
      expect(await f.clearing.openInterest(CORE, ETH)).to.equal(0n);
      const h = await f.health(a);
      expect([h.positions, h.unrealizedPnl, h.im]).to.deep.equal([0n, 0n, 0n]);
    });

    it("odd sizes and prices: every step matches PositionMath's rounding, and the pair stays exactly zero-sum", async () => {
      const f = await setup();
      const a = await f.deposit(f.alice, "USDC", CORE, usdc("1000000"));
      const b = await f.deposit(f.bob, "USDC", CORE, usdc("1000000"));
      const steps: [bigint, bigint][] = [
        [1_333_333_333_333_333_333n, 2_999_999_999_999_999_999_999n], // open
        [777_777_777_777_777_777n, 3_010_123_456_789_012_345_678n], // increase
        [-500_000_000_000_000_001n, 3_100_000_000_000_000_000_007n], // reduce at a profit
        [-300_000_000_000_000_000n, 2_900_500_000_000_000_000_001n], // reduce at a loss
        [-3_000_000_000_000_000_003n, 3_050_000_000_000_000_000_001n], // flip to short
        [-123_456_789_012_345_679n, 3_040_000_000_000_000_000_003n], // increase the short
        [333_333_333_333_333_333n, 3_001_000_000_000_000_000_009n], // reduce the short
      ];
      let sa = { size: 0n, openNotional: 0n };
      let sb = { size: 0n, openNotional: 0n };
      let cashA = 0n;
      let cashB = 0n;
      for (const [size, price] of steps) {
        const notional = fillNotional(size, price);
        const na = applyFillMath(sa.size, sa.openNotional, size, notional);
        const nb = applyFillMath(sb.size, sb.openNotional, -size, -notional);
        await expect(f.fill(a, b, ETH, size, price))
          .to.emit(f.clearing, "FillApplied")
          .withArgs(a, b, ETH, size, price, 0n, 0n, 0n, 0n, na.realized, nb.realized);
        sa = { size: na.size, openNotional: na.openNotional };
        sb = { size: nb.size, openNotional: nb.openNotional };
        cashA += na.realized;
        cashB += nb.realized;
        expect(await f.position(a, ETH)).to.deep.equal({ ...sa, fundingIndex: 0n });
        expect(await f.position(b, ETH)).to.deep.equal({ ...sb, fundingIndex: 0n });
        expect(await f.clearing.cash(a)).to.equal(cashA);
        expect(await f.clearing.cash(b)).to.equal(cashB);
        expect(await f.clearing.openInterest(CORE, ETH)).to.equal(sa.size > 0n ? sa.size : sb.size);
        // Rounding moves value only between cash and cost basis: Σ (cash − openNotional) stays exactly 0.
        expect(cashA - sa.openNotional + (cashB - sb.openNotional)).to.equal(0n);
      }
      // Close the rest: the cost basis leaves exactly.
      const last = -sa.size;
      const notional = fillNotional(last, w("3000"));
      const na = applyFillMath(sa.size, sa.openNotional, last, notional);
      expect(na.size).to.equal(0n);
      expect(na.openNotional).to.equal(0n);
      await f.fill(a, b, ETH, last, w("3000"));
      expect(await f.position(a, ETH)).to.deep.equal({ size: 0n, openNotional: 0n, fundingIndex: 0n });
      expect(await f.clearing.cash(a)).to.equal(cashA + na.realized);
      expect(await f.markets(a)).to.deep.equal([]);
    });

    it("fees are debited from taker and maker cash and credited to the tier's insurance fund", async () => {
      const f = await setup();
      const a = await f.deposit(f.alice, "USDC", CORE, usdc("100000"));
      const b = await f.deposit(f.bob, "USDC", CORE, usdc("100000"));
      await expect(f.fill(a, b, ETH, w("2"), w("3000"), w("3"), w("1.2")))
        .to.emit(f.clearing, "FillApplied")
        .withArgs(a, b, ETH, w("2"), w("3000"), w("3"), w("1.2"), 0n, 0n, 0n, 0n);
      expect(await f.clearing.cash(a)).to.equal(-w("3"));
      expect(await f.clearing.cash(b)).to.equal(-w("1.2"));
      expect(await f.clearing.cash(f.insurance(CORE))).to.equal(w("4.2"));

      // Realized PnL and fee net in cash: Alice sells 1 at 3100 (+100) paying 0.000000000000000007.
      await f.fill(a, b, ETH, -w("1"), w("3100"), 7n, 11n);
      expect(await f.clearing.cash(a)).to.equal(-w("3") + w("100") - 7n);
      expect(await f.clearing.cash(b)).to.equal(-w("1.2") - w("100") - 11n);
      expect(await f.clearing.cash(f.insurance(CORE))).to.equal(w("4.2") + 18n);
      // Other tiers' funds and the settlement bucket are untouched; fees stay cash until settled.
      for (const t of [PRO, EDGE]) expect(await f.clearing.cash(f.insurance(t))).to.equal(0n);
      expect(await f.clearing.cash(f.settlement(CORE))).to.equal(0n);
      expect(await f.balance(f.insurance(CORE), "USDC")).to.equal(0n);

      // Settling the payers, then the fund, turns the fee cash into tokens in the fund's bucket.
      await f.clearing.settle(a);
      await f.clearing.settle(b);
      const fund = f.insurance(CORE);
      const held = await f.balance(f.settlement(CORE), "USDC");
      const due = (w("4.2") + 18n) / USDC_SCALE;
      await expect(f.clearing.connect(f.carol).settle(fund))
        .to.emit(f.clearing, "Settled")
        .withArgs(fund, -due, w("4.2") + 18n - due * USDC_SCALE);
      expect(await f.balance(fund, "USDC")).to.equal(due);
      expect(await f.balance(f.settlement(CORE), "USDC")).to.equal(held - due);
    });

    it("zero-sum: after many fills Σ size = 0 per market and Σ(cash + size·p − openNotional) + insurance = 0 for every p", async () => {
      const f = await setup();
      const accounts = [
        await f.deposit(f.alice, "USDC", CORE, usdc("1000000")),
        await f.deposit(f.alice, "USDC", CORE, usdc("1000000"), 1n),
        await f.deposit(f.bob, "USDC", CORE, usdc("1000000")),
        await f.deposit(f.carol, "USDC", CORE, usdc("1000000")),
        await f.deposit(f.dave, "USDC", CORE, usdc("1000000")),
      ];
      let seed = 0x5eedn;
      const rnd = (mod: bigint) => {
        seed = (seed * 6_364_136_223_846_793_005n + 1_442_695_040_888_963_407n) % (1n << 64n);
        return (seed >> 17n) % mod;
      };
      const model = new Map<string, { size: bigint; openNotional: bigint }>();
      const cash = new Map<bigint, bigint>(accounts.map((x) => [x, 0n]));
      let fees = 0n;
      const key = (acc: bigint, m: number) => `${acc}:${m}`;
      for (let i = 0; i < 30; i++) {
        const ti = Number(rnd(5n));
        const mi = (ti + 1 + Number(rnd(4n))) % 5;
        const taker = accounts[ti]!;
        const maker = accounts[mi]!;
        const market = rnd(3n) === 0n ? BTC : ETH;
        const magnitude = market === ETH ? rnd(w("4")) + 1n : rnd(w("0.15")) + 1n;
        const size = rnd(2n) === 0n ? magnitude : -magnitude;
        const ref = market === ETH ? w("3000") : w("60000");
        const price = ref - ref / 50n + rnd(ref / 25n);
        const takerFee = rnd(w("2"));
        const makerFee = rnd(w("1"));
        const notional = fillNotional(size, price);
        const t = model.get(key(taker, market)) ?? { size: 0n, openNotional: 0n };
        const m = model.get(key(maker, market)) ?? { size: 0n, openNotional: 0n };
        const nt = applyFillMath(t.size, t.openNotional, size, notional);
        const nm = applyFillMath(m.size, m.openNotional, -size, -notional);
        await expect(f.fill(taker, maker, market, size, price, takerFee, makerFee))
          .to.emit(f.clearing, "FillApplied")
          .withArgs(taker, maker, market, size, price, takerFee, makerFee, 0n, 0n, nt.realized, nm.realized);
        model.set(key(taker, market), { size: nt.size, openNotional: nt.openNotional });
        model.set(key(maker, market), { size: nm.size, openNotional: nm.openNotional });
        cash.set(taker, cash.get(taker)! + nt.realized - takerFee);
        cash.set(maker, cash.get(maker)! + nm.realized - makerFee);
        fees += takerFee + makerFee;
      }

      const insurance = await f.clearing.cash(f.insurance(CORE));
      expect(insurance).to.equal(fees);
      let sumCash = insurance;
      for (const acc of accounts) {
        expect(await f.clearing.cash(acc)).to.equal(cash.get(acc));
        sumCash += await f.clearing.cash(acc);
      }
      for (const market of [ETH, BTC]) {
        let sumSize = 0n;
        let sumOpenNotional = 0n;
        let longs = 0n;
        for (const acc of accounts) {
          const p = await f.position(acc, market);
          expect({ size: p.size, openNotional: p.openNotional }).to.deep.equal(
            model.get(key(acc, market)) ?? { size: 0n, openNotional: 0n },
          );
          sumSize += p.size;
          sumOpenNotional += p.openNotional;
          if (p.size > 0n) longs += p.size;
        }
        expect(sumSize).to.equal(0n);
        expect(await f.clearing.openInterest(CORE, market)).to.equal(longs);
        model.set(`sum:${market}`, { size: sumSize, openNotional: sumOpenNotional });
      }
      // Σ over accounts of (cash + size × p − openNotional), plus the insurance fund, scaled by WAD to stay exact.
      for (const [pe, pb] of [
        [w("3000"), w("60000")],
        [1n, 1n],
        [w("1234.567890123456789"), w("98765.432109876543211")],
        [w("1000000"), w("7")],
      ] as const) {
        let total = sumCash * WAD;
        for (const acc of accounts) {
          for (const [market, p] of [
            [ETH, pe],
            [BTC, pb],
          ] as const) {
            const pos = await f.position(acc, market);
            total += pos.size * p - pos.openNotional * WAD;
          }
        }
        expect(total).to.equal(0n);
      }
    });
  });

  // ================================================================ funding

  describe("funding", () => {
    it("setPool: ADMIN only, a listed tier, a non-zero pool, once per tier", async () => {
      const f = await setup();
      const pool = f.poolOwner.address;
      await expect(f.clearing.connect(f.alice).setPool(CORE, pool))
        .to.be.revertedWithCustomError(f.clearing, "AccessManagedUnauthorized")
        .withArgs(f.alice.address);
      await expect(f.clearing.connect(f.deployer).setPool(9, pool))
        .to.be.revertedWithCustomError(f.clearing, "RiskUnknownTier")
        .withArgs(9);
      await expect(f.clearing.connect(f.deployer).setPool(CORE, ZeroAddress))
        .to.be.revertedWithCustomError(f.clearing, "ClearingInvalidAccount")
        .withArgs(accountBucket(ZeroAddress, CORE, 0n));
      expect(await f.clearing.pool(CORE)).to.equal(ZeroAddress);

      await expect(f.clearing.connect(f.deployer).setPool(CORE, pool))
        .to.emit(f.clearing, "PoolSet")
        .withArgs(CORE, pool);
      expect(await f.clearing.pool(CORE)).to.equal(pool);
      expect(await f.clearing.pool(PRO)).to.equal(ZeroAddress);

      for (const again of [f.outsider.address, pool, ZeroAddress]) {
        await expect(f.clearing.connect(f.deployer).setPool(CORE, again))
          .to.be.revertedWithCustomError(f.clearing, "ClearingPoolAlreadySet")
          .withArgs(CORE);
      }
      await expect(f.clearing.connect(f.deployer).setPool(PRO, f.outsider.address))
        .to.emit(f.clearing, "PoolSet")
        .withArgs(PRO, f.outsider.address);
      expect(await f.clearing.pool(CORE)).to.equal(pool);
    });

    it("without a pool the rate is 0 and the index never moves", async () => {
      const f = await setup();
      const a = await f.deposit(f.alice, "USDC", CORE, usdc("100000"));
      const b = await f.deposit(f.bob, "USDC", CORE, usdc("100000"));
      await expect(f.fill(a, b, ETH, w("10"), w("3000")))
        .to.emit(f.clearing, "FundingAccrued")
        .withArgs(CORE, ETH, 0n, 0n);
      await time.increase(DAY);
      expect(await f.fundingState(CORE, ETH)).to.deep.equal([0n, 0n]);
      expect((await f.health(a)).pendingFunding).to.equal(0n);
    });

    /** Core with its pool set, the pool account funded, Alice long `size` ETH against it at 3000. */
    async function poolShort(size: bigint) {
      const f = await setup();
      await f.clearing.connect(f.deployer).setPool(CORE, f.poolOwner.address);
      const pool = await f.deposit(f.poolOwner, "USDC", CORE, usdc("2000000"));
      const a = await f.deposit(f.alice, "USDC", CORE, usdc("1000000"));
      const tx = await f.fill(a, pool, ETH, size, w("3000"));
      // The accrual before the fill saw no inventory (and no elapsed time): index 0, rate 0.
      await expect(tx).to.emit(f.clearing, "FundingAccrued").withArgs(CORE, ETH, 0n, 0n);
      const t1 = await blockTime(tx);
      return { f, pool, a, t1 };
    }

    const S = 123_456_789_012_345_678_901n; // 123.456789012345678901 ETH

    it("a short pool makes longs pay: rate = maxFunding × skew / skewScale; index grows by rate × mid × dt / 1 day", async () => {
      const { f, pool, a, t1 } = await poolShort(S);
      const rate = fundingRate(-S, SKEW_SCALE[ETH]);
      expect(rate).to.equal(123_456_789_012_345n); // 1e15 × 123.456789012345678901 / 1000, truncated
      expect(await f.fundingState(CORE, ETH)).to.deep.equal([0n, rate]);

      // 12,345 s later (prices stale by then: the mid is still the primary's 3000).
      await time.increaseTo(t1 + 12_345n);
      expect((await f.quote(ETH_KEY)).mid).to.equal(w("3000"));
      const index2 = fundingMove(rate, w("3000"), 12_345n);
      expect(index2).to.equal((rate * 3000n * 12_345n) / DAY);
      expect(await f.fundingState(CORE, ETH)).to.deep.equal([index2, rate]);
      // Pending funding in health: the long pays (rounded up), the pool receives (rounded down).
      const ha = await f.health(a);
      const hp = await f.health(pool);
      expect(ha.pendingFunding).to.equal(mulDiv(S, index2, WAD, true));
      expect(hp.pendingFunding).to.equal(-mulDiv(S, index2, WAD));
      expect(ha.equity).to.equal(BigInt(ha.collateralValue) + ha.cash + ha.unrealizedPnl - ha.pendingFunding);

      // accrueFunding (anyone) moves the index to now and emits FundingAccrued.
      const t3 = t1 + 12_400n;
      await time.setNextBlockTimestamp(t3);
      const index3 = fundingMove(rate, w("3000"), t3 - t1);
      await expect(f.clearing.connect(f.outsider).accrueFunding(CORE, ETH))
        .to.emit(f.clearing, "FundingAccrued")
        .withArgs(CORE, ETH, index3, rate);
      expect(await f.fundingState(CORE, ETH)).to.deep.equal([index3, rate]);

      // The next fill accrues again and settles the traded side's funding into its cash.
      await f.setPrices();
      const b = await f.deposit(f.bob, "USDC", CORE, usdc("100000"));
      const t4 = BigInt(await time.latest()) + 55n;
      await time.setNextBlockTimestamp(t4);
      const index4 = index3 + fundingMove(rate, w("3000"), t4 - t3);
      const paid = fundingOwed(S, index4, 0n);
      expect(paid).to.equal(mulDiv(S, index4, WAD, true));
      const close = applyFillMath(S, fillNotional(S, w("3000")), -w("1"), fillNotional(-w("1"), w("3000")));
      const tx = await f.fill(a, b, ETH, -w("1"), w("3000"));
      await expect(tx).to.emit(f.clearing, "FundingAccrued").withArgs(CORE, ETH, index4, rate);
      await expect(tx).to.emit(f.clearing, "FundingSettled").withArgs(a, ETH, paid);
      const settledFor = clearingEvents(f, (await tx.wait())!)
        .filter((e) => e.name === "FundingSettled")
        .map((e) => e.args[0]);
      expect(settledFor).to.deep.equal([a]); // Bob opened at the current index: nothing owed.
      expect(await f.clearing.cash(a)).to.equal(close.realized - paid);
      expect(await f.position(a, ETH)).to.deep.equal({
        size: close.size,
        openNotional: close.openNotional,
        fundingIndex: index4,
      });
      expect((await f.position(b, ETH)).fundingIndex).to.equal(index4);
      expect((await f.position(pool, ETH)).fundingIndex).to.equal(0n);
    });

    it("settle realizes funding into cash: longs pay rounded up, shorts receive rounded down", async () => {
      const { f, pool, a, t1 } = await poolShort(S);
      const rate = fundingRate(-S, SKEW_SCALE[ETH]);
      // Something to pay the pool out of, so the order of the two settlements does not matter.
      await f.tokens.USDC.mock!.mint(f.outsider.address, usdc("1000"));
      await f.tokens.USDC.mock!.connect(f.outsider).approve(f.vaultAddress, usdc("1000"));
      await f.vault.connect(f.outsider).deposit(f.tokens.USDC.address, usdc("1000"), f.settlement(CORE));

      // Accrue and settle both sides in one block, 7,777 s after the fill.
      const t2 = t1 + 7_777n;
      let sent: ContractTransactionResponse[];
      await ethers.provider.send("evm_setAutomine", [false]);
      try {
        sent = [
          await f.clearing.connect(f.outsider).accrueFunding(CORE, ETH, { gasLimit: 500_000 }),
          await f.clearing.connect(f.carol).settle(a, { gasLimit: 1_000_000 }),
          await f.clearing.connect(f.dave).settle(pool, { gasLimit: 1_000_000 }),
          // A second accrual in the same block changes nothing and emits nothing.
          await f.clearing.connect(f.bob).accrueFunding(CORE, ETH, { gasLimit: 500_000 }),
        ];
        await ethers.provider.send("evm_mine", [Number(t2)]);
      } finally {
        await ethers.provider.send("evm_setAutomine", [true]);
      }
      const [rAccrue, rA, rP, rAgain] = await Promise.all(sent.map(async (tx) => (await tx.wait())!));
      expect(rAgain!.blockNumber).to.equal(rAccrue!.blockNumber);
      expect(clearingEvents(f, rAgain!)).to.deep.equal([]);
      expect(rAccrue!.blockNumber).to.equal(rA!.blockNumber);
      expect(rA!.blockNumber).to.equal(rP!.blockNumber);
      expect(rAccrue!.index).to.equal(0);

      const index = fundingMove(rate, w("3000"), t2 - t1);
      const owedUp = mulDiv(S, index, WAD, true);
      const owedDown = mulDiv(S, index, WAD);
      expect(owedUp - owedDown).to.equal(1n); // the dust stays with the protocol
      expect(clearingEvents(f, rAccrue!)).to.deep.equal([
        { name: "FundingAccrued", args: [BigInt(CORE), BigInt(ETH), index, rate] },
      ]);

      // Alice pays: her cash −owedUp is then settled from her USDC, rounded up to whole units.
      const aliceTokens = mulDiv(owedUp, 1n, USDC_SCALE, true);
      expect(clearingEvents(f, rA!)).to.deep.equal([
        { name: "FundingSettled", args: [a, BigInt(ETH), owedUp] },
        { name: "Settled", args: [a, aliceTokens, aliceTokens * USDC_SCALE - owedUp] },
      ]);
      // The pool receives: +owedDown, paid out rounded down to whole units.
      const poolTokens = owedDown / USDC_SCALE;
      expect(clearingEvents(f, rP!)).to.deep.equal([
        { name: "FundingSettled", args: [pool, BigInt(ETH), -owedDown] },
        { name: "Settled", args: [pool, -poolTokens, owedDown - poolTokens * USDC_SCALE] },
      ]);
      expect(await f.clearing.cash(a)).to.equal(aliceTokens * USDC_SCALE - owedUp);
      expect(await f.clearing.cash(pool)).to.equal(owedDown - poolTokens * USDC_SCALE);
      expect((await f.position(a, ETH)).fundingIndex).to.equal(index);
      expect((await f.position(pool, ETH)).fundingIndex).to.equal(index);
      expect(await f.balance(a, "USDC")).to.equal(usdc("1000000") - aliceTokens);
      expect(await f.balance(pool, "USDC")).to.equal(usdc("2000000") + poolTokens);
      expect(await f.balance(f.settlement(CORE), "USDC")).to.equal(usdc("1000") + aliceTokens - poolTokens);
      // Pending funding is zero right after settling.
      expect((await f.health(a)).pendingFunding).to.equal(0n);
      expect((await f.health(pool)).pendingFunding).to.equal(0n);
    });

    it("settle realizes funding up to the market's last accrual; accrueFunding then settle realizes all of it", async () => {
      const { f, a, t1 } = await poolShort(S);
      const rate = fundingRate(-S, SKEW_SCALE[ETH]);
      // Nobody accrues: 5,000 s after the fill, settling reads no price and realizes nothing yet,
      // while health() already counts the funding as pending (IClearingHouse.settle).
      const t2 = t1 + 5_000n;
      await time.setNextBlockTimestamp(t2);
      await expect(f.clearing.connect(f.carol).settle(a)).to.not.emit(f.clearing, "FundingSettled");
      const index = fundingMove(rate, w("3000"), t2 - t1);
      const owed = mulDiv(S, index, WAD, true);
      expect((await f.health(a)).pendingFunding).to.equal(owed);
      // A keeper accrues the market; the next settle realizes everything owed up to then.
      await time.setNextBlockTimestamp(t2 + 1n);
      await f.clearing.connect(f.carol).accrueFunding(CORE, ETH);
      const index2 = fundingMove(rate, w("3000"), t2 + 1n - t1);
      const owed2 = mulDiv(S, index2, WAD, true);
      await time.setNextBlockTimestamp(t2 + 2n);
      await expect(f.clearing.connect(f.carol).settle(a)).to.emit(f.clearing, "FundingSettled").withArgs(a, ETH, owed2);
      expect((await f.position(a, ETH)).fundingIndex).to.equal(index2);
      // What is pending now is the one second since the accrual (the view runs at the settle's block).
      const oneSecond = fundingMove(rate, w("3000"), 1n);
      expect((await f.health(a)).pendingFunding).to.equal(mulDiv(S, oneSecond, WAD, true));
    });

    it("a long pool makes shorts pay (negative rate); a large skew is clamped at maxFunding", async () => {
      const f = await setup();
      await f.clearing.connect(f.deployer).setPool(CORE, f.poolOwner.address);
      await f.clearing.connect(f.deployer).setPool(PRO, f.poolOwner.address);
      const pool = await f.deposit(f.poolOwner, "USDC", CORE, usdc("100000"));
      const a = await f.deposit(f.alice, "USDC", CORE, usdc("100000"));
      // Core ETH: Alice short 10 against the pool: the pool is long, shorts pay.
      const tx = await f.fill(a, pool, ETH, -w("10"), w("3000"));
      const t1 = await blockTime(tx);
      const rate = fundingRate(w("10"), SKEW_SCALE[ETH]);
      expect(rate).to.equal(-(10n ** 13n));
      expect(await f.fundingState(CORE, ETH)).to.deep.equal([0n, rate]);
      await time.increaseTo(t1 + 7_200n);
      const index = fundingMove(rate, w("3000"), 7_200n);
      expect(index).to.equal(-w("0.0025"));
      expect(await f.fundingState(CORE, ETH)).to.deep.equal([index, rate]);
      expect((await f.health(a)).pendingFunding).to.equal(w("0.025"));
      expect((await f.health(pool)).pendingFunding).to.equal(-w("0.025"));

      // Pro BTC: Alice long 60 BTC, the pool short 60 > skew scale 50: rate clamped at 10 bps/day.
      await f.setPrices();
      const poolPro = await f.deposit(f.poolOwner, "USDC", PRO, usdc("1000000"));
      const aPro = await f.deposit(f.alice, "USDC", PRO, usdc("1000000"));
      const tx2 = await f.fill(aPro, poolPro, BTC, w("60"), w("60000"));
      const t2 = await blockTime(tx2);
      expect(fundingRate(-w("60"), SKEW_SCALE[BTC])).to.equal(10n ** 15n);
      expect(await f.fundingState(PRO, BTC)).to.deep.equal([0n, 10n ** 15n]);
      await time.increaseTo(t2 + DAY);
      // One day at the max rate: 0.1% of 60,000 per BTC.
      expect(await f.fundingState(PRO, BTC)).to.deep.equal([w("60"), 10n ** 15n]);
      expect((await f.health(aPro)).pendingFunding).to.equal(w("3600"));
      // Core BTC is another tier × market: the core pool holds no BTC, so no funding there.
      expect(await f.fundingState(CORE, BTC)).to.deep.equal([0n, 0n]);

      // Pro ETH: the pool long 1500 > skew scale 1000: clamped at −10 bps/day, shorts pay.
      await f.setPrices();
      const tx3 = await f.fill(aPro, poolPro, ETH, -w("1500"), w("3000"));
      const t3 = await blockTime(tx3);
      expect(fundingRate(w("1500"), SKEW_SCALE[ETH])).to.equal(-(10n ** 15n));
      expect(await f.fundingState(PRO, ETH)).to.deep.equal([0n, -(10n ** 15n)]);
      await time.increaseTo(t3 + DAY / 2n);
      expect(await f.fundingState(PRO, ETH)).to.deep.equal([-w("1.5"), -(10n ** 15n)]);
      // Alice pays 1500 × 1.5 on ETH on top of what she owes on BTC since then.
      const btcIndex = fundingMove(10n ** 15n, w("60000"), t3 + DAY / 2n - t2);
      expect((await f.health(aPro)).pendingFunding).to.equal(w("2250") + mulDiv(w("60"), btcIndex, WAD, true));
    });
  });

  // ================================================================ settle

  describe("settle", () => {
    it("pays negative cash from the account's USDC into the settlement bucket, rounded up to whole units; anyone may call", async () => {
      const f = await setup();
      const a = await f.deposit(f.alice, "USDC", CORE, usdc("100"));
      const b = await f.deposit(f.bob, "USDC", CORE, usdc("100000"));
      await f.fill(a, b, ETH, w("0.01"), w("3000"), w("12.3456785"));
      expect(await f.clearing.cash(a)).to.equal(-w("12.3456785"));
      const tierBefore = (await f.vault.tierTotal(CORE, f.tokens.USDC.address))[0];

      const tx = f.clearing.connect(f.carol).settle(a);
      await expect(tx).to.emit(f.clearing, "Settled").withArgs(a, 12_345_679n, w("0.0000005"));
      await expect(tx).to.emit(f.vault, "Moved").withArgs(a, f.settlement(CORE), f.tokens.USDC.address, 12_345_679n);
      expect(await f.clearing.cash(a)).to.equal(w("0.0000005"));
      expect(await f.balance(a, "USDC")).to.equal(usdc("100") - 12_345_679n);
      expect(await f.balance(f.settlement(CORE), "USDC")).to.equal(12_345_679n);
      expect((await f.vault.tierTotal(CORE, f.tokens.USDC.address))[0]).to.equal(tierBefore);

      // The remainder (half a unit) is owed to Alice, but rounds down to nothing: no move, no event.
      await expect(f.clearing.settle(a)).not.to.emit(f.clearing, "Settled");
      expect(await f.clearing.cash(a)).to.equal(w("0.0000005"));
      // An account with zero cash: nothing happens.
      const c = await f.deposit(f.carol, "USDC", CORE, usdc("5"));
      await expect(f.clearing.settle(c)).not.to.emit(f.clearing, "Settled");
      expect(await f.balance(c, "USDC")).to.equal(usdc("5"));
    });

    it("pays positive cash out of the settlement bucket only up to what it holds; what the payer lacks stays negative cash", async () => {
      const f = await setup();
      const a = await f.deposit(f.alice, "USDC", CORE, usdc("10000"));
      // Bob holds 1 WETH and only 40 USDC.
      await f.deposit(f.bob, "WETH", CORE, w("1"));
      const b = await f.deposit(f.bob, "USDC", CORE, usdc("40"));
      await f.fill(a, b, ETH, w("1"), w("3000"));
      // Alice sells back at 3100.0000005: +100.0000005 for her, the same loss for Bob.
      await expect(f.fill(a, b, ETH, -w("1"), w("3100.0000005")))
        .to.emit(f.clearing, "FillApplied")
        .withArgs(a, b, ETH, -w("1"), w("3100.0000005"), 0n, 0n, 0n, 0n, w("100.0000005"), -w("100.0000005"));

      // Nothing to pay Alice from yet.
      await expect(f.clearing.settle(a)).not.to.emit(f.clearing, "Settled");
      expect(await f.clearing.cash(a)).to.equal(w("100.0000005"));

      // Bob pays what USDC he has; the rest stays his (negative) cash, and his WETH is untouched.
      await expect(f.clearing.settle(b)).to.emit(f.clearing, "Settled").withArgs(b, usdc("40"), -w("60.0000005"));
      expect(await f.balance(b, "USDC")).to.equal(0n);
      expect(await f.balance(b, "WETH")).to.equal(w("1"));
      await expect(f.clearing.settle(b)).not.to.emit(f.clearing, "Settled");
      expect(await f.clearing.cash(b)).to.equal(-w("60.0000005"));

      // Alice is paid only the 40 the bucket holds.
      await expect(f.clearing.settle(a)).to.emit(f.clearing, "Settled").withArgs(a, -usdc("40"), w("60.0000005"));
      expect(await f.balance(a, "USDC")).to.equal(usdc("10040"));
      expect(await f.balance(f.settlement(CORE), "USDC")).to.equal(0n);

      // Bob tops up; both finish, rounding in the protocol's favour (one unit of dust stays in the bucket).
      await f.deposit(f.bob, "USDC", CORE, usdc("100"));
      await expect(f.clearing.settle(b)).to.emit(f.clearing, "Settled").withArgs(b, 60_000_001n, w("0.0000005"));
      await expect(f.clearing.settle(a)).to.emit(f.clearing, "Settled").withArgs(a, -60_000_000n, w("0.0000005"));
      expect(await f.balance(f.settlement(CORE), "USDC")).to.equal(1n);
      expect(await f.balance(a, "USDC")).to.equal(usdc("10100"));
      expect(await f.balance(b, "USDC")).to.equal(usdc("100") - 60_000_001n);
    });

    it("ClearingInvalidAccount for unreachable buckets and unlisted tiers", async () => {
      const f = await setup();
      for (const bad of [
        accountBucket(ZeroAddress, CORE, 7n),
        f.acct(f.alice, 9),
        accountBucket(ZeroAddress, 200, 1n),
      ]) {
        await expect(f.clearing.settle(bad))
          .to.be.revertedWithCustomError(f.clearing, "ClearingInvalidAccount")
          .withArgs(bad);
      }
    });
  });

  // ================================================================ withdraw

  describe("withdraw", () => {
    it("free collateral without positions leaves at once (claimId 0), to the receiver", async () => {
      const f = await setup();
      const a = await f.deposit(f.alice, "USDC", CORE, usdc("1000"));
      await f.deposit(f.alice, "WETH", CORE, w("2"));
      const tx = f.clearing.connect(f.alice).withdraw(a, f.tokens.USDC.address, usdc("400"), f.bob.address);
      await expect(tx)
        .to.emit(f.clearing, "CollateralWithdrawn")
        .withArgs(a, f.tokens.USDC.address, f.bob.address, usdc("400"), 0n);
      await expect(tx).to.emit(f.vault, "Withdrawn").withArgs(a, f.tokens.USDC.address, f.bob.address, usdc("400"));
      expect(await f.tokens.USDC.mock!.balanceOf(f.bob.address)).to.equal(usdc("400"));
      expect(await f.balance(a, "USDC")).to.equal(usdc("600"));
      await expect(f.clearing.connect(f.alice).withdraw(a, f.tokens.WETH.address, w("2"), f.alice.address))
        .to.emit(f.clearing, "CollateralWithdrawn")
        .withArgs(a, f.tokens.WETH.address, f.alice.address, w("2"), 0n);
      expect(await f.tokens.WETH.mock!.balanceOf(f.alice.address)).to.equal(w("2"));
    });

    it("over the tier's outflow limit the withdrawal is queued and its claim id reported", async () => {
      const f = await setup();
      const a = await f.deposit(f.alice, "USDC", CORE, usdc("1500000"));
      await expect(f.clearing.connect(f.alice).withdraw(a, f.tokens.USDC.address, usdc("1200000"), f.alice.address))
        .to.emit(f.clearing, "CollateralWithdrawn")
        .withArgs(a, f.tokens.USDC.address, f.alice.address, usdc("1200000"), 1n);
      expect((await f.vault.claim(1n)).amount).to.equal(usdc("1200000"));
      expect(await f.balance(a, "USDC")).to.equal(usdc("300000"));
    });

    it("with a position, what remains must cover IM: exact boundary and ClearingInsufficientMargin(account, equityAfter, im)", async () => {
      const f = await setup();
      const a = await f.deposit(f.alice, "USDC", CORE, usdc("1100"));
      const b = await f.deposit(f.bob, "USDC", CORE, usdc("100000"));
      await f.fill(a, b, ETH, w("1"), w("3000"));
      const im = w("1001.49984");
      expect(await f.health(a)).to.deep.include({ equity: w("1096.7"), im, unrealizedLoss: -w("3.3") });

      await expect(f.clearing.connect(f.alice).withdraw(a, f.tokens.USDC.address, usdc("95.200161"), f.alice.address))
        .to.be.revertedWithCustomError(f.clearing, "ClearingInsufficientMargin")
        .withArgs(a, w("1001.499839"), im);
      await expect(f.clearing.connect(f.alice).withdraw(a, f.tokens.USDC.address, usdc("95.20016"), f.alice.address))
        .to.emit(f.clearing, "CollateralWithdrawn")
        .withArgs(a, f.tokens.USDC.address, f.alice.address, usdc("95.20016"), 0n);
      expect(await f.health(a)).to.deep.include({ equity: im, im });
      await expect(
        f.clearing.connect(f.alice).withdraw(a, f.tokens.USDC.address, 1n, f.alice.address),
      ).to.be.revertedWithCustomError(f.clearing, "ClearingInsufficientMargin");
      // A token the account does not hold removes no value: the vault refuses it.
      await expect(f.clearing.connect(f.alice).withdraw(a, f.tokens.WETH.address, 1n, f.alice.address))
        .to.be.revertedWithCustomError(f.vault, "VaultInsufficientBalance")
        .withArgs(a, f.tokens.WETH.address, 0n, 1n);
    });

    it("settles first: a fee debt is paid from USDC before the check", async () => {
      const f = await setup();
      const a = await f.deposit(f.alice, "USDC", CORE, usdc("1100"));
      const b = await f.deposit(f.bob, "USDC", CORE, usdc("100000"));
      await f.fill(a, b, ETH, w("1"), w("3000"), w("1.5000005"));
      // Settling pays 1.500001 USDC (rounded up) and leaves 0.0000005 of positive cash, which the
      // withdrawal check does not count (it is not in hand until the settlement bucket pays it).
      // Remaining: 1098.499999 USDC − 3.3 ≥ 1001.49984 up to a withdrawal of 93.700159.
      await expect(f.clearing.connect(f.alice).withdraw(a, f.tokens.USDC.address, usdc("93.70016"), f.alice.address))
        .to.be.revertedWithCustomError(f.clearing, "ClearingInsufficientMargin")
        .withArgs(a, w("1001.499839"), w("1001.49984"));
      const tx = f.clearing.connect(f.alice).withdraw(a, f.tokens.USDC.address, usdc("93.700159"), f.alice.address);
      await expect(tx).to.emit(f.clearing, "Settled").withArgs(a, 1_500_001n, w("0.0000005"));
      await expect(tx).to.emit(f.clearing, "CollateralWithdrawn");
      expect(await f.balance(a, "USDC")).to.equal(usdc("1100") - 1_500_001n - usdc("93.700159"));
    });

    it("unrealized profit does not count, and realized profit leaves only once settled", async () => {
      const f = await setup();
      const a = await f.deposit(f.alice, "USDC", CORE, usdc("1100"));
      const b = await f.deposit(f.bob, "USDC", CORE, usdc("100000"));
      await f.fill(a, b, ETH, w("1"), w("3000"));
      await f.setPrices("3300", "3301.5");
      // Marked at 3296.37: +296.37 of unrealized profit; IM on 3305.13.
      const h = await f.health(a);
      expect(h).to.deep.include({ unrealizedPnl: w("296.37"), unrealizedLoss: 0n, equity: w("1396.37") });
      expect(h.im).to.equal(w("1101.599829"));
      // Not even 1 USDC: without the profit, 1100 is below IM already.
      await expect(f.clearing.connect(f.alice).withdraw(a, f.tokens.USDC.address, usdc("1"), f.alice.address))
        .to.be.revertedWithCustomError(f.clearing, "ClearingInsufficientMargin")
        .withArgs(a, w("1099"), w("1101.599829"));

      // Alice realizes it: +300 of cash, no position left; Bob owes 300.
      await f.fill(a, b, ETH, -w("1"), w("3300"));
      expect(await f.clearing.cash(a)).to.equal(w("300"));
      // Nothing in the settlement bucket yet: the profit cannot leave.
      await expect(f.clearing.connect(f.alice).withdraw(a, f.tokens.USDC.address, usdc("1400"), f.alice.address))
        .to.be.revertedWithCustomError(f.vault, "VaultInsufficientBalance")
        .withArgs(a, f.tokens.USDC.address, usdc("1100"), usdc("1400"));
      // Once Bob is settled, Alice's withdrawal settles her first and takes it all.
      await f.clearing.settle(b);
      const tx = f.clearing.connect(f.alice).withdraw(a, f.tokens.USDC.address, usdc("1400"), f.alice.address);
      await expect(tx).to.emit(f.clearing, "Settled").withArgs(a, -usdc("300"), 0n);
      await expect(tx)
        .to.emit(f.clearing, "CollateralWithdrawn")
        .withArgs(a, f.tokens.USDC.address, f.alice.address, usdc("1400"), 0n);
      expect(await f.tokens.USDC.mock!.balanceOf(f.alice.address)).to.equal(usdc("1400"));
    });

    it("non-quote collateral counts at 80% of the band's low side (WETH in core)", async () => {
      const f = await setup();
      const a = await f.deposit(f.alice, "WETH", CORE, w("1"));
      const b = await f.deposit(f.bob, "USDC", CORE, usdc("100000"));
      expect((await f.health(a)).collateralValue).to.equal(w("2397.36")); // 2996.7 × 80%
      await f.fill(a, b, ETH, w("0.5"), w("3000"));
      // IM 33.33% of 0.5 × 3004.8; uPnL 0.5 × 2996.7 − 1500 = −1.65.
      const h = await f.health(a);
      expect(h).to.deep.include({ im: w("500.74992"), unrealizedLoss: -w("1.65"), equity: w("2395.71") });

      // Keeping 0.2 WETH: 0.2 × 2996.7 × 80% − 1.65 = 477.822 < IM.
      await expect(f.clearing.connect(f.alice).withdraw(a, f.tokens.WETH.address, w("0.8"), f.alice.address))
        .to.be.revertedWithCustomError(f.clearing, "ClearingInsufficientMargin")
        .withArgs(a, w("477.822"), w("500.74992"));
      // Keeping 0.3 WETH: 717.558 ≥ IM.
      await expect(f.clearing.connect(f.alice).withdraw(a, f.tokens.WETH.address, w("0.7"), f.alice.address))
        .to.emit(f.clearing, "CollateralWithdrawn")
        .withArgs(a, f.tokens.WETH.address, f.alice.address, w("0.7"), 0n);
      expect(await f.tokens.WETH.mock!.balanceOf(f.alice.address)).to.equal(w("0.7"));
      expect((await f.health(a)).collateralValue).to.equal(w("719.208"));
    });

    it("a debt without positions must stay covered: collateral cannot leave while it would not cover negative cash", async () => {
      const f = await setup();
      const a = await f.deposit(f.alice, "WETH", CORE, w("1"));
      const b = await f.deposit(f.bob, "USDC", CORE, usdc("100000"));
      await f.fill(a, b, ETH, w("0.5"), w("3000"));
      await f.fill(a, b, ETH, -w("0.5"), w("2000")); // a close at −500
      expect(await f.clearing.cash(a)).to.equal(-w("500"));
      expect(await f.markets(a)).to.deep.equal([]);
      // No USDC to settle with: the debt stays.
      await expect(f.clearing.connect(f.alice).withdraw(a, f.tokens.WETH.address, w("1"), f.alice.address))
        .to.be.revertedWithCustomError(f.clearing, "ClearingInsufficientMargin")
        .withArgs(a, -w("500"), 0n);
      // 0.4 WETH left: 958.944 − 500 ≥ 0.
      await f.clearing.connect(f.alice).withdraw(a, f.tokens.WETH.address, w("0.6"), f.alice.address);
      expect(await f.balance(a, "WETH")).to.equal(w("0.4"));
      expect(await f.clearing.cash(a)).to.equal(-w("500"));
    });

    it("paused deposits never block a withdrawal", async () => {
      const f = await setup();
      const a = await f.deposit(f.alice, "USDC", CORE, usdc("2000"));
      const b = await f.deposit(f.bob, "USDC", CORE, usdc("100000"));
      await f.fill(a, b, ETH, w("1"), w("3000"));
      await f.vault.connect(f.guardian).pauseDeposits();
      expect(await f.vault.depositsPaused()).to.equal(true);
      await expect(f.clearing.connect(f.alice).withdraw(a, f.tokens.USDC.address, usdc("500"), f.alice.address))
        .to.emit(f.clearing, "CollateralWithdrawn")
        .withArgs(a, f.tokens.USDC.address, f.alice.address, usdc("500"), 0n);
      await f.fill(a, b, ETH, -w("1"), w("3000"));
      await expect(
        f.clearing.connect(f.alice).withdraw(a, f.tokens.USDC.address, usdc("1500"), f.alice.address),
      ).to.emit(f.clearing, "CollateralWithdrawn");
      expect(await f.balance(a, "USDC")).to.equal(0n);
    });
  });

  // ================================================================ health

  describe("health", () => {
    it("exact figures: weighted collateral, cash, PnL on the conservative side, requirements", async () => {
      const f = await setup();
      await f.deposit(f.alice, "WETH", CORE, w("0.5"));
      await f.deposit(f.alice, "WBTC", CORE, 12_345_678n); // 0.12345678 WBTC (8 decimals)
      const a = await f.deposit(f.alice, "USDC", CORE, usdc("15000"));
      const b = await f.deposit(f.bob, "USDC", CORE, usdc("1000000"));
      expect(await f.health(a)).to.deep.equal({
        collateralValue: w("15000") + w("1198.68") + coreWeighted(mulDiv(12_345_678n, BTC_Q.lower, 10n ** 8n)),
        cash: 0n,
        unrealizedPnl: 0n,
        unrealizedLoss: 0n,
        pendingFunding: 0n,
        equity: w("15000") + w("1198.68") + coreWeighted(mulDiv(12_345_678n, BTC_Q.lower, 10n ** 8n)),
        im: 0n,
        mm: 0n,
        backstop: 0n,
        positions: 0n,
      });

      await f.fill(a, b, ETH, w("2"), w("3000"), w("0.3"));
      await f.fill(a, b, BTC, -w("0.5"), w("60100"));
      const collateral = w("15000") + w("1198.68") + coreWeighted(mulDiv(12_345_678n, BTC_Q.lower, 10n ** 8n));
      // 0.12345678 × 59934 = 7399.25865252, at 80%.
      expect(coreWeighted(mulDiv(12_345_678n, BTC_Q.lower, 10n ** 8n))).to.equal(w("5919.406922016"));
      // ETH long 2 marked at 2996.7: −6.6. BTC short 0.5 marked at 60066: 30050 − 30033 = +17.
      const ethIm = requirements(CORE, w("6009.6"));
      const btcIm = requirements(CORE, w("30033"));
      expect(ethIm.im + btcIm.im).to.equal(w("12012.99858"));
      expect(await f.health(a)).to.deep.equal({
        collateralValue: collateral,
        cash: -w("0.3"),
        unrealizedPnl: w("10.4"),
        unrealizedLoss: -w("6.6"),
        pendingFunding: 0n,
        equity: collateral - w("0.3") + w("10.4"),
        im: ethIm.im + btcIm.im,
        mm: ethIm.mm + btcIm.mm,
        backstop: ethIm.backstop + btcIm.backstop,
        positions: 2n,
      });
      expect(ethIm.mm + btcIm.mm).to.equal(w("6008.30142"));
      expect(ethIm.backstop + btcIm.backstop).to.equal(w("2883.408"));
    });

    it("requirements add the bracket rates above 1,000,000 and 5,000,000 of notional", async () => {
      const f = await setup();
      const a = await f.deposit(f.alice, "USDC", PRO, usdc("600000"));
      const b = await f.deposit(f.bob, "USDC", PRO, usdc("600000"));
      await f.fill(a, b, ETH, w("1000"), w("3000"));
      // 3,004,800 of notional: 5% + 0.5% on the 2,004,800 above 1,000,000.
      for (const acc of [a, b]) {
        expect(await f.health(acc)).to.deep.include({ im: w("160264"), mm: w("85144"), backstop: w("46081.6") });
      }
      await f.fill(a, b, ETH, w("1000"), w("3000"));
      // 6,009,600: + 1% more on the 1,009,600 above 5,000,000.
      for (const acc of [a, b]) {
        expect(await f.health(acc)).to.deep.include({ im: w("335624"), mm: w("185384"), backstop: w("107259.2") });
      }
      expect(requirements(PRO, w("6009600"))).to.deep.equal({
        im: w("335624"),
        mm: w("185384"),
        backstop: w("107259.2"),
      });
    });

    it("requirements use the ratios in force on a tightening ramp, not the target", async () => {
      const f = await setup();
      const a = await f.deposit(f.alice, "USDC", PRO, usdc("10000"));
      const b = await f.deposit(f.bob, "USDC", PRO, usdc("10000"));
      await f.fill(a, b, ETH, w("10"), w("3000"));
      // RISK tightens pro ETH from 5% / 2.5% / 1.2% to 6% / 3% / 1.5% (a three-day ramp), after the cooldown.
      await time.increase(DAY);
      const tighter = { ...toMarketRisk(f.d.config.tiers[1]!.markets[0]!) };
      tighter.ratios = { imr: 600, mmr: 300, bmr: 150 };
      const t0 = await blockTime(await f.riskEngine.connect(f.risk).setMarketRisk(PRO, ETH, tighter));

      const ramp = 3n * DAY;
      const at = (from: bigint, to: bigint, elapsed: bigint) => from + mulDiv(to - from, elapsed, ramp, true);
      for (const elapsed of [DAY, 2n * DAY + 7n, ramp, ramp + DAY]) {
        await time.increaseTo(t0 + elapsed);
        const e = elapsed > ramp ? ramp : elapsed;
        const r = { imr: at(500n, 600n, e), mmr: at(250n, 300n, e), bmr: at(120n, 150n, e) };
        const now = await f.riskEngine.currentRatios(PRO, ETH);
        expect({ imr: now.imr, mmr: now.mmr, bmr: now.bmr }).to.deep.equal(r);
        const q = await f.quote(ETH_KEY);
        const notional = notionalUp(w("10"), q.upper);
        expect(await f.health(a)).to.deep.include({
          im: requirement(notional, r.imr),
          mm: requirement(notional, r.mmr),
          backstop: requirement(notional, r.bmr),
        });
      }
      expect((await f.riskEngine.currentRatios(PRO, ETH)).imr).to.equal(600n);
    });

    it("collateral above the size threshold counts at the excess weight", async () => {
      const f = await setup();
      const a = await f.deposit(f.alice, "WETH", CORE, w("2000"));
      // 2000 × 2996.7 = 5,993,400: 80% of 5,000,000 + 60% of 993,400.
      expect((await f.health(a)).collateralValue).to.equal(w("4596040"));
    });

    it("never reverts for a stale ETH feed: the band widens with age, while risk increases are refused", async () => {
      const f = await setup();
      const a = await f.deposit(f.alice, "USDC", CORE, usdc("2000"));
      const b = await f.deposit(f.bob, "USDC", CORE, usdc("100000"));
      await f.fill(a, b, ETH, w("1"), w("3000"));
      const updatedAt = (await f.feeds.ethPrimary.latestRoundData())[3];
      const age = PRIMARY_MAX_AGE + 3_017n;
      await time.increaseTo(updatedAt + age);
      await expect(f.oracle.getPrice(ETH_KEY)).to.be.revertedWithCustomError(f.oracle, "OracleStalePrice");

      // Both feeds are stale: the primary's own band, at 10 + ceil(age × 50 / 3600) bps.
      const bps = confidenceBps(age);
      expect(bps).to.equal(10n + 101n);
      const q = band(w("3000"), bps);
      expect(await f.quote(ETH_KEY)).to.deep.equal(q);
      const h = await f.health(a);
      expect(h).to.deep.include({
        collateralValue: w("2000"),
        unrealizedPnl: unrealizedPnl(w("1"), w("3000"), q.lower),
        unrealizedLoss: unrealizedPnl(w("1"), w("3000"), q.lower),
        equity: w("2000") + unrealizedPnl(w("1"), w("3000"), q.lower),
        im: requirement(notionalUp(w("1"), q.upper), 3_333n),
        mm: requirement(notionalUp(w("1"), q.upper), 1_667n),
      });
      expect(h.unrealizedPnl).to.equal(-w("33.3"));

      // An increase needs the strict price; a reduction does not.
      await expect(f.fill(a, b, ETH, w("0.1"), w("3000"))).to.be.revertedWithCustomError(f.oracle, "OracleStalePrice");
      await expect(f.fill(a, b, ETH, -w("0.1"), w("3000"))).to.emit(f.clearing, "FillApplied");
      // Withdrawals use the conservative band as well and stay possible.
      await expect(
        f.clearing.connect(f.alice).withdraw(a, f.tokens.USDC.address, usdc("100"), f.alice.address),
      ).to.emit(f.clearing, "CollateralWithdrawn");
    });

    it("a disagreeing secondary widens the band to span both feeds; increases are refused, health is not", async () => {
      const f = await setup();
      const a = await f.deposit(f.alice, "USDC", CORE, usdc("2000"));
      const b = await f.deposit(f.bob, "USDC", CORE, usdc("100000"));
      await f.fill(a, b, ETH, w("1"), w("3000"));
      await f.fill(b, a, ETH, w("0.1"), w("3000"));
      // The secondary reads 3100 (3.34% away, over the 2% deviation limit).
      await f.setPrices("3000", "3100");
      await expect(f.oracle.getPrice(ETH_KEY)).to.be.revertedWithCustomError(f.oracle, "OraclePriceDeviation");
      const q = band(w("3000"), 11n, w("3100"));
      expect(q.upper).to.equal(w("3103.3"));
      expect(await f.quote(ETH_KEY)).to.deep.equal(q);
      // Long 0.9 at 3000: marked at 2996.7; IM on 0.9 × 3103.3 (the high side follows the secondary).
      expect(await f.health(a)).to.deep.include({
        unrealizedPnl: -w("2.97"),
        im: requirement(notionalUp(w("0.9"), q.upper), 3_333n),
        equity: w("2000") - w("2.97"),
      });
      expect(requirement(notionalUp(w("0.9"), q.upper), 3_333n)).to.equal(w("930.896901"));
      await expect(f.fill(a, b, ETH, w("0.1"), w("3000"))).to.be.revertedWithCustomError(
        f.oracle,
        "OraclePriceDeviation",
      );
      await expect(f.fill(a, b, ETH, -w("0.1"), w("3000"))).to.emit(f.clearing, "FillApplied");
    });

    it("ClearingPriceUnavailable(asset) only when an asset has no price at all", async () => {
      const f = await setup();
      const a = await f.deposit(f.alice, "USDC", CORE, usdc("100000"));
      const b = await f.deposit(f.bob, "USDC", CORE, usdc("100000"));
      await f.fill(a, b, BTC, w("0.1"), w("60000"));
      // The BTC feed answers 0 (invalid), there is no secondary and no recorded price.
      await f.feeds.btcPrimary.updateAnswer(0n);
      await expect(f.clearing.health(a))
        .to.be.revertedWithCustomError(f.clearing, "ClearingPriceUnavailable")
        .withArgs(BTC_KEY);
      // An account without BTC exposure is unaffected.
      const c = await f.deposit(f.carol, "USDC", CORE, usdc("5"));
      expect((await f.health(c)).equity).to.equal(w("5"));
    });

    it("ClearingInvalidAccount for unreachable buckets and unlisted tiers", async () => {
      const f = await setup();
      for (const bad of [accountBucket(ZeroAddress, CORE, 3n), f.acct(f.alice, 9)]) {
        await expect(f.clearing.health(bad))
          .to.be.revertedWithCustomError(f.clearing, "ClearingInvalidAccount")
          .withArgs(bad);
      }
    });
  });

  // ================================================================ tier firewall

  describe("tier firewall", () => {
    it("a fill and settlements in edge leave every core and pro figure unchanged", async () => {
      const f = await setup();
      const users = [f.alice, f.bob, f.carol, f.dave];
      const tokens = Object.values(f.tokens).map((t) => t.address);
      // Core and pro activity: positions, cash, fees, settlement balances.
      const ca = await f.deposit(f.alice, "USDC", CORE, usdc("100000"));
      const cb = await f.deposit(f.bob, "USDC", CORE, usdc("100000"));
      await f.deposit(f.bob, "WETH", CORE, w("3"));
      const pc = await f.deposit(f.carol, "USDC", PRO, usdc("100000"));
      const pd = await f.deposit(f.dave, "USDC", PRO, usdc("100000"));
      await f.fill(ca, cb, ETH, w("3"), w("3000"), w("1"), w("0.5"));
      await f.fill(ca, cb, BTC, -w("0.2"), w("60000"), w("2"), 0n);
      await f.fill(ca, cb, ETH, -w("1"), w("3050"));
      await f.fill(pc, pd, ETH, w("10"), w("3000"), w("3"), w("1"));
      await f.fill(pc, pd, BTC, w("1"), w("60000"));
      await f.clearing.settle(cb);
      await f.clearing.settle(pc);
      // Edge accounts of the same owners.
      const ea = await f.deposit(f.alice, "USDC", EDGE, usdc("100000"));
      const eb = await f.deposit(f.bob, "USDC", EDGE, usdc("100000"));

      const snapshot = async () => {
        const out: Record<string, unknown> = {};
        for (const tier of [CORE, PRO]) {
          const buckets = [
            ...users.map((u) => f.acct(u, tier)),
            f.acct(f.poolOwner, tier),
            f.settlement(tier),
            f.insurance(tier),
          ];
          for (const bucket of buckets) {
            out[`cash:${bucket}`] = await f.clearing.cash(bucket);
            out[`markets:${bucket}`] = await f.markets(bucket);
            for (const m of [ETH, BTC]) out[`pos:${bucket}:${m}`] = await f.position(bucket, m);
            for (const t of tokens) out[`bal:${bucket}:${t}`] = await f.vault.balanceOf(bucket, t);
          }
          for (const t of tokens) out[`tier:${tier}:${t}`] = await f.vault.tierTotal(tier, t);
          for (const m of [ETH, BTC]) {
            out[`oi:${tier}:${m}`] = await f.clearing.openInterest(tier, m);
            out[`funding:${tier}:${m}`] = await f.fundingState(tier, m);
          }
          out[`pool:${tier}`] = await f.clearing.pool(tier);
        }
        return out;
      };
      const before = await snapshot();

      await f.clearing.connect(f.deployer).setPool(EDGE, f.poolOwner.address);
      await f.fill(ea, eb, ETH, w("20"), w("3000"), w("5"), w("2"));
      await f.fill(ea, eb, ETH, -w("20"), w("2900"));
      await f.clearing.settle(ea);
      await f.clearing.settle(eb);
      await f.clearing.settle(f.insurance(EDGE));
      await f.clearing.connect(f.bob).withdraw(eb, f.tokens.USDC.address, usdc("1000"), f.bob.address);
      expect(await f.clearing.cash(f.insurance(EDGE))).to.equal(0n);
      expect(await f.balance(f.insurance(EDGE), "USDC")).to.equal(usdc("7"));
      expect(await f.balance(ea, "USDC")).to.equal(usdc("100000") - usdc("2005"));

      expect(await snapshot()).to.deep.equal(before);
    });
  });
});
