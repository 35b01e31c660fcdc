/**
 * Bounded concurrency and cancellable waits: the keeper never starts one unbounded `Promise.all` over every
 * account, and every pause ends early when the keeper is asked to stop.
 */
import { mapBounded } from "../shared/mapBounded.js";
import { sleep } from "../shared/sleep.js";

/** A counting semaphore: at most `permits` holders at once. */
export class Semaphore {
  private waiters: (() => void)[] = [];
  private held = 0;

  constructor(private readonly permits: number) {}

  /** Runs `fn` once a permit is free. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.held >= this.permits) await new Promise<void>((resolve) => this.waiters.push(resolve));
    else this.held++;
    try {
      return await fn();
    } finally {
      const wake = this.waiters.shift();
      if (wake !== undefined) wake();
      else this.held--;
    }
  }

  /** Permits in use now. */
  get inUse(): number {
    return this.held;
  }
}

export { mapBounded, sleep };

/** The delay of retry `attempt` (0-based): `base · 2^attempt`, capped at `max`. */
export function backoffDelay(attempt: number, base: number, max: number): number {
  return Math.min(max, base * 2 ** Math.min(attempt, 30));
}

/**
 * Calls `fn` until it succeeds, waiting with exponential backoff between failures and reporting each one to
 * `onError`; it gives up (rethrowing the last error) after `attempts` tries or when `signal` aborts.
 */
export async function retry<T>(
  fn: () => Promise<T>,
  options: {
    attempts: number;
    baseMs: number;
    maxMs: number;
    signal?: AbortSignal;
    onError?: (error: unknown, attempt: number) => void;
  },
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      options.onError?.(error, attempt);
      if (attempt + 1 >= options.attempts || options.signal?.aborted === true) throw error;
      await sleep(backoffDelay(attempt, options.baseMs, options.maxMs), options.signal);
    }
  }
}
