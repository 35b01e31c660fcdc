import { localFoundationConfig } from "../../../deploy/local.js";
import { NETWORK_CONFIGS, roleHoldersFromEnv } from "../../../deploy/networks.js";
import { withStrataErrors } from "../client/errors.js";
import type { FoundationConfigInput } from "../deploy/config.js";
import { deployFoundation } from "../deploy/foundation.js";
import { manifestPath } from "../deploy/manifest.js";
import type { StepEvent } from "../deploy/steps.js";
import { connect, signerFromEnv } from "./connect.js";
import { CliError } from "./errors.js";
import type { OptionValues } from "./options.js";

export const DEPLOY_OPTIONS = ["config", "network", "rpc", "manifest", "privateKeyEnv", "fresh"] as const;

/** Networks deployed with deploy/local.ts: mock tokens and feeds, every role held by the one signer. */
const LOCAL_NETWORKS = new Set(["localhost", "local"]);

function configFor(network: string, deployer: string): FoundationConfigInput {
  const publicConfig = NETWORK_CONFIGS[network];
  if (publicConfig !== undefined) return publicConfig(roleHoldersFromEnv(process.env, deployer));
  if (LOCAL_NETWORKS.has(network)) {
    const holders = { risk: deployer, guardian: deployer, oracle: deployer, controller: deployer };
    return localFoundationConfig(holders, { pools: true });
  }
  throw new CliError(`no deployment config for network "${network}"`, {
    hint:
      `use one of ${[...LOCAL_NETWORKS, ...Object.keys(NETWORK_CONFIGS)].join(", ")}, or add deploy/${network}.ts ` +
      "and register it in deploy/networks.ts",
    exitCode: 2,
  });
}

/**
 * `strata deploy`: runs the resumable deployer against the node at `--rpc`, printing each step and writing the
 * manifest after every one. A re-run resumes where the last stopped; after success it sends nothing.
 */
export async function deployCommand(
  o: OptionValues<(typeof DEPLOY_OPTIONS)[number]>,
  print: (line: string) => void,
): Promise<void> {
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
  const { provider, chainId } = await connect(o.rpc);
  try {
    const deployer = signerFromEnv(o.privateKeyEnv, provider);
    const file = o.manifest ?? manifestPath(o.network);
    const config = configFor(o.network, deployer.address);
    print(`Deploying Strata to "${o.network}" (chain ${chainId}) from ${deployer.address}; manifest ${file}`);
    let skipped = 0;
    const onStep = (e: StepEvent) => {
      if (e.status === "skipped") {
        skipped++;
        return;
      }
      const note = e.status === "done" ? "" : ` (${e.status}: no transaction sent)`;
      print(`  [${elapsed()}] #${e.completed} ${e.id}${e.txHash !== undefined ? ` ${e.txHash}` : ""}${note}`);
    };
    const d = await withStrataErrors(
      deployFoundation(deployer, config, {
        manifestPath: file,
        fresh: o.fresh,
        onStep,
        progress: (phase) => print(`  [${elapsed()}] ${phase}`),
      }),
    );
    if (skipped > 0) print(`  ${skipped} steps were already done (recorded in the manifest): skipped`);
    print(
      `${d.transactions === 0 ? "Nothing to do: the deployment was complete." : `Sent ${d.transactions} transactions.`} ` +
        `${d.manifest.steps.length} steps recorded in ${file} (${elapsed()}).`,
    );
  } finally {
    provider.destroy();
  }
}
