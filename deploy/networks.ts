import type { FoundationConfigInput } from "../sdk/src/deploy/config.js";
import { addressesFromEnv } from "../sdk/src/deploy/signer.js";
import { arbitrumSepoliaConfig } from "./arbitrumSepolia.js";
import { baseSepoliaConfig } from "./baseSepolia.js";
import { sepoliaConfig } from "./sepolia.js";
import type { TestnetRoleHolders } from "./testnet.js";

/** The config of each public network, by Hardhat network name (hardhat.config.ts). Local chains use deploy/local.ts. */
export const NETWORK_CONFIGS: Record<string, (holders: TestnetRoleHolders) => FoundationConfigInput> = {
  sepolia: sepoliaConfig,
  arbitrumSepolia: arbitrumSepoliaConfig,
  baseSepolia: baseSepoliaConfig,
};

/**
 * Role holders from the environment: STRATA_ADMIN (one address), STRATA_RISK, STRATA_GUARDIAN, STRATA_ORACLE
 * (comma-separated) and STRATA_TREASURY. RISK, GUARDIAN and ORACLE default to the deployer, which keeps ADMIN
 * unless STRATA_ADMIN names another holder. They are part of the config: changing them changes its hash, and a
 * deployment under way refuses to resume with other holders.
 */
export function roleHoldersFromEnv(env: Record<string, string | undefined>, deployer: string): TestnetRoleHolders {
  const admin = addressesFromEnv(env, "STRATA_ADMIN");
  const treasury = addressesFromEnv(env, "STRATA_TREASURY");
  if (admin.length > 1 || treasury.length > 1) throw new Error("STRATA_ADMIN and STRATA_TREASURY take one address");
  return {
    ...(admin[0] !== undefined ? { admin: admin[0] } : {}),
    ...(treasury[0] !== undefined ? { treasury: treasury[0] } : {}),
    risk: addressesFromEnv(env, "STRATA_RISK", [deployer]),
    guardian: addressesFromEnv(env, "STRATA_GUARDIAN", [deployer]),
    oracle: addressesFromEnv(env, "STRATA_ORACLE", [deployer]),
  };
}
