/**
 * Deploys Strata to a network from its config and records it in deployments/<network>.json:
 *
 *   npx hardhat run scripts/deploy.ts                          # embedded chain, deploy/local.ts
 *   npx hardhat run scripts/deploy.ts --network localhost      # a node on 127.0.0.1:8545, deploy/local.ts
 *   npx hardhat run scripts/deploy.ts --network sepolia        # deploy/sepolia.ts (also arbitrumSepolia, baseSepolia)
 *
 * Resumable and idempotent: the manifest is written after every step; run the same command again after a
 * failure to complete the rest, and after success it sends nothing. The deployer key and RPC URLs come from
 * Hardhat's keystore or the environment (STRATA_DEPLOYER_KEY, SEPOLIA_RPC_URL, ARBITRUM_SEPOLIA_RPC_URL,
 * BASE_SEPOLIA_RPC_URL); role holders from STRATA_ADMIN, STRATA_RISK, STRATA_GUARDIAN, STRATA_ORACLE,
 * STRATA_TREASURY (deploy/networks.ts). STRATA_DEPLOY_FRESH=1 moves an existing manifest aside and deploys
 * anew; STRATA_DEPLOY_VERIFY=1 re-reads the on-chain state of recorded steps.
 */
import { rm } from "node:fs/promises";

import { globalOptions, network } from "hardhat";

import { deployLocalFoundation } from "../deploy/local.js";
import { NETWORK_CONFIGS, roleHoldersFromEnv } from "../deploy/networks.js";
import { deployFoundation, type DeployOptions, type FoundationDeployment } from "../sdk/src/deploy/foundation.js";
import { manifestPath } from "../sdk/src/deploy/manifest.js";
import { deployerSigner, missingKeyError } from "../sdk/src/deploy/signer.js";
import type { StepEvent } from "../sdk/src/deploy/steps.js";

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;

let connection: Awaited<ReturnType<typeof network.create>>;
const requested = globalOptions.network ?? "default";
try {
  connection = await network.create();
} catch (error) {
  throw missingKeyError(requested, error);
}
const { networkName, networkConfig } = connection;
const file = manifestPath(networkName);

let skipped = 0;
const onStep = (e: StepEvent) => {
  if (e.status === "skipped") {
    skipped++;
    return;
  }
  const note = e.status === "done" ? "" : ` (${e.status}: no transaction sent)`;
  console.log(`  [${elapsed()}] #${e.completed} ${e.id}${e.txHash !== undefined ? ` ${e.txHash}` : ""}${note}`);
};
const options: DeployOptions = {
  manifestPath: file,
  onStep,
  progress: (phase) => console.log(`  [${elapsed()}] ${phase}`),
  fresh: process.env.STRATA_DEPLOY_FRESH === "1",
  verify: process.env.STRATA_DEPLOY_VERIFY === "1",
};

let d: FoundationDeployment;
const configFor = NETWORK_CONFIGS[networkName];
if (configFor !== undefined) {
  const deployer = await deployerSigner(connection);
  const config = configFor(roleHoldersFromEnv(process.env, deployer.address));
  console.log(`Deploying Strata to "${networkName}" from ${deployer.address}; manifest ${file}`);
  d = await deployFoundation(deployer, config, options);
} else if (networkConfig.type === "edr-simulated" || networkName === "localhost") {
  if (networkConfig.type === "edr-simulated") {
    // The embedded chain starts empty on every run: its manifest from an earlier run names nothing that exists.
    await rm(file, { force: true });
  }
  console.log(`Deploying Strata (deploy/local.ts) to "${networkName}"; manifest ${file}`);
  ({ d } = await deployLocalFoundation(await connection.ethers.getSigners(), {
    users: 0,
    pools: true,
    progress: options.progress!,
    deploy: options,
  }));
} else {
  throw new Error(
    `No deployment config for network "${networkName}": add deploy/${networkName}.ts and register it in ` +
      "deploy/networks.ts.",
  );
}

if (skipped > 0) console.log(`  ${skipped} steps were already done (recorded in the manifest): skipped`);
console.log(
  `\n${d.transactions === 0 ? "Nothing to do: the deployment was complete." : `Sent ${d.transactions} transactions.`} ` +
    `${d.manifest.steps.length} steps recorded in ${file} (${elapsed()}).`,
);
console.log("Addresses:", JSON.stringify(d.addresses, null, 2));
