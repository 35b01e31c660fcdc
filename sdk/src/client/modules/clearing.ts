/**
 * The clearing house through the client: withdrawals (margin-checked), settlement, operators, and the
 * account views — positions, cash, health — with each tier × market's funding and open interest.
 * Sizes are base WAD (signed, long > 0); notionals, cash, equity and requirements quote WAD.
 */
import type { IClearingHouse } from "../../../../types/contracts/clearing/ClearingHouse.js";
import type { Health as HealthFigures, Position as PositionFigures } from "../../math/health.js";
import { bind, type ClientContext } from "../context.js";

/** Parameters of {@link ClearingModule.withdraw}. */
export interface WithdrawParams {
  account: bigint;
  /** The token's address or symbol. */
  token: string;
  /** Token units. */
  amount: bigint;
  /** Who receives the tokens; the signer by default. */
  receiver?: string;
}

/** An account's position in one market: {@link PositionFigures} with its market id. */
export type Position = PositionFigures & { market: number };

/** An account's margin (quote WAD), as the clearing house computes it: {@link HealthFigures} with a count. */
export type Health = Omit<HealthFigures, "positions"> & { positions: number };

/** A tier × market's funding index and current rate per day (WAD; > 0: longs pay shorts). */
export interface FundingState {
  index: bigint;
  ratePerDayWad: bigint;
}

export function createClearingModule(ctx: ClientContext) {
  const clearing = ctx.contracts.clearing;

  async function position(account: bigint, market: number): Promise<Position> {
    return toPosition(market, await ctx.read(clearing.position(account, market)));
  }
  async function accountMarkets(account: bigint): Promise<number[]> {
    return (await ctx.read(clearing.accountMarkets(account))).map(Number);
  }

  return {
    /**
     * Withdraws `amount` of `token` from `account` to `receiver` (the signer by default), after settling the
     * account; with open positions what remains must cover IM, or it reverts with a `ClearingError`
     * (`ClearingInsufficientMargin`). `withdraw.staticCall` returns the vault claim id: 0 when paid at once.
     *
     * @example
     * const claimId = await client.clearing.withdraw.staticCall({ account, token: "USDC", amount });
     * await client.clearing.withdraw({ account, token: "USDC", amount }, { wait: true });
     */
    withdraw: ctx.write("clearing.withdraw", async (p: WithdrawParams) =>
      bind(
        clearing.withdraw,
        p.account,
        ctx.token(p.token),
        p.amount,
        p.receiver ?? (await ctx.signerAddress("clearing.withdraw")),
      ),
    ),

    /**
     * Settles `account`: realizes funding and moves its cash into or out of the tier's settlement bucket
     * (anyone may call).
     *
     * @example
     * await client.clearing.settle({ account });
     */
    settle: ctx.write("clearing.settle", (p: { account: bigint }) => bind(clearing.settle, p.account)),

    /**
     * Authorizes (or revokes) `operator` to trade, sign orders and withdraw for every account of the signer.
     *
     * @example
     * await client.clearing.setOperator({ operator: bot.address, approved: true });
     */
    setOperator: ctx.write("clearing.setOperator", (p: { operator: string; approved: boolean }) =>
      bind(clearing.setOperator, p.operator, p.approved),
    ),

    /**
     * Moves the funding index of `market` in `tier` up to now (anyone may call).
     *
     * @example
     * await client.clearing.accrueFunding({ tier: 1, market: 1 });
     */
    accrueFunding: ctx.write("clearing.accrueFunding", (p: { tier: number; market: number }) =>
      bind(clearing.accrueFunding, p.tier, p.market),
    ),

    /**
     * The position of `account` in `market` (size 0 when none).
     *
     * @example
     * const { size, openNotional } = await client.clearing.position(account, 1);
     */
    position,

    /**
     * Every open position of `account`.
     *
     * @example
     * for (const p of await client.clearing.positions(account)) console.log(p.market, formatWad(p.size));
     */
    async positions(account: bigint): Promise<Position[]> {
      return Promise.all((await accountMarkets(account)).map((market) => position(account, market)));
    },

    /**
     * The markets in which `account` has a position.
     *
     * @example
     * const markets = await client.clearing.accountMarkets(account); // -> [1]
     */
    accountMarkets,

    /**
     * The account's realized cash (quote WAD, signed), not yet settled into its collateral.
     *
     * @example
     * const cash = await client.clearing.cash(account);
     */
    cash(account: bigint): Promise<bigint> {
      return ctx.read(clearing.cash(account));
    },

    /**
     * The account's equity and margin requirements now.
     *
     * @example
     * const h = await client.clearing.health(account);
     * const liquidatable = h.positions > 0 && h.equity < h.mm;
     */
    async health(account: bigint): Promise<Health> {
      return toHealth(await ctx.read(clearing.health(account)));
    },

    /**
     * The funding index of `market` in `tier` as of now, and its rate per day.
     *
     * @example
     * const { ratePerDayWad } = await client.clearing.fundingState(1, 1);
     */
    async fundingState(tier: number, market: number): Promise<FundingState> {
      const [index, ratePerDayWad] = await ctx.read(clearing.fundingState(tier, market));
      return { index, ratePerDayWad };
    },

    /**
     * Σ long sizes of `market` in `tier` (base WAD).
     *
     * @example
     * const oi = await client.clearing.openInterest(1, 1);
     */
    openInterest(tier: number, market: number): Promise<bigint> {
      return ctx.read(clearing.openInterest(tier, market));
    },

    /**
     * The backstop pool of `tier` (the zero address when none).
     *
     * @example
     * const pool = await client.clearing.pool(1);
     */
    pool(tier: number): Promise<string> {
      return ctx.read(clearing.pool(tier));
    },

    /**
     * Whether `operator` may act for `owner`'s accounts.
     *
     * @example
     * await client.clearing.isOperator(owner, bot.address); // -> true
     */
    isOperator(owner: string, operator: string): Promise<boolean> {
      return ctx.read(clearing.isOperator(owner, operator));
    },
  };
}

export type ClearingModule = ReturnType<typeof createClearingModule>;

function toPosition(market: number, p: IClearingHouse.PositionStructOutput): Position {
  return { market, size: p.size, openNotional: p.openNotional, fundingIndex: p.fundingIndex };
}

function toHealth(h: IClearingHouse.HealthStructOutput): Health {
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
    positions: Number(h.positions),
  };
}
