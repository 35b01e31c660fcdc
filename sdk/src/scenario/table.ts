/**
 * The per-tier table of a stress report, as `npm start` and `strata scenario run` print it: liquidations
 * and backstops, bad debt, what the insurance fund and the reserve absorbed, the pool's PnL, ADL events and
 * the firewall check. Amounts in dollars and cents from the report's quote-WAD strings (html.ts's `formatUsd`:
 * bigint arithmetic, no floating point).
 */
import Table from "cli-table3";

import { formatUsd } from "./html.js";
import type { StressReport } from "./types.js";

/**
 * The report's per-tier table, with a title line naming the scenario and the run.
 *
 * @example
 * console.log(renderTierTable(report));
 * // 10 Oct 2025 … on hardhat (in-process) in 50.4 s
 * // ┌──────┬──────────┬─────────┬──────────┬─────────┬─────┬──────────┐ …
 */
export function renderTierTable(report: StressReport): string {
  const table = new Table({
    head: [
      "tier",
      "accounts",
      "liquidations",
      "backstops",
      "bad debt",
      "insurance used",
      "reserve used",
      "pool PnL",
      "ADL",
      "firewall",
    ],
    colAligns: ["left", "right", "right", "right", "right", "right", "right", "right", "right", "left"],
    style: { head: [], border: [] },
  });
  for (const t of report.tiers) {
    table.push([
      `${t.tier} ${t.name}`,
      t.accounts,
      t.liquidations,
      t.backstops,
      formatUsd(t.badDebt),
      formatUsd(t.insuranceUsed),
      formatUsd(t.reserveUsed),
      formatUsd(t.poolPnl, { signed: true }),
      t.adlCount,
      t.firewall.ok ? "ok" : "BREACHED",
    ]);
  }
  const failures = report.invariants.failures;
  const verdict =
    failures.length === 0
      ? `DESIGN §6: ${report.invariants.checks} checks, all passed`
      : `DESIGN §6: ${failures.length} of ${report.invariants.checks} checks FAILED:\n  ${failures.join("\n  ")}`;
  const seconds = (report.wallTimeMs / 1000).toFixed(1);
  const w = report.whale;
  const whale =
    w === undefined
      ? ""
      : `\nwhale: ${formatUsd(w.notional)} notional on ${formatUsd(w.margin)} margin, withdrew ${formatUsd(w.withdrawn)}; ` +
        `${w.takenOver ? "taken over by the backstop" : w.liquidations > 0 ? `${w.liquidations} partial liquidation(s)` : "never liquidated"}, ` +
        `final equity ${formatUsd(w.finalEquity, { signed: true })}`;
  return (
    `${report.scenario.title} — ${report.scenario.points} points, oracle ${report.scenario.oracle.mode}, ` +
    `${report.scenario.keeperCapacityPerBlock} liquidations per block, on ${report.chain} in ${seconds} s\n` +
    `${table.toString()}\n${verdict}; peak keeper block ${report.gas.peakBlockGas.toLocaleString("en-US")} gas, ` +
    `${report.gas.liquidations.length} liquidation transactions${whale}`
  );
}
