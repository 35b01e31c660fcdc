/**
 * `strata`: deploy Strata, push and replay oracle prices, show each tier's status and run the keeper, against
 * any JSON-RPC node. Every option is a flag, an environment variable or a config file entry (options.ts); the signer's key
 * comes only from the environment variable that `--private-key-env` names. Run through bin/strata.mjs.
 */
import { Command, CommanderError } from "commander";

import { DEPLOY_OPTIONS, deployCommand } from "./deploy.js";
import { reportError } from "./errors.js";
import { KEEPER_OPTIONS, keeperCommand } from "./keeper.js";
import { PUSH_OPTIONS, REPLAY_OPTIONS, pushCommand, replayCommand } from "./oracle.js";
import { addOptions, loadOptions } from "./options.js";
import { SCENARIO_RUN_OPTIONS, scenarioListCommand, scenarioRunCommand } from "./scenario.js";
import { STATUS_OPTIONS, statusCommand } from "./status.js";

const print = (line: string) => console.log(line);

/** The commander program; `exitOverride` turns usage errors into exceptions that {@link main} reports. */
export function buildProgram(): Command {
  const program = new Command("strata")
    .description("Strata protocol CLI: deploy, push and replay oracle prices, show the tiers' status, run the keeper")
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)");

  addOptions(
    program.command("deploy").description("deploy Strata (resumable: a re-run continues where the last stopped)"),
    DEPLOY_OPTIONS,
  ).action(async (flags: Record<string, unknown>) => deployCommand(await loadOptions(DEPLOY_OPTIONS, flags), print));

  const oracle = program.command("oracle").description("write prices into the deployment's mock feeds");
  addOptions(
    oracle
      .command("push")
      .description("push a price to every feed of an asset")
      .argument("<asset>", "oracle asset id, e.g. ETH/USD")
      .argument("<price>", "decimal price, e.g. 2900.5"),
    PUSH_OPTIONS,
  ).action(async (asset: string, price: string, flags: Record<string, unknown>) =>
    pushCommand(asset, price, await loadOptions(PUSH_OPTIONS, flags), print),
  );
  addOptions(
    oracle
      .command("replay")
      .description("replay a price path file (CSV or JSON) into the feeds")
      .argument("<file>", "price path: .csv or .json"),
    REPLAY_OPTIONS,
  ).action(async (file: string, flags: Record<string, unknown>) =>
    replayCommand(file, await loadOptions(REPLAY_OPTIONS, flags), print),
  );

  addOptions(
    program.command("status").description("per tier: accounts, open interest, insurance fund, pool equity"),
    STATUS_OPTIONS,
  ).action(async (flags: Record<string, unknown>) => statusCommand(await loadOptions(STATUS_OPTIONS, flags), print));

  const scenario = program.command("scenario").description("cascading-shock scenarios (DESIGN §8)");
  scenario
    .command("list")
    .description("the scenario files in scenarios/ and the generated cases")
    .action(async () => scenarioListCommand(print));
  addOptions(
    scenario
      .command("run")
      .description("run a scenario with keepers, print the per-tier table, write reports/stress-<name>.json and .html")
      .argument("<name>", "a scenario (strata scenario list)"),
    SCENARIO_RUN_OPTIONS,
  ).action(async (name: string, flags: Record<string, unknown>) =>
    scenarioRunCommand(
      name,
      await loadOptions(SCENARIO_RUN_OPTIONS, { ...flags, scenarioRpc: flags.rpc, reportsDir: flags.reports }),
      print,
    ),
  );

  addOptions(
    program.command("keeper").description("run the liquidation keeper until SIGINT or SIGTERM"),
    KEEPER_OPTIONS,
  ).action(async (flags: Record<string, unknown>) => keeperCommand(await loadOptions(KEEPER_OPTIONS, flags), print));

  for (const command of [program, oracle, scenario, ...program.commands, ...oracle.commands, ...scenario.commands]) {
    command.exitOverride();
  }
  return program;
}

/** Runs the CLI on `argv` (process.argv) and returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (error) {
    // Commander has printed its own message (or the help, or the version) already.
    if (error instanceof CommanderError) return error.exitCode;
    const { text, exitCode } = reportError(error);
    console.error(text);
    return exitCode;
  }
}

process.exitCode = await main(process.argv);
