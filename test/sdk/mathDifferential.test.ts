import { expect } from "chai";
import {
  encodeBytes32String,
  type ContractTransactionReceipt,
  type ContractTransactionResponse,
  type Interface,
} from "ethers";

import { accountBucket } from "../../sdk/src/client/buckets.js";
import { MirroredRevertError } from "../../sdk/src/math/errors.js";
import { fundingIndexNow, health, type Health, type MarketRead } from "../../sdk/src/math/health.js";
import { backstopReward, partialPlan, previewLiquidation } from "../../sdk/src/math/liquidationMath.js";
import { poolTradeFee, quotePoolTrade, UNRELIABLE } from "../../sdk/src/math/poolPricing.js";
import {
  convertToAssets,
  convertToShares,
  previewDeposit,
  previewMint,
  previewRedeem,
  previewWithdraw,
  sharePrice,
  totalAssets,
  withdrawableAssets,
} from "../../sdk/src/math/poolShares.js";
import { increases } from "../../sdk/src/math/positionMath.js";
import { abs, BPS, WAD } from "../../sdk/src/math/wad.js";
import type { OraclePrice } from "../../sdk/src/oracle/price.js";
import { connectChain, deployLocalFoundation } from "../helpers/foundation.js";
import { mulberry32 as prng } from "../../sdk/src/scenario/generator.js";
import {
  errorInterface,
  FundingTracker,
  healthInput,
  readAccount,
  readTierContext,
  revertOf,
  toHealth,
  toMarginParams,
  toPrice,
  type Revert,
  type TierContext,
} from "./chainReads.js";

const chain = await connectChain();
const { ethers, networkHelpers } = chain;
const { time } = networkHelpers;

/** Reads in the context of the next block, whose timestamp {@link Explorer.pin} fixes. */
const PENDING = { blockTag: "pending" } as const;
/** The draws' seed; SDK_MATH_SEED explores others. */
const SEED = Number(process.env.SDK_MATH_SEED ?? 0x5d4a7e);
/** Random states evaluated (each after 1–4 random actions); SDK_MATH_STATES runs longer. */
const STATES = Number(process.env.SDK_MATH_STATES ?? 120);
/** Trader accounts whose figures each state checks (the three pool accounts are always checked). */
const ACCOUNTS_PER_STATE = 12;
/** Pool quotes each state checks. */
const QUOTES_PER_STATE = 5;
const TIERS = [0, 1, 2] as const;
const ETH = 1;
const BTC = 2;
const ETH_KEY = encodeBytes32String("ETH/USD");
const BTC_KEY = encodeBytes32String("BTC/USD");
const MAX_UINT256 = 2n ** 256n - 1n;

/** Deterministic draws from mulberry32 (sdk/src/scenario/generator.ts). */
class Random {
  private readonly next: () => number;

  constructor(seed: number) {
    this.next = prng(seed);
  }

  float(lo = 0, hi = 1): number {
    return lo + (hi - lo) * this.next();
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** A uniform bigint in [lo, hi]. */
  bigint(lo: bigint, hi: bigint): bigint {
    let bits = 0n;
    for (let i = 0; i < 8; i++) bits = (bits << 32n) | BigInt(Math.floor(this.next() * 2 ** 32));
    return lo + (bits % (hi - lo + 1n));
  }

  /** `x` scaled by a factor uniform in [1 − spread, 1 + spread], at a 10^-12 granularity (every digit random). */
  around(x: bigint, spread: number): bigint {
    const ppt = BigInt(Math.round(this.float(-spread, spread) * 1e12));
    return (x * (10n ** 12n + ppt)) / 10n ** 12n + this.bigint(0n, 10n ** 6n);
  }
}

/** How many figures were compared, by kind, and which branches the random states reached. */
type Counts = Record<string, number>;

/** The SDK's result or its mirrored revert. */
function attempt<T>(f: () => T): { value: T; revert?: undefined } | { value?: undefined; revert: MirroredRevertError } {
  try {
    return { value: f() };
  } catch (e) {
    if (e instanceof MirroredRevertError) return { revert: e };
    throw e;
  }
}

/** The contract error's arguments the SDK mirrors: without a leading account or asset id. */
function mirroredArgs(r: Revert): unknown[] {
  switch (r.name) {
    case "LiquidationNoPosition":
    case "ExecutionPriceUnavailable":
    case "ClearingPriceUnavailable":
      return [];
    case "LiquidationTooLarge":
    case "LiquidationNotImproved":
      return r.args.slice(1);
    default:
      return r.args;
  }
}

/** Asserts that the SDK's outcome and the contract's agree: equal values, or the same revert. */
function expectSame<T>(
  sdk: ReturnType<typeof attempt<T>>,
  onChain: { value?: T; revert?: Revert },
  what: string,
): void {
  if (onChain.revert !== undefined) {
    expect(sdk.revert, `${what}: the contract reverts with ${onChain.revert.name}`).to.not.equal(undefined);
    if (onChain.revert.name.startsWith("Oracle")) {
      expect(sdk.revert!.errorName, what).to.equal("OraclePriceNotGood");
    } else {
      expect(sdk.revert!.errorName, what).to.equal(onChain.revert.name);
      expect([...sdk.revert!.args], what).to.deep.equal(mirroredArgs(onChain.revert));
    }
    return;
  }
  expect(sdk.revert?.message, `${what}: the SDK reverts where the contract does not`).to.equal(undefined);
  expect(sdk.value, what).to.deep.equal(onChain.value);
}

/** One random trader account of the local deployment. */
interface Trader {
  account: bigint;
  tier: number;
  owner: Awaited<ReturnType<typeof deployLocalFoundation>>["alice"];
}

/** The local foundation with pools, the traders' accounts and an LP and a keeper, driven by seeded draws. */
class Explorer {
  readonly counts: Counts = {};
  private readonly funding: FundingTracker;
  private readonly errors: Interface;
  /** The time the last {@link pin} fixed. */
  private now = 0n;
  /** Accounts the next evaluation checks whatever the sample: those just pushed towards liquidation. */
  private readonly focus = new Set<Trader>();
  /** ExecutionEngine.minPoolSpread(), set at deployment. */
  private minPoolSpread = 0n;

  private constructor(
    private readonly f: Awaited<ReturnType<typeof deployLocalFoundation>>,
    private readonly r: Random,
    private readonly contexts: Map<number, TierContext>,
    private readonly traders: Trader[],
    private readonly poolAccounts: Map<number, bigint>,
    private readonly maxConfidence: Map<string, bigint>,
    private readonly keeper: Trader["owner"],
    private readonly lp: Trader["owner"],
  ) {
    const { d } = f;
    this.funding = new FundingTracker(d);
    this.errors = errorInterface([d.clearing, d.liquidation, d.execution, d.oracle, d.risk, d.vault, d.pools[0]!]);
  }

  static async deploy(seed: number): Promise<Explorer> {
    const f = await deployLocalFoundation(chain, { pools: true });
    const { d } = f;
    const signers = await ethers.getSigners();
    const contexts = new Map<number, TierContext>();
    const poolAccounts = new Map<number, bigint>();
    const traders: Trader[] = [];
    for (const tier of TIERS) {
      contexts.set(tier, await readTierContext(d, tier));
      poolAccounts.set(tier, accountBucket(await d.pools[tier]!.getAddress(), tier, 0n));
      for (const owner of [f.alice, f.bob, f.carol, f.mallory]) {
        for (const subId of [0n, 1n]) traders.push({ account: accountBucket(owner.address, tier, subId), tier, owner });
      }
    }
    const maxConfidence = new Map<string, bigint>();
    for (const key of [ETH_KEY, BTC_KEY]) maxConfidence.set(key, (await d.oracle.assetConfig(key)).maxConfidenceBps);
    const x = new Explorer(
      f,
      new Random(seed),
      contexts,
      traders,
      poolAccounts,
      maxConfidence,
      signers[10]!,
      signers[11]!,
    );
    x.minPoolSpread = await d.execution.minPoolSpread();
    await x.setUp();
    return x;
  }

  private count(kind: string, n = 1): void {
    this.counts[kind] = (this.counts[kind] ?? 0) + n;
  }

  // ---------------------------------------------------------------- transactions

  /**
   * Sends a transaction in the next block, at the latest timestamp + 1 unless {@link pin} fixed it: the states
   * do not depend on how fast the test runs. Returns its receipt, or the decoded revert.
   */
  private async send(
    tx: () => Promise<ContractTransactionResponse>,
  ): Promise<{ receipt: ContractTransactionReceipt; revert?: undefined } | { receipt?: undefined; revert: Revert }> {
    const latest = BigInt(await time.latest());
    if (this.now <= latest) await time.setNextBlockTimestamp(latest + 1n);
    const sent = await revertOf(this.errors, tx);
    if (sent.revert !== undefined) return sent;
    this.now = 0n;
    return { receipt: (await sent.value.wait())! };
  }

  private async mint(symbol: string, to: Trader["owner"], spender: string, amount: bigint): Promise<void> {
    const token = this.f.d.tokens[symbol]!;
    await this.send(() => token.mock!.mint(to.address, amount));
    await this.send(() => token.mock!.connect(to).approve(spender, amount));
  }

  private async deposit(t: Trader, symbol: string, amount: bigint): Promise<void> {
    const { d } = this.f;
    await this.mint(symbol, t.owner, d.addresses.vault, amount);
    const r = await this.send(() => d.vault.connect(t.owner).deposit(d.tokens[symbol]!.address, amount, t.account));
    this.count(r.revert === undefined ? "action: deposit" : `action refused: deposit (${r.revert.name})`);
  }

  /** Fresh rounds of every feed, each moved by a random step (large now and then), within bounds. */
  private async movePrices(): Promise<void> {
    const { d } = this.f;
    const eth = d.assets["ETH/USD"]!;
    const btc = d.assets["BTC/USD"]!;
    const step = (answer: bigint, lo: bigint, hi: bigint): bigint => {
      const moved = this.r.around(answer, this.r.pick([0.015, 0.015, 0.015, 0.03, 0.03, 0.06, 0.14]));
      return moved < lo ? lo : moved > hi ? hi : moved;
    };
    const ethAnswer = step((await eth.mockPrimary!.latestRoundData()).answer, 1_500n * 10n ** 8n, 6_000n * 10n ** 8n);
    if (this.r.chance(0.85)) await this.send(() => eth.mockPrimary!.updateAnswer(ethAnswer));
    // The secondary: near the primary, now and then beyond the router's largest deviation (2%).
    const secondary = this.r.around(ethAnswer * 10n ** 10n, this.r.chance(0.15) ? 0.035 : 0.004);
    if (this.r.chance(0.85)) await this.send(() => eth.mockSecondary!.updateAnswer(secondary));
    const btcAnswer = step(
      (await btc.mockPrimary!.latestRoundData()).answer,
      30_000n * 10n ** 8n,
      120_000n * 10n ** 8n,
    );
    if (this.r.chance(0.85)) await this.send(() => btc.mockPrimary!.updateAnswer(btcAnswer));
    this.count("action: prices");
  }

  private async setUp(): Promise<void> {
    const { d } = this.f;
    const eth = d.assets["ETH/USD"]!;
    await this.send(() => eth.mockPrimary!.updateAnswer(3_000n * 10n ** 8n));
    await this.send(() => eth.mockSecondary!.updateAnswer(3_000n * WAD));
    await this.send(() => d.assets["BTC/USD"]!.mockPrimary!.updateAnswer(60_000n * 10n ** 8n));
    for (const tier of TIERS) await this.lpDeposit(tier, this.r.bigint(300_000n, 2_000_000n) * 10n ** 6n);
    for (const t of this.traders) {
      await this.deposit(t, "USDC", this.r.bigint(2_000n, 300_000n) * 10n ** 6n + this.r.bigint(0n, 10n ** 6n));
      const listed = this.contexts.get(t.tier)!.tokens.map((a) => this.symbolOf(a));
      if (listed.includes("WETH") && this.r.chance(0.5))
        await this.deposit(t, "WETH", this.r.bigint(10n ** 15n, 40n * WAD));
      if (listed.includes("WBTC") && this.r.chance(0.4))
        await this.deposit(t, "WBTC", this.r.bigint(10n ** 4n, 2n * 10n ** 8n));
    }
    for (let i = 0; i < 40; i++) await (this.r.chance(0.5) ? this.fill() : this.poolTrade());
  }

  private symbolOf(address: string): string {
    return Object.values(this.f.d.tokens).find((t) => t.address === address)!.symbol;
  }

  private async lpDeposit(tier: number, amount: bigint): Promise<void> {
    const pool = this.f.d.pools[tier]!;
    await this.mint("USDC", this.lp, await pool.getAddress(), amount);
    const r = await this.send(() => pool.connect(this.lp).deposit(amount, this.lp.address));
    this.count(r.revert === undefined ? "action: LP deposit" : `action refused: LP deposit (${r.revert.name})`);
  }

  /**
   * A signed size for `t` in `market`: a reduction, close or flip of its position now and then, otherwise a
   * random share of the largest notional the equity of every one of `backers` carries at `imrBps`, at most `cap`.
   */
  private async sizeFor(
    t: Trader,
    backers: readonly Trader[],
    market: number,
    imrBps: bigint,
    mid: bigint,
    cap?: bigint,
  ): Promise<bigint | undefined> {
    const { d } = this.f;
    const position = (await d.clearing.position(t.account, market)).size;
    if (position !== 0n && this.r.chance(0.3)) {
      const share = this.r.pick([0.25, 0.5, 1, 1, 1.4]);
      return -(position * BigInt(Math.round(share * 1e6))) / 10n ** 6n || -position;
    }
    let equity = MAX_UINT256;
    for (const b of backers) {
      const e = (await d.clearing.health(b.account)).equity;
      if (e < equity) equity = e;
    }
    if (equity <= 0n) return undefined;
    const notional = (((equity * BPS) / imrBps) * BigInt(Math.round(this.r.float(0.05, 1.1) * 1e6))) / 10n ** 6n;
    let size = (notional * WAD) / mid + this.r.bigint(0n, 10n ** 9n);
    if (cap !== undefined && size > cap) size = this.r.bigint(cap / 20n, cap);
    return this.r.chance(0.5) ? size : -size;
  }

  /** A fill between two accounts of one tier, as the clearing house's executor, near the mid, with fees. */
  private async fill(): Promise<void> {
    const { d } = this.f;
    const taker = this.r.pick(this.traders);
    const maker = this.r.pick(this.traders.filter((t) => t.tier === taker.tier && t.account !== taker.account));
    const market = this.r.pick(this.contexts.get(taker.tier)!.markets);
    const params = await d.risk.marginParams(taker.tier, market);
    const mid = (await d.oracle.getPriceForLiquidation(params.oracleAsset)).price;
    const size = await this.sizeFor(taker, [taker, maker], market, params.ratios.imr, mid);
    if (size === undefined || size === 0n) return;
    const price = this.r.around(mid, 0.006);
    const notional = (abs(size) * price) / WAD;
    const takerFee = (notional * BigInt(this.r.int(0, 6))) / BPS + this.r.bigint(0n, 10n ** 12n);
    const makerFee = (notional * BigInt(this.r.int(0, 3))) / BPS;
    const poolFee = this.r.bigint(0n, (takerFee + makerFee) / 2n);
    const fill = { taker: taker.account, maker: maker.account, market, size, price, takerFee, makerFee, poolFee };
    const r = await this.send(() =>
      d.clearing.connect(this.f.executor).applyFill({ ...fill, protocolFee: 0n, protocol: 0n }),
    );
    this.count(r.revert === undefined ? "action: fill" : `action refused: fill (${r.revert.name})`);
  }

  /** A trade with the tier's pool through the execution engine, by the account's owner. */
  private async poolTrade(): Promise<void> {
    const { d } = this.f;
    const t = this.r.pick(this.traders);
    const market = this.r.pick(this.contexts.get(t.tier)!.markets);
    const tp = await d.risk.tradeParams(t.tier, market);
    const mid = (await d.oracle.getPriceForLiquidation(tp.oracleAsset)).price;
    // Within what the band prices: the impact of a trade of s is about s / (2 × skewScale).
    const cap = (tp.skewScale * 16n) / 1_000n;
    const size = await this.sizeFor(t, [t], market, BPS / tp.maxLeverage, mid, cap);
    if (size === undefined || size === 0n) return;
    const r = await this.send(() =>
      d.execution.connect(t.owner).tradeWithPool(t.account, market, size, size > 0n ? MAX_UINT256 : 0n, false),
    );
    this.count(r.revert === undefined ? "action: pool trade" : `action refused: pool trade (${r.revert.name})`);
  }

  /**
   * Moves an account with a position towards its liquidation zone: it sells (or buys back) a tenth of its
   * position at an off-market price that costs it a random share of its excess over the backstop margin.
   */
  private async pushTowardsLiquidation(): Promise<void> {
    const { d } = this.f;
    let t: Trader | undefined;
    let held: bigint[] = [];
    for (let tries = 0; tries < 8 && held.length === 0; tries++) {
      t = this.r.pick(this.traders);
      held = [...(await d.clearing.accountMarkets(t.account))];
    }
    if (t === undefined || held.length === 0) return;
    const market = Number(this.r.pick(held));
    const size = (await d.clearing.position(t.account, market)).size;
    const h = await d.clearing.health(t.account);
    if (h.equity <= h.backstop) return;
    const target = h.backstop + ((h.mm - h.backstop) * BigInt(this.r.int(0, 1_100))) / 1_000n;
    if (h.equity <= target) return;
    const loss = h.equity - target;
    const band = await d.oracle.getPriceForLiquidation((await d.risk.marginParams(t.tier, market)).oracleAsset);
    const delta = abs(size) / 10n + 1n;
    const price = size > 0n ? band.lower - (loss * WAD) / delta : band.upper + (loss * WAD) / delta;
    if (price <= 0n) return;
    const maker = this.r.pick(this.traders.filter((o) => o.tier === t.tier && o.account !== t.account));
    const fill = { taker: t.account, maker: maker.account, market, size: size > 0n ? -delta : delta, price };
    const r = await this.send(() =>
      d.clearing.connect(this.f.executor).applyFill({
        ...fill,
        takerFee: 0n,
        makerFee: 0n,
        poolFee: 0n,
        protocolFee: 0n,
        protocol: 0n,
      }),
    );
    this.count(r.revert === undefined ? "action: push" : `action refused: push (${r.revert.name})`);
    if (r.revert === undefined) this.focus.add(t);
  }

  /** One to four random actions. */
  async act(): Promise<void> {
    const { d } = this.f;
    for (let i = this.r.int(1, 4); i > 0; i--) {
      const u = this.r.float();
      const age = BigInt(await time.latest()) - (await d.assets["ETH/USD"]!.mockPrimary!.latestRoundData()).updatedAt;
      if (age > 3_000n && this.r.chance(0.7)) await this.movePrices();
      if (u < 0.22) await this.fill();
      else if (u < 0.4) await this.poolTrade();
      else if (u < 0.55) await this.pushTowardsLiquidation();
      else if (u < 0.75) await this.movePrices();
      else if (u < 0.87) {
        const t = this.r.pick(this.traders);
        const listed = this.contexts.get(t.tier)!.tokens.map((a) => this.symbolOf(a));
        const symbol = this.r.pick(listed);
        const unit = 10n ** BigInt(d.tokens[symbol]!.decimals);
        await this.deposit(t, symbol, this.r.bigint(unit / 100n, symbol === "USDC" ? 50_000n * unit : unit * 5n));
      } else if (u < 0.93) {
        const t = this.r.pick(this.traders);
        await this.send(() => d.clearing.settle(t.account));
        this.count("action: settle");
      } else if (u < 0.97) {
        const tier = this.r.pick(TIERS);
        await this.send(() => d.clearing.accrueFunding(tier, this.r.pick(this.contexts.get(tier)!.markets)));
        this.count("action: accrue funding");
      } else {
        await this.lpDeposit(this.r.pick(TIERS), this.r.bigint(1n, 200_000n) * 10n ** 6n);
      }
    }
  }

  /**
   * Fixes the next block's timestamp a random time ahead (seconds, minutes, hours, days now and then): the
   * states see funding accrue and the bands widen with the prices' age, and go stale.
   */
  async pin(): Promise<bigint> {
    const u = this.r.float();
    const dt = u < 0.55 ? this.r.int(1, 60) : u < 0.85 ? this.r.int(60, 4 * 3_600) : this.r.int(4 * 3_600, 2 * 86_400);
    this.now = BigInt(await time.latest()) + BigInt(dt);
    await time.setNextBlockTimestamp(this.now);
    return this.now;
  }

  // ---------------------------------------------------------------- the state's figures

  /** Every figure of the state compared with the contracts' views, in the context of the pinned block. */
  async evaluate(label: string): Promise<void> {
    const { d } = this.f;
    const now = this.now;
    await this.funding.update();
    const prices = new Map<string, OraclePrice>();
    const strict = new Map<string, Awaited<ReturnType<typeof revertOf<OraclePrice>>>>();
    for (const key of [ETH_KEY, BTC_KEY]) {
      const read = toPrice(await d.oracle.getPriceForLiquidation(key, PENDING));
      prices.set(key, read);
      strict.set(key, await revertOf(this.errors, async () => toPrice(await d.oracle.getPrice(key, PENDING))));
      if ((read.flags & UNRELIABLE) !== 0n) this.count("branch: unreliable price read");
    }

    // Funding: ClearingHouse.fundingState of every tier × market.
    const markets = new Map<number, Map<number, MarketRead>>();
    for (const tier of TIERS) {
      const reads = new Map<number, MarketRead>();
      for (const market of this.contexts.get(tier)!.markets) {
        const raw = await d.risk.marginParams(tier, market, PENDING);
        const params = toMarginParams(raw);
        const poolSize = (await d.clearing.position(this.poolAccounts.get(tier)!, market, PENDING)).size;
        const read: MarketRead = {
          params,
          price: prices.get(raw.oracleAsset)!,
          funding: this.funding.state(tier, market, poolSize),
        };
        reads.set(market, read);
        const sdk = fundingIndexNow(read.funding, read.price.price, params, now);
        const [index, rate] = await d.clearing.fundingState(tier, market, PENDING);
        expect([sdk.index, sdk.ratePerDayWad], `${label}: fundingState(${tier}, ${market})`).to.deep.equal([
          index,
          rate,
        ]);
        this.count("fundingState");
        if (rate !== 0n) this.count("branch: non-zero funding rate");
      }
      markets.set(tier, reads);
    }

    // Health, the liquidation preview and the partial plan of a sample of accounts and of every pool.
    const sample = [...this.traders]
      .sort(() => this.r.float() - 0.5)
      .filter((t) => !this.focus.has(t))
      .slice(0, ACCOUNTS_PER_STATE);
    sample.push(...this.focus);
    this.focus.clear();
    const evaluated: { t: Trader; h: Health; positions: Map<number, bigint> }[] = [];
    const pools = new Map<number, Health>();
    for (const t of [
      ...sample,
      ...TIERS.map((tier) => ({ account: this.poolAccounts.get(tier)!, tier, owner: this.lp })),
    ]) {
      const ctx = this.contexts.get(t.tier)!;
      const account = await readAccount(d, t.account, ctx, PENDING);
      const h = health(healthInput(ctx, account, markets.get(t.tier)!, prices, now));
      expect(h, `${label}: health(${t.account})`).to.deep.equal(toHealth(await d.clearing.health(t.account, PENDING)));
      this.count("health");
      if (this.poolAccounts.get(t.tier) === t.account) {
        pools.set(t.tier, h);
        continue;
      }
      const sizes = new Map([...account.positions].map(([m, p]) => [m, p.size]));
      evaluated.push({ t, h, positions: sizes });
      await this.checkLiquidationViews(label, t, h, sizes, markets.get(t.tier)!);
    }

    for (const tier of TIERS) await this.checkPool(label, tier, pools.get(tier)!);
    for (let i = 0; i < QUOTES_PER_STATE; i++) await this.checkQuote(label, prices, strict);
    await this.liquidateOne(label, evaluated, markets);
  }

  /** LiquidationEngine.preview in each market, and partialPlan in each market the account holds. */
  private async checkLiquidationViews(
    label: string,
    t: Trader,
    h: Health,
    sizes: Map<number, bigint>,
    reads: Map<number, MarketRead>,
  ): Promise<void> {
    const { d } = this.f;
    // Every market, listed in the tier or not (the edge tier lists no BTC: the preview has no parameters).
    for (const market of [ETH, BTC]) {
      const read = reads.get(market);
      const size = sizes.get(market) ?? 0n;
      const sdk = previewLiquidation(h, { size, params: read?.params, price: read?.price });
      const p = await d.liquidation.preview(t.account, market, PENDING);
      const onChain = {
        liquidatable: p.liquidatable,
        backstop: p.backstop,
        equity: p.equity,
        mm: p.mm,
        backstopRequirement: p.backstopRequirement,
        closeSize: p.closeSize,
        keeperReward: p.keeperReward,
        deficit: p.deficit,
      };
      expect(sdk, `${label}: preview(${t.account}, ${market})`).to.deep.equal(onChain);
      this.count("preview");
      if (sdk.liquidatable) this.count(sdk.backstop ? "branch: backstop preview" : "branch: partial preview");
      if (size === 0n || read === undefined) continue;
      const plan = attempt(() => partialPlan(h, size, read.price, read.params));
      const chainPlan = await revertOf(this.errors, async () => {
        const q = await d.liquidation.partialPlan(t.account, market, h, PENDING);
        return {
          closeSize: q.closeSize,
          mark: q.mark,
          penalty: q.penalty,
          reward: q.reward,
          signedClose: q.signedClose,
        };
      });
      expectSame(plan, chainPlan, `${label}: partialPlan(${t.account}, ${market})`);
      this.count("partialPlan");
      this.count(plan.revert === undefined ? "branch: plan" : `branch: plan reverts ${plan.revert.errorName}`);
    }
  }

  /** The pool's ERC-4626 figures from its account's health. */
  private async checkPool(label: string, tier: number, h: Health): Promise<void> {
    const { d } = this.f;
    const pool = d.pools[tier]!;
    const ctx = this.contexts.get(tier)!;
    const decimals = ctx.quoteDecimals;
    const assets = totalAssets(h.equity, decimals);
    expect(assets, `${label}: pool ${tier} totalAssets`).to.equal(await pool.totalAssets(PENDING));
    const s = { totalSupply: await pool.totalSupply(PENDING), totalAssets: assets };
    const a = this.r.bigint(0n, 10n ** 13n);
    const sh = this.r.bigint(0n, s.totalSupply * 2n + 10n ** 12n);
    const sdk = [
      convertToShares(a, s, "Down"),
      convertToAssets(sh, s, "Down"),
      previewDeposit(a, s),
      previewMint(sh, s),
      previewWithdraw(a, s),
      previewRedeem(sh, s),
      sharePrice(s, decimals),
    ];
    const onChain = [
      await pool.convertToShares(a, PENDING),
      await pool.convertToAssets(sh, PENDING),
      await pool.previewDeposit(a, PENDING),
      await pool.previewMint(sh, PENDING),
      await pool.previewWithdraw(a, PENDING),
      await pool.previewRedeem(sh, PENDING),
      await pool.convertToAssets(10n ** (await pool.decimals()), PENDING),
    ];
    expect(sdk, `${label}: pool ${tier} conversions of ${a} assets and ${sh} shares`).to.deep.equal(onChain);
    const [, maxUtilisationBps] = await pool.params();
    const balance = await d.vault.balanceOf(this.poolAccounts.get(tier)!, ctx.quoteToken, PENDING);
    expect(withdrawableAssets(h, balance, maxUtilisationBps, decimals), `${label}: pool ${tier} withdrawable`).to.equal(
      await pool.withdrawableAssets(PENDING),
    );
    this.count("pool figures", 1 + sdk.length + 1);
  }

  /** ExecutionEngine.quotePoolTrade for a random account, market and size (and tradeWithPool's price and fee). */
  private async checkQuote(
    label: string,
    prices: Map<string, OraclePrice>,
    strict: Map<string, Awaited<ReturnType<typeof revertOf<OraclePrice>>>>,
  ): Promise<void> {
    const { d } = this.f;
    const t = this.r.pick(this.traders);
    const market = this.r.pick(this.contexts.get(t.tier)!.markets);
    const tp = await d.risk.tradeParams(t.tier, market, PENDING);
    const [position, poolPosition] = await d.clearing.tradeState(
      t.account,
      this.poolAccounts.get(t.tier)!,
      market,
      PENDING,
    );
    const unit = market === ETH ? WAD : WAD / 20n;
    let size = this.r.bigint(unit / 1_000n, unit * 400n) * (this.r.chance(0.5) ? 1n : -1n);
    if (position !== 0n && this.r.chance(0.35)) size = -this.r.bigint(1n, abs(position)) * (position > 0n ? 1n : -1n);
    const onChain = await revertOf(this.errors, async () => {
      const [price, oraclePrice] = await d.execution.quotePoolTrade(t.account, market, size, PENDING);
      return { price, oraclePrice };
    });
    const adds = increases(position, size);
    const read = adds ? strict.get(tp.oracleAsset)! : { value: prices.get(tp.oracleAsset)! };
    if (read.revert !== undefined) {
      // A trade that adds risk needs the strict read, which reverts: the quote reverts with the oracle's reason.
      expect(onChain.revert, `${label}: quote on a failing strict read`).to.deep.equal(read.revert);
      this.count("quote (strict read reverts)");
      return;
    }
    const sdk = attempt(() => {
      const q = quotePoolTrade({
        position,
        poolPosition,
        size,
        price: read.value,
        priceBandBps: tp.priceBandBps,
        skewScale: tp.skewScale,
        minPoolSpreadBps: this.minPoolSpread,
        maxConfidenceBps: this.maxConfidence.get(tp.oracleAsset)!,
      });
      return { price: q.price, oraclePrice: q.oraclePrice };
    });
    expectSame(sdk, onChain, `${label}: quotePoolTrade(${t.account}, ${market}, ${size})`);
    this.count("quotePoolTrade");
    this.count(
      sdk.revert === undefined
        ? adds
          ? "branch: quote adds risk"
          : "branch: quote exit"
        : `branch: quote reverts ${sdk.revert.errorName}`,
    );
    if (sdk.value !== undefined && (read.value.flags & UNRELIABLE) !== 0n)
      this.count("branch: quote on an unreliable read");
    if (sdk.value === undefined) return;
    // The trade itself prices on the liquidation read: the same price when it goes through.
    const traded = await revertOf(this.errors, async () => [
      ...(await d.execution
        .connect(t.owner)
        .tradeWithPool.staticCall(t.account, market, size, size > 0n ? MAX_UINT256 : 0n, false, PENDING)),
    ]);
    if (traded.value === undefined) return;
    expect(traded.value, `${label}: tradeWithPool(${t.account}, ${market}, ${size})`).to.deep.equal([
      sdk.value.price,
      poolTradeFee(size, sdk.value.price, tp.takerFeeBps),
    ]);
    this.count("tradeWithPool price and fee");
  }

  /**
   * Liquidates one liquidatable account of the sample (now and then with a keeper's requested size, possibly
   * too large) at the pinned time, and compares the outcome with the SDK's plan for the health it evaluated.
   */
  private async liquidateOne(
    label: string,
    evaluated: { t: Trader; h: Health; positions: Map<number, bigint> }[],
    markets: Map<number, Map<number, MarketRead>>,
  ): Promise<void> {
    const { d } = this.f;
    const liquidatable = evaluated.filter((e) => e.h.equity < e.h.mm);
    const partial = liquidatable.filter((e) => e.h.equity >= e.h.backstop);
    // Partial liquidations first (their plans have the most to compare), takeovers otherwise.
    const candidates = partial.length !== 0 && this.r.chance(0.8) ? partial : liquidatable;
    if (candidates.length === 0 || !this.r.chance(0.8)) return;
    const { t, h, positions } = this.r.pick(candidates);
    const held = [...positions].filter(([, size]) => size !== 0n).map(([m]) => m);
    const market = held.length === 0 ? this.r.pick(this.contexts.get(t.tier)!.markets) : this.r.pick(held);
    const read = markets.get(t.tier)!.get(market)!;
    const size = positions.get(market) ?? 0n;
    const keeper = this.keeper.address;
    const backstop = h.equity < h.backstop;
    let requested = 0n;
    let expected: { value?: unknown[]; revert?: MirroredRevertError; event: string };
    if (backstop) {
      const cap = held.length === 0 ? 0n : read.params.keeperRewardCap;
      expected = {
        event: "BackstopTakeover",
        value: [t.account, keeper, h.positions, h.equity, backstopReward(h, cap)],
      };
    } else {
      const full = attempt(() => partialPlan(h, size, read.price, read.params));
      if (full.value !== undefined && this.r.chance(0.5)) {
        requested = this.r.chance(0.15) ? full.value.closeSize + 1n : this.r.bigint(1n, full.value.closeSize);
      }
      const p = attempt(() => partialPlan(h, size, read.price, read.params, requested));
      expected =
        p.value === undefined
          ? { event: "Liquidated", revert: p.revert }
          : {
              event: "Liquidated",
              value: [
                t.account,
                BigInt(market),
                keeper,
                p.value.signedClose,
                p.value.mark,
                p.value.penalty,
                p.value.reward,
              ],
            };
    }
    const pinned = this.now;
    const sent = await this.send(() => d.liquidation.connect(this.keeper).liquidate(t.account, market, requested));
    const what = `${label}: liquidate(${t.account}, ${market}, ${requested})`;
    if (expected.revert !== undefined) {
      expect(sent.revert, `${what} reverts`).to.not.equal(undefined);
      expectSame({ revert: expected.revert }, { revert: sent.revert }, what);
      this.count(`liquidation reverts ${expected.revert.errorName}`);
      return;
    }
    expect(sent.revert?.name, `${what} reverts where the SDK does not`).to.equal(undefined);
    const receipt = sent.receipt!;
    const block = await ethers.provider.getBlock(receipt.blockNumber);
    expect(BigInt(block!.timestamp), `${what}: mined at the evaluated time`).to.equal(pinned);
    const events: unknown[][] = [];
    for (const log of receipt.logs) {
      if (log.address !== d.addresses.liquidation) continue;
      const e = d.liquidation.interface.parseLog(log);
      if (e !== null && e.name === expected.event) events.push(e.args.toArray() as unknown[]);
    }
    expect(events, what).to.deep.equal([expected.value]);
    this.count(
      backstop
        ? "liquidation: backstop"
        : requested === 0n
          ? "liquidation: partial"
          : "liquidation: partial, requested size",
    );
  }
}

/** Branches the random states must reach, or the comparison proves little. */
const REQUIRED_BRANCHES = [
  "branch: non-zero funding rate",
  "branch: partial preview",
  "branch: backstop preview",
  "branch: plan",
  "branch: plan reverts LiquidationNotImproved",
  "branch: unreliable price read",
  "branch: quote adds risk",
  "branch: quote exit",
  "branch: quote on an unreliable read",
  "branch: quote reverts ExecutionPriceOutsideBand",
  "quote (strict read reverts)",
  "tradeWithPool price and fee",
  "liquidation: partial",
  "liquidation: partial, requested size",
  "liquidation: backstop",
];

describe("SDK math mirror = the contracts' views, over random states", function () {
  it(`health, liquidation previews and plans, funding, pool shares and pool quotes agree exactly (${STATES} states)`, async function () {
    this.timeout(Math.max(120_000, STATES * 2_000));
    const started = Date.now();
    const x = await Explorer.deploy(SEED);
    for (let s = 0; s < STATES; s++) {
      await x.act();
      await x.pin();
      await x.evaluate(`state ${s}`);
      await networkHelpers.mine();
    }
    const compared = Object.entries(x.counts).filter(([k]) => !k.startsWith("branch") && !k.startsWith("action"));
    const total = compared.reduce((n, [, v]) => n + v, 0);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`      ${STATES} states, ${total} figures compared in ${seconds} s:`);
    console.log(`      ${compared.map(([k, v]) => `${k} ${v}`).join(", ")}`);
    for (const branch of REQUIRED_BRANCHES)
      expect(x.counts[branch] ?? 0, `states reaching ${branch}`).to.be.greaterThan(0);
  });
});
