/**
 * The Strata client: one typed entry point over a deployment, built from its manifest (or addresses) and an
 * ethers v6 Signer or Provider, with a module per part of the protocol. Writes send transactions, simulate
 * (`staticCall`) or estimate (`estimateGas`); reads and writes alike turn reverts into {@link StrataError}s
 * whose messages say what to do. A client built with a Provider reads and simulates, and refuses to send
 * with a {@link NoSignerError}.
 */
import type { Provider, Signer } from "ethers";

import type { Manifest } from "../deploy/manifest.js";
import { accountBucket } from "./buckets.js";
import { ClientContext, StrataClientError, type StrataAddresses, type StrataContracts } from "./context.js";
import { createClearingModule, type ClearingModule } from "./modules/clearing.js";
import { createExecutionModule, type ExecutionModule } from "./modules/execution.js";
import { createGovernanceModule, type GovernanceModule } from "./modules/governance.js";
import { createOracleModule, type OracleModule } from "./modules/oracle.js";
import { createPoolsModule, type PoolsModule } from "./modules/pools.js";
import { createRiskModule, type RiskModule } from "./modules/risk.js";
import { createVaultModule, type VaultModule } from "./modules/vault.js";

/** What {@link createStrataClient} takes: a deployment (its manifest, or its addresses) and a runner. */
export type StrataClientParams = (
  { manifest: Manifest; addresses?: never } | { addresses: StrataAddresses; manifest?: never }
) & {
  /** A Signer to send transactions, or a Provider for a read-only client. */
  runner: Signer | Provider;
  /**
   * Headroom over each write's gas estimate, in basis points, for the gas limit it is sent with (2,000 = 20%
   * by default, 0 sends the bare estimate); a write's `overrides.gasLimit` replaces it.
   */
  gasHeadroomBps?: number;
};

/** The client: a module per part of the protocol, the contracts, and the bucket helper. */
export interface StrataClient {
  vault: VaultModule;
  clearing: ClearingModule;
  execution: ExecutionModule;
  pools: PoolsModule;
  oracle: OracleModule;
  risk: RiskModule;
  governance: GovernanceModule;
  /** The typechain contracts, connected to the runner, for what the modules do not cover. */
  contracts: StrataContracts;
  /** The deployment's addresses, tokens and assets. */
  addresses: StrataAddresses;
  /** Whether the client can send transactions (it was created with a Signer). */
  readOnly: boolean;
  /**
   * The clearing account (a vault bucket id) `(owner, tier, subId)`: one owner has any number of isolated
   * accounts per tier, told apart by `subId`.
   */
  account(owner: string, tier: number, subId?: bigint): bigint;
}

/** The modules' contract names in a manifest's `contracts`. */
const MODULES = ["manager", "vault", "oracle", "risk", "clearing", "liquidation", "execution"] as const;

/**
 * The addresses of a deployment manifest (`deployments/<network>.json`, `readManifest`): its modules, pools,
 * tokens and oracle assets. It throws a {@link StrataClientError} naming a module the manifest lacks (a
 * deployment that stopped before deploying it).
 *
 * @example
 * const addresses = addressesFromManifest(await readManifest(manifestPath("sepolia")));
 */
export function addressesFromManifest(manifest: Manifest): StrataAddresses {
  const missing = MODULES.filter((name) => manifest.contracts[name] === undefined);
  if (missing.length > 0) {
    throw new StrataClientError(
      `The ${manifest.network} manifest has no ${missing.join(", ")}: the deployment is incomplete.`,
      "Resume the deployment (it continues where it stopped), or pass the addresses to createStrataClient.",
    );
  }
  const address = (name: (typeof MODULES)[number]): string => manifest.contracts[name]!.address;
  return {
    manager: address("manager"),
    vault: address("vault"),
    oracle: address("oracle"),
    risk: address("risk"),
    clearing: address("clearing"),
    liquidation: address("liquidation"),
    execution: address("execution"),
    pools: Object.fromEntries(Object.entries(manifest.pools).map(([tier, pool]) => [Number(tier), pool])),
    tokens: Object.fromEntries(
      Object.entries(manifest.tokens).map(([symbol, t]) => [symbol, { address: t.address, decimals: t.decimals }]),
    ),
    assets: Object.fromEntries(Object.entries(manifest.assets).map(([id, a]) => [id, a.key])),
  };
}

/**
 * Creates a client over a deployment. With a Signer it sends transactions as that signer; with a Provider it
 * is read-only: reads, `staticCall` and `estimateGas` work, and sends throw a {@link NoSignerError}.
 * Tokens are named by address or by their symbol in the deployment; amounts are bigint (token units for
 * token amounts, WAD for sizes and prices).
 *
 * @example
 * const client = createStrataClient({ manifest: await readManifest(manifestPath("sepolia")), runner: wallet });
 * const account = client.account(wallet.address, 1);
 * await client.vault.deposit({ token: "USDC", amount: parseUnits("1000", 6), account }, { wait: true });
 * await client.execution.tradeWithPool({ account, market: 1, size: parseUnits("0.1", 18), slippageBps: 50n });
 * console.log(await client.clearing.health(account));
 */
export function createStrataClient(params: StrataClientParams): StrataClient {
  const addresses = params.manifest !== undefined ? addressesFromManifest(params.manifest) : params.addresses;
  const ctx = new ClientContext(params.runner, addresses, params.gasHeadroomBps);
  return {
    vault: createVaultModule(ctx),
    clearing: createClearingModule(ctx),
    execution: createExecutionModule(ctx),
    pools: createPoolsModule(ctx),
    oracle: createOracleModule(ctx),
    risk: createRiskModule(ctx),
    governance: createGovernanceModule(ctx),
    contracts: ctx.contracts,
    addresses,
    readOnly: ctx.signer === undefined,
    account: (owner, tier, subId = 0n) => accountBucket(owner, tier, subId),
  };
}
