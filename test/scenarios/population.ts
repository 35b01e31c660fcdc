import { type ContractTransactionResponse, MaxUint256, parseUnits } from "ethers";

import { accountBucket, insuranceBucket } from "../../sdk/src/client/buckets.js";
import { type Chain, deployLocalFoundation } from "../helpers/foundation.js";

// ------------------------------------------------------------------ constants (deploy/local.ts)

export const CORE = 0;
export const PRO = 1;
export const EDGE = 2;
export const TIERS = [CORE, PRO, EDGE] as const;
export const TIER_NAMES = ["core", "pro", "edge"] as const;
/** Market id of ETH/USD. */
export const ETH = 1;
export const WAD = 10n ** 18n;
export const BPS = 10_000n;
/** Quote WAD per USDC unit (6 decimals). */
export const USDC_SCALE = 10n ** 12n;
/** Fees of the ETH market in every tier (deploy/local.ts), in bps of notional. */
export const TAKER_FEE_BPS = 5n;
export const MAKER_FEE_BPS = 2n;
/** Sizes are whole micro-ETH, so every notional is exact to the cent at whole-dollar prices. */
const SIZE_GRANULARITY = 10n ** 12n;
/** Fills per block while opening the population (the feeds are refreshed in the same block). */
const FILLS_PER_BLOCK = 20;

/** USDC token units (6 decimals) from a decimal string. */
export function usdc(s: string): bigint {
  return parseUnits(s, 6);
}

// ------------------------------------------------------------------ the plan

/** What one tier's population looks like. Amounts are USDC token units. */
export interface TierPlan {
  tier: number;
  name: string;
  /** The tier's max leverage in the ETH market (deploy/local.ts). */
  maxLeverage: number;
  traders: number;
  /** Share of the traders that go long, in bps. */
  longShareBps: number;
  /** Leverage at open as a share of `maxLeverage`, in bps, spread evenly from `min` to `max`. */
  leverageShareBps: { min: number; max: number };
  /** Each trader's margin (fees excluded), drawn log-uniformly between these whole-USDC amounts. */
  collateralRange: { min: number; max: number };
  /** The tier's market maker, `(maker, tier, 1)`: every trader's counterparty. */
  makerCollateral: bigint;
  /** LP capital in the tier's backstop pool. */
  lpCapital: bigint;
  /** Tokens deposited into the tier's insurance fund. */
  insurance: bigint;
}

/**
 * The default population: 60 traders per tier (180 in all), 70% long, leverage from 20% to 95% of the
 * tier's max. Core is 3x, pro 20x, edge 50x; the pools and makers are sized so that a −40% path leaves
 * every pool solvent (they absorb the liquidated longs, then lose on them as the price keeps falling).
 */
export const DEFAULT_PLAN: readonly TierPlan[] = [
  {
    tier: CORE,
    name: "core",
    maxLeverage: 3,
    traders: 60,
    longShareBps: 7_000,
    leverageShareBps: { min: 2_000, max: 9_500 },
    collateralRange: { min: 2_000, max: 50_000 },
    makerCollateral: usdc("2000000"),
    lpCapital: usdc("2000000"),
    insurance: usdc("50000"),
  },
  {
    tier: PRO,
    name: "pro",
    maxLeverage: 20,
    traders: 60,
    longShareBps: 7_000,
    leverageShareBps: { min: 2_000, max: 9_500 },
    collateralRange: { min: 1_000, max: 20_000 },
    makerCollateral: usdc("1000000"),
    lpCapital: usdc("3000000"),
    insurance: usdc("20000"),
  },
  {
    tier: EDGE,
    name: "edge",
    maxLeverage: 50,
    traders: 60,
    longShareBps: 7_000,
    leverageShareBps: { min: 2_000, max: 9_500 },
    collateralRange: { min: 500, max: 5_000 },
    makerCollateral: usdc("500000"),
    lpCapital: usdc("2000000"),
    insurance: usdc("10000"),
  },
];

/** The protocol reserve (core may draw 250,000 and pro 100,000 per epoch; edge is not eligible). */
export const RESERVE_FUNDING = usdc("1000000");

/** One trader account `(traderOwner, tier, subId)` and the fill that opens its position. */
export interface Trader {
  tier: number;
  subId: bigint;
  long: boolean;
  /** Leverage at open as a share of the tier's max leverage, in bps. */
  leverageShareBps: number;
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
  /** What is deposited: the margin plus the taker fee, in USDC units (rounded up). */
  deposit: bigint;
}

/** mulberry32: a small deterministic PRNG, so a population is reproducible from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/**
 * The traders of every tier, deterministically from `seed`. Per tier: exactly `longShareBps` of them
 * long, leverage shares evenly spaced over the range and shuffled, margins log-uniform in the range.
 * Every notional stays under the first size bracket (1,000,000 quote).
 */
export function generatePopulation(plan: readonly TierPlan[], openPrice: bigint, seed = 2025): Trader[] {
  const random = prng(seed);
  const traders: Trader[] = [];
  for (const p of plan) {
    const n = p.traders;
    const longs = Math.round((n * p.longShareBps) / 10_000);
    const sides = shuffle(
      Array.from({ length: n }, (_, i) => i < longs),
      random,
    );
    const shares = shuffle(
      Array.from({ length: n }, (_, i) =>
        Math.round(p.leverageShareBps.min + ((p.leverageShareBps.max - p.leverageShareBps.min) * i) / (n - 1)),
      ),
      random,
    );
    const logMin = Math.log(p.collateralRange.min);
    const logMax = Math.log(p.collateralRange.max);
    for (let i = 0; i < n; i++) {
      const share = shares[i]!;
      const long = sides[i]!;
      const margin = BigInt(Math.round(Math.exp(logMin + (logMax - logMin) * random()))) * 10n ** 6n;
      // leverage = maxLeverage × share, in thousandths (exact: share is whole bps).
      const leverageMilli = (BigInt(p.maxLeverage) * BigInt(share)) / 10n;
      const targetNotional = (margin * USDC_SCALE * leverageMilli) / 1_000n;
      // Rounding: down to whole micro-ETH, so the leverage never exceeds the target.
      const absSize = ((targetNotional * WAD) / openPrice / SIZE_GRANULARITY) * SIZE_GRANULARITY;
      const notional = (absSize * openPrice) / WAD;
      if (notional >= 1_000_000n * WAD) throw new RangeError("a trader's notional reaches the first size bracket");
      const takerFee = (notional * TAKER_FEE_BPS) / BPS;
      const makerFee = (notional * MAKER_FEE_BPS) / BPS;
      traders.push({
        tier: p.tier,
        subId: BigInt(100 + p.tier * 1_000 + i),
        long,
        leverageShareBps: share,
        leverageMilli,
        margin,
        size: long ? absSize : -absSize,
        notional,
        takerFee,
        makerFee,
        deposit: margin + (takerFee + USDC_SCALE - 1n) / USDC_SCALE,
      });
    }
  }
  return traders;
}

// ------------------------------------------------------------------ on chain

/** Sends the transactions `send` issues into one block, then checks that every one succeeded. */
export async function inOneBlock(chain: Chain, send: () => Promise<ContractTransactionResponse[]>): Promise<void> {
  const provider = chain.ethers.provider;
  let sent: ContractTransactionResponse[] = [];
  await provider.send("evm_setAutomine", [false]);
  try {
    sent = await send();
    await provider.send("evm_mine", []);
  } finally {
    await provider.send("evm_setAutomine", [true]);
  }
  for (const tx of sent) {
    const receipt = await tx.wait();
    if (receipt === null || receipt.status !== 1) throw new Error(`transaction ${tx.hash} failed`);
  }
}

/**
 * Deploys the local suite with a pool per tier and opens the whole population at ETH = `openPrice`:
 * LP capital in each pool, each tier's insurance fund, the protocol reserve, one market maker per tier
 * `(maker, tier, 1)`, and every trader `(traderOwner, tier, subId)` filled against its tier's maker, so
 * every fill is zero-sum inside its tier. Fees are charged (taker 5 bps, maker 2 bps) into each tier's
 * insurance fund; each trader's deposit covers its fee, so its leverage at open is exactly its target.
 */
export async function openPopulation(chain: Chain, plan: readonly TierPlan[] = DEFAULT_PLAN, seed = 2025) {
  const f = await deployLocalFoundation(chain, { pools: true });
  const { d, deployer, executor } = f;
  const [traderOwner, makerOwner, lp, keeper] = [f.alice, f.bob, f.carol, f.mallory];
  const token = d.tokens.USDC!;
  const mock = token.mock!;
  const vaultAddress = await d.vault.getAddress();
  const eth = d.assets["ETH/USD"]!;
  const openPrice = 3_000n * WAD;

  /** Moves both ETH feeds to `price` (quote WAD, whole dollars) so the band stays tight. */
  async function setEth(price: bigint, gasLimit?: number): Promise<ContractTransactionResponse[]> {
    const options = gasLimit === undefined ? {} : { gasLimit };
    return [
      await eth.mockPrimary!.updateAnswer(price / 10n ** 10n, options),
      await eth.mockSecondary!.updateAnswer(price, options),
    ];
  }

  const traders = generatePopulation(plan, openPrice, seed);
  const pools = TIERS.map((tier) => d.pools[tier]!);
  const poolAddresses = await Promise.all(pools.map((p) => p.getAddress()));
  const poolAccounts = TIERS.map((tier) => accountBucket(poolAddresses[tier]!, tier, 0n));
  const makerAccounts = TIERS.map((tier) => accountBucket(makerOwner.address, tier, 1n));
  const keeperAccounts = TIERS.map((tier) => accountBucket(keeper.address, tier, 0n));
  const traderAccounts = traders.map((t) => accountBucket(traderOwner.address, t.tier, t.subId));

  // The deployer funds everything but the LPs' capital.
  const deposits =
    traders.reduce((sum, t) => sum + t.deposit, 0n) +
    plan.reduce((sum, p) => sum + p.makerCollateral + p.insurance, 0n) +
    RESERVE_FUNDING;
  await (await mock.mint(deployer.address, deposits)).wait();
  await (await mock.connect(deployer).approve(vaultAddress, MaxUint256)).wait();
  await (await d.vault.connect(deployer).fundReserve(token.address, RESERVE_FUNDING)).wait();

  for (const p of plan) {
    const pool = pools[p.tier]!;
    await (await mock.mint(lp.address, p.lpCapital)).wait();
    await (await mock.connect(lp).approve(poolAddresses[p.tier]!, p.lpCapital)).wait();
    await (await pool.connect(lp).deposit(p.lpCapital, lp.address)).wait();
  }

  // Insurance funds, makers and traders: ledger deposits, many per block.
  const vault = d.vault.connect(deployer);
  const gas = { gasLimit: 300_000 };
  const ledgerDeposits: [bigint, bigint][] = [
    ...plan.map((p): [bigint, bigint] => [insuranceBucket(p.tier), p.insurance]),
    ...plan.map((p): [bigint, bigint] => [makerAccounts[p.tier]!, p.makerCollateral]),
    ...traders.map((t, i): [bigint, bigint] => [traderAccounts[i]!, t.deposit]),
  ];
  for (let i = 0; i < ledgerDeposits.length; i += 50) {
    const chunk = ledgerDeposits.slice(i, i + 50);
    await inOneBlock(chain, async () => {
      const sent: ContractTransactionResponse[] = [];
      for (const [bucket, amount] of chunk) sent.push(await vault.deposit(token.address, amount, bucket, gas));
      return sent;
    });
  }

  // The fills: each block first refreshes both feeds, so every fill sees a fresh price (the base band
  // only) and a trader at 95% of the max leverage still meets IM on the conservative side.
  const clearing = d.clearing.connect(executor);
  for (let i = 0; i < traders.length; i += FILLS_PER_BLOCK) {
    const chunk = traders.slice(i, i + FILLS_PER_BLOCK);
    await inOneBlock(chain, async () => {
      const sent = await setEth(openPrice, 200_000);
      for (const [j, t] of chunk.entries()) {
        sent.push(
          await clearing.applyFill(
            {
              taker: traderAccounts[i + j]!,
              maker: makerAccounts[t.tier]!,
              market: ETH,
              size: t.size,
              price: openPrice,
              takerFee: t.takerFee,
              makerFee: t.makerFee,
              poolFee: 0n,
              protocolFee: 0n,
              protocol: 0n,
            },
            { gasLimit: 1_000_000 },
          ),
        );
      }
      return sent;
    });
  }

  return {
    f,
    d,
    chain,
    plan,
    token,
    keeper,
    traderOwner,
    makerOwner,
    lp,
    openPrice,
    setEth,
    traders,
    traderAccounts,
    makerAccounts,
    poolAccounts,
    keeperAccounts,
    pools,
  };
}

export type Population = Awaited<ReturnType<typeof openPopulation>>;
