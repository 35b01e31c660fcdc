import type { FoundationDeployment } from "../deploy/foundation.js";
import { decodePriceFlags, type PriceFlagName } from "../oracle/flags.js";

/** One tier's figures for one token. */
export interface TierTokenStatus {
  tier: number;
  tierName: string;
  token: string;
  total: bigint;
  depositCap: bigint;
  reserveAvailable: bigint;
  /** What may leave this tier at once (each tier has its own outflow limiter per token). */
  outflowAvailable: bigint;
}

/** The vault's custody of one token, and whether its solvency invariant (DESIGN §6.1) holds. */
export interface TokenCustodyStatus {
  token: string;
  decimals: number;
  vaultBalance: bigint;
  ledgerTotal: bigint;
  reserve: bigint;
  queued: bigint;
  solvent: boolean;
}

/** An oracle asset as the strict and the liquidation reads see it. */
export interface AssetPriceStatus {
  asset: string;
  price: bigint;
  lower: bigint;
  upper: bigint;
  flags: PriceFlagName[];
  riskIncreaseAllowed: boolean;
}

export interface FoundationStatus {
  tiers: TierTokenStatus[];
  custody: TokenCustodyStatus[];
  prices: AssetPriceStatus[];
  depositsPaused: boolean;
}

/** Reads the status of a foundation deployment: per-tier totals, custody and solvency, and prices. */
export async function readFoundationStatus(d: FoundationDeployment): Promise<FoundationStatus> {
  const tiers: TierTokenStatus[] = [];
  const ledgerByToken = new Map<string, bigint>();
  for (const tier of d.config.tiers) {
    for (const dep of tier.deposits) {
      const token = d.tokens[dep.token]!;
      const [total, depositCap] = await d.vault.tierTotal(tier.id, token.address);
      const reserveAvailable = await d.vault.reserveAvailable(tier.id, token.address);
      const outflowAvailable = await d.vault.availableOutflow(tier.id, token.address);
      tiers.push({
        tier: tier.id,
        tierName: tier.name,
        token: token.symbol,
        total,
        depositCap,
        reserveAvailable,
        outflowAvailable,
      });
      ledgerByToken.set(token.symbol, (ledgerByToken.get(token.symbol) ?? 0n) + total);
    }
  }

  const custody: TokenCustodyStatus[] = [];
  const vaultAddress = await d.vault.getAddress();
  for (const token of Object.values(d.tokens)) {
    if (token.mock === undefined) continue;
    const [vaultBalance, reserve, queued] = await Promise.all([
      token.mock.balanceOf(vaultAddress),
      d.vault.reserveBalance(token.address),
      d.vault.totalQueued(token.address),
    ]);
    const ledgerTotal = (ledgerByToken.get(token.symbol) ?? 0n) + reserve + queued;
    custody.push({
      token: token.symbol,
      decimals: token.decimals,
      vaultBalance,
      ledgerTotal,
      reserve,
      queued,
      solvent: ledgerTotal <= vaultBalance,
    });
  }

  const prices: AssetPriceStatus[] = [];
  for (const asset of Object.values(d.assets)) {
    const p = await d.oracle.getPriceForLiquidation(asset.key);
    prices.push({
      asset: asset.id,
      price: p.price,
      lower: p.lower,
      upper: p.upper,
      flags: decodePriceFlags(p.flags),
      riskIncreaseAllowed: await d.oracle.isRiskIncreaseAllowed(asset.key),
    });
  }

  return { tiers, custody, prices, depositsPaused: await d.vault.depositsPaused() };
}

/** One account's margin as the clearing house sees it (quote WAD), with its positions. */
export interface AccountStatus {
  label: string;
  tier: number;
  positions: { market: number; size: bigint; openNotional: bigint }[];
  equity: bigint;
  im: bigint;
  mm: bigint;
  unrealizedPnl: bigint;
  cash: bigint;
}

/** Reads the clearing house's view of the given accounts. */
export async function readAccountStatus(
  d: FoundationDeployment,
  accounts: { label: string; account: bigint }[],
): Promise<AccountStatus[]> {
  const out: AccountStatus[] = [];
  for (const { label, account } of accounts) {
    const h = await d.clearing.health(account);
    const markets = await d.clearing.accountMarkets(account);
    const positions = [];
    for (const market of markets) {
      const p = await d.clearing.position(account, market);
      positions.push({ market: Number(market), size: p.size, openNotional: p.openNotional });
    }
    out.push({
      label,
      tier: Number(account >> 248n),
      positions,
      equity: h.equity,
      im: h.im,
      mm: h.mm,
      unrealizedPnl: h.unrealizedPnl,
      cash: h.cash,
    });
  }
  return out;
}
