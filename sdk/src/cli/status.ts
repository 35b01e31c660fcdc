import type { Provider } from "ethers";

import { mapBounded } from "../shared/mapBounded.js";
import { insuranceBucket } from "../client/buckets.js";
import { withStrataErrors } from "../client/errors.js";
import { createStrataClient, type StrataClient } from "../client/strata.js";
import { manifestPath, type Manifest } from "../deploy/manifest.js";
import { connect, loadManifest } from "./connect.js";
import type { OptionValues } from "./options.js";
import { renderTierSummaries, tierSummariesJson, type TierSummary } from "./statusTable.js";

export const STATUS_OPTIONS = ["config", "network", "rpc", "manifest", "concurrency", "logRange", "json"] as const;

/** The tiers the deployment listed, from its manifest's `risk.listTier:<id>` steps. */
export function listedTiers(manifest: Manifest): number[] {
  return manifest.steps
    .map((s) => /^risk\.listTier:(\d+)$/.exec(s.id)?.[1])
    .filter((id) => id !== undefined)
    .map(Number);
}

export { mapBounded };

/**
 * Every account that ever traded: the takers and makers of the clearing house's `FillApplied` logs from the
 * block that deployed it, read `range` blocks per query.
 */
export async function tradedAccounts(
  client: StrataClient,
  provider: Provider,
  fromBlock: number,
  range: number,
): Promise<bigint[]> {
  const clearing = client.contracts.clearing;
  const filter = clearing.filters.FillApplied();
  const latest = await provider.getBlockNumber();
  const accounts = new Set<bigint>();
  for (let from = fromBlock; from <= latest; from += range) {
    const logs = await clearing.queryFilter(filter, from, Math.min(from + range - 1, latest));
    for (const log of logs) {
      accounts.add(log.args.taker);
      accounts.add(log.args.maker);
    }
  }
  return [...accounts];
}

/** Whether the liquidation engine would liquidate `account` now (in its first market: margin is account-wide). */
async function isLiquidatable(client: StrataClient, account: bigint): Promise<boolean> {
  const positions = await client.clearing.positions(account);
  if (positions.length === 0) return false;
  const preview = await withStrataErrors(client.contracts.liquidation.preview(account, positions[0]!.market));
  return preview.liquidatable;
}

/** Reads each listed tier's accounts, open interest, insurance fund, pool equity and liquidatable accounts. */
export async function readTierSummaries(
  client: StrataClient,
  manifest: Manifest,
  provider: Provider,
  o: { concurrency: number; logRange: number },
): Promise<TierSummary[]> {
  const assetOfKey = new Map(Object.entries(manifest.assets).map(([id, a]) => [a.key, id]));
  const deployedAt = manifest.contracts.clearing?.block ?? 0;
  const accounts = await tradedAccounts(client, provider, deployedAt, o.logRange);
  const liquidatable = await mapBounded(accounts, o.concurrency, (a) => isLiquidatable(client, a));
  const summaries: TierSummary[] = [];
  for (const tier of listedTiers(manifest)) {
    const config = await client.risk.tierConfig(tier);
    const quote = Object.entries(manifest.tokens).find(
      ([, t]) => t.address.toLowerCase() === config.quoteToken.toLowerCase(),
    );
    const openInterest = [];
    for (const market of await client.risk.tierMarkets(tier)) {
      const key = await withStrataErrors(client.contracts.risk.marketOracleAsset(market));
      openInterest.push({
        market: assetOfKey.get(key) ?? `#${market}`,
        oi: await client.clearing.openInterest(tier, market),
      });
    }
    const insurance = insuranceBucket(tier);
    const poolAddress = await client.clearing.pool(tier);
    const inTier = accounts.map((a, i) => ({ a, i })).filter(({ a }) => Number(a >> 248n) === tier);
    summaries.push({
      tier,
      depth: config.depth,
      quote: quote?.[0] ?? config.quoteToken,
      quoteDecimals: config.quoteDecimals,
      accounts: inTier.length,
      liquidatable: inTier.filter(({ i }) => liquidatable[i]).length,
      openInterest,
      insuranceCash: await client.clearing.cash(insurance),
      insuranceTokens: await client.vault.balanceOf(insurance, config.quoteToken),
      poolEquity: /^0x0+$/.test(poolAddress)
        ? undefined
        : await withStrataErrors((await client.pools.contract(tier)).totalAssets()),
    });
  }
  return summaries;
}

/** `strata status`: a table of every tier of the deployment. */
export async function statusCommand(
  o: OptionValues<(typeof STATUS_OPTIONS)[number]>,
  print: (line: string) => void,
): Promise<void> {
  const { provider, chainId } = await connect(o.rpc);
  try {
    const file = o.manifest ?? manifestPath(o.network);
    const manifest = await loadManifest(file, o.network, chainId, o.rpc);
    const client = createStrataClient({ manifest, runner: provider });
    const summaries = await readTierSummaries(client, manifest, provider, o);
    if (o.json) {
      print(tierSummariesJson(manifest.network, chainId, summaries));
      return;
    }
    print(`Strata on "${manifest.network}" (chain ${chainId}), manifest ${file}`);
    print(renderTierSummaries(summaries));
  } finally {
    provider.destroy();
  }
}
