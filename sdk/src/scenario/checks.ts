/**
 * DESIGN §6 checked on a live deployment during a scenario, after every step:
 * - §6.1 vault solvency: for each token, Σ tier totals + reserve + queued claims == the vault's balance;
 * - §6.2 tier firewall, from the run's logs: every event naming two buckets (a fill's taker and maker, a cash,
 *   position or token move, a penalty's account and keeper) names two buckets of one tier, a reserve draw goes
 *   to a bucket of the tier that drew it, and each tier's token total changed only by its own deposits,
 *   withdrawals and reserve draws;
 * - §6.3 zero-sum: per tier and market, Σ sizes over every account that trades == 0 and Σ long sizes == the
 *   clearing house's open interest;
 * - §6.4 a liquidated account ends healthier (a higher equity-to-MM ratio) or without positions;
 * - §6.5 the waterfall absorbs every deficit (events.ts, `checkWaterfall`).
 * Each check returns violations as readable strings; an empty list is a pass.
 */
import type { Log } from "ethers";

import { ClearingHouse__factory, CollateralVault__factory } from "../../../types/index.js";
import type { FoundationDeployment } from "../deploy/foundation.js";
import { insuranceBucket, settlementBucket } from "../client/buckets.js";
import { tierOf } from "./events.js";

const VAULT = CollateralVault__factory.createInterface();
const CLEARING = ClearingHouse__factory.createInterface();

/** §6.1 for every token of the deployment. */
export async function checkSolvency(d: FoundationDeployment, tiers: readonly number[]): Promise<string[]> {
  const violations: string[] = [];
  for (const token of Object.values(d.tokens)) {
    const totals = await Promise.all(tiers.map(async (tier) => (await d.vault.tierTotal(tier, token.address))[0]));
    const [reserve, queued] = await Promise.all([
      d.vault.reserveBalance(token.address),
      d.vault.totalQueued(token.address),
    ]);
    const owed = totals.reduce((a, b) => a + b, 0n) + reserve + queued;
    const balance = token.mock !== undefined ? await token.mock.balanceOf(d.addresses.vault) : undefined;
    if (balance !== undefined && balance !== owed) {
      violations.push(`§6.1 ${token.symbol}: the vault holds ${balance} and owes ${owed}`);
    }
  }
  return violations;
}

/** What a tier's token totals may change by over a run: its deposits, withdrawals and reserve draws. */
export interface TierFlows {
  /** Per tier, per token (lower-case address): Σ in − Σ out through the tier's own doors. */
  net: Map<number, Map<string, bigint>>;
}

/** A breach of the tier firewall (§6.2), with every tier it involves: each of them fails its firewall check. */
export interface FirewallViolation {
  tiers: number[];
  message: string;
}

/**
 * §6.2 over `logs`: every two-bucket event stays inside one tier, and the tier flows (deposits, withdrawals,
 * reserve draws) are added to `flows`.
 */
export function checkFirewallLogs(
  d: FoundationDeployment,
  logs: readonly Log[],
  flows: TierFlows,
): FirewallViolation[] {
  const violations: FirewallViolation[] = [];
  const vault = d.addresses.vault.toLowerCase();
  const clearing = d.addresses.clearing.toLowerCase();
  const add = (tier: number, token: string, amount: bigint) => {
    const perToken = flows.net.get(tier) ?? new Map<string, bigint>();
    perToken.set(token.toLowerCase(), (perToken.get(token.toLowerCase()) ?? 0n) + amount);
    flows.net.set(tier, perToken);
  };
  const pair = (what: string, a: bigint, b: bigint, tx: string) => {
    if (tierOf(a) !== tierOf(b)) {
      violations.push({
        tiers: [tierOf(a), tierOf(b)],
        message: `§6.2 ${what} across tiers ${tierOf(a)} → ${tierOf(b)} (tx ${tx})`,
      });
    }
  };
  for (const log of logs) {
    const address = log.address.toLowerCase();
    if (address === vault) {
      const parsed = VAULT.parseLog(log);
      if (parsed === null) continue;
      const a = parsed.args;
      if (parsed.name === "Moved") pair("a token move", a.from as bigint, a.to as bigint, log.transactionHash);
      else if (parsed.name === "Deposited") add(tierOf(a.bucket as bigint), a.token as string, a.amount as bigint);
      else if (parsed.name === "Withdrawn") add(tierOf(a.bucket as bigint), a.token as string, -(a.amount as bigint));
      else if (parsed.name === "ReserveDrawn") {
        const tier = Number(a.tier as bigint);
        if (tierOf(a.to as bigint) !== tier) {
          violations.push({
            tiers: [tier, tierOf(a.to as bigint)],
            message: `§6.2 tier ${tier}'s reserve draw went to tier ${tierOf(a.to as bigint)}`,
          });
        }
        add(tier, a.token as string, a.amount as bigint);
      }
    } else if (address === clearing) {
      const parsed = CLEARING.parseLog(log);
      if (parsed === null) continue;
      const a = parsed.args;
      if (parsed.name === "FillApplied") pair("a fill", a.taker as bigint, a.maker as bigint, log.transactionHash);
      else if (parsed.name === "CashTransferred")
        pair("a cash transfer", a.from as bigint, a.to as bigint, log.transactionHash);
      else if (parsed.name === "PositionTransferred")
        pair("a position transfer", a.from as bigint, a.to as bigint, log.transactionHash);
      else if (parsed.name === "PenaltyCharged")
        pair("a liquidation penalty", a.account as bigint, a.keeper as bigint, log.transactionHash);
    }
  }
  return violations;
}

/** Every tier's token totals, per tier, per token (lower-case address). */
export async function tierTotals(
  d: FoundationDeployment,
  tiers: readonly number[],
): Promise<Map<number, Map<string, bigint>>> {
  const out = new Map<number, Map<string, bigint>>();
  for (const tier of tiers) {
    const perToken = new Map<string, bigint>();
    for (const token of Object.values(d.tokens)) {
      perToken.set(token.address.toLowerCase(), (await d.vault.tierTotal(tier, token.address))[0]);
    }
    out.set(tier, perToken);
  }
  return out;
}

/** §6.2, the token half: each tier's totals moved from `start` to `now` by exactly its own flows. */
export function checkTierConservation(
  start: Map<number, Map<string, bigint>>,
  now: Map<number, Map<string, bigint>>,
  flows: TierFlows,
): FirewallViolation[] {
  const violations: FirewallViolation[] = [];
  for (const [tier, perToken] of now) {
    for (const [token, total] of perToken) {
      const expected = (start.get(tier)?.get(token) ?? 0n) + (flows.net.get(tier)?.get(token) ?? 0n);
      if (total !== expected) {
        violations.push({
          tiers: [tier],
          message: `§6.2 tier ${tier} holds ${total} of ${token}; its own flows explain ${expected}`,
        });
      }
    }
  }
  return violations;
}

/** §6.3: per tier and market, Σ sizes over `accounts` == 0 and Σ long sizes == open interest. */
export async function checkZeroSum(
  d: FoundationDeployment,
  accounts: readonly bigint[],
  marketsOfTier: ReadonlyMap<number, readonly number[]>,
): Promise<string[]> {
  const violations: string[] = [];
  for (const [tier, markets] of marketsOfTier) {
    const inTier = accounts.filter((a) => tierOf(a) === tier);
    for (const market of markets) {
      const sizes = await Promise.all(inTier.map(async (a) => (await d.clearing.position(a, market)).size));
      const sum = sizes.reduce((a, b) => a + b, 0n);
      const longs = sizes.reduce((a, b) => (b > 0n ? a + b : a), 0n);
      const oi = await d.clearing.openInterest(tier, market);
      if (sum !== 0n) violations.push(`§6.3 tier ${tier} market ${market}: Σ size is ${sum}`);
      if (longs !== oi) violations.push(`§6.3 tier ${tier} market ${market}: Σ longs ${longs} ≠ open interest ${oi}`);
    }
  }
  return violations;
}

/**
 * §6.4 for a partially liquidated account: its equity-to-MM ratio after is at least the ratio before, or it
 * has no position left.
 */
export function checkImproved(
  account: bigint,
  before: { equity: bigint; mm: bigint },
  after: { equity: bigint; mm: bigint; positions: bigint },
): string[] {
  if (after.positions === 0n || after.mm === 0n) return [];
  // equity_after / mm_after >= equity_before / mm_before, cross-multiplied (both MMs positive).
  if (before.mm > 0n && after.equity * before.mm < before.equity * after.mm) {
    return [
      `§6.4 account 0x${account.toString(16)}: equity/MM fell from ${before.equity}/${before.mm} to ${after.equity}/${after.mm}`,
    ];
  }
  return [];
}

/**
 * Every figure of `tiers` that the tier firewall protects (DESIGN §6.2), as plain strings: per tier its token
 * totals, insurance and settlement buckets, reserve allowance, pool (total assets, supply), and per market its
 * open interest and funding state; per account its cash, tokens, positions and equity. Two runs that differ
 * only in another tier's prices must give equal snapshots.
 */
export async function tierSnapshot(
  d: FoundationDeployment,
  accounts: readonly bigint[],
  marketsOfTier: ReadonlyMap<number, readonly number[]>,
  tiers: readonly number[],
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const tokens = Object.values(d.tokens);
  for (const tier of tiers) {
    const pool = d.pools[tier];
    const tierFigures: unknown[] = [];
    for (const token of tokens) {
      tierFigures.push(
        (await d.vault.tierTotal(tier, token.address))[0],
        await d.vault.reserveAvailable(tier, token.address),
      );
    }
    for (const bucket of [insuranceBucket(tier), settlementBucket(tier)]) {
      tierFigures.push(await d.clearing.cash(bucket), await d.vault.balanceOf(bucket, d.tokens.USDC!.address));
    }
    if (pool !== undefined) tierFigures.push(await pool.totalAssets(), await pool.totalSupply());
    for (const market of marketsOfTier.get(tier) ?? []) {
      const [index, rate] = await d.clearing.fundingState(tier, market);
      tierFigures.push(market, await d.clearing.openInterest(tier, market), index, rate);
    }
    out[`tier ${tier}`] = tierFigures.map(String).join(",");
    for (const account of accounts.filter((a) => tierOf(a) === tier)) {
      const figures: unknown[] = [await d.clearing.cash(account)];
      for (const token of tokens) figures.push(await d.vault.balanceOf(account, token.address));
      for (const market of marketsOfTier.get(tier) ?? []) {
        const p = await d.clearing.position(account, market);
        figures.push(p.size, p.openNotional, p.fundingIndex);
      }
      figures.push((await d.clearing.health(account)).equity);
      out[`0x${account.toString(16)}`] = figures.map(String).join(",");
    }
  }
  return out;
}
