/**
 * Health scanning: the scanner asks the liquidation engine's `preview` (which never reverts) about every
 * market of each known account of this shard, with bounded concurrency, and classifies each account by what a
 * keeper can do about it.
 */
import { keccak256, toBeHex } from "ethers";

import type { ClearingHouse, CollateralVault, LiquidationEngine, RiskEngine } from "../../../types/index.js";
import { decodeBucket } from "../client/buckets.js";
import { mapBounded } from "./concurrency.js";

/** What a keeper can do about an account, most urgent first. */
export type AccountStatus =
  /** Equity under the backstop margin: the pool takes the account over. */
  | "backstop"
  /** Equity under MM: a partial liquidation. */
  | "liquidatable"
  /** Negative cash and no quote tokens left, non-quote collateral held: collateral liquidation. */
  | "collateral"
  /** Negative cash the account's quote tokens can pay: a settlement. */
  | "settle"
  | "healthy";

/** One account as the scanner saw it. */
export interface ScannedAccount {
  account: bigint;
  tier: number;
  status: AccountStatus;
  /** The market to liquidate in (backstop, liquidatable). */
  market?: number;
  /** The keeper reward the preview promises (quote WAD); 0 when none. */
  keeperReward: bigint;
  /** Base size a partial liquidation closes. */
  closeSize: bigint;
  equity: bigint;
  /** Realized cash (quote WAD), read when the account has no position to liquidate. */
  cash?: bigint;
  /** The non-quote collateral a collateral liquidation takes (status "collateral"). */
  collateralToken?: string;
}

export interface ScannerOptions {
  clearing: ClearingHouse;
  liquidation: LiquidationEngine;
  vault: CollateralVault;
  risk: RiskEngine;
  /** Tokens of the deployment (addresses), to find non-quote collateral. */
  tokens: readonly string[];
  /** Owners never liquidated (the tiers' backstop pools). */
  excludedOwners: readonly string[];
  concurrency: number;
  shard: { index: number; count: number };
}

/** Whether `account` belongs to shard `index` of `count`: keccak256 of its 32-byte id, modulo `count`. */
export function inShard(account: bigint, shard: { index: number; count: number }): boolean {
  if (shard.count <= 1) return true;
  return BigInt(keccak256(toBeHex(account, 32))) % BigInt(shard.count) === BigInt(shard.index);
}

export class HealthScanner {
  private readonly quoteTokens = new Map<number, Promise<string>>();
  private readonly excluded: Set<string>;

  constructor(private readonly options: ScannerOptions) {
    this.excluded = new Set(options.excludedOwners.map((a) => a.toLowerCase()));
  }

  /** The accounts of this shard among `accounts`, pools excluded. */
  select(accounts: readonly bigint[]): bigint[] {
    return accounts.filter(
      (a) => inShard(a, this.options.shard) && !this.excluded.has(decodeBucket(a).owner.toLowerCase()),
    );
  }

  /** Scans this shard's accounts among `accounts`, at most `concurrency` at a time. */
  async scan(accounts: readonly bigint[]): Promise<ScannedAccount[]> {
    return mapBounded(this.select(accounts), this.options.concurrency, (a) => this.scanAccount(a));
  }

  /** Classifies one account. */
  async scanAccount(account: bigint): Promise<ScannedAccount> {
    const { clearing, liquidation } = this.options;
    const tier = decodeBucket(account).tier;
    const markets = (await clearing.accountMarkets(account)).map(Number);
    let best: ScannedAccount | undefined;
    let equity = 0n;
    for (const market of markets) {
      const p = await liquidation.preview(account, market);
      equity = p.equity;
      if (!p.liquidatable) return this.classifyCash(account, tier, equity);
      const status: AccountStatus = p.backstop ? "backstop" : "liquidatable";
      if (!p.backstop && p.closeSize === 0n) continue;
      const candidate = { account, tier, status, market, keeperReward: p.keeperReward, closeSize: p.closeSize, equity };
      if (best === undefined || candidate.keeperReward > best.keeperReward) best = candidate;
      if (p.backstop) break;
    }
    return best ?? this.classifyCash(account, tier, equity);
  }

  /** An account with nothing to liquidate: settle-worthy, collateral-liquidatable, or healthy. */
  private async classifyCash(account: bigint, tier: number, equity: bigint): Promise<ScannedAccount> {
    const { clearing, vault } = this.options;
    const base = { account, tier, keeperReward: 0n, closeSize: 0n, equity };
    const cash = await clearing.cash(account);
    if (cash >= 0n) return { ...base, status: "healthy", cash };
    const quote = await this.quoteToken(tier);
    if ((await vault.balanceOf(account, quote)) > 0n) return { ...base, status: "settle", cash };
    for (const token of this.options.tokens) {
      if (token.toLowerCase() === quote.toLowerCase()) continue;
      if ((await vault.balanceOf(account, token)) > 0n) {
        return { ...base, status: "collateral", cash, collateralToken: token };
      }
    }
    return { ...base, status: "healthy", cash };
  }

  private quoteToken(tier: number): Promise<string> {
    let quote = this.quoteTokens.get(tier);
    if (quote === undefined) {
      quote = this.options.risk.tierConfig(tier).then((c) => c.quoteToken);
      quote.catch(() => this.quoteTokens.delete(tier));
      this.quoteTokens.set(tier, quote);
    }
    return quote;
  }
}
