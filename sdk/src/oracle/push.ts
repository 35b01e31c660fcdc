/**
 * Pushing prices into the mock Chainlink aggregators of local chains and testnet configs with mock feeds: one
 * call writes every feed of an asset (primary and secondary) at that feed's decimals, so that the oracle
 * router sees them agree.
 */
import type { Signer } from "ethers";

import { MockV3Aggregator__factory, type MockV3Aggregator } from "../../../types/index.js";
import { OracleToolError } from "./errors.js";
import { toWadPrice, wadToDecimals } from "./price.js";

/**
 * The feeds of one asset: `deployment.addresses.feeds[id]`, `deployment.assets[id]` and a manifest's
 * `assets[id]` all have this shape.
 */
export interface AssetFeeds {
  primary: string;
  secondary?: string | undefined;
}

/** Feeds by asset id ("ETH/USD"), e.g. `deployment.addresses.feeds` or `manifest.assets`. */
export type OracleFeeds = Readonly<Record<string, AssetFeeds>>;

/** Which feed of an asset. */
export type FeedRole = "primary" | "secondary";

/** Options of {@link pushPrice}. */
export interface PushPriceOptions {
  /**
   * The round's `updatedAt` (unix seconds): written with `updateRoundData` as round `latestRound + 1`.
   * Without it `updateAnswer` stamps the round with the block's time. A time ahead of the chain makes the
   * router refuse the round (`OracleInvalidRound`) until the chain catches up; an old one makes it stale.
   */
  timestamp?: number | bigint;
  /** The round's `startedAt`, with `timestamp` only; `timestamp` by default. */
  startedAt?: number | bigint;
}

/** One feed write of {@link pushPrice}. */
export interface FeedWrite {
  asset: string;
  role: FeedRole;
  feed: string;
  decimals: number;
  /** The round written: the feed's `latestRound` before the push, plus one. */
  roundId: bigint;
  /** The answer at the feed's decimals (the WAD price rounded down). */
  answer: bigint;
  /** The round's `updatedAt`: the explicit timestamp, or the block's. */
  updatedAt: bigint;
  txHash: string;
}

const NOT_A_MOCK_HINT =
  "pushPrice writes only MockV3Aggregator feeds, as the local deployment and testnet configs with mock feeds " +
  "deploy; a real Chainlink feed is written by its oracles. Check the feeds map (deployment.addresses.feeds " +
  "or the manifest's assets) or use a network whose config deploys mocks.";

/** A feed checked to be a mock, with what the write needs. */
interface MockFeed {
  role: FeedRole;
  address: string;
  contract: MockV3Aggregator;
  decimals: number;
  latestRound: bigint;
}

/** The feeds of `asset` in `feeds`, or an `UnknownAsset` error that lists the known ones. */
function feedsOf(feeds: OracleFeeds, asset: string): { role: FeedRole; address: string }[] {
  const entry = Object.hasOwn(feeds, asset) ? feeds[asset] : undefined;
  if (entry === undefined) {
    throw new OracleToolError({
      code: "UnknownAsset",
      message: `No feeds for asset ${JSON.stringify(asset)}; the feeds map names ${Object.keys(feeds).join(", ") || "none"}.`,
      hint: 'Use an asset id of the deployment, spelt as its config does (e.g. "ETH/USD").',
    });
  }
  return [
    { role: "primary" as const, address: entry.primary },
    ...(entry.secondary === undefined ? [] : [{ role: "secondary" as const, address: entry.secondary }]),
  ];
}

function notAMock(asset: string, role: FeedRole, address: string, reason: string, cause?: unknown): OracleToolError {
  return new OracleToolError({
    code: "NotAMockFeed",
    message: `The ${asset} ${role} feed ${address} is not a mock aggregator: ${reason}.`,
    hint: NOT_A_MOCK_HINT,
    cause,
  });
}

/**
 * Checks that the feed at `address` is a mock: a contract that answers `decimals()`, accepts a static call of
 * `updateAnswer(answer)` (a Chainlink proxy has no such function) and answers `latestRound()`.
 */
async function inspectFeed(
  signer: Signer,
  asset: string,
  role: FeedRole,
  address: string,
  answerAt: (decimals: number) => bigint,
): Promise<MockFeed> {
  const provider = signer.provider;
  if (provider === null) throw new Error("The signer must be connected to a provider");
  if ((await provider.getCode(address)) === "0x") throw notAMock(asset, role, address, "there is no contract there");
  const contract = MockV3Aggregator__factory.connect(address, signer);
  let decimals: number;
  try {
    decimals = Number(await contract.decimals());
  } catch (error) {
    throw notAMock(asset, role, address, "it does not answer decimals()", error);
  }
  const answer = answerAt(decimals);
  try {
    await contract.updateAnswer.staticCall(answer);
  } catch (error) {
    const reason = "a static call of updateAnswer(int256) reverts (a Chainlink proxy, or another contract without it)";
    throw notAMock(asset, role, address, reason, error);
  }
  try {
    return { role, address, contract, decimals, latestRound: await contract.latestRound() };
  } catch (error) {
    throw notAMock(asset, role, address, "it does not answer latestRound()", error);
  }
}

function toTimestamp(value: number | bigint, name: string): bigint {
  const valid = typeof value === "bigint" ? value > 0n : Number.isSafeInteger(value) && value > 0;
  if (!valid) {
    throw new OracleToolError({
      code: "InvalidTimestamp",
      message: `The ${name} ${value} is not a positive whole number of seconds.`,
      hint: "Give unix seconds, e.g. Math.floor(Date.parse('2025-01-01T00:00:00Z') / 1000).",
    });
  }
  return BigInt(value);
}

/**
 * Writes `price` to every mock feed of `asset` (primary, then secondary), each at its own `decimals()`: 8 and
 * 18 decimals get `3000.5` as `300050000000` and `3000.5e18`. With `options.timestamp` each feed gets round
 * `latestRound + 1` with that `updatedAt` (`updateRoundData`), otherwise `updateAnswer` (the block's time).
 *
 * Every feed is checked before anything is sent, so a refusal writes nothing: an {@link OracleToolError}
 * `InvalidPrice` for a price that is not positive or not a decimal (or rounds to 0 at a feed's decimals),
 * `UnknownAsset` for an asset missing from `feeds`, and `NotAMockFeed` for a feed without the mock's setters
 * (a real Chainlink proxy on a testnet, any other contract, an empty address). Feeds are written one
 * transaction each, waited for in turn.
 *
 * @param price A WAD bigint, or a decimal string converted exactly ("3000.5").
 * @returns What was written, one entry per feed.
 *
 * @example
 * const writes = await pushPrice(signer, deployment.addresses.feeds, "ETH/USD", "3100.25");
 * // [{ role: "primary", decimals: 8, answer: 310025000000n, … }, { role: "secondary", decimals: 18, … }]
 * await deployment.oracle.getPrice(assetKey("ETH/USD")); // price 3100.25e18
 *
 * // A round dated an hour ago (the router will see it an hour old):
 * await pushPrice(signer, feeds, "BTC/USD", 60_000n * 10n ** 18n, { timestamp: now - 3600 });
 */
export async function pushPrice(
  signer: Signer,
  feeds: OracleFeeds,
  asset: string,
  price: string | bigint,
  options: PushPriceOptions = {},
): Promise<FeedWrite[]> {
  const wad = toWadPrice(price);
  const targets = feedsOf(feeds, asset);
  const timestamp = options.timestamp === undefined ? undefined : toTimestamp(options.timestamp, "timestamp");
  const startedAt =
    options.startedAt === undefined ? timestamp : toTimestamp(options.startedAt, "startedAt of the round");

  const answerAt = (decimals: number, role: FeedRole): bigint => {
    const answer = wadToDecimals(wad, decimals);
    if (answer > 0n) return answer;
    throw new OracleToolError({
      code: "InvalidPrice",
      message: `The price ${wad} (WAD) is below the resolution of the ${asset} ${role} feed (${decimals} decimals).`,
      hint: "Give a price of at least one unit of the feed's last decimal place.",
    });
  };

  const checked: MockFeed[] = [];
  for (const { role, address } of targets) {
    checked.push(await inspectFeed(signer, asset, role, address, (decimals) => answerAt(decimals, role)));
  }

  const writes: FeedWrite[] = [];
  for (const feed of checked) {
    const answer = answerAt(feed.decimals, feed.role);
    const tx =
      timestamp === undefined
        ? await feed.contract.updateAnswer(answer)
        : await feed.contract.updateRoundData(feed.latestRound + 1n, answer, timestamp, startedAt!);
    const receipt = await tx.wait();
    if (receipt === null || receipt.status !== 1) {
      throw new Error(`Pushing ${asset} to ${feed.address} failed (${tx.hash})`);
    }
    const updatedAt = timestamp ?? BigInt((await receipt.getBlock()).timestamp);
    writes.push({
      asset,
      role: feed.role,
      feed: feed.address,
      decimals: feed.decimals,
      roundId: feed.latestRound + 1n,
      answer,
      updatedAt,
      txHash: tx.hash,
    });
  }
  return writes;
}
