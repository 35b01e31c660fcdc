/**
 * The execution engine through the client: building and EIP-712 signing orders, settling two crossing
 * orders (anyone may), trading with a tier's backstop pool within a slippage bound, and cancelling.
 * Sizes are base WAD (signed, > 0 buys); prices quote WAD per base unit.
 */
import { randomBytes, toBigInt, type TypedDataDomain } from "ethers";

import type { IExecutionEngine } from "../../../../types/contracts/execution/ExecutionEngine.js";
import {
  orderDigest,
  orderDomain,
  signOrder,
  type Order,
  type SignedOrder,
  type TypedDataSigner,
} from "../../execution/orders.js";
import { acceptablePrice as withSlippage } from "../../execution/slippage.js";
import { decodeBucket } from "../buckets.js";
import { bind, StrataClientError, type ClientContext } from "../context.js";

/** How long an order built without an expiry stays valid: one hour. */
export const DEFAULT_ORDER_TTL_SECONDS = 3_600n;

/** Parameters of {@link ExecutionModule.buildOrder}: an order with defaults for its expiry and nonce. */
export interface BuildOrderParams {
  account: bigint;
  market: number;
  /** Base WAD, signed: > 0 buys. */
  size: bigint;
  /** The most a buyer pays, the least a seller receives (quote WAD). */
  limitPrice: bigint;
  reduceOnly?: boolean;
  /** The last second (unix) at which the order may fill; by default the chain's time + `ttlSeconds`. */
  expiry?: bigint;
  /** 3600 s by default. */
  ttlSeconds?: bigint;
  /** By default a fresh nonce of the account's owner ({@link ExecutionModule.freshNonce}). */
  nonce?: bigint;
}

/** Parameters of {@link ExecutionModule.settleMatch}. */
export interface SettleMatchParams {
  /** The resting order: the fill is at its limit price. */
  maker: SignedOrder;
  /** The crossing order. */
  taker: SignedOrder;
  /** The base size to fill (absolute WAD). */
  size: bigint;
}

/** Parameters of {@link ExecutionModule.tradeWithPool}: an acceptable price, or a slippage from a fresh quote. */
export type PoolTradeParams = {
  account: bigint;
  market: number;
  /** Base WAD, signed: > 0 buys from the pool. */
  size: bigint;
  /** Refuse a trade that would not reduce the position. */
  reduceOnly?: boolean;
} & (
  | {
      /** The worst price accepted (quote WAD). */
      acceptablePrice: bigint;
      slippageBps?: never;
    }
  | {
      /** The slippage accepted from a fresh quote, in bps (see `acceptablePrice`). */
      slippageBps: bigint;
      acceptablePrice?: never;
    }
);

/** A pool trade's quote: the price it would fill at now, and the oracle's mid. */
export interface PoolQuote {
  price: bigint;
  oraclePrice: bigint;
}

/** An order, or its digest. */
export type OrderRef = Order | string;

export function createExecutionModule(ctx: ClientContext) {
  const engine = ctx.contracts.execution;
  let domainCache: Promise<TypedDataDomain> | undefined;

  function domain(): Promise<TypedDataDomain> {
    domainCache ??= ctx.chainId().then((chainId) => orderDomain(chainId, ctx.addresses.execution));
    return domainCache;
  }

  function minNonce(owner: string): Promise<bigint> {
    return ctx.read(engine.minNonce(owner));
  }

  async function freshNonce(owner: string): Promise<bigint> {
    const nonce = (BigInt(Date.now()) << 64n) | toBigInt(randomBytes(8));
    const floor = await minNonce(owner);
    return nonce >= floor ? nonce : floor + (nonce & ((1n << 64n) - 1n));
  }

  async function digestOf(order: OrderRef): Promise<string> {
    return typeof order === "string" ? order : orderDigest(await domain(), order);
  }

  async function quotePoolTrade(account: bigint, market: number, size: bigint): Promise<PoolQuote> {
    const [price, oraclePrice] = await ctx.read(engine.quotePoolTrade(account, market, size));
    return { price, oraclePrice };
  }

  async function poolTradeCall(p: PoolTradeParams) {
    const bound =
      p.acceptablePrice ??
      withSlippage((await quotePoolTrade(p.account, p.market, p.size)).price, p.size, p.slippageBps!);
    return bind(engine.tradeWithPool, p.account, p.market, p.size, bound, p.reduceOnly ?? false);
  }

  return {
    /**
     * The EIP-712 domain of the engine on this chain (what orders are signed under).
     *
     * @example
     * const signature = await wallet.signTypedData(await client.execution.domain(), ORDER_TYPES, order);
     */
    domain,

    /**
     * An order with defaults: not reduce-only, expiring `ttlSeconds` (1 h) after the chain's latest block,
     * with a fresh nonce of the account's owner. Sign it with {@link signOrder}.
     *
     * @example
     * const order = await client.execution.buildOrder({ account, market: 1, size: parseUnits("1", 18), limitPrice: parseUnits("3000", 18) });
     */
    async buildOrder(p: BuildOrderParams): Promise<Order> {
      if (p.size === 0n)
        throw new StrataClientError("The order's size is zero.", "Pass a size > 0 to buy, < 0 to sell.");
      const expiry = p.expiry ?? (await ctx.now()) + (p.ttlSeconds ?? DEFAULT_ORDER_TTL_SECONDS);
      const nonce = p.nonce ?? (await freshNonce(decodeBucket(p.account).owner));
      return {
        account: p.account,
        market: p.market,
        size: p.size,
        limitPrice: p.limitPrice,
        reduceOnly: p.reduceOnly ?? false,
        expiry,
        nonce,
      };
    },

    /**
     * Signs `order` (EIP-712, the engine's domain on this chain) with the client's signer, or with `signer`:
     * the account's owner or one of its clearing operators.
     *
     * @example
     * const signed = await client.execution.signOrder(order);
     * await relayer.execution.settleMatch({ maker: signed, taker, size: order.size });
     */
    async signOrder(order: Order, signer?: TypedDataSigner): Promise<SignedOrder> {
      return signOrder(signer ?? ctx.requireSigner("execution.signOrder"), await domain(), order);
    },

    /**
     * The digest the order's signer signs (equal to the engine's `orderDigest`), computed locally.
     *
     * @example
     * const digest = await client.execution.orderDigest(order);
     */
    async orderDigest(order: Order): Promise<string> {
      return orderDigest(await domain(), order);
    },

    /**
     * A nonce above `owner`'s minimum, increasing with time (milliseconds in the high bits, 64 random bits
     * below): `setMinNonce({ minNonce: await freshNonce(owner) })` cancels every earlier order of `owner`.
     *
     * @example
     * const nonce = await client.execution.freshNonce(await signer.getAddress());
     */
    freshNonce,

    /**
     * Settles `size` between a resting `maker` and a crossing `taker` at the maker's limit price; anyone may
     * send it (a relayer or matcher).
     *
     * @example
     * await client.execution.settleMatch({ maker, taker, size: parseUnits("1", 18) }, { wait: true });
     */
    settleMatch: ctx.write("execution.settleMatch", (p: SettleMatchParams) =>
      bind(engine.settleMatch, toSigned(p.maker), toSigned(p.taker), p.size),
    ),

    /**
     * The price a pool trade of `size` would fill at now, and the oracle's mid (it reverts as the trade would
     * for an unavailable or out-of-band price).
     *
     * @example
     * const { price } = await client.execution.quotePoolTrade(account, 1, parseUnits("2", 18));
     */
    quotePoolTrade,

    /**
     * The acceptable price `slippageBps` worse than `quote` for a trade of `size` (see `execution/slippage.ts`).
     *
     * @example
     * const bound = client.execution.acceptablePrice(quote.price, size, 30n); // 0.3%
     */
    acceptablePrice: withSlippage,

    /**
     * Trades `size` of `market` for `account` with its tier's backstop pool, at once, refusing a price worse
     * than `acceptablePrice`, or than a fresh quote moved by `slippageBps` against the trader. `staticCall`
     * returns the fill price and fee; a price past the bound reverts with `ExecutionAcceptablePriceExceeded`.
     *
     * @example
     * await client.execution.tradeWithPool({ account, market: 1, size: parseUnits("2", 18), slippageBps: 50n });
     */
    tradeWithPool: ctx.write("execution.tradeWithPool", poolTradeCall),

    /**
     * Cancels `order` (its account's owner or an operator).
     *
     * @example
     * await client.execution.cancel({ order });
     */
    cancel: ctx.write("execution.cancel", (p: { order: Order }) => bind(engine.cancel, p.order)),

    /**
     * Cancels every order of the signer (as owner) with a nonce below `minNonce`; it may only rise.
     *
     * @example
     * await client.execution.setMinNonce({ minNonce: await client.execution.freshNonce(me) });
     */
    setMinNonce: ctx.write("execution.setMinNonce", (p: { minNonce: bigint }) => bind(engine.setMinNonce, p.minNonce)),

    /**
     * `owner`'s minimum nonce: its orders below it are cancelled.
     *
     * @example
     * const floor = await client.execution.minNonce(owner);
     */
    minNonce,

    /**
     * The base size of an order (or digest) filled so far.
     *
     * @example
     * const done = (await client.execution.filled(order)) === abs(order.size);
     */
    async filled(order: OrderRef): Promise<bigint> {
      return ctx.read(engine.filled(await digestOf(order)));
    },

    /**
     * Whether an order (or digest) was cancelled on its own (see also {@link minNonce}).
     *
     * @example
     * await client.execution.cancelled(order); // -> false
     */
    async cancelled(order: OrderRef): Promise<boolean> {
      return ctx.read(engine.cancelled(await digestOf(order)));
    },
  };
}

export type ExecutionModule = ReturnType<typeof createExecutionModule>;

function toSigned(s: SignedOrder): IExecutionEngine.SignedOrderStruct {
  return { order: s.order, signer: s.signer, signature: s.signature };
}
