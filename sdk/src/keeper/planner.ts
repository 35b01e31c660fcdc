/**
 * Action planning: from the scanner's classification, the planner picks each account's action — a partial
 * liquidation or a backstop takeover by `liquidate`, `liquidateBatch` in chunks when many accounts of one market
 * are liquidatable at once (a cascade), a settlement when configured — then simulates it from the keeper's
 * address, estimates its gas and accepts it only when the keeper reward minus the gas cost (converted to quote
 * at the oracle's gas-token price) reaches the minimum profit.
 */
import type { Provider } from "ethers";

import { ClearingHouse__factory, LiquidationEngine__factory } from "../../../types/index.js";
import { decodeStrataError } from "../client/errors.js";
import type { ScannedAccount } from "./scanner.js";
import { message } from "./sender.js";

const LIQUIDATION = LiquidationEngine__factory.createInterface();
const CLEARING = ClearingHouse__factory.createInterface();
const WAD = 10n ** 18n;

export type ActionKind = "liquidate" | "backstop" | "batch" | "settle" | "collateral";

/** One transaction the keeper may send. */
export interface PlannedAction {
  kind: ActionKind;
  accounts: bigint[];
  market?: number;
  to: string;
  data: string;
  /** Σ keeper reward the previews promise (quote WAD); for a collateral liquidation, collateral value − repayment. */
  expectedReward: bigint;
  /** Tokens the keeper pays from its wallet (a collateral liquidation's repayment, token units). */
  funding?: { token: string; amount: bigint };
}

/** An account the planner leaves alone this round, and why. */
export interface Skipped {
  account: bigint;
  reason: string;
}

export interface PlanOptions {
  liquidation: string;
  clearing: string;
  /** Accounts liquidatable in one market from which liquidateBatch is used. */
  cascadeThreshold: number;
  batchSize: number;
  /** Settle accounts with negative cash. */
  settle: boolean;
  /** Whether collateral liquidations are planned (by planCollateralActions); otherwise they are skipped. */
  collateral?: boolean;
  /** Whether an account is cooling off after a failure. */
  coolingOff?: (account: bigint) => boolean;
}

/** Chooses the actions for `scanned` accounts (pure: no RPC). */
export function planActions(
  scanned: readonly ScannedAccount[],
  options: PlanOptions,
): { actions: PlannedAction[]; skipped: Skipped[] } {
  const actions: PlannedAction[] = [];
  const skipped: Skipped[] = [];
  const byMarket = new Map<number, ScannedAccount[]>();
  for (const s of scanned) {
    if (s.status === "healthy") continue;
    if (options.coolingOff?.(s.account) === true) {
      skipped.push({ account: s.account, reason: "cooling off after a failure" });
      continue;
    }
    if (s.status === "backstop" || s.status === "liquidatable") {
      const list = byMarket.get(s.market!) ?? [];
      list.push(s);
      byMarket.set(s.market!, list);
    } else if (s.status === "settle") {
      if (options.settle) {
        actions.push({
          kind: "settle",
          accounts: [s.account],
          to: options.clearing,
          data: CLEARING.encodeFunctionData("settle", [s.account]),
          expectedReward: 0n,
        });
      } else skipped.push({ account: s.account, reason: "settlement disabled (no reward)" });
    } else if (!options.collateral) {
      skipped.push({
        account: s.account,
        reason: "collateral liquidation disabled: it repays debt with the keeper's quote tokens (collateralRepayMax)",
      });
    }
    // Otherwise planCollateralActions (collateral.ts) prices it: that needs reads.
  }
  for (const [market, list] of byMarket) {
    if (list.length >= options.cascadeThreshold) {
      // Most rewarding first, so the first chunks are the ones worth most.
      const sorted = [...list].sort((a, b) =>
        b.keeperReward > a.keeperReward ? 1 : b.keeperReward < a.keeperReward ? -1 : 0,
      );
      for (let i = 0; i < sorted.length; i += options.batchSize) {
        const chunk = sorted.slice(i, i + options.batchSize);
        const accounts = chunk.map((s) => s.account);
        actions.push({
          kind: "batch",
          accounts,
          market,
          to: options.liquidation,
          data: LIQUIDATION.encodeFunctionData("liquidateBatch", [accounts, accounts.map(() => market)]),
          expectedReward: chunk.reduce((sum, s) => sum + s.keeperReward, 0n),
        });
      }
    } else {
      for (const s of list) {
        actions.push({
          kind: s.status === "backstop" ? "backstop" : "liquidate",
          accounts: [s.account],
          market,
          to: options.liquidation,
          data: LIQUIDATION.encodeFunctionData("liquidate", [s.account, market, 0n]),
          expectedReward: s.keeperReward,
        });
      }
    }
  }
  return { actions, skipped };
}

/** The economics of sending an action now. */
export interface GasContext {
  /** Fee per gas the keeper expects to pay (wei). */
  gasPrice: bigint;
  /** Quote WAD per gas token (WAD): the oracle's price of the gas asset. */
  gasTokenPrice: bigint;
  minProfit: bigint;
  gasPriceCap: bigint;
  keeper: string;
}

/** An action with its verdict. */
export interface EvaluatedAction {
  action: PlannedAction;
  ok: boolean;
  /** Why it is refused (when not ok). */
  reason?: string;
  /** Whether the refusal is the action's own failure (the accounts then cool off). */
  failed?: boolean;
  gasEstimate: bigint;
  /** Gas cost in quote WAD. */
  gasCost: bigint;
  /** expectedReward − gasCost (quote WAD). */
  profit: bigint;
}

/** The gas cost of `gas` units in quote WAD. */
export function gasCostInQuote(gas: bigint, gasPrice: bigint, gasTokenPrice: bigint): bigint {
  return (gas * gasPrice * gasTokenPrice + WAD - 1n) / WAD;
}

/**
 * Simulates `action` from the keeper (eth_call), estimates its gas and checks its profit. A revert refuses it
 * with the decoded error as the reason; so does a gas price above the cap or a profit under the minimum.
 */
export async function evaluateAction(
  provider: Provider,
  action: PlannedAction,
  ctx: GasContext,
): Promise<EvaluatedAction> {
  const refuse = (reason: string, failed: boolean, gasEstimate = 0n, gasCost = 0n): EvaluatedAction => ({
    action,
    ok: false,
    reason,
    failed,
    gasEstimate,
    gasCost,
    profit: action.expectedReward - gasCost,
  });
  if (ctx.gasPrice > ctx.gasPriceCap) {
    return refuse(`gas price ${ctx.gasPrice} above the cap ${ctx.gasPriceCap}`, false);
  }
  const tx = { to: action.to, data: action.data, from: ctx.keeper };
  let gasEstimate: bigint;
  try {
    const result = await provider.call(tx);
    if (action.kind === "batch") {
      const [liquidated] = LIQUIDATION.decodeFunctionResult("liquidateBatch", result) as unknown as [bigint];
      if (liquidated === 0n) return refuse("the batch would liquidate no account", true);
    }
    gasEstimate = await provider.estimateGas(tx);
  } catch (error) {
    const decoded = decodeStrataError(error);
    // Not a revert (a dropped connection, a node error): the loop retries it, the accounts do not cool off.
    if (decoded === undefined && (error as { code?: unknown }).code !== "CALL_EXCEPTION") throw error;
    return refuse(`simulation reverted: ${decoded?.message ?? message(error)}`, true);
  }
  const gasCost = gasCostInQuote(gasEstimate, ctx.gasPrice, ctx.gasTokenPrice);
  const profit = action.expectedReward - gasCost;
  if (action.kind !== "settle" && profit < ctx.minProfit) {
    return refuse(
      `unprofitable: reward ${action.expectedReward} − gas ${gasCost} < min ${ctx.minProfit}`,
      false,
      gasEstimate,
      gasCost,
    );
  }
  return { action, ok: true, gasEstimate, gasCost, profit };
}
