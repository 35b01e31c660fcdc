import { expect } from "chai";
import { encodeBytes32String, id, MaxUint256 } from "ethers";

import { accountBucket } from "../../sdk/src/client/buckets.js";
import { Role } from "../../sdk/src/deploy/roles.js";
import { connectChain } from "../helpers/foundation.js";
import {
  BPS,
  CORE,
  CORE_WETH_WEIGHT_BPS,
  COOLDOWN,
  DAY,
  EDGE,
  ETH,
  ETH_IMR,
  HOUR,
  MAX_UTILISATION_BPS,
  PRO,
  USDC_CAP,
  USDC_OUTFLOW_CAPACITY,
  USDC_SCALE,
  VIRTUAL_SHARES,
  WAD,
  deployPools,
  fillNotional,
  fundingOwed,
  min,
  mulDiv,
  notionalUp,
  requirement,
  toAssets,
  toShares,
  unrealizedPnl,
  usdc,
  w,
  wadToUsdc,
  type PoolFixture,
} from "./poolFixture.js";

const chain = await connectChain();
const { networkHelpers } = chain;
const { time } = networkHelpers;

const COOLDOWN_PARAM = encodeBytes32String("cooldown");
const UTILISATION_PARAM = encodeBytes32String("maxUtilisationBps");
const POOL_PARAMS_KEY = id("poolParams");
const PARAM_COOLDOWN = DAY;
const MIN_COOLDOWN = HOUR;
const MAX_COOLDOWN = 30n * DAY;
const STEP_BPS = 5_000n;

// ------------------------------------------------------------------ fixtures

async function poolFixture() {
  return deployPools(chain);
}

/** Edge pool: alice 1,000 USDC (10^15 shares), bob 500 USDC; a 3-unit donation makes the price uneven. */
async function lpFixture() {
  const f = await deployPools(chain);
  await f.lpDeposit(f.alice, EDGE, usdc("1000"));
  await f.lpDeposit(f.bob, EDGE, usdc("500"));
  await f.vaultDeposit(f.mallory, f.USDC, f.poolAccount(EDGE), 3n);
  return f;
}

/** lpFixture, plus alice's request for 6 × 10^14 of her 10^15 shares, matured. */
async function maturedFixture() {
  const f = await lpFixture();
  const pool = f.pools[EDGE];
  await (await pool.connect(f.alice).requestRedeem(6n * 10n ** 14n)).wait();
  const { unlockAt } = await pool.redeemRequest(f.alice.address);
  await time.increaseTo(unlockAt);
  return f;
}

/**
 * Edge pool: alice 10,000 USDC; carol (trader) holds 5,000 USDC margin; fresh ETH prices; carol buys 2 ETH
 * at 3,000 from the pool, so the pool is short 2 ETH.
 */
async function poolShortFixture() {
  const f = await deployPools(chain);
  await f.lpDeposit(f.alice, EDGE, usdc("10000"));
  await f.vaultDeposit(f.carol, f.USDC, accountBucket(f.carol.address, EDGE, 0n), usdc("5000"));
  await f.setEthPrice("3000", "3001.5");
  await (await f.fill(accountBucket(f.carol.address, EDGE, 0n), f.poolAccount(EDGE), w("2"), w("3000"))).wait();
  return f;
}

/**
 * Edge pool: alice 10,000 USDC with a matured request for all her shares; then fresh prices and carol buys
 * 10 ETH at 3,000 from the pool (the pool is short 10 ETH and carries IM).
 */
async function utilisationFixture() {
  const f = await deployPools(chain);
  const pool = f.pools[EDGE];
  const shares = await f.lpDeposit(f.alice, EDGE, usdc("10000"));
  await (await pool.connect(f.alice).requestRedeem(shares)).wait();
  await time.increase(COOLDOWN);
  await f.vaultDeposit(f.carol, f.USDC, accountBucket(f.carol.address, EDGE, 0n), usdc("5000"));
  await f.setEthPrice("3000", "3001.5");
  await (await f.fill(accountBucket(f.carol.address, EDGE, 0n), f.poolAccount(EDGE), w("10"), w("3000"))).wait();
  return f;
}

// ------------------------------------------------------------------ helpers

/** The pool's figures that the ERC-4626 conversions use. */
async function state(f: PoolFixture, tier: 0 | 1 | 2) {
  const pool = f.pools[tier];
  return { supply: await pool.totalSupply(), assets: await pool.totalAssets() };
}

/** The pool's position in the ETH market and the funding it owes now (ClearingHouse._addPosition). */
async function poolPosition(f: PoolFixture, tier: 0 | 1 | 2) {
  const p = await f.clearing.position(f.poolAccount(tier), ETH);
  const [index] = await f.clearing.fundingState(tier, ETH);
  return { size: p.size, openNotional: p.openNotional, pending: fundingOwed(p.size, index, p.fundingIndex) };
}

/** IBackstopPool.withdrawableAssets from the account's health figures, per its NatSpec. */
async function withdrawableFromHealth(f: PoolFixture, tier: 0 | 1 | 2, utilisationBps = MAX_UTILISATION_BPS) {
  const h = await f.clearing.health(f.poolAccount(tier));
  const equity = h.collateralValue + h.cash + h.unrealizedLoss - h.pendingFunding;
  const mustStay = mulDiv(h.im, BPS, utilisationBps, true);
  const byUtilisation = equity <= mustStay ? 0n : (equity - mustStay) / USDC_SCALE;
  return min(byUtilisation, await f.vault.balanceOf(f.poolAccount(tier), f.USDC.address));
}

/** Sends the next transaction at a chosen timestamp and returns it. */
async function nextTimestamp(offset = 10n): Promise<bigint> {
  const t = BigInt(await time.latest()) + offset;
  await time.setNextBlockTimestamp(t);
  return t;
}

// ------------------------------------------------------------------ tests

describe("BackstopPool", () => {
  describe("views", () => {
    it("tier(), account() = accountBucket(pool, tier, 0), params(), asset, share metadata and constants", async () => {
      const f = await networkHelpers.loadFixture(poolFixture);
      const names = ["core", "pro", "edge"];
      for (const tier of [CORE, PRO, EDGE] as const) {
        const pool = f.pools[tier];
        expect(await pool.tier()).to.equal(BigInt(tier));
        expect(await pool.account()).to.equal(accountBucket(f.poolAddresses[tier]!, tier, 0n));
        expect(await pool.account()).to.equal(f.poolAccount(tier));
        const [cooldown, utilisation] = await pool.params();
        expect(cooldown).to.equal(COOLDOWN);
        expect(utilisation).to.equal(MAX_UTILISATION_BPS);
        expect(await pool.asset()).to.equal(f.USDC.address);
        // ERC-4626: the share decimals are the asset's (6) plus the offset (6).
        expect(await pool.decimals()).to.equal(12n);
        expect(await pool.name()).to.equal(`Strata ${names[tier]} backstop LP`);
        expect(await pool.symbol()).to.equal(`sb${names[tier]!.toUpperCase()}`);
        expect(await pool.CLEARING()).to.equal(f.clearingAddress);
        expect(await pool.VAULT()).to.equal(f.vaultAddress);
        expect(await f.clearing.pool(tier)).to.equal(f.poolAddresses[tier]);
        expect(await pool.totalSupply()).to.equal(0n);
        expect(await pool.totalAssets()).to.equal(0n);
        expect(await pool.withdrawableAssets()).to.equal(0n);
        // Empty pool: one unit of assets is worth 10^6 shares (virtual shares 10^6, virtual assets 1).
        expect(await pool.convertToShares(1n)).to.equal(VIRTUAL_SHARES);
        expect(await pool.convertToAssets(VIRTUAL_SHARES)).to.equal(1n);
        const request = await pool.redeemRequest(f.alice.address);
        expect(request.shares).to.equal(0n);
        expect(request.unlockAt).to.equal(0n);
      }
      const pool = f.pools[CORE];
      expect(await pool.MIN_COOLDOWN()).to.equal(MIN_COOLDOWN);
      expect(await pool.MAX_COOLDOWN()).to.equal(MAX_COOLDOWN);
      expect(await pool.MIN_UTILISATION_BPS()).to.equal(1_000n);
      expect(await pool.MAX_UTILISATION_BPS()).to.equal(9_000n);
      expect(await pool.PARAM_COOLDOWN()).to.equal(PARAM_COOLDOWN);
    });

    it("redeemRequest(owner) is per owner", async () => {
      const f = await networkHelpers.loadFixture(lpFixture);
      const pool = f.pools[EDGE];
      const t = await nextTimestamp();
      await pool.connect(f.bob).requestRedeem(123n);
      const bob = await pool.redeemRequest(f.bob.address);
      expect(bob.shares).to.equal(123n);
      expect(bob.unlockAt).to.equal(t + COOLDOWN);
      const alice = await pool.redeemRequest(f.alice.address);
      expect(alice.shares).to.equal(0n);
      expect(alice.unlockAt).to.equal(0n);
    });
  });

  describe("deposit and mint", () => {
    it("a first deposit of 1,000 USDC mints 1,000e6 × 10^6 shares and lands in the vault bucket (pool, tier, 0)", async () => {
      const f = await networkHelpers.loadFixture(poolFixture);
      const pool = f.pools[EDGE];
      const poolAddress = f.poolAddresses[EDGE]!;
      const amount = usdc("1000");
      // assets × (0 + 10^6) / (0 + 1)
      const shares = toShares(amount, 0n, 0n);
      expect(shares).to.equal(10n ** 15n);
      expect(await pool.previewDeposit(amount)).to.equal(shares);
      await f.fundUsdc(f.alice, amount, poolAddress);

      const tx = pool.connect(f.alice).deposit(amount, f.alice.address);
      await expect(tx).to.emit(pool, "Deposit").withArgs(f.alice.address, f.alice.address, amount, shares);
      await expect(tx).to.emit(f.vault, "Deposited").withArgs(f.poolAccount(EDGE), f.USDC.address, poolAddress, amount);

      expect(await pool.balanceOf(f.alice.address)).to.equal(shares);
      expect(await pool.totalSupply()).to.equal(shares);
      expect(await f.vault.balanceOf(f.poolAccount(EDGE), f.USDC.address)).to.equal(amount);
      expect((await f.vault.tierTotal(EDGE, f.USDC.address))[0]).to.equal(amount);
      // The pool holds nothing itself and leaves no allowance behind.
      expect(await f.USDC.mock!.balanceOf(poolAddress)).to.equal(0n);
      expect(await f.USDC.mock!.allowance(poolAddress, f.vaultAddress)).to.equal(0n);
      expect(await f.USDC.mock!.balanceOf(f.vaultAddress)).to.equal(amount);
      expect(await f.USDC.mock!.balanceOf(f.alice.address)).to.equal(0n);
      expect(await pool.totalAssets()).to.equal(amount);
      expect((await f.clearing.health(f.poolAccount(EDGE))).equity).to.equal(amount * USDC_SCALE);
      expect(await pool.convertToAssets(shares)).to.equal(toAssets(shares, shares, amount));
    });

    it("mints to the receiver, not the caller", async () => {
      const f = await networkHelpers.loadFixture(poolFixture);
      const pool = f.pools[PRO];
      await f.fundUsdc(f.alice, usdc("10"), f.poolAddresses[PRO]!);
      await expect(pool.connect(f.alice).deposit(usdc("10"), f.bob.address))
        .to.emit(pool, "Deposit")
        .withArgs(f.alice.address, f.bob.address, usdc("10"), usdc("10") * VIRTUAL_SHARES);
      expect(await pool.balanceOf(f.bob.address)).to.equal(usdc("10") * VIRTUAL_SHARES);
      expect(await pool.balanceOf(f.alice.address)).to.equal(0n);
    });

    it("later deposits and mints follow ERC-4626 with virtual shares, rounding in the pool's favour", async () => {
      const f = await networkHelpers.loadFixture(poolFixture);
      const pool = f.pools[EDGE];
      const poolAddress = f.poolAddresses[EDGE]!;
      await f.lpDeposit(f.alice, EDGE, usdc("1000"));
      // A donation of 7 units straight to the bucket makes the share price uneven.
      await f.vaultDeposit(f.mallory, f.USDC, f.poolAccount(EDGE), 7n);
      let s = await state(f, EDGE);
      expect(s).to.deep.equal({ supply: 10n ** 15n, assets: usdc("1000") + 7n });

      // deposit: shares = floor(assets × (supply + 10^6) / (totalAssets + 1))
      const assets = usdc("333.333333");
      const shares = toShares(assets, s.supply, s.assets);
      expect(shares).to.equal((333_333_333n * (10n ** 15n + 10n ** 6n)) / 1_000_000_008n);
      expect(await pool.previewDeposit(assets)).to.equal(shares);
      await f.fundUsdc(f.bob, assets, poolAddress);
      await expect(pool.connect(f.bob).deposit(assets, f.bob.address))
        .to.emit(pool, "Deposit")
        .withArgs(f.bob.address, f.bob.address, assets, shares);
      expect(await pool.balanceOf(f.bob.address)).to.equal(shares);

      // mint: assets = ceil(shares × (totalAssets + 1) / (supply + 10^6))
      s = await state(f, EDGE);
      expect(s).to.deep.equal({ supply: 10n ** 15n + shares, assets: usdc("1333.333333") + 7n });
      const wanted = 1_234_567_891_234n;
      const cost = toAssets(wanted, s.supply, s.assets, true);
      expect(cost).to.be.greaterThan(toAssets(wanted, s.supply, s.assets));
      expect(await pool.previewMint(wanted)).to.equal(cost);
      await f.fundUsdc(f.carol, usdc("5"), poolAddress);
      await expect(pool.connect(f.carol).mint(wanted, f.carol.address))
        .to.emit(pool, "Deposit")
        .withArgs(f.carol.address, f.carol.address, cost, wanted);
      expect(await pool.balanceOf(f.carol.address)).to.equal(wanted);
      expect(await f.USDC.mock!.balanceOf(f.carol.address)).to.equal(usdc("5") - cost);
      expect(await f.vault.balanceOf(f.poolAccount(EDGE), f.USDC.address)).to.equal(usdc("1333.333333") + 7n + cost);
      expect(await pool.totalAssets()).to.equal(usdc("1333.333333") + 7n + cost);
      expect(await pool.totalSupply()).to.equal(10n ** 15n + shares + wanted);
    });

    it("totalAssets is the account's conservative equity in USDC units (collateral at the band's low side, floored)", async () => {
      const f = await networkHelpers.loadFixture(poolFixture);
      const pool = f.pools[CORE];
      await f.lpDeposit(f.alice, CORE, usdc("1000"));
      // Someone adds WETH (core collateral, 80% weight) to the pool's bucket.
      const weth = w("0.123456789123456789");
      await f.vaultDeposit(f.mallory, f.WETH, f.poolAccount(CORE), weth);
      const band = await f.ethBand();
      const weighted = mulDiv(mulDiv(weth, band.lower, WAD), CORE_WETH_WEIGHT_BPS, BPS);
      const equity = usdc("1000") * USDC_SCALE + weighted;
      const h = await f.clearing.health(f.poolAccount(CORE));
      expect(h.collateralValue).to.equal(equity);
      expect(h.equity).to.equal(equity);
      expect(await pool.totalAssets()).to.equal(equity / USDC_SCALE);
      expect(equity % USDC_SCALE).to.not.equal(0n); // the floor matters
      expect(band.lower).to.be.lessThan(band.mid);
    });

    it("maxDeposit is what the tier's USDC cap still admits; above it ERC4626ExceededMaxDeposit / ExceededMaxMint", async () => {
      const f = await networkHelpers.loadFixture(poolFixture);
      const pool = f.pools[EDGE];
      const poolAddress = f.poolAddresses[EDGE]!;
      const cap = USDC_CAP[EDGE];
      expect(await pool.maxDeposit(f.alice.address)).to.equal(cap);
      expect(await pool.maxMint(f.alice.address)).to.equal(cap * VIRTUAL_SHARES);

      // A trader's margin in the same tier counts against the same cap.
      await f.vaultDeposit(f.carol, f.USDC, accountBucket(f.carol.address, EDGE, 0n), usdc("1000000"));
      await f.lpDeposit(f.alice, EDGE, usdc("1500000"));
      const room = cap - usdc("2500000");
      const s = await state(f, EDGE);
      expect(await pool.maxDeposit(f.bob.address)).to.equal(room);
      expect(await pool.maxDeposit(f.mallory.address)).to.equal(room);
      const maxMint = toShares(room, s.supply, s.assets);
      expect(await pool.maxMint(f.bob.address)).to.equal(maxMint);
      // Other tiers are unaffected.
      expect(await f.pools[PRO].maxDeposit(f.bob.address)).to.equal(USDC_CAP[PRO]);

      await f.fundUsdc(f.bob, room + 1n, poolAddress);
      await expect(pool.connect(f.bob).deposit(room + 1n, f.bob.address))
        .to.be.revertedWithCustomError(pool, "ERC4626ExceededMaxDeposit")
        .withArgs(f.bob.address, room + 1n, room);
      await expect(pool.connect(f.bob).mint(maxMint + 1n, f.bob.address))
        .to.be.revertedWithCustomError(pool, "ERC4626ExceededMaxMint")
        .withArgs(f.bob.address, maxMint + 1n, maxMint);

      await pool.connect(f.bob).deposit(room, f.bob.address);
      expect((await f.vault.tierTotal(EDGE, f.USDC.address))[0]).to.equal(cap);
      expect(await pool.maxDeposit(f.bob.address)).to.equal(0n);
      expect(await pool.maxMint(f.bob.address)).to.equal(0n);
      await expect(pool.connect(f.bob).deposit(1n, f.bob.address))
        .to.be.revertedWithCustomError(pool, "ERC4626ExceededMaxDeposit")
        .withArgs(f.bob.address, 1n, 0n);
    });

    it("a pool that is not its tier's pool in the clearing house refuses deposits and mints (its max* are 0)", async () => {
      const f = await networkHelpers.loadFixture(poolFixture);
      const stray = await f.deployStrayPool(EDGE);
      const strayAddress = await stray.getAddress();
      expect(await f.clearing.pool(EDGE)).to.equal(f.poolAddresses[EDGE]);
      await f.fundUsdc(f.alice, usdc("100"), strayAddress);

      // ERC-4626 checks maxDeposit/maxMint first, which are 0 for an unregistered pool; the PoolNotRegistered
      // check in the transfer hook stays as a second guard.
      await expect(stray.connect(f.alice).deposit(usdc("100"), f.alice.address))
        .to.be.revertedWithCustomError(stray, "ERC4626ExceededMaxDeposit")
        .withArgs(f.alice.address, usdc("100"), 0n);
      await expect(stray.connect(f.alice).mint(10n ** 12n, f.alice.address))
        .to.be.revertedWithCustomError(stray, "ERC4626ExceededMaxMint")
        .withArgs(f.alice.address, 10n ** 12n, 0n);
      expect(await f.USDC.mock!.balanceOf(f.alice.address)).to.equal(usdc("100"));
      expect(await f.vault.balanceOf(accountBucket(strayAddress, EDGE, 0n), f.USDC.address)).to.equal(0n);
      expect(await stray.totalSupply()).to.equal(0n);
    });

    describe("ERC-4626: max* views return 0 where a deposit cannot succeed", () => {
      it("maxDeposit and maxMint of a pool the clearing house does not know are 0", async () => {
        const f = await networkHelpers.loadFixture(poolFixture);
        const stray = await f.deployStrayPool(EDGE);
        // EIP-4626: maxDeposit MUST NOT be higher than what deposit accepts, and MUST be 0 when deposits
        // are disabled.
        expect(await stray.maxDeposit(f.alice.address)).to.equal(0n);
        expect(await stray.maxMint(f.alice.address)).to.equal(0n);
      });

      it("maxDeposit and maxMint are 0 while the vault's deposits are paused", async () => {
        const f = await networkHelpers.loadFixture(poolFixture);
        const pool = f.pools[EDGE];
        await f.vault.connect(f.guardian).pauseDeposits();
        await f.fundUsdc(f.alice, usdc("100"), f.poolAddresses[EDGE]!);
        await expect(pool.connect(f.alice).deposit(usdc("100"), f.alice.address))
          .to.be.revertedWithCustomError(pool, "ERC4626ExceededMaxDeposit")
          .withArgs(f.alice.address, usdc("100"), 0n);
        // EIP-4626: "if deposits are entirely disabled (even temporarily) it MUST return 0".
        expect(await pool.maxDeposit(f.alice.address)).to.equal(0n);
        expect(await pool.maxMint(f.alice.address)).to.equal(0n);
      });
    });
  });

  describe("inflation attack on an empty pool", () => {
    /**
     * The attacker deposits 1 unit, donates `donation` straight to the pool's vault bucket, the victim
     * deposits 1,000 USDC, both redeem after the cooldown. Returns every figure, checked exactly.
     */
    async function attack(f: PoolFixture, donation: bigint) {
      const pool = f.pools[EDGE];
      const victimAssets = usdc("1000");

      const attackerShares = await f.lpDeposit(f.mallory, EDGE, 1n);
      expect(attackerShares).to.equal(VIRTUAL_SHARES); // 1 × (0 + 10^6) / (0 + 1)
      await f.vaultDeposit(f.mallory, f.USDC, f.poolAccount(EDGE), donation);
      expect(await pool.totalAssets()).to.equal(donation + 1n);

      const victimShares = await f.lpDeposit(f.alice, EDGE, victimAssets);
      expect(victimShares).to.equal(toShares(victimAssets, VIRTUAL_SHARES, donation + 1n));
      expect(victimShares).to.be.greaterThan(0n);
      let supply = VIRTUAL_SHARES + victimShares;
      let assets = donation + 1n + victimAssets;
      const victimValue = toAssets(victimShares, supply, assets);
      expect(await pool.convertToAssets(victimShares)).to.equal(victimValue);

      await pool.connect(f.alice).requestRedeem(victimShares);
      await pool.connect(f.mallory).requestRedeem(attackerShares);
      await time.increase(COOLDOWN);

      const victimPayout = toAssets(victimShares, supply, assets);
      await expect(pool.connect(f.alice).redeem(victimShares, f.alice.address, f.alice.address))
        .to.emit(pool, "Withdraw")
        .withArgs(f.alice.address, f.alice.address, f.alice.address, victimPayout, victimShares);
      supply -= victimShares;
      assets -= victimPayout;
      const attackerPayout = toAssets(attackerShares, supply, assets);
      const malloryBefore = await f.USDC.mock!.balanceOf(f.mallory.address);
      await pool.connect(f.mallory).redeem(attackerShares, f.mallory.address, f.mallory.address);
      expect((await f.USDC.mock!.balanceOf(f.mallory.address)) - malloryBefore).to.equal(attackerPayout);
      expect(await f.USDC.mock!.balanceOf(f.alice.address)).to.equal(victimPayout);
      expect(await pool.totalSupply()).to.equal(0n);

      return {
        victimAssets,
        victimLoss: victimAssets - victimPayout,
        attackerCost: 1n + donation,
        attackerLoss: 1n + donation - attackerPayout,
        // The share price the victim met: (totalAssets + 1) / (supply + 10^6), rounded up.
        priceBefore: mulDiv(donation + 2n, 1n, 2n * VIRTUAL_SHARES, true),
      };
    }

    it("a 10,000 USDC donation costs the 1,000 USDC victim < 0.0051 USDC and the attacker ~5,000 USDC", async () => {
      const f = await networkHelpers.loadFixture(poolFixture);
      const r = await attack(f, usdc("10000"));
      // Exact figures from the ERC-4626 formula with offset 6.
      expect(r.victimLoss).to.equal(4_546n); // 0.004546 USDC, less than one share's price
      expect(r.victimLoss).to.be.lessThanOrEqual(r.priceBefore);
      expect(r.priceBefore).to.equal(5_001n);
      expect(r.attackerLoss).to.equal(4_999_997_727n);
      // The attacker does not profit: its round trip returns far less than it put in, and it burns over
      // 10^6 times what the victim lost.
      expect(r.attackerLoss).to.be.greaterThan(0n);
      expect(r.attackerLoss).to.be.greaterThan(1_000_000n * r.victimLoss);
    });

    it("a 1 USDC donation costs the victim at most 1 unit", async () => {
      const f = await networkHelpers.loadFixture(poolFixture);
      const r = await attack(f, usdc("1"));
      expect(r.victimLoss).to.equal(1n);
      expect(r.attackerLoss).to.equal(500_000n);
      expect(r.attackerLoss).to.be.greaterThan(0n);
      expect(r.attackerCost).to.equal(usdc("1") + 1n);
    });
  });

  describe("requestRedeem", () => {
    it("stores the request and emits RedeemRequested(owner, shares, now + 3 days); nothing moves", async () => {
      const f = await networkHelpers.loadFixture(lpFixture);
      const pool = f.pools[EDGE];
      const shares = 4n * 10n ** 14n;
      const balanceBefore = await pool.balanceOf(f.alice.address);
      const supplyBefore = await pool.totalSupply();
      const t = await nextTimestamp();
      await expect(pool.connect(f.alice).requestRedeem(shares))
        .to.emit(pool, "RedeemRequested")
        .withArgs(f.alice.address, shares, t + COOLDOWN);
      const request = await pool.redeemRequest(f.alice.address);
      expect(request.shares).to.equal(shares);
      expect(request.unlockAt).to.equal(t + COOLDOWN);
      expect(await pool.balanceOf(f.alice.address)).to.equal(balanceBefore);
      expect(await pool.totalSupply()).to.equal(supplyBefore);
      expect(await pool.maxRedeem(f.alice.address)).to.equal(0n);
      expect(await pool.maxWithdraw(f.alice.address)).to.equal(0n);
    });

    it("PoolInvalidRequest(owner, shares, balance) for zero shares and for more than the balance", async () => {
      const f = await networkHelpers.loadFixture(lpFixture);
      const pool = f.pools[EDGE];
      const balance = await pool.balanceOf(f.alice.address);
      expect(balance).to.equal(10n ** 15n);
      await expect(pool.connect(f.alice).requestRedeem(0n))
        .to.be.revertedWithCustomError(pool, "PoolInvalidRequest")
        .withArgs(f.alice.address, 0n, balance);
      await expect(pool.connect(f.alice).requestRedeem(balance + 1n))
        .to.be.revertedWithCustomError(pool, "PoolInvalidRequest")
        .withArgs(f.alice.address, balance + 1n, balance);
      await expect(pool.connect(f.mallory).requestRedeem(1n))
        .to.be.revertedWithCustomError(pool, "PoolInvalidRequest")
        .withArgs(f.mallory.address, 1n, 0n);
      // The whole balance is a valid request.
      await expect(pool.connect(f.alice).requestRedeem(balance)).to.emit(pool, "RedeemRequested");
      expect((await pool.redeemRequest(f.alice.address)).shares).to.equal(balance);
      expect((await pool.redeemRequest(f.mallory.address)).unlockAt).to.equal(0n);
    });

    it("a new request replaces the previous one and restarts the cooldown", async () => {
      const f = await networkHelpers.loadFixture(lpFixture);
      const pool = f.pools[EDGE];
      const t1 = await nextTimestamp();
      await pool.connect(f.alice).requestRedeem(4n * 10n ** 14n);
      await time.increaseTo(t1 + 2n * DAY);
      const t2 = await nextTimestamp();
      await expect(pool.connect(f.alice).requestRedeem(10n ** 14n))
        .to.emit(pool, "RedeemRequested")
        .withArgs(f.alice.address, 10n ** 14n, t2 + COOLDOWN);
      const request = await pool.redeemRequest(f.alice.address);
      expect(request.shares).to.equal(10n ** 14n); // replaced, not added
      expect(request.unlockAt).to.equal(t2 + COOLDOWN);

      // The first request's unlock time no longer opens anything.
      await time.increaseTo(t1 + COOLDOWN);
      expect(await pool.maxRedeem(f.alice.address)).to.equal(0n);
      await expect(pool.connect(f.alice).redeem(1n, f.alice.address, f.alice.address))
        .to.be.revertedWithCustomError(pool, "ERC4626ExceededMaxRedeem")
        .withArgs(f.alice.address, 1n, 0n);

      await time.increaseTo(t2 + COOLDOWN);
      expect(await pool.maxRedeem(f.alice.address)).to.equal(10n ** 14n);
    });

    it("a matured request counts only the shares the owner still holds", async () => {
      const f = await networkHelpers.loadFixture(lpFixture);
      const pool = f.pools[EDGE];
      await pool.connect(f.alice).requestRedeem(10n ** 15n);
      await pool.connect(f.alice).transfer(f.carol.address, 6n * 10n ** 14n);
      await time.increase(COOLDOWN);
      expect(await pool.maxRedeem(f.alice.address)).to.equal(4n * 10n ** 14n);
      // The receiver of the shares has no request of its own.
      expect(await pool.maxRedeem(f.carol.address)).to.equal(0n);
      await expect(pool.connect(f.alice).redeem(4n * 10n ** 14n + 1n, f.alice.address, f.alice.address))
        .to.be.revertedWithCustomError(pool, "ERC4626ExceededMaxRedeem")
        .withArgs(f.alice.address, 4n * 10n ** 14n + 1n, 4n * 10n ** 14n);
    });
  });

  describe("redeem and withdraw", () => {
    it("before the unlock time maxRedeem = maxWithdraw = 0 and both revert; at unlockAt the request opens", async () => {
      const f = await networkHelpers.loadFixture(lpFixture);
      const pool = f.pools[EDGE];
      const shares = 6n * 10n ** 14n;
      const t = await nextTimestamp();
      await pool.connect(f.alice).requestRedeem(shares);
      const unlockAt = t + COOLDOWN;

      await time.increaseTo(unlockAt - 2n);
      expect(await pool.maxRedeem(f.alice.address)).to.equal(0n);
      expect(await pool.maxWithdraw(f.alice.address)).to.equal(0n);
      expect(await pool.previewRedeem(shares)).to.be.greaterThan(0n);
      await time.setNextBlockTimestamp(unlockAt - 1n);
      await expect(pool.connect(f.alice).redeem(1n, f.alice.address, f.alice.address))
        .to.be.revertedWithCustomError(pool, "ERC4626ExceededMaxRedeem")
        .withArgs(f.alice.address, 1n, 0n);
      await expect(pool.connect(f.alice).withdraw(1n, f.alice.address, f.alice.address))
        .to.be.revertedWithCustomError(pool, "ERC4626ExceededMaxWithdraw")
        .withArgs(f.alice.address, 1n, 0n);

      await time.increaseTo(unlockAt);
      expect(await pool.maxRedeem(f.alice.address)).to.equal(shares);
      // Without a request nothing ever matures.
      expect(await pool.maxRedeem(f.bob.address)).to.equal(0n);
      expect(await pool.maxWithdraw(f.bob.address)).to.equal(0n);
      await expect(pool.connect(f.bob).redeem(1n, f.bob.address, f.bob.address))
        .to.be.revertedWithCustomError(pool, "ERC4626ExceededMaxRedeem")
        .withArgs(f.bob.address, 1n, 0n);
    });

    it("a matured request is redeemable for REDEEM_WINDOW (2 days) only; after it the LP must request again", async () => {
      const f = await networkHelpers.loadFixture(lpFixture);
      const pool = f.pools[EDGE];
      const shares = 6n * 10n ** 14n;
      const t = await nextTimestamp();
      await pool.connect(f.alice).requestRedeem(shares);
      const unlockAt = t + COOLDOWN;
      const window = await pool.REDEEM_WINDOW();
      expect(window).to.equal(2n * 86400n);

      await time.increaseTo(unlockAt + window);
      expect(await pool.maxRedeem(f.alice.address)).to.equal(shares);
      await time.increaseTo(unlockAt + window + 1n);
      expect(await pool.maxRedeem(f.alice.address)).to.equal(0n);
      await expect(pool.connect(f.alice).redeem(1n, f.alice.address, f.alice.address))
        .to.be.revertedWithCustomError(pool, "ERC4626ExceededMaxRedeem")
        .withArgs(f.alice.address, 1n, 0n);
      // A new request starts a new cooldown.
      const t2 = await nextTimestamp();
      await pool.connect(f.alice).requestRedeem(shares);
      await time.increaseTo(t2 + COOLDOWN);
      expect(await pool.maxRedeem(f.alice.address)).to.equal(shares);
    });

    it("after the unlock, redeem pays through the clearing house and the vault and consumes the request", async () => {
      const f = await networkHelpers.loadFixture(maturedFixture);
      const pool = f.pools[EDGE];
      const request = await pool.redeemRequest(f.alice.address);
      let s = await state(f, EDGE);
      expect(s).to.deep.equal({ supply: 15n * 10n ** 14n, assets: usdc("1500") + 3n });
      expect(await pool.withdrawableAssets()).to.equal(usdc("1500") + 3n);
      expect(await pool.maxRedeem(f.alice.address)).to.equal(request.shares);
      expect(await pool.maxWithdraw(f.alice.address)).to.equal(toAssets(request.shares, s.supply, s.assets));

      const first = 25n * 10n ** 13n;
      const assets = toAssets(first, s.supply, s.assets);
      expect(await pool.previewRedeem(first)).to.equal(assets);
      const tx = pool.connect(f.alice).redeem(first, f.carol.address, f.alice.address);
      await expect(tx)
        .to.emit(pool, "Withdraw")
        .withArgs(f.alice.address, f.carol.address, f.alice.address, assets, first);
      await expect(tx)
        .to.emit(f.clearing, "CollateralWithdrawn")
        .withArgs(f.poolAccount(EDGE), f.USDC.address, f.carol.address, assets, 0n);
      await expect(tx)
        .to.emit(f.vault, "Withdrawn")
        .withArgs(f.poolAccount(EDGE), f.USDC.address, f.carol.address, assets);

      expect(await f.USDC.mock!.balanceOf(f.carol.address)).to.equal(assets);
      expect(await pool.balanceOf(f.alice.address)).to.equal(10n ** 15n - first);
      expect(await f.vault.balanceOf(f.poolAccount(EDGE), f.USDC.address)).to.equal(s.assets - assets);
      expect((await f.vault.tierTotal(EDGE, f.USDC.address))[0]).to.equal(s.assets - assets);
      const after = await pool.redeemRequest(f.alice.address);
      expect(after.shares).to.equal(request.shares - first);
      expect(after.unlockAt).to.equal(request.unlockAt);
      s = await state(f, EDGE);
      expect(s).to.deep.equal({ supply: 15n * 10n ** 14n - first, assets: usdc("1500") + 3n - assets });

      // The rest of the request, then nothing more.
      const rest = request.shares - first;
      expect(await pool.maxRedeem(f.alice.address)).to.equal(rest);
      await pool.connect(f.alice).redeem(rest, f.alice.address, f.alice.address);
      expect(await f.USDC.mock!.balanceOf(f.alice.address)).to.equal(toAssets(rest, s.supply, s.assets));
      expect((await pool.redeemRequest(f.alice.address)).shares).to.equal(0n);
      expect(await pool.maxRedeem(f.alice.address)).to.equal(0n);
      expect(await pool.balanceOf(f.alice.address)).to.equal(4n * 10n ** 14n);
      await expect(pool.connect(f.alice).redeem(1n, f.alice.address, f.alice.address))
        .to.be.revertedWithCustomError(pool, "ERC4626ExceededMaxRedeem")
        .withArgs(f.alice.address, 1n, 0n);
    });

    it("withdraw(assets) burns shares rounded up, and asking for one unit more than the request covers reverts (no panic)", async () => {
      const f = await networkHelpers.loadFixture(maturedFixture);
      const pool = f.pools[EDGE];
      const request = (await pool.redeemRequest(f.alice.address)).shares;
      const s = await state(f, EDGE);
      const maxWithdraw = toAssets(request, s.supply, s.assets);
      expect(await pool.maxWithdraw(f.alice.address)).to.equal(maxWithdraw);

      // One unit more needs more shares than the request holds once rounded up.
      const tooMuch = maxWithdraw + 1n;
      expect(toShares(tooMuch, s.supply, s.assets, true)).to.be.greaterThan(request);
      expect(await pool.previewWithdraw(tooMuch)).to.equal(toShares(tooMuch, s.supply, s.assets, true));
      await expect(pool.connect(f.alice).withdraw(tooMuch, f.alice.address, f.alice.address))
        .to.be.revertedWithCustomError(pool, "ERC4626ExceededMaxWithdraw")
        .withArgs(f.alice.address, tooMuch, maxWithdraw);

      // A partial withdraw burns ceil(assets × (supply + 10^6) / (totalAssets + 1)).
      const part = usdc("123.456789");
      const burnt = toShares(part, s.supply, s.assets, true);
      expect(burnt).to.be.greaterThan(toShares(part, s.supply, s.assets));
      await expect(pool.connect(f.alice).withdraw(part, f.bob.address, f.alice.address))
        .to.emit(pool, "Withdraw")
        .withArgs(f.alice.address, f.bob.address, f.alice.address, part, burnt);
      expect((await pool.redeemRequest(f.alice.address)).shares).to.equal(request - burnt);
      expect(await pool.balanceOf(f.alice.address)).to.equal(10n ** 15n - burnt);
      expect(await f.USDC.mock!.balanceOf(f.bob.address)).to.equal(part);

      // Exactly the new maximum succeeds and stays within the request.
      const s2 = await state(f, EDGE);
      const left = request - burnt;
      const max2 = toAssets(left, s2.supply, s2.assets);
      expect(await pool.maxWithdraw(f.alice.address)).to.equal(max2);
      const burnt2 = toShares(max2, s2.supply, s2.assets, true);
      expect(burnt2).to.be.lessThanOrEqual(left);
      await pool.connect(f.alice).withdraw(max2, f.alice.address, f.alice.address);
      expect((await pool.redeemRequest(f.alice.address)).shares).to.equal(left - burnt2);
      expect(await f.USDC.mock!.balanceOf(f.alice.address)).to.equal(max2);
    });

    it("an approved spender redeems for the owner and spends its allowance; others need one", async () => {
      const f = await networkHelpers.loadFixture(maturedFixture);
      const pool = f.pools[EDGE];
      await pool.connect(f.alice).approve(f.bob.address, 3n * 10n ** 14n);
      const s = await state(f, EDGE);
      const shares = 2n * 10n ** 14n;
      const assets = toAssets(shares, s.supply, s.assets);
      await expect(pool.connect(f.bob).redeem(shares, f.carol.address, f.alice.address))
        .to.emit(pool, "Withdraw")
        .withArgs(f.bob.address, f.carol.address, f.alice.address, assets, shares);
      expect(await pool.allowance(f.alice.address, f.bob.address)).to.equal(10n ** 14n);
      expect(await f.USDC.mock!.balanceOf(f.carol.address)).to.equal(assets);
      expect(await pool.balanceOf(f.alice.address)).to.equal(10n ** 15n - shares);
      expect(await pool.balanceOf(f.bob.address)).to.equal(5n * 10n ** 14n); // bob's own shares untouched
      expect((await pool.redeemRequest(f.alice.address)).shares).to.equal(4n * 10n ** 14n);

      await expect(pool.connect(f.bob).redeem(10n ** 14n + 1n, f.bob.address, f.alice.address))
        .to.be.revertedWithCustomError(pool, "ERC20InsufficientAllowance")
        .withArgs(f.bob.address, 10n ** 14n, 10n ** 14n + 1n);
      await expect(pool.connect(f.mallory).redeem(1n, f.mallory.address, f.alice.address))
        .to.be.revertedWithCustomError(pool, "ERC20InsufficientAllowance")
        .withArgs(f.mallory.address, 0n, 1n);

      // withdraw by the spender spends the shares it burns (rounded up).
      const s2 = await state(f, EDGE);
      const part = usdc("10");
      const burnt = toShares(part, s2.supply, s2.assets, true);
      await pool.connect(f.bob).withdraw(part, f.bob.address, f.alice.address);
      expect(await pool.allowance(f.alice.address, f.bob.address)).to.equal(10n ** 14n - burnt);
      // An unlimited allowance is not spent.
      await pool.connect(f.alice).approve(f.carol.address, MaxUint256);
      await pool.connect(f.carol).redeem(10n ** 13n, f.carol.address, f.alice.address);
      expect(await pool.allowance(f.alice.address, f.carol.address)).to.equal(MaxUint256);
    });

    it("above the vault's outflow limit the receiver is paid by a vault claim, which CollateralWithdrawn names", async () => {
      const f = await networkHelpers.loadFixture(poolFixture);
      const pool = f.pools[CORE];
      const amount = usdc("1500000");
      const shares = await f.lpDeposit(f.alice, CORE, amount);
      await pool.connect(f.alice).requestRedeem(shares);
      await time.increase(COOLDOWN);
      const assets = toAssets(shares, shares, amount);
      expect(assets).to.equal(amount);

      const t = await nextTimestamp();
      // used after = 1.5M against a capacity of 1M per day: ready once 0.5M has refilled.
      const readyAt = t + mulDiv(amount - USDC_OUTFLOW_CAPACITY, DAY, USDC_OUTFLOW_CAPACITY, true);
      const tx = pool.connect(f.alice).redeem(shares, f.alice.address, f.alice.address);
      await expect(tx)
        .to.emit(f.clearing, "CollateralWithdrawn")
        .withArgs(f.poolAccount(CORE), f.USDC.address, f.alice.address, assets, 1n);
      await expect(tx)
        .to.emit(f.vault, "WithdrawalQueued")
        .withArgs(1n, f.poolAccount(CORE), f.USDC.address, f.alice.address, assets, readyAt);
      expect(await pool.balanceOf(f.alice.address)).to.equal(0n);
      expect(await f.USDC.mock!.balanceOf(f.alice.address)).to.equal(0n);
      const claim = await f.vault.claim(1n);
      expect(claim.amount).to.equal(assets);
      expect(claim.receiver).to.equal(f.alice.address);
      expect(claim.owner).to.equal(f.poolAddresses[CORE]);

      await time.increaseTo(readyAt);
      await f.vault.connect(f.bob).payClaim(1n);
      expect(await f.USDC.mock!.balanceOf(f.alice.address)).to.equal(assets);
    });
  });

  describe("the share price follows the pool account's PnL at once", () => {
    /** totalAssets from the pool's position marked on the conservative side of the band, computed here. */
    async function expectedTotalAssets(f: PoolFixture, deposited: bigint) {
      const band = await f.ethBand();
      const p = await poolPosition(f, EDGE);
      expect(p.size).to.equal(-w("2"));
      expect(p.openNotional).to.equal(fillNotional(-w("2"), w("3000")));
      // A short is marked at the high side of the band.
      const pnl = unrealizedPnl(p.size, p.openNotional, band.upper);
      const h = await f.clearing.health(f.poolAccount(EDGE));
      expect(h.unrealizedPnl).to.equal(pnl);
      expect(h.unrealizedLoss).to.equal(pnl < 0n ? pnl : 0n);
      expect(h.pendingFunding).to.equal(p.pending);
      expect(h.cash).to.equal(0n);
      const equity = deposited * USDC_SCALE + pnl - p.pending;
      expect(h.equity).to.equal(equity);
      return { totalAssets: wadToUsdc(equity), pnl, equity };
    }

    it("a fill leaves the pool short; its equity is marked at the band's high side at once", async () => {
      const f = await networkHelpers.loadFixture(poolShortFixture);
      const pool = f.pools[EDGE];
      const { totalAssets, pnl } = await expectedTotalAssets(f, usdc("10000"));
      expect(pnl).to.be.lessThan(0n);
      expect(await pool.totalAssets()).to.equal(totalAssets);
      expect(totalAssets).to.be.lessThan(usdc("10000"));
    });

    it("a price move against the pool lowers totalAssets and convertToAssets immediately by the conservative loss", async () => {
      const f = await networkHelpers.loadFixture(poolShortFixture);
      const pool = f.pools[EDGE];
      const shares = await pool.balanceOf(f.alice.address);
      const before = await expectedTotalAssets(f, usdc("10000"));
      expect(await pool.totalAssets()).to.equal(before.totalAssets);
      const valueBefore = await pool.convertToAssets(shares);
      expect(valueBefore).to.equal(toAssets(shares, shares, before.totalAssets));

      await f.setEthPrice("3150", "3151.5");
      const after = await expectedTotalAssets(f, usdc("10000"));
      // 2 ETH short, 150 higher: roughly 300 USDC more loss, exactly as marked.
      expect(after.pnl).to.be.lessThan(before.pnl - w("299"));
      expect(await pool.totalAssets()).to.equal(after.totalAssets);
      // The drop is the conservative loss in quote WAD (mark and funding), floored to USDC units.
      const drop = before.totalAssets - after.totalAssets;
      const lossWad = before.equity - after.equity;
      expect(drop).to.equal(before.equity / USDC_SCALE - after.equity / USDC_SCALE);
      expect(drop * USDC_SCALE - lossWad).to.be.lessThan(USDC_SCALE);
      expect(lossWad - drop * USDC_SCALE).to.be.lessThan(USDC_SCALE);
      const valueAfter = await pool.convertToAssets(shares);
      expect(valueAfter).to.equal(toAssets(shares, shares, after.totalAssets));
      expect(valueAfter).to.be.lessThan(valueBefore);
      // A new LP buys in at the lowered price.
      expect(await pool.previewDeposit(usdc("1000"))).to.equal(toShares(usdc("1000"), shares, after.totalAssets));
    });

    it("a price move in favour of the pool raises them by the conservative gain", async () => {
      const f = await networkHelpers.loadFixture(poolShortFixture);
      const pool = f.pools[EDGE];
      const shares = await pool.balanceOf(f.alice.address);
      const valueBefore = await pool.convertToAssets(shares);

      await f.setEthPrice("2850", "2851.5");
      const after = await expectedTotalAssets(f, usdc("10000"));
      expect(after.pnl).to.be.greaterThan(0n);
      expect(await pool.totalAssets()).to.equal(after.totalAssets);
      expect(after.totalAssets).to.be.greaterThan(usdc("10000"));
      const valueAfter = await pool.convertToAssets(shares);
      expect(valueAfter).to.equal(toAssets(shares, shares, after.totalAssets));
      expect(valueAfter).to.be.greaterThan(valueBefore);
    });
  });

  describe("utilisation limit", () => {
    it("withdrawableAssets = floor((collateral + cash + loss − funding − ceil(IM × 10000 / 8000)) / 1e12), and it bounds a matured request", async () => {
      const f = await networkHelpers.loadFixture(utilisationFixture);
      const pool = f.pools[EDGE];
      const request = (await pool.redeemRequest(f.alice.address)).shares;
      expect(request).to.equal(await pool.balanceOf(f.alice.address));

      // The figures, from the band and the position.
      const band = await f.ethBand();
      const p = await poolPosition(f, EDGE);
      expect(p.size).to.equal(-w("10"));
      const im = requirement(notionalUp(p.size, band.upper), ETH_IMR[EDGE]);
      const loss = unrealizedPnl(p.size, p.openNotional, band.upper);
      expect(loss).to.be.lessThan(0n);
      const h = await f.clearing.health(f.poolAccount(EDGE));
      expect(h.im).to.equal(im);
      expect(h.unrealizedLoss).to.equal(loss);
      expect(h.pendingFunding).to.equal(p.pending);
      const mustStay = mulDiv(im, BPS, MAX_UTILISATION_BPS, true);
      const withdrawable = (usdc("10000") * USDC_SCALE + loss - p.pending - mustStay) / USDC_SCALE;
      expect(withdrawable).to.be.lessThan(usdc("10000"));
      expect(await pool.withdrawableAssets()).to.equal(withdrawable);
      expect(await withdrawableFromHealth(f, EDGE)).to.equal(withdrawable);

      // maxWithdraw / maxRedeem are bounded by it although the whole balance is requested and matured.
      const s = await state(f, EDGE);
      expect(toAssets(request, s.supply, s.assets)).to.be.greaterThan(withdrawable);
      expect(await pool.maxWithdraw(f.alice.address)).to.equal(withdrawable);
      const maxRedeem = toShares(withdrawable, s.supply, s.assets);
      expect(maxRedeem).to.be.lessThan(request);
      expect(await pool.maxRedeem(f.alice.address)).to.equal(maxRedeem);

      // The pool's short earns funding every second, so these figures hold within this block: the
      // reverts are checked by calls against it.
      const alice = pool.connect(f.alice);
      await expect(alice.redeem.staticCall(request, f.alice.address, f.alice.address))
        .to.be.revertedWithCustomError(pool, "ERC4626ExceededMaxRedeem")
        .withArgs(f.alice.address, request, maxRedeem);
      await expect(alice.redeem.staticCall(maxRedeem + 1n, f.alice.address, f.alice.address))
        .to.be.revertedWithCustomError(pool, "ERC4626ExceededMaxRedeem")
        .withArgs(f.alice.address, maxRedeem + 1n, maxRedeem);
      await expect(alice.withdraw.staticCall(withdrawable + 1n, f.alice.address, f.alice.address))
        .to.be.revertedWithCustomError(pool, "ERC4626ExceededMaxWithdraw")
        .withArgs(f.alice.address, withdrawable + 1n, withdrawable);
      expect(await alice.redeem.staticCall(maxRedeem, f.alice.address, f.alice.address)).to.equal(
        toAssets(maxRedeem, s.supply, s.assets),
      );

      // Redeeming that many shares one block later: paid at that block's share price, computed here from
      // its band and funding index.
      const [indexBefore] = await f.clearing.fundingState(EDGE, ETH);
      await alice.redeem(maxRedeem, f.alice.address, f.alice.address);
      const bandT = await f.ethBand();
      const [indexT] = await f.clearing.fundingState(EDGE, ETH);
      expect(indexT).to.be.greaterThan(indexBefore); // the pool is short: longs pay it
      const position = await f.clearing.position(f.poolAccount(EDGE), ETH);
      const pendingT = fundingOwed(position.size, indexT, position.fundingIndex);
      expect(pendingT).to.be.lessThan(0n);
      const equityT = usdc("10000") * USDC_SCALE + unrealizedPnl(p.size, p.openNotional, bandT.upper) - pendingT;
      const paid = toAssets(maxRedeem, s.supply, wadToUsdc(equityT));
      expect(await f.USDC.mock!.balanceOf(f.alice.address)).to.equal(paid);
      expect(await f.vault.balanceOf(f.poolAccount(EDGE), f.USDC.address)).to.equal(usdc("10000") - paid);
      expect((await pool.redeemRequest(f.alice.address)).shares).to.equal(request - maxRedeem);

      // What remains keeps IM within 80% of the equity net of unrealized profit.
      const h2 = await f.clearing.health(f.poolAccount(EDGE));
      const remaining = h2.collateralValue + h2.cash + h2.unrealizedLoss - h2.pendingFunding;
      expect(h2.im * BPS).to.be.lessThanOrEqual(remaining * MAX_UTILISATION_BPS);
      expect(await pool.withdrawableAssets()).to.equal(await withdrawableFromHealth(f, EDGE));
      expect(await pool.withdrawableAssets()).to.be.lessThan(usdc("0.01"));
    });

    it("when IM already uses the limit nothing may leave, even for a matured request", async () => {
      const f = await networkHelpers.loadFixture(utilisationFixture);
      const pool = f.pools[EDGE];
      // 120 more ETH: the pool is short 130 ETH; its IM (2%) over 80% exceeds its equity net of losses.
      const carol = accountBucket(f.carol.address, EDGE, 0n);
      await f.vaultDeposit(f.carol, f.USDC, carol, usdc("20000"));
      await f.fill(carol, f.poolAccount(EDGE), w("120"), w("3000"));
      const h = await f.clearing.health(f.poolAccount(EDGE));
      const equity = h.collateralValue + h.cash + h.unrealizedLoss - h.pendingFunding;
      const mustStay = mulDiv(h.im, BPS, MAX_UTILISATION_BPS, true);
      expect(equity).to.be.lessThan(mustStay);
      expect(equity).to.be.greaterThanOrEqual(h.im); // the clearing house alone would still let some leave
      expect(await pool.withdrawableAssets()).to.equal(0n);
      expect(await pool.maxRedeem(f.alice.address)).to.equal(0n);
      expect(await pool.maxWithdraw(f.alice.address)).to.equal(0n);
      await expect(pool.connect(f.alice).redeem(1n, f.alice.address, f.alice.address))
        .to.be.revertedWithCustomError(pool, "ERC4626ExceededMaxRedeem")
        .withArgs(f.alice.address, 1n, 0n);
      await expect(pool.connect(f.alice).withdraw(1n, f.alice.address, f.alice.address))
        .to.be.revertedWithCustomError(pool, "ERC4626ExceededMaxWithdraw")
        .withArgs(f.alice.address, 1n, 0n);
    });

    it("a raised utilisation limit applies at once", async () => {
      const f = await networkHelpers.loadFixture(utilisationFixture);
      const pool = f.pools[EDGE];
      const before = await pool.withdrawableAssets();
      await pool.connect(f.risk).setParams(Number(COOLDOWN), 9_000);
      const after = await pool.withdrawableAssets();
      expect(after).to.equal(await withdrawableFromHealth(f, EDGE, 9_000n));
      expect(after).to.be.greaterThan(before);
      expect(await pool.maxWithdraw(f.alice.address)).to.equal(after);
    });

    it("withdrawableAssets is capped by the USDC in the pool's bucket (other collateral cannot leave as USDC)", async () => {
      const f = await networkHelpers.loadFixture(poolFixture);
      const pool = f.pools[CORE];
      const shares = await f.lpDeposit(f.alice, CORE, usdc("1000"));
      await pool.connect(f.alice).requestRedeem(shares);
      await time.increase(COOLDOWN);
      await f.vaultDeposit(f.mallory, f.WETH, f.poolAccount(CORE), w("1"));
      await f.setEthPrice("3000", "3001.5");

      const band = await f.ethBand();
      const equity = usdc("1000") * USDC_SCALE + mulDiv(mulDiv(w("1"), band.lower, WAD), CORE_WETH_WEIGHT_BPS, BPS);
      const totalAssets = equity / USDC_SCALE;
      expect(await pool.totalAssets()).to.equal(totalAssets);
      expect(totalAssets).to.be.greaterThan(usdc("3000"));
      expect(await pool.withdrawableAssets()).to.equal(usdc("1000"));
      expect(await pool.maxWithdraw(f.alice.address)).to.equal(usdc("1000"));
      expect(await pool.maxRedeem(f.alice.address)).to.equal(toShares(usdc("1000"), shares, totalAssets));

      await expect(pool.connect(f.alice).withdraw(usdc("1000") + 1n, f.alice.address, f.alice.address))
        .to.be.revertedWithCustomError(pool, "ERC4626ExceededMaxWithdraw")
        .withArgs(f.alice.address, usdc("1000") + 1n, usdc("1000"));
      const burnt = toShares(usdc("1000"), shares, totalAssets, true);
      await expect(pool.connect(f.alice).withdraw(usdc("1000"), f.alice.address, f.alice.address))
        .to.emit(pool, "Withdraw")
        .withArgs(f.alice.address, f.alice.address, f.alice.address, usdc("1000"), burnt);
      expect(await f.vault.balanceOf(f.poolAccount(CORE), f.USDC.address)).to.equal(0n);
      expect(await pool.withdrawableAssets()).to.equal(0n);
      expect(await pool.maxRedeem(f.alice.address)).to.equal(0n);
    });
    it("maxWithdraw never exceeds what can leave: a debt the withdrawal settles first comes off the bucket's USDC", async () => {
      const f = await networkHelpers.loadFixture(poolFixture);
      const pool = f.pools[CORE];
      const shares = await f.lpDeposit(f.alice, CORE, usdc("1000"));
      await pool.connect(f.alice).requestRedeem(shares);
      await time.increase(COOLDOWN);
      // Non-quote collateral in the pool's bucket (as a liquidation could leave there).
      await f.vaultDeposit(f.mallory, f.WETH, f.poolAccount(CORE), w("1"));
      const carol = accountBucket(f.carol.address, CORE, 0n);
      await f.vaultDeposit(f.carol, f.USDC, carol, usdc("5000"));
      await f.setEthPrice("3000", "3001.5");
      // The pool makes a fill paying a 100 USDC maker fee; the position then closes at the same price.
      await f.fill(carol, f.poolAccount(CORE), w("1"), w("3000"), 0n, w("100"));
      await f.fill(carol, f.poolAccount(CORE), -w("1"), w("3000"));
      // The fee, less the funding the short earned for a block.
      const cash = await f.clearing.cash(f.poolAccount(CORE));
      expect(cash).to.be.lessThan(-w("99.99"));
      expect((await f.clearing.health(f.poolAccount(CORE))).positions).to.equal(0n);
      expect(await f.vault.balanceOf(f.poolAccount(CORE), f.USDC.address)).to.equal(usdc("1000"));

      // ClearingHouse.withdraw settles first: the debt (rounded up) leaves the bucket before the withdrawal,
      // so at most 900 USDC can leave now (IBackstopPool.withdrawableAssets: "assets that may leave now").
      const payable = usdc("1000") - mulDiv(-cash, 1n, USDC_SCALE, true);
      expect(payable).to.equal(usdc("900"));
      expect(await pool.withdrawableAssets()).to.be.lessThanOrEqual(payable);
      expect(await pool.maxWithdraw(f.alice.address)).to.be.lessThanOrEqual(payable);
      // EIP-4626: redeeming maxRedeem(owner) must not revert.
      const maxRedeem = await pool.maxRedeem(f.alice.address);
      expect(maxRedeem).to.be.greaterThan(0n);
      await expect(pool.connect(f.alice).redeem(maxRedeem, f.alice.address, f.alice.address)).to.emit(pool, "Withdraw");
    });
  });

  describe("setParams", () => {
    it("RISK changes both within one step right after deployment: PoolParamsSet, params()", async () => {
      const f = await networkHelpers.loadFixture(poolFixture);
      const pool = f.pools[EDGE];
      // The constructor does not start the change cooldown.
      await expect(pool.connect(f.risk).setParams(Number(2n * DAY), 7_000))
        .to.emit(pool, "PoolParamsSet")
        .withArgs(2n * DAY, 7_000n);
      const [cooldown, utilisation] = await pool.params();
      expect(cooldown).to.equal(2n * DAY);
      expect(utilisation).to.equal(7_000n);
      // Other pools keep theirs.
      expect((await f.pools[CORE].params())[0]).to.equal(COOLDOWN);
    });

    it("callers without RISK: AccessManagedUnauthorized(caller)", async () => {
      const f = await networkHelpers.loadFixture(poolFixture);
      const pool = f.pools[EDGE];
      for (const caller of [f.alice, f.deployer, f.guardian, f.executor, f.oracleOperator, f.controller]) {
        await expect(pool.connect(caller).setParams(Number(2n * DAY), 7_000))
          .to.be.revertedWithCustomError(pool, "AccessManagedUnauthorized")
          .withArgs(caller.address);
      }
      expect((await pool.params())[0]).to.equal(COOLDOWN);
    });

    it("envelopes: cooldown in [1 h, 30 d], utilisation in [1000, 9000] bps, else ParameterOutOfEnvelope(param, value, min, max)", async () => {
      const f = await networkHelpers.loadFixture(poolFixture);
      const pool = f.pools[EDGE].connect(f.risk);
      const cases: [number, number, string, bigint, bigint, bigint][] = [
        [Number(MIN_COOLDOWN) - 1, 8_000, COOLDOWN_PARAM, MIN_COOLDOWN - 1n, MIN_COOLDOWN, MAX_COOLDOWN],
        [Number(MAX_COOLDOWN) + 1, 8_000, COOLDOWN_PARAM, MAX_COOLDOWN + 1n, MIN_COOLDOWN, MAX_COOLDOWN],
        [0, 0, COOLDOWN_PARAM, 0n, MIN_COOLDOWN, MAX_COOLDOWN],
        [Number(COOLDOWN), 999, UTILISATION_PARAM, 999n, 1_000n, 9_000n],
        [Number(COOLDOWN), 9_001, UTILISATION_PARAM, 9_001n, 1_000n, 9_000n],
      ];
      for (const [cooldown, utilisation, param, value, lo, hi] of cases) {
        await expect(pool.setParams(cooldown, utilisation))
          .to.be.revertedWithCustomError(pool, "ParameterOutOfEnvelope")
          .withArgs(param, value, lo, hi);
      }
      // The constructor checks the same envelopes.
      await expect(f.deployStrayPool(EDGE, MIN_COOLDOWN - 1n))
        .to.be.revertedWithCustomError(pool, "ParameterOutOfEnvelope")
        .withArgs(COOLDOWN_PARAM, MIN_COOLDOWN - 1n, MIN_COOLDOWN, MAX_COOLDOWN);
      await expect(f.deployStrayPool(EDGE, COOLDOWN, 9_001n))
        .to.be.revertedWithCustomError(pool, "ParameterOutOfEnvelope")
        .withArgs(UTILISATION_PARAM, 9_001n, 1_000n, 9_000n);
    });

    it("one step per change: 50% of the old value, at least 1 h / 500 bps, else ParameterStepTooLarge", async () => {
      const f = await networkHelpers.loadFixture(poolFixture);
      const pool = f.pools[EDGE].connect(f.risk);
      const halfStep = COOLDOWN / 2n; // 1.5 days
      await expect(pool.setParams(Number(COOLDOWN + halfStep + 1n), 8_000))
        .to.be.revertedWithCustomError(pool, "ParameterStepTooLarge")
        .withArgs(COOLDOWN_PARAM, COOLDOWN, COOLDOWN + halfStep + 1n, STEP_BPS, HOUR);
      await expect(pool.setParams(Number(COOLDOWN - halfStep - 1n), 8_000))
        .to.be.revertedWithCustomError(pool, "ParameterStepTooLarge")
        .withArgs(COOLDOWN_PARAM, COOLDOWN, COOLDOWN - halfStep - 1n, STEP_BPS, HOUR);
      await expect(pool.setParams(Number(COOLDOWN), 3_999))
        .to.be.revertedWithCustomError(pool, "ParameterStepTooLarge")
        .withArgs(UTILISATION_PARAM, 8_000n, 3_999n, STEP_BPS, 500n);
      // Exactly one step each is fine (and the failures above did not start the cooldown).
      await expect(pool.setParams(Number(COOLDOWN + halfStep), 4_000))
        .to.emit(pool, "PoolParamsSet")
        .withArgs(COOLDOWN + halfStep, 4_000n);
    });

    it("small values move by the absolute floor: 1 h for the cooldown, 500 bps for utilisation", async () => {
      const f = await networkHelpers.loadFixture(poolFixture);
      const stray = await f.deployStrayPool(EDGE, HOUR, 1_000n);
      await expect(stray.deploymentTransaction()).to.emit(stray, "PoolParamsSet").withArgs(HOUR, 1_000n);
      const selector = stray.interface.getFunction("setParams").selector;
      await f.manager.connect(f.deployer).setTargetFunctionRole(await stray.getAddress(), [selector], Role.RISK);
      const pool = stray.connect(f.risk);
      await expect(pool.setParams(Number(2n * HOUR + 1n), 1_000))
        .to.be.revertedWithCustomError(pool, "ParameterStepTooLarge")
        .withArgs(COOLDOWN_PARAM, HOUR, 2n * HOUR + 1n, STEP_BPS, HOUR);
      await expect(pool.setParams(Number(HOUR), 1_501))
        .to.be.revertedWithCustomError(pool, "ParameterStepTooLarge")
        .withArgs(UTILISATION_PARAM, 1_000n, 1_501n, STEP_BPS, 500n);
      await expect(pool.setParams(Number(2n * HOUR), 1_500))
        .to.emit(pool, "PoolParamsSet")
        .withArgs(2n * HOUR, 1_500n);
    });

    it("one change per day: ParameterChangeTooSoon(keccak256('poolParams'), last + 1 day)", async () => {
      const f = await networkHelpers.loadFixture(poolFixture);
      const pool = f.pools[EDGE].connect(f.risk);
      const t = await nextTimestamp();
      await pool.setParams(Number(2n * DAY), 7_000);
      await time.setNextBlockTimestamp(t + PARAM_COOLDOWN - 1n);
      await expect(pool.setParams(Number(COOLDOWN), 8_000))
        .to.be.revertedWithCustomError(pool, "ParameterChangeTooSoon")
        .withArgs(POOL_PARAMS_KEY, t + PARAM_COOLDOWN);
      await time.setNextBlockTimestamp(t + PARAM_COOLDOWN);
      await expect(pool.setParams(Number(COOLDOWN), 8_000))
        .to.emit(pool, "PoolParamsSet")
        .withArgs(COOLDOWN, 8_000n);
      // The cooldown restarts from the last change, and counts even for an unchanged value.
      await time.setNextBlockTimestamp(t + 2n * PARAM_COOLDOWN - 1n);
      await expect(pool.setParams(Number(COOLDOWN), 8_000))
        .to.be.revertedWithCustomError(pool, "ParameterChangeTooSoon")
        .withArgs(POOL_PARAMS_KEY, t + 2n * PARAM_COOLDOWN);
    });

    it("a new cooldown applies to later requests; a pending request keeps its unlock time", async () => {
      const f = await networkHelpers.loadFixture(lpFixture);
      const pool = f.pools[EDGE];
      const t1 = await nextTimestamp();
      await pool.connect(f.alice).requestRedeem(10n ** 14n);
      await pool.connect(f.risk).setParams(Number(2n * DAY), 8_000);
      expect((await pool.redeemRequest(f.alice.address)).unlockAt).to.equal(t1 + COOLDOWN);
      const t2 = await nextTimestamp();
      await expect(pool.connect(f.bob).requestRedeem(10n ** 14n))
        .to.emit(pool, "RedeemRequested")
        .withArgs(f.bob.address, 10n ** 14n, t2 + 2n * DAY);
    });
  });
});
