import { formatUnits } from "ethers";

import { withStrataErrors } from "../client/errors.js";
import { manifestPath, type Manifest } from "../deploy/manifest.js";
import { pushPrice, readPricePath, replayPricePath, type FeedWrite, type OracleFeeds } from "../oracle/index.js";
import { connect, loadManifest, signerFromEnv } from "./connect.js";
import type { OptionKey, OptionValues } from "./options.js";

const CONNECTION = ["config", "network", "rpc", "manifest", "privateKeyEnv"] as const satisfies OptionKey[];
export const PUSH_OPTIONS = [...CONNECTION, "timestamp"] as const;
export const REPLAY_OPTIONS = [...CONNECTION, "pace", "advanceChainTime", "startAt"] as const;

/** The feeds of the manifest's oracle assets, as the oracle tools take them. */
export function feedsOf(manifest: Manifest): OracleFeeds {
  return Object.fromEntries(
    Object.entries(manifest.assets).map(([id, a]) => [id, { primary: a.primary, secondary: a.secondary }]),
  );
}

/** The signer, the manifest's feeds and the provider to close, for the oracle commands. */
async function open(o: OptionValues<(typeof CONNECTION)[number]>) {
  const { provider, chainId } = await connect(o.rpc);
  try {
    const file = o.manifest ?? manifestPath(o.network);
    const manifest = await loadManifest(file, o.network, chainId, o.rpc);
    return { provider, signer: signerFromEnv(o.privateKeyEnv, provider), feeds: feedsOf(manifest) };
  } catch (error) {
    provider.destroy();
    throw error;
  }
}

const describeWrite = (w: FeedWrite) =>
  `${w.asset} ${w.role} ${w.feed}: round ${w.roundId}, answer ${w.answer} (${w.decimals} decimals), ` +
  `updatedAt ${w.updatedAt}, tx ${w.txHash}`;

/** `strata oracle push <asset> <price>`: writes the price to every mock feed of the asset. */
export async function pushCommand(
  asset: string,
  price: string,
  o: OptionValues<(typeof PUSH_OPTIONS)[number]>,
  print: (line: string) => void,
): Promise<void> {
  const { provider, signer, feeds } = await open(o);
  try {
    const options = o.timestamp === undefined ? {} : { timestamp: o.timestamp };
    const writes = await withStrataErrors(pushPrice(signer, feeds, asset, price, options));
    for (const w of writes) print(describeWrite(w));
  } finally {
    provider.destroy();
  }
}

/** `strata oracle replay <file>`: replays a price path into the mock feeds, a line per point; Ctrl-C stops it. */
export async function replayCommand(
  file: string,
  o: OptionValues<(typeof REPLAY_OPTIONS)[number]>,
  print: (line: string) => void,
): Promise<void> {
  const { provider, signer, feeds } = await open(o);
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once("SIGINT", stop);
  try {
    const path = await readPricePath(file, { knownAssets: Object.keys(feeds) });
    print(`Replaying ${path.points.length} points of ${path.assets.join(", ")} from ${file} (pace ${o.pace})`);
    const summary = await withStrataErrors(
      replayPricePath(signer, feeds, path, {
        pace: o.pace,
        advanceChainTime: o.advanceChainTime,
        signal: controller.signal,
        ...(o.startAt !== undefined ? { startAt: o.startAt } : {}),
        onProgress: ({ index, total, t, prices, writes }) => {
          const shown = Object.entries(prices).map(([id, p]) => `${id} ${formatUnits(p, 18)}`);
          const at = new Date(t * 1000).toISOString();
          print(`  [${index + 1}/${total}] ${at} ${shown.join(", ") || "(no update)"} — ${writes.length} writes`);
        },
      }),
    );
    print(
      `${summary.cancelled ? "Stopped" : "Done"}: ${summary.pointsPushed} points, ${summary.writes} feed writes in ` +
        `${(summary.elapsedMs / 1000).toFixed(1)}s` +
        (summary.cancelled ? `; resume from point ${summary.nextIndex}` : ""),
    );
  } finally {
    process.off("SIGINT", stop);
    provider.destroy();
  }
}
