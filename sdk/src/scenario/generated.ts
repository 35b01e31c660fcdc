/**
 * Named generated scenarios: the generator's parameters for the stress cases the scenario runner offers next to
 * the historical files in `scenarios/`. Each isolates one failure mode against the same steady crash.
 */
import { ScenarioError } from "./errors.js";
import { generateScenario } from "./generator.js";
import type { GeneratorParams, Scenario } from "./types.js";

/** ETH leads (-2% a minute for 20 minutes, -33% in all), BTC follows with correlation 0.9. */
const STEADY_CRASH: Omit<GeneratorParams, "name"> = {
  open: { "ETH/USD": "3000", "BTC/USD": "60000" },
  dropBpsPerStep: -200,
  stepSeconds: 60,
  steps: 20,
  correlation: 0.9,
  seed: 20_251_010,
  oracle: { mode: "live" },
  keeperCapacityPerBlock: 20,
};

/** The generator parameters of every named generated scenario, by name. */
export const GENERATED_SCENARIOS: Readonly<Record<string, GeneratorParams>> = {
  /** The baseline: the feeds follow the market, keepers have room. */
  "gen-steady-crash": { name: "gen-steady-crash", ...STEADY_CRASH },
  /** The feeds report the market two points (two minutes) late: liquidations trail the real losses. */
  "gen-delayed-crash": { name: "gen-delayed-crash", ...STEADY_CRASH, oracle: { mode: "delayed", delaySteps: 2 } },
  /** The feeds miss six points from point 5 (stale for six minutes), then catch up with a -11% jump. */
  "gen-stalled-feed": {
    name: "gen-stalled-feed",
    ...STEADY_CRASH,
    oracle: { mode: "stalled", stallFromStep: 5, stallSteps: 6 },
  },
  /**
   * A dead feed: ten-minute points, and the feeds miss nine of them from point 2 (90 minutes without a round,
   * past the feeds' 70-minute maximum age) while the market keeps falling 2% a point, then catch up with a -17%
   * jump. The costliest oracle failure: losses build unseen, and the waterfall meets them all at once.
   */
  "gen-dead-feed": {
    name: "gen-dead-feed",
    ...STEADY_CRASH,
    stepSeconds: 600,
    steps: 12,
    oracle: { mode: "stalled", stallFromStep: 2, stallSteps: 9 },
  },
  /** The L2 sequencer is down for four points from point 6, then five minutes of grace. */
  "gen-sequencer-outage": {
    name: "gen-sequencer-outage",
    ...STEADY_CRASH,
    sequencer: { downFromStep: 6, downSteps: 4, graceSeconds: 300 },
  },
  /** Keepers land only two liquidations per block: the backlog grows while prices keep falling. */
  "gen-low-keeper-capacity": { name: "gen-low-keeper-capacity", ...STEADY_CRASH, keeperCapacityPerBlock: 2 },
};

/**
 * The names of the generated scenarios, sorted.
 *
 * @example
 * generatedScenarioNames(); // ["gen-delayed-crash", "gen-low-keeper-capacity", …]
 */
export function generatedScenarioNames(): string[] {
  return Object.keys(GENERATED_SCENARIOS).sort();
}

/**
 * A named generated scenario. Throws a {@link ScenarioError} (`ScenarioNotFound`) for an unknown name.
 *
 * @example
 * const stalled = generatedScenario("gen-stalled-feed");
 */
export function generatedScenario(name: string): Scenario {
  const params = GENERATED_SCENARIOS[name];
  if (params === undefined) {
    throw new ScenarioError({
      code: "ScenarioNotFound",
      message: `No generated scenario ${JSON.stringify(name)}`,
      hint: `Use one of: ${generatedScenarioNames().join(", ")}.`,
    });
  }
  return generateScenario(params);
}
