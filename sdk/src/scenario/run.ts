/**
 * A scenario by name, run and reported: a historical file in `scenarios/` or a named generated case, run on a
 * development chain with the feeds' view of its oracle mode, its report written as `reports/stress-<name>.json`
 * and `.html`. `npm start` and `strata scenario run` both come through here.
 */
import type { Signer } from "ethers";

import { ScenarioError } from "./errors.js";
import { generatedScenario, generatedScenarioNames } from "./generated.js";
import { oracleView } from "./generator.js";
import { writeStressReport } from "./html.js";
import type { PopulationPlan, ScenarioActors } from "./population.js";
import { runScenario, type ScenarioEnvironment, type ScenarioRun } from "./runner.js";
import { listScenarios, loadScenario, SCENARIO_DIR } from "./scenarios.js";
import type { Scenario } from "./types.js";

/** The scenario `npm start` runs. */
export const DEFAULT_SCENARIO = "oct-2025";

/** Every scenario name: the files in `dir`, then the generated cases. */
export async function scenarioNames(dir: string = SCENARIO_DIR): Promise<string[]> {
  return [...(await listScenarios(dir)), ...generatedScenarioNames()];
}

/**
 * The scenario `name`: `scenarios/<name>.json`, or a generated case of that name.
 *
 * @example
 * const scenario = await resolveScenario("gen-steady-crash");
 */
export async function resolveScenario(name: string, dir: string = SCENARIO_DIR): Promise<Scenario> {
  const files = await listScenarios(dir);
  if (files.includes(name)) return loadScenario(name, dir);
  if (generatedScenarioNames().includes(name)) return generatedScenario(name);
  throw new ScenarioError({
    code: "ScenarioNotFound",
    message: `There is no scenario "${name}".`,
    hint: `Pick one of: ${[...files, ...generatedScenarioNames()].join(", ")} (strata scenario list), or add scenarios/${name}.json.`,
  });
}

/** The seven roles of a run from funded signers, in order (the first seven). */
export function actorsFromSigners(signers: readonly Signer[]): ScenarioActors {
  if (signers.length < 7) {
    throw new ScenarioError({
      code: "UnsuitableNode",
      message: `The node has ${signers.length} funded accounts; a scenario needs 7.`,
      hint: "Run it against a development node with its default accounts (hardhat node, or anvil).",
    });
  }
  const [deployer, executor, oracle, lp, traderOwner, makerOwner, keeper] = signers as [
    Signer,
    Signer,
    Signer,
    Signer,
    Signer,
    Signer,
    Signer,
  ];
  return { deployer, executor, oracle, lp, traderOwner, makerOwner, keeper };
}

/** The environment of a run on a node reached through `provider` with `signers` (Hardhat's, or a node's). */
export function scenarioEnvironment(
  provider: ScenarioEnvironment["provider"] & ScenarioEnvironment["node"],
  signers: readonly Signer[],
  chain: string,
): ScenarioEnvironment {
  return { node: provider, provider, chain, actors: actorsFromSigners(signers) };
}

export interface RunAndReportOptions {
  population?: PopulationPlan;
  /** Where the JSON and HTML reports go (`reports` by default). */
  reportsDir?: string;
  progress?: (line: string) => void;
}

/**
 * Runs `scenario` in `env` with its oracle view and writes its reports.
 *
 * @example
 * const { run, files } = await runAndReport(await resolveScenario("oct-2025"), env);
 * console.log(renderTierTable(run.report), files.html);
 */
export async function runAndReport(
  scenario: Scenario,
  env: ScenarioEnvironment,
  options: RunAndReportOptions = {},
): Promise<{ run: ScenarioRun; files: { json: string; html: string } }> {
  const run = await runScenario(scenario, env, {
    feedPoints: oracleView(scenario),
    ...(options.population === undefined ? {} : { population: options.population }),
    ...(options.progress === undefined ? {} : { progress: options.progress }),
  });
  const files = writeStressReport(run.report, options.reportsDir ?? "reports");
  return { run, files };
}
