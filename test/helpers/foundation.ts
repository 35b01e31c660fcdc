import { network } from "hardhat";

import { deployLocalFoundation as deployLocal } from "../../deploy/local.js";

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
export async function deployLocalFoundation(chain: Chain, options: { pools?: boolean } = {}) {
  const f = await deployLocal(await chain.ethers.getSigners(), { users: 4, pools: options.pools ?? false });
  const [alice, bob, carol, mallory] = f.users;
  return { ...f, alice: alice!, bob: bob!, carol: carol!, mallory: mallory! };
}
