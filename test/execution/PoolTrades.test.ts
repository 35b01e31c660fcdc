import { expect } from "chai";
import {
  parseUnits,
  ZeroAddress,
  ZeroHash,
  type ContractTransactionReceipt,
  type ContractTransactionResponse,
  type Interface,
} from "ethers";

import { accountBucket, insuranceBucket, settlementBucket } from "../../sdk/src/client/buckets.js";
import { orderDomain, signOrder, type Order } from "../../sdk/src/execution/orders.js";
import {
  BPS,
  BTC,
  CORE,
  EDGE,
  ETH,
  ETH_KEY,
  PRIMARY_MAX_AGE,
  PRO,
  RATIOS,
  WAD,
  abs,
  applyFillMath,
  fillNotional,
  fundingOwed,
  max,
  min,
  mulDiv,
  notionalUp,
  requirement,
  unrealizedPnl,
  usdc,
  w,
} from "../clearing/clearingFixture.js";
import { ceilDiv } from "../../sdk/src/math/wad.js";
import { connectChain, deployLocalFoundation } from "../helpers/foundation.js";
import { MockV3Aggregator__factory } from "../../types/index.js";

const chain = await connectChain();
const { ethers, networkHelpers } = chain;
const { time } = networkHelpers;

/** View calls in the context of the next block (its timestamp pinned by {@link pin}): what a trade sees. */
const PENDING = { blockTag: "pending" } as const;
/** A gas limit for calls whose revert must happen in a mined block (no estimate at another timestamp). */
const GAS = { gasLimit: 5_000_000n };
const MAX_UINT256 = 2n ** 256n - 1n;
const USDC_SCALE = 10n ** 12n;
/** The ETH feeds' deviation threshold θ (bps): deploy/local.ts sets baseConfidenceBps to it. */
const THETA_BPS = 10n;
/** The engine's floor of the pool's spread in the local deployment (the largest feed deviation threshold). */
const SPREAD_BPS = 10n;
/** ETH's skew scale in every tier (deploy/local.ts fundingSkewScale). */
const ETH_SKEW_SCALE = w("1000");
/** The ETH breaker's cooldown (deploy/local.ts). */
const BREAKER_COOLDOWN = 900n;
const TIERS = [CORE, PRO, EDGE] as const;

// ================================================================== fixtures

/**
 * The local foundation (deploy/local.ts) with both ETH feeds at 3,000 (so the band is the confidence band of
 * one price, not widened by a disagreeing secondary), BTC at 60,000, and:
 * - with pools: carol (LP) has deposited 1,000,000 USDC into the pro pool; the core and edge pools are empty;
 * - alice, bob and mallory each hold 100,000 USDC in their pro account `(user, PRO, 0)`;
 * - the fee split is 50% to the pool and 20% to `treasury`'s account, 30% to insurance.
 */
async function deployPoolTrades(pools: boolean) {
  const signers = await ethers.getSigners();
  const f = await deployLocalFoundation(chain, { pools });
  const { d } = f;
  const treasury = signers[10]!;
  const outsider = signers[11]!;
  type User = typeof treasury;
  const usdcToken = d.tokens.USDC!;
  const vaultAddress = await d.vault.getAddress();
  const engineAddress = await d.execution.getAddress();
  const clearingAddress = await d.clearing.getAddress();
  const { chainId } = await ethers.provider.getNetwork();
  const domain = orderDomain(chainId, engineAddress);
  const ethFeeds = { primary: d.assets["ETH/USD"]!.mockPrimary!, secondary: d.assets["ETH/USD"]!.mockSecondary! };
  const btcPrimary = d.assets["BTC/USD"]!.mockPrimary!;
  const poolAddresses: Partial<Record<number, string>> = {};
  for (const tier of TIERS) {
    const pool = d.pools[tier];
    if (pool !== undefined) poolAddresses[tier] = await pool.getAddress();
  }

  /** The clearing account `(pool, tier, 0)` of the tier's backstop pool. */
  const poolAccount = (tier: number): bigint => {
    const address = poolAddresses[tier];
    if (address === undefined) throw new Error(`tier ${tier} has no pool`);
    return accountBucket(address, tier, 0n);
  };
  const acct = (user: { address: string }, tier: number, subId = 0n) => accountBucket(user.address, tier, subId);

  /** Mints `amount` USDC to `user` and deposits it into `(user, tier, subId)`; returns the account. */
  async function fund(user: User, tier: number, amount: bigint, subId = 0n): Promise<bigint> {
    const account = acct(user, tier, subId);
    await (await usdcToken.mock!.mint(user.address, amount)).wait();
    await (await usdcToken.mock!.connect(user).approve(vaultAddress, amount)).wait();
    await (await d.vault.connect(user).deposit(usdcToken.address, amount, account)).wait();
    return account;
  }

  /** `user` deposits `amount` USDC into the tier's pool (ERC-4626): the pool's clearing account gets it. */
  async function lp(user: User, tier: number, amount: bigint) {
    const pool = d.pools[tier]!;
    await (await usdcToken.mock!.mint(user.address, amount)).wait();
    await (await usdcToken.mock!.connect(user).approve(poolAddresses[tier]!, amount)).wait();
    await (await pool.connect(user).deposit(amount, user.address)).wait();
  }

  /** Fresh rounds: both ETH feeds at `ethPrice` (primary 8 decimals, secondary 18), BTC at `btcPrice`. */
  async function setPrices(ethPrice: string, btcPrice = "60000") {
    await (await ethFeeds.primary.updateAnswer(parseUnits(ethPrice, 8))).wait();
    await (await ethFeeds.secondary.updateAnswer(parseUnits(ethPrice, 18))).wait();
    await (await btcPrimary.updateAnswer(parseUnits(btcPrice, 8))).wait();
    await networkHelpers.mine();
  }

  let nextNonce = 1n;
  /** A signed ETH order of `account` for settleMatch (far expiry, a fresh nonce). */
  async function signed(signer: User, account: bigint, size: bigint, limitPrice: bigint, reduceOnly = false) {
    const order: Order = {
      account,
      market: ETH,
      size,
      limitPrice,
      reduceOnly,
      expiry: 2n ** 40n,
      nonce: nextNonce++,
    };
    return signOrder(signer, domain, order);
  }

  /** `maker` sells (size < 0) or buys `size` of ETH to / from `taker` at `price` through settleMatch. */
  async function match(
    maker: { signer: User; account: bigint },
    taker: { signer: User; account: bigint },
    makerSize: bigint,
    price: bigint,
    reduceOnly = false,
  ) {
    const m = await signed(maker.signer, maker.account, makerSize, price, reduceOnly);
    const t = await signed(taker.signer, taker.account, -makerSize, price);
    return (await d.execution.connect(outsider).settleMatch(m, t, abs(makerSize))).wait();
  }

  await setPrices("3000");
  if (pools) await lp(f.carol, PRO, usdc("1000000"));
  const [aliceAccount, bobAccount, malloryAccount] = [
    await fund(f.alice, PRO, usdc("100000")),
    await fund(f.bob, PRO, usdc("100000")),
    await fund(f.mallory, PRO, usdc("100000")),
  ];
  await (await d.execution.connect(f.deployer).setFeeConfig(treasury.address, 5_000, 2_000)).wait();

  return {
    ...f,
    treasury,
    outsider,
    usdcToken,
    vaultAddress,
    engineAddress,
    clearingAddress,
    ethFeeds,
    poolAddresses,
    poolAccount,
    acct,
    aliceAccount,
    bobAccount,
    malloryAccount,
    fund,
    lp,
    setPrices,
    match,
  };
}

async function poolTradesFixture() {
  return deployPoolTrades(true);
}

async function noPoolFixture() {
  return deployPoolTrades(false);
}

type F = Awaited<ReturnType<typeof poolTradesFixture>>;

/**
 * The tier's ETH open interest at its cap (20,000 ETH): alice's sub-account 7 sold the whole cap to bob's
 * sub-account 7 through a matched order (7,000,000 USDC each: under pro's 10x at open). The pool is flat.
 */
async function atCapFixture() {
  const f = await poolTradesFixture();
  const cap = (await f.d.risk.tradeParams(PRO, ETH)).oiCap;
  const big1 = await f.fund(f.alice, PRO, usdc("7000000"), 7n);
  const big2 = await f.fund(f.bob, PRO, usdc("7000000"), 7n);
  await f.match({ signer: f.alice, account: big1 }, { signer: f.bob, account: big2 }, -cap, w("3000"));
  return { ...f, cap, big1, big2 };
}
type User = F["alice"];

/** The fixture with alice long 2 and bob short 2 against the pro pool (flat again): both can exit. */
async function positionsFixture() {
  const f = await poolTradesFixture();
  await (await f.d.execution.connect(f.alice).tradeWithPool(f.aliceAccount, ETH, w("2"), MAX_UINT256, false)).wait();
  await (await f.d.execution.connect(f.bob).tradeWithPool(f.bobAccount, ETH, -w("2"), 0n, false)).wait();
  return f;
}

// ================================================================== exact arithmetic (independent of the engine)

const tierOf = (account: bigint): number => Number(account >> 248n);
const longs = (size: bigint): bigint => (size > 0n ? size : 0n);

/** PositionMath.increases: the fill opens, increases or flips the position. */
function increases(size: bigint, dSize: bigint): boolean {
  const next = size + dSize;
  return abs(next) > abs(size) || (size > 0n !== next > 0n && next !== 0n);
}

/**
 * The skew impact by the rule of IExecutionEngine.tradeWithPool (PoolPricing.impacted): the premium at a traders'
 * net skew x is |x| / skewScale on the side where the trade grows the skew, averaged over the trade — for the
 * skew on the trade's side growing from `from` to `to`: (to² − from²) / (2·skewScale·|size|); none for the part
 * that shrinks it. Rounded against the trader; a sell's price is 0 once its average discount reaches 100%.
 */
function impacted(base: bigint, skew: bigint, size: bigint, skewScale: bigint): bigint {
  if (skewScale === 0n) return base;
  const buy = size > 0n;
  const after = skew + size;
  const from = buy ? longs(skew) : longs(-skew);
  const to = buy ? longs(after) : longs(-after);
  if (to <= from) return base;
  const den = 2n * skewScale * abs(size);
  const num = (to - from) * (to + from);
  if (buy) return mulDiv(base, den + num, den, true);
  return num >= den ? 0n : mulDiv(base, den - num, den);
}

/** Flags of a price that may lag the market by more than its band (ExecutionEngine.UNRELIABLE). */
// STALE | SEQUENCER_DOWN | SEQUENCER_GRACE | OUT_OF_BOUNDS | PRIMARY_FAILED | FALLBACK_LAST_GOOD
const UNRELIABLE = 1n | 4n | 8n | 32n | 64n | 512n;

/**
 * The pool price by the rule of IExecutionEngine.tradeWithPool: the band side (upper for a buy, lower for a
 * sell), at least `spreadBps` from the mid (the floor; the asset's widest band on an unreliable read), with
 * the skew impact. A trade that adds risk must price inside the tier's band; an exit's impact stops at the
 * band's edge, never better than the band side.
 */
function poolPrice(
  read: { price: bigint; lower: bigint; upper: bigint },
  size: bigint,
  poolSize: bigint,
  skewScale: bigint,
  bandBps: bigint,
  spreadBps: bigint,
  increasing: boolean,
): { price: bigint; inBand: boolean } {
  const buy = size > 0n;
  const mid = read.price;
  const spread = min(mulDiv(mid, spreadBps, BPS, true), mid);
  const base = buy ? max(read.upper, mid + spread) : min(read.lower, mid - spread);
  const raw = impacted(base, -poolSize, size, skewScale);
  const allowed = mulDiv(mid, bandBps, BPS);
  if (increasing) return { price: raw, inBand: abs(raw - mid) <= allowed };
  const price = buy ? max(base, min(raw, mid + allowed)) : min(base, max(raw, mid - allowed));
  return { price, inBand: true };
}

/** The taker fee: the notional rounded down, the fee rounded up. */
const takerFee = (size: bigint, price: bigint, feeBps: bigint): bigint =>
  mulDiv(mulDiv(abs(size), price, WAD), feeBps, BPS, true);

/** Pins the next block's timestamp to the latest + 1, so `PENDING` reads see exactly what the next trade sees. */
async function pin(): Promise<bigint> {
  const next = BigInt(await time.latest()) + 1n;
  await time.setNextBlockTimestamp(next);
  return next;
}

/**
 * What a pool trade of `size` for `account` must fill at, computed from on-chain reads of the oracle (the strict
 * read for a trade that increases, the liquidation read for an exit), the risk engine's trade parameters, the
 * positions and the fee config, all in the context of the next block.
 */
async function expectedQuote(f: F, account: bigint, market: number, size: bigint) {
  const tier = tierOf(account);
  const params = await f.d.risk.tradeParams(tier, market, PENDING);
  const position = (await f.d.clearing.position(account, market)).size;
  const poolPosition = (await f.d.clearing.position(f.poolAccount(tier), market)).size;
  const increasing = increases(position, size);
  const read = increasing
    ? await f.d.oracle.getPrice(params.oracleAsset, PENDING)
    : await f.d.oracle.getPriceForLiquidation(params.oracleAsset, PENDING);
  const floor = await f.d.execution.minPoolSpread();
  const spreadBps =
    (read.flags & UNRELIABLE) !== 0n
      ? max(floor, (await f.d.oracle.assetConfig(params.oracleAsset)).maxConfidenceBps)
      : floor;
  const { price, inBand } = poolPrice(
    read,
    size,
    poolPosition,
    params.skewScale,
    params.priceBandBps,
    spreadBps,
    increasing,
  );
  const fee = takerFee(size, price, params.takerFeeBps);
  const [treasury, poolShareBps, protocolShareBps] = await f.d.execution.feeConfig();
  const poolFee = mulDiv(fee, poolShareBps, BPS);
  const protocolFee = mulDiv(fee, protocolShareBps, BPS);
  return {
    tier,
    params,
    position,
    poolPosition,
    increasing,
    mid: read.price,
    lower: read.lower,
    upper: read.upper,
    price,
    inBand,
    fee,
    poolFee,
    protocolFee,
    insuranceFee: fee - poolFee - protocolFee,
    treasury,
  };
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

async function position(f: F, account: bigint, market = ETH) {
  const p = await f.d.clearing.position(account, market);
  return { size: p.size, openNotional: p.openNotional, fundingIndex: p.fundingIndex };
}

const cash = (f: F, account: bigint) => f.d.clearing.cash(account);
const usdcBalance = (f: F, account: bigint) => f.d.vault.balanceOf(account, f.usdcToken.address);

/**
 * Everything a refused trade must leave unchanged: for `accounts`, every tier's pool, insurance fund,
 * settlement bucket and treasury account: positions (ETH and BTC), cash and USDC vault balances; and the open
 * interest of every tier × market.
 */
async function snapshot(f: F, accounts: bigint[]) {
  const all = [...accounts];
  for (const tier of TIERS) {
    if (f.poolAddresses[tier] !== undefined) all.push(f.poolAccount(tier));
    all.push(insuranceBucket(tier), settlementBucket(tier), f.acct(f.treasury, tier));
  }
  const out: Record<string, unknown> = {};
  for (const a of all) {
    for (const m of [ETH, BTC]) out[`position:${a}:${m}`] = await position(f, a, m);
    out[`cash:${a}`] = await cash(f, a);
    out[`usdc:${a}`] = await usdcBalance(f, a);
  }
  for (const tier of TIERS) {
    for (const m of [ETH, BTC]) out[`oi:${tier}:${m}`] = await f.d.clearing.openInterest(tier, m);
  }
  return out;
}

/** Runs `fn` (which must revert) and checks that {@link snapshot} of `accounts` did not change. */
async function unchanged(f: F, accounts: bigint[], fn: () => Promise<void>) {
  const before = await snapshot(f, accounts);
  await fn();
  expect(await snapshot(f, accounts)).to.deep.equal(before);
}

interface TradeOptions {
  market?: number;
  acceptable?: bigint;
  reduceOnly?: boolean;
}

/**
 * Trades `size` for `account` with its tier's pool as `signer` and checks the whole outcome against the rule
 * computed independently ({@link expectedQuote}): quotePoolTrade and the call's return values before, the
 * PoolTraded and FillApplied events, both positions (size, cost basis, funding snapshot), the cash of the
 * trader, the pool, the insurance fund and the treasury's account (realized PnL, fee split, funding), and the
 * open interest.
 */
async function poolTrade(f: F, signer: User, account: bigint, size: bigint, o: TradeOptions = {}) {
  const market = o.market ?? ETH;
  const tier = tierOf(account);
  const pool = f.poolAccount(tier);
  const timestamp = await pin();
  const q = await expectedQuote(f, account, market, size);
  expect(q.inBand, "the trade under test is priced inside the band").to.equal(true);
  const acceptable = o.acceptable ?? (size > 0n ? MAX_UINT256 : 0n);
  const reduceOnly = o.reduceOnly ?? false;
  const protocol = q.treasury === ZeroAddress ? undefined : accountBucket(q.treasury, tier, 0n);
  const before = {
    trader: await position(f, account, market),
    pool: await position(f, pool, market),
    traderCash: await cash(f, account),
    poolCash: await cash(f, pool),
    insurance: await cash(f, insuranceBucket(tier)),
    protocol: protocol === undefined ? 0n : await cash(f, protocol),
    oi: await f.d.clearing.openInterest(tier, market),
    traderUsdc: await usdcBalance(f, account),
    poolUsdc: await usdcBalance(f, pool),
  };

  expect([...(await f.d.execution.quotePoolTrade(account, market, size, PENDING))]).to.deep.equal([q.price, q.mid]);
  const returned = await f.d.execution
    .connect(signer)
    .tradeWithPool.staticCall(account, market, size, acceptable, reduceOnly, PENDING);
  expect([...returned]).to.deep.equal([q.price, q.fee]);

  const tx = await f.d.execution.connect(signer).tradeWithPool(account, market, size, acceptable, reduceOnly);
  const receipt = (await tx.wait())!;
  expect(BigInt((await ethers.provider.getBlock(receipt.blockNumber))!.timestamp)).to.equal(timestamp);

  const notional = fillNotional(size, q.price);
  const t = applyFillMath(before.trader.size, before.trader.openNotional, size, notional);
  const p = applyFillMath(before.pool.size, before.pool.openNotional, -size, -notional);
  expect(events(f.d.execution.interface, f.engineAddress, receipt, "PoolTraded")).to.deep.equal([
    [account, BigInt(market), size, q.price, q.mid, q.fee],
  ]);
  expect(events(f.d.clearing.interface, f.clearingAddress, receipt, "FillApplied")).to.deep.equal([
    [account, pool, BigInt(market), size, q.price, q.fee, 0n, q.poolFee, q.protocolFee, t.realized, p.realized],
  ]);
  // The fill moved the market's funding index to now; each side paid what its size owed since its snapshot.
  const accrued = events(f.d.clearing.interface, f.clearingAddress, receipt, "FundingAccrued").filter(
    (e) => e[0] === BigInt(tier) && e[1] === BigInt(market),
  );
  expect(accrued.length).to.equal(1);
  const index = accrued[0]![2] as bigint;
  const traderFunding = fundingOwed(before.trader.size, index, before.trader.fundingIndex);
  const poolFunding = fundingOwed(before.pool.size, index, before.pool.fundingIndex);

  expect(await position(f, account, market)).to.deep.equal({
    size: t.size,
    openNotional: t.openNotional,
    fundingIndex: t.size === 0n ? 0n : index,
  });
  expect(await position(f, pool, market)).to.deep.equal({
    size: p.size,
    openNotional: p.openNotional,
    fundingIndex: p.size === 0n ? 0n : index,
  });
  expect(await cash(f, account)).to.equal(before.traderCash + t.realized - q.fee - traderFunding);
  expect(await cash(f, pool)).to.equal(before.poolCash + p.realized + q.poolFee - poolFunding);
  expect(await cash(f, insuranceBucket(tier))).to.equal(before.insurance + q.insuranceFee);
  if (protocol !== undefined) expect(await cash(f, protocol)).to.equal(before.protocol + q.protocolFee);
  expect(await f.d.clearing.openInterest(tier, market)).to.equal(
    before.oi - longs(before.trader.size) + longs(t.size) - longs(before.pool.size) + longs(p.size),
  );
  // A trade moves no tokens: the vault balances stay.
  expect(await usdcBalance(f, account)).to.equal(before.traderUsdc);
  expect(await usdcBalance(f, pool)).to.equal(before.poolUsdc);
  return { ...q, receipt, realized: t.realized, poolRealized: p.realized, traderFunding, poolFunding, index };
}

/** Sends the transactions `fn` submits into one block (automine off), then mines it. */
async function oneBlock<T>(fn: () => Promise<T>): Promise<T> {
  await ethers.provider.send("evm_setAutomine", [false]);
  try {
    const out = await fn();
    await ethers.provider.send("evm_mine", []);
    return out;
  } finally {
    await ethers.provider.send("evm_setAutomine", [true]);
  }
}

// ================================================================== tests

describe("ExecutionEngine: trades with the pool", () => {
  // ---------------------------------------------------------------- happy paths

  describe("happy paths: price, fee, split, events, positions, quote and return values", () => {
    it("open long: a buy from a flat pool fills at the upper band side times the skew impact, rounded up", async () => {
      const f = await networkHelpers.loadFixture(poolTradesFixture);
      const size = w("1.234567890123456789");
      const r = await poolTrade(f, f.alice, f.aliceAccount, size);
      expect(r.increasing).to.equal(true);
      expect(r.mid).to.equal(w("3000"));
      expect(r.price).to.equal(mulDiv(r.upper, 2n * ETH_SKEW_SCALE + size, 2n * ETH_SKEW_SCALE, true));
      expect(r.price).to.be.greaterThan(r.upper);
      expect(r.fee).to.be.greaterThan(0n);
      expect(r.poolFee).to.equal(r.fee / 2n);
      expect(r.protocolFee).to.equal((r.fee * 2_000n) / BPS);
      expect(await f.d.clearing.openInterest(PRO, ETH)).to.equal(size);
      expect([...(await f.d.clearing.accountMarkets(f.aliceAccount))]).to.deep.equal([BigInt(ETH)]);
      expect(r.receipt.status).to.equal(1);
    });

    it("open short: a sell to a flat pool fills at the lower band side times the skew impact, rounded down", async () => {
      const f = await networkHelpers.loadFixture(poolTradesFixture);
      const size = -w("2.5");
      const r = await poolTrade(f, f.bob, f.bobAccount, size);
      expect(r.price).to.equal(mulDiv(r.lower, 2n * ETH_SKEW_SCALE + size, 2n * ETH_SKEW_SCALE));
      expect(r.price).to.be.lessThan(r.lower);
      // The pool is now long 2.5: the open interest counts its long.
      expect((await position(f, f.poolAccount(PRO))).size).to.equal(w("2.5"));
      expect(await f.d.clearing.openInterest(PRO, ETH)).to.equal(w("2.5"));
    });

    it("increase: a second buy pays the higher skew of the first, and adds to the cost basis", async () => {
      const f = await networkHelpers.loadFixture(poolTradesFixture);
      const first = await poolTrade(f, f.alice, f.aliceAccount, w("1"));
      const second = await poolTrade(f, f.alice, f.aliceAccount, w("0.5"));
      expect(second.increasing).to.equal(true);
      expect(second.poolPosition).to.equal(-w("1"));
      expect(second.price).to.equal(
        mulDiv(second.upper, 2n * ETH_SKEW_SCALE + 2n * w("1") + w("0.5"), 2n * ETH_SKEW_SCALE, true),
      );
      const p = await position(f, f.aliceAccount);
      expect(p.size).to.equal(w("1.5"));
      expect(p.openNotional).to.equal(fillNotional(w("1"), first.price) + fillNotional(w("0.5"), second.price));
    });

    it("partial close: a reduce-only sell is an exit (liquidation read), realizes PnL on the closed part", async () => {
      const f = await networkHelpers.loadFixture(poolTradesFixture);
      await poolTrade(f, f.alice, f.aliceAccount, w("3"));
      await f.setPrices("3050");
      const r = await poolTrade(f, f.alice, f.aliceAccount, -w("1"), { reduceOnly: true });
      expect(r.increasing).to.equal(false);
      expect(r.realized).to.be.greaterThan(0n);
      expect(r.poolRealized).to.equal(-r.realized);
      expect((await position(f, f.aliceAccount)).size).to.equal(w("2"));
      expect((await position(f, f.poolAccount(PRO))).size).to.equal(-w("2"));
    });

    it("full close: the position and its market entry are gone, the pool is flat again", async () => {
      const f = await networkHelpers.loadFixture(poolTradesFixture);
      await poolTrade(f, f.alice, f.aliceAccount, w("3"));
      await f.setPrices("2990");
      const r = await poolTrade(f, f.alice, f.aliceAccount, -w("3"), { reduceOnly: true });
      expect(r.realized).to.be.lessThan(0n);
      expect(await position(f, f.aliceAccount)).to.deep.equal({ size: 0n, openNotional: 0n, fundingIndex: 0n });
      expect(await position(f, f.poolAccount(PRO))).to.deep.equal({ size: 0n, openNotional: 0n, fundingIndex: 0n });
      expect([...(await f.d.clearing.accountMarkets(f.aliceAccount))]).to.deep.equal([]);
      expect(await f.d.clearing.openInterest(PRO, ETH)).to.equal(0n);
    });

    it("flip: a sell larger than the long closes it and opens a short (a risk-increasing trade, strict read)", async () => {
      const f = await networkHelpers.loadFixture(poolTradesFixture);
      await poolTrade(f, f.alice, f.aliceAccount, w("2"));
      const r = await poolTrade(f, f.alice, f.aliceAccount, -w("5"));
      expect(r.increasing).to.equal(true);
      expect(r.position).to.equal(w("2"));
      expect((await position(f, f.aliceAccount)).size).to.equal(-w("3"));
      expect((await position(f, f.poolAccount(PRO))).size).to.equal(w("3"));
      // The closed 2 realized at the sell price against the buy's cost basis.
      expect(r.realized).to.not.equal(0n);
      expect(await f.d.clearing.openInterest(PRO, ETH)).to.equal(w("3"));
    });

    it("the acceptable price equal to the fill price executes, for a buy and a sell", async () => {
      const f = await networkHelpers.loadFixture(poolTradesFixture);
      await pin();
      const buy = await expectedQuote(f, f.aliceAccount, ETH, w("1"));
      await poolTrade(f, f.alice, f.aliceAccount, w("1"), { acceptable: buy.price });
      await pin();
      const sell = await expectedQuote(f, f.bobAccount, ETH, -w("1"));
      await poolTrade(f, f.bob, f.bobAccount, -w("1"), { acceptable: sell.price });
    });

    it("a tier's pool trades only its tier: a core trade settles against the core pool, fees to core's accounts", async () => {
      const f = await networkHelpers.loadFixture(poolTradesFixture);
      await f.lp(f.carol, CORE, usdc("500000"));
      const coreAccount = await f.fund(f.alice, CORE, usdc("50000"));
      const proPool = await position(f, f.poolAccount(PRO));
      const r = await poolTrade(f, f.alice, coreAccount, w("2"));
      expect(r.tier).to.equal(CORE);
      expect((await position(f, f.poolAccount(CORE))).size).to.equal(-w("2"));
      expect(await position(f, f.poolAccount(PRO))).to.deep.equal(proPool);
      expect(await cash(f, f.acct(f.treasury, CORE))).to.equal(r.protocolFee);
      expect(await cash(f, f.acct(f.treasury, PRO))).to.equal(0n);
    });
  });

  // ---------------------------------------------------------------- skew impact

  describe("skew impact: the premium |skew| / skewScale on the side the trade grows it, averaged over the trade", () => {
    const S2 = 2n * ETH_SKEW_SCALE;

    it("a trade that increases the net skew pays more than the band side, and more the larger the skew", async () => {
      const f = await networkHelpers.loadFixture(poolTradesFixture);
      // From a flat pool: 1 ETH pays the upper side × (1 + 1/2000).
      await pin();
      const flat = await expectedQuote(f, f.bobAccount, ETH, w("1"));
      expect(flat.price).to.equal(mulDiv(flat.upper, S2 + w("1"), S2, true));
      expect(flat.price).to.be.greaterThan(flat.upper);
      // After alice buys 5, the traders are net long 5: bob's 1 ETH pays the upper side × (1 + 11/2000).
      await poolTrade(f, f.alice, f.aliceAccount, w("5"));
      const r = await poolTrade(f, f.bob, f.bobAccount, w("1"));
      expect(r.poolPosition).to.equal(-w("5"));
      expect(r.upper).to.equal(flat.upper); // same band: the price moved only by the skew
      expect(r.price).to.equal(mulDiv(r.upper, S2 + 2n * w("5") + w("1"), S2, true));
      expect(r.price).to.be.greaterThan(flat.price);
      // Symmetric for sells: after alice sells 4 (traders net short 4), a sale of 1 receives less than from a flat pool.
      const f2 = await networkHelpers.loadFixture(poolTradesFixture);
      await pin();
      const flatSell = await expectedQuote(f2, f2.bobAccount, ETH, -w("1"));
      expect(flatSell.price).to.equal(mulDiv(flatSell.lower, S2 - w("1"), S2));
      await poolTrade(f2, f2.alice, f2.aliceAccount, -w("4"));
      const s = await poolTrade(f2, f2.bob, f2.bobAccount, -w("1"));
      expect(s.price).to.equal(mulDiv(s.lower, S2 - 2n * w("4") - w("1"), S2));
      expect(s.price).to.be.lessThan(flatSell.price);
      expect(s.price).to.be.lessThan(s.lower);
    });

    it("a trade that shrinks the net skew pays no impact and gets no rebate: the band side exactly", async () => {
      const f = await networkHelpers.loadFixture(poolTradesFixture);
      // Traders net long 5 (pool short 5): a seller of 1 shrinks the skew and receives the lower side.
      await poolTrade(f, f.alice, f.aliceAccount, w("5"));
      const sell = await poolTrade(f, f.bob, f.bobAccount, -w("1"));
      expect(sell.price).to.equal(sell.lower);
      // A seller of 6 shrinks it by 4 (no impact) and grows it on the short side by 2: impact on that part only.
      const den = 2n * ETH_SKEW_SCALE * w("6");
      const big = await poolTrade(f, f.alice, f.aliceAccount, -w("6"));
      expect(big.price).to.equal(mulDiv(big.lower, den - w("2") * w("2"), den));
      expect(big.price).to.be.lessThan(big.lower);
      // Traders net short 2 (pool long 2): a buyer of 1 shrinks it and pays the upper side.
      expect((await position(f, f.poolAccount(PRO))).size).to.equal(w("2"));
      const buy = await poolTrade(f, f.carol, await f.fund(f.carol, PRO, usdc("10000")), w("1"));
      expect(buy.price).to.equal(buy.upper);
    });

    it("rounding is against the trader: a buy's price rounds up, a sell's down, the fee up, the split's shares down", async () => {
      const f = await networkHelpers.loadFixture(poolTradesFixture);
      // 1 wei: the skew factor (2·10^21 ± 1) / (2·10^21) leaves a fraction of a wei on the band side.
      await pin();
      const q = await expectedQuote(f, f.aliceAccount, ETH, 1n);
      const exactNum = q.upper * (S2 + 1n);
      expect(exactNum % S2).to.not.equal(0n);
      expect(q.price).to.equal(exactNum / S2 + 1n);
      // Notional 3,00x wei, fee 5 bps of it: a fraction, rounded up to 2 wei.
      const notional = mulDiv(1n, q.price, WAD);
      expect((notional * 5n) % BPS).to.not.equal(0n);
      expect(q.fee).to.equal((notional * 5n) / BPS + 1n);
      const buy = await poolTrade(f, f.alice, f.aliceAccount, 1n);
      expect(buy.price).to.equal(exactNum / S2 + 1n);
      // The split rounds the pool's and the protocol's shares down; insurance gets the dust.
      expect(buy.poolFee).to.equal(buy.fee / 2n);
      expect(buy.protocolFee).to.equal((buy.fee * 2_000n) / BPS);
      expect(buy.poolFee + buy.protocolFee + buy.insuranceFee).to.equal(buy.fee);

      // A sell of an uneven size: the exact product leaves a remainder, the price is its floor.
      const size = -w("1.234567890123456789");
      await pin();
      const s = await expectedQuote(f, f.bobAccount, ETH, size);
      // The skew was +1 wei: the sell grows the traders' net short from 0 to |size| − 1 wei.
      const den = 2n * ETH_SKEW_SCALE * abs(size);
      const to = abs(size) - 1n;
      const sellNum = s.lower * (den - to * to);
      expect(sellNum % den).to.not.equal(0n);
      const sell = await poolTrade(f, f.bob, f.bobAccount, size);
      expect(sell.price).to.equal(sellNum / den);
      expect((mulDiv(abs(size), sell.price, WAD) * 5n) % BPS).to.not.equal(0n);
      expect(sell.fee).to.equal((mulDiv(abs(size), sell.price, WAD) * 5n) / BPS + 1n);
    });

    it("the skew impact can push a large trade outside the band: the largest in-band buy fills, one wei more reverts ExecutionPriceOutsideBand(price, mid, bandBps)", async () => {
      const f = await networkHelpers.loadFixture(poolTradesFixture);
      await pin();
      const q0 = await expectedQuote(f, f.aliceAccount, ETH, w("1"));
      const allowed = mulDiv(q0.mid, q0.params.priceBandBps, BPS);
      // Largest buy whose price stays within mid + allowed (binary search on the exact rule).
      let lo = 1n;
      let hi = w("100");
      while (hi - lo > 1n) {
        const m = (lo + hi) / 2n;
        const read = { price: q0.mid, lower: q0.lower, upper: q0.upper };
        if (poolPrice(read, m, 0n, ETH_SKEW_SCALE, 100n, SPREAD_BPS, true).price - q0.mid <= allowed) lo = m;
        else hi = m;
      }
      const over = await expectedQuote(f, f.aliceAccount, ETH, lo + 1n);
      expect(over.inBand).to.equal(false);
      const before = await snapshot(f, [f.aliceAccount]);
      await expect(f.d.execution.quotePoolTrade(f.aliceAccount, ETH, lo + 1n, PENDING))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionPriceOutsideBand")
        .withArgs(over.price, over.mid, 100n);
      await expect(f.d.execution.connect(f.alice).tradeWithPool(f.aliceAccount, ETH, lo + 1n, MAX_UINT256, false, GAS))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionPriceOutsideBand")
        .withArgs(over.price, over.mid, 100n);
      expect(await snapshot(f, [f.aliceAccount])).to.deep.equal(before);
      const r = await poolTrade(f, f.alice, f.aliceAccount, lo);
      expect(r.price - r.mid).to.be.lessThanOrEqual(allowed);
      expect(r.price - r.mid).to.be.greaterThan(allowed - 2n);
    });

    it("a sell so large that the skew factor is not positive reverts ExecutionPriceOutsideBand(0, mid, bandBps); a sell out of band reverts with its price", async () => {
      const f = await networkHelpers.loadFixture(poolTradesFixture);
      const before = await snapshot(f, [f.aliceAccount]);
      await pin();
      const q = await expectedQuote(f, f.aliceAccount, ETH, -w("20"));
      expect(q.inBand).to.equal(false);
      await expect(f.d.execution.connect(f.alice).tradeWithPool(f.aliceAccount, ETH, -w("20"), 0n, false, GAS))
        .to.be.revertedWithCustomError(f.d.execution, "ExecutionPriceOutsideBand")
        .withArgs(q.price, q.mid, 100n);
      for (const size of [-S2, -S2 - 1n, -w("5000")]) {
        await pin();
        const mid = (await f.d.oracle.getPrice(ETH_KEY, PENDING)).price;
        await expect(f.d.execution.quotePoolTrade(f.aliceAccount, ETH, size, PENDING))
          .to.be.revertedWithCustomError(f.d.execution, "ExecutionPriceOutsideBand")
          .withArgs(0n, mid, 100n);
        await expect(f.d.execution.connect(f.alice).tradeWithPool(f.aliceAccount, ETH, size, 0n, false, GAS))
          .to.be.revertedWithCustomError(f.d.execution, "ExecutionPriceOutsideBand")
          .withArgs(0n, mid, 100n);
      }
      expect(await snapshot(f, [f.aliceAccount])).to.deep.equal(before);
    });
  });

  // ---------------------------------------------------------------- fee split

  describe("fee split: setFeeConfig (ADMIN), feeConfig()", () => {
    it("ADMIN sets the split (FeeConfigSet); each trade pays the pool floor(fee × pool share), the treasury's account of the trade's tier floor(fee × protocol share), insurance the rest", async () => {
      const f = await networkHelpers.loadFixture(poolTradesFixture);
      expect([...(await f.d.execution.feeConfig())]).to.deep.equal([f.treasury.address, 5_000n, 2_000n]);
      const other = f.outsider;
      await expect(f.d.execution.connect(f.deployer).setFeeConfig(other.address, 3_333, 3_334))
        .to.emit(f.d.execution, "FeeConfigSet")
        .withArgs(other.address, 3_333n, 3_334n);
      expect([...(await f.d.execution.feeConfig())]).to.deep.equal([other.address, 3_333n, 3_334n]);
      // An uneven fee: 3,333 and 3,334 bps of it leave dust to insurance.
      const r = await poolTrade(f, f.alice, f.aliceAccount, w("1.234567890123456789"));
      expect(r.poolFee).to.equal((r.fee * 3_333n) / BPS);
      expect(r.protocolFee).to.equal((r.fee * 3_334n) / BPS);
      expect((r.fee * 3_333n) % BPS).to.not.equal(0n);
      expect(r.insuranceFee).to.equal(r.fee - r.poolFee - r.protocolFee);
      expect(await cash(f, f.acct(other, PRO))).to.equal(r.protocolFee);
      expect(await cash(f, insuranceBucket(PRO))).to.equal(r.insuranceFee);
      // The former treasury gets nothing more.
      expect(await cash(f, f.acct(f.treasury, PRO))).to.equal(0n);
    });

    it("the edges: everything to the pool, everything to the treasury, nothing shared (all to insurance), a pool share without a treasury", async () => {
      const f = await networkHelpers.loadFixture(poolTradesFixture);
      const configs: [string, number, number][] = [
        [f.treasury.address, 10_000, 0],
        [f.treasury.address, 0, 10_000],
        [f.treasury.address, 0, 0],
        [ZeroAddress, 4_000, 0],
        [ZeroAddress, 0, 0],
      ];
      let size = w("0.3");
      for (const [treasury, poolShare, protocolShare] of configs) {
        await expect(f.d.execution.connect(f.deployer).setFeeConfig(treasury, poolShare, protocolShare))
          .to.emit(f.d.execution, "FeeConfigSet")
          .withArgs(treasury, poolShare, protocolShare);
        const treasuryCash = await cash(f, f.acct(f.treasury, PRO));
        const r = await poolTrade(f, f.alice, f.aliceAccount, size);
        expect(r.poolFee).to.equal((r.fee * BigInt(poolShare)) / BPS);
        expect(r.protocolFee).to.equal((r.fee * BigInt(protocolShare)) / BPS);
        expect(r.insuranceFee).to.equal(r.fee - r.poolFee - r.protocolFee);
        if (protocolShare === 10_000) expect(r.protocolFee).to.equal(r.fee);
        if (poolShare === 10_000) expect(r.poolFee).to.equal(r.fee);
        expect(await cash(f, f.acct(f.treasury, PRO))).to.equal(treasuryCash + r.protocolFee);
        size = -size; // alternate sides so the skew stays small
      }
    });

    it("shares above 100% or a protocol share without a treasury revert ExecutionInvalidFeeConfig(treasury, poolShareBps, protocolShareBps); the config stays", async () => {
      const f = await networkHelpers.loadFixture(poolTradesFixture);
      const t = f.outsider.address;
      const bad: [string, number, number][] = [
        [t, 10_001, 0],
        [t, 0, 10_001],
        [t, 6_000, 4_001],
        [t, 65_535, 65_535],
        [ZeroAddress, 0, 1],
        [ZeroAddress, 5_000, 5_000],
      ];
      for (const [treasury, poolShare, protocolShare] of bad) {
        await expect(f.d.execution.connect(f.deployer).setFeeConfig(treasury, poolShare, protocolShare))
          .to.be.revertedWithCustomError(f.d.execution, "ExecutionInvalidFeeConfig")
          .withArgs(treasury, poolShare, protocolShare);
      }
      expect([...(await f.d.execution.feeConfig())]).to.deep.equal([f.treasury.address, 5_000n, 2_000n]);
      // Exactly 100% is valid.
      await (await f.d.execution.connect(f.deployer).setFeeConfig(t, 6_000, 4_000)).wait();
      expect([...(await f.d.execution.feeConfig())]).to.deep.equal([t, 6_000n, 4_000n]);
    });

    it("only ADMIN sets the split: anyone else reverts AccessManagedUnauthorized(caller)", async () => {
      const f = await networkHelpers.loadFixture(poolTradesFixture);
      for (const caller of [f.risk, f.guardian, f.oracleOperator, f.executor, f.treasury, f.alice, f.outsider]) {
        await expect(f.d.execution.connect(caller).setFeeConfig(caller.address, 10_000, 0))
          .to.be.revertedWithCustomError(f.d.execution, "AccessManagedUnauthorized")
          .withArgs(caller.address);
      }
      expect([...(await f.d.execution.feeConfig())]).to.deep.equal([f.treasury.address, 5_000n, 2_000n]);
    });
  });

  // ---------------------------------------------------------------- bad inputs

  describe("refused trades: every error with its exact arguments, nothing changes", () => {
    it("a zero size reverts ExecutionZeroSize() (trade and quote)", async () => {
      const f = await networkHelpers.loadFixture(poolTradesFixture);
      await unchanged(f, [f.aliceAccount], async () => {
        for (const reduceOnly of [false, true]) {
          await expect(
            f.d.execution.connect(f.alice).tradeWithPool(f.aliceAccount, ETH, 0n, MAX_UINT256, reduceOnly, GAS),
          )
            .to.be.revertedWithCustomError(f.d.execution, "ExecutionZeroSize")
            .withArgs();
        }
        await expect(f.d.execution.quotePoolTrade(f.aliceAccount, ETH, 0n))
          .to.be.revertedWithCustomError(f.d.execution, "ExecutionZeroSize")
          .withArgs();
      });
    });

    it("a caller who is neither the owner nor an operator reverts ExecutionUnauthorizedTrader(account, caller); an operator trades until revoked", async () => {
      const f = await networkHelpers.loadFixture(poolTradesFixture);
      await unchanged(f, [f.aliceAccount, f.bobAccount], async () => {
        for (const [caller, account] of [
          [f.outsider, f.aliceAccount],
          [f.bob, f.aliceAccount],
          [f.alice, f.bobAccount],
          [f.deployer, f.aliceAccount],
          [f.executor, f.aliceAccount],
        ] as const) {
          await expect(f.d.execution.connect(caller).tradeWithPool(account, ETH, w("1"), MAX_UINT256, false, GAS))
            .to.be.revertedWithCustomError(f.d.execution, "ExecutionUnauthorizedTrader")
            .withArgs(account, caller.address);
        }
        // An operator of bob is not an operator of alice.
        await (await f.d.clearing.connect(f.bob).setOperator(f.outsider.address, true)).wait();
        await expect(
          f.d.execution.connect(f.outsider).tradeWithPool(f.aliceAccount, ETH, w("1"), MAX_UINT256, false, GAS),
        )
          .to.be.revertedWithCustomError(f.d.execution, "ExecutionUnauthorizedTrader")
          .withArgs(f.aliceAccount, f.outsider.address);
      });
      // alice's operator trades her account (and her sub-accounts), exactly as she would.
      await (await f.d.clearing.connect(f.alice).setOperator(f.outsider.address, true)).wait();
      await poolTrade(f, f.outsider, f.aliceAccount, w("1"));
      const sub = await f.fund(f.alice, PRO, usdc("1000"), 5n);
      await poolTrade(f, f.outsider, sub, -w("0.1"));
      await (await f.d.clearing.connect(f.alice).setOperator(f.outsider.address, false)).wait();
      await unchanged(f, [f.aliceAccount], async () => {
        await expect(f.d.execution.connect(f.outsider).tradeWithPool(f.aliceAccount, ETH, -w("1"), 0n, true, GAS))
          .to.be.revertedWithCustomError(f.d.execution, "ExecutionUnauthorizedTrader")
          .withArgs(f.aliceAccount, f.outsider.address);
      });
    });

    it("a tier without a pool reverts ExecutionNoPool(tier) (trade and quote)", async () => {
      const f = await networkHelpers.loadFixture(noPoolFixture);
      for (const tier of TIERS) expect(await f.d.clearing.pool(tier)).to.equal(ZeroAddress);
      const core = await f.fund(f.alice, CORE, usdc("1000"));
      await unchanged(f, [f.aliceAccount, core], async () => {
        for (const [account, tier] of [
          [f.aliceAccount, PRO],
          [core, CORE],
        ] as const) {
          await expect(f.d.execution.connect(f.alice).tradeWithPool(account, ETH, w("1"), MAX_UINT256, false, GAS))
            .to.be.revertedWithCustomError(f.d.execution, "ExecutionNoPool")
            .withArgs(tier);
          await expect(f.d.execution.quotePoolTrade(account, ETH, -w("1")))
            .to.be.revertedWithCustomError(f.d.execution, "ExecutionNoPool")
            .withArgs(tier);
        }
      });
    });

    it("the pool's own account reverts ExecutionPoolSelfTrade(account): in the quote, and for the pool itself (impersonated: the pool contract never calls the engine)", async () => {
      const f = await networkHelpers.loadFixture(poolTradesFixture);
      const poolAccount = f.poolAccount(PRO);
      const poolAddress = f.poolAddresses[PRO]!;
      await unchanged(f, [], async () => {
        await expect(f.d.execution.quotePoolTrade(poolAccount, ETH, w("1")))
          .to.be.revertedWithCustomError(f.d.execution, "ExecutionPoolSelfTrade")
          .withArgs(poolAccount);
        // Anyone else is stopped by the owner check first.
        await expect(f.d.execution.connect(f.alice).tradeWithPool(poolAccount, ETH, w("1"), MAX_UINT256, false, GAS))
          .to.be.revertedWithCustomError(f.d.execution, "ExecutionUnauthorizedTrader")
          .withArgs(poolAccount, f.alice.address);
        await networkHelpers.impersonateAccount(poolAddress);
        await networkHelpers.setBalance(poolAddress, 10n ** 18n);
        const asPool = await ethers.getSigner(poolAddress);
        for (const size of [w("1"), -w("1")]) {
          await expect(
            f.d.execution
              .connect(asPool)
              .tradeWithPool(poolAccount, ETH, size, size > 0n ? MAX_UINT256 : 0n, false, GAS),
          )
            .to.be.revertedWithCustomError(f.d.execution, "ExecutionPoolSelfTrade")
            .withArgs(poolAccount);
        }
        await networkHelpers.stopImpersonatingAccount(poolAddress);
      });
    });

    it("a price worse than the acceptable price reverts ExecutionAcceptablePriceExceeded(price, acceptable), for buys, sells and exits", async () => {
      const f = await networkHelpers.loadFixture(poolTradesFixture);
      await poolTrade(f, f.alice, f.aliceAccount, w("2"));
      await unchanged(f, [f.aliceAccount, f.bobAccount], async () => {
        for (const [signer, account, size, reduceOnly] of [
          [f.bob, f.bobAccount, w("1"), false],
          [f.bob, f.bobAccount, -w("1"), false],
          [f.alice, f.aliceAccount, -w("1"), true],
          [f.alice, f.aliceAccount, w("0.5"), false],
        ] as const) {
          await pin();
          const q = await expectedQuote(f, account, ETH, size);
          const acceptable = size > 0n ? q.price - 1n : q.price + 1n;
          await expect(f.d.execution.connect(signer).tradeWithPool(account, ETH, size, acceptable, reduceOnly, GAS))
            .to.be.revertedWithCustomError(f.d.execution, "ExecutionAcceptablePriceExceeded")
            .withArgs(q.price, acceptable);
        }
      });
    });

    it("reduce-only that would open, increase or flip reverts ExecutionNotReducing(bytes32(0), position, size); reducing and closing execute", async () => {
      const f = await networkHelpers.loadFixture(poolTradesFixture);
      await unchanged(f, [f.aliceAccount], async () => {
        for (const size of [w("1"), -w("1")]) {
          await expect(
            f.d.execution
              .connect(f.alice)
              .tradeWithPool(f.aliceAccount, ETH, size, size > 0n ? MAX_UINT256 : 0n, true, GAS),
          )
            .to.be.revertedWithCustomError(f.d.execution, "ExecutionNotReducing")
            .withArgs(ZeroHash, 0n, size);
        }
      });
      await poolTrade(f, f.alice, f.aliceAccount, w("2"));
      await poolTrade(f, f.bob, f.bobAccount, -w("2"));
      await unchanged(f, [f.aliceAccount, f.bobAccount], async () => {
        for (const [signer, account, position_, size] of [
          [f.alice, f.aliceAccount, w("2"), w("1")],
          [f.alice, f.aliceAccount, w("2"), -w("3")],
          [f.alice, f.aliceAccount, w("2"), -w("2") - 1n],
          [f.bob, f.bobAccount, -w("2"), -w("1")],
          [f.bob, f.bobAccount, -w("2"), w("5")],
        ] as const) {
          await expect(
            f.d.execution.connect(signer).tradeWithPool(account, ETH, size, size > 0n ? MAX_UINT256 : 0n, true, GAS),
          )
            .to.be.revertedWithCustomError(f.d.execution, "ExecutionNotReducing")
            .withArgs(ZeroHash, position_, size);
        }
      });
      await poolTrade(f, f.alice, f.aliceAccount, -w("0.5"), { reduceOnly: true });
      await poolTrade(f, f.alice, f.aliceAccount, -w("1.5"), { reduceOnly: true });
      await poolTrade(f, f.bob, f.bobAccount, w("2"), { reduceOnly: true });
      expect((await position(f, f.aliceAccount)).size).to.equal(0n);
      expect((await position(f, f.bobAccount)).size).to.equal(0n);
    });

    it("an unlisted market reverts RiskMarketNotInTier(tier, market) from the risk engine (trade and quote)", async () => {
      const f = await networkHelpers.loadFixture(poolTradesFixture);
      const edge = await f.fund(f.alice, EDGE, usdc("1000"));
      await unchanged(f, [edge, f.aliceAccount], async () => {
        for (const [account, tier, market] of [
          [edge, EDGE, BTC],
          [f.aliceAccount, PRO, 99],
          [f.aliceAccount, PRO, 0],
        ] as const) {
          await expect(f.d.execution.connect(f.alice).tradeWithPool(account, market, w("1"), MAX_UINT256, false, GAS))
            .to.be.revertedWithCustomError(f.d.risk, "RiskMarketNotInTier")
            .withArgs(tier, market);
          await expect(f.d.execution.quotePoolTrade(account, market, w("1")))
            .to.be.revertedWithCustomError(f.d.risk, "RiskMarketNotInTier")
            .withArgs(tier, market);
        }
      });
    });

    it("while risk-increasing trades are paused, opening, increasing and flipping revert ExecutionRiskIncreasePaused()", async () => {
      const f = await networkHelpers.loadFixture(poolTradesFixture);
      await poolTrade(f, f.alice, f.aliceAccount, w("2"));
      await expect(f.d.execution.connect(f.guardian).pauseRiskIncrease())
        .to.emit(f.d.execution, "RiskIncreasePausedSet")
        .withArgs(true);
      await unchanged(f, [f.aliceAccount, f.bobAccount], async () => {
        for (const [signer, account, size] of [
          [f.bob, f.bobAccount, w("1")],
          [f.bob, f.bobAccount, -w("1")],
          [f.alice, f.aliceAccount, w("1")],
          [f.alice, f.aliceAccount, -w("3")],
        ] as const) {
          await expect(
            f.d.execution.connect(signer).tradeWithPool(account, ETH, size, size > 0n ? MAX_UINT256 : 0n, false, GAS),
          )
            .to.be.revertedWithCustomError(f.d.execution, "ExecutionRiskIncreasePaused")
            .withArgs();
        }
      });
      // ADMIN resumes; the same trade executes.
      await (await f.d.execution.connect(f.deployer).unpauseRiskIncrease()).wait();
      await poolTrade(f, f.bob, f.bobAccount, w("1"));
    });

    it("a trade raising the tier's open interest above the cap reverts ExecutionOpenInterestCap(tier, market, oi, cap), on either side of the pool; trades that keep it execute", async () => {
      const f = await networkHelpers.loadFixture(atCapFixture);
      expect(f.cap).to.equal(w("20000"));
      expect(await f.d.clearing.openInterest(PRO, ETH)).to.equal(f.cap);
      await unchanged(f, [f.malloryAccount, f.big1, f.big2], async () => {
        // A buy makes the trader long; a sell makes the pool long: either raises the open interest.
        for (const size of [1n, -1n, w("1"), -w("1")]) {
          await expect(
            f.d.execution
              .connect(f.mallory)
              .tradeWithPool(f.malloryAccount, ETH, size, size > 0n ? MAX_UINT256 : 0n, false, GAS),
          )
            .to.be.revertedWithCustomError(f.d.execution, "ExecutionOpenInterestCap")
            .withArgs(PRO, ETH, f.cap + abs(size), f.cap);
        }
      });
      // The big long sells 1 to the pool: its long shrinks by what the pool's grows — unchanged, executes.
      await poolTrade(f, f.bob, f.big2, -w("1"), { reduceOnly: true });
      expect(await f.d.clearing.openInterest(PRO, ETH)).to.equal(f.cap);
      // Mallory buys 1 from the now long pool: the pool's long shrinks by what hers grows — executes.
      await poolTrade(f, f.mallory, f.malloryAccount, w("1"));
      expect(await f.d.clearing.openInterest(PRO, ETH)).to.equal(f.cap);
      // The pool is flat again: one wei more is refused.
      await unchanged(f, [f.malloryAccount], async () => {
        await expect(f.d.execution.connect(f.mallory).tradeWithPool(f.malloryAccount, ETH, 1n, MAX_UINT256, false, GAS))
          .to.be.revertedWithCustomError(f.d.execution, "ExecutionOpenInterestCap")
          .withArgs(PRO, ETH, f.cap + 1n, f.cap);
      });
      // The big short covers 1 from the pool (an exit): the pool goes short, the open interest stays.
      await poolTrade(f, f.alice, f.big1, w("1"), { reduceOnly: true });
      expect(await f.d.clearing.openInterest(PRO, ETH)).to.equal(f.cap);
    });

    for (const tier of [CORE, PRO] as const) {
      it(`${tier === CORE ? "core (max leverage 3 < 1/IMR = 3.0003)" : "pro (max leverage 10 < 1/IMR = 20)"}: an account holding IM but over the max leverage reverts ExecutionLeverageExceeded(account, notional, equity, maxLeverage)`, async () => {
        const f = await networkHelpers.loadFixture(poolTradesFixture);
        if (tier === CORE) await f.lp(f.carol, CORE, usdc("1000000"));
        await f.setPrices("3000"); // a fresh round: the band stays the same over the next few blocks
        const size = w("10");
        const account = f.acct(f.mallory, tier, 3n);
        await pin();
        const q = await expectedQuote(f, account, ETH, size);
        const maxLeverage = q.params.maxLeverage;
        expect(maxLeverage).to.equal(tier === CORE ? 3n : 10n);
        // After the fill (clearing house, strict read): equity = deposit − fee + the long valued at the lower side.
        const im = requirement(notionalUp(size, q.upper), RATIOS[tier].imr);
        const unrealized = unrealizedPnl(size, fillNotional(size, q.price), q.lower);
        const notional = notionalUp(size, q.price);
        // The least deposit that holds IM.
        const units = ceilDiv(im + q.fee - unrealized, USDC_SCALE);
        const equity = units * USDC_SCALE - q.fee + unrealized;
        expect(equity >= BigInt(im)).to.equal(true);
        expect(notional > equity * maxLeverage).to.equal(true);
        await f.fund(f.mallory, tier, units, 3n);
        await unchanged(f, [account], async () => {
          await expect(f.d.execution.connect(f.mallory).tradeWithPool(account, ETH, size, MAX_UINT256, false, GAS))
            .to.be.revertedWithCustomError(f.d.execution, "ExecutionLeverageExceeded")
            .withArgs(account, notional, equity, maxLeverage);
        });
        // Enough equity for the leverage (notional <= equity × maxLeverage): the same trade executes.
        await f.fund(f.mallory, tier, ceilDiv(ceilDiv(notional, maxLeverage) - equity, USDC_SCALE), 3n);
        const r = await poolTrade(f, f.mallory, account, size);
        expect(r.price).to.equal(q.price);
        const h = await f.d.clearing.health(account);
        expect(h.equity * maxLeverage >= notional).to.equal(true);
      });
    }

    for (const side of [1n, -1n]) {
      it(`a trader without IM for its ${side > 0n ? "long" : "short"} reverts ClearingInsufficientMargin(account, equity, im) from the clearing house`, async () => {
        const f = await networkHelpers.loadFixture(poolTradesFixture);
        const account = await f.fund(f.mallory, PRO, usdc("100"), 1n);
        const size = side * w("1");
        await pin();
        const q = await expectedQuote(f, account, ETH, size);
        // A long is worth its lower side, a short its upper side; IM on the notional at the upper side.
        const unrealized = unrealizedPnl(size, fillNotional(size, q.price), size > 0n ? q.lower : q.upper);
        const equity = usdc("100") * USDC_SCALE - q.fee + unrealized;
        const im = requirement(notionalUp(size, q.upper), RATIOS[PRO].imr);
        expect(equity < BigInt(im)).to.equal(true);
        await unchanged(f, [account], async () => {
          await expect(
            f.d.execution
              .connect(f.mallory)
              .tradeWithPool(account, ETH, size, size > 0n ? MAX_UINT256 : 0n, false, GAS),
          )
            .to.be.revertedWithCustomError(f.d.clearing, "ClearingInsufficientMargin")
            .withArgs(account, equity, im);
        });
      });
    }

    it("a pool without the capital for its side reverts ClearingInsufficientMargin(poolAccount, equity, im); once LPs fund it, the trade executes", async () => {
      const f = await networkHelpers.loadFixture(poolTradesFixture);
      const pool = f.poolAccount(EDGE);
      expect(await usdcBalance(f, pool)).to.equal(0n);
      const account = await f.fund(f.alice, EDGE, usdc("10000"));
      await f.lp(f.carol, EDGE, usdc("20"));
      for (const size of [w("1"), -w("1")]) {
        await pin();
        const q = await expectedQuote(f, account, ETH, size);
        // The pool takes −size: its collateral, its share of the fee, its position at its conservative side.
        const unrealized = unrealizedPnl(-size, fillNotional(-size, q.price), -size > 0n ? q.lower : q.upper);
        const equity = usdc("20") * USDC_SCALE + q.poolFee + unrealized;
        const im = requirement(notionalUp(size, q.upper), RATIOS[EDGE].imr);
        expect(equity < BigInt(im)).to.equal(true);
        await unchanged(f, [account], async () => {
          await expect(
            f.d.execution.connect(f.alice).tradeWithPool(account, ETH, size, size > 0n ? MAX_UINT256 : 0n, false, GAS),
          )
            .to.be.revertedWithCustomError(f.d.clearing, "ClearingInsufficientMargin")
            .withArgs(pool, equity, im);
        });
      }
      await f.lp(f.carol, EDGE, usdc("1000"));
      await poolTrade(f, f.alice, account, w("1"));
    });
  });

  // ---------------------------------------------------------------- modes

  describe("exits execute in every mode that blocks increases (liquidation read); increases revert with the oracle's error", () => {
    /** Flags of IOracleRouter.Price (PriceFlags). */
    const FLAG = { STALE: 1n, CIRCUIT_BREAKER: 2n, SEQUENCER_DOWN: 4n, SEQUENCER_GRACE: 8n, FALLBACK_LAST_GOOD: 512n };

    /** Tries the risk-increasing trades of the positions fixture; each must revert as `check` says. */
    async function refuseIncreases(
      f: F,
      check: (tx: Promise<ContractTransactionResponse>) => Promise<void>,
    ): Promise<void> {
      await unchanged(f, [f.aliceAccount, f.bobAccount, f.malloryAccount], async () => {
        for (const [signer, account, size] of [
          [f.alice, f.aliceAccount, w("1")], // increase the long
          [f.alice, f.aliceAccount, -w("3")], // flip it
          [f.bob, f.bobAccount, -w("1")], // increase the short
          [f.mallory, f.malloryAccount, w("1")], // open
          [f.mallory, f.malloryAccount, -w("1")],
        ] as const) {
          await check(
            f.d.execution.connect(signer).tradeWithPool(account, ETH, size, size > 0n ? MAX_UINT256 : 0n, false, GAS),
          );
        }
      });
    }

    /** alice's long and bob's short both exit in full (partly, then the rest), checked exactly. */
    async function exitAll(f: F) {
      await poolTrade(f, f.alice, f.aliceAccount, -w("0.5"), { reduceOnly: true });
      await poolTrade(f, f.alice, f.aliceAccount, -w("1.5"));
      await poolTrade(f, f.bob, f.bobAccount, w("2"), { reduceOnly: true });
      expect((await position(f, f.aliceAccount)).size).to.equal(0n);
      expect((await position(f, f.bobAccount)).size).to.equal(0n);
    }

    it("paused by GUARDIAN: exits execute, increases revert ExecutionRiskIncreasePaused()", async () => {
      const f = await networkHelpers.loadFixture(positionsFixture);
      await (await f.d.execution.connect(f.guardian).pauseRiskIncrease()).wait();
      expect(await f.d.execution.riskIncreasePaused()).to.equal(true);
      await refuseIncreases(f, async (tx) => {
        await expect(tx).to.be.revertedWithCustomError(f.d.execution, "ExecutionRiskIncreasePaused").withArgs();
      });
      await exitAll(f);
    });

    it("the ETH circuit breaker tripped (a round jumping 30% > jumpThresholdBps): exits execute, increases revert OracleCircuitBreakerActive(asset, until)", async () => {
      const f = await networkHelpers.loadFixture(positionsFixture);
      await f.setPrices("3900");
      await expect(f.d.oracle.poke(ETH_KEY)).to.emit(f.d.oracle, "CircuitBreakerTripped");
      const { updatedAt } = await f.ethFeeds.primary.latestRoundData();
      const until = updatedAt + BREAKER_COOLDOWN;
      await expect(f.d.oracle.getPrice(ETH_KEY))
        .to.be.revertedWithCustomError(f.d.oracle, "OracleCircuitBreakerActive")
        .withArgs(ETH_KEY, until);
      expect((await f.d.oracle.getPriceForLiquidation(ETH_KEY)).flags & FLAG.CIRCUIT_BREAKER).to.equal(
        FLAG.CIRCUIT_BREAKER,
      );
      await refuseIncreases(f, async (tx) => {
        await expect(tx)
          .to.be.revertedWithCustomError(f.d.oracle, "OracleCircuitBreakerActive")
          .withArgs(ETH_KEY, until);
      });
      await expect(f.d.execution.quotePoolTrade(f.aliceAccount, ETH, w("1")))
        .to.be.revertedWithCustomError(f.d.oracle, "OracleCircuitBreakerActive")
        .withArgs(ETH_KEY, until);
      await exitAll(f);
    });

    it("a stale price (older than primaryMaxAge): exits execute at the asset's widest band, increases revert OracleStalePrice(asset, feed, updatedAt, maxAge)", async () => {
      const f = await networkHelpers.loadFixture(positionsFixture);
      const { updatedAt } = await f.ethFeeds.primary.latestRoundData();
      await time.increaseTo(updatedAt + PRIMARY_MAX_AGE + 10n);
      const primary = await f.ethFeeds.primary.getAddress();
      await expect(f.d.oracle.getPrice(ETH_KEY))
        .to.be.revertedWithCustomError(f.d.oracle, "OracleStalePrice")
        .withArgs(ETH_KEY, primary, updatedAt, PRIMARY_MAX_AGE);
      expect((await f.d.oracle.getPriceForLiquidation(ETH_KEY)).flags & FLAG.STALE).to.equal(FLAG.STALE);
      await refuseIncreases(f, async (tx) => {
        await expect(tx)
          .to.be.revertedWithCustomError(f.d.oracle, "OracleStalePrice")
          .withArgs(ETH_KEY, primary, updatedAt, PRIMARY_MAX_AGE);
      });
      await pin();
      const q = await expectedQuote(f, f.aliceAccount, ETH, -w("0.5"));
      // The band widened with the age, but the pool prices an exit on a stale price at the widest band: a
      // trader who knows where the market went must not get the stale price from the pool.
      expect(q.mid - q.lower).to.be.greaterThan(mulDiv(q.mid, 60n, BPS));
      const widest = (await f.d.oracle.assetConfig(ETH_KEY)).maxConfidenceBps;
      expect(q.price).to.equal(q.mid - mulDiv(q.mid, widest, BPS, true));
      await exitAll(f);
    });

    it("a stalled feed: a hedged pair cannot exit one leg to the pool at the stale price and the other after", async () => {
      // The attacker holds a long and, in another account, a short. The feeds stall while the market falls 5%;
      // it sells the long to the pool on the stale price, then, once the feeds post the fall, buys back the
      // short at the new price. Priced at the widest band on the stale read, the first leg costs more than the
      // fall it tries to dodge.
      const f = await networkHelpers.loadFixture(poolTradesFixture);
      const long = await f.fund(f.mallory, PRO, usdc("100000"), 5n);
      const short = await f.fund(f.mallory, PRO, usdc("100000"), 6n);
      const size = w("2");
      await poolTrade(f, f.mallory, long, size);
      await poolTrade(f, f.mallory, short, -size);
      const start = (await cash(f, long)) + (await cash(f, short));
      const { updatedAt } = await f.ethFeeds.primary.latestRoundData();
      await time.increaseTo(updatedAt + 90n * 60n);
      const exit = await poolTrade(f, f.mallory, long, -size, { reduceOnly: true });
      expect(exit.price).to.be.lessThan(w("2850"));
      await f.setPrices("2850");
      await poolTrade(f, f.mallory, short, size, { reduceOnly: true });
      // Both legs closed: what the pair made is its cash change (no position left).
      expect((await position(f, long)).size).to.equal(0n);
      expect((await position(f, short)).size).to.equal(0n);
      expect((await cash(f, long)) + (await cash(f, short)) - start).to.be.lessThan(0n);
    });

    it("the L2 sequencer in its grace period, then down: exits execute, increases revert OracleSequencerGracePeriod(graceEndsAt), then OracleSequencerDown()", async () => {
      const f = await networkHelpers.loadFixture(positionsFixture);
      const sequencer = await new MockV3Aggregator__factory(f.deployer).deploy(0, 0);
      await sequencer.waitForDeployment();
      const { startedAt } = await sequencer.latestRoundData();
      // setSequencerFeed is ADMIN's.
      await expect(f.d.oracle.connect(f.risk).setSequencerFeed(await sequencer.getAddress(), 3_600))
        .to.be.revertedWithCustomError(f.d.oracle, "AccessManagedUnauthorized")
        .withArgs(f.risk.address);
      await (await f.d.oracle.connect(f.deployer).setSequencerFeed(await sequencer.getAddress(), 3_600)).wait();
      const graceEndsAt = startedAt + 3_600n;
      await expect(f.d.oracle.getPrice(ETH_KEY))
        .to.be.revertedWithCustomError(f.d.oracle, "OracleSequencerGracePeriod")
        .withArgs(graceEndsAt);
      expect((await f.d.oracle.getPriceForLiquidation(ETH_KEY)).flags & FLAG.SEQUENCER_GRACE).to.equal(
        FLAG.SEQUENCER_GRACE,
      );
      await refuseIncreases(f, async (tx) => {
        await expect(tx).to.be.revertedWithCustomError(f.d.oracle, "OracleSequencerGracePeriod").withArgs(graceEndsAt);
      });
      await poolTrade(f, f.alice, f.aliceAccount, -w("1"), { reduceOnly: true });

      // The sequencer goes down (answer 1).
      await (await sequencer.updateAnswer(1)).wait();
      expect((await f.d.oracle.getPriceForLiquidation(ETH_KEY)).flags & FLAG.SEQUENCER_DOWN).to.equal(
        FLAG.SEQUENCER_DOWN,
      );
      await refuseIncreases(f, async (tx) => {
        await expect(tx).to.be.revertedWithCustomError(f.d.oracle, "OracleSequencerDown").withArgs();
      });
      await poolTrade(f, f.alice, f.aliceAccount, -w("1"), { reduceOnly: true });
      await poolTrade(f, f.bob, f.bobAccount, w("2"), { reduceOnly: true });
    });

    it("both ETH feeds failing: an exit executes on the last good price poke recorded; increases revert OracleInvalidAnswer(asset, feed, answer)", async () => {
      const f = await networkHelpers.loadFixture(positionsFixture);
      await (await f.d.oracle.poke(ETH_KEY)).wait();
      await (await f.ethFeeds.primary.updateAnswer(0)).wait();
      await (await f.ethFeeds.secondary.updateAnswer(0)).wait();
      const primary = await f.ethFeeds.primary.getAddress();
      const read = await f.d.oracle.getPriceForLiquidation(ETH_KEY);
      expect(read.flags & FLAG.FALLBACK_LAST_GOOD).to.equal(FLAG.FALLBACK_LAST_GOOD);
      expect(read.price).to.equal(w("3000"));
      await refuseIncreases(f, async (tx) => {
        await expect(tx)
          .to.be.revertedWithCustomError(f.d.oracle, "OracleInvalidAnswer")
          .withArgs(ETH_KEY, primary, 0n);
      });
      await exitAll(f);
    });

    it("no price at all (both feeds failing, nothing recorded): an exit reverts ExecutionPriceUnavailable(asset)", async () => {
      const f = await networkHelpers.loadFixture(positionsFixture);
      await (await f.ethFeeds.primary.updateAnswer(0)).wait();
      await (await f.ethFeeds.secondary.updateAnswer(0)).wait();
      await unchanged(f, [f.aliceAccount, f.bobAccount], async () => {
        await expect(f.d.execution.connect(f.alice).tradeWithPool(f.aliceAccount, ETH, -w("1"), 0n, true, GAS))
          .to.be.revertedWithCustomError(f.d.execution, "ExecutionPriceUnavailable")
          .withArgs(ETH_KEY);
        await expect(f.d.execution.quotePoolTrade(f.bobAccount, ETH, w("1")))
          .to.be.revertedWithCustomError(f.d.execution, "ExecutionPriceUnavailable")
          .withArgs(ETH_KEY);
      });
    });

    it("an exit the pool takes on (the pool's risk grows) is checked for the pool's IM at the liquidation read: refused with ClearingInsufficientMargin(pool, equity, im) while the pool lacks it, executed once funded — breaker tripped throughout", async () => {
      const f = await networkHelpers.loadFixture(poolTradesFixture);
      // Edge: alice long 5, bob short 5 between themselves; the edge pool is empty and flat.
      const [alice, bob] = [await f.fund(f.alice, EDGE, usdc("10000")), await f.fund(f.bob, EDGE, usdc("10000"))];
      await f.match({ signer: f.bob, account: bob }, { signer: f.alice, account: alice }, -w("5"), w("3000"));
      await f.setPrices("3900");
      await (await f.d.oracle.poke(ETH_KEY)).wait();
      expect(await f.d.oracle.isRiskIncreaseAllowed(ETH_KEY)).to.equal(false);
      const pool = f.poolAccount(EDGE);
      await pin();
      const q = await expectedQuote(f, alice, ETH, -w("5"));
      expect(q.increasing).to.equal(false);
      // The pool would go long 5: valued at the liquidation read's lower side, IM on the upper side. Its cash
      // holds its share of the matched order's fees already.
      const poolCash = await cash(f, pool);
      expect(poolCash).to.be.greaterThan(0n);
      const equity = poolCash + q.poolFee + unrealizedPnl(w("5"), fillNotional(w("5"), q.price), q.lower);
      const im = requirement(notionalUp(w("5"), q.upper), RATIOS[EDGE].imr);
      await unchanged(f, [alice, bob], async () => {
        await expect(f.d.execution.connect(f.alice).tradeWithPool(alice, ETH, -w("5"), 0n, true, GAS))
          .to.be.revertedWithCustomError(f.d.clearing, "ClearingInsufficientMargin")
          .withArgs(pool, equity, im);
      });
      await f.lp(f.carol, EDGE, usdc("1000"));
      await poolTrade(f, f.alice, alice, -w("5"), { reduceOnly: true });
      expect((await position(f, pool)).size).to.equal(w("5"));
    });
  });

  // ---------------------------------------------------------------- front-running

  /*
   * Trading with the pool ahead of a known oracle update does not profit.
   *
   * The ETH feeds stand for a push feed with a deviation threshold θ = 10 bps: a new round posts when the market
   * has moved more than θ from the last posted price P (or on the heartbeat), so the next round P' lies within
   * [P·(1 − θ), P·(1 + θ)], and anyone watching the market (or the pending round) knows P' before it posts.
   *
   * A pool buy fills at the upper side of the oracle band, P + ⌈P·c⌉ with c = baseConfidenceBps (10 bps = θ,
   * a deployment rule) plus the age growth (so c ≥ θ, and c = θ exactly when the trade lands in the block of the
   * round), times the skew factor (2S + 2·skew + size) / 2S, which is ≥ 1 for any trade that does not reduce the
   * traders' net skew (from a flat pool: 1 + size/2S), rounded up. A sell fills at the lower side times a factor
   * ≤ 1, rounded down. So a buy pays ≥ P·(1 + θ) ≥ P' and a sell receives ≤ P·(1 − θ) ≤ P' for every P' the
   * feed can post next: whoever trades ahead of the update buys no lower, and sells no higher, than the price the
   * update posts. Valued at the new mid P' (the best fair exit there is: a matched order at the oracle price;
   * here even without its fee or the funding the position pays, to favour the attacker), the PnL is
   * size·(P' − price) − fee ≤ −fee < 0. Closing through the pool again costs the other band side and a second fee
   * on top. Every case asserts this from balances: vault collateral + cash + unrealized PnL at P' − the
   * starting collateral, in quote WAD.
   *
   * The controls show the test can fail: with an update beyond the band (3θ), or with a band narrower than θ
   * (RISK lowers baseConfidenceBps within its step limits), the same strategy profits at the mid and a matched
   * exit at the mid realizes the profit. The protection is the band covering the deviation threshold.
   */
  describe("front-running a known oracle update does not profit (the band covers the feed's deviation threshold θ)", () => {
    const P = w("3000");
    const FEED_GAS = { gasLimit: 200_000n };

    /**
     * Posts a round at `wad` to both ETH feeds. With `trade`, the round and the trade share one block (the trade
     * sees the round at age 0: the narrowest band); otherwise the rounds are mined first.
     */
    async function post(f: F, wad: bigint, trade?: () => Promise<ContractTransactionResponse>) {
      const send = async () => {
        await f.ethFeeds.primary.updateAnswer(wad / 10n ** 10n, FEED_GAS);
        await f.ethFeeds.secondary.updateAnswer(wad, FEED_GAS);
      };
      if (trade === undefined) {
        await send();
        return undefined;
      }
      const tx = await oneBlock(async () => {
        await send();
        return trade();
      });
      return (await tx.wait())!;
    }

    /** The fill of `receipt` checked against the rule at the oracle read of its block; returns it and the read. */
    async function checkFill(
      f: F,
      receipt: ContractTransactionReceipt,
      size: bigint,
      poolBefore: bigint,
      strict: boolean,
    ) {
      const at = { blockTag: receipt.blockNumber };
      const read = strict
        ? await f.d.oracle.getPrice(ETH_KEY, at)
        : await f.d.oracle.getPriceForLiquidation(ETH_KEY, at);
      const spread = await f.d.execution.minPoolSpread(at);
      const { price } = poolPrice(read, size, poolBefore, ETH_SKEW_SCALE, 100n, spread, strict);
      const fee = takerFee(size, price, 5n);
      expect(events(f.d.execution.interface, f.engineAddress, receipt, "PoolTraded")).to.deep.equal([
        [f.malloryAccount, BigInt(ETH), size, price, read.price, fee],
      ]);
      return { price, fee, mid: read.price, lower: read.lower, upper: read.upper };
    }

    /** The attacker's value in quote WAD: collateral + cash + unrealized PnL at `mid`, less its starting collateral. */
    async function pnl(f: F, start: bigint, mid: bigint): Promise<bigint> {
      const p = await position(f, f.malloryAccount);
      const value =
        (await usdcBalance(f, f.malloryAccount)) * USDC_SCALE +
        (await cash(f, f.malloryAccount)) +
        unrealizedPnl(p.size, p.openNotional, mid);
      return value - start;
    }

    /** Cash of everyone the attacker's losses go to: the pool, the insurance fund and the treasury's account. */
    async function houseCash(f: F): Promise<bigint> {
      let sum = 0n;
      for (const a of [f.poolAccount(PRO), insuranceBucket(PRO), f.acct(f.treasury, PRO)]) sum += await cash(f, a);
      return sum;
    }

    /** Mallory, who knows the next round, opens `size` with the pool at the current price P (the round posts again). */
    async function openAhead(f: F, size: bigint, sameBlock: boolean) {
      const start = (await usdcBalance(f, f.malloryAccount)) * USDC_SCALE;
      const house = await houseCash(f);
      expect((await position(f, f.poolAccount(PRO))).size).to.equal(0n);
      const open = () =>
        f.d.execution
          .connect(f.mallory)
          .tradeWithPool(f.malloryAccount, ETH, size, size > 0n ? MAX_UINT256 : 0n, false, GAS);
      let receipt: ContractTransactionReceipt;
      if (sameBlock) {
        receipt = (await post(f, P, open))!;
      } else {
        await post(f, P);
        receipt = (await (await open()).wait())!;
      }
      const fill = await checkFill(f, receipt, size, 0n, true);
      expect(fill.mid).to.equal(P);
      // The band's half-width covers θ; in the round's own block it is exactly θ.
      const theta = mulDiv(P, THETA_BPS, BPS);
      expect(fill.upper - P).to.be.greaterThanOrEqual(theta);
      expect(P - fill.lower).to.be.greaterThanOrEqual(theta);
      if (sameBlock) expect([fill.upper - P, P - fill.lower]).to.deep.equal([theta, theta]);
      return { start, house, fill };
    }

    const UPDATES_BPS = [-10n, -9n, -5n, -1n, 0n, 1n, 5n, 9n, 10n];
    const SIZES = [w("0.001"), w("2")];

    for (const sameBlock of [true, false]) {
      for (const d of UPDATES_BPS) {
        for (const side of d === 0n ? [1n, -1n] : [d > 0n ? 1n : -1n]) {
          const when = sameBlock ? "in the round's block (band exactly θ)" : "a block later (band θ + age growth)";
          it(`update ${d >= 0n ? "+" : ""}${d} bps, ${side > 0n ? "buying" : "selling"} ahead ${when}: PnL < 0 at the new mid and through the pool`, async () => {
            for (const amount of SIZES) {
              const f = await networkHelpers.loadFixture(poolTradesFixture);
              const size = side * amount;
              const next = (P * (BPS + d)) / BPS;
              const { start, house, fill } = await openAhead(f, size, sameBlock);
              // The front-runner buys no lower (sells no higher) than the price the update posts.
              expect(size > 0n ? fill.price >= next : fill.price <= next).to.equal(true);

              // (b) Valued at the new oracle mid: what any fair exit there can give at most.
              const atMid = await pnl(f, start, next);
              expect(atMid, `size ${size}: PnL at the new mid`).to.be.lessThan(0n);
              expect(atMid).to.be.lessThanOrEqual(-fill.fee);

              // (a) The update posts, and the attacker closes through the pool (an exit: the liquidation read).
              const close = () =>
                f.d.execution
                  .connect(f.mallory)
                  .tradeWithPool(f.malloryAccount, ETH, -size, size > 0n ? 0n : MAX_UINT256, true, GAS);
              let receipt: ContractTransactionReceipt;
              if (sameBlock) {
                receipt = (await post(f, next, close))!;
              } else {
                await post(f, next);
                receipt = (await (await close()).wait())!;
              }
              const exit = await checkFill(f, receipt, -size, -size, false);
              expect(exit.mid).to.equal(next);
              expect((await position(f, f.malloryAccount)).size).to.equal(0n);
              const viaPool = await pnl(f, start, next);
              expect(viaPool, `size ${size}: PnL through the pool`).to.be.lessThan(0n);
              expect(viaPool).to.be.lessThanOrEqual(-fill.fee - exit.fee);
              // The attacker's loss is the pool's, the insurance fund's and the treasury's gain, less rounding dust.
              const gain = (await houseCash(f)) - house;
              expect(-viaPool - gain).to.be.within(0n, 3n);
            }
          });
        }
      }
    }

    /** A matched exit of the attacker's whole position at `price` (bob takes the other side); returns the PnL. */
    async function exitByMatch(f: F, start: bigint, size: bigint, price: bigint) {
      const receipt = await f.match(
        { signer: f.mallory, account: f.malloryAccount },
        { signer: f.bob, account: f.bobAccount },
        -size,
        price,
        true,
      );
      expect(receipt!.status).to.equal(1);
      expect((await position(f, f.malloryAccount)).size).to.equal(0n);
      return pnl(f, start, price);
    }

    for (const sameBlock of [true, false]) {
      it(`CONTROL ${sameBlock ? "(same block)" : "(a block later)"}: ahead of an update of 3θ, beyond the band, the same strategy profits at the new mid, and a matched exit there realizes it`, async () => {
        for (const side of [1n, -1n]) {
          const f = await networkHelpers.loadFixture(poolTradesFixture);
          const size = side * w("0.1");
          const next = (P * (BPS + side * 3n * THETA_BPS)) / BPS;
          const { start, fill } = await openAhead(f, size, sameBlock);
          expect(size > 0n ? fill.price < next : fill.price > next).to.equal(true);
          const atMid = await pnl(f, start, next);
          expect(atMid).to.be.greaterThan(0n);
          await post(f, next);
          expect((await f.d.oracle.getPrice(ETH_KEY)).price).to.equal(next);
          expect(await exitByMatch(f, start, size, next)).to.be.greaterThan(0n);
        }
      });

      it(`CONTROL ${sameBlock ? "(same block)" : "(a block later)"}: with the band narrowed below θ (RISK: baseConfidenceBps 10 → 5 → 0, a day apart) the spread floor still holds; with the floor lowered too (ADMIN), front-running an update of exactly θ profits at the mid`, async () => {
        const f = await networkHelpers.loadFixture(poolTradesFixture);
        const c = await f.d.oracle.assetConfig(ETH_KEY);
        const config = {
          primary: c.primary,
          primaryMaxAge: c.primaryMaxAge,
          maxDeviationBps: c.maxDeviationBps,
          jumpThresholdBps: c.jumpThresholdBps,
          baseConfidenceBps: c.baseConfidenceBps,
          confidenceBpsPerHour: c.confidenceBpsPerHour,
          secondary: c.secondary,
          secondaryMaxAge: c.secondaryMaxAge,
          breakerCooldown: c.breakerCooldown,
          maxConfidenceBps: c.maxConfidenceBps,
          minPrice: c.minPrice,
          maxPrice: c.maxPrice,
        };
        expect(config.baseConfidenceBps).to.equal(THETA_BPS);
        // One step each (50%, or the small absolute step): 10 → 5 and 50 → 25, then a day later 5 → 0 and 25 → 13.
        await (
          await f.d.oracle
            .connect(f.risk)
            .setAssetParams(ETH_KEY, { ...config, baseConfidenceBps: 5n, confidenceBpsPerHour: 25n })
        ).wait();
        await time.increase(86_400);
        await (
          await f.d.oracle
            .connect(f.risk)
            .setAssetParams(ETH_KEY, { ...config, baseConfidenceBps: 0n, confidenceBpsPerHour: 13n })
        ).wait();
        expect((await f.d.oracle.assetConfig(ETH_KEY)).baseConfidenceBps).to.equal(0n);
        await f.setPrices("3000");
        const base = await networkHelpers.takeSnapshot();
        for (const side of [1n, -1n]) {
          const size = side * w("0.1");
          const next = (P * (BPS + side * THETA_BPS)) / BPS;
          const start = (await usdcBalance(f, f.malloryAccount)) * USDC_SCALE;
          const open = () =>
            f.d.execution
              .connect(f.mallory)
              .tradeWithPool(f.malloryAccount, ETH, size, size > 0n ? MAX_UINT256 : 0n, false, GAS);

          // The band alone no longer covers θ, but the engine's spread floor (ADMIN, θ here) still does.
          await base.restore();
          expect(await f.d.execution.minPoolSpread()).to.equal(THETA_BPS);
          let receipt = sameBlock ? (await post(f, P, open))! : (await (await open()).wait())!;
          let fill = await checkFill(f, receipt, size, 0n, true);
          expect(fill.upper - P).to.be.lessThan(mulDiv(P, THETA_BPS, BPS));
          expect(size > 0n ? fill.price >= next : fill.price <= next).to.equal(true);
          expect(await pnl(f, start, next)).to.be.lessThan(0n);

          // With the floor lowered too (ADMIN), the same strategy profits.
          await base.restore();
          await (await f.d.execution.connect(f.deployer).setPoolSpread(0)).wait();
          receipt = sameBlock ? (await post(f, P, open))! : (await (await open()).wait())!;
          fill = await checkFill(f, receipt, size, 0n, true);
          expect(size > 0n ? fill.price < next : fill.price > next).to.equal(true);
          expect(await pnl(f, start, next)).to.be.greaterThan(0n);
          await post(f, next);
          expect(await exitByMatch(f, start, size, next)).to.be.greaterThan(0n);
        }
      });
    }
  });
});
