/**
 * Waits `ms`, or less when `signal` aborts (it resolves either way, never rejects): the pause of long-running
 * work (the keeper's loop, a paced price replay) that a shutdown must be able to cut short.
 *
 * @example
 * const controller = new AbortController();
 * setTimeout(() => controller.abort(), 10);
 * await sleep(60_000, controller.signal); // returns after about 10 ms
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
