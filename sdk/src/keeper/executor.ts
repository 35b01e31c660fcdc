/**
 * Executing evaluated actions: refused ones are counted (and their accounts cool off when the action itself
 * failed), accepted ones are logged and — unless in dry-run — sent through the {@link TxSender}, their mined
 * result counted by kind and result, with profit and gas spent.
 */
import type { Logger } from "pino";

import { gasLimitFor } from "../shared/gas.js";
import { mapBounded } from "./concurrency.js";
import { wadToNumber, type KeeperMetrics } from "./metrics.js";
import type { EvaluatedAction } from "./planner.js";
import { message, type TxSender } from "./sender.js";

export type ActionResult = "success" | "reverted" | "error" | "dry_run" | "refused" | "simulation_failed";

export interface ExecutedAction {
  evaluated: EvaluatedAction;
  result: ActionResult;
  hash?: string;
  gasUsed?: bigint;
}

export interface ExecutorOptions {
  sender: TxSender | undefined;
  dryRun: boolean;
  coolOffMs: number;
  concurrency: number;
  metrics: KeeperMetrics;
  logger: Logger;
  /** Gas limit over the estimate, bps (config `gasHeadroomBps`). */
  gasHeadroomBps: number;
}

export { gasLimitFor, MAX_TRANSACTION_GAS } from "../shared/gas.js";

export class ActionExecutor {
  private readonly coolOffUntil = new Map<bigint, number>();

  constructor(private readonly options: ExecutorOptions) {}

  /** Whether `account` is cooling off after a failed action. */
  coolingOff(account: bigint, now = Date.now()): boolean {
    const until = this.coolOffUntil.get(account);
    if (until === undefined) return false;
    if (until > now) return true;
    this.coolOffUntil.delete(account);
    return false;
  }

  async execute(evaluated: readonly EvaluatedAction[]): Promise<ExecutedAction[]> {
    return mapBounded(evaluated, this.options.concurrency, (e) => this.executeOne(e));
  }

  private async executeOne(e: EvaluatedAction): Promise<ExecutedAction> {
    const { metrics, logger } = this.options;
    const { action } = e;
    const fields = {
      kind: action.kind,
      accounts: action.accounts.map((a) => `0x${a.toString(16)}`),
      market: action.market,
      reward: action.expectedReward.toString(),
      gasCost: e.gasCost.toString(),
      profit: e.profit.toString(),
    };
    if (!e.ok) {
      const result: ActionResult = e.failed === true ? "simulation_failed" : "refused";
      if (e.failed === true) this.coolOff(action.accounts);
      metrics.actions.inc({ kind: action.kind, result });
      logger.info({ ...fields, reason: e.reason }, "action refused");
      return { evaluated: e, result };
    }
    if (this.options.dryRun || this.options.sender === undefined) {
      metrics.actions.inc({ kind: action.kind, result: "dry_run" });
      logger.info({ ...fields, gasEstimate: e.gasEstimate.toString() }, "dry run: would send");
      return { evaluated: e, result: "dry_run" };
    }
    try {
      const sent = await this.options.sender.send({
        to: action.to,
        data: action.data,
        gasLimit: gasLimitFor(e.gasEstimate, this.options.gasHeadroomBps),
      });
      const { receipt } = sent;
      const gasSpent = receipt.gasUsed * receipt.gasPrice;
      metrics.gasUsed.inc(Number(receipt.gasUsed));
      metrics.gasSpent.inc(Number(gasSpent));
      if (receipt.status !== 1) {
        this.coolOff(action.accounts);
        metrics.actions.inc({ kind: action.kind, result: "reverted" });
        logger.warn({ ...fields, hash: receipt.hash }, "action reverted on chain");
        return { evaluated: e, result: "reverted", hash: receipt.hash, gasUsed: receipt.gasUsed };
      }
      metrics.actions.inc({ kind: action.kind, result: "success" });
      metrics.profit.inc(Math.max(0, wadToNumber(e.profit)));
      logger.info(
        { ...fields, hash: receipt.hash, gasUsed: receipt.gasUsed.toString(), replacements: sent.replacements },
        "action mined",
      );
      return { evaluated: e, result: "success", hash: receipt.hash, gasUsed: receipt.gasUsed };
    } catch (error) {
      this.coolOff(action.accounts);
      metrics.actions.inc({ kind: action.kind, result: "error" });
      metrics.errors.inc({ stage: "send" });
      logger.error({ ...fields, err: message(error) }, "action failed");
      return { evaluated: e, result: "error" };
    }
  }

  private coolOff(accounts: readonly bigint[]) {
    const until = Date.now() + this.options.coolOffMs;
    for (const a of accounts) this.coolOffUntil.set(a, until);
  }
}
