import { network } from "hardhat";

import { localFoundationConfig } from "../../deploy/local.js";
import { deployFoundation } from "../../sdk/src/deploy/foundation.js";

/** One embedded chain for a whole test file; `loadFixture` snapshots and restores it between tests. */
export async function connectChain() {
  return network.create();
}

export type Chain = Awaited<ReturnType<typeof connectChain>>;

/**
 * The local foundation deployment (deploy/local.ts) with named signers:
 * deployer = ADMIN, risk = RISK, guardian = GUARDIAN, oracleOperator = ORACLE, controller = CONTROLLER
 * (standing in for the clearing house), and users alice, bob, carol, mallory with no role.
 */
export async function deployLocalFoundation(chain: Chain) {
  const [deployer, risk, guardian, oracleOperator, controller, alice, bob, carol, mallory] =
    await chain.ethers.getSigners();
  const d = await deployFoundation(
    deployer!,
    localFoundationConfig({
      risk: risk!.address,
      guardian: guardian!.address,
      oracle: oracleOperator!.address,
      controller: controller!.address,
    }),
  );
  return {
    d,
    deployer: deployer!,
    risk: risk!,
    guardian: guardian!,
    oracleOperator: oracleOperator!,
    controller: controller!,
    alice: alice!,
    bob: bob!,
    carol: carol!,
    mallory: mallory!,
  };
}
