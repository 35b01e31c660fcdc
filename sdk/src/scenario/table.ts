/**
 * The per-tier table of a stress report, as `npm start` and `strata scenario run` print it: liquidations
 * (partial + backstop), bad debt, what the insurance fund and the reserve absorbed, the pool's PnL, ADL events
 * and the firewall check. Amounts in whole dollars with cents, from the report's quote-WAD strings (exact:
 * bigint arithmetic, no floating point).
 */
import Table from "cli-table3";

import type { StressReport } from "./types.js";

/** A quote-WAD decimal string as dollars with thousands separators and cents, rounded toward zero. */
export function formatUsd(wad: string): string {
  const value = BigInt(wad);
  const negative = value < 0n;
  const cents = (negative ? -value : value) / 10n ** 16n;
  const whole = (cents / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const fraction = (cents % 100n).toString().padStart(2, "0");
  return `${negative && cents !== 0n ? "-" : ""}${whole}.${fraction}`;
}

/**
 * The report's per-tier table, with a title line naming the scenario and the run.
 *
 * @example
 * console.log(renderTierTable(report));
 * // 10 Oct 2025 … (USD)
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
      formatUsd(t.poolPnl),
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
  return (
    `${report.scenario.title} — ${report.scenario.points} points, oracle ${report.scenario.oracle.mode}, ` +
    `${report.scenario.keeperCapacityPerBlock} liquidations per block, on ${report.chain} in ${seconds} s (USD)\n` +
    `${table.toString()}\n${verdict}; peak keeper block ${report.gas.peakBlockGas.toLocaleString("en-US")} gas, ` +
    `${report.gas.liquidations.length} liquidation transactions`
  );
}
