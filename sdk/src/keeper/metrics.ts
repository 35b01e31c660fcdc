/** The keeper's Prometheus metrics, in a registry of its own (never prom-client's global one). */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export function createKeeperMetrics() {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    accountsKnown: new Gauge({ name: "strata_keeper_accounts_known", help: "Accounts the indexer knows", registers }),
    accountsInShard: new Gauge({
      name: "strata_keeper_accounts_in_shard",
      help: "Known accounts this instance scans",
      registers,
    }),
    accountsByStatus: new Gauge({
      name: "strata_keeper_accounts_by_status",
      help: "Accounts per status at the last scan",
      labelNames: ["status"] as const,
      registers,
    }),
    lastIndexedBlock: new Gauge({ name: "strata_keeper_last_indexed_block", help: "Last indexed block", registers }),
    scans: new Counter({ name: "strata_keeper_scans_total", help: "Completed scans", registers }),
    scanDuration: new Histogram({
      name: "strata_keeper_scan_duration_seconds",
      help: "Duration of a scan",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    scanBatchFallbacks: new Counter({
      name: "strata_keeper_scan_batch_fallbacks_total",
      help: "Batched scan reads that failed and were read again one account at a time",
      registers,
    }),
    actions: new Counter({
      name: "strata_keeper_actions_total",
      help: "Actions by kind and result",
      labelNames: ["kind", "result"] as const,
      registers,
    }),
    profit: new Counter({
      name: "strata_keeper_profit_quote_total",
      help: "Keeper rewards minus gas cost of mined actions, in quote units",
      registers,
    }),
    gasUsed: new Counter({ name: "strata_keeper_gas_used_total", help: "Gas used by mined actions", registers }),
    gasSpent: new Counter({
      name: "strata_keeper_gas_spent_wei_total",
      help: "Fees paid for mined actions (wei)",
      registers,
    }),
    errors: new Counter({
      name: "strata_keeper_errors_total",
      help: "Errors by stage (each one logged and retried)",
      labelNames: ["stage"] as const,
      registers,
    }),
    loops: new Counter({ name: "strata_keeper_loops_total", help: "Successful loops", registers }),
  };
}

export type KeeperMetrics = ReturnType<typeof createKeeperMetrics>;

/** A WAD amount as a float for a metric (metrics are floats; precision beyond 1e-18 is not needed). */
export function wadToNumber(wad: bigint): number {
  return Number(wad) / 1e18;
}
