import { scenarioEnvironment } from "../../sdk/src/scenario/run.js";
import type { ScenarioEnvironment } from "../../sdk/src/scenario/runner.js";
import { connectChain } from "./foundation.js";

/** A fresh embedded chain for one scenario run, its first seven accounts in the run's roles. */
export async function embeddedScenarioEnvironment(): Promise<ScenarioEnvironment> {
  const { ethers } = await connectChain();
  return scenarioEnvironment(ethers.provider, await ethers.getSigners(), "hardhat (in-process)");
}
