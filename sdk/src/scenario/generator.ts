/**
 * Generated scenarios: a steady drop of a lead asset with correlated followers ({@link generateScenario}), and
 * the oracle's view of any scenario's path under its oracle mode ({@link oracleView}).
 */
import { parseUnits } from "ethers";

import { decimalPriceSchema } from "../oracle/price.js";
import { ScenarioError } from "./errors.js";
import { parseScenario, resolvePrices, SCENARIO_TIERS } from "./scenarios.js";
import type { GeneratorParams, Scenario, ScenarioAsset, ScenarioPoint } from "./types.js";

/** Significant digits of generated prices. */
export const PRICE_SIGNIFICANT_DIGITS = 8;
/** The lowest generated price: the smallest answer an 8-decimal Chainlink USD feed can report. */
export const MIN_PRICE = 1e-8;
const MAX_DECIMALS = 18;
const KEBAB = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/**
 * mulberry32: a small, fast 32-bit seeded generator. The same seed always gives the same sequence of numbers in
 * [0, 1), on every platform.
 *
 * @example
 * const next = mulberry32(42);
 * const [a, b] = [next(), next()]; // the same two numbers on every run
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw from two uniform draws (Box–Muller). */
function standardNormal(next: () => number): number {
  const u1 = Math.max(next(), Number.MIN_VALUE);
  const u2 = next();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/**
 * A positive price as a plain decimal string rounded to {@link PRICE_SIGNIFICANT_DIGITS} significant digits (whole
 * numbers keep every digit; at most 18 places, no exponent, trailing zeros dropped); prices below
 * {@link MIN_PRICE} are raised to it.
 *
 * @example
 * formatPrice(2940.123456789); // "2940.1235"
 * formatPrice(0.000123456789); // "0.00012345679"
 */
export function formatPrice(value: number): string {
  if (!Number.isFinite(value) || value >= 1e21) {
    throw new ScenarioError({
      code: "InvalidGeneratorParams",
      message: `a generated price (${value}) is out of range`,
      hint: "Use fewer steps or a smaller move per step.",
    });
  }
  const x = Math.max(value, MIN_PRICE);
  const exponent = Math.floor(Math.log10(x));
  const decimals = Math.min(MAX_DECIMALS, Math.max(0, PRICE_SIGNIFICANT_DIGITS - 1 - exponent));
  const fixed = x.toFixed(decimals);
  return decimals === 0 ? fixed : fixed.replace(/0+$/, "").replace(/\.$/, "");
}

function checkParams(p: GeneratorParams): string[] {
  const issues: string[] = [];
  if (!KEBAB.test(p.name)) issues.push(`name: ${JSON.stringify(p.name)} is not kebab-case (e.g. "gen-steady-crash")`);
  const assets = Object.keys(p.open);
  if (assets.length === 0) issues.push("open: no asset; give at least the lead asset's opening price");
  for (const [asset, price] of Object.entries(p.open)) {
    const parsed = decimalPriceSchema.safeParse(price);
    if (!parsed.success) issues.push(`open[${JSON.stringify(asset)}]: ${parsed.error.issues[0]!.message}`);
  }
  if (!Number.isFinite(p.dropBpsPerStep) || p.dropBpsPerStep <= -10_000) {
    issues.push(`dropBpsPerStep: ${p.dropBpsPerStep} is not above -10000 (a -100% step would price the lead at 0)`);
  }
  if (!Number.isSafeInteger(p.stepSeconds) || p.stepSeconds < 1) {
    issues.push(`stepSeconds: ${p.stepSeconds} is not a whole number of seconds ≥ 1`);
  }
  if (!Number.isSafeInteger(p.steps) || p.steps < 1) issues.push(`steps: ${p.steps} is not a whole number ≥ 1`);
  if (!(p.correlation >= 0 && p.correlation <= 1)) issues.push(`correlation: ${p.correlation} is not within 0..1`);
  if (!Number.isSafeInteger(p.seed)) issues.push(`seed: ${p.seed} is not a whole number`);
  if (p.assets !== undefined) {
    const listed = new Set(p.assets.map((a) => a.id));
    for (const asset of assets) if (!listed.has(asset)) issues.push(`assets: ${JSON.stringify(asset)} is not listed`);
  }
  return issues;
}

function percent(bps: number): string {
  const pct = bps / 100;
  return `${pct > 0 ? "+" : ""}${pct}%`;
}

/**
 * A generated scenario: the lead asset (the first key of `open`) moves by `dropBpsPerStep` (compounded: each
 * step relative to the previous price) for `steps` steps of `stepSeconds`; every other asset moves each step by
 * `c·r + √(1 − c²)·|r|·z`, where `r` is the lead's move, `c` the correlation and `z` a standard normal draw from
 * `mulberry32(seed)`. With `c = 1` every asset makes the same relative move; with `c = 0` only noise of the
 * lead's size. Prices are decimal strings of 8 significant digits, never below {@link MIN_PRICE}. The oracle
 * spec, sequencer outage and keeper capacity are passed through; assets default to all three tiers. The same
 * parameters always give the same scenario. Throws a {@link ScenarioError} (`InvalidGeneratorParams`) for
 * parameters out of range or a result that does not validate (e.g. a delay longer than the path).
 *
 * @example
 * const crash = generateScenario({
 *   name: "my-crash", open: { "ETH/USD": "3000", "BTC/USD": "60000" }, dropBpsPerStep: -200, stepSeconds: 60,
 *   steps: 20, correlation: 0.9, seed: 7, oracle: { mode: "live" }, keeperCapacityPerBlock: 20,
 * });
 */
export function generateScenario(params: GeneratorParams): Scenario {
  const problems = checkParams(params);
  if (problems.length > 0) {
    throw new ScenarioError({
      code: "InvalidGeneratorParams",
      message: `Generator parameters of ${JSON.stringify(params.name)} are out of range:\n${problems.map((l) => `  - ${l}`).join("\n")}`,
      hint: "Fix these parameters (see GeneratorParams in sdk/src/scenario/types.ts).",
      issues: problems,
    });
  }
  const ids = Object.keys(params.open);
  const lead = ids[0]!;
  const opens = ids.map((id) => Number(params.open[id]!));
  const r = params.dropBpsPerStep / 10_000;
  const c = params.correlation;
  const noiseWeight = Math.sqrt(1 - c * c) * Math.abs(r);
  const next = mulberry32(params.seed);
  const factors = ids.map(() => 1);

  const points: ScenarioPoint[] = [{ t: 0, prices: { ...params.open } }];
  for (let step = 1; step <= params.steps; step++) {
    const prices: Record<string, string> = {};
    ids.forEach((id, i) => {
      const move = i === 0 ? r : c * r + noiseWeight * standardNormal(next);
      factors[i] = factors[i]! * Math.max(1 + move, 0);
      prices[id] = formatPrice(opens[i]! * factors[i]!);
    });
    points.push({ t: step * params.stepSeconds, prices });
  }

  const assets: ScenarioAsset[] = params.assets ?? ids.map((id) => ({ id, tiers: [...SCENARIO_TIERS] }));
  const others = ids.length > 1 ? `, ${ids.slice(1).join(", ")} with correlation ${c}` : "";
  const scenario: Scenario = {
    name: params.name,
    title: `${lead} ${percent(params.dropBpsPerStep)} per step × ${params.steps} (${params.oracle.mode} oracle)`,
    description:
      `Generated: ${lead} moves ${percent(params.dropBpsPerStep)} every ${params.stepSeconds} s for ${params.steps} ` +
      `steps${others} (seed ${params.seed}); oracle ${params.oracle.mode}` +
      (params.sequencer === undefined
        ? ""
        : `; sequencer down from point ${params.sequencer.downFromStep} for ${params.sequencer.downSteps} points, ` +
          `grace ${params.sequencer.graceSeconds} s`) +
      `; keepers land ${params.keeperCapacityPerBlock} liquidations per block.`,
    sources: [`generated by generateScenario (sdk/src/scenario/generator.ts) from ${JSON.stringify(params)}`],
    kind: "generated",
    assets,
    points,
    oracle: params.oracle,
    keeperCapacityPerBlock: params.keeperCapacityPerBlock,
  };
  if (params.sequencer !== undefined) scenario.sequencer = params.sequencer;
  try {
    return parseScenario(scenario, { source: `generated scenario ${params.name}` });
  } catch (error) {
    if (!(error instanceof ScenarioError)) throw error;
    throw new ScenarioError({
      code: "InvalidGeneratorParams",
      message: error.message,
      hint: "Fix the generator parameters that these fields come from (oracle, sequencer, keeperCapacityPerBlock, …).",
      issues: error.issues,
      cause: error,
    });
  }
}

const wad = (price: string): bigint => parseUnits(price, MAX_DECIMALS);

/**
 * What the feeds report at each point of a scenario under its oracle mode, with the same sparse meaning as market
 * points: an asset in a point's `prices` is a new feed round at that time; an asset absent is no new round (the
 * feed keeps its last answer and ages, so staleness checks see it).
 *
 * - `live`: the market points.
 * - `delayed` (k): point i reports the updates of market point i − k (the feeds hold the opening price until
 *   point k), so the feed's price at point i is the market price at point i − k.
 * - `stalled` (from, n): points from..from + n − 1 carry no price at all (the feeds go stale at the last price
 *   before the stall); the point after the stall reports every asset's current market price (catch-up).
 * - `clamped`: each price bounded to max(floor, min(ceiling, price)) for assets with a floor or ceiling
 *   (Chainlink's minAnswer/maxAnswer); others as the market.
 *
 * Times are the market points' times; the result has as many points as the scenario.
 *
 * @example
 * const feed = resolvePrices(oracleView(luna)).map((p) => p["LUNA/USD"]); // never below the 0.1 floor
 */
export function oracleView(scenario: Scenario): ScenarioPoint[] {
  const points = scenario.points;
  const oracle = scenario.oracle;
  const copy = (p: ScenarioPoint): ScenarioPoint => ({ t: p.t, prices: { ...p.prices } });
  switch (oracle.mode) {
    case "live":
      return points.map(copy);
    case "delayed": {
      const k = oracle.delaySteps ?? 1;
      return points.map((p, i) => (i === 0 ? copy(p) : { t: p.t, prices: i < k ? {} : { ...points[i - k]!.prices } }));
    }
    case "stalled": {
      const from = oracle.stallFromStep ?? 1;
      const end = from + (oracle.stallSteps ?? 0);
      const market = resolvePrices(points);
      return points.map((p, i) => {
        if (i >= from && i < end) return { t: p.t, prices: {} };
        if (i === end && end > from) return { t: p.t, prices: { ...market[i]! } };
        return copy(p);
      });
    }
    case "clamped": {
      const floor = oracle.floor ?? {};
      const ceiling = oracle.ceiling ?? {};
      const clamp = (asset: string, price: string): string => {
        const low = floor[asset];
        const high = ceiling[asset];
        if (low !== undefined && wad(price) < wad(low)) return low;
        if (high !== undefined && wad(price) > wad(high)) return high;
        return price;
      };
      return points.map((p) => ({
        t: p.t,
        prices: Object.fromEntries(Object.entries(p.prices).map(([asset, price]) => [asset, clamp(asset, price)])),
      }));
    }
  }
}
