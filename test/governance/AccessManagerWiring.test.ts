import { expect } from "chai";
import { parseUnits, type BaseContract, type FunctionFragment } from "ethers";

import { localFoundationConfig } from "../../deploy/local.js";
import { deployFoundation } from "../../sdk/src/deploy/foundation.js";
import { FUNCTION_ROLES, Role, type ModuleName } from "../../sdk/src/deploy/roles.js";
import { connectChain, deployLocalFoundation } from "../helpers/foundation.js";

const chain = await connectChain();
const { ethers, networkHelpers } = chain;
const foundation = () => deployLocalFoundation(chain, { pools: true });

/** Functions anyone may call, by design; every other state-changing function must be restricted. */
const PUBLIC_FUNCTIONS: Record<ModuleName, string[]> = {
  vault: ["deposit", "fundReserve", "payClaim", "setClaimReceiver"],
  oracle: ["poke", "tripBreaker"],
  risk: [],
  clearing: ["setOperator", "withdraw", "settle", "accrueFunding"],
  execution: ["settleMatch", "tradeWithPool", "cancel", "setMinNonce"],
  pool: ["deposit", "mint", "withdraw", "redeem", "requestRedeem", "transfer", "transferFrom", "approve"],
};
/** Inherited from AccessManaged: only the current authority may call it. */
const AUTHORITY_HOOKS = ["setAuthority"];

function stateChanging(contract: BaseContract): FunctionFragment[] {
  const fragments: FunctionFragment[] = [];
  contract.interface.forEachFunction((f) => {
    if (!f.constant) fragments.push(f);
  });
  return fragments;
}

describe("Governance (AccessManager wiring)", () => {
  it("maps every state-changing function of each module to its role, leaving only the intended ones public", async () => {
    const { d } = await networkHelpers.loadFixture(foundation);
    const modules = {
      vault: d.vault,
      oracle: d.oracle,
      risk: d.risk,
      clearing: d.clearing,
      execution: d.execution,
      pool: d.pools[1]!,
    } as const;
    for (const [name, contract] of Object.entries(modules) as [ModuleName, BaseContract][]) {
      const mapped = FUNCTION_ROLES[name] as Record<string, keyof typeof Role>;
      for (const fragment of stateChanging(contract)) {
        if (PUBLIC_FUNCTIONS[name].includes(fragment.name) || AUTHORITY_HOOKS.includes(fragment.name)) continue;
        const role = mapped[fragment.name];
        expect(role, `${name}.${fragment.name} is neither public nor in FUNCTION_ROLES`).to.not.equal(undefined);
        expect(
          await d.manager.getTargetFunctionRole(await contract.getAddress(), fragment.selector),
          `${name}.${fragment.name}`,
        ).to.equal(Role[role!]);
      }
    }
  });

  it("GUARDIAN's only powers are to pause deposits and risk-increasing trades: it can never block exits", () => {
    const guardianFunctions = Object.entries(FUNCTION_ROLES).flatMap(([module, fns]) =>
      Object.entries(fns)
        .filter(([, role]) => role === "GUARDIAN")
        .map(([fn]) => `${module}.${fn}`),
    );
    expect(guardianFunctions).to.deep.equal(["vault.pauseDeposits", "execution.pauseRiskIncrease"]);
  });

  it("role members with an execution delay must schedule, wait, then execute", async () => {
    const [deployer, risk, guardian, oracleOperator, controller] = await ethers.getSigners();
    const config = localFoundationConfig({
      risk: risk!.address,
      guardian: guardian!.address,
      oracle: oracleOperator!.address,
      controller: controller!.address,
    });
    const d = await deployFoundation(deployer!, { ...config, delays: { admin: 2 * 86400, risk: 3600, oracle: 1800 } });
    const usdc = d.tokens.USDC!;
    const vaultAddress = await d.vault.getAddress();
    const newCap = parseUnits("60000000", 6);
    const call = d.vault.interface.encodeFunctionData("setDepositCap", [0, usdc.address, newCap]);

    // A direct call is not immediate: the manager finds no scheduled operation to consume.
    await expect(d.vault.connect(risk!).setDepositCap(0, usdc.address, newCap)).to.be.revertedWithCustomError(
      d.manager,
      "AccessManagerNotScheduled",
    );
    await d.manager.connect(risk!).schedule(vaultAddress, call, 0);
    const operationId = await d.manager.hashOperation(risk!.address, vaultAddress, call);
    await expect(d.manager.connect(risk!).execute(vaultAddress, call))
      .to.be.revertedWithCustomError(d.manager, "AccessManagerNotReady")
      .withArgs(operationId);
    await networkHelpers.time.increase(3600);
    await expect(d.manager.connect(risk!).execute(vaultAddress, call))
      .to.emit(d.vault, "DepositCapSet")
      .withArgs(0, usdc.address, parseUnits("50000000", 6), newCap);

    // The guardian acts at once, and ADMIN's own actions now wait two days.
    await d.vault.connect(guardian!).pauseDeposits();
    await expect(d.vault.unpauseDeposits()).to.be.revertedWithCustomError(d.manager, "AccessManagerNotScheduled");
  });
});
