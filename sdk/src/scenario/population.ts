/**
 * The population a scenario stresses: per tier, traders spread over the tier's markets with a leverage
 * distribution, one market maker (the counterparty of every trader of its tier, so each fill is zero-sum
 * inside the tier), LP capital in the tier's backstop pool, and the tier's insurance fund; plus the protocol
 * reserve. Generated deterministically from a seed, then opened on chain: deposits and fills (the EXECUTOR
 * role's `applyFill`, standing in for matched orders) many per block, every feed refreshed in each block.
 */
import { NonceManager, parseUnits, type ContractTransactionResponse, type Signer } from "ethers";

import { accountBucket, insuranceBucket } from "../client/buckets.js";
import type { FoundationDeployment } from "../deploy/foundation.js";
import { BPS, WAD } from "../math/wad.js";
import { LONG_TAIL_MARKET, TIER_NAMES } from "./deployment.js";
import { mulberry32 } from "./generator.js";
import type { Scenario } from "./types.js";

import { MAJOR_MARKET } from "../../../deploy/tiers.js";

/** What one tier's population looks like. Amounts are whole USD (the quote token, USDC). */
export interface TierPopulation {
  tier: number;
  traders: number;
  /** Share of the traders that go long, in bps. */
  longShareBps: number;
  /** Leverage at open as a share of the market's opening cap, in bps, spread evenly from `min` to `max`. */
  leverageShareBps: { min: number; max: number };
  /** Each trader's margin (fees excluded), drawn log-uniformly between these amounts. */
  collateral: { min: number; max: number };
  /** The tier's market maker, `(maker, tier, 1)`. */
  makerCollateral: number;
  /** LP capital in the tier's backstop pool. */
  lpCapital: number;
  /** Deposited into the tier's insurance fund. */
  insurance: number;
}

export interface PopulationPlan {
  tiers: TierPopulation[];
  /** The protocol reserve (core may draw 250,000 and pro 100,000 per epoch; edge is not eligible). */
  reserve: number;
  seed: number;
}

/**
 * The default: 100 traders per tier (300 in all), 70% long, leverage from 20% to 95% of each market's opening
 * cap; makers, pools and insurance sized so that ordinary moves leave them solvent and the historical crashes
 * test them.
 */
export const DEFAULT_POPULATION: PopulationPlan = {
  tiers: [
    {
      tier: 0,
      traders: 100,
      longShareBps: 7_000,
      leverageShareBps: { min: 2_000, max: 9_500 },
      collateral: { min: 2_000, max: 50_000 },
      makerCollateral: 3_000_000,
      lpCapital: 3_000_000,
      insurance: 50_000,
    },
    {
      tier: 1,
      traders: 100,
      longShareBps: 7_000,
      leverageShareBps: { min: 2_000, max: 9_500 },
      collateral: { min: 1_000, max: 20_000 },
      makerCollateral: 1_500_000,
      lpCapital: 3_000_000,
      insurance: 20_000,
    },
    {
      tier: 2,
      traders: 100,
      longShareBps: 7_000,
      leverageShareBps: { min: 2_000, max: 9_500 },
      collateral: { min: 500, max: 5_000 },
      makerCollateral: 750_000,
      lpCapital: 2_000_000,
      insurance: 10_000,
    },
  ],
  reserve: 1_000_000,
  seed: 2025,
};

/** Taker and maker fees of every market (deploy/tiers.ts), bps of notional. */
export const TAKER_FEE_BPS = 5n;
export const MAKER_FEE_BPS = 2n;
/** Quote WAD per USDC unit. */
const USDC_SCALE = 10n ** 12n;
/** Sizes are whole micro-units of the base asset. */
const SIZE_GRANULARITY = 10n ** 12n;
/** Majors are drawn three times as often as a long-tail market. */
const MAJOR_WEIGHT = 3;

/** One trader account `(traderOwner, tier, subId)` and the fill that opens its position. */
export interface Trader {
  tier: number;
  subId: bigint;
  asset: string;
  market: number;
  long: boolean;
  /** Leverage at open (notional / margin), in thousandths. */
  leverageMilli: bigint;
  /** Margin in USDC units, fees excluded. */
  margin: bigint;
  /** Signed base size (WAD). */
  size: bigint;
  /** |size| × open price (quote WAD). */
  notional: bigint;
  takerFee: bigint;
  makerFee: bigint;
  /** The margin plus the taker fee, in USDC units (rounded up). */
  deposit: bigint;
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** A decimal price string as quote WAD. */
export function wadPrice(price: string): bigint {
  return parseUnits(price, 18);
}

/** The opening leverage cap of `asset` in `tier` under the scenario's deployment. */
export function openingCap(scenario: Scenario, asset: string, tier: number): number {
  const a = scenario.assets.find((x) => x.id === asset)!;
  return a.longTail === true ? LONG_TAIL_MARKET.maxLeverage : MAJOR_MARKET[TIER_NAMES[tier]!].maxLeverage;
}

/**
 * The traders of every tier, deterministically from the plan's seed: per tier, exactly `longShareBps` of them
 * long, leverage shares evenly spaced over the range and shuffled, margins log-uniform in the range, markets
 * drawn among the tier's (majors three times as often as long-tail ones). Every notional stays under the
 * first size bracket (1,000,000 USD).
 */
export function generateTraders(scenario: Scenario, markets: Map<string, number>, plan: PopulationPlan): Trader[] {
  const random = mulberry32(plan.seed);
  const open = scenario.points[0]!.prices;
  const traders: Trader[] = [];
  for (const p of plan.tiers) {
    const listed = scenario.assets.filter((a) => a.tiers.includes(p.tier));
    if (listed.length === 0 || p.traders === 0) continue;
    const bag = listed.flatMap((a) => Array<string>(a.longTail === true ? 1 : MAJOR_WEIGHT).fill(a.id));
    const n = p.traders;
    const longs = Math.round((n * p.longShareBps) / 10_000);
    const sides = shuffle(
      Array.from({ length: n }, (_, i) => i < longs),
      random,
    );
    const span = p.leverageShareBps.max - p.leverageShareBps.min;
    const shares = shuffle(
      Array.from({ length: n }, (_, i) => Math.round(p.leverageShareBps.min + (n === 1 ? 0 : (span * i) / (n - 1)))),
      random,
    );
    const logMin = Math.log(p.collateral.min);
    const logMax = Math.log(p.collateral.max);
    for (let i = 0; i < n; i++) {
      const asset = bag[i % bag.length]!;
      const price = wadPrice(open[asset]!);
      const margin = BigInt(Math.round(Math.exp(logMin + (logMax - logMin) * random()))) * 10n ** 6n;
      // leverage = cap × share, in thousandths (exact: the share is whole bps).
      const leverageMilli = (BigInt(openingCap(scenario, asset, p.tier)) * BigInt(shares[i]!)) / 10n;
      const targetNotional = (margin * USDC_SCALE * leverageMilli) / 1_000n;
      // Rounding: down to whole micro-units, so the leverage never exceeds the target.
      const absSize = ((targetNotional * WAD) / price / SIZE_GRANULARITY) * SIZE_GRANULARITY;
      if (absSize === 0n) continue;
      const notional = (absSize * price) / WAD;
      if (notional >= 1_000_000n * WAD) throw new RangeError("a trader's notional reaches the first size bracket");
      const takerFee = (notional * TAKER_FEE_BPS) / BPS;
      const makerFee = (notional * MAKER_FEE_BPS) / BPS;
      traders.push({
        tier: p.tier,
        subId: BigInt(100 + p.tier * 10_000 + i),
        asset,
        market: markets.get(asset)!,
        long: sides[i]!,
        leverageMilli,
        margin,
        size: sides[i]! ? absSize : -absSize,
        notional,
        takerFee,
        makerFee,
        deposit: margin + (takerFee + USDC_SCALE - 1n) / USDC_SCALE,
      });
    }
  }
  return traders;
}

/** A node that mines on demand (Hardhat's in-process network, `hardhat node`, anvil). */
export interface DevNode {
  send(method: string, params: unknown[]): Promise<unknown>;
}

/** The funded accounts a scenario uses, each with its role. */
export interface ScenarioActors {
  deployer: Signer;
  /** Holds EXECUTOR: opens the population's positions with `applyFill`. */
  executor: Signer;
  /** Holds ORACLE: pushes the feeds. */
  oracle: Signer;
  lp: Signer;
  traderOwner: Signer;
  makerOwner: Signer;
  keeper: Signer;
}

/**
 * Sends what `send` issues into one block (automine paused, then one `evm_mine`) and checks that every
 * transaction succeeded.
 */
export async function inOneBlock(node: DevNode, send: () => Promise<ContractTransactionResponse[]>): Promise<void> {
  let sent: ContractTransactionResponse[] = [];
  await node.send("evm_setAutomine", [false]);
  try {
    sent = await send();
    await node.send("evm_mine", []);
  } finally {
    await node.send("evm_setAutomine", [true]);
  }
  for (const tx of sent) {
    const receipt = await tx.wait();
    if (receipt === null || receipt.status !== 1) throw new Error(`transaction ${tx.hash} failed`);
  }
}

/** The population on chain. */
export interface Population {
  plan: PopulationPlan;
  traders: Trader[];
  traderAccounts: bigint[];
  /** `(maker, tier, 1)` by tier id. */
  makerAccounts: bigint[];
  /** Each pool's own clearing account `(pool, tier, 0)` by tier id. */
  poolAccounts: bigint[];
  /** `(keeper, tier, 0)` by tier id: where rewards are credited. */
  keeperAccounts: bigint[];
  /** Every account that can be liquidated: traders and makers. */
  liquidatable: bigint[];
}

/** Fills per block while opening (every feed is refreshed in the same block first). */
const FILLS_PER_BLOCK = 25;
const DEPOSITS_PER_BLOCK = 60;

/**
 * Opens `plan` on the deployment `d`: the reserve, the LPs' capital in each pool, each tier's insurance fund,
 * makers and traders, and every trader's fill against its tier's maker at the scenario's opening prices.
 * `refreshFeeds` returns the transactions that write every feed at the opening prices (sent first in each
 * block of fills, so every fill reads a fresh price).
 */
export async function openPopulation(
  node: DevNode,
  d: FoundationDeployment,
  actors: ScenarioActors,
  scenario: Scenario,
  markets: Map<string, number>,
  refreshFeeds: (signer: Signer) => Promise<ContractTransactionResponse[]>,
  plan: PopulationPlan = DEFAULT_POPULATION,
  progress: (line: string) => void = () => undefined,
): Promise<Population> {
  const usd = (x: number) => BigInt(x) * 10n ** 6n;
  const token = d.tokens.USDC!;
  const mock = token.mock!;
  const vaultAddress = await d.vault.getAddress();
  const deployer = new NonceManager(actors.deployer);
  const executor = new NonceManager(actors.executor);
  const oracle = new NonceManager(actors.oracle);
  const lp = new NonceManager(actors.lp);
  const [traderOwner, makerOwner, keeper, lpAddress] = await Promise.all([
    actors.traderOwner.getAddress(),
    actors.makerOwner.getAddress(),
    actors.keeper.getAddress(),
    actors.lp.getAddress(),
  ]);

  const traders = generateTraders(scenario, markets, plan);
  const tiers = plan.tiers.map((p) => p.tier);
  const poolAddresses = await Promise.all(tiers.map((tier) => d.pools[tier]!.getAddress()));
  const poolAccounts = tiers.map((tier, i) => accountBucket(poolAddresses[i]!, tier, 0n));
  const makerAccounts = tiers.map((tier) => accountBucket(makerOwner, tier, 1n));
  const keeperAccounts = tiers.map((tier) => accountBucket(keeper, tier, 0n));
  const traderAccounts = traders.map((t) => accountBucket(traderOwner, t.tier, t.subId));

  // The deployer funds everything but the LPs' capital.
  const total =
    traders.reduce((sum, t) => sum + t.deposit, 0n) +
    plan.tiers.reduce((sum, p) => sum + usd(p.makerCollateral) + usd(p.insurance), 0n) +
    usd(plan.reserve);
  await (await mock.connect(deployer).mint(await deployer.getAddress(), total)).wait();
  await (await mock.connect(deployer).approve(vaultAddress, total)).wait();
  await (await d.vault.connect(deployer).fundReserve(token.address, usd(plan.reserve))).wait();
  for (const p of plan.tiers) {
    const pool = d.pools[p.tier]!;
    const capital = usd(p.lpCapital);
    await (await mock.connect(lp).mint(lpAddress, capital)).wait();
    await (await mock.connect(lp).approve(await pool.getAddress(), capital)).wait();
    await (await pool.connect(lp).deposit(capital, lpAddress)).wait();
  }
  progress(`reserve and ${plan.tiers.length} pools funded`);

  const ledger: [bigint, bigint][] = [
    ...plan.tiers.map((p): [bigint, bigint] => [insuranceBucket(p.tier), usd(p.insurance)]),
    ...plan.tiers.map((p, i): [bigint, bigint] => [makerAccounts[i]!, usd(p.makerCollateral)]),
    ...traders.map((t, i): [bigint, bigint] => [traderAccounts[i]!, t.deposit]),
  ];
  const vault = d.vault.connect(deployer);
  for (let i = 0; i < ledger.length; i += DEPOSITS_PER_BLOCK) {
    const chunk = ledger.slice(i, i + DEPOSITS_PER_BLOCK);
    await inOneBlock(node, async () => {
      const sent: ContractTransactionResponse[] = [];
      for (const [bucket, amount] of chunk) {
        sent.push(await vault.deposit(token.address, amount, bucket, { gasLimit: 300_000 }));
      }
      return sent;
    });
  }
  progress(`${ledger.length} ledger deposits`);

  const open = scenario.points[0]!.prices;
  const clearing = d.clearing.connect(executor);
  const tierIndex = new Map(tiers.map((tier, i) => [tier, i]));
  for (let i = 0; i < traders.length; i += FILLS_PER_BLOCK) {
    const chunk = traders.slice(i, i + FILLS_PER_BLOCK);
    await inOneBlock(node, async () => {
      const sent = await refreshFeeds(oracle);
      for (const [j, t] of chunk.entries()) {
        sent.push(
          await clearing.applyFill(
            {
              taker: traderAccounts[i + j]!,
              maker: makerAccounts[tierIndex.get(t.tier)!]!,
              market: t.market,
              size: t.size,
              price: wadPrice(open[t.asset]!),
              takerFee: t.takerFee,
              makerFee: t.makerFee,
              poolFee: 0n,
              protocolFee: 0n,
              protocol: 0n,
            },
            { gasLimit: 1_500_000 },
          ),
        );
      }
      return sent;
    });
    progress(`opened ${Math.min(i + FILLS_PER_BLOCK, traders.length)}/${traders.length} positions`);
  }

  return {
    plan,
    traders,
    traderAccounts,
    makerAccounts,
    poolAccounts,
    keeperAccounts,
    liquidatable: [...traderAccounts, ...makerAccounts],
  };
}
