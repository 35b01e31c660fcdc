/**
 * The CLI's options, each described once: its flag, its environment variable, its default and its schema. The
 * same table generates the commander options (`addOptions`) and validates what they resolve to
 * (`resolveOptions`), taking each value from the first source that sets it: the command line, then the
 * environment, then the config file (`--config strata.json`), then the default.
 */
import { readFile } from "node:fs/promises";

import { Option, type Command } from "commander";
import { z } from "zod";

import { CliError } from "./errors.js";

/** One option: `key` is its name in code and in the config file (`"logRange": 5000`). */
interface OptionSpec {
  /** The commander flag, with its argument (`--rpc <url>`) or without one (`--fresh`, a switch). */
  flag: string;
  env?: string;
  /** What the value is, for `--help`. */
  description: string;
  /** Validates and converts the value from any source (a flag's or variable's string, or the file's JSON). */
  schema: z.ZodTypeAny;
  default?: unknown;
  /** Shown by `--help` for a default derived from other options. */
  defaultText?: string;
  /** False for options the config file may not set (the config file's own path). */
  inFile?: boolean;
}

/** A whole number of any size (token units, quote WAD), kept as its decimal string for a bigint. */
const wholeNumber = z
  .union([z.string(), z.number()])
  .pipe(z.coerce.string().regex(/^\d+$/, { message: "must be a whole number" }));
const positiveInt = z.coerce.number().int({ message: "must be a whole number" }).positive({ message: "must be > 0" });

/** A switch: `true`/`false` in the file, `1`/`0`/`true`/`false` in the environment. */
const switchSchema = z.preprocess(
  (v) => (v === "1" || v === "true" ? true : v === "0" || v === "false" || v === "" ? false : v),
  z.boolean({ invalid_type_error: "must be true or false (1 or 0)" }),
);

/** Unix seconds, or ISO-8601 with a zone. */
const timeSchema = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const text = String(v).trim();
  const seconds = /^\d+$/.test(text) ? Number(text) : Date.parse(text) / 1000;
  if (!Number.isSafeInteger(seconds) || seconds < 0) {
    ctx.addIssue({ code: "custom", message: "must be unix seconds or an ISO-8601 time in whole seconds" });
    return z.NEVER;
  }
  return seconds;
});

/** Every option of every command. */
export const OPTIONS = {
  config: {
    flag: "--config <path>",
    env: "STRATA_CONFIG",
    description: "JSON file of option values by name (flags and environment variables override it)",
    schema: z.string().min(1).optional(),
    inFile: false,
  },
  network: {
    flag: "--network <name>",
    env: "STRATA_NETWORK",
    description: "network name: localhost (deploy/local.ts) or one of deploy/networks.ts",
    schema: z.string().regex(/^[A-Za-z0-9_-]+$/, { message: "must be letters, digits, - or _" }),
    default: "localhost",
  },
  rpc: {
    flag: "--rpc <url>",
    env: "STRATA_RPC_URL",
    description: "JSON-RPC endpoint of the node",
    schema: z
      .string()
      .url({ message: "must be a URL" })
      .refine((v) => /^https?:\/\//.test(v), { message: "must be an http:// or https:// URL" }),
    default: "http://127.0.0.1:8545",
  },
  scenarioRpc: {
    flag: "--rpc <url>",
    env: "STRATA_SCENARIO_RPC_URL",
    description:
      "scenario: a development node to run on (hardhat node, anvil: its unlocked accounts sign); the embedded chain when unset",
    schema: z
      .string()
      .url({ message: "must be a URL" })
      .refine((v) => /^https?:\/\//.test(v), { message: "must be an http:// or https:// URL" })
      .optional(),
  },
  traders: {
    flag: "--traders <n>",
    env: "STRATA_SCENARIO_TRADERS",
    description: "scenario: traders per tier (the default population has 100)",
    schema: positiveInt.max(1_000, { message: "must be at most 1000" }).optional(),
  },
  reportsDir: {
    flag: "--reports <dir>",
    env: "STRATA_REPORTS_DIR",
    description: "scenario: where reports/stress-<scenario>.json and .html are written",
    schema: z.string().min(1),
    default: "reports",
  },
  manifest: {
    flag: "--manifest <path>",
    env: "STRATA_MANIFEST",
    description: "deployment manifest",
    schema: z.string().min(1).optional(),
    defaultText: "default deployments/<network>.json",
  },
  privateKeyEnv: {
    flag: "--private-key-env <name>",
    env: "STRATA_PRIVATE_KEY_ENV",
    description: "name of the environment variable holding the signer's private key (never the key itself)",
    schema: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: "must be an environment variable name" }),
    default: "STRATA_PRIVATE_KEY",
  },
  fresh: {
    flag: "--fresh",
    env: "STRATA_DEPLOY_FRESH",
    description: "move an existing manifest aside and deploy anew",
    schema: switchSchema,
    default: false,
  },
  timestamp: {
    flag: "--timestamp <time>",
    description: "the round's updatedAt (unix seconds or ISO-8601); the block's time by default",
    schema: timeSchema.optional(),
  },
  pace: {
    flag: "--pace <n|asap>",
    env: "STRATA_REPLAY_PACE",
    description: 'path seconds per wall-clock second, or "asap"',
    schema: z.union([z.literal("asap"), z.coerce.number().positive({ message: 'must be > 0 or "asap"' })]),
    default: 60,
  },
  advanceChainTime: {
    flag: "--advance-chain-time",
    description: "local chains only: set each block's time to the point's time",
    schema: switchSchema,
    default: false,
  },
  startAt: {
    flag: "--start-at <time|latestBlock>",
    description: 'shift the path so that its first point is at this time, or "latestBlock"',
    schema: z.union([z.literal("latestBlock"), timeSchema]).optional(),
  },
  concurrency: {
    flag: "--concurrency <n>",
    env: "STRATA_CONCURRENCY",
    description: "parallel reads when checking accounts",
    schema: positiveInt.max(64, { message: "must be at most 64" }),
    default: 8,
  },
  logRange: {
    flag: "--log-range <blocks>",
    env: "STRATA_LOG_RANGE",
    description: "blocks per eth_getLogs query when finding accounts",
    schema: positiveInt,
    default: 5000,
  },
  json: {
    flag: "--json",
    env: "STRATA_STATUS_JSON",
    description: "status: print JSON (amounts as decimal strings in their raw units) instead of a table",
    schema: switchSchema,
    default: false,
  },
  dryRun: {
    flag: "--dry-run",
    env: "STRATA_KEEPER_DRY_RUN",
    description: "keeper: log what it would do, send nothing",
    schema: switchSchema,
    default: false,
  },
  shard: {
    flag: "--shard <i/N>",
    env: "STRATA_KEEPER_SHARD",
    description: "keeper: handle only the accounts whose id hash is i modulo N",
    schema: z.string().regex(/^\d+\/\d+$/, { message: "must be i/N, e.g. 0/2" }),
    default: "0/1",
  },
  minProfit: {
    flag: "--min-profit <quoteWad>",
    env: "STRATA_KEEPER_MIN_PROFIT",
    description: "keeper: least reward net of gas for an action, quote WAD (1e18 = 1 quote unit)",
    schema: wholeNumber,
    default: "0",
  },
  collateralRepayMax: {
    flag: "--collateral-repay-max <units>",
    env: "STRATA_KEEPER_COLLATERAL_REPAY_MAX",
    description:
      "keeper: most quote tokens (token units) repaid per collateral liquidation from its wallet; 0 disables",
    schema: wholeNumber,
    default: "0",
  },
  stateFile: {
    flag: "--state-file <path>",
    env: "STRATA_KEEPER_STATE_FILE",
    description: "keeper: where the account indexer keeps its state",
    schema: z.string().min(1),
    default: "keeper-state.json",
  },
  metricsPort: {
    flag: "--metrics-port <port>",
    env: "STRATA_KEEPER_METRICS_PORT",
    description: "keeper: port of /metrics and /healthz (0: any free port)",
    schema: z.coerce.number().int({ message: "must be a whole number" }).min(0).max(65_535),
    default: 9464,
  },
} satisfies Record<string, OptionSpec>;

export type OptionKey = keyof typeof OPTIONS;
export type OptionValues<K extends OptionKey> = { [P in K]: z.output<(typeof OPTIONS)[P]["schema"]> };

/** Where a value came from, to name it in an error. */
type Source = "flag" | "env" | "file" | "default";

function describeSource(key: OptionKey, source: Source, file: string | undefined): string {
  const spec: OptionSpec = OPTIONS[key];
  const flag = spec.flag.split(" ")[0]!;
  const env = spec.env !== undefined ? ` / ${spec.env}` : "";
  const from = source === "file" ? ` (from ${file}: "${key}")` : source === "env" ? ` (from ${spec.env})` : "";
  return `${flag}${env}${from}`;
}

/** Adds the commander options for `keys`: no commander defaults, so that an unset flag falls through. */
export function addOptions(command: Command, keys: readonly OptionKey[]): Command {
  for (const key of keys) {
    const spec: OptionSpec = OPTIONS[key];
    const notes = [
      spec.env !== undefined ? `env ${spec.env}` : undefined,
      spec.defaultText ??
        (spec.default !== undefined ? `default ${String(spec.default as string | number | boolean)}` : undefined),
    ].filter((n) => n !== undefined);
    const option = new Option(spec.flag, `${spec.description}${notes.length > 0 ? ` (${notes.join("; ")})` : ""}`);
    command.addOption(option);
  }
  return command;
}

/** The sources of option values, highest precedence first (besides defaults). */
export interface OptionSources {
  flags: Readonly<Record<string, unknown>>;
  env: Readonly<Record<string, string | undefined>>;
  /** The config file's values, by option key. */
  file?: Readonly<Record<string, unknown>>;
  /** The config file's path, to name it in errors. */
  fileName?: string;
}

/**
 * Resolves and validates `keys` from the sources: a flag, else the environment variable, else the config file,
 * else the default. A value that fails its schema throws a {@link CliError} naming the flag and the variable.
 */
export function resolveOptions<K extends OptionKey>(keys: readonly K[], sources: OptionSources): OptionValues<K> {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const key of keys) {
    const spec: OptionSpec = OPTIONS[key];
    let source: Source = "default";
    let raw: unknown = spec.default;
    const env = spec.env !== undefined ? sources.env[spec.env] : undefined;
    if (sources.flags[key] !== undefined) {
      [source, raw] = ["flag", sources.flags[key]];
    } else if (env !== undefined && env !== "") {
      [source, raw] = ["env", env];
    } else if (sources.file?.[key] !== undefined) {
      [source, raw] = ["file", sources.file[key]];
    }
    const parsed = spec.schema.safeParse(raw);
    if (parsed.success) {
      values[key] = parsed.data;
    } else {
      const shown = raw === undefined ? "" : ` ${JSON.stringify(raw)}`;
      const why = parsed.error.issues.map((i) => i.message).join("; ");
      problems.push(`${describeSource(key, source, sources.fileName)}:${shown} ${why}`);
    }
  }
  if (problems.length > 0) {
    throw new CliError(`invalid option${problems.length > 1 ? "s" : ""}:\n  ${problems.join("\n  ")}`, {
      hint: "run with --help to see each option, its environment variable and its default",
      exitCode: 2,
    });
  }
  return values as OptionValues<K>;
}

/** What the config file may hold: any option but `config` itself, and nothing else. */
const fileKeys = (Object.keys(OPTIONS) as OptionKey[]).filter((k) => (OPTIONS[k] as OptionSpec).inFile !== false);
const configFileSchema = z.object(Object.fromEntries(fileKeys.map((k) => [k, z.unknown()]))).strict();

/** Reads the config file; its values are validated with the rest by {@link resolveOptions}. */
export async function readConfigFile(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new CliError(`cannot read the config file ${file}: ${(error as Error).message}`, {
      hint: "pass --config (or STRATA_CONFIG) the path of a JSON file, or leave it out",
      exitCode: 2,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CliError(`the config file ${file} is not JSON: ${(error as Error).message}`, { exitCode: 2 });
  }
  const parsed = configFileSchema.safeParse(json);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join(".") || "(file)"}: ${i.message}`);
    throw new CliError(`the config file ${file} is not valid:\n  ${lines.join("\n  ")}`, {
      hint: `its keys are option names: ${fileKeys.join(", ")}`,
      exitCode: 2,
    });
  }
  return parsed.data;
}

/**
 * Resolves `keys` for a command: reads the config file named by `--config` or STRATA_CONFIG (itself a flag or
 * variable only), then every option by precedence.
 */
export async function loadOptions<K extends OptionKey>(
  keys: readonly K[],
  flags: Readonly<Record<string, unknown>>,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<OptionValues<K>> {
  const { config } = resolveOptions(["config"], { flags, env });
  const file = config === undefined ? undefined : await readConfigFile(config);
  return resolveOptions(keys, { flags, env, ...(file !== undefined ? { file, fileName: config } : {}) });
}
