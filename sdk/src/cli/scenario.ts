/**
 * `strata scenario list` and `strata scenario run <name> [--rpc URL]`: a shock scenario run as `npm start` runs
 * its default one — deployment, population, keepers, DESIGN §6 after every step — on Hardhat's embedded chain, or
 * on a development node (`hardhat node`, anvil) whose unlocked accounts sign. Prints progress, the per-tier table,
 * and writes the JSON and HTML reports. Exits 1 when an invariant fails or a tier's firewall is breached.
 */
import { DEFAULT_POPULATION } from "../scenario/population.js";
import { resolveScenario, runAndReport, scenarioEnvironment, scenarioNames } from "../scenario/run.js";
import type { ScenarioEnvironment } from "../scenario/runner.js";
import { renderTierTable } from "../scenario/table.js";
import { connect } from "./connect.js";
import { CliError } from "./errors.js";
import type { OptionValues } from "./options.js";

export const SCENARIO_RUN_OPTIONS = ["config", "scenarioRpc", "traders", "reportsDir"] as const;

/** `strata scenario list`: the scenario files, then the generated cases. */
export async function scenarioListCommand(print: (line: string) => void): Promise<void> {
  for (const name of await scenarioNames()) print(name);
}

/** `strata scenario run <name>`. */
export async function scenarioRunCommand(
  name: string,
  o: OptionValues<(typeof SCENARIO_RUN_OPTIONS)[number]>,
  print: (line: string) => void,
): Promise<void> {
  const started = Date.now();
  const log = (line: string) => print(`  [${((Date.now() - started) / 1000).toFixed(1)}s] ${line}`);
  const scenario = await resolveScenario(name).catch((error: unknown) => {
    const e = error as { message?: string; hint?: string };
    throw new CliError(e.message ?? String(error), { ...(e.hint === undefined ? {} : { hint: e.hint }), exitCode: 2 });
  });
  let env: ScenarioEnvironment;
  let close = () => undefined as void;
  if (o.scenarioRpc === undefined) {
    const { network } = await import("hardhat");
    const { ethers } = await network.create();
    env = scenarioEnvironment(ethers.provider, await ethers.getSigners(), "hardhat (in-process)");
  } else {
    const { provider } = await connect(o.scenarioRpc);
    close = () => provider.destroy();
    // A development node's unlocked accounts (eth_accounts) sign.
    env = scenarioEnvironment(provider, await provider.listAccounts(), o.scenarioRpc);
  }
  try {
    print(`Scenario "${scenario.title}" on ${env.chain}`);
    const population =
      o.traders === undefined
        ? undefined
        : { ...DEFAULT_POPULATION, tiers: DEFAULT_POPULATION.tiers.map((t) => ({ ...t, traders: o.traders! })) };
    const { run, files } = await runAndReport(scenario, env, {
      reportsDir: o.reportsDir,
      progress: log,
      ...(population === undefined ? {} : { population }),
    });
    print(`\n${renderTierTable(run.report)}`);
    print(`\nwrote ${files.json} and ${files.html}`);
    if (run.report.invariants.failures.length > 0 || run.report.tiers.some((t) => !t.firewall.ok)) {
      throw new CliError(`the scenario broke DESIGN §6: see ${files.json} (invariants.failures)`, { exitCode: 1 });
    }
  } finally {
    close();
  }
}
