/**
 * Collateral liquidation: an account with negative cash, no quote tokens and non-quote collateral (WETH, say)
 * can only pay its debt with that collateral. `LiquidationEngine.liquidateCollateral` lets a keeper repay the
 * debt with its own quote tokens and take collateral worth the repayment plus a 3% discount, at the oracle's
 * mid price. The keeper does it when configured with `collateralRepayMax` (quote token units per action; 0,
 * the default, disables it): it prices each action with the SDK's mirror of the engine's maths, keeps those its
 * wallet can fund, approves the engine for exactly what this round repays, and then simulates and checks each
 * one's profit (collateral value − repayment − gas) like any other action. The collateral lands in the keeper's
 * account of the tier (`(keeper, tier, 0)`), from which the operator withdraws it.
 */
import { Interface, type Provider } from "ethers";

import type { Logger } from "pino";

import {
  LiquidationEngine__factory,
  type CollateralVault,
  type OracleRouter,
  type RiskEngine,
} from "../../../types/index.js";
import { collateralLiquidation } from "../math/liquidationMath.js";
import type { PlannedAction, Skipped } from "./planner.js";
import type { ScannedAccount } from "./scanner.js";
import { message, type TxSender } from "./sender.js";

const LIQUIDATION = LiquidationEngine__factory.createInterface();
/** The ERC-20 functions the keeper calls on a tier's quote token. */
const ERC20 = new Interface([
  "function balanceOf(address owner) view returns (uint256)",
  "function allowance(address owner, address spender) view returns (uint256)",
  "function approve(address spender, uint256 amount) returns (bool)",
]);

/** Reads one uint256 view of `token`. */
async function readUint(provider: Provider, token: string, fn: string, args: unknown[]): Promise<bigint> {
  const result = await provider.call({ to: token, data: ERC20.encodeFunctionData(fn, args) });
  return ERC20.decodeFunctionResult(fn, result)[0] as bigint;
}

/** The contracts collateral planning reads. */
export interface CollateralContracts {
  risk: RiskEngine;
  oracle: OracleRouter;
  vault: CollateralVault;
}

export interface CollateralPlanOptions {
  liquidation: string;
  /** The most quote tokens (token units) one action repays. */
  repayMax: bigint;
  coolingOff?: (account: bigint) => boolean;
}

/**
 * A `liquidateCollateral` action for each scanned "collateral" account, priced with the engine's maths at the
 * oracle's current liquidation read: `expectedReward` is the seized collateral's value minus the repayment
 * (quote WAD), and `funding` the quote tokens the keeper pays.
 */
export async function planCollateralActions(
  scanned: readonly ScannedAccount[],
  contracts: CollateralContracts,
  options: CollateralPlanOptions,
): Promise<{ actions: PlannedAction[]; skipped: Skipped[] }> {
  const actions: PlannedAction[] = [];
  const skipped: Skipped[] = [];
  for (const s of scanned) {
    if (s.status !== "collateral" || s.collateralToken === undefined || s.cash === undefined) continue;
    if (options.coolingOff?.(s.account) === true) {
      skipped.push({ account: s.account, reason: "cooling off after a failure" });
      continue;
    }
    const token = s.collateralToken;
    const [tierConfig, risk, tokenConfig, balance] = await Promise.all([
      contracts.risk.tierConfig(s.tier),
      contracts.risk.collateralRisk(s.tier, token),
      contracts.vault.tokenConfig(token),
      contracts.vault.balanceOf(s.account, token),
    ]);
    const price = (await contracts.oracle.getPriceForLiquidation(risk.oracleAsset)).price;
    const plan = collateralLiquidation({
      cash: s.cash,
      quoteDecimals: Number(tierConfig.quoteDecimals),
      repay: options.repayMax,
      price,
      tokenDecimals: Number(tokenConfig.decimals),
      balance,
    });
    if (plan.repayTokens === 0n || plan.seized === 0n) {
      skipped.push({ account: s.account, reason: "collateral liquidation would repay or seize nothing" });
      continue;
    }
    actions.push({
      kind: "collateral",
      accounts: [s.account],
      to: options.liquidation,
      data: LIQUIDATION.encodeFunctionData("liquidateCollateral", [s.account, token, plan.repayTokens]),
      expectedReward: plan.seizedValue - plan.repaid,
      funding: { token: tierConfig.quoteToken, amount: plan.repayTokens },
    });
  }
  return { actions, skipped };
}

export interface FundingDeps {
  provider: Provider;
  /** The keeper's address (it pays and is approved from). */
  keeper: string;
  /** Who pulls the tokens: the liquidation engine. */
  spender: string;
  /** Sends the approvals; without one (a dry run) nothing is approved and unfunded actions are skipped. */
  sender: TxSender | undefined;
  logger: Logger;
}

/**
 * Keeps the actions the keeper's wallet can fund, most rewarding first, and makes sure the spender may pull
 * exactly what they repay: when its allowance falls short, the keeper approves this round's total (first
 * resetting a non-zero allowance for tokens that refuse to change one directly). Actions without `funding`
 * pass through.
 */
export async function fundActions(
  actions: readonly PlannedAction[],
  deps: FundingDeps,
): Promise<{ actions: PlannedAction[]; skipped: Skipped[] }> {
  const kept = actions.filter((a) => a.funding === undefined);
  const skipped: Skipped[] = [];
  const byToken = new Map<string, PlannedAction[]>();
  for (const a of actions) {
    if (a.funding === undefined) continue;
    const key = a.funding.token.toLowerCase();
    const list = byToken.get(key);
    if (list === undefined) byToken.set(key, [a]);
    else list.push(a);
  }
  for (const [token, list] of byToken) {
    const [balance, allowance] = await Promise.all([
      readUint(deps.provider, token, "balanceOf", [deps.keeper]),
      readUint(deps.provider, token, "allowance", [deps.keeper, deps.spender]),
    ]);
    const sorted = list.sort((a, b) =>
      b.expectedReward > a.expectedReward ? 1 : b.expectedReward < a.expectedReward ? -1 : 0,
    );
    let need = 0n;
    const funded: PlannedAction[] = [];
    for (const a of sorted) {
      const amount = a.funding!.amount;
      if (need + amount > balance) {
        skipped.push({
          account: a.accounts[0]!,
          reason: `the keeper's wallet holds ${balance} units of quote token ${token}, short of the ${need + amount} this round repays: fund it`,
        });
        continue;
      }
      need += amount;
      funded.push(a);
    }
    if (funded.length === 0) continue;
    if (allowance < need) {
      if (deps.sender === undefined) {
        for (const a of funded) {
          skipped.push({
            account: a.accounts[0]!,
            reason: `dry run: would first approve ${need} units of ${token} to the liquidation engine`,
          });
        }
        continue;
      }
      try {
        await approve(deps, token, allowance, need);
      } catch (error) {
        deps.logger.error({ token, amount: need.toString(), err: message(error) }, "approval failed");
        for (const a of funded) skipped.push({ account: a.accounts[0]!, reason: `approval failed: ${message(error)}` });
        continue;
      }
    }
    kept.push(...funded);
  }
  return { actions: kept, skipped };
}

/** Approves `amount` of `token` to the spender, through a zero allowance when the token needs one. */
async function approve(deps: FundingDeps, token: string, allowance: bigint, amount: bigint): Promise<void> {
  const data = ERC20.encodeFunctionData("approve", [deps.spender, amount]);
  if (allowance !== 0n) {
    // Some tokens (USDT) refuse to move an allowance from one non-zero value to another.
    const direct = await deps.provider.call({ to: token, data, from: deps.keeper }).then(
      (result) => ERC20.decodeFunctionResult("approve", result)[0] === true,
      () => false,
    );
    if (!direct) await send(deps, token, ERC20.encodeFunctionData("approve", [deps.spender, 0n]));
  }
  await send(deps, token, data);
  deps.logger.info({ token, spender: deps.spender, amount: amount.toString() }, "approved quote tokens");
}

async function send(deps: FundingDeps, to: string, data: string): Promise<void> {
  const { receipt } = await deps.sender!.send({ to, data });
  if (receipt.status !== 1) throw new Error(`approval ${receipt.hash} reverted`);
}
