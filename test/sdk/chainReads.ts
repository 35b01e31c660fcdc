/**
 * Reads what the SDK's math mirror takes as plain inputs from a local deployment, all in one block context
 * (`blockTag`), and decodes the contracts' reverts for comparison with the mirror's {@link MirroredRevertError}.
 */
import { ErrorFragment, Interface, type BaseContract } from "ethers";

import type { FoundationDeployment } from "../../sdk/src/deploy/foundation.js";
import type { FundingState, Health, HealthInput, MarketRead, Position } from "../../sdk/src/math/health.js";
import type { CollateralRisk, MarginParams } from "../../sdk/src/math/marginMath.js";
import type { OraclePrice } from "../../sdk/src/oracle/price.js";

export type BlockTag = { blockTag: string | number };

/** An oracle read as the SDK takes it. */
export const toPrice = (p: { price: bigint; lower: bigint; upper: bigint; flags: bigint }): OraclePrice => ({
  price: p.price,
  lower: p.lower,
  upper: p.upper,
  flags: p.flags,
});

/** IRiskEngine.MarginParams as the SDK takes it. */
export function toMarginParams(p: {
  ratios: { imr: bigint; mmr: bigint; bmr: bigint };
  bracketNotional1: bigint;
  bracketAddBps1: bigint;
  bracketNotional2: bigint;
  bracketAddBps2: bigint;
  maxFundingBpsPerDay: bigint;
  fundingSkewScale: bigint;
  liquidationPenaltyBps: bigint;
  keeperShareBps: bigint;
  keeperRewardCap: bigint;
}): MarginParams {
  return {
    ratios: { imr: p.ratios.imr, mmr: p.ratios.mmr, bmr: p.ratios.bmr },
    bracketNotional1: p.bracketNotional1,
    bracketAddBps1: p.bracketAddBps1,
    bracketNotional2: p.bracketNotional2,
    bracketAddBps2: p.bracketAddBps2,
    maxFundingBpsPerDay: p.maxFundingBpsPerDay,
    fundingSkewScale: p.fundingSkewScale,
    liquidationPenaltyBps: p.liquidationPenaltyBps,
    keeperShareBps: p.keeperShareBps,
    keeperRewardCap: p.keeperRewardCap,
  };
}

/** IClearingHouse.Health as a plain object (every field, for deep equality). */
export function toHealth(h: {
  collateralValue: bigint;
  cash: bigint;
  unrealizedPnl: bigint;
  unrealizedLoss: bigint;
  pendingFunding: bigint;
  equity: bigint;
  im: bigint;
  mm: bigint;
  backstop: bigint;
  positions: bigint;
}): Health {
  return {
    collateralValue: h.collateralValue,
    cash: h.cash,
    unrealizedPnl: h.unrealizedPnl,
    unrealizedLoss: h.unrealizedLoss,
    pendingFunding: h.pendingFunding,
    equity: h.equity,
    im: h.im,
    mm: h.mm,
    backstop: h.backstop,
    positions: h.positions,
  };
}

/** The tier's static context: quote decimals and collateral tokens, each with its decimals and risk settings. */
export interface TierContext {
  quoteDecimals: bigint;
  quoteToken: string;
  tokens: string[];
  decimals: bigint[];
  risks: (CollateralRisk & { oracleAsset: string })[];
  markets: number[];
}

/** Reads a tier's context once (the local deployment changes none of it). */
export async function readTierContext(d: FoundationDeployment, tier: number): Promise<TierContext> {
  const [tc, tokens] = await d.risk.tierContext(tier);
  const decimals: bigint[] = [];
  const risks: TierContext["risks"] = [];
  for (const token of tokens) {
    decimals.push((await d.vault.tokenConfig(token)).decimals);
    const c = await d.risk.collateralRisk(tier, token);
    risks.push({
      listed: c.listed,
      weightBps: c.weightBps,
      excessWeightBps: c.excessWeightBps,
      sizeThreshold: c.sizeThreshold,
      oracleAsset: c.oracleAsset,
    });
  }
  const markets = (await d.risk.tierMarkets(tier)).map(Number);
  return { quoteDecimals: tc.quoteDecimals, quoteToken: tc.quoteToken, tokens: [...tokens], decimals, risks, markets };
}

/**
 * The stored funding state of every tier × market, from the clearing house's `FundingAccrued` events (the index
 * and the timestamp of the last one), scanned incrementally.
 */
export class FundingTracker {
  private scanned = -1;
  private readonly last = new Map<string, { fundingIndex: bigint; lastFundingUpdate: bigint }>();
  private readonly timestamps = new Map<number, bigint>();

  constructor(private readonly d: FoundationDeployment) {}

  /** Scans the events up to the latest block. */
  async update(): Promise<void> {
    const provider = this.d.clearing.runner!.provider!;
    const latest = await provider.getBlockNumber();
    if (latest <= this.scanned) return;
    const events = await this.d.clearing.queryFilter(
      this.d.clearing.filters.FundingAccrued(),
      this.scanned + 1,
      latest,
    );
    for (const e of events) {
      let timestamp = this.timestamps.get(e.blockNumber);
      if (timestamp === undefined) {
        timestamp = BigInt((await provider.getBlock(e.blockNumber))!.timestamp);
        this.timestamps.set(e.blockNumber, timestamp);
      }
      this.last.set(`${e.args.tier}:${e.args.market}`, { fundingIndex: e.args.index, lastFundingUpdate: timestamp });
    }
    this.scanned = latest;
  }

  /** The stored state of `market` in `tier`, with the pool's size in it (`null`: no pool). */
  state(tier: number, market: number, poolSize: bigint | null): FundingState {
    const s = this.last.get(`${tier}:${market}`) ?? { fundingIndex: 0n, lastFundingUpdate: 0n };
    return { ...s, poolSize };
  }
}

/** An account's position, cash, balances and open markets, read at `at`. */
export async function readAccount(
  d: FoundationDeployment,
  account: bigint,
  ctx: TierContext,
  at: BlockTag,
): Promise<{ cash: bigint; balances: bigint[]; positions: Map<number, Position>; markets: number[] }> {
  const [cash, balances, markets] = await Promise.all([
    d.clearing.cash(account, at),
    d.vault.balancesOf(account, ctx.tokens, at),
    d.clearing.accountMarkets(account, at),
  ]);
  const positions = new Map<number, Position>();
  await Promise.all(
    ctx.markets.map(async (m) => {
      const p = await d.clearing.position(account, m, at);
      positions.set(m, { size: p.size, openNotional: p.openNotional, fundingIndex: p.fundingIndex });
    }),
  );
  return { cash, balances: [...balances], positions, markets: markets.map(Number) };
}

/** The SDK's health input of an account from its reads, the tier's markets and the assets' liquidation reads. */
export function healthInput(
  ctx: TierContext,
  account: Awaited<ReturnType<typeof readAccount>>,
  marketReads: Map<number, MarketRead>,
  prices: Map<string, OraclePrice>,
  now: bigint,
): HealthInput {
  return {
    quoteDecimals: ctx.quoteDecimals,
    collateral: ctx.tokens.map((token, i) => {
      const risk = ctx.risks[i]!;
      return {
        balance: account.balances[i]!,
        isQuote: token === ctx.quoteToken,
        decimals: ctx.decimals[i]!,
        risk,
        price: risk.listed ? prices.get(risk.oracleAsset) : undefined,
      };
    }),
    cash: account.cash,
    positions: account.markets.map((m) => ({ position: account.positions.get(m)!, market: marketReads.get(m)! })),
    now,
  };
}

// ------------------------------------------------------------------ reverts

/** A decoded revert: the custom error's name and arguments. */
export interface Revert {
  name: string;
  args: unknown[];
}

/** Every custom error of `contracts`, once per selector. */
export function errorInterface(contracts: readonly BaseContract[]): Interface {
  const bySelector = new Map<string, ErrorFragment>();
  for (const c of contracts) {
    c.interface.forEachError((e) => bySelector.set(e.selector, e));
  }
  return new Interface([...bySelector.values()]);
}

/** The revert of `call` decoded with `errors`, or `undefined` when it returns. Anything else is rethrown. */
export async function revertOf<T>(
  errors: Interface,
  call: () => Promise<T>,
): Promise<{ value: T; revert?: undefined } | { value?: undefined; revert: Revert }> {
  try {
    return { value: await call() };
  } catch (e) {
    const data = (e as { data?: unknown }).data;
    if (typeof data !== "string" || data.length < 10) throw e;
    const parsed = errors.parseError(data);
    if (parsed === null) throw e;
    return { revert: { name: parsed.name, args: [...parsed.args] } };
  }
}
