/**
 * Governance through the client: Strata's roles (deploy/roles.ts) in its OpenZeppelin AccessManager, and the
 * manager's delayed calls.
 *
 * Delays. Each role holder is granted with an execution delay (the deployment config's `delays`: e.g. RISK
 * and ORACLE on testnets). A holder with a delay cannot call a restricted function directly (it reverts with
 * `AccessManagerNotScheduled`): it {@link GovernanceModule.schedule}s the call in the manager, waits the delay,
 * then {@link GovernanceModule.execute}s it through the manager, from the same address, before the schedule
 * expires (`expiration()` after its time, a week by default). Meanwhile anyone can see the pending call (an
 * `OperationScheduled` event, {@link GovernanceModule.operationStatus}) and the role's guardian (GUARDIAN for
 * RISK and ORACLE) can cancel it. A holder without a delay calls the module directly
 * (`client.contracts.risk.setMarketRisk(...)`), and cannot schedule (`AccessManagerUnauthorizedCall`).
 */
import { dataSlice, type BytesLike } from "ethers";

import { Role, type RoleName } from "../../deploy/roles.js";
import { formatRole } from "../errorCatalog.js";
import { bind, type ClientContext, type StrataContracts } from "../context.js";

/** A call's target: a module of the client by name, or an address (a tier's pool, say). */
export type GovernanceTarget = keyof StrataContracts | `0x${string}`;

/** A call through the AccessManager: its target and calldata (`contract.interface.encodeFunctionData(...)`). */
export interface ManagedCall {
  target: GovernanceTarget;
  data: BytesLike;
}

/** A role by Strata's name or by id. */
export type RoleRef = RoleName | bigint;

/** Whether an account holds a role, and its execution delay (seconds; 0: it calls directly). */
export interface RoleMembership {
  isMember: boolean;
  executionDelay: bigint;
}

/** A scheduled call as the manager holds it. */
export interface OperationStatus {
  operationId: string;
  /** When it may execute (unix seconds); 0 when not scheduled, or executed, cancelled or expired. */
  scheduledFor: bigint;
  /** Whether it may execute now. */
  ready: boolean;
  /** The last second at which it may execute (0 when not scheduled). */
  expiresAt: bigint;
}

export function createGovernanceModule(ctx: ClientContext) {
  const manager = ctx.contracts.manager;
  const roleId = (role: RoleRef): bigint => (typeof role === "bigint" ? role : Role[role]);

  function target(t: GovernanceTarget): string {
    return Object.hasOwn(ctx.contracts, t) ? ctx.addresses[t as keyof StrataContracts] : t;
  }

  async function operationId(call: ManagedCall & { caller?: string }): Promise<string> {
    const caller = call.caller ?? (await ctx.signerAddress("governance.operationId"));
    return ctx.read(manager.hashOperation(caller, target(call.target), call.data));
  }

  return {
    /**
     * Strata's role ids by name.
     *
     * @example
     * client.governance.roles.RISK; // -> 1n
     */
    roles: Role,

    /**
     * A role id with its name, as messages show it.
     *
     * @example
     * client.governance.roleLabel(1n); // -> "RISK (role 1)"
     */
    roleLabel: (role: RoleRef): string => formatRole(roleId(role)),

    /**
     * Whether `account` holds `role`, and with which execution delay.
     *
     * @example
     * const { isMember, executionDelay } = await client.governance.hasRole("RISK", riskDesk);
     */
    async hasRole(role: RoleRef, account: string): Promise<RoleMembership> {
      const [isMember, executionDelay] = await ctx.read(manager.hasRole(roleId(role), account));
      return { isMember, executionDelay };
    },

    /**
     * Whether `caller` may call the function of `call.data` on `call.target` at once, or only after `delay`
     * through a schedule (immediate false, delay 0: not at all).
     *
     * @example
     * const data = client.contracts.vault.interface.encodeFunctionData("setDepositCap", [1, usdc, cap]);
     * const { immediate, delay } = await client.governance.canCall(riskDesk, { target: "vault", data });
     */
    async canCall(caller: string, call: ManagedCall): Promise<{ immediate: boolean; delay: bigint }> {
      const [immediate, delay] = await ctx.read(
        manager.canCall(caller, target(call.target), dataSlice(call.data, 0, 4)),
      );
      return { immediate, delay };
    },

    /**
     * Grants `role` to `account` with an execution delay in seconds (ADMIN; the role's grant delay applies).
     *
     * @example
     * await client.governance.grantRole({ role: "RISK", account: riskDesk, executionDelay: 86_400n });
     */
    grantRole: ctx.write("governance.grantRole", (p: { role: RoleRef; account: string; executionDelay?: bigint }) =>
      bind(manager.grantRole, roleId(p.role), p.account, p.executionDelay ?? 0n),
    ),

    /**
     * Revokes `role` from `account` (ADMIN).
     *
     * @example
     * await client.governance.revokeRole({ role: "ORACLE", account: oldBot });
     */
    revokeRole: ctx.write("governance.revokeRole", (p: { role: RoleRef; account: string }) =>
      bind(manager.revokeRole, roleId(p.role), p.account),
    ),

    /**
     * Schedules a delayed call (see the module's header): it may execute from `when` (unix seconds), or from
     * now + the signer's delay when `when` is omitted. `staticCall` returns the operation id and nonce.
     *
     * @example
     * const data = client.contracts.vault.interface.encodeFunctionData("setDepositCap", [1, usdc, cap]);
     * await client.governance.schedule({ target: "vault", data }, { wait: true });
     * // … after the delay:
     * await client.governance.execute({ target: "vault", data });
     */
    schedule: ctx.write("governance.schedule", (p: ManagedCall & { when?: bigint }) =>
      bind(manager.schedule, target(p.target), p.data, p.when ?? 0n),
    ),

    /**
     * Executes a call through the manager: a scheduled one once its time has come (from the address that
     * scheduled it), or one the signer may make at once. It reverts with `AccessManagerNotReady` before the
     * time and `AccessManagerExpired` after the window.
     *
     * @example
     * await client.governance.execute({ target: "vault", data }, { wait: true });
     */
    execute: ctx.write("governance.execute", (p: ManagedCall) => bind(manager.execute, target(p.target), p.data)),

    /**
     * Cancels a scheduled call: its scheduler, the role's guardian or an ADMIN.
     *
     * @example
     * await client.governance.cancel({ caller: riskDesk, target: "vault", data });
     */
    cancel: ctx.write("governance.cancel", (p: ManagedCall & { caller: string }) =>
      bind(manager.cancel, p.caller, target(p.target), p.data),
    ),

    /**
     * The id of a call scheduled by `caller` (the signer by default).
     *
     * @example
     * const id = await client.governance.operationId({ target: "vault", data });
     */
    operationId,

    /**
     * Where a call scheduled by `caller` (the signer by default) stands: when it may execute, whether it may
     * now, and until when.
     *
     * @example
     * const { ready, scheduledFor } = await client.governance.operationStatus({ target: "vault", data });
     */
    async operationStatus(call: ManagedCall & { caller?: string }): Promise<OperationStatus> {
      const id = await operationId(call);
      const [scheduledFor, expiration, now] = await Promise.all([
        ctx.read(manager.getSchedule(id)),
        ctx.read(manager.expiration()),
        ctx.now(),
      ]);
      const expiresAt = scheduledFor === 0n ? 0n : scheduledFor + expiration;
      return { operationId: id, scheduledFor, ready: scheduledFor !== 0n && now >= scheduledFor, expiresAt };
    },
  };
}

export type GovernanceModule = ReturnType<typeof createGovernanceModule>;
