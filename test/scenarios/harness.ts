import Table from "cli-table3";
import { formatUnits, type Log } from "ethers";

import { insuranceBucket, settlementBucket } from "../../sdk/src/client/buckets.js";
import { ETH, type Population, TIERS, TIER_NAMES, USDC_SCALE } from "./population.js";

/** The tier of a bucket id (its most significant byte). */
export const tierOf = (account: bigint): number => Number(account >> 248n);

/** Every account of the population that can be liquidated: the traders and the tiers' market makers. */
export function liquidatableCandidates(pop: Population): bigint[] {
  return [...pop.traderAccounts, ...pop.makerAccounts];
}

// ------------------------------------------------------------------ liquidation events

export type LiquidationEvent =
  | { kind: "liquidated"; account: bigint; tier: number; closedSize: bigint; penalty: bigint; keeperReward: bigint }
  | { kind: "backstop"; account: bigint; tier: number; positions: bigint; equity: bigint; keeperReward: bigint }
  | { kind: "step"; account: bigint; tier: number; step: number; amount: bigint };

export type StepEvent = Extract<LiquidationEvent, { kind: "step" }>;

/** The waterfall steps of `account` among `events`, in order. */
export function stepsOf(events: readonly LiquidationEvent[], account: bigint): StepEvent[] {
  return events.filter((e): e is StepEvent => e.kind === "step" && e.account === account);
}

/** The liquidation engine's events in `logs`, in order. */
export function liquidationEvents(pop: Population, logs: readonly Log[]): LiquidationEvent[] {
  const engine = pop.d.liquidation;
  const address = pop.d.addresses.liquidation.toLowerCase();
  const events: LiquidationEvent[] = [];
  for (const log of logs) {
    if (log.address.toLowerCase() !== address) continue;
    const parsed = engine.interface.parseLog(log);
    if (parsed === null) continue;
    const account = parsed.args.account as bigint;
    const tier = tierOf(account);
    if (parsed.name === "Liquidated") {
      events.push({
        kind: "liquidated",
        account,
        tier,
        closedSize: parsed.args.closedSize as bigint,
        penalty: parsed.args.penalty as bigint,
        keeperReward: parsed.args.keeperReward as bigint,
      });
    } else if (parsed.name === "BackstopTakeover") {
      events.push({
        kind: "backstop",
        account,
        tier,
        positions: parsed.args.positions as bigint,
        equity: parsed.args.equity as bigint,
        keeperReward: parsed.args.keeperReward as bigint,
      });
    } else if (parsed.name === "WaterfallStep") {
      events.push({
        kind: "step",
        account,
        tier,
        step: Number(parsed.args.step as bigint),
        amount: parsed.args.amount as bigint,
      });
    }
  }
  return events;
}

// ------------------------------------------------------------------ the keeper

export interface Preview {
  liquidatable: boolean;
  backstop: boolean;
  equity: bigint;
  mm: bigint;
  deficit: bigint;
}

/** The liquidation preview of every account, read at one block. */
export async function previewAll(pop: Population, accounts: readonly bigint[]): Promise<Preview[]> {
  const blockTag = await pop.chain.ethers.provider.getBlockNumber();
  return Promise.all(
    accounts.map(async (account) => {
      const p = await pop.d.liquidation.preview(account, ETH, { blockTag });
      return { liquidatable: p.liquidatable, backstop: p.backstop, equity: p.equity, mm: p.mm, deficit: p.deficit };
    }),
  );
}

/** Gas for one `liquidateBatch` call: explicit, so no estimate can starve the batch's inner calls. */
const BATCH_GAS = 15_000_000;
export const BATCH_SIZE = 20;

/**
 * One keeper pass: liquidates `accounts` with `liquidateBatch` in chunks of at most {@link BATCH_SIZE},
 * one transaction after the other. Returns the engine's events in order and how many the engine counted.
 */
export async function liquidateAll(
  pop: Population,
  accounts: readonly bigint[],
): Promise<{ events: LiquidationEvent[]; liquidated: number; batches: number }> {
  const engine = pop.d.liquidation.connect(pop.keeper);
  const events: LiquidationEvent[] = [];
  let liquidated = 0;
  let batches = 0;
  for (let i = 0; i < accounts.length; i += BATCH_SIZE) {
    const chunk = accounts.slice(i, i + BATCH_SIZE);
    const tx = await engine.liquidateBatch(
      chunk,
      chunk.map(() => ETH),
      { gasLimit: BATCH_GAS },
    );
    const receipt = await tx.wait();
    if (receipt === null || receipt.status !== 1) throw new Error(`liquidateBatch ${tx.hash} failed`);
    batches++;
    const batchEvents = liquidationEvents(pop, receipt.logs);
    liquidated += batchEvents.filter((e) => e.kind !== "step").length;
    events.push(...batchEvents);
  }
  return { events, liquidated, batches };
}

// ------------------------------------------------------------------ invariants

/** DESIGN §6.1 for the quote token: the vault's token balance and what its ledger owes. */
export async function vaultSolvency(pop: Population): Promise<{ balance: bigint; owed: bigint }> {
  const { d, token } = pop;
  const totals = await Promise.all(TIERS.map(async (tier) => (await d.vault.tierTotal(tier, token.address))[0]));
  const reserve = await d.vault.reserveBalance(token.address);
  const queued = await d.vault.totalQueued(token.address);
  const balance = await token.mock!.balanceOf(pop.d.addresses.vault);
  return { balance, owed: totals.reduce((a, b) => a + b, 0n) + reserve + queued };
}

/**
 * DESIGN §6.3 per tier: Σ size over every account of the tier that trades (traders, maker, pool) and
 * Σ long sizes, next to the clearing house's open interest.
 */
export async function zeroSum(
  pop: Population,
): Promise<{ tier: number; sumSize: bigint; sumLong: bigint; openInterest: bigint }[]> {
  const { d } = pop;
  const accounts = [...pop.traderAccounts, ...pop.makerAccounts, ...pop.poolAccounts, ...pop.keeperAccounts];
  const sizes = await Promise.all(accounts.map(async (a) => (await d.clearing.position(a, ETH)).size));
  return Promise.all(
    TIERS.map(async (tier) => {
      let sumSize = 0n;
      let sumLong = 0n;
      accounts.forEach((a, i) => {
        if (tierOf(a) !== tier) return;
        sumSize += sizes[i]!;
        if (sizes[i]! > 0n) sumLong += sizes[i]!;
      });
      return { tier, sumSize, sumLong, openInterest: await d.clearing.openInterest(tier, ETH) };
    }),
  );
}

/** What the tier's insurance fund can pay (quote WAD): its cash plus its quote tokens, as the waterfall counts it. */
export async function insuranceFunds(pop: Population, tier: number): Promise<bigint> {
  const bucket = insuranceBucket(tier);
  const [cash, tokens] = await Promise.all([
    pop.d.clearing.cash(bucket),
    pop.d.vault.balanceOf(bucket, pop.token.address),
  ]);
  return cash + tokens * USDC_SCALE;
}

// ------------------------------------------------------------------ the waterfall, replayed

/**
 * Replays the liquidation events of one keeper phase against the state before it and checks DESIGN §5
 * event by event: a backstop's deficit (−equity) is absorbed by the insurance fund as far as it holds
 * (fed by the insurance share of the partial liquidations' penalties before it), then by the reserve in
 * whole token units within the tier's remaining allowance (nothing for a tier that is not eligible),
 * and the rest by the pool; step2 + step3 + step4 == deficit. Returns a list of violations (empty: sound).
 */
export class WaterfallReplay {
  private readonly funds = new Map<number, bigint>();
  private readonly reserve = new Map<number, bigint>();
  readonly violations: string[] = [];
  private current?: { account: bigint; deficit: bigint; steps: Map<number, bigint> };

  private constructor() {}

  static async start(pop: Population): Promise<WaterfallReplay> {
    const replay = new WaterfallReplay();
    for (const tier of TIERS) {
      replay.funds.set(tier, await insuranceFunds(pop, tier));
      replay.reserve.set(tier, await pop.d.vault.reserveAvailable(tier, pop.token.address));
    }
    return replay;
  }

  apply(events: readonly LiquidationEvent[]): void {
    for (const e of events) {
      if (e.kind === "liquidated") {
        this.close();
        this.funds.set(e.tier, this.funds.get(e.tier)! + e.penalty - e.keeperReward);
      } else if (e.kind === "backstop") {
        this.close();
        this.current = { account: e.account, deficit: e.equity < 0n ? -e.equity : 0n, steps: new Map() };
      } else {
        const c = this.current;
        const where = `tier ${TIER_NAMES[e.tier]} account ${e.account.toString(16)} step ${e.step}`;
        if (c === undefined || c.account !== e.account) {
          this.violations.push(`${where}: a waterfall step outside its backstop`);
          continue;
        }
        if (c.steps.has(e.step)) this.violations.push(`${where}: emitted twice`);
        c.steps.set(e.step, e.amount);
        const s2 = c.steps.get(2) ?? 0n;
        const s3 = c.steps.get(3) ?? 0n;
        if (e.step === 2) {
          const available = this.funds.get(e.tier)!;
          const expected = c.deficit < available ? c.deficit : available > 0n ? available : 0n;
          if (e.amount !== expected) this.violations.push(`${where}: absorbed ${e.amount}, expected ${expected}`);
          this.funds.set(e.tier, available - e.amount);
        } else if (e.step === 3) {
          const rest = c.deficit - s2;
          const remaining = this.reserve.get(e.tier)!;
          const units = rest / USDC_SCALE < remaining ? rest / USDC_SCALE : remaining;
          if (e.amount !== units * USDC_SCALE) {
            this.violations.push(`${where}: absorbed ${e.amount}, expected ${units * USDC_SCALE}`);
          }
          this.reserve.set(e.tier, remaining - e.amount / USDC_SCALE);
        } else if (e.step === 4) {
          if (e.amount !== c.deficit - s2 - s3) {
            this.violations.push(`${where}: absorbed ${e.amount}, expected ${c.deficit - s2 - s3}`);
          }
        }
      }
    }
    this.close();
  }

  /** Checks the backstop whose steps were just read: every step emitted once, and Σ steps 2–4 == deficit. */
  private close(): void {
    const c = this.current;
    this.current = undefined;
    if (c === undefined) return;
    const where = `account ${c.account.toString(16)}`;
    if (!c.steps.has(1)) this.violations.push(`${where}: no step 1`);
    if (c.deficit === 0n) {
      for (const s of [2, 3, 4]) if (c.steps.has(s)) this.violations.push(`${where}: step ${s} without a deficit`);
      return;
    }
    for (const s of [2, 3, 4]) if (!c.steps.has(s)) this.violations.push(`${where}: step ${s} missing`);
    const sum = (c.steps.get(2) ?? 0n) + (c.steps.get(3) ?? 0n) + (c.steps.get(4) ?? 0n);
    if (sum !== c.deficit) this.violations.push(`${where}: steps 2–4 absorbed ${sum} of a deficit of ${c.deficit}`);
  }

  /** What the replay expects the insurance fund of `tier` to hold now (quote WAD). */
  insurance(tier: number): bigint {
    return this.funds.get(tier)!;
  }
}

// ------------------------------------------------------------------ per-tier figures

export interface TierStats {
  liquidations: number;
  backstops: number;
  /** Σ deficits (−equity) of the backstops, quote WAD. */
  badDebt: bigint;
  insuranceUsed: bigint;
  reserveUsed: bigint;
  /** Step 4: what the pool's LPs absorbed of the deficits. */
  poolAbsorbed: bigint;
  keeperRewards: bigint;
}

export const emptyStats = (): TierStats => ({
  liquidations: 0,
  backstops: 0,
  badDebt: 0n,
  insuranceUsed: 0n,
  reserveUsed: 0n,
  poolAbsorbed: 0n,
  keeperRewards: 0n,
});

/** Adds `events` to the per-tier figures. */
export function addStats(stats: TierStats[], events: readonly LiquidationEvent[]): void {
  for (const e of events) {
    const s = stats[e.tier]!;
    if (e.kind === "liquidated") {
      s.liquidations++;
      s.keeperRewards += e.keeperReward;
    } else if (e.kind === "backstop") {
      s.backstops++;
      s.keeperRewards += e.keeperReward;
      if (e.equity < 0n) s.badDebt += -e.equity;
    } else if (e.step === 2) {
      s.insuranceUsed += e.amount;
    } else if (e.step === 3) {
      s.reserveUsed += e.amount;
    } else if (e.step === 4) {
      s.poolAbsorbed += e.amount;
    }
  }
}

/** Each pool's total assets (USDC units). */
export async function poolAssets(pop: Population): Promise<bigint[]> {
  return Promise.all(pop.pools.map((p) => p.totalAssets()));
}

function money(value: bigint, decimals: number): string {
  const [whole, fraction = ""] = formatUnits(value, decimals).split(".");
  const grouped = whole!.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${grouped}.${fraction.padEnd(2, "0").slice(0, 2)}`;
}

/**
 * A compact per-tier table: partial liquidations, backstop takeovers, bad debt (Σ deficits), what the
 * insurance fund, the reserve and the pool (step 4) absorbed of it, keeper rewards, and the pool's PnL
 * (change of its total assets).
 */
export function renderSummary(title: string, stats: readonly TierStats[], poolPnl: readonly bigint[]): string {
  const table = new Table({
    head: [
      "tier",
      "partial",
      "backstop",
      "bad debt",
      "insurance used",
      "reserve used",
      "pool absorbed",
      "keeper rewards",
      "pool PnL",
    ],
    colAligns: ["left", "right", "right", "right", "right", "right", "right", "right", "right"],
    style: { head: [], border: [] },
  });
  for (const tier of TIERS) {
    const s = stats[tier]!;
    table.push([
      `${tier} ${TIER_NAMES[tier]}`,
      s.liquidations,
      s.backstops,
      money(s.badDebt, 18),
      money(s.insuranceUsed, 18),
      money(s.reserveUsed, 18),
      money(s.poolAbsorbed, 18),
      money(s.keeperRewards, 18),
      money(poolPnl[tier]!, 6),
    ]);
  }
  return `${title} (USDC)\n${table.toString()}`;
}

// ------------------------------------------------------------------ the firewall snapshot

/**
 * Every figure of `tiers` the tier firewall protects (DESIGN §6.2): the vault's tier total and system
 * buckets, the insurance fund's cash, open interest and funding state, the pool (total assets, supply,
 * account), the reserve allowance, and every account's cash, position and tokens. Prices are not moved
 * between two snapshots, and no figure here depends on the clock while the tier's pool holds no position.
 */
export async function tierFigures(pop: Population, tiers: readonly number[]): Promise<unknown> {
  const { d, token } = pop;
  const accounts = [...pop.traderAccounts, ...pop.makerAccounts, ...pop.poolAccounts, ...pop.keeperAccounts];
  const out: Record<string, unknown> = {};
  for (const tier of tiers) {
    const pool = pop.pools[tier]!;
    const [fundingIndex, fundingRate] = await d.clearing.fundingState(tier, ETH);
    out[`tier ${tier}`] = {
      tierTotal: (await d.vault.tierTotal(tier, token.address))[0],
      insuranceCash: await d.clearing.cash(insuranceBucket(tier)),
      insuranceTokens: await d.vault.balanceOf(insuranceBucket(tier), token.address),
      settlementTokens: await d.vault.balanceOf(settlementBucket(tier), token.address),
      settlementCash: await d.clearing.cash(settlementBucket(tier)),
      openInterest: await d.clearing.openInterest(tier, ETH),
      fundingIndex,
      fundingRate,
      poolTotalAssets: await pool.totalAssets(),
      poolTotalSupply: await pool.totalSupply(),
      reserveAvailable: await d.vault.reserveAvailable(tier, token.address),
    };
    for (const account of accounts.filter((a) => tierOf(a) === tier)) {
      const p = await d.clearing.position(account, ETH);
      out[account.toString(16)] = [
        await d.clearing.cash(account),
        p.size,
        p.openNotional,
        p.fundingIndex,
        await d.vault.balanceOf(account, token.address),
      ];
    }
  }
  return out;
}
