/**
 * Health scanning: the scanner asks the liquidation engine's `preview` (which never reverts) about every
 * market of each known account of this shard, with bounded concurrency, and classifies each account by what a
 * keeper can do about it.
 *
 * With `batchSize` > 1 (and a provider), it reads `batchSize` accounts per `eth_call`: the creation code of
 * `contracts/periphery/KeeperScan.sol` (never deployed) makes the same reads on the node and returns them, one
 * call where one account costs three or more (`accountMarkets`, `preview` per market, `cash`, balances). The
 * classification is the same code either way. A batch that fails (a node that refuses a call without `to`, a
 * result over EIP-170's size limit) is read again one account at a time, and reported to `onBatchFallback`.
 */
import { keccak256, toBeHex, type Provider } from "ethers";

import {
  KeeperScan__factory,
  type ClearingHouse,
  type CollateralVault,
  type LiquidationEngine,
  type RiskEngine,
} from "../../../types/index.js";
import { decodeBucket } from "../client/buckets.js";
import { mapBounded } from "./concurrency.js";

const KEEPER_SCAN = KeeperScan__factory.createInterface();

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
  /** Concurrent reads (of one account, or of one batch). */
  concurrency: number;
  shard: { index: number; count: number };
  /** Accounts per batched read (one `eth_call`); 1 (the default) reads each account with its own calls. */
  batchSize?: number;
  /** The node batched reads are sent to (required when `batchSize` > 1). */
  provider?: Provider;
  /** Called when a batched read failed and its accounts were read one at a time instead. */
  onBatchFallback?: (error: unknown, accounts: number) => void;
}

/** One market's preview, as the scanner uses it. */
interface MarketPreview {
  market: number;
  liquidatable: boolean;
  backstop: boolean;
  equity: bigint;
  closeSize: bigint;
  keeperReward: bigint;
}

/** One account's record in KeeperScan's result. */
export interface KeeperScanRecord {
  previews: MarketPreview[];
  cash: bigint;
  /** The vault's balance of the account in each token of the read, in order. */
  balances: bigint[];
}

/**
 * Decodes KeeperScan's result (an ABI-encoded `uint256[]` of one record after the other: see
 * contracts/periphery/KeeperScan.sol) for `accounts` accounts and `tokens` tokens. Parsed word by word: ethers'
 * decoding of nested structs took as long as the node's reads.
 */
export function decodeKeeperScan(result: string, accounts: number, tokens: number): KeeperScanRecord[] {
  const hex = result.startsWith("0x") ? result.slice(2) : result;
  const size = hex.length / 64;
  const word = (i: number) => BigInt(`0x${hex.slice(i * 64, i * 64 + 64)}`);
  const small = (i: number) => {
    const value = word(i);
    if (value > 0xffffffffn) throw new Error(`KeeperScan result: word ${i} (${value}) is out of range`);
    return Number(value);
  };
  if (!Number.isInteger(size) || size < 2 || small(0) !== 32 || small(1) !== size - 2) {
    throw new Error("KeeperScan result: not an ABI-encoded uint256[]");
  }
  const records: KeeperScanRecord[] = [];
  let at = 2;
  for (let a = 0; a < accounts; a++) {
    if (at + 2 + tokens > size) throw new Error(`KeeperScan result: ${accounts} accounts expected, ${a} found`);
    const count = small(at);
    const cash = BigInt.asIntN(256, word(at + 1));
    const balances = Array.from({ length: tokens }, (_, t) => word(at + 2 + t));
    at += 2 + tokens;
    const previews: MarketPreview[] = [];
    if (at + 5 * count > size) throw new Error(`KeeperScan result: account ${a} has ${count} previews, fewer found`);
    for (let p = 0; p < count; p++, at += 5) {
      const flags = word(at + 1);
      previews.push({
        market: small(at),
        liquidatable: (flags & 1n) !== 0n,
        backstop: (flags & 2n) !== 0n,
        equity: BigInt.asIntN(256, word(at + 2)),
        closeSize: word(at + 3),
        keeperReward: word(at + 4),
      });
    }
    records.push({ previews, cash, balances });
  }
  if (at !== size) throw new Error(`KeeperScan result: ${size - at} words left over after ${accounts} accounts`);
  return records;
}

/** The fields of a preview (an ethers Result, whose named fields do not spread) the scanner uses. */
function marketPreview(
  market: number,
  p: { liquidatable: boolean; backstop: boolean; equity: bigint; closeSize: bigint; keeperReward: bigint },
): MarketPreview {
  const { liquidatable, backstop, equity, closeSize, keeperReward } = p;
  return { market, liquidatable, backstop, equity, closeSize, keeperReward };
}

/** Where the scanner reads one account's cash and vault balances from (the node, or a batch already read). */
interface CashReader {
  cash(): Promise<bigint>;
  balanceOf(token: string): Promise<bigint>;
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

  /** Scans this shard's accounts among `accounts`, at most `concurrency` reads at a time. */
  async scan(accounts: readonly bigint[]): Promise<ScannedAccount[]> {
    const selected = this.select(accounts);
    const batchSize = this.options.batchSize ?? 1;
    if (batchSize <= 1 || this.options.provider === undefined) {
      return mapBounded(selected, this.options.concurrency, (a) => this.scanAccount(a));
    }
    const batches: bigint[][] = [];
    for (let i = 0; i < selected.length; i += batchSize) batches.push(selected.slice(i, i + batchSize));
    return (await mapBounded(batches, this.options.concurrency, (b) => this.scanBatch(b))).flat();
  }

  /** Classifies one account, reading it with its own calls. */
  async scanAccount(account: bigint): Promise<ScannedAccount> {
    const { clearing, liquidation, vault } = this.options;
    const markets = (await clearing.accountMarkets(account)).map(Number);
    const previews: MarketPreview[] = [];
    for (const market of markets) {
      const p = await liquidation.preview(account, market);
      previews.push(marketPreview(market, p));
      if (!p.liquidatable || p.backstop) break;
    }
    return this.classify(account, previews, {
      cash: () => clearing.cash(account),
      balanceOf: (token) => vault.balanceOf(account, token),
    });
  }

  /** Classifies `accounts` from one batched read (KeeperScan), or one at a time when that read fails. */
  async scanBatch(accounts: readonly bigint[]): Promise<ScannedAccount[]> {
    const { clearing, liquidation, vault, tokens } = this.options;
    let records: KeeperScanRecord[];
    try {
      const args = [clearing.target, liquidation.target, vault.target, accounts, tokens];
      const data = KeeperScan__factory.bytecode + KEEPER_SCAN.encodeDeploy(args).slice(2);
      records = decodeKeeperScan(await this.options.provider!.call({ data }), accounts.length, tokens.length);
    } catch (error) {
      this.options.onBatchFallback?.(error, accounts.length);
      return mapBounded(accounts, this.options.concurrency, (a) => this.scanAccount(a));
    }
    return Promise.all(
      accounts.map((account, i) => {
        const { previews, cash, balances } = records[i]!;
        const byToken = new Map(tokens.map((t, j) => [t.toLowerCase(), balances[j]!]));
        return this.classify(account, previews, {
          cash: () => Promise.resolve(cash),
          balanceOf: (token) => {
            const balance = byToken.get(token.toLowerCase());
            return balance !== undefined ? Promise.resolve(balance) : vault.balanceOf(account, token);
          },
        });
      }),
    );
  }

  /**
   * Classifies an account from its markets' previews (in `accountMarkets` order, up to the first that is not
   * liquidatable or is a backstop): the most rewarding liquidation, or else what its cash calls for.
   */
  private classify(account: bigint, previews: readonly MarketPreview[], reader: CashReader): Promise<ScannedAccount> {
    const tier = decodeBucket(account).tier;
    let best: ScannedAccount | undefined;
    let equity = 0n;
    for (const p of previews) {
      equity = p.equity;
      if (!p.liquidatable) return this.classifyCash(account, tier, equity, reader);
      const status: AccountStatus = p.backstop ? "backstop" : "liquidatable";
      if (!p.backstop && p.closeSize === 0n) continue;
      const candidate = {
        account,
        tier,
        status,
        market: p.market,
        keeperReward: p.keeperReward,
        closeSize: p.closeSize,
        equity,
      };
      if (best === undefined || candidate.keeperReward > best.keeperReward) best = candidate;
      if (p.backstop) break;
    }
    return best !== undefined ? Promise.resolve(best) : this.classifyCash(account, tier, equity, reader);
  }

  /** An account with nothing to liquidate: settle-worthy, collateral-liquidatable, or healthy. */
  private async classifyCash(
    account: bigint,
    tier: number,
    equity: bigint,
    reader: CashReader,
  ): Promise<ScannedAccount> {
    const base = { account, tier, keeperReward: 0n, closeSize: 0n, equity };
    const cash = await reader.cash();
    if (cash >= 0n) return { ...base, status: "healthy", cash };
    const quote = await this.quoteToken(tier);
    if ((await reader.balanceOf(quote)) > 0n) return { ...base, status: "settle", cash };
    for (const token of this.options.tokens) {
      if (token.toLowerCase() === quote.toLowerCase()) continue;
      if ((await reader.balanceOf(token)) > 0n) {
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
