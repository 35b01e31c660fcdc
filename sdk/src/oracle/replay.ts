/** Replaying a price path into mock feeds, at a chosen pace, optionally moving a local chain's clock along. */
import type { Provider, Signer } from "ethers";

import { sleep } from "../shared/sleep.js";
import { OracleToolError } from "./errors.js";
import type { PricePath } from "./pricePath.js";
import { pushPrice, type FeedWrite, type OracleFeeds } from "./push.js";

/** Wall-clock time and waiting, injectable for tests. */
export interface ReplayClock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Resolves after `ms`, or early when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** One point pushed, as reported to `onProgress`. */
export interface ReplayProgress {
  /** 0-based index of the point in the path. */
  index: number;
  /** Points in the path. */
  total: number;
  /** The point's time on chain: the path's time shifted by `startAt` (equal to it without `startAt`). */
  t: number;
  /** The point's time in the path file. */
  pathTime: number;
  /** The WAD prices pushed at this point, by asset. */
  prices: Readonly<Record<string, bigint>>;
  /** Every feed write of the point. */
  writes: readonly FeedWrite[];
}

/** Options of {@link replayPricePath}. */
export interface ReplayOptions {
  /**
   * Path seconds per wall-clock second (60: a minute of the path per second), or `"asap"`: each point as soon
   * as the previous one is on chain.
   */
  pace: number | "asap";
  /** Called after each point is on chain, and awaited: the replay waits for it. */
  onProgress?: (progress: ReplayProgress) => void | Promise<void>;
  /** Stops the replay between points (a point being pushed is finished, so its feeds stay consistent). */
  signal?: AbortSignal;
  /** The index of the first point to replay (to resume a cancelled replay at `summary.nextIndex`); 0 by default. */
  fromIndex?: number;
  /**
   * The time (unix seconds) the first replayed point maps to: every point's time shifts by the same amount. With
   * `"latestBlock"` the path starts one second after the chain's latest block, so that `advanceChainTime` can
   * replay a historical path on a chain whose clock is past it. No shift by default.
   */
  startAt?: number | "latestBlock";
  /**
   * Local chains only (Hardhat, anvil): before each point, `evm_setNextBlockTimestamp` to the point's time, and
   * write its rounds with that `updatedAt`, so that prices carry the path's times; a point with no price mines
   * an empty block at its time (`evm_mine`). Each feed write is one block one second after the previous one, so
   * points must be at least as many seconds apart as they write feeds.
   */
  advanceChainTime?: boolean;
  /** Wall clock (`performance.now` and timers by default). */
  clock?: ReplayClock;
}

/** What {@link replayPricePath} did. */
export interface ReplaySummary {
  /** Points pushed by this call. */
  pointsPushed: number;
  /** Feed transactions sent. */
  writes: number;
  /** The index of the next point to push: `path.points.length` when complete. */
  nextIndex: number;
  /** True when `signal` stopped the replay before the end. */
  cancelled: boolean;
  /** On-chain times of the first and last points pushed (undefined when none was). */
  firstTime?: number;
  lastTime?: number;
  /** Wall-clock duration of the replay. */
  elapsedMs: number;
}

const systemClock: ReplayClock = {
  now: () => performance.now(),
  sleep,
};

/** A provider that speaks JSON-RPC directly (ethers' JsonRpcProvider, Hardhat's ethers provider). */
type RpcProvider = Provider & { send(method: string, params: unknown[]): Promise<unknown> };

function rpcProvider(signer: Signer): RpcProvider {
  const provider = signer.provider as (Provider & { send?: unknown }) | null;
  if (provider === null || typeof provider.send !== "function") {
    throw new OracleToolError({
      code: "ChainTimeUnavailable",
      message: "advanceChainTime needs a JSON-RPC provider (with send) behind the signer.",
      hint: "Connect the signer to Hardhat's provider or an ethers JsonRpcProvider of a local node, or replay without advanceChainTime.",
    });
  }
  return provider as RpcProvider;
}

async function latestBlockTime(provider: Provider): Promise<number> {
  const block = await provider.getBlock("latest");
  if (block === null) throw new Error("The provider returned no latest block");
  return block.timestamp;
}

function invalidOption(message: string, hint: string): OracleToolError {
  return new OracleToolError({ code: "InvalidReplayOptions", message, hint });
}

/**
 * Pushes the points of `path` to the mock feeds in `feeds` ({@link pushPrice} per asset of each point), one
 * point after another at `options.pace`: point `i` is due `(t_i - t_first) / pace` seconds after the first,
 * measured from the start (a slow push delays that point, not the rest of the schedule). `"asap"` does not wait.
 *
 * With `advanceChainTime` (local chains) the chain's clock moves to each point's time first, so that rounds
 * carry the path's times; `startAt` shifts the path in time, e.g. to after the chain's latest block.
 *
 * Stops between points when `options.signal` aborts, and returns with `cancelled` set; resume with
 * `fromIndex: summary.nextIndex`. Refusals of {@link pushPrice} (a feed that is not a mock, an unknown asset)
 * and an `advanceChainTime` the chain cannot honour throw an {@link OracleToolError}.
 *
 * @example
 * const path = await readPricePath("scenarios/paths/eth-dip.csv");
 * const summary = await replayPricePath(signer, deployment.addresses.feeds, path, {
 *   pace: "asap",
 *   advanceChainTime: true,
 *   startAt: "latestBlock",
 *   onProgress: async ({ index, total }) => {
 *     const { price } = await deployment.oracle.getPrice(assetKey("ETH/USD"));
 *     console.log(`${index + 1}/${total}: ETH/USD ${formatWad(price)}`);
 *   },
 * });
 *
 * // A day of path in 24 minutes (one path minute per second), stopped with Ctrl-C:
 * const controller = new AbortController();
 * process.once("SIGINT", () => controller.abort());
 * await replayPricePath(signer, feeds, path, { pace: 60, signal: controller.signal });
 */
export async function replayPricePath(
  signer: Signer,
  feeds: OracleFeeds,
  path: PricePath,
  options: ReplayOptions,
): Promise<ReplaySummary> {
  const { pace, signal, onProgress, advanceChainTime = false, fromIndex = 0 } = options;
  const clock = options.clock ?? systemClock;
  if (pace !== "asap" && !(Number.isFinite(pace) && pace > 0)) {
    throw invalidOption(
      `The pace ${pace} is not a positive number.`,
      'Give path seconds per second (60: a minute per second) or "asap".',
    );
  }
  const total = path.points.length;
  if (!Number.isSafeInteger(fromIndex) || fromIndex < 0 || fromIndex > total) {
    throw invalidOption(
      `fromIndex ${fromIndex} is not a point index of the path (0..${total}).`,
      "Resume at summary.nextIndex of the cancelled replay.",
    );
  }
  // Every asset is checked against the feeds before anything is sent.
  for (const asset of path.assets) {
    if (!Object.hasOwn(feeds, asset)) {
      throw new OracleToolError({
        code: "UnknownAsset",
        message: `The path prices ${JSON.stringify(asset)}, which the feeds map does not name (it has ${Object.keys(feeds).join(", ") || "none"}).`,
        hint: "Parse the path with knownAssets: Object.keys(feeds), and name its columns as the deployment's assets.",
      });
    }
  }
  const provider = advanceChainTime ? rpcProvider(signer) : undefined;
  const points = path.points.slice(fromIndex);
  const first = points[0];

  let shift = 0;
  if (first !== undefined && options.startAt !== undefined) {
    const startAt = options.startAt === "latestBlock" ? (await latestBlockTime(signer.provider!)) + 1 : options.startAt;
    if (!Number.isSafeInteger(startAt) || startAt <= 0) {
      throw invalidOption(
        `startAt ${startAt} is not unix seconds.`,
        'Give a positive whole number of seconds, or "latestBlock".',
      );
    }
    shift = startAt - first.t;
  }

  const started = clock.now();
  const summary: ReplaySummary = { pointsPushed: 0, writes: 0, nextIndex: fromIndex, cancelled: false, elapsedMs: 0 };
  for (const [offset, point] of points.entries()) {
    if (pace !== "asap" && offset > 0) {
      const due = started + ((point.t - first!.t) * 1000) / pace;
      const wait = due - clock.now();
      if (wait > 0) await clock.sleep(wait, signal);
    }
    if (signal?.aborted === true) {
      summary.cancelled = true;
      break;
    }
    const t = point.t + shift;
    if (provider !== undefined) await moveChainTime(provider, t, fromIndex + offset);
    const writes: FeedWrite[] = [];
    for (const [asset, price] of Object.entries(point.prices)) {
      writes.push(...(await pushPrice(signer, feeds, asset, price, provider === undefined ? {} : { timestamp: t })));
    }
    if (provider !== undefined && writes.length === 0) await provider.send("evm_mine", []);

    summary.pointsPushed++;
    summary.writes += writes.length;
    summary.nextIndex = fromIndex + offset + 1;
    summary.firstTime ??= t;
    summary.lastTime = t;
    await onProgress?.({ index: fromIndex + offset, total, t, pathTime: point.t, prices: point.prices, writes });
  }
  if (signal?.aborted === true && summary.nextIndex < total) summary.cancelled = true;
  summary.elapsedMs = clock.now() - started;
  return summary;
}

/** Sets the next block's time to `t`, refusing clearly when the chain is already there or past it. */
async function moveChainTime(provider: RpcProvider, t: number, index: number): Promise<void> {
  const latest = await latestBlockTime(provider);
  if (t <= latest) {
    throw new OracleToolError({
      code: "ChainTimeUnavailable",
      message: `Point ${index + 1} is at ${t}, not after the chain's latest block (${latest}): a chain's clock cannot go back.`,
      hint:
        'Replay with startAt: "latestBlock" (or a later time) to shift the path after the chain\'s clock; space points ' +
        "at least one second per feed written apart; or replay without advanceChainTime.",
    });
  }
  await provider.send("evm_setNextBlockTimestamp", [t]);
}
