import { getAddress, isAddress, type Signer } from "ethers";

/**
 * Where a deployment's key comes from: never a file in the repository. Hardhat networks declare the deployer
 * account as `accounts: [configVariable("STRATA_DEPLOYER_KEY")]` (hardhat.config.ts), and Hardhat resolves the
 * variable from its encrypted keystore (`npx hardhat keystore set STRATA_DEPLOYER_KEY`) or, failing that, from
 * the environment, when the network is first used.
 */
export const DEPLOYER_KEY_VARIABLE = "STRATA_DEPLOYER_KEY";

/** A Hardhat network connection, as far as the deployer needs it (no import of Hardhat in the SDK). */
export interface SignerConnection<S extends Signer> {
  networkName: string;
  ethers: { getSigners(): Promise<S[]> };
}

/**
 * The deployer of a Hardhat network connection: its first account, whose key Hardhat resolved from the keystore
 * or the environment. Fails with instructions when the key is not set.
 */
export async function deployerSigner<S extends Signer>(connection: SignerConnection<S>): Promise<S> {
  let signers: S[];
  try {
    signers = await connection.ethers.getSigners();
  } catch (error) {
    throw missingKeyError(connection.networkName, error);
  }
  const deployer = signers[0];
  if (deployer === undefined) throw missingKeyError(connection.networkName);
  return deployer;
}

/**
 * An actionable error for a network whose configuration variables (the deployer key, an RPC URL) could not be
 * resolved: how to set them without writing them to the repository.
 */
export function missingKeyError(networkName: string, cause?: unknown): Error {
  const reason = cause instanceof Error ? ` (${cause.message})` : "";
  return new Error(
    `No deployer account for network "${networkName}"${reason}. Set the deployer key and the network's RPC URL ` +
      `in Hardhat's keystore — npx hardhat keystore set ${DEPLOYER_KEY_VARIABLE} (and e.g. SEPOLIA_RPC_URL) — or ` +
      "export them in the environment for this run. Never write a key to a file in the repository.",
    cause === undefined ? undefined : { cause },
  );
}

/**
 * Addresses from a comma-separated environment variable (role holders are addresses, not secrets), or the
 * fallback when the variable is unset or empty.
 */
export function addressesFromEnv(
  env: Record<string, string | undefined>,
  name: string,
  fallback: string[] = [],
): string[] {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return fallback;
  return raw.split(",").map((part) => {
    const value = part.trim();
    if (!isAddress(value)) throw new Error(`${name}: ${JSON.stringify(value)} is not an address`);
    return getAddress(value);
  });
}
