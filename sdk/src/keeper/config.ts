/**
 * The keeper's configuration: one zod schema defines every setting, its default and its validation. The CLI
 * maps flags and env vars onto it (`keeperConfigFromEnv` reads the `STRATA_KEEPER_*` env vars); the private key
 * is never part of the config, only the name of the env var holding it.
 */
import { z } from "zod";

const bigintish = z.union([z.bigint(), z.string().regex(/^\d+$/), z.number().int().nonnegative()]).transform(BigInt);

/** `i/N`: this instance handles the accounts whose id hash is `i` modulo `N`. */
const shard = z
  .string()
  .regex(/^\d+\/\d+$/, { message: "must be i/N, e.g. 0/2" })
  .transform((s) => {
    const [index, count] = s.split("/").map(Number) as [number, number];
    return { index, count };
  })
  .refine((s) => s.count >= 1 && s.index < s.count, { message: "needs 0 <= i < N" });

export const keeperConfigSchema = z.object({
  /** JSON-RPC endpoint of the chain. */
  rpcUrl: z.string().url().default("http://127.0.0.1:8545"),
  /** The deployment manifest (`deployments/<network>.json`). */
  manifestPath: z.string().min(1).default("deployments/localhost.json"),
  /** Name of the env var holding the keeper's private key (the key itself never enters the config). */
  privateKeyEnv: z.string().min(1).default("STRATA_KEEPER_PRIVATE_KEY"),
  /** Where the indexer persists its state (last block, known accounts). */
  stateFile: z.string().min(1).default("keeper-state.json"),
  /** First block to index (the deployment's block). */
  startBlock: z.coerce.number().int().nonnegative().default(0),
  /** Blocks a log must be buried under before it is indexed. */
  confirmations: z.coerce.number().int().nonnegative().default(2),
  /** Blocks per `eth_getLogs` request. */
  logRange: z.coerce.number().int().positive().default(2_000),
  /** Blocks re-indexed when the stored last block's hash no longer matches the chain (a reorg). */
  reorgDepth: z.coerce.number().int().positive().default(12),
  /** Pause between loops (ms). */
  pollIntervalMs: z.coerce.number().int().positive().default(4_000),
  /** Accounts per liquidateBatch transaction. */
  batchSize: z.coerce.number().int().positive().default(20),
  /** Liquidatable accounts in one market from which the keeper uses liquidateBatch rather than liquidate. */
  cascadeThreshold: z.coerce.number().int().min(2).default(3),
  /** Concurrent RPC reads while scanning. */
  concurrency: z.coerce.number().int().positive().default(8),
  /**
   * Accounts read per scan call: one `eth_call` of the never-deployed KeeperScan view (contracts/periphery) reads
   * them all; 1 reads each account with its own calls. Its result must fit EIP-170's 24,576 bytes (320 an
   * account with one market, 160 more a market); a batch that fails is read again one account at a time.
   */
  scanBatchSize: z.coerce.number().int().min(1).max(50).default(20),
  /** Minimum profit of an action (keeper reward − gas cost), quote WAD. */
  minProfit: bigintish.default(0n),
  /** Highest fee per gas the keeper pays (wei); above it the keeper waits. */
  gasPriceCap: bigintish.default(500n * 10n ** 9n),
  /**
   * Collateral liquidation: the most quote tokens (token units) the keeper repays from its wallet per action; 0
   * disables it. The keeper approves the liquidation engine for exactly what each round repays.
   */
  collateralRepayMax: bigintish.default(0n),
  /** Poke the oracle router after each new round of an asset's primary feed (records the last good price). */
  poke: z.boolean().default(true),
  /** Settle accounts with negative cash and quote tokens to pay it (no reward: costs gas). */
  settle: z.boolean().default(false),
  /** Log what the keeper would do; send nothing. */
  dryRun: z.boolean().default(false),
  shard: shard.default("0/1"),
  /** Port of `/metrics` and `/healthz` (0: any free port). */
  metricsPort: z.coerce.number().int().min(0).max(65_535).default(9_464),
  metricsHost: z.string().default("127.0.0.1"),
  /** `/healthz` answers 503 when the last successful loop is older than this (ms). */
  staleAfterMs: z.coerce.number().int().positive().default(60_000),
  /** Pause after a failed action before the account is tried again (ms). */
  coolOffMs: z.coerce.number().int().nonnegative().default(60_000),
  /** A transaction not mined after this long (ms) is replaced with bumped fees. */
  bumpAfterMs: z.coerce.number().int().positive().default(30_000),
  /** Fee increase of each replacement (bps; 1250 = +12.5%). */
  bumpBps: z.coerce.number().int().min(1_000).default(1_250),
  /** Transactions in flight at once. */
  maxInFlight: z.coerce.number().int().positive().default(4),
  /**
   * Gas limit over an action's estimate (bps; 5000 = +50%). The estimate is made when the step plans, and the
   * transaction may wait for a slot and land blocks later, where funding has moved and the same liquidation
   * does more work; only the gas used is paid. Capped at the EIP-7825 transaction limit.
   */
  gasHeadroomBps: z.coerce.number().int().min(0).max(20_000).default(5_000),
  /** Give up waiting for a transaction after this long (ms). */
  txTimeoutMs: z.coerce.number().int().positive().default(300_000),
  /** Retry backoff of a failed loop: initial and maximum delay (ms). */
  backoffMs: z.coerce.number().int().positive().default(500),
  maxBackoffMs: z.coerce.number().int().positive().default(30_000),
  /** The oracle asset pricing the chain's gas token in quote (gas cost → quote WAD). */
  gasAsset: z.string().min(1).default("ETH/USD"),
  /** The keeper address simulations use in a dry run without a private key. */
  keeperAddress: z
    .string()
    .regex(/^0x[0-9a-fA-F]{40}$/)
    .optional(),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

/** The validated configuration. */
export type KeeperConfig = z.output<typeof keeperConfigSchema>;
/** What the schema accepts (every field optional, strings for numbers allowed). */
export type KeeperConfigInput = z.input<typeof keeperConfigSchema>;

/** Validates `input` into a {@link KeeperConfig}, throwing a readable error naming every bad field. */
export function parseKeeperConfig(input: unknown): KeeperConfig {
  const result = keeperConfigSchema.safeParse(input);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join(".") || "config"}: ${i.message}`);
    throw new Error(`Invalid keeper config:\n  ${issues.join("\n  ")}`);
  }
  return result.data;
}

/** The env var of a config key: `minProfit` → `STRATA_KEEPER_MIN_PROFIT`. */
export function envVarOf(key: string): string {
  return `STRATA_KEEPER_${key.replace(/([A-Z])/g, "_$1").toUpperCase()}`;
}

/** A config from the `STRATA_KEEPER_*` env vars (unset ones take their defaults). */
export function keeperConfigFromEnv(env: NodeJS.ProcessEnv = process.env): KeeperConfig {
  const input: Record<string, unknown> = {};
  for (const key of Object.keys(keeperConfigSchema.shape)) {
    const value = env[envVarOf(key)];
    if (value === undefined || value === "") continue;
    input[key] = value === "true" ? true : value === "false" ? false : value;
  }
  return parseKeeperConfig(input);
}
