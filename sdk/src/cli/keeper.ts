/**
 * `strata keeper`: runs the liquidation keeper (sdk/src/keeper) until SIGINT or SIGTERM. The connection and the
 * keeper's main settings are CLI options (flag > environment variable > config file > default); every other
 * keeper setting keeps its `STRATA_KEEPER_*` environment variable (sdk/src/keeper/config.ts).
 */
import { manifestPath } from "../deploy/manifest.js";
import { keeperConfigFromEnv, parseKeeperConfig, runKeeper, type KeeperConfig } from "../keeper/index.js";
import { connect, loadManifest } from "./connect.js";
import type { OptionKey, OptionValues } from "./options.js";

export const KEEPER_OPTIONS = [
  "config",
  "network",
  "rpc",
  "manifest",
  "privateKeyEnv",
  "dryRun",
  "shard",
  "minProfit",
  "collateralRepayMax",
  "stateFile",
  "metricsPort",
] as const satisfies OptionKey[];

/** The keeper's config: its `STRATA_KEEPER_*` settings, with the CLI's options over them. */
export function keeperConfigOf(
  o: OptionValues<(typeof KEEPER_OPTIONS)[number]>,
  env: NodeJS.ProcessEnv = process.env,
): KeeperConfig {
  return parseKeeperConfig({
    ...keeperConfigFromEnv(env),
    rpcUrl: o.rpc,
    manifestPath: o.manifest ?? manifestPath(o.network),
    privateKeyEnv: o.privateKeyEnv,
    dryRun: o.dryRun,
    shard: o.shard,
    minProfit: o.minProfit,
    collateralRepayMax: o.collateralRepayMax,
    stateFile: o.stateFile,
    metricsPort: o.metricsPort,
  });
}

/** Checks the node and the manifest as the other commands do, then runs the keeper until a signal stops it. */
export async function keeperCommand(
  o: OptionValues<(typeof KEEPER_OPTIONS)[number]>,
  print: (line: string) => void,
): Promise<void> {
  const config = keeperConfigOf(o);
  const { provider, chainId } = await connect(o.rpc);
  try {
    await loadManifest(config.manifestPath, o.network, chainId, o.rpc);
  } finally {
    provider.destroy();
  }
  const controller = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => controller.abort());
  print(
    `keeper on ${o.rpc} (chain ${chainId}), manifest ${config.manifestPath}, shard ${o.shard}` +
      `${config.dryRun ? ", dry run" : ""}; metrics and /healthz on port ${config.metricsPort}; Ctrl-C stops it`,
  );
  await runKeeper(config, { signal: controller.signal });
}
