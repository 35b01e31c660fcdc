/**
 * Scenario files: `scenarios/<name>.json`, one per shock, in the shape of {@link Scenario} (see `types.ts`). This
 * module reads, lists and validates them; `generator.ts` makes scenarios from parameters.
 *
 * Only the JSON files directly in the folder are scenarios: subfolders (`scenarios/paths/`, the oracle replay
 * tool's price paths, a different format) are ignored.
 *
 * Validation reports every problem at once, each with the field it is in and what to do, e.g.
 * `points[3].t: 120 is not after the previous point's t (120): times strictly increase`.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";

import { z } from "zod";

import { decimalPriceSchema } from "../oracle/price.js";
import { ScenarioError } from "./errors.js";
import type { Scenario, ScenarioPoint } from "./types.js";

/** The protocol's tiers: 0 core, 1 pro, 2 edge. */
export const SCENARIO_TIERS: readonly number[] = [0, 1, 2];
/** The outer tier, the only one that lists long-tail markets. */
export const OUTER_TIER = 2;
/** The default folder of scenario files, relative to the working directory. */
export const SCENARIO_DIR = "scenarios";

const MAX_ISSUES = 25;
const KEBAB = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const TYPES_HINT = "see Scenario in sdk/src/scenario/types.ts";

// ================================================================== shape (zod)

/** A positive decimal price string (at most 18 places), as the oracle tools take it; kept as the string. */
const priceSchema = z
  .unknown()
  .superRefine((value, ctx) => {
    const parsed = decimalPriceSchema.safeParse(value);
    if (!parsed.success)
      for (const issue of parsed.error.issues) ctx.addIssue({ code: "custom", message: issue.message });
  })
  .transform((value) => String(value).trim());

const count = (what: string, min: number) =>
  z
    .number({ invalid_type_error: `${what} is a whole number` })
    .int(`${what} is a whole number`)
    .min(min, `${what} is at least ${min}`);

const text = (what: string) =>
  z
    .string({ invalid_type_error: `${what} is a string` })
    .trim()
    .min(1, `${what} is empty: write it`);

const assetSchema = z
  .object({
    id: text("an asset id").refine((id) => Buffer.byteLength(id, "utf8") <= 31, {
      message: "an asset id is at most 31 bytes (the oracle router's bytes32 key)",
    }),
    tiers: z.array(count("a tier", 0), { invalid_type_error: "tiers is an array such as [0, 1, 2]" }),
    longTail: z.boolean().optional(),
  })
  .strict();

const pointSchema = z
  .object({
    t: z.number({ invalid_type_error: "t is seconds since the start (a number)" }),
    prices: z.record(priceSchema, { invalid_type_error: 'prices is an object { "<asset>": "<decimal price>" }' }),
  })
  .strict();

const oracleSchema = z
  .object({
    mode: z.enum(["live", "delayed", "stalled", "clamped"], {
      errorMap: () => ({ message: 'mode is one of "live", "delayed", "stalled", "clamped"' }),
    }),
    delaySteps: count("delaySteps", 1).optional(),
    stallFromStep: count("stallFromStep", 0).optional(),
    stallSteps: count("stallSteps", 1).optional(),
    floor: z.record(priceSchema).optional(),
    ceiling: z.record(priceSchema).optional(),
  })
  .strict();

const sequencerSchema = z
  .object({
    downFromStep: count("downFromStep", 0),
    downSteps: count("downSteps", 1),
    graceSeconds: count("graceSeconds", 0),
  })
  .strict();

const expectationSchema = z
  .object({
    noBadDebt: z.boolean().optional(),
    absorbedInTier: z.boolean().optional(),
    minLiquidations: count("minLiquidations", 0).optional(),
  })
  .strict();

const whaleSchema = z
  .object({
    asset: text("whale.asset"),
    tier: count("whale.tier", 0),
    side: z.enum(["long", "short"], { errorMap: () => ({ message: 'side is "long" or "short"' }) }),
    leverage: z.number({ invalid_type_error: "leverage is a number" }).positive("leverage is positive"),
    notionalUsd: priceSchema,
    openAtStep: count("openAtStep", 0),
    withdrawals: z.array(
      z
        .object({
          atStep: count("atStep", 0),
          share: z
            .number({ invalid_type_error: "share is a number" })
            .gt(0, "share is more than 0")
            .max(1, "share is at most 1 (all the margin check allows)"),
        })
        .strict(),
    ),
  })
  .strict();

const scenarioSchema = z
  .object({
    name: z
      .string({ invalid_type_error: "name is a string" })
      .regex(KEBAB, 'name is kebab-case, e.g. "oct-2025" (lower-case letters, digits and dashes)'),
    title: text("title"),
    description: text("description"),
    sources: z
      .array(text("a source"), { invalid_type_error: "sources is an array of strings" })
      .min(1, "sources is empty: say where the path comes from (or that it was generated)"),
    kind: z.enum(["historical", "generated"], {
      errorMap: () => ({ message: 'kind is "historical" or "generated"' }),
    }),
    assets: z.array(assetSchema).min(1, "assets is empty: list every asset the path prices"),
    points: z.array(pointSchema).min(2, "a path has at least two points (the opening and one move)"),
    oracle: oracleSchema,
    sequencer: sequencerSchema.optional(),
    keeperCapacityPerBlock: count("keeperCapacityPerBlock", 1),
    expectations: z
      .object({
        core: expectationSchema.optional(),
        pro: expectationSchema.optional(),
        edge: expectationSchema.optional(),
      })
      .strict()
      .optional(),
    whale: whaleSchema.optional(),
  })
  .strict();

// ================================================================== issues

/** `points[3].prices["ETH/USD"]` from a zod path. */
function where(pathParts: readonly (string | number)[]): string {
  let out = "";
  for (const part of pathParts) {
    if (typeof part === "number") out += `[${part}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(part)) out += out === "" ? part : `.${part}`;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out === "" ? "(the scenario)" : out;
}

function zodIssueLine(issue: z.ZodIssue): string {
  const at = where(issue.path);
  if (issue.code === "invalid_type" && issue.received === "undefined") {
    return `${at}: missing; add it (${TYPES_HINT})`;
  }
  if (issue.code === "unrecognized_keys") {
    return `${at}: unknown field(s) ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}; remove or rename (${TYPES_HINT})`;
  }
  if (issue.code === "invalid_type") return `${at}: expected ${issue.expected}, found ${issue.received}`;
  return `${at}: ${issue.message}`;
}

/** Collects the issues of a whole scenario and throws them together. */
class Issues {
  readonly lines: string[] = [];
  add(at: string, message: string): void {
    this.lines.push(`${at}: ${message}`);
  }
  throwIfAny(source: string): void {
    if (this.lines.length === 0) return;
    const shown = this.lines.slice(0, MAX_ISSUES);
    const more = this.lines.length > MAX_ISSUES ? `\n  … and ${this.lines.length - MAX_ISSUES} more` : "";
    throw new ScenarioError({
      code: "InvalidScenario",
      message: `${source} is not a valid scenario:\n${shown.map((l) => `  - ${l}`).join("\n")}${more}`,
      hint:
        "Fix these fields: a scenario is { name, title, description, sources, kind, assets, points, oracle, " +
        "keeperCapacityPerBlock, … } as in sdk/src/scenario/types.ts; points start at t = 0 with every asset's " +
        "price and their times strictly increase.",
      issues: this.lines,
    });
  }
}

// ================================================================== cross-field checks

function checkAssets(s: Scenario, issues: Issues): Set<string> {
  const ids = new Set<string>();
  s.assets.forEach((asset, i) => {
    const at = `assets[${i}]`;
    if (ids.has(asset.id)) issues.add(`${at}.id`, `${JSON.stringify(asset.id)} is listed twice; list each asset once`);
    ids.add(asset.id);
    if (asset.tiers.length === 0) issues.add(`${at}.tiers`, "is empty: list the tiers with a market on it (0, 1, 2)");
    const seen = new Set<number>();
    for (const tier of asset.tiers) {
      if (!SCENARIO_TIERS.includes(tier)) {
        issues.add(
          `${at}.tiers`,
          `tier ${tier} does not exist; tiers are ${SCENARIO_TIERS.join(", ")} (core, pro, edge)`,
        );
      }
      if (seen.has(tier)) issues.add(`${at}.tiers`, `tier ${tier} is listed twice`);
      seen.add(tier);
    }
    if (asset.longTail === true && (asset.tiers.length !== 1 || asset.tiers[0] !== OUTER_TIER)) {
      issues.add(
        `${at}.tiers`,
        `a long-tail asset is listed in the outer tier only: set tiers to [${OUTER_TIER}] (or drop longTail)`,
      );
    }
  });
  return ids;
}

function checkPoints(s: Scenario, ids: Set<string>, issues: Issues): void {
  s.points.forEach((point, i) => {
    const at = `points[${i}]`;
    if (!Number.isSafeInteger(point.t) || point.t < 0) {
      issues.add(`${at}.t`, `${point.t} is not a whole, non-negative number of seconds`);
    }
    if (i === 0 && point.t !== 0) issues.add(`${at}.t`, `the first point is the start: set t to 0 (found ${point.t})`);
    const previous = s.points[i - 1];
    if (previous !== undefined && !(point.t > previous.t)) {
      issues.add(`${at}.t`, `${point.t} is not after the previous point's t (${previous.t}): times strictly increase`);
    }
    for (const asset of Object.keys(point.prices)) {
      if (!ids.has(asset)) {
        issues.add(`${at}.prices`, `${JSON.stringify(asset)} is not in assets; add it to assets or fix the name`);
      }
    }
  });
  const first = s.points[0]!;
  for (const id of ids) {
    if (first.prices[id] === undefined) {
      issues.add("points[0].prices", `${JSON.stringify(id)} has no opening price: the first point prices every asset`);
    }
  }
}

const ORACLE_FIELDS = {
  live: [],
  delayed: ["delaySteps"],
  stalled: ["stallFromStep", "stallSteps"],
  clamped: ["floor", "ceiling"],
} as const;

function checkOracle(s: Scenario, ids: Set<string>, issues: Issues): void {
  const o = s.oracle;
  const n = s.points.length;
  const own: readonly string[] = ORACLE_FIELDS[o.mode];
  for (const field of ["delaySteps", "stallFromStep", "stallSteps", "floor", "ceiling"] as const) {
    if (o[field] !== undefined && !own.includes(field)) {
      issues.add(`oracle.${field}`, `is not used in mode "${o.mode}": remove it, or set the mode that uses it`);
    }
  }
  if (o.mode === "delayed") {
    if (o.delaySteps === undefined) issues.add("oracle.delaySteps", 'missing: mode "delayed" needs the lag in points');
    else if (o.delaySteps >= n) {
      issues.add("oracle.delaySteps", `${o.delaySteps} is not shorter than the path (${n} points): lower it`);
    }
  }
  if (o.mode === "stalled") {
    if (o.stallFromStep === undefined)
      issues.add("oracle.stallFromStep", 'missing: mode "stalled" needs the first missed point');
    if (o.stallSteps === undefined)
      issues.add("oracle.stallSteps", 'missing: mode "stalled" needs how many points are missed');
    if (o.stallFromStep === 0) {
      issues.add(
        "oracle.stallFromStep",
        "is 0: the feeds report the opening point; the stall starts at point 1 or later",
      );
    }
    if (o.stallFromStep !== undefined && o.stallSteps !== undefined && o.stallFromStep + o.stallSteps > n) {
      issues.add(
        "oracle.stallSteps",
        `the stall (points ${o.stallFromStep}..${o.stallFromStep + o.stallSteps - 1}) runs past the path's last point ` +
          `(${n - 1}): shorten it or add points`,
      );
    }
  }
  if (o.mode === "clamped") {
    const floors = Object.keys(o.floor ?? {});
    const ceilings = Object.keys(o.ceiling ?? {});
    if (floors.length + ceilings.length === 0) {
      issues.add("oracle", 'mode "clamped" needs a floor or a ceiling for at least one asset');
    }
    for (const [field, keys] of [
      ["floor", floors],
      ["ceiling", ceilings],
    ] as const) {
      for (const asset of keys) {
        if (!ids.has(asset)) issues.add(`oracle.${field}`, `${JSON.stringify(asset)} is not in assets`);
      }
    }
    for (const asset of floors) {
      const floor = o.floor![asset]!;
      const ceiling = o.ceiling?.[asset];
      if (ceiling !== undefined && !(Number(floor) < Number(ceiling))) {
        issues.add(`oracle.floor[${JSON.stringify(asset)}]`, `${floor} is not below the ceiling ${ceiling}`);
      }
    }
  }
}

function checkSequencer(s: Scenario, issues: Issues): void {
  const q = s.sequencer;
  if (q === undefined) return;
  const n = s.points.length;
  if (q.downFromStep === 0) {
    issues.add(
      "sequencer.downFromStep",
      "is 0: the sequencer is up at the opening point; start the outage at 1 or later",
    );
  }
  if (q.downFromStep + q.downSteps > n) {
    issues.add(
      "sequencer.downSteps",
      `the outage (points ${q.downFromStep}..${q.downFromStep + q.downSteps - 1}) runs past the path's last point ` +
        `(${n - 1}): shorten it or add points`,
    );
  }
}

function checkWhale(s: Scenario, issues: Issues): void {
  const w = s.whale;
  if (w === undefined) return;
  const n = s.points.length;
  const asset = s.assets.find((a) => a.id === w.asset);
  if (asset === undefined) issues.add("whale.asset", `${JSON.stringify(w.asset)} is not in assets`);
  else if (!asset.tiers.includes(w.tier)) {
    issues.add("whale.tier", `${w.asset} has no market in tier ${w.tier} (its tiers: ${asset.tiers.join(", ")})`);
  }
  if (w.openAtStep >= n) issues.add("whale.openAtStep", `${w.openAtStep} is past the path's last point (${n - 1})`);
  let previous = w.openAtStep;
  w.withdrawals.forEach((withdrawal, i) => {
    if (withdrawal.atStep <= previous) {
      issues.add(
        `whale.withdrawals[${i}].atStep`,
        `${withdrawal.atStep} is not after ${i === 0 ? "openAtStep" : "the previous withdrawal"} (${previous})`,
      );
    }
    if (withdrawal.atStep >= n) {
      issues.add(`whale.withdrawals[${i}].atStep`, `${withdrawal.atStep} is past the path's last point (${n - 1})`);
    }
    previous = withdrawal.atStep;
  });
}

// ================================================================== API

/** Options of {@link parseScenario}. */
export interface ParseScenarioOptions {
  /** Names the input in error messages (a file name). */
  source?: string;
}

/**
 * Validates a scenario (parsed JSON) and returns it typed. Checks its shape, then: asset ids unique, tiers among
 * 0, 1, 2 (a long-tail asset in the outer tier only); points from t = 0, times strictly increasing whole
 * seconds, the first point pricing every asset, prices positive decimal strings of declared assets; the oracle
 * spec complete for its mode and free of other modes' fields (lag shorter than the path, stall window inside it,
 * clamps on declared assets with floor < ceiling); the sequencer outage inside the path; the whale's market and
 * steps. Throws a {@link ScenarioError} (`InvalidScenario`) listing every problem.
 *
 * @example
 * const scenario = parseScenario(JSON.parse(await readFile("my-shock.json", "utf8")), { source: "my-shock.json" });
 */
export function parseScenario(json: unknown, options: ParseScenarioOptions = {}): Scenario {
  const source = options.source ?? "the scenario";
  const issues = new Issues();
  const result = scenarioSchema.safeParse(json);
  if (!result.success) {
    for (const issue of result.error.issues) issues.lines.push(zodIssueLine(issue));
    issues.throwIfAny(source);
  }
  const scenario: Scenario = result.data!;
  const ids = checkAssets(scenario, issues);
  checkPoints(scenario, ids, issues);
  checkOracle(scenario, ids, issues);
  checkSequencer(scenario, issues);
  checkWhale(scenario, issues);
  issues.throwIfAny(source);
  return scenario;
}

/**
 * Reads and validates one scenario file; its `name` must equal the file's stem.
 *
 * @example
 * const scenario = await readScenario("scenarios/mar-2020.json");
 */
export async function readScenario(file: string): Promise<Scenario> {
  const text = await readFile(file, "utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ScenarioError({
      code: "InvalidScenario",
      message: `${file} is not JSON: ${(error as Error).message}`,
      hint: "Fix the JSON syntax (quotes around keys and strings, no trailing commas, no comments).",
      cause: error,
    });
  }
  const scenario = parseScenario(json, { source: file });
  const stem = path.basename(file, ".json");
  if (scenario.name !== stem) {
    const issues = new Issues();
    issues.add("name", `${JSON.stringify(scenario.name)} differs from the file name (${stem}.json): make them equal`);
    issues.throwIfAny(file);
  }
  return scenario;
}

/**
 * The names of the scenario files in a folder (`<name>.json` directly in it, sorted); subfolders such as
 * `scenarios/paths/` are ignored.
 *
 * @example
 * for (const name of await listScenarios()) console.log(name); // eth-whale-2025, jelly-2025, …
 */
export async function listScenarios(dir: string = SCENARIO_DIR): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith(".json"))
    .map((e) => e.name.slice(0, -".json".length))
    .sort();
}

/**
 * Loads `<dir>/<name>.json` and validates it. Throws a {@link ScenarioError}: `ScenarioNotFound` (listing the
 * scenarios there) when there is no such file, `InvalidScenario` when it does not validate.
 *
 * @example
 * const oct = await loadScenario("oct-2025");
 */
export async function loadScenario(name: string, dir: string = SCENARIO_DIR): Promise<Scenario> {
  const notFound = async (why: string): Promise<ScenarioError> => {
    const available = await listScenarios(dir).catch(() => []);
    return new ScenarioError({
      code: "ScenarioNotFound",
      message: `No scenario ${JSON.stringify(name)} in ${dir}: ${why}`,
      hint: available.length > 0 ? `Use one of: ${available.join(", ")}.` : `Add ${dir}/${name}.json.`,
    });
  };
  if (!KEBAB.test(name)) throw await notFound('a scenario name is kebab-case, e.g. "oct-2025"');
  const file = path.join(dir, `${name}.json`);
  try {
    return await readScenario(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw await notFound(`${file} does not exist`);
    throw error;
  }
}

/**
 * Every asset's price at every point: a point's prices with the assets it leaves out carried from the point
 * before (the first point prices every asset).
 *
 * @example
 * const eth = resolvePrices(scenario.points).map((p) => Number(p["ETH/USD"]));
 */
export function resolvePrices(points: readonly ScenarioPoint[]): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  let current: Record<string, string> = {};
  for (const point of points) {
    current = { ...current, ...point.prices };
    out.push(current);
  }
  return out;
}
