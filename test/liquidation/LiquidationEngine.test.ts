import { expect } from "chai";
import { parseUnits } from "ethers";

import { accountBucket, insuranceBucket } from "../../sdk/src/client/buckets.js";
import { connectChain, deployLocalFoundation } from "../helpers/foundation.js";

const chain = await connectChain();
const { networkHelpers } = chain;

const CORE = 0;
const PRO = 1;
const EDGE = 2;
const ETH = 1;
const WAD = 10n ** 18n;
const USDC = (n: string) => parseUnits(n, 6);

async function fixture() {
  const f = await deployLocalFoundation(chain, { pools: true });
  const { d } = f;
  const usdc = d.tokens.USDC!;
  const vaultAddress = await d.vault.getAddress();
  const eth = d.assets["ETH/USD"]!;
  const [lp, trader, maker, keeper] = [f.alice, f.bob, f.carol, f.mallory];

  async function fund(user: typeof lp, bucket: bigint, amount: bigint) {
    await usdc.mock!.mint(user.address, amount);
    await usdc.mock!.connect(user).approve(vaultAddress, amount);
    await d.vault.connect(user).deposit(usdc.address, amount, bucket);
  }
  /** Moves both ETH feeds to `price` so the band stays tight (base confidence only). */
  async function setEth(price: string) {
    await eth.mockPrimary!.updateAnswer(parseUnits(price, 8));
    await eth.mockSecondary!.updateAnswer(parseUnits(price, 18));
  }

  // The pro pool gets 1,000,000 USDC of LP capital.
  const pool = d.pools[PRO]!;
  await usdc.mock!.mint(lp.address, USDC("1000000"));
  await usdc.mock!.connect(lp).approve(await pool.getAddress(), USDC("1000000"));
  await pool.connect(lp).deposit(USDC("1000000"), lp.address);
  const poolAccount = accountBucket(await pool.getAddress(), PRO, 0n);

  await setEth("3000");
  const traderAccount = accountBucket(trader.address, PRO, 0n);
  const makerAccount = accountBucket(maker.address, PRO, 0n);
  await fund(trader, traderAccount, USDC("10000"));
  await fund(maker, makerAccount, USDC("200000"));
  // The trader goes long 60 ETH at 3,000 (180,000 notional, 18x) against the maker; no fees.
  await d.clearing.connect(f.executor).applyFill({
    taker: traderAccount,
    maker: makerAccount,
    market: ETH,
    size: 60n * WAD,
    price: 3000n * WAD,
    takerFee: 0n,
    makerFee: 0n,
    poolFee: 0n,
    protocolFee: 0n,
    protocol: 0n,
  });
  return { ...f, usdc, eth, pool, poolAccount, traderAccount, makerAccount, lp, trader, maker, keeper, fund, setEth };
}

describe("LiquidationEngine", () => {
  it("refuses to liquidate a healthy account, with its equity and MM", async () => {
    const f = await networkHelpers.loadFixture(fixture);
    const h = await f.d.clearing.health(f.traderAccount);
    expect(h.equity).to.be.greaterThan(h.mm);
    await expect(f.d.liquidation.connect(f.keeper).liquidate(f.traderAccount, ETH, 0n))
      .to.be.revertedWithCustomError(f.d.liquidation, "LiquidationAccountHealthy")
      .withArgs(f.traderAccount, h.equity, h.mm);
    const p = await f.d.liquidation.preview(f.traderAccount, ETH);
    expect(p.liquidatable).to.equal(false);
  });

  it("backstop of an account with positive equity pays the keeper at most that equity (capped)", async () => {
    const f = await networkHelpers.loadFixture(fixture);
    await f.setEth("2845"); // equity between 0 and the backstop margin (1.2% of ~170,700)
    const h = await f.d.clearing.health(f.traderAccount);
    expect(h.equity).to.be.greaterThan(0n);
    expect(h.equity).to.be.lessThan(h.backstop);
    const p = await f.d.liquidation.preview(f.traderAccount, ETH);
    const cap = 1000n * WAD; // keeperRewardCap in deploy/local.ts
    const expected = h.equity < cap ? h.equity : cap;
    expect(p.backstop).to.equal(true);
    expect(p.keeperReward).to.equal(expected);
  });

  it("partially liquidates below MM: closes just enough into the pool, pays keeper and insurance, improves health", async () => {
    const f = await networkHelpers.loadFixture(fixture);
    await f.setEth("2905");
    const before = await f.d.clearing.health(f.traderAccount);
    expect(before.equity).to.be.lessThan(before.mm);
    expect(before.equity).to.be.greaterThan(before.backstop);

    const preview = await f.d.liquidation.preview(f.traderAccount, ETH);
    expect(preview.liquidatable).to.equal(true);
    expect(preview.backstop).to.equal(false);
    expect(preview.closeSize).to.be.greaterThan(0n);
    expect(preview.closeSize).to.be.lessThan(60n * WAD);

    const insuranceBefore = await f.d.clearing.cash(insuranceBucket(PRO));
    const keeperAccount = accountBucket(f.keeper.address, PRO, 0n);
    await expect(f.d.liquidation.connect(f.keeper).liquidate(f.traderAccount, ETH, 0n)).to.emit(
      f.d.liquidation,
      "Liquidated",
    );

    const pos = await f.d.clearing.position(f.traderAccount, ETH);
    expect(pos.size).to.equal(60n * WAD - preview.closeSize);
    expect((await f.d.clearing.position(f.poolAccount, ETH)).size).to.equal(preview.closeSize);
    const reward = await f.d.clearing.cash(keeperAccount);
    expect(reward).to.equal(preview.keeperReward);
    const toInsurance = (await f.d.clearing.cash(insuranceBucket(PRO))) - insuranceBefore;
    expect(toInsurance).to.be.greaterThan(0n);

    // DESIGN §6.4: healthier afterwards, and restored above MM (the plan targets MM + 10%).
    const after = await f.d.clearing.health(f.traderAccount);
    expect(after.equity - after.mm).to.be.greaterThan(before.equity - before.mm);
    expect(after.equity).to.be.greaterThanOrEqual(after.mm);
    // Self-liquidation never profits: what the keeper earned is less than what the account paid.
    expect(reward).to.be.lessThan(reward + toInsurance);
  });

  it("refuses to close more than allowed, and accepts a smaller close", async () => {
    const f = await networkHelpers.loadFixture(fixture);
    await f.setEth("2905");
    const preview = await f.d.liquidation.preview(f.traderAccount, ETH);
    await expect(f.d.liquidation.connect(f.keeper).liquidate(f.traderAccount, ETH, preview.closeSize + 1n))
      .to.be.revertedWithCustomError(f.d.liquidation, "LiquidationTooLarge")
      .withArgs(f.traderAccount, preview.closeSize, preview.closeSize + 1n);
    await f.d.liquidation.connect(f.keeper).liquidate(f.traderAccount, ETH, preview.closeSize / 2n);
    expect((await f.d.clearing.position(f.traderAccount, ETH)).size).to.equal(60n * WAD - preview.closeSize / 2n);
  });

  it("backstop: below the backstop margin the pool takes everything over, and the waterfall absorbs the deficit in order", async () => {
    const f = await networkHelpers.loadFixture(fixture);
    // Fund pro's insurance fund with 300 USDC of tokens; the reserve lets pro draw 100,000 per epoch.
    await f.fund(f.deployer, insuranceBucket(PRO), USDC("300"));
    await f.usdc.mock!.mint(f.deployer.address, USDC("500000"));
    await f.usdc.mock!.approve(await f.d.vault.getAddress(), USDC("500000"));
    await f.d.vault.fundReserve(f.usdc.address, USDC("500000"));

    await f.setEth("2800"); // 60 × −200 = −12,000 against 10,000 of collateral: negative equity
    const h = await f.d.clearing.health(f.traderAccount);
    expect(h.equity).to.be.lessThan(0n);
    const deficit = -h.equity;

    const tx = f.d.liquidation.connect(f.keeper).liquidate(f.traderAccount, ETH, 0n);
    // A bankrupt account pays its keeper nothing: the reward is never LPs' capital (self-takeover can't profit).
    await expect(tx)
      .to.emit(f.d.liquidation, "BackstopTakeover")
      .withArgs(f.traderAccount, f.keeper.address, 1n, h.equity, 0n);
    await expect(tx).to.emit(f.d.liquidation, "WaterfallStep").withArgs(f.traderAccount, 1, h.collateralValue);
    await expect(tx)
      .to.emit(f.d.liquidation, "WaterfallStep")
      .withArgs(f.traderAccount, 2, 300n * WAD);
    const scale = 10n ** 12n;
    const fromReserve = ((deficit - 300n * WAD) / scale) * scale;
    await expect(tx).to.emit(f.d.liquidation, "WaterfallStep").withArgs(f.traderAccount, 3, fromReserve);
    await expect(tx)
      .to.emit(f.d.liquidation, "WaterfallStep")
      .withArgs(f.traderAccount, 4, deficit - 300n * WAD - fromReserve);

    // The account is empty; the pool holds the position; nothing was paid to the owner.
    expect(await f.d.clearing.accountMarkets(f.traderAccount)).to.deep.equal([]);
    expect(await f.d.vault.balanceOf(f.traderAccount, f.usdc.address)).to.equal(0n);
    expect(await f.d.clearing.cash(f.traderAccount)).to.equal(0n);
    expect((await f.d.clearing.position(f.poolAccount, ETH)).size).to.equal(60n * WAD);
    expect(await f.usdc.mock!.balanceOf(f.trader.address)).to.equal(0n);
  });

  it("batch: liquidates the liquidatable accounts and skips the healthy ones", async () => {
    const f = await networkHelpers.loadFixture(fixture);
    const [, , , , healthy] = [f.lp, f.trader, f.maker, f.keeper, f.d.config];
    void healthy;
    await f.setEth("2905");
    const liquidated = await f.d.liquidation
      .connect(f.keeper)
      .liquidateBatch.staticCall([f.traderAccount, f.makerAccount], [ETH, ETH]);
    expect(liquidated).to.equal(1n);
    await f.d.liquidation.connect(f.keeper).liquidateBatch([f.traderAccount, f.makerAccount], [ETH, ETH]);
    expect((await f.d.clearing.position(f.makerAccount, ETH)).size).to.equal(-60n * WAD);
    expect((await f.d.clearing.position(f.traderAccount, ETH)).size).to.be.lessThan(60n * WAD);
  });

  it("tier firewall: a liquidation and a default in pro leave every figure of core and edge unchanged", async () => {
    const f = await networkHelpers.loadFixture(fixture);
    const edgeAccount = accountBucket(f.lp.address, EDGE, 0n);
    const coreAccount = accountBucket(f.lp.address, CORE, 0n);
    await f.fund(f.lp, edgeAccount, USDC("1000"));
    await f.fund(f.lp, coreAccount, USDC("1000"));
    const snapshot = async () =>
      Promise.all(
        [CORE, EDGE].flatMap((tier) => [
          f.d.vault.tierTotal(tier, f.usdc.address).then((r) => r[0]),
          f.d.clearing.cash(insuranceBucket(tier)),
          f.d.clearing.openInterest(tier, ETH),
          f.d.pools[tier]!.totalAssets(),
        ]),
      );
    const before = await snapshot();
    await f.setEth("2800");
    await f.d.liquidation.connect(f.keeper).liquidate(f.traderAccount, ETH, 0n);
    expect(await snapshot()).to.deep.equal(before);
  });

  it("preview never reverts: unknown account tier, no position, healthy", async () => {
    const f = await networkHelpers.loadFixture(fixture);
    const stranger = accountBucket(f.keeper.address, 9, 0n);
    const p = await f.d.liquidation.preview(stranger, ETH);
    expect(p.liquidatable).to.equal(false);
    const none = await f.d.liquidation.preview(accountBucket(f.keeper.address, PRO, 0n), 2);
    expect(none.liquidatable).to.equal(false);
  });

  describe("auto-deleveraging (waterfall step 5)", () => {
    /** A pool with only 1,000 USDC of LP capital: a default of 60 ETH at −200 leaves it insolvent. */
    async function insolventPool() {
      const f = await networkHelpers.loadFixture(fixture);
      const pool = f.pool;
      // Let the big LP leave: shrink the pool by redeeming almost everything after the cooldown.
      await pool.connect(f.lp).requestRedeem(await pool.balanceOf(f.lp.address));
      await networkHelpers.time.increase(3 * 86400);
      await f.setEth("3000");
      const shares = (await pool.balanceOf(f.lp.address)) - (await pool.convertToShares(USDC("1000")));
      await pool.connect(f.lp).redeem(shares, f.lp.address, f.lp.address);
      await f.setEth("2800");
      await f.d.liquidation.connect(f.keeper).liquidate(f.traderAccount, ETH, 0n);
      return f;
    }

    it("closes profitable opposite positions against the insolvent pool until its deficit is covered", async () => {
      const f = await insolventPool();
      const poolBefore = await f.d.clearing.health(f.poolAccount);
      expect(poolBefore.equity).to.be.lessThan(0n);
      const deficit = -poolBefore.equity;
      const makerBefore = await f.d.clearing.health(f.makerAccount);

      const receipt = await (await f.d.liquidation.connect(f.keeper).adl(PRO, ETH, [f.makerAccount])).wait();
      const steps = receipt!.logs
        .map((log) => f.d.liquidation.interface.parseLog(log))
        .filter((e) => e?.name === "WaterfallStep");
      expect(steps.length).to.equal(1);
      expect(steps[0]!.args.account).to.equal(f.makerAccount);
      expect(steps[0]!.args.step).to.equal(5n);
      // The deficit at execution is one block older than the view's (the band widens with the price's age):
      // the step absorbs the deficit as the contract saw it, within a basis point of the view's.
      const absorbed = steps[0]!.args.amount as bigint;
      expect(absorbed).to.be.closeTo(deficit, deficit / 10_000n);

      // The pool's deficit is covered (up to the rounding of the ADL price, in the pool's favour).
      expect((await f.d.clearing.health(f.poolAccount)).equity).to.be.greaterThanOrEqual(0n);
      // The maker gave up exactly the deficit out of its profit, and its short was closed against the pool.
      const makerAfter = await f.d.clearing.health(f.makerAccount);
      expect(makerBefore.equity - makerAfter.equity).to.be.greaterThanOrEqual(deficit);
      expect((await f.d.clearing.position(f.makerAccount, ETH)).size).to.equal(0n);
      expect((await f.d.clearing.position(f.poolAccount, ETH)).size).to.equal(0n);
    });

    it("validates every target and refuses when the pool is solvent", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const poolEquity = (await f.d.clearing.health(f.poolAccount)).equity;
      await expect(f.d.liquidation.adl(PRO, ETH, [f.makerAccount]))
        .to.be.revertedWithCustomError(f.d.liquidation, "AdlNotNeeded")
        .withArgs(PRO, poolEquity);

      const g = await insolventPool();
      const other = accountBucket(g.maker.address, CORE, 0n);
      await expect(g.d.liquidation.adl(PRO, ETH, [other]))
        .to.be.revertedWithCustomError(g.d.liquidation, "AdlWrongTier")
        .withArgs(other, PRO);
      // A long (the pool is long after taking the defaulter over) is on the pool's side.
      const longAccount = accountBucket(g.trader.address, PRO, 5n);
      await g.fund(g.trader, longAccount, USDC("50000"));
      await g.setEth("2800");
      await g.d.clearing.connect(g.executor).applyFill({
        taker: longAccount,
        maker: g.makerAccount,
        market: ETH,
        size: WAD,
        price: 2800n * WAD,
        takerFee: 0n,
        makerFee: 0n,
        poolFee: 0n,
        protocolFee: 0n,
        protocol: 0n,
      });
      await expect(g.d.liquidation.adl(PRO, ETH, [longAccount]))
        .to.be.revertedWithCustomError(g.d.liquidation, "AdlSameSide")
        .withArgs(longAccount, WAD, 60n * WAD);
      // A short opened at 2,800 is not in profit at the high side of the band.
      const shortAccount = accountBucket(g.trader.address, PRO, 6n);
      await g.fund(g.trader, shortAccount, USDC("50000"));
      await g.d.clearing.connect(g.executor).applyFill({
        taker: shortAccount,
        maker: longAccount,
        market: ETH,
        size: -WAD,
        price: 2800n * WAD,
        takerFee: 0n,
        makerFee: 0n,
        poolFee: 0n,
        protocolFee: 0n,
        protocol: 0n,
      });
      await expect(g.d.liquidation.adl(PRO, ETH, [shortAccount])).to.be.revertedWithCustomError(
        g.d.liquidation,
        "AdlNotInProfit",
      );
    });
  });

  describe("collateral liquidation", () => {
    it("a keeper repays the debt of an account without quote tokens and takes its collateral at a 3% discount", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const weth = f.d.tokens.WETH!;
      const account = accountBucket(f.lp.address, CORE, 7n);
      const makerCore = accountBucket(f.maker.address, CORE, 0n);
      await weth.mock!.mint(f.lp.address, 10n * WAD);
      await weth.mock!.connect(f.lp).approve(await f.d.vault.getAddress(), 10n * WAD);
      await f.d.vault.connect(f.lp).deposit(weth.address, 10n * WAD, account);
      await f.fund(f.maker, makerCore, USDC("100000"));
      // A 100 USDC taker fee leaves the account owing cash it has no USDC to pay.
      await f.d.clearing.connect(f.executor).applyFill({
        taker: account,
        maker: makerCore,
        market: ETH,
        size: WAD,
        price: 3000n * WAD,
        takerFee: 100n * WAD,
        makerFee: 0n,
        poolFee: 0n,
        protocolFee: 0n,
        protocol: 0n,
      });
      await f.d.clearing.settle(account);
      expect(await f.d.clearing.cash(account)).to.equal(-100n * WAD);

      await f.usdc.mock!.mint(f.keeper.address, USDC("100"));
      await f.usdc.mock!.connect(f.keeper).approve(await f.d.liquidation.getAddress(), USDC("100"));
      const mid = (await f.d.oracle.getPriceForLiquidation(f.eth.key)).price;
      const seized = (103n * WAD * WAD) / mid; // 100 repaid × 1.03, at the mid price, rounded down
      await expect(f.d.liquidation.connect(f.keeper).liquidateCollateral(account, weth.address, USDC("100")))
        .to.emit(f.d.liquidation, "CollateralLiquidated")
        .withArgs(account, weth.address, f.keeper.address, 100n * WAD, seized);
      expect(await f.d.clearing.cash(account)).to.equal(0n);
      expect(await f.d.vault.balanceOf(accountBucket(f.keeper.address, CORE, 0n), weth.address)).to.equal(seized);
      expect(await f.d.vault.balanceOf(account, weth.address)).to.equal(10n * WAD - seized);
    });

    it("refuses the quote token, unlisted tokens, and accounts with quote tokens or no debt", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      await expect(f.d.liquidation.liquidateCollateral(f.traderAccount, f.usdc.address, 1n))
        .to.be.revertedWithCustomError(f.d.liquidation, "CollateralLiquidationInvalidToken")
        .withArgs(f.traderAccount, f.usdc.address);
      const weth = f.d.tokens.WETH!;
      await expect(f.d.liquidation.liquidateCollateral(f.traderAccount, weth.address, 1n))
        .to.be.revertedWithCustomError(f.d.liquidation, "CollateralLiquidationNotAllowed")
        .withArgs(f.traderAccount, 0n, USDC("10000"));
    });
  });
});
