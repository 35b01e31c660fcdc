/**
 * Runs a scenario on a development chain (Hardhat's in-process network, `hardhat node`, anvil): deploys the
 * suite for the scenario's assets, opens the population, then replays the path point by point with the chain's
 * clock at each point's time. At each point the feeds report what the oracle mode says (live, delayed, stalled
 * or clamped), the sequencer goes down or comes back, and the keepers act: each block they scan every account
 * with the SDK keeper's scanner and land at most `keeperCapacityPerBlock` liquidations in one `liquidateBatch`
 * (inner tiers first, takeovers first), for as many blocks as fit before the next point; when a tier's pool is
 * left with negative equity they auto-deleverage its most profitable opposite positions. DESIGN §6 is checked
 * after every step, and the run's figures are returned as a {@link StressReport}.
 */
import {
  formatUnits,
  parseUnits,
  NonceManager,
  type ContractTransactionResponse,
  type Log,
  type Provider,
  type Signer,
} from "ethers";

import { accountBucket, insuranceBucket } from "../client/buckets.js";
import { deployFoundation, type FoundationDeployment } from "../deploy/foundation.js";
import { HealthScanner } from "../keeper/scanner.js";
import { MAX_TRANSACTION_GAS } from "../shared/gas.js";
import {
  checkFirewallLogs,
  checkImproved,
  checkSolvency,
  checkTierConservation,
  type FirewallViolation,
  checkZeroSum,
  tierTotals,
  type TierFlows,
} from "./checks.js";
import { scenarioFoundationConfig, scenarioMarkets, TIER_NAMES } from "./deployment.js";
import {
  addStats,
  checkWaterfall,
  emptyStats,
  checkWaterfallOrder,
  liquidationEvents,
  type WaterfallFunds,
  type LiquidationEvent,
  type TierStats,
} from "./events.js";
import {
  DEFAULT_POPULATION,
  MAKER_FEE_BPS,
  TAKER_FEE_BPS,
  inOneBlock,
  openingCap,
  openPopulation,
  type DevNode,
  type Population,
  type PopulationPlan,
  type ScenarioActors,
} from "./population.js";
import type { Scenario, ScenarioPoint, StepRecord, StressReport, TierOutcome } from "./types.js";

/** Where a scenario runs. */
export interface ScenarioEnvironment {
  /** The node's RPC (`evm_mine`, `evm_setAutomine`, `evm_setNextBlockTimestamp`). */
  node: DevNode;
  provider: Provider;
  actors: ScenarioActors;
  /** How the report names the chain: "hardhat (in-process)" or the RPC URL. */
  chain: string;
}

export interface RunOptions {
  /**
   * The feeds' view of the path, one entry per point (`oracleView(scenario)`): an asset missing from a point's
   * prices is not pushed at that point (a stalled feed).
   */
  feedPoints: ScenarioPoint[];
  population?: PopulationPlan;
  /** Seconds per block (12: Ethereum L1). */
  blockSeconds?: number;
  /** Keeper blocks after the last point, at most. */
  tailBlocks?: number;
  progress?: (line: string) => void;
}

/** A run's outcome: the report, the deployment and population it ran on, and its events. */
export interface ScenarioRun {
  report: StressReport;
  prepared: PreparedScenario;
  d: FoundationDeployment;
  population: Population;
  stats: TierStats[];
  events: LiquidationEvent[];
}

const TIERS = [0, 1, 2] as const;
const USDC_SCALE = 10n ** 12n;
/** Gas of one liquidateBatch slot: generous, so no estimate can starve the batch's inner calls. */
const GAS_PER_ACCOUNT = 600_000;
const ADL_TARGETS = 20;
/** A transaction's gas cap (EIP-7825: 2^24): no keeper transaction asks for more. */
const MAX_TX_GAS = Number(MAX_TRANSACTION_GAS);

/** Whole dollars of a quote-WAD amount, for charts. */
const dollars = (wad: bigint): number => Number(formatUnits(wad, 18));

/** A deployment with its population open, ready for a path (or, after `evm_revert`, for another). */
export interface PreparedScenario {
  scenario: Scenario;
  env: ScenarioEnvironment;
  d: FoundationDeployment;
  population: Population;
  /** The market id of each asset, and the markets each tier lists. */
  markets: Map<string, number>;
  marketsOfTier: Map<number, number[]>;
  /** Every account that trades: traders, makers, pools' and keepers' accounts. */
  everyAccount: bigint[];
  /** Writes every feed of `prices` (and USDC/USD at 1) as `signer`; returns the transactions unmined. */
  writeFeeds: (signer: Signer, prices: Record<string, string>) => Promise<ContractTransactionResponse[]>;
}

/**
 * Deploys the suite for `scenario` in `env` and opens the population at the scenario's opening prices.
 *
 * @example
 * const prepared = await prepareScenario(scenario, env);
 * const snapshot = await env.node.send("evm_snapshot", []);
 * const a = await runPath(prepared, { feedPoints: oracleView(scenario) });
 */
export async function prepareScenario(
  scenario: Scenario,
  env: ScenarioEnvironment,
  options: Pick<RunOptions, "population" | "progress"> = {},
): Promise<PreparedScenario> {
  const progress = options.progress ?? (() => undefined);
  const { node, actors } = env;
  const [deployerAddress, oracleAddress, executorAddress] = await Promise.all([
    actors.deployer.getAddress(),
    actors.oracle.getAddress(),
    actors.executor.getAddress(),
  ]);
  const config = scenarioFoundationConfig(scenario, {
    risk: deployerAddress,
    guardian: deployerAddress,
    oracle: oracleAddress,
    controller: deployerAddress,
    executor: executorAddress,
  });
  const d = await deployFoundation(actors.deployer, config);
  progress(`deployed the suite for ${scenario.assets.map((a) => a.id).join(", ")}`);
  if (d.sequencerFeed !== undefined && scenario.sequencer !== undefined) {
    // The mock sequencer was "started" at deployment, so the router would hold its grace period over the
    // population's opening: date its round so that it has been up for longer than the grace.
    const now = (await env.provider.getBlock("latest"))!.timestamp;
    const round = (await d.sequencerFeed.latestRound()) + 1n;
    const upSince = now - scenario.sequencer.graceSeconds - 60;
    await (await d.sequencerFeed.connect(actors.oracle).updateRoundData(round, 0n, now, upSince)).wait();
  }
  const markets = scenarioMarkets(scenario);
  const marketsOfTier = new Map<number, number[]>(
    TIERS.map((tier) => [tier, (config.tiers.find((t) => t.id === tier)?.markets ?? []).map((m) => m.market)]),
  );
  const writeFeeds = async (signer: Signer, prices: Record<string, string>) => {
    const sent: ContractTransactionResponse[] = [];
    for (const [asset, price] of Object.entries({ ...prices, "USDC/USD": "1" })) {
      const feeds = d.assets[asset];
      if (feeds === undefined) continue;
      for (const feed of [feeds.mockPrimary, feeds.mockSecondary]) {
        if (feed === undefined) continue;
        const decimals = Number(await feed.decimals());
        sent.push(await feed.connect(signer).updateAnswer(toDecimals(price, decimals), { gasLimit: 250_000 }));
      }
    }
    return sent;
  };
  const population = await openPopulation(
    node,
    d,
    actors,
    scenario,
    markets,
    (signer) => writeFeeds(signer, scenario.points[0]!.prices),
    options.population ?? DEFAULT_POPULATION,
    progress,
  );
  const everyAccount = [
    ...population.traderAccounts,
    ...population.makerAccounts,
    ...population.poolAccounts,
    ...population.keeperAccounts,
  ];
  return { scenario, env, d, population, markets, marketsOfTier, everyAccount, writeFeeds };
}

/**
 * Runs `scenario` in `env`: {@link prepareScenario}, then {@link runPath}. Throws only for a broken environment
 * (a failed deployment or population); what the protocol does under stress, including DESIGN §6 violations, is
 * in the report.
 *
 * @example
 * const scenario = await loadScenario("oct-2025");
 * const { report } = await runScenario(scenario, env, { feedPoints: oracleView(scenario) });
 * console.log(report.tiers.map((t) => `${t.name}: ${t.liquidations} liquidations, bad debt ${t.badDebt}`));
 */
export async function runScenario(
  scenario: Scenario,
  env: ScenarioEnvironment,
  options: RunOptions,
): Promise<ScenarioRun> {
  const started = Date.now();
  const prepared = await prepareScenario(scenario, env, options);
  return runPath(prepared, options, started);
}

/**
 * Replays the prepared scenario's path (or `options.points`, another path over the same assets and times: a
 * counterfactual) from the chain's current state.
 */
export async function runPath(
  prepared: PreparedScenario,
  options: RunOptions & { points?: Scenario["points"] },
  started = Date.now(),
): Promise<ScenarioRun> {
  const scenario: Scenario =
    options.points === undefined ? prepared.scenario : { ...prepared.scenario, points: options.points };
  const { env, d, population, marketsOfTier, writeFeeds } = prepared;
  // A run's own lists: the whale (when the scenario has one) joins them, and the prepared state is reused.
  const liquidatable = [...population.liquidatable];
  const everyAccount = [...prepared.everyAccount];
  const startedAt = new Date(started).toISOString();
  const progress = options.progress ?? (() => undefined);
  const blockSeconds = options.blockSeconds ?? 12;
  const tailBlocks = options.tailBlocks ?? 30;
  const { node, provider, actors } = env;
  if (options.feedPoints.length !== scenario.points.length) {
    throw new RangeError(
      `feedPoints has ${options.feedPoints.length} points; the scenario has ${scenario.points.length}`,
    );
  }
  const oracleSigner = actors.oracle;
  let lastFeed: Record<string, string> = { ...scenario.points[0]!.prices };

  // 4. The baseline.
  const scanner = new HealthScanner({
    clearing: d.clearing,
    liquidation: d.liquidation,
    vault: d.vault,
    risk: d.risk,
    tokens: Object.values(d.tokens).map((t) => t.address),
    excludedOwners: Object.values(d.addresses.pools),
    concurrency: 8,
    shard: { index: 0, count: 1 },
    // Batched reads (KeeperScan by eth_call): one call per 30 accounts.
    batchSize: 30,
    provider,
  });
  const poolStart = await Promise.all(TIERS.map((tier) => d.pools[tier]!.totalAssets()));
  const totalsStart = await tierTotals(d, TIERS);
  const flows: TierFlows = { net: new Map() };
  const stats = TIERS.map(() => emptyStats());
  const events: LiquidationEvent[] = [];
  const failures: string[] = [];
  /** §6.2 breaches, also in `failures`: each fails the firewall of every tier it names. */
  const firewall: FirewallViolation[] = [];
  const breached = (violations: FirewallViolation[]) => {
    firewall.push(...violations);
    failures.push(...violations.map((v) => v.message));
  };
  let checks = 0;
  const liquidationGas: number[] = [];
  let peakBlockGas = 0;
  const steps: StepRecord[] = [];
  const keeper = d.liquidation.connect(actors.keeper);
  const latest = await provider.getBlock("latest");
  const t0 = (latest?.timestamp ?? Math.floor(Date.now() / 1000)) + 60;
  let clock = t0;
  /** Sets the next block's time (never backwards). */
  const at = async (ts: number) => {
    clock = Math.max(ts, clock + 1);
    await node.send("evm_setNextBlockTimestamp", [clock]);
  };
  /** Adds the latest block's logs to the run's events and flows (a block sent outside the keepers). */
  const recordLatestBlock = async () => {
    const block = await provider.getBlockNumber();
    record(await provider.getLogs({ fromBlock: block, toBlock: block }));
  };
  let whaleState: { account: bigint; notional: bigint; margin: bigint; withdrawn: bigint } | undefined;
  const record = (logs: readonly Log[]) => {
    const found = liquidationEvents(d.addresses.liquidation, logs);
    events.push(...found);
    addStats(stats, found);
    breached(checkFirewallLogs(d, logs, flows));
    return found;
  };

  // 5. The path.
  const seq = scenario.sequencer;
  const sequencerFeed = d.sequencerFeed?.connect(oracleSigner);
  for (const [k, point] of scenario.points.entries()) {
    const ts = t0 + point.t;
    const next = scenario.points[k + 1];
    const stepStats = TIERS.map(() => ({ liquidations: 0, backstops: 0 }));
    let blocks = 0;
    let stepPeakGas = 0;
    const down = seq !== undefined && k >= seq.downFromStep && k < seq.downFromStep + seq.downSteps;

    if (seq !== undefined && sequencerFeed !== undefined && k === seq.downFromStep) {
      await at(ts);
      await (await sequencerFeed.updateAnswer(1n)).wait();
      blocks++;
    }
    if (!down) {
      const feed = options.feedPoints[k]!.prices;
      lastFeed = { ...lastFeed, ...feed };
      await at(ts);
      await inOneBlock(node, async () => {
        const sent = await writeFeeds(oracleSigner, feed);
        if (seq !== undefined && sequencerFeed !== undefined && k === seq.downFromStep + seq.downSteps) {
          sent.push(await sequencerFeed.updateAnswer(0n, { gasLimit: 250_000 }));
        }
        // The keepers' oracle duty after each round: record the last good price, persist a tripped breaker.
        const router = d.oracle.connect(actors.keeper);
        for (const asset of Object.keys(feed)) {
          const key = d.assets[asset]?.key;
          if (key !== undefined) sent.push(await router.poke(key, { gasLimit: 300_000 }));
        }
        return sent;
      });
      blocks++;

      // The whale acts before the keepers: it opens, or withdraws what the margin check lets it.
      const whale = scenario.whale;
      if (whale !== undefined && k === whale.openAtStep) {
        await at(clock + 1);
        const opened = await openWhale(prepared, whale, pricesAt(scenario, k)[whale.asset]!);
        const account = opened.account;
        whaleState = { ...opened, withdrawn: 0n };
        await recordLatestBlock();
        liquidatable.push(account);
        everyAccount.push(account);
        blocks++;
      }
      for (const w of whale?.withdrawals ?? []) {
        if (w.atStep !== k) continue;
        await at(clock + 1);
        const taken = await withdrawWhale(prepared, whale!, w.share);
        if (whaleState !== undefined) whaleState.withdrawn += taken * USDC_SCALE;
        await recordLatestBlock();
        progress(`  the whale withdrew ${formatUnits(taken, 6)} USDC of margin`);
        blocks++;
      }

      // The keepers: one batch per block, as many blocks as fit before the next point.
      const slots = next === undefined ? tailBlocks : Math.max(1, Math.floor((next.t - point.t - 1) / blockSeconds));
      for (let slot = 1; slot <= slots; slot++) {
        const batch = await nextBatch(scanner, liquidatable, scenario.keeperCapacityPerBlock);
        if (batch.length === 0) break;
        const before = await Promise.all(batch.map((b) => d.liquidation.preview(b.account, b.market)));
        const funds = await waterfallFunds(d);
        await at(ts + slot * blockSeconds);
        const tx = await keeper.liquidateBatch(
          batch.map((b) => b.account),
          batch.map((b) => b.market),
          { gasLimit: Math.min(MAX_TX_GAS, 200_000 + GAS_PER_ACCOUNT * batch.length) },
        );
        const receipt = await tx.wait();
        if (receipt === null || receipt.status !== 1) throw new Error(`liquidateBatch ${tx.hash} failed`);
        blocks++;
        const gas = Number(receipt.gasUsed);
        liquidationGas.push(gas);
        stepPeakGas = Math.max(stepPeakGas, gas);
        const found = record(receipt.logs);
        for (const e of found) {
          if (e.kind === "liquidated") stepStats[e.tier]!.liquidations++;
          if (e.kind === "backstop") stepStats[e.tier]!.backstops++;
        }
        failures.push(...checkWaterfallOrder(found, funds));
        for (const [i, b] of batch.entries()) {
          if (!found.some((e) => e.kind === "liquidated" && e.account === b.account)) continue;
          const h = await d.clearing.health(b.account);
          failures.push(...checkImproved(b.account, before[i]!, h));
        }
        checks++;
      }

      // Auto-deleveraging where a pool is left with negative equity.
      for (const [index, tier] of TIERS.entries()) {
        const poolAccount = population.poolAccounts[index]!;
        if ((await d.clearing.health(poolAccount)).equity >= 0n) continue;
        for (const market of marketsOfTier.get(tier) ?? []) {
          const poolSize = (await d.clearing.position(poolAccount, market)).size;
          if (poolSize === 0n) continue;
          const targets = await adlTargets(d, population, tier, market, poolSize);
          if (targets.length === 0) continue;
          await at(clock + blockSeconds);
          const tx = await keeper.adl(tier, market, targets, { gasLimit: MAX_TX_GAS });
          const receipt = await tx.wait();
          if (receipt === null || receipt.status !== 1) throw new Error(`adl ${tx.hash} failed`);
          blocks++;
          stepPeakGas = Math.max(stepPeakGas, Number(receipt.gasUsed));
          record(receipt.logs);
          if ((await d.clearing.health(poolAccount)).equity >= 0n) break;
        }
      }
    }

    // DESIGN §6 after the step.
    failures.push(...(await checkSolvency(d, TIERS)));
    failures.push(...(await checkZeroSum(d, everyAccount, marketsOfTier)));
    breached(checkTierConservation(totalsStart, await tierTotals(d, TIERS), flows));
    checks += 3;
    peakBlockGas = Math.max(peakBlockGas, stepPeakGas);
    steps.push({
      step: k,
      t: point.t,
      marketPrices: { ...pricesAt(scenario, k) },
      oraclePrices: { ...lastFeed },
      tiers: await Promise.all(
        TIERS.map(async (tier, i) => ({
          tier,
          liquidations: stepStats[i]!.liquidations,
          backstops: stepStats[i]!.backstops,
          insuranceFund: dollars(await insuranceFunds(d, tier)),
          poolEquity: dollars((await d.pools[tier]!.totalAssets()) * USDC_SCALE),
        })),
      ),
      blocks,
      peakBlockGas: stepPeakGas,
    });
    progress(
      `[${k + 1}/${scenario.points.length}] t=${point.t}s ` +
        TIERS.map((tier) => `${TIER_NAMES[tier]} ${stats[tier]!.liquidations}+${stats[tier]!.backstops}`).join(" "),
    );
  }
  failures.push(...checkWaterfall(events));
  checks++;

  // 6. The outcome per tier.
  const poolEnd = await Promise.all(TIERS.map((tier) => d.pools[tier]!.totalAssets()));
  const tiers: TierOutcome[] = TIERS.map((tier) => {
    const s = stats[tier]!;
    const mine = firewall.filter((v) => v.tiers.includes(tier)).map((v) => v.message);
    return {
      tier,
      name: TIER_NAMES[tier]!,
      accounts: liquidatable.filter((a) => Number(a >> 248n) === tier).length,
      liquidations: s.liquidations,
      backstops: s.backstops,
      badDebt: s.badDebt.toString(),
      insuranceUsed: s.insuranceUsed.toString(),
      reserveUsed: s.reserveUsed.toString(),
      poolPnl: ((poolEnd[tier]! - poolStart[tier]!) * USDC_SCALE).toString(),
      adlCount: s.adlCount,
      firewall: {
        ok: mine.length === 0,
        detail:
          mine.length === 0
            ? "every transfer stayed in the tier; its tokens moved only by its own flows"
            : mine.join("; "),
      },
    };
  });
  const report: StressReport = {
    scenario: {
      name: scenario.name,
      title: scenario.title,
      description: scenario.description,
      sources: scenario.sources,
      kind: scenario.kind,
      oracle: scenario.oracle,
      ...(scenario.sequencer === undefined ? {} : { sequencer: scenario.sequencer }),
      assets: scenario.assets.map((a) => a.id),
      points: scenario.points.length,
      keeperCapacityPerBlock: scenario.keeperCapacityPerBlock,
    },
    chain: env.chain,
    startedAt,
    wallTimeMs: Date.now() - started,
    steps,
    tiers,
    gas: { liquidations: liquidationGas, peakBlockGas },
    invariants: { checks, failures },
    ...(whaleState === undefined
      ? {}
      : {
          whale: {
            account: `0x${whaleState.account.toString(16)}`,
            notional: whaleState.notional.toString(),
            margin: whaleState.margin.toString(),
            withdrawn: whaleState.withdrawn.toString(),
            liquidations: events.filter((e) => e.kind === "liquidated" && e.account === whaleState!.account).length,
            takenOver: events.some((e) => e.kind === "backstop" && e.account === whaleState!.account),
            finalEquity: (await d.clearing.health(whaleState.account)).equity.toString(),
          },
        }),
  };
  return { report, d, population, stats, events, prepared };
}

/** `price` (a decimal string) at `decimals`, rounded down; at least 1. */
function toDecimals(price: string, decimals: number): bigint {
  const wad = parseUnits(price, 18);
  const scaled = decimals >= 18 ? wad * 10n ** BigInt(decimals - 18) : wad / 10n ** BigInt(18 - decimals);
  return scaled > 0n ? scaled : 1n;
}

/** The market prices at point `k`: each asset's last price up to it. */
function pricesAt(scenario: Scenario, k: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i <= k; i++) Object.assign(out, scenario.points[i]!.prices);
  return out;
}

/** Every tier's insurance fund and remaining reserve allowance now. */
async function waterfallFunds(d: FoundationDeployment): Promise<WaterfallFunds> {
  const usdc = d.tokens.USDC!.address;
  const insurance = new Map<number, bigint>();
  const reserve = new Map<number, bigint>();
  for (const tier of TIERS) {
    insurance.set(tier, await insuranceFunds(d, tier));
    reserve.set(tier, await d.vault.reserveAvailable(tier, usdc));
  }
  return { insurance, reserve, scale: USDC_SCALE };
}

/** What the tier's insurance fund can pay (quote WAD): its cash plus its quote tokens. */
async function insuranceFunds(d: FoundationDeployment, tier: number): Promise<bigint> {
  const bucket = insuranceBucket(tier);
  const [cash, tokens] = await Promise.all([
    d.clearing.cash(bucket),
    d.vault.balanceOf(bucket, d.tokens.USDC!.address),
  ]);
  return cash + tokens * USDC_SCALE;
}

/**
 * The next keeper batch: every liquidatable account, inner tiers first, takeovers before partial
 * liquidations, then the largest reward; at most `capacity`.
 */
async function nextBatch(
  scanner: HealthScanner,
  accounts: readonly bigint[],
  capacity: number,
): Promise<{ account: bigint; market: number }[]> {
  const scanned = await scanner.scan(accounts);
  return scanned
    .filter((s) => (s.status === "liquidatable" || s.status === "backstop") && s.market !== undefined)
    .sort(
      (a, b) =>
        a.tier - b.tier ||
        (a.status === b.status ? 0 : a.status === "backstop" ? -1 : 1) ||
        (b.keeperReward > a.keeperReward ? 1 : b.keeperReward < a.keeperReward ? -1 : 0),
    )
    .slice(0, capacity)
    .map((s) => ({ account: s.account, market: s.market! }));
}

/** Accounts of `tier` opposite to the pool in `market` and in profit, most profitable first. */
async function adlTargets(
  d: FoundationDeployment,
  population: Population,
  tier: number,
  market: number,
  poolSize: bigint,
): Promise<bigint[]> {
  const candidates = [...population.traderAccounts, ...population.makerAccounts].filter(
    (a) => Number(a >> 248n) === tier,
  );
  const withPnl: { account: bigint; pnl: bigint }[] = [];
  for (const account of candidates) {
    const size = (await d.clearing.position(account, market)).size;
    if (size === 0n || size > 0n === poolSize > 0n) continue;
    const pnl = (await d.clearing.health(account)).unrealizedPnl;
    if (pnl > 0n) withPnl.push({ account, pnl });
  }
  return withPnl
    .sort((a, b) => (b.pnl > a.pnl ? 1 : b.pnl < a.pnl ? -1 : 0))
    .slice(0, ADL_TARGETS)
    .map((x) => x.account);
}

/** The whale's account: `(traderOwner, tier, WHALE_SUB_ID)`. */
export const WHALE_SUB_ID = 999_999n;
/** The whale's notional: this many times its tier's LP capital (a position that dwarfs the tier's pool). */
export const WHALE_POOL_MULTIPLE = 2n;

/**
 * Opens the scenario's whale at `price` (a decimal string): margin deposited, then a fill against its tier's
 * maker at the scenario's leverage, capped by the market's opening cap. Returns its account.
 */
async function openWhale(
  prepared: PreparedScenario,
  whale: NonNullable<Scenario["whale"]>,
  price: string,
): Promise<{ account: bigint; notional: bigint; margin: bigint }> {
  const { d, env, population, scenario, markets } = prepared;
  const tierPlan = population.plan.tiers.find((t) => t.tier === whale.tier);
  if (tierPlan === undefined) throw new RangeError(`the whale's tier ${whale.tier} has no population`);
  const owner = await env.actors.traderOwner.getAddress();
  const account = accountBucket(owner, whale.tier, WHALE_SUB_ID);
  // In thousandths: the scenario's leverage may be fractional (7.5x).
  const leverageMilli = BigInt(
    Math.max(1, Math.floor(Math.min(whale.leverage, openingCap(scenario, whale.asset, whale.tier)) * 1_000)),
  );
  const wadPrice = parseUnits(price, 18);
  const notional = BigInt(tierPlan.lpCapital) * WHALE_POOL_MULTIPLE * 10n ** 18n;
  // Rounding: down to whole micro-units of the base asset.
  const absSize = ((notional * 10n ** 18n) / wadPrice / 10n ** 12n) * 10n ** 12n;
  const exactNotional = (absSize * wadPrice) / 10n ** 18n;
  const fee = (exactNotional * TAKER_FEE_BPS) / 10_000n;
  const makerFee = (exactNotional * MAKER_FEE_BPS) / 10_000n;
  // Margin for the leverage, plus the fee, in USDC units (rounded up).
  const deposit = ((exactNotional * 1_000n) / leverageMilli + fee + USDC_SCALE - 1n) / USDC_SCALE;
  const usdc = d.tokens.USDC!;
  const deployer = new NonceManager(env.actors.deployer);
  const executor = new NonceManager(env.actors.executor);
  const size = whale.side === "long" ? absSize : -absSize;
  const maker = population.makerAccounts[population.plan.tiers.indexOf(tierPlan)]!;
  // One block: the margin minted and deposited, then the fill.
  await inOneBlock(env.node, async () => [
    await usdc.mock!.connect(deployer).mint(await deployer.getAddress(), deposit, { gasLimit: 200_000 }),
    await usdc.mock!.connect(deployer).approve(d.addresses.vault, deposit, { gasLimit: 200_000 }),
    await d.vault.connect(deployer).deposit(usdc.address, deposit, account, { gasLimit: 300_000 }),
    await d.clearing.connect(executor).applyFill(
      {
        taker: account,
        maker,
        market: markets.get(whale.asset)!,
        size,
        price: wadPrice,
        takerFee: fee,
        makerFee,
        poolFee: 0n,
        protocolFee: 0n,
        protocol: 0n,
      },
      { gasLimit: 1_500_000 },
    ),
  ]);
  return { account, notional: exactNotional, margin: deposit * USDC_SCALE - fee };
}

/**
 * The whale withdraws `share` of the most the clearing house lets it take now (found by bisection over
 * static calls: IM must still be covered by what is in hand). Returns the USDC units withdrawn.
 */
async function withdrawWhale(
  prepared: PreparedScenario,
  whale: NonNullable<Scenario["whale"]>,
  share: number,
): Promise<bigint> {
  const { d, env } = prepared;
  const owner = env.actors.traderOwner;
  const account = accountBucket(await owner.getAddress(), whale.tier, WHALE_SUB_ID);
  const usdc = d.tokens.USDC!.address;
  const clearing = d.clearing.connect(owner);
  const receiver = await owner.getAddress();
  const allowed = async (amount: bigint) =>
    clearing.withdraw.staticCall(account, usdc, amount, receiver).then(
      () => true,
      () => false,
    );
  let low = 0n;
  let high = await d.vault.balanceOf(account, usdc);
  while (low < high) {
    const mid = (low + high + 1n) / 2n;
    if (await allowed(mid)) low = mid;
    else high = mid - 1n;
  }
  let amount = (low * BigInt(Math.round(share * 10_000))) / 10_000n;
  // The withdrawal lands a block later, where the band has aged: step down 0.5% at a time until it passes there
  // (an estimate runs on the pending block).
  for (let attempt = 0; amount > 0n; attempt++) {
    const passes = await clearing.withdraw.estimateGas(account, usdc, amount, receiver).then(
      () => true,
      () => false,
    );
    if (passes) break;
    if (attempt === 40) return 0n;
    amount = (amount * 995n) / 1_000n;
  }
  if (amount === 0n) return 0n;
  await (await clearing.withdraw(account, usdc, amount, receiver, { gasLimit: 1_000_000 })).wait();
  return amount;
}
