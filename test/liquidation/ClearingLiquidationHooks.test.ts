import { expect } from "chai";
import { ZeroAddress, parseUnits, type ContractTransactionReceipt, type Interface } from "ethers";

import { accountBucket, insuranceBucket, settlementBucket } from "../../sdk/src/client/buckets.js";
import { toMarketRisk } from "../../sdk/src/deploy/foundation.js";
import { Role } from "../../sdk/src/deploy/roles.js";
import {
  BPS,
  BTC,
  CORE,
  ETH,
  ETH_KEY,
  PRO,
  SKEW_SCALE,
  WAD,
  applyFillMath,
  fillNotional,
  fundingMove,
  fundingOwed,
  fundingRate,
  min,
  mulDiv,
  usdc,
  w,
} from "../clearing/clearingFixture.js";
import { connectChain, deployLocalFoundation } from "../helpers/foundation.js";

const chain = await connectChain();
const { ethers, networkHelpers } = chain;
const { time } = networkHelpers;

/** Pro's ETH settings (deploy/local.ts) that a partial liquidation uses. */
const PRO_ETH = { mmr: 250n, penaltyBps: 100n, keeperShareBps: 3_000n, keeperRewardCap: w("1000") };
/** LiquidationMath.HEALTH_BUFFER_BPS and DUST_NOTIONAL. */
const HEALTH_BUFFER_BPS = 1_000n;
const DUST_NOTIONAL = w("10");

/**
 * The local foundation with a backstop pool per tier. Pro's pool holds 1,000,000 USDC of LP capital; the
 * trader (10,000 USDC) is long 60 ETH at 3,000 against the maker (200,000 USDC), no fees. `bot` and
 * `registrant` hold no role and are not registered; `outsider` never gets anything.
 */
async function hooksFixture() {
  const f = await deployLocalFoundation(chain, { pools: true });
  const { d } = f;
  const signers = await ethers.getSigners();
  const [bot, registrant, outsider] = [signers[10]!, signers[11]!, signers[12]!];
  const [lp, trader, maker, keeper] = [f.alice, f.bob, f.carol, f.mallory];
  type User = typeof lp;
  const tokens = { USDC: d.tokens.USDC!, WETH: d.tokens.WETH!, WBTC: d.tokens.WBTC! };
  const vaultAddress = await d.vault.getAddress();
  const clearingAddress = await d.clearing.getAddress();
  const engineAddress = await d.liquidation.getAddress();
  const managerAddress = await d.manager.getAddress();
  const eth = d.assets["ETH/USD"]!;
  const btc = d.assets["BTC/USD"]!;
  const pool = d.pools[PRO]!;
  const poolAddress = await pool.getAddress();
  const poolAccount = accountBucket(poolAddress, PRO, 0n);

  /** Mints `amount` of `symbol` to `user`, approves the vault and deposits it into `bucket`. */
  async function fund(user: User, symbol: keyof typeof tokens, bucket: bigint, amount: bigint) {
    const token = tokens[symbol];
    await (await token.mock!.mint(user.address, amount)).wait();
    await (await token.mock!.connect(user).approve(vaultAddress, amount)).wait();
    await (await d.vault.connect(user).deposit(token.address, amount, bucket)).wait();
  }

  /** Fresh rounds on every feed (both ETH feeds at one price, so the band is the base confidence), then a block. */
  async function setPrices(ethPrice: string, btcPrice = "60000") {
    await (await eth.mockPrimary!.updateAnswer(parseUnits(ethPrice, 8))).wait();
    await (await eth.mockSecondary!.updateAnswer(parseUnits(ethPrice, 18))).wait();
    await (await btc.mockPrimary!.updateAnswer(parseUnits(btcPrice, 8))).wait();
    await networkHelpers.mine();
  }

  /** A fill as the execution layer (EXECUTOR), no fees. */
  async function fill(taker: bigint, makerAccount: bigint, market: number, size: bigint, price: bigint) {
    await (
      await d.clearing.connect(f.executor).applyFill({
        taker,
        maker: makerAccount,
        market,
        size,
        price,
        takerFee: 0n,
        makerFee: 0n,
        poolFee: 0n,
        protocolFee: 0n,
        protocol: 0n,
      })
    ).wait();
  }

  /** Grants `account` the LIQUIDATOR role through the AccessManager (ADMIN, no delay). */
  async function grantLiquidator(account: string) {
    await (await d.manager.connect(f.deployer).grantRole(Role.LIQUIDATOR, account, 0)).wait();
  }

  await (await tokens.USDC.mock!.mint(lp.address, usdc("1000000"))).wait();
  await (await tokens.USDC.mock!.connect(lp).approve(poolAddress, usdc("1000000"))).wait();
  await (await pool.connect(lp).deposit(usdc("1000000"), lp.address)).wait();

  await setPrices("3000");
  const traderAccount = accountBucket(trader.address, PRO, 0n);
  const makerAccount = accountBucket(maker.address, PRO, 0n);
  const keeperAccount = accountBucket(keeper.address, PRO, 0n);
  await fund(trader, "USDC", traderAccount, usdc("10000"));
  await fund(maker, "USDC", makerAccount, usdc("200000"));
  await fill(traderAccount, makerAccount, ETH, 60n * WAD, 3000n * WAD);

  return {
    ...f,
    bot,
    registrant,
    outsider,
    lp,
    trader,
    maker,
    keeper,
    tokens,
    vaultAddress,
    clearingAddress,
    engineAddress,
    managerAddress,
    pool,
    poolAddress,
    poolAccount,
    traderAccount,
    makerAccount,
    keeperAccount,
    fund,
    setPrices,
    fill,
    grantLiquidator,
  };
}

type Fixture = Awaited<ReturnType<typeof hooksFixture>>;

/** The fixture with `bot` granted the LIQUIDATOR role (not registered). */
async function liquidatorFixture() {
  const f = await hooksFixture();
  await f.grantLiquidator(f.bot.address);
  return f;
}

/** Every figure a liquidation hook could move for `accounts` (both markets), plus the tier's aggregates. */
async function snapshot(f: Fixture, accounts: bigint[]) {
  const out: Record<string, unknown> = {};
  for (const a of accounts) {
    out[`markets:${a}`] = [...(await f.d.clearing.accountMarkets(a))];
    for (const m of [ETH, BTC]) {
      const p = await f.d.clearing.position(a, m);
      out[`position:${a}:${m}`] = [p.size, p.openNotional, p.fundingIndex];
    }
    out[`cash:${a}`] = await f.d.clearing.cash(a);
    for (const t of Object.values(f.tokens)) out[`balance:${a}:${t.symbol}`] = await f.d.vault.balanceOf(a, t.address);
  }
  out.oi = [await f.d.clearing.openInterest(PRO, ETH), await f.d.clearing.openInterest(PRO, BTC)];
  out.reserve = await f.d.vault.reserveBalance(f.tokens.USDC.address);
  out.reserveAvailable = await f.d.vault.reserveAvailable(PRO, f.tokens.USDC.address);
  return out;
}

/** The accounts of pro the tests watch: trader, maker, pool, keeper, insurance fund, settlement bucket. */
const watched = (f: Fixture) => [
  f.traderAccount,
  f.makerAccount,
  f.poolAccount,
  f.keeperAccount,
  insuranceBucket(PRO),
  settlementBucket(PRO),
];

/** Cash of `account`, of the keeper's account, of pro's insurance fund and of the pool's account. */
function liquidationCash(f: Fixture, account: bigint) {
  const cash = (a: bigint) => f.d.clearing.cash(a);
  return Promise.all([cash(account), cash(f.keeperAccount), cash(insuranceBucket(PRO)), cash(f.poolAccount)] as const);
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

/** LiquidationMath.plan for a long of `size` in pro's ETH market, from the account's health and the band's low side. */
function expectedLongPlan(h: { equity: bigint; mm: bigint; backstop: bigint }, size: bigint, lower: bigint) {
  const mark = lower;
  const target = mulDiv(h.mm, BPS + HEALTH_BUFFER_BPS, BPS, true);
  const equity = h.equity > 0n ? h.equity : 0n;
  const denominator = ((BPS + HEALTH_BUFFER_BPS) * PRO_ETH.mmr) / BPS - PRO_ETH.penaltyBps;
  const notional = mulDiv(target - equity, BPS, denominator, true);
  let closeSize = mulDiv(notional, WAD, mark, true);
  if (closeSize >= size || mulDiv(size - closeSize, mark, WAD) < DUST_NOTIONAL) closeSize = size;
  const penalty = mulDiv(mulDiv(closeSize, mark, WAD), PRO_ETH.penaltyBps, BPS, true);
  const fallen = h.mm - h.equity;
  const share = min(BPS, PRO_ETH.keeperShareBps + mulDiv(BPS - PRO_ETH.keeperShareBps, fallen, h.mm - h.backstop));
  const reward = min(mulDiv(penalty, share, BPS), PRO_ETH.keeperRewardCap);
  return { closeSize, mark, penalty, reward };
}

describe("ClearingHouse liquidation hooks", () => {
  // ================================================================ access

  describe("access", () => {
    it("every hook refuses a caller without the LIQUIDATOR role with AccessManagedUnauthorized(caller); nothing moves", async () => {
      const f = await networkHelpers.loadFixture(hooksFixture);
      // Funded reserve and an account below MM: each call would move something if it were allowed.
      await (await f.tokens.USDC.mock!.mint(f.deployer.address, usdc("500000"))).wait();
      await (await f.tokens.USDC.mock!.approve(f.vaultAddress, usdc("500000"))).wait();
      await (await f.d.vault.fundReserve(f.tokens.USDC.address, usdc("500000"))).wait();
      await f.setPrices("2905");
      expect((await f.d.liquidation.preview(f.traderAccount, ETH)).liquidatable).to.equal(true);
      const outsiderAccount = accountBucket(f.outsider.address, PRO, 0n);
      const accounts = [...watched(f), outsiderAccount];
      const before = await snapshot(f, accounts);

      // The executor and ADMIN hold other roles, none of which is LIQUIDATOR.
      for (const caller of [f.outsider, f.keeper, f.executor, f.deployer]) {
        const c = f.d.clearing.connect(caller);
        // Each call is sent only when awaited, one at a time.
        const calls = {
          liquidate: () => c.liquidate(f.traderAccount, ETH, 0n, caller.address),
          beginBatch: () => c.beginBatch(),
          endBatch: () => c.endBatch(),
          transferPosition: () => c.transferPosition(f.traderAccount, outsiderAccount, ETH, WAD, 3000n * WAD),
          transferCash: () => c.transferCash(f.makerAccount, outsiderAccount, w("100")),
          transferCollateral: () =>
            c.transferCollateral(f.makerAccount, outsiderAccount, f.tokens.USDC.address, usdc("100")),
          drawReserve: () => c.drawReserve(outsiderAccount, usdc("100")),
        };
        for (const [name, call] of Object.entries(calls)) {
          await expect(call(), `${name} by ${caller.address}`)
            .to.be.revertedWithCustomError(f.d.clearing, "AccessManagedUnauthorized")
            .withArgs(caller.address);
        }
        expect(await f.d.clearing.isLiquidator(caller.address)).to.equal(false);
      }
      expect(await snapshot(f, accounts)).to.deep.equal(before);
    });

    it("the deployed engine is registered and holds the LIQUIDATOR role; nobody else is registered", async () => {
      const f = await networkHelpers.loadFixture(hooksFixture);
      expect(await f.d.clearing.isLiquidator(f.engineAddress)).to.equal(true);
      expect([...(await f.d.manager.hasRole(Role.LIQUIDATOR, f.engineAddress))]).to.deep.equal([true, 0n]);
      for (const account of [f.deployer.address, f.executor.address, f.bot.address, f.managerAddress, ZeroAddress]) {
        expect(await f.d.clearing.isLiquidator(account)).to.equal(false);
      }
    });

    it("the role route: a LIQUIDATOR role holder that is not registered may call the hooks; once revoked it may not", async () => {
      const f = await networkHelpers.loadFixture(liquidatorFixture);
      expect(await f.d.clearing.isLiquidator(f.bot.address)).to.equal(false);
      expect([...(await f.d.manager.hasRole(Role.LIQUIDATOR, f.bot.address))]).to.deep.equal([true, 0n]);
      const clearing = f.d.clearing.connect(f.bot);

      await (await clearing.beginBatch()).wait();
      await (await clearing.endBatch()).wait();

      // Cash between two accounts of one tier: exactly the amount, from one to the other.
      const [makerCash, keeperCash] = [
        await f.d.clearing.cash(f.makerAccount),
        await f.d.clearing.cash(f.keeperAccount),
      ];
      await expect(clearing.transferCash(f.makerAccount, f.keeperAccount, w("12.5")))
        .to.emit(f.d.clearing, "CashTransferred")
        .withArgs(f.makerAccount, f.keeperAccount, w("12.5"));
      expect(await f.d.clearing.cash(f.makerAccount)).to.equal(makerCash - w("12.5"));
      expect(await f.d.clearing.cash(f.keeperAccount)).to.equal(keeperCash + w("12.5"));

      // Collateral between two accounts of one tier.
      const makerUsdc = await f.d.vault.balanceOf(f.makerAccount, f.tokens.USDC.address);
      await (
        await clearing.transferCollateral(f.makerAccount, f.keeperAccount, f.tokens.USDC.address, usdc("7"))
      ).wait();
      expect(await f.d.vault.balanceOf(f.makerAccount, f.tokens.USDC.address)).to.equal(makerUsdc - usdc("7"));
      expect(await f.d.vault.balanceOf(f.keeperAccount, f.tokens.USDC.address)).to.equal(usdc("7"));

      // Still the tier firewall: accounts of two tiers are refused, nothing moves.
      const coreAccount = accountBucket(f.keeper.address, CORE, 0n);
      const before = await snapshot(f, [...watched(f), coreAccount]);
      await expect(clearing.transferCash(f.makerAccount, coreAccount, w("1")))
        .to.be.revertedWithCustomError(f.d.clearing, "ClearingCrossTierTransfer")
        .withArgs(f.makerAccount, coreAccount);
      expect(await snapshot(f, [...watched(f), coreAccount])).to.deep.equal(before);

      await (await f.d.manager.connect(f.deployer).revokeRole(Role.LIQUIDATOR, f.bot.address)).wait();
      await expect(clearing.beginBatch())
        .to.be.revertedWithCustomError(f.d.clearing, "AccessManagedUnauthorized")
        .withArgs(f.bot.address);
      await expect(clearing.transferCash(f.makerAccount, f.keeperAccount, w("1")))
        .to.be.revertedWithCustomError(f.d.clearing, "AccessManagedUnauthorized")
        .withArgs(f.bot.address);
      expect(await snapshot(f, [...watched(f), coreAccount])).to.deep.equal(before);
    });

    it("the registered route: a registered address without the role may call the hooks; unregistered it may not", async () => {
      const f = await networkHelpers.loadFixture(hooksFixture);
      expect([...(await f.d.manager.hasRole(Role.LIQUIDATOR, f.registrant.address))]).to.deep.equal([false, 0n]);
      const clearing = f.d.clearing.connect(f.registrant);
      const unregistered = await snapshot(f, watched(f));
      await expect(clearing.transferCash(f.makerAccount, f.keeperAccount, w("3")))
        .to.be.revertedWithCustomError(f.d.clearing, "AccessManagedUnauthorized")
        .withArgs(f.registrant.address);
      expect(await snapshot(f, watched(f))).to.deep.equal(unregistered);

      await (await f.d.clearing.connect(f.deployer).setLiquidator(f.registrant.address, true)).wait();
      await (await clearing.beginBatch()).wait();
      await (await clearing.endBatch()).wait();
      await expect(clearing.transferCash(f.makerAccount, f.keeperAccount, w("3")))
        .to.emit(f.d.clearing, "CashTransferred")
        .withArgs(f.makerAccount, f.keeperAccount, w("3"));
      expect(await f.d.clearing.cash(f.keeperAccount)).to.equal(w("3"));

      await (await f.d.clearing.connect(f.deployer).setLiquidator(f.registrant.address, false)).wait();
      const before = await snapshot(f, watched(f));
      await expect(clearing.transferCash(f.makerAccount, f.keeperAccount, w("3")))
        .to.be.revertedWithCustomError(f.d.clearing, "AccessManagedUnauthorized")
        .withArgs(f.registrant.address);
      expect(await snapshot(f, watched(f))).to.deep.equal(before);
    });
  });

  // ================================================================ setLiquidator

  describe("setLiquidator", () => {
    it("only ADMIN: AccessManagedUnauthorized(caller) for anyone else, LIQUIDATOR role holders included", async () => {
      const f = await networkHelpers.loadFixture(liquidatorFixture);
      for (const caller of [f.outsider, f.bot, f.risk, f.executor, f.guardian]) {
        for (const [account, registered] of [
          [caller.address, true],
          [f.engineAddress, false],
        ] as const) {
          await expect(f.d.clearing.connect(caller).setLiquidator(account, registered))
            .to.be.revertedWithCustomError(f.d.clearing, "AccessManagedUnauthorized")
            .withArgs(caller.address);
        }
        expect(await f.d.clearing.isLiquidator(caller.address)).to.equal(false);
      }
      expect(await f.d.clearing.isLiquidator(f.engineAddress)).to.equal(true);
    });

    it("the zero address: ClearingInvalidLiquidator(0x0), registered or not", async () => {
      const f = await networkHelpers.loadFixture(hooksFixture);
      for (const registered of [true, false]) {
        await expect(f.d.clearing.connect(f.deployer).setLiquidator(ZeroAddress, registered))
          .to.be.revertedWithCustomError(f.d.clearing, "ClearingInvalidLiquidator")
          .withArgs(ZeroAddress);
      }
      expect(await f.d.clearing.isLiquidator(ZeroAddress)).to.equal(false);
      expect(await f.d.clearing.isLiquidator(f.engineAddress)).to.equal(true);
    });

    it("emits LiquidatorSet(account, registered), and isLiquidator follows", async () => {
      const f = await networkHelpers.loadFixture(hooksFixture);
      const admin = f.d.clearing.connect(f.deployer);
      await expect(admin.setLiquidator(f.registrant.address, true))
        .to.emit(f.d.clearing, "LiquidatorSet")
        .withArgs(f.registrant.address, true);
      expect(await f.d.clearing.isLiquidator(f.registrant.address)).to.equal(true);
      // Setting it again is allowed and emits again.
      await expect(admin.setLiquidator(f.registrant.address, true))
        .to.emit(f.d.clearing, "LiquidatorSet")
        .withArgs(f.registrant.address, true);
      await expect(admin.setLiquidator(f.registrant.address, false))
        .to.emit(f.d.clearing, "LiquidatorSet")
        .withArgs(f.registrant.address, false);
      expect(await f.d.clearing.isLiquidator(f.registrant.address)).to.equal(false);
      await expect(admin.setLiquidator(f.engineAddress, false))
        .to.emit(f.d.clearing, "LiquidatorSet")
        .withArgs(f.engineAddress, false);
      expect(await f.d.clearing.isLiquidator(f.engineAddress)).to.equal(false);
    });

    it("an unregistered engine that keeps the LIQUIDATOR role still liquidates (role route)", async () => {
      const f = await networkHelpers.loadFixture(hooksFixture);
      await (await f.d.clearing.connect(f.deployer).setLiquidator(f.engineAddress, false)).wait();
      expect(await f.d.clearing.isLiquidator(f.engineAddress)).to.equal(false);
      expect([...(await f.d.manager.hasRole(Role.LIQUIDATOR, f.engineAddress))]).to.deep.equal([true, 0n]);

      await f.setPrices("2905");
      const preview = await f.d.liquidation.preview(f.traderAccount, ETH);
      expect(preview.liquidatable).to.equal(true);
      expect(preview.backstop).to.equal(false);
      await expect(f.d.liquidation.connect(f.keeper).liquidate(f.traderAccount, ETH, 0n)).to.emit(
        f.d.liquidation,
        "Liquidated",
      );
      expect((await f.d.clearing.position(f.traderAccount, ETH)).size).to.equal(60n * WAD - preview.closeSize);
      expect((await f.d.clearing.position(f.poolAccount, ETH)).size).to.equal(preview.closeSize);
      expect(await f.d.clearing.cash(f.keeperAccount)).to.equal(preview.keeperReward);
    });

    it("a registered engine whose LIQUIDATOR role was revoked still liquidates, batch included (registered route)", async () => {
      const f = await networkHelpers.loadFixture(hooksFixture);
      await (await f.d.manager.connect(f.deployer).revokeRole(Role.LIQUIDATOR, f.engineAddress)).wait();
      expect([...(await f.d.manager.hasRole(Role.LIQUIDATOR, f.engineAddress))]).to.deep.equal([false, 0n]);
      expect(await f.d.clearing.isLiquidator(f.engineAddress)).to.equal(true);

      await f.setPrices("2905");
      const preview = await f.d.liquidation.preview(f.traderAccount, ETH);
      const engine = f.d.liquidation.connect(f.keeper);
      expect(await engine.liquidateBatch.staticCall([f.traderAccount], [ETH])).to.equal(1n);
      await expect(engine.liquidateBatch([f.traderAccount], [ETH])).to.emit(f.d.liquidation, "Liquidated");
      expect((await f.d.clearing.position(f.traderAccount, ETH)).size).to.equal(60n * WAD - preview.closeSize);
    });

    it("an engine neither registered nor holding the role: liquidate and liquidateBatch revert AccessManagedUnauthorized(engine); nothing moves", async () => {
      const f = await networkHelpers.loadFixture(hooksFixture);
      await (await f.d.clearing.connect(f.deployer).setLiquidator(f.engineAddress, false)).wait();
      await (await f.d.manager.connect(f.deployer).revokeRole(Role.LIQUIDATOR, f.engineAddress)).wait();
      await f.setPrices("2905");
      expect((await f.d.liquidation.preview(f.traderAccount, ETH)).liquidatable).to.equal(true);
      const before = await snapshot(f, watched(f));

      const engine = f.d.liquidation.connect(f.keeper);
      await expect(engine.liquidate(f.traderAccount, ETH, 0n))
        .to.be.revertedWithCustomError(f.d.clearing, "AccessManagedUnauthorized")
        .withArgs(f.engineAddress);
      // The batch opens with beginBatch outside its per-account try: the whole batch reverts.
      await expect(engine.liquidateBatch([f.traderAccount], [ETH]))
        .to.be.revertedWithCustomError(f.d.clearing, "AccessManagedUnauthorized")
        .withArgs(f.engineAddress);
      expect(await snapshot(f, watched(f))).to.deep.equal(before);

      // Registering it again restores it.
      await (await f.d.clearing.connect(f.deployer).setLiquidator(f.engineAddress, true)).wait();
      await expect(engine.liquidate(f.traderAccount, ETH, 0n)).to.emit(f.d.liquidation, "Liquidated");
    });
  });

  // ================================================================ batches

  describe("batches", () => {
    /** `calls` to the clearing house in one transaction, relayed through AccessManager.execute by `caller`. */
    function relay(f: Fixture, caller: Fixture["bot"], calls: ("beginBatch" | "endBatch")[]) {
      const iface = f.d.clearing.interface;
      const data = calls.map((fn) =>
        f.d.manager.interface.encodeFunctionData("execute", [
          f.clearingAddress,
          fn === "beginBatch" ? iface.encodeFunctionData("beginBatch") : iface.encodeFunctionData("endBatch"),
        ]),
      );
      return f.d.manager.connect(caller).multicall(data);
    }

    it("beginBatch twice in one transaction from a LIQUIDATOR: ClearingBatchOpen(); endBatch then beginBatch succeeds", async () => {
      const f = await networkHelpers.loadFixture(liquidatorFixture);
      await expect(relay(f, f.bot, ["beginBatch", "beginBatch"]))
        .to.be.revertedWithCustomError(f.d.clearing, "ClearingBatchOpen")
        .withArgs();
      await expect(relay(f, f.bot, ["beginBatch", "endBatch", "beginBatch", "endBatch"])).not.to.revert(ethers);
      // A batch left open is closed by the end of its transaction.
      await expect(relay(f, f.bot, ["beginBatch"])).not.to.revert(ethers);
      await expect(relay(f, f.bot, ["beginBatch", "endBatch"])).not.to.revert(ethers);
    });

    it("a batch lasts one transaction: beginBatch in two transactions of a LIQUIDATOR both succeed", async () => {
      const f = await networkHelpers.loadFixture(liquidatorFixture);
      await expect(f.d.clearing.connect(f.bot).beginBatch()).not.to.revert(ethers);
      await expect(f.d.clearing.connect(f.bot).beginBatch()).not.to.revert(ethers);
    });

    it("the relay keeps the role check: without LIQUIDATOR, execute refuses with AccessManagerUnauthorizedCall", async () => {
      const f = await networkHelpers.loadFixture(hooksFixture);
      const selector = f.d.clearing.interface.getFunction("beginBatch").selector;
      await expect(relay(f, f.outsider, ["beginBatch"]))
        .to.be.revertedWithCustomError(f.d.manager, "AccessManagerUnauthorizedCall")
        .withArgs(f.outsider.address, f.clearingAddress, selector);
    });
  });

  // ================================================================ liquidate

  describe("liquidate", () => {
    it("a partial liquidation through the engine: PositionTransferred to the pool at the mark, PenaltyCharged split, exact cash moves", async () => {
      const f = await networkHelpers.loadFixture(hooksFixture);
      await f.setPrices("2905");
      const h = await f.d.clearing.health(f.traderAccount);
      expect(h.equity).to.be.lessThan(h.mm);
      expect(h.equity).to.be.greaterThan(h.backstop);
      // The pool held nothing, so funding never moved: no funding in any cash below.
      expect(h.pendingFunding).to.equal(0n);
      const band = await f.d.oracle.getPriceForLiquidation(ETH_KEY);
      const pos = await f.d.clearing.position(f.traderAccount, ETH);
      const plan = expectedLongPlan(h, pos.size, band.lower);
      const preview = await f.d.liquidation.preview(f.traderAccount, ETH);
      expect([preview.closeSize, preview.keeperReward]).to.deep.equal([plan.closeSize, plan.reward]);
      expect(plan.closeSize).to.be.greaterThan(0n);
      expect(plan.closeSize).to.be.lessThan(pos.size);

      const cash = () => liquidationCash(f, f.traderAccount);
      const [accountBefore, keeperBefore, insuranceBefore, poolBefore] = await cash();

      const receipt = (await (await f.d.liquidation.connect(f.keeper).liquidate(f.traderAccount, ETH, 0n)).wait())!;

      const realized = applyFillMath(
        pos.size,
        pos.openNotional,
        -plan.closeSize,
        fillNotional(-plan.closeSize, plan.mark),
      ).realized;
      const clearingIface = f.d.clearing.interface;
      expect(events(clearingIface, f.clearingAddress, receipt, "PositionTransferred")).to.deep.equal([
        [f.traderAccount, f.poolAccount, BigInt(ETH), plan.closeSize, plan.mark, realized, 0n],
      ]);
      const insuranceFee = plan.penalty - plan.reward;
      expect(events(clearingIface, f.clearingAddress, receipt, "PenaltyCharged")).to.deep.equal([
        [f.traderAccount, f.keeperAccount, plan.reward, insuranceFee],
      ]);
      const liquidated = events(f.d.liquidation.interface, f.engineAddress, receipt, "Liquidated");
      expect(liquidated).to.deep.equal([
        [f.traderAccount, BigInt(ETH), f.keeper.address, plan.closeSize, plan.mark, plan.penalty, plan.reward],
      ]);
      // reward + insurance fee == the engine's penalty; both parts are paid.
      expect(plan.reward + insuranceFee).to.equal(liquidated[0]![5]);
      expect(plan.reward).to.be.greaterThan(0n);
      expect(insuranceFee).to.be.greaterThan(0n);
      expect(events(clearingIface, f.clearingAddress, receipt, "FundingSettled")).to.deep.equal([]);

      const [accountAfter, keeperAfter, insuranceAfter, poolAfter] = await cash();
      expect(accountAfter - accountBefore).to.equal(realized - plan.penalty);
      expect(keeperAfter - keeperBefore).to.equal(plan.reward);
      expect(insuranceAfter - insuranceBefore).to.equal(insuranceFee);
      expect(poolAfter - poolBefore).to.equal(0n);
      expect((await f.d.clearing.position(f.traderAccount, ETH)).size).to.equal(pos.size - plan.closeSize);
      expect((await f.d.clearing.position(f.poolAccount, ETH)).size).to.equal(plan.closeSize);
    });

    it("a later partial liquidation settles funding first: each cash moves by exactly realized − penalty − funding", async () => {
      const f = await networkHelpers.loadFixture(hooksFixture);
      await f.setPrices("2905");
      const first = (await (await f.d.liquidation.connect(f.keeper).liquidate(f.traderAccount, ETH, 0n)).wait())!;
      const clearingIface = f.d.clearing.interface;
      const [accrued] = events(clearingIface, f.clearingAddress, first, "FundingAccrued");
      const firstIndex = accrued![2] as bigint;
      const firstTime = BigInt((await ethers.provider.getBlock(first.blockNumber))!.timestamp);

      // The pool is now long, so the funding rate is negative: longs (trader and pool) are paid.
      await time.increase(86_400);
      await f.setPrices("2885");
      const h = await f.d.clearing.health(f.traderAccount);
      expect(h.equity).to.be.lessThan(h.mm);
      expect(h.equity).to.be.greaterThan(h.backstop);
      const band = await f.d.oracle.getPriceForLiquidation(ETH_KEY);
      const [traderPos, poolPos] = [
        await f.d.clearing.position(f.traderAccount, ETH),
        await f.d.clearing.position(f.poolAccount, ETH),
      ];
      const cash = () => liquidationCash(f, f.traderAccount);
      const [accountBefore, keeperBefore, insuranceBefore, poolBefore] = await cash();

      const receipt = (await (await f.d.liquidation.connect(f.keeper).liquidate(f.traderAccount, ETH, 0n)).wait())!;
      const now = BigInt((await ethers.provider.getBlock(receipt.blockNumber))!.timestamp);

      const rate = fundingRate(poolPos.size, SKEW_SCALE[ETH]);
      expect(rate).to.be.lessThan(0n);
      const index = firstIndex + fundingMove(rate, band.price, now - firstTime);
      expect(events(clearingIface, f.clearingAddress, receipt, "FundingAccrued")).to.deep.equal([
        [BigInt(PRO), BigInt(ETH), index, rate],
      ]);
      const traderFunding = fundingOwed(traderPos.size, index, traderPos.fundingIndex);
      const poolFunding = fundingOwed(poolPos.size, index, poolPos.fundingIndex);
      expect(traderFunding).to.be.lessThan(0n);
      expect(poolFunding).to.be.lessThan(0n);
      expect(events(clearingIface, f.clearingAddress, receipt, "FundingSettled")).to.deep.equal([
        [f.traderAccount, BigInt(ETH), traderFunding],
        [f.poolAccount, BigInt(ETH), poolFunding],
      ]);

      const [liquidated] = events(f.d.liquidation.interface, f.engineAddress, receipt, "Liquidated");
      const [, , , closed, mark, penalty, reward] = liquidated! as [
        bigint,
        bigint,
        string,
        bigint,
        bigint,
        bigint,
        bigint,
      ];
      expect(mark).to.equal(band.lower);
      expect(closed).to.be.greaterThan(0n);
      const realized = applyFillMath(
        traderPos.size,
        traderPos.openNotional,
        -closed,
        fillNotional(-closed, mark),
      ).realized;
      expect(events(clearingIface, f.clearingAddress, receipt, "PositionTransferred")).to.deep.equal([
        [f.traderAccount, f.poolAccount, BigInt(ETH), closed, mark, realized, 0n],
      ]);
      const [charged] = events(clearingIface, f.clearingAddress, receipt, "PenaltyCharged");
      expect(charged!.slice(0, 3)).to.deep.equal([f.traderAccount, f.keeperAccount, reward]);
      const insuranceFee = charged![3] as bigint;
      expect(reward + insuranceFee).to.equal(penalty);

      const [accountAfter, keeperAfter, insuranceAfter, poolAfter] = await cash();
      expect(accountAfter - accountBefore).to.equal(realized - penalty - traderFunding);
      expect(keeperAfter - keeperBefore).to.equal(reward);
      expect(insuranceAfter - insuranceBefore).to.equal(insuranceFee);
      expect(poolAfter - poolBefore).to.equal(-poolFunding);
    });

    it("called directly by a LIQUIDATOR on a healthy account: returns its health, an empty plan and no reward; nothing moves", async () => {
      const f = await networkHelpers.loadFixture(liquidatorFixture);
      const view = await f.d.clearing.health(f.traderAccount);
      expect(view.equity).to.be.greaterThanOrEqual(view.mm);
      const clearing = f.d.clearing.connect(f.bot);

      const [h, plan, reward] = await clearing.liquidate.staticCall(f.traderAccount, ETH, 0n, f.keeper.address);
      expect([...h]).to.deep.equal([...view]);
      expect(h.positions).to.equal(1n);
      expect([...plan]).to.deep.equal([0n, 0n, 0n, 0n, 0n]);
      expect(reward).to.equal(0n);

      const before = await snapshot(f, watched(f));
      const tx = clearing.liquidate(f.traderAccount, ETH, 0n, f.keeper.address);
      await expect(tx).not.to.revert(ethers);
      await expect(tx).not.to.emit(f.d.clearing, "PositionTransferred");
      await expect(tx).not.to.emit(f.d.clearing, "PenaltyCharged");
      await expect(tx).not.to.emit(f.d.clearing, "CashTransferred");
      expect(await snapshot(f, watched(f))).to.deep.equal(before);
    });

    it("on the pool's own accounts: LiquidationOfPool(tier), directly and through the engine; nothing moves", async () => {
      const f = await networkHelpers.loadFixture(liquidatorFixture);
      // Give the pool a position first (a partial liquidation of the trader), then mark it against it.
      await f.setPrices("2905");
      await (await f.d.liquidation.connect(f.keeper).liquidate(f.traderAccount, ETH, 0n)).wait();
      expect((await f.d.clearing.position(f.poolAccount, ETH)).size).to.be.greaterThan(0n);
      await f.setPrices("2500");
      const poolSub = accountBucket(f.poolAddress, PRO, 1n);
      const before = await snapshot(f, [...watched(f), poolSub]);

      for (const account of [f.poolAccount, poolSub]) {
        await expect(f.d.clearing.connect(f.bot).liquidate(account, ETH, 0n, f.keeper.address))
          .to.be.revertedWithCustomError(f.d.liquidation, "LiquidationOfPool")
          .withArgs(PRO);
        await expect(f.d.liquidation.connect(f.keeper).liquidate(account, ETH, 0n))
          .to.be.revertedWithCustomError(f.d.liquidation, "LiquidationOfPool")
          .withArgs(PRO);
      }
      expect(await snapshot(f, [...watched(f), poolSub])).to.deep.equal(before);
    });

    it("a market the account does not hold while it holds another: LiquidationNoPosition(account, market); nothing moves", async () => {
      const f = await networkHelpers.loadFixture(liquidatorFixture);
      await f.setPrices("2905");
      const h = await f.d.clearing.health(f.traderAccount);
      expect(h.equity).to.be.lessThan(h.mm);
      expect([...(await f.d.clearing.accountMarkets(f.traderAccount))]).to.deep.equal([BigInt(ETH)]);
      const before = await snapshot(f, watched(f));

      // BTC is listed in pro but not held; 99 is listed nowhere.
      for (const market of [BTC, 99]) {
        await expect(f.d.clearing.connect(f.bot).liquidate(f.traderAccount, market, 0n, f.keeper.address))
          .to.be.revertedWithCustomError(f.d.liquidation, "LiquidationNoPosition")
          .withArgs(f.traderAccount, market);
        await expect(f.d.liquidation.connect(f.keeper).liquidate(f.traderAccount, market, 0n))
          .to.be.revertedWithCustomError(f.d.liquidation, "LiquidationNoPosition")
          .withArgs(f.traderAccount, market);
      }
      expect(await snapshot(f, watched(f))).to.deep.equal(before);

      // The market it holds is liquidated.
      await expect(f.d.clearing.connect(f.bot).liquidate(f.traderAccount, ETH, 0n, f.keeper.address)).to.emit(
        f.d.clearing,
        "PenaltyCharged",
      );
    });
  });

  // ================================================================ views and listing

  describe("refused inputs", () => {
    it("transferPosition of size 0: ClearingZeroSize, and no market appears in either account's list", async () => {
      const f = await networkHelpers.loadFixture(liquidatorFixture);
      const outsiderAccount = accountBucket(f.outsider.address, PRO, 0n);
      await f.fund(f.outsider, "USDC", outsiderAccount, usdc("100000"));
      const before = await snapshot(f, [...watched(f), outsiderAccount]);
      await expect(
        f.d.clearing.connect(f.bot).transferPosition(outsiderAccount, f.keeperAccount, BTC, 0n, 60000n * WAD),
      ).to.be.revertedWithCustomError(f.d.clearing, "ClearingZeroSize");
      expect(await snapshot(f, [...watched(f), outsiderAccount])).to.deep.equal(before);
      expect([...(await f.d.clearing.accountMarkets(outsiderAccount))]).to.deep.equal([]);
    });

    it("liquidate crediting the zero address as keeper: ClearingInvalidAccount((0, tier, 0)), nothing moves", async () => {
      const f = await networkHelpers.loadFixture(liquidatorFixture);
      await f.setPrices("2905"); // the trader is under MM, above the backstop margin
      expect((await f.d.liquidation.preview(f.traderAccount, ETH)).liquidatable).to.equal(true);
      const before = await snapshot(f, watched(f));
      await expect(f.d.clearing.connect(f.bot).liquidate(f.traderAccount, ETH, 0n, ZeroAddress))
        .to.be.revertedWithCustomError(f.d.clearing, "ClearingInvalidAccount")
        .withArgs(accountBucket(ZeroAddress, PRO, 0n));
      expect(await snapshot(f, watched(f))).to.deep.equal(before);
    });
  });

  describe("views and listing", () => {
    it("vault.balancesOf(bucket, tokens) equals balanceOf of each token, in order, zeros and empty lists included", async () => {
      const f = await networkHelpers.loadFixture(hooksFixture);
      const a = accountBucket(f.outsider.address, CORE, 4n);
      const other = accountBucket(f.keeper.address, CORE, 0n);
      await f.fund(f.outsider, "USDC", a, usdc("1234.567891"));
      await f.fund(f.outsider, "WETH", a, w("2.5"));
      // WBTC exists in the tier, but not in `a`.
      await f.fund(f.keeper, "WBTC", other, parseUnits("0.3", 8));
      const { USDC, WETH, WBTC } = f.tokens;

      const check = async (bucket: bigint, tokens: string[], expected: bigint[]) => {
        const got = [...(await f.d.vault.balancesOf(bucket, tokens))];
        expect(got).to.deep.equal(expected);
        expect(got).to.deep.equal(await Promise.all(tokens.map((t) => f.d.vault.balanceOf(bucket, t))));
      };
      await check(a, [USDC.address, WETH.address, WBTC.address], [usdc("1234.567891"), w("2.5"), 0n]);
      await check(
        a,
        [WBTC.address, WETH.address, USDC.address, WETH.address],
        [0n, w("2.5"), usdc("1234.567891"), w("2.5")],
      );
      await check(other, [USDC.address, WETH.address, WBTC.address], [0n, 0n, parseUnits("0.3", 8)]);
      // A token the vault does not list, and an empty bucket.
      await check(a, [f.clearingAddress, USDC.address], [0n, usdc("1234.567891")]);
      await check(accountBucket(f.outsider.address, CORE, 5n), [USDC.address, WETH.address], [0n, 0n]);
      await check(f.traderAccount, [USDC.address], [usdc("10000")]);
      await check(a, [], []);
    });

    it("risk.listMarket(0, asset) by ADMIN: RiskUnknownMarket(0); market 0 stays unlisted", async () => {
      const f = await networkHelpers.loadFixture(hooksFixture);
      const risk = f.d.risk.connect(f.deployer);
      const proMarkets = [...(await f.d.risk.tierMarkets(PRO))];
      await expect(risk.listMarket(0, ETH_KEY))
        .to.be.revertedWithCustomError(f.d.risk, "RiskUnknownMarket")
        .withArgs(0);
      // An unlisted market has no oracle asset: the view refuses it.
      await expect(f.d.risk.marketOracleAsset(0))
        .to.be.revertedWithCustomError(f.d.risk, "RiskUnknownMarket")
        .withArgs(0);
      // Nor can it join a tier.
      const ethRisk = toMarketRisk(f.d.config.tiers[1]!.markets[0]!);
      await expect(risk.addMarketToTier(PRO, 0, ethRisk))
        .to.be.revertedWithCustomError(f.d.risk, "RiskUnknownMarket")
        .withArgs(0);
      expect([...(await f.d.risk.tierMarkets(PRO))]).to.deep.equal(proMarkets);
      // Any other id is listed.
      await expect(risk.listMarket(3, ETH_KEY)).to.emit(f.d.risk, "MarketListed").withArgs(3, ETH_KEY);
      expect(await f.d.risk.marketOracleAsset(3)).to.equal(ETH_KEY);
    });

    it("accountMarkets keeps insertion order; closing a market moves the last one into its place", async () => {
      const f = await networkHelpers.loadFixture(hooksFixture);
      const ethRisk = toMarketRisk(f.d.config.tiers[1]!.markets[0]!);
      await (await f.d.risk.connect(f.deployer).listMarket(3, ETH_KEY)).wait();
      await (await f.d.risk.connect(f.deployer).addMarketToTier(PRO, 3, ethRisk)).wait();
      const a = accountBucket(f.outsider.address, PRO, 0n);
      await f.fund(f.outsider, "USDC", a, usdc("100000"));
      const m = f.makerAccount;
      const markets = async (account: bigint) => [...(await f.d.clearing.accountMarkets(account))];

      // Two markets, close the first, reopen it: it comes back last.
      await f.fill(a, m, ETH, w("1"), w("3000"));
      await f.fill(a, m, BTC, w("0.1"), w("60000"));
      expect(await markets(a)).to.deep.equal([1n, 2n]);
      expect(await markets(m)).to.deep.equal([1n, 2n]);
      await f.fill(a, m, ETH, -w("1"), w("3000"));
      expect(await markets(a)).to.deep.equal([2n]);
      // The maker still holds ETH (the trader's 60), so its list is unchanged.
      expect(await markets(m)).to.deep.equal([1n, 2n]);
      await f.fill(a, m, ETH, w("0.5"), w("3000"));
      expect(await markets(a)).to.deep.equal([2n, 1n]);

      // Three markets: closing the first moves the last into its lane; closing the last just pops it.
      await f.fill(a, m, 3, w("1"), w("3000"));
      expect(await markets(a)).to.deep.equal([2n, 1n, 3n]);
      await f.fill(a, m, BTC, -w("0.1"), w("60000"));
      expect(await markets(a)).to.deep.equal([3n, 1n]);
      expect(await markets(m)).to.deep.equal([1n, 3n]);
      await f.fill(a, m, ETH, -w("0.5"), w("3000"));
      expect(await markets(a)).to.deep.equal([3n]);
      await f.fill(a, m, 3, -w("1"), w("3000"));
      expect(await markets(a)).to.deep.equal([]);
      expect(await markets(m)).to.deep.equal([1n]);
      for (const market of [ETH, BTC, 3]) expect((await f.d.clearing.position(a, market)).size).to.equal(0n);
    });
  });
});
