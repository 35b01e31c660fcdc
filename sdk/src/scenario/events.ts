/**
 * The liquidation engine's events of a run, per tier: partial liquidations, backstop takeovers, the
 * waterfall's steps and auto-deleveraging; and the per-tier figures they add up to (bad debt, what the
 * insurance fund, the reserve, the pool and ADL absorbed).
 */
import type { Log } from "ethers";

import { LiquidationEngine__factory } from "../../../types/index.js";

const ENGINE = LiquidationEngine__factory.createInterface();

/** The tier of a bucket id (its most significant byte). */
export const tierOf = (account: bigint): number => Number(account >> 248n);

export type LiquidationEvent =
  | {
      kind: "liquidated";
      account: bigint;
      tier: number;
      market: number;
      closedSize: bigint;
      penalty: bigint;
      keeperReward: bigint;
    }
  | { kind: "backstop"; account: bigint; tier: number; positions: bigint; equity: bigint; keeperReward: bigint }
  | { kind: "step"; account: bigint; tier: number; step: number; amount: bigint }
  | { kind: "adl"; account: bigint; tier: number; market: number; size: bigint; price: bigint; absorbed: bigint };

/** The liquidation engine's events among `logs` (of any contract), in order. */
export function liquidationEvents(engine: string, logs: readonly Log[]): LiquidationEvent[] {
  const address = engine.toLowerCase();
  const events: LiquidationEvent[] = [];
  for (const log of logs) {
    if (log.address.toLowerCase() !== address) continue;
    const parsed = ENGINE.parseLog(log);
    if (parsed === null) continue;
    const a = parsed.args;
    if (parsed.name === "Liquidated") {
      const account = a.account as bigint;
      events.push({
        kind: "liquidated",
        account,
        tier: tierOf(account),
        market: Number(a.market as bigint),
        closedSize: a.closedSize as bigint,
        penalty: a.penalty as bigint,
        keeperReward: a.keeperReward as bigint,
      });
    } else if (parsed.name === "BackstopTakeover") {
      const account = a.account as bigint;
      events.push({
        kind: "backstop",
        account,
        tier: tierOf(account),
        positions: a.positions as bigint,
        equity: a.equity as bigint,
        keeperReward: a.keeperReward as bigint,
      });
    } else if (parsed.name === "WaterfallStep") {
      const account = a.account as bigint;
      events.push({
        kind: "step",
        account,
        tier: tierOf(account),
        step: Number(a.step as bigint),
        amount: a.amount as bigint,
      });
    } else if (parsed.name === "AutoDeleveraged") {
      const account = a.target as bigint;
      events.push({
        kind: "adl",
        account,
        tier: tierOf(account),
        market: Number(a.market as bigint),
        size: a.size as bigint,
        price: a.price as bigint,
        absorbed: a.absorbed as bigint,
      });
    }
  }
  return events;
}

/** A tier's figures over a run (quote WAD). */
export interface TierStats {
  liquidations: number;
  backstops: number;
  /** Σ deficits (−equity) of the backstop takeovers: what the defaulters' collateral did not cover. */
  badDebt: bigint;
  /** Waterfall steps 2, 3 and 4, and what ADL (step 5) absorbed. */
  insuranceUsed: bigint;
  reserveUsed: bigint;
  poolAbsorbed: bigint;
  adlAbsorbed: bigint;
  adlCount: number;
  keeperRewards: bigint;
}

export const emptyStats = (): TierStats => ({
  liquidations: 0,
  backstops: 0,
  badDebt: 0n,
  insuranceUsed: 0n,
  reserveUsed: 0n,
  poolAbsorbed: 0n,
  adlAbsorbed: 0n,
  adlCount: 0,
  keeperRewards: 0n,
});

/** Adds `events` to the per-tier figures `stats` (indexed by tier id). */
export function addStats(stats: TierStats[], events: readonly LiquidationEvent[]): void {
  for (const e of events) {
    const s = stats[e.tier];
    if (s === undefined) continue;
    if (e.kind === "liquidated") {
      s.liquidations++;
      s.keeperRewards += e.keeperReward;
    } else if (e.kind === "backstop") {
      s.backstops++;
      s.keeperRewards += e.keeperReward;
      if (e.equity < 0n) s.badDebt += -e.equity;
    } else if (e.kind === "adl") {
      s.adlCount++;
      s.adlAbsorbed += e.absorbed;
    } else if (e.step === 2) {
      s.insuranceUsed += e.amount;
    } else if (e.step === 3) {
      s.reserveUsed += e.amount;
    } else if (e.step === 4) {
      s.poolAbsorbed += e.amount;
    }
  }
}

/**
 * DESIGN §6.5 over `events`: every backstop takeover with a deficit has steps 1 to 4 exactly once and
 * steps 2 + 3 + 4 absorb exactly the deficit; no step is emitted outside a takeover, and none for a takeover
 * without a deficit beyond step 1. Returns the violations (none: sound).
 */
export function checkWaterfall(events: readonly LiquidationEvent[]): string[] {
  const violations: string[] = [];
  let current: { account: bigint; deficit: bigint; steps: Map<number, bigint> } | undefined;
  const close = () => {
    const c = current;
    current = undefined;
    if (c === undefined) return;
    const where = `account 0x${c.account.toString(16)}`;
    if (!c.steps.has(1)) violations.push(`${where}: no step 1`);
    if (c.deficit === 0n) {
      for (const s of [2, 3, 4]) if (c.steps.has(s)) violations.push(`${where}: step ${s} without a deficit`);
      return;
    }
    for (const s of [2, 3, 4]) if (!c.steps.has(s)) violations.push(`${where}: step ${s} missing`);
    const sum = (c.steps.get(2) ?? 0n) + (c.steps.get(3) ?? 0n) + (c.steps.get(4) ?? 0n);
    if (sum !== c.deficit) violations.push(`${where}: steps 2–4 absorbed ${sum} of a deficit of ${c.deficit}`);
  };
  for (const e of events) {
    if (e.kind === "backstop") {
      close();
      current = { account: e.account, deficit: e.equity < 0n ? -e.equity : 0n, steps: new Map() };
    } else if (e.kind === "step") {
      if (current === undefined || current.account !== e.account) {
        violations.push(`account 0x${e.account.toString(16)}: waterfall step ${e.step} outside its takeover`);
        continue;
      }
      if (current.steps.has(e.step)) violations.push(`account 0x${e.account.toString(16)}: step ${e.step} twice`);
      current.steps.set(e.step, e.amount);
    } else {
      close();
    }
  }
  close();
  return violations;
}

/** What each tier's waterfall could pay before a keeper transaction (quote WAD / quote token units). */
export interface WaterfallFunds {
  /** The insurance fund: its cash plus its quote tokens (quote WAD), by tier. */
  insurance: Map<number, bigint>;
  /** What the tier may still draw from the reserve this epoch (quote token units), by tier. */
  reserve: Map<number, bigint>;
  /** Quote WAD per quote token unit (10^12 for USDC). */
  scale: bigint;
}

/**
 * DESIGN §5 in order, over one transaction's `events` from the funds before it: a partial liquidation adds
 * its penalty less the keeper's reward to the insurance fund; a takeover's deficit is absorbed by the
 * insurance fund as far as it holds (step 2), then by the reserve in whole token units within the tier's
 * remaining allowance (step 3, nothing for an ineligible tier), then by the pool (step 4). Returns the steps
 * whose amount differs from that (none: the waterfall ran in order).
 */
export function checkWaterfallOrder(events: readonly LiquidationEvent[], funds: WaterfallFunds): string[] {
  const violations: string[] = [];
  const insurance = new Map(funds.insurance);
  const reserve = new Map(funds.reserve);
  let current: { account: bigint; tier: number; deficit: bigint; steps: Map<number, bigint> } | undefined;
  for (const e of events) {
    if (e.kind === "liquidated") {
      insurance.set(e.tier, (insurance.get(e.tier) ?? 0n) + e.penalty - e.keeperReward);
    } else if (e.kind === "backstop") {
      current = { account: e.account, tier: e.tier, deficit: e.equity < 0n ? -e.equity : 0n, steps: new Map() };
    } else if (e.kind === "step" && current !== undefined && current.account === e.account) {
      const c = current;
      c.steps.set(e.step, e.amount);
      const s2 = c.steps.get(2) ?? 0n;
      const s3 = c.steps.get(3) ?? 0n;
      let expected: bigint | undefined;
      if (e.step === 2) {
        const available = insurance.get(c.tier) ?? 0n;
        expected = c.deficit < available ? c.deficit : available > 0n ? available : 0n;
        insurance.set(c.tier, available - e.amount);
      } else if (e.step === 3) {
        const remaining = reserve.get(c.tier) ?? 0n;
        const units = (c.deficit - s2) / funds.scale;
        expected = (units < remaining ? units : remaining) * funds.scale;
        reserve.set(c.tier, remaining - e.amount / funds.scale);
      } else if (e.step === 4) {
        expected = c.deficit - s2 - s3;
      }
      if (expected !== undefined && e.amount !== expected) {
        violations.push(
          `§5 tier ${c.tier} account 0x${c.account.toString(16)} step ${e.step}: absorbed ${e.amount}, expected ${expected}`,
        );
      }
    }
  }
  return violations;
}
