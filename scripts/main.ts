/**
 * README's main job, the stress demo: on the embedded chain it deploys Strata for the 10 Oct 2025 crash (BTC,
 * ETH, SOL and a long-tail asset), opens 300 accounts over the three tiers with their makers, LPs and insurance
 * funds, replays the crash with keepers liquidating at a capacity per block, checks DESIGN §6 after every step,
 * prints the per-tier table and writes reports/stress-<scenario>.json and .html. Exits non-zero when an
 * invariant fails or a tier's firewall is breached.
 *
 *   npm start                                                 # the default scenario, embedded chain
 *   STRATA_SCENARIO=mar-2020 npm start                        # another (strata scenario list names them)
 *   npx hardhat run scripts/main.ts --network localhost       # a node on 127.0.0.1:8545
 */
import { network } from "hardhat";

import { DEFAULT_SCENARIO, resolveScenario, runAndReport, scenarioEnvironment } from "../sdk/src/scenario/run.js";
import { renderTierTable } from "../sdk/src/scenario/table.js";

const started = Date.now();
const log = (line: string) => console.log(`  [${((Date.now() - started) / 1000).toFixed(1)}s] ${line}`);

const name = process.env.STRATA_SCENARIO ?? DEFAULT_SCENARIO;
const scenario = await resolveScenario(name);
const { ethers, networkName } = await network.create();
console.log(`Strata stress demo: "${scenario.title}" on network "${networkName}"`);
const chain = networkName === "default" ? "hardhat (in-process)" : networkName;
const env = scenarioEnvironment(ethers.provider, await ethers.getSigners(), chain);
const { run, files } = await runAndReport(scenario, env, { progress: log });
console.log(`\n${renderTierTable(run.report)}`);
console.log(`\nwrote ${files.json} and ${files.html} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
const breached = run.report.tiers.filter((t) => !t.firewall.ok);
if (run.report.invariants.failures.length > 0 || breached.length > 0) process.exitCode = 1;
