/**
 * The scenario engine's data: a scenario (a market price path per asset, how the oracle reports it, the
 * sequencer and the keepers' capacity) and the stress report a run of it writes. Scenario files live in
 * `scenarios/` as JSON; reports in `reports/stress-<scenario>.json` (and `.html`).
 *
 * Prices are decimal strings (USD per whole unit of the asset) in files and reports, so that nothing is lost to
 * floating point; quote amounts in reports are decimal strings of quote WAD, with a `number` copy in whole
 * dollars only where a chart needs one.
 */

/** How the oracle reports the market path. */
export type OracleMode =
  /** Every point is pushed to the feeds as it happens. */
  | "live"
  /** The feeds report the market price of `delaySteps` points earlier. */
  | "delayed"
  /** The feeds stop updating from `stallFromStep` for `stallSteps` points (they go stale), then catch up. */
  | "stalled"
  /** The feeds never report below `floor` (or above `ceiling`) for an asset: Chainlink's min/max answer. */
  | "clamped";

/** The oracle's view of the path. */
export interface OracleSpec {
  mode: OracleMode;
  /** `delayed`: points of lag (≥ 1). */
  delaySteps?: number;
  /** `stalled`: the first point the feeds miss, and how many they miss. */
  stallFromStep?: number;
  stallSteps?: number;
  /** `clamped`: per asset, the lowest and highest answer the feed reports (decimal strings). */
  floor?: Record<string, string>;
  ceiling?: Record<string, string>;
}

/** A sequencer outage (L2): down from a point for a number of points, then a grace period. */
export interface SequencerOutage {
  downFromStep: number;
  downSteps: number;
  /** Seconds after the sequencer is back during which the oracle flags SEQUENCER_GRACE. */
  graceSeconds: number;
}

/** One point of a path: seconds from the start and the market price of each asset that moved. */
export interface ScenarioPoint {
  /** Seconds since the scenario's start (0 for the first point; strictly increasing). */
  t: number;
  /** Market prices (decimal strings, USD per whole unit); an asset absent from a point keeps its last price. */
  prices: Record<string, string>;
}

/** How a scenario's assets map onto the protocol. */
export interface ScenarioAsset {
  /** Oracle asset id, e.g. "ETH/USD"; also the market's name. */
  id: string;
  /** Which tiers list a market on it (0 core, 1 pro, 2 edge). */
  tiers: number[];
  /** A thin, low-cap market (Mango, JELLY, the long tail): listed in the outer tier only, small caps. */
  longTail?: boolean;
}

/** A scenario file (`scenarios/<name>.json`). */
export interface Scenario {
  /** File stem and id, kebab-case: "oct-2025". */
  name: string;
  title: string;
  description: string;
  /** Where the path comes from: sources with what was taken from each, and what was approximated. */
  sources: string[];
  /** Whether the path reproduces a historical event or was generated. */
  kind: "historical" | "generated";
  assets: ScenarioAsset[];
  /** The market path: the first point (t = 0) has every asset's opening price. */
  points: ScenarioPoint[];
  oracle: OracleSpec;
  sequencer?: SequencerOutage;
  /** Liquidation transactions the keepers land per block (their capacity). */
  keeperCapacityPerBlock: number;
  /** Expected outcomes the scenario tests assert, per tier name (`core`, `pro`, `edge`). */
  expectations?: Partial<Record<"core" | "pro" | "edge", TierExpectation>>;
  /**
   * One outsized account the population must add on top of its ordinary traders (the March 2025 Hyperliquid
   * ETH whale): a path alone cannot reproduce a default that comes from an account's own actions.
   */
  whale?: WhaleSpec;
}

/**
 * A single huge leveraged account that opens at a point and later withdraws its free margin, which puts its
 * liquidation price next to the market (the March 2025 ETH whale). The population sizes it against the tier's
 * pool: `notionalUsd` is the historical figure, for scale, not an amount to deposit as is.
 */
export interface WhaleSpec {
  /** The market it trades (one of the scenario's assets, listed in `tier`). */
  asset: string;
  /** The tier its account sits in. */
  tier: number;
  side: "long" | "short";
  /** Notional ÷ margin at open (within the tier's maximum leverage). */
  leverage: number;
  /** Historical notional in USD (decimal string), for scale. */
  notionalUsd: string;
  /** The point it opens at (its entry price is that point's market price). */
  openAtStep: number;
  /** Margin withdrawals, in order: at a point, a share (0 < share ≤ 1) of what the margin check lets it take. */
  withdrawals: { atStep: number; share: number }[];
}

/** What a scenario must end with in one tier. */
export interface TierExpectation {
  /** No bad debt at all (no default reached the waterfall beyond the defaulter's own collateral). */
  noBadDebt?: boolean;
  /** Bad debt, when any, absorbed by the tier's own waterfall (always asserted; here for documentation). */
  absorbedInTier?: boolean;
  /** At least this many liquidations (partial + backstop). */
  minLiquidations?: number;
}

/** The generator's parameters (sdk/src/scenario/generator.ts). */
export interface GeneratorParams {
  name: string;
  /** Opening price per asset (decimal strings). */
  open: Record<string, string>;
  /** Relative move per step of the lead asset, in bps (negative: a drop). */
  dropBpsPerStep: number;
  stepSeconds: number;
  steps: number;
  /** Correlation of the other assets with the lead asset's moves, 0..1 (1: the same move). */
  correlation: number;
  /** Seed of the deterministic noise of the uncorrelated part. */
  seed: number;
  oracle: OracleSpec;
  sequencer?: SequencerOutage;
  keeperCapacityPerBlock: number;
  /** How the assets map onto the protocol; by default every asset of `open` is listed in all three tiers. */
  assets?: ScenarioAsset[];
}

// ================================================================== the stress report

/** One step of a run (after the keepers acted on it). */
export interface StepRecord {
  step: number;
  t: number;
  /** Market and oracle prices per asset (decimal strings). */
  marketPrices: Record<string, string>;
  oraclePrices: Record<string, string>;
  /** Per tier (index = tier id). */
  tiers: StepTierRecord[];
  /** Blocks the keepers used and the most gas one of them took. */
  blocks: number;
  peakBlockGas: number;
}

export interface StepTierRecord {
  tier: number;
  /** Partial liquidations landed in this step (takeovers are counted apart, in `backstops`). */
  liquidations: number;
  backstops: number;
  /** Whole dollars, for charts. */
  insuranceFund: number;
  poolEquity: number;
}

/** A tier's outcome over the whole run. */
export interface TierOutcome {
  tier: number;
  name: "core" | "pro" | "edge";
  accounts: number;
  liquidations: number;
  backstops: number;
  /** Σ deficits that reached the waterfall beyond the defaulter's collateral (quote WAD, decimal string). */
  badDebt: string;
  /** Waterfall steps 2–5 (quote WAD strings): insurance fund, protocol reserve, pool (LPs), ADL. */
  insuranceUsed: string;
  reserveUsed: string;
  poolPnl: string;
  adlCount: number;
  /** DESIGN §6.7: every figure of this tier is explained by its own events; no loss came from or went to another tier. */
  firewall: { ok: boolean; detail: string };
}

/** `reports/stress-<scenario>.json`. */
export interface StressReport {
  scenario: Pick<Scenario, "name" | "title" | "description" | "sources" | "kind" | "oracle" | "sequencer"> & {
    assets: string[];
    points: number;
    keeperCapacityPerBlock: number;
  };
  /** "hardhat (in-process)" or the RPC URL. */
  chain: string;
  startedAt: string;
  wallTimeMs: number;
  steps: StepRecord[];
  tiers: TierOutcome[];
  gas: {
    /** Gas of every liquidation transaction, in order. */
    liquidations: number[];
    /** The most gas the keepers needed in one block, over the run. */
    peakBlockGas: number;
  };
  /** DESIGN §6 checks after every step: how many ran and the failures (none in a sound run). */
  invariants: { checks: number; failures: string[] };
  /** The scenario's whale, when it has one: what it did and what happened to it. */
  whale?: WhaleOutcome;
}

/** What the whale did in a run and how it ended (amounts: quote WAD decimal strings). */
export interface WhaleOutcome {
  /** Its account (bucket id, hex). */
  account: string;
  /** Notional at open. */
  notional: string;
  /** Margin deposited at open, and the total it could withdraw when it tried (the rest stayed as margin). */
  margin: string;
  withdrawn: string;
  liquidations: number;
  takenOver: boolean;
  /** Its equity at the end of the run. */
  finalEquity: string;
}
