/**
 * The deployment a scenario runs on: the local suite (deploy/local.ts: mock tokens and feeds, three tiers
 * with a backstop pool each), with every feed opening at the scenario's first prices, a market on each of the
 * scenario's assets in the tiers it names, and a mock sequencer-uptime feed when the scenario has an outage.
 *
 * Majors keep the tiers' terms (deploy/tiers.ts: core 3x, pro 10x, edge 25x at open); a long-tail asset (Mango,
 * JELLY, the 10 Oct 2025 alt) is listed at 5x with twice the maintenance margin of pro, and a twentieth of a
 * major's open-interest cap in notional: a thin market, as on the venues where those events happened.
 */
import { localFoundationConfig } from "../../../deploy/local.js";
import { MAJOR_MARKET, MAJOR_SIZING, tierMarket, type MarketTemplate } from "../../../deploy/tiers.js";
import type { FoundationConfigInput } from "../deploy/config.js";
import type { Scenario } from "./types.js";

type AssetInput = FoundationConfigInput["assets"][number];

/** Tier names by id. */
export const TIER_NAMES = ["core", "pro", "edge"] as const;

/** The local deployment's markets: ETH/USD is 1, BTC/USD 2; a scenario's other assets follow from 3. */
const KNOWN_MARKETS: Readonly<Record<string, number>> = { "ETH/USD": 1, "BTC/USD": 2 };

/** A long-tail market's terms, whatever the tier (never looser than a major's in the same tier). */
export const LONG_TAIL_MARKET: MarketTemplate = {
  imrBps: 2_000,
  mmrBps: 1_000,
  bmrBps: 500,
  maxLeverage: 5,
  penaltyBps: 150,
};

/** Notional (USD) of a major's open-interest cap and funding skew scale (ETH's: 20,000 and 1,000 at 3,000). */
const MAJOR_OI_NOTIONAL = 60_000_000;
const MAJOR_SKEW_NOTIONAL = 3_000_000;
const LONG_TAIL_SHARE = 20;

/** The market id of each of the scenario's assets. */
export function scenarioMarkets(scenario: Scenario): Map<string, number> {
  const ids = new Map<string, number>();
  let next = 3;
  for (const a of scenario.assets) ids.set(a.id, KNOWN_MARKETS[a.id] ?? next++);
  return ids;
}

/** `x` as a decimal string with at most 8 decimals, never 0 for a positive `x`. */
function decimal(x: number): string {
  if (!(x > 0) || !Number.isFinite(x)) throw new RangeError(`not a positive price: ${x}`);
  const fixed = x >= 1e-8 ? x.toFixed(8).replace(/\.?0+$/, "") : "0.00000001";
  return fixed === "0" ? "0.00000001" : fixed;
}

/** Base units worth `notional` USD at `price`, as a whole-unit decimal string (at least 1). */
function baseUnits(notional: number, price: number): string {
  return String(Math.max(1, Math.round(notional / price)));
}

/**
 * The deployment config of `scenario` for the role holders `holders` (deploy/local.ts's), pools included.
 *
 * @example
 * const config = scenarioFoundationConfig(await loadScenario("oct-2025"), { risk, guardian, oracle, controller, executor });
 * const d = await deployFoundation(deployer, config);
 */
export function scenarioFoundationConfig(
  scenario: Scenario,
  holders: Parameters<typeof localFoundationConfig>[0],
): FoundationConfigInput {
  const base = localFoundationConfig(holders, { pools: true });
  const open = scenario.points[0]!.prices;
  const markets = scenarioMarkets(scenario);
  const template = base.assets.find((a) => a.id === "ETH/USD")!;

  const assets: AssetInput[] = base.assets.map((a) => {
    const price = open[a.id];
    if (price === undefined) return a;
    const secondary =
      a.secondary?.mock === undefined
        ? a.secondary
        : { mock: { decimals: a.secondary.mock.decimals, initialPrice: price } };
    return {
      ...a,
      primary: { mock: { decimals: a.primary.mock?.decimals ?? 8, initialPrice: price } },
      ...(secondary === undefined ? {} : { secondary }),
    };
  });
  for (const a of scenario.assets) {
    if (assets.some((x) => x.id === a.id)) continue;
    const price = Number(open[a.id]);
    assets.push({
      ...template,
      id: a.id,
      primary: { mock: { decimals: 8, initialPrice: open[a.id]! } },
      secondary: undefined,
      minPrice: decimal(price / 10_000),
      maxPrice: decimal(price * 10_000),
    });
  }

  const marketList = [...base.markets!];
  for (const [asset, id] of markets) if (!marketList.some((m) => m.id === id)) marketList.push({ id, asset });

  const tiers = base.tiers.map((tier) => {
    const listed = [...(tier.markets ?? [])];
    for (const a of scenario.assets) {
      if (!a.tiers.includes(tier.id)) continue;
      const id = markets.get(a.id)!;
      if (listed.some((m) => m.market === id)) continue;
      const price = Number(open[a.id]);
      const share = a.longTail === true ? LONG_TAIL_SHARE : 1;
      const sizing = MAJOR_SIZING[id] ?? {
        oiCap: baseUnits(MAJOR_OI_NOTIONAL / share, price),
        fundingSkewScale: baseUnits(MAJOR_SKEW_NOTIONAL / share, price),
      };
      const terms = a.longTail === true ? LONG_TAIL_MARKET : MAJOR_MARKET[TIER_NAMES[tier.id]!];
      listed.push(tierMarket(id, terms, sizing));
    }
    return { ...tier, markets: listed };
  });

  return {
    ...base,
    network: `scenario-${scenario.name}`,
    assets,
    markets: marketList,
    tiers,
    ...(scenario.sequencer === undefined ? {} : { sequencer: { gracePeriodSeconds: scenario.sequencer.graceSeconds } }),
  };
}
