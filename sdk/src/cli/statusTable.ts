import Table from "cli-table3";
import { formatUnits } from "ethers";

import type { AccountStatus, FoundationStatus } from "../client/foundationStatus.js";

function amount(value: bigint, decimals: number, digits = 2): string {
  const [whole, fraction = ""] = formatUnits(value, decimals).split(".");
  const grouped = whole!.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return digits === 0 ? grouped : `${grouped}.${fraction.padEnd(digits, "0").slice(0, digits)}`;
}

/** Renders a foundation status as readable terminal tables. */
export function renderFoundationStatus(status: FoundationStatus, decimalsOf: (symbol: string) => number): string {
  const tiers = new Table({
    head: ["tier", "token", "deposited", "deposit cap", "used", "outflow now", "reserve available"],
    colAligns: ["left", "left", "right", "right", "right", "right", "right"],
  });
  for (const t of status.tiers) {
    const dec = decimalsOf(t.token);
    const used = t.depositCap === 0n ? 0 : Number((t.total * 10_000n) / t.depositCap) / 100;
    tiers.push([
      `${t.tier} ${t.tierName}`,
      t.token,
      amount(t.total, dec),
      amount(t.depositCap, dec, 0),
      `${used.toFixed(2)}%`,
      amount(t.outflowAvailable, dec),
      amount(t.reserveAvailable, dec),
    ]);
  }

  const custody = new Table({
    head: ["token", "vault balance", "ledger + reserve + claims", "queued claims", "solvent (§6.1)"],
    colAligns: ["left", "right", "right", "right", "center"],
  });
  for (const c of status.custody) {
    custody.push([
      c.token,
      amount(c.vaultBalance, c.decimals),
      amount(c.ledgerTotal, c.decimals),
      amount(c.queued, c.decimals),
      c.solvent ? "yes" : "NO",
    ]);
  }

  const prices = new Table({
    head: ["asset", "price", "band (conservative)", "status", "risk-increase"],
    colAligns: ["left", "right", "right", "left", "center"],
  });
  for (const p of status.prices) {
    prices.push([
      p.asset,
      amount(p.price, 18),
      `${amount(p.lower, 18)} – ${amount(p.upper, 18)}`,
      p.flags.length === 0 ? "OK" : p.flags.join(", "),
      p.riskIncreaseAllowed ? "allowed" : "blocked",
    ]);
  }

  return [
    "Tiers (vault layer)",
    tiers.toString(),
    "Custody",
    custody.toString(),
    `Oracle${status.depositsPaused ? "   [deposits paused]" : ""}`,
    prices.toString(),
  ].join("\n");
}

function signedAmount(value: bigint, decimals: number, digits = 2): string {
  return value < 0n ? `-${amount(-value, decimals, digits)}` : amount(value, decimals, digits);
}

/** Renders accounts' margin (clearing layer): positions, equity against IM and MM, and their state. */
export function renderAccounts(accounts: AccountStatus[], marketName: (id: number) => string): string {
  const table = new Table({
    head: ["account", "tier", "positions", "cash", "unrealized PnL", "equity", "IM", "MM", "state"],
    colAligns: ["left", "right", "left", "right", "right", "right", "right", "right", "left"],
  });
  for (const a of accounts) {
    const positions = a.positions.map((p) => `${signedAmount(p.size, 18, 4)} ${marketName(p.market)}`).join(", ");
    const state = a.equity < a.mm ? "LIQUIDATABLE" : a.equity < a.im ? "below IM" : "healthy";
    table.push([
      a.label,
      String(a.tier),
      positions || "-",
      signedAmount(a.cash, 18),
      signedAmount(a.unrealizedPnl, 18),
      signedAmount(a.equity, 18),
      amount(a.im, 18),
      amount(a.mm, 18),
      state,
    ]);
  }
  return ["Accounts (clearing layer, conservative side of every price band)", table.toString()].join("\n");
}

/** One tier at a glance (`strata status`): quote amounts in the quote token's units, cash and OI in WAD. */
export interface TierSummary {
  tier: number;
  depth: number;
  quote: string;
  quoteDecimals: number;
  /** Accounts that ever traded in the tier. */
  accounts: number;
  /** Of those, the ones the liquidation engine would liquidate now. */
  liquidatable: number;
  /** Open interest by market name (WAD size). */
  openInterest: { market: string; oi: bigint }[];
  /** The insurance fund: its cash (quote WAD, signed) and its quote token balance in the vault. */
  insuranceCash: bigint;
  insuranceTokens: bigint;
  /** The backstop pool's totalAssets (quote token units); undefined when the tier has no pool. */
  poolEquity: bigint | undefined;
}

/** Renders a table with a row per tier. */
export function renderTierSummaries(tiers: TierSummary[]): string {
  const table = new Table({
    head: ["tier", "accounts", "open interest", "insurance fund", "pool equity", "liquidatable"],
    colAligns: ["left", "right", "left", "right", "right", "right"],
  });
  for (const t of tiers) {
    table.push([
      `tier ${t.tier} (depth ${t.depth})`,
      String(t.accounts),
      t.openInterest.map((m) => `${m.market} ${amount(m.oi, 18, 4)}`).join("\n") || "-",
      `cash ${signedAmount(t.insuranceCash, 18)}\n${t.quote} ${amount(t.insuranceTokens, t.quoteDecimals)}`,
      t.poolEquity === undefined ? "no pool" : `${amount(t.poolEquity, t.quoteDecimals)} ${t.quote}`,
      String(t.liquidatable),
    ]);
  }
  return ["Tiers", table.toString()].join("\n");
}

/**
 * `strata status --json`: the network, chain id and every tier's summary, bigints as decimal strings in their
 * raw units (open interest and insurance cash in WAD, token balances and pool equity in the quote token's
 * units), a tier without a pool with `poolEquity: null`.
 */
export function tierSummariesJson(network: string, chainId: number, tiers: TierSummary[]): string {
  return JSON.stringify(
    { network, chainId, tiers },
    (_, value: unknown) => (typeof value === "bigint" ? value.toString() : value === undefined ? null : value),
    2,
  );
}
