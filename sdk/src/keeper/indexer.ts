/**
 * Account discovery: the indexer reads the clearing house's `FillApplied` (taker and maker) and the vault's
 * `Deposited` (owned buckets only) logs from a start block, in bounded ranges, `confirmations` blocks behind
 * the head, and persists what it learned — the last indexed block with its hash and the known accounts — to a
 * JSON file, atomically. Before each poll it checks the stored block's hash against the chain: a mismatch is a
 * reorg, and it re-indexes from `reorgDepth` blocks back (the account set only grows, so re-adding is harmless).
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";

import { ZeroAddress, toBeHex, type Provider } from "ethers";
import { z } from "zod";

import { ClearingHouse__factory, CollateralVault__factory } from "../../../types/index.js";
import { decodeBucket } from "../client/buckets.js";

const FILL_APPLIED = ClearingHouse__factory.createInterface().getEvent("FillApplied").topicHash;
const DEPOSITED = CollateralVault__factory.createInterface().getEvent("Deposited").topicHash;

const stateSchema = z.object({
  version: z.literal(1),
  chainId: z.string(),
  /** The last block indexed (`startBlock - 1` before the first range). */
  lastBlock: z.number().int().min(-1),
  /** Its hash; null before the first range. */
  lastHash: z.string().nullable(),
  /** Known accounts (bucket ids, 0x-prefixed 32-byte hex), in discovery order. */
  accounts: z.array(z.string()),
});

/** The indexer's persisted state. */
export type IndexerState = z.output<typeof stateSchema>;

export interface IndexerOptions {
  provider: Provider;
  clearing: string;
  vault: string;
  stateFile: string;
  startBlock: number;
  confirmations: number;
  /** Blocks per getLogs request. */
  logRange: number;
  /** Blocks re-indexed after a reorg. */
  reorgDepth: number;
}

/** What one {@link AccountIndexer.poll} did. */
export interface PollResult {
  /** The block indexed up to (the head minus the confirmations). */
  toBlock: number;
  /** The chain head seen. */
  head: number;
  newAccounts: bigint[];
  /** Whether a reorg was detected (and the indexer rewound). */
  reorg: boolean;
}

export class AccountIndexer {
  private state: IndexerState | undefined;
  private readonly known = new Set<bigint>();

  constructor(private readonly options: IndexerOptions) {}

  /** Known accounts, in discovery order. */
  get accounts(): bigint[] {
    return [...this.known];
  }

  /** The last indexed block and its hash. */
  get lastBlock(): { number: number; hash: string | null } {
    return { number: this.state?.lastBlock ?? this.options.startBlock - 1, hash: this.state?.lastHash ?? null };
  }

  /** Loads the state file (or starts fresh when there is none, or it belongs to another chain). */
  async load(): Promise<void> {
    const chainId = (await this.options.provider.getNetwork()).chainId.toString();
    let stored: IndexerState | undefined;
    try {
      stored = stateSchema.parse(JSON.parse(await readFile(this.options.stateFile, "utf8")));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    this.state =
      stored !== undefined && stored.chainId === chainId
        ? stored
        : { version: 1, chainId, lastBlock: this.options.startBlock - 1, lastHash: null, accounts: [] };
    this.known.clear();
    for (const a of this.state.accounts) this.known.add(BigInt(a));
  }

  /** Writes the state file atomically (a temporary file renamed over it). */
  async persist(): Promise<void> {
    if (this.state === undefined) return;
    this.state.accounts = [...this.known].map((a) => toBeHex(a, 32));
    const file = this.options.stateFile;
    await mkdir(path.dirname(path.resolve(file)), { recursive: true });
    const tmp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
    try {
      await writeFile(tmp, `${JSON.stringify(this.state, null, 2)}\n`);
      await rename(tmp, file);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
  }

  /**
   * Indexes every confirmed block since the last poll, after checking for a reorg; persists after each range,
   * so a crash loses at most one range of work.
   */
  async poll(): Promise<PollResult> {
    if (this.state === undefined) await this.load();
    const state = this.state!;
    const { provider, confirmations, logRange, startBlock } = this.options;
    const reorg = await this.checkReorg();
    const head = await provider.getBlockNumber();
    const toBlock = head - confirmations;
    const newAccounts: bigint[] = [];
    for (let from = state.lastBlock + 1; from <= toBlock; from += logRange) {
      const to = Math.min(toBlock, from + logRange - 1);
      const logs = await provider.getLogs({
        address: [this.options.clearing, this.options.vault],
        topics: [[FILL_APPLIED, DEPOSITED]],
        fromBlock: Math.max(from, startBlock),
        toBlock: to,
      });
      for (const log of logs) {
        const buckets = log.topics[0] === FILL_APPLIED ? [log.topics[1], log.topics[2]] : [log.topics[1]];
        for (const topic of buckets) {
          if (topic === undefined) continue;
          const account = BigInt(topic);
          if (decodeBucket(account).owner === ZeroAddress || this.known.has(account)) continue;
          this.known.add(account);
          newAccounts.push(account);
        }
      }
      const block = await provider.getBlock(to);
      if (block === null || block.hash === null) throw new Error(`block ${to} not found`);
      state.lastBlock = to;
      state.lastHash = block.hash;
      await this.persist();
    }
    return { toBlock: state.lastBlock, head, newAccounts, reorg };
  }

  /** Rewinds `reorgDepth` blocks when the stored last block's hash is no longer the chain's. */
  private async checkReorg(): Promise<boolean> {
    const state = this.state!;
    if (state.lastHash === null) return false;
    const block = await this.options.provider.getBlock(state.lastBlock);
    if (block !== null && block.hash === state.lastHash) return false;
    const rewound = Math.max(this.options.startBlock - 1, state.lastBlock - this.options.reorgDepth);
    const anchor = rewound >= 0 ? await this.options.provider.getBlock(rewound) : null;
    state.lastBlock = rewound;
    state.lastHash = anchor?.hash ?? null;
    await this.persist();
    return true;
  }
}
