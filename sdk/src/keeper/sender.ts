/**
 * Sending keeper transactions: a local nonce (read once, then counted up; read again from the chain after any
 * failed send), EIP-1559 fees capped by the config, and replacement of a transaction that is not mined in time
 * with the same nonce at bumped fees (+12.5% by default), up to the cap. At most `maxInFlight` transactions are
 * pending at once.
 */
import type { Provider, Signer, TransactionReceipt, TransactionRequest } from "ethers";
import type { Logger } from "pino";

import { Semaphore, sleep } from "./concurrency.js";

export interface SenderOptions {
  signer: Signer;
  /** Highest maxFeePerGas (wei). */
  gasPriceCap: bigint;
  /** Replace a transaction not mined after this long (ms). */
  bumpAfterMs: number;
  /** Fee increase per replacement (bps). */
  bumpBps: number;
  maxInFlight: number;
  /** Give up waiting after this long (ms). */
  timeoutMs: number;
  /** How often to look for the receipt (ms). */
  pollMs?: number;
  logger: Logger;
}

/** A mined keeper transaction. */
export interface SentTransaction {
  receipt: TransactionReceipt;
  nonce: number;
  /** Replacements sent before one was mined. */
  replacements: number;
  maxFeePerGas: bigint;
}

/** The nonce was used by a transaction that is none of the sender's attempts (another process, a wallet). */
export class TransactionReplacedError extends Error {
  override name = "TransactionReplacedError";
}

interface Fees {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

export class TxSender {
  private nonce: number | undefined;
  /** Serializes nonce assignment and broadcast, so nonces leave in order. */
  private broadcastQueue: Promise<unknown> = Promise.resolve();
  private readonly inFlight: Semaphore;
  private readonly provider: Provider;

  constructor(private readonly options: SenderOptions) {
    if (options.signer.provider === null) throw new Error("the keeper's signer has no provider");
    this.provider = options.signer.provider;
    this.inFlight = new Semaphore(options.maxInFlight);
  }

  /** Transactions sent and not yet mined. */
  get pending(): number {
    return this.inFlight.inUse;
  }

  /** Forgets the local nonce: the next send reads it from the chain. */
  resync(): void {
    this.nonce = undefined;
  }

  /** Sends `request`, replacing it with bumped fees while it waits, and resolves with its receipt once mined. */
  send(request: TransactionRequest): Promise<SentTransaction> {
    return this.inFlight.run(async () => {
      const first = await this.serialized(() => this.broadcastNew(request));
      return this.waitMined(request, first);
    });
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.broadcastQueue.then(fn, fn);
    this.broadcastQueue = run.catch(() => undefined);
    return run;
  }

  /** Broadcasts with the next local nonce; after a nonce error it resyncs from the chain and tries once more. */
  private async broadcastNew(request: TransactionRequest): Promise<{ nonce: number; fees: Fees; hash: string }> {
    for (let attempt = 0; ; attempt++) {
      this.nonce ??= await this.provider.getTransactionCount(await this.options.signer.getAddress(), "pending");
      const nonce = this.nonce;
      const fees = await this.initialFees();
      try {
        const tx = await this.options.signer.sendTransaction({ ...request, nonce, type: 2, ...fees });
        this.nonce = nonce + 1;
        this.options.logger.debug({ hash: tx.hash, nonce, ...stringify(fees) }, "transaction sent");
        return { nonce, fees, hash: tx.hash };
      } catch (error) {
        this.resync();
        if (attempt === 0 && isNonceError(error)) {
          this.options.logger.warn({ nonce, err: message(error) }, "nonce out of sync: resyncing from the chain");
          continue;
        }
        throw error;
      }
    }
  }

  private async initialFees(): Promise<Fees> {
    const data = await this.provider.getFeeData();
    const cap = this.options.gasPriceCap;
    const maxFeePerGas = min(data.maxFeePerGas ?? data.gasPrice ?? cap, cap);
    const maxPriorityFeePerGas = min(data.maxPriorityFeePerGas ?? 0n, maxFeePerGas);
    return { maxFeePerGas, maxPriorityFeePerGas };
  }

  /** Waits for one of the nonce's attempts to be mined, bumping fees every `bumpAfterMs`. */
  private async waitMined(
    request: TransactionRequest,
    first: { nonce: number; fees: Fees; hash: string },
  ): Promise<SentTransaction> {
    const { logger, bumpAfterMs, bumpBps, gasPriceCap, timeoutMs } = this.options;
    const pollMs = this.options.pollMs ?? Math.min(1_000, Math.max(50, Math.floor(bumpAfterMs / 4)));
    const hashes = [first.hash];
    let fees = first.fees;
    const started = Date.now();
    let lastBroadcast = started;
    const address = await this.options.signer.getAddress();
    for (;;) {
      for (const hash of hashes) {
        const receipt = await this.provider.getTransactionReceipt(hash);
        if (receipt !== null) {
          return { receipt, nonce: first.nonce, replacements: hashes.length - 1, maxFeePerGas: fees.maxFeePerGas };
        }
      }
      if ((await this.provider.getTransactionCount(address, "latest")) > first.nonce) {
        // The nonce is used, yet none of our attempts has a receipt: look once more (a race with mining).
        for (const hash of hashes) {
          const receipt = await this.provider.getTransactionReceipt(hash);
          if (receipt !== null) {
            return { receipt, nonce: first.nonce, replacements: hashes.length - 1, maxFeePerGas: fees.maxFeePerGas };
          }
        }
        this.resync();
        throw new TransactionReplacedError(`nonce ${first.nonce} was used by another transaction`);
      }
      const now = Date.now();
      if (now - started > timeoutMs) {
        this.resync();
        throw new Error(`transaction with nonce ${first.nonce} not mined after ${timeoutMs} ms`);
      }
      if (now - lastBroadcast >= bumpAfterMs) {
        lastBroadcast = now;
        const bumped = bump(fees, bumpBps);
        if (bumped.maxFeePerGas > gasPriceCap) {
          logger.warn({ nonce: first.nonce, cap: gasPriceCap.toString() }, "fee bump would exceed the cap: waiting");
        } else {
          try {
            const tx = await this.serialized(() =>
              this.options.signer.sendTransaction({ ...request, nonce: first.nonce, type: 2, ...bumped }),
            );
            hashes.push(tx.hash);
            fees = bumped;
            logger.info({ nonce: first.nonce, hash: tx.hash, ...stringify(bumped) }, "transaction replaced");
          } catch (error) {
            // Mined meanwhile, or the node refused the bump: the next round tells.
            logger.warn({ nonce: first.nonce, err: message(error) }, "replacement refused");
          }
        }
      }
      await sleep(pollMs);
    }
  }
}

/** Fees raised by `bps` (strictly, so a replacement is never priced the same). */
export function bump(fees: Fees, bps: number): Fees {
  const up = (v: bigint) => (v * (10_000n + BigInt(bps))) / 10_000n + 1n;
  return { maxFeePerGas: up(fees.maxFeePerGas), maxPriorityFeePerGas: up(fees.maxPriorityFeePerGas) };
}

function isNonceError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === "NONCE_EXPIRED" || /nonce/i.test(message(error));
}

export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function stringify(fees: Fees) {
  return { maxFeePerGas: fees.maxFeePerGas.toString(), maxPriorityFeePerGas: fees.maxPriorityFeePerGas.toString() };
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
