/**
 * Maps `items` through `fn` with at most `limit` calls in flight, keeping the order of `items`: how the SDK reads
 * many accounts (the keeper's scans, `strata status`) without one unbounded `Promise.all`.
 *
 * @example
 * const healths = await mapBounded(accounts, 8, (a) => clearing.health(a));
 */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return results;
}
