/**
 * The tiers' backstop pools through the client: each is an ERC-4626 vault over its tier's quote token whose
 * assets are the pool's clearing account. LPs deposit at once and leave through a cooldown: request, wait
 * `cooldown`, then redeem within `REDEEM_WINDOW`, and only as far as the pool's margin use allows.
 * Assets are quote token units; shares the pool's own (its `decimals()`).
 */
import { ZeroAddress } from "ethers";

import { BackstopPool__factory, type BackstopPool } from "../../../../types/index.js";
import { bind, StrataClientError, type ClientContext } from "../context.js";

/** An LP's redemption: what was requested, when it unlocks, and what can leave now. */
export interface RedeemStatus {
  /** Shares requested (0 when no request is pending). */
  requestedShares: bigint;
  /** When the request's shares become redeemable (unix seconds; 0 without a request). */
  unlockAt: bigint;
  /** The last second of the window in which they may be redeemed; after it, request again. */
  windowEndsAt: bigint;
  /** Shares redeemable now: the matured request, within the utilisation limit (ERC-4626 `maxRedeem`). */
  redeemable: bigint;
}

/** A pool's cooldown and utilisation limit. */
export interface PoolParams {
  /** Seconds between a redemption request and the redemption. */
  cooldown: bigint;
  /** Seconds after the cooldown during which the request may be redeemed. */
  redeemWindow: bigint;
  /** The share of the pool's equity its IM may use (bps); LPs cannot take it above this. */
  maxUtilisationBps: bigint;
}

export function createPoolsModule(ctx: ClientContext) {
  const pools = new Map<number, Promise<BackstopPool>>();

  /** The pool of `tier`: from the addresses given, else the clearing house's registry. */
  function pool(tier: number): Promise<BackstopPool> {
    let found = pools.get(tier);
    if (found === undefined) {
      found = (async () => {
        const address = ctx.addresses.pools?.[tier] ?? (await ctx.read(ctx.contracts.clearing.pool(tier)));
        if (address === ZeroAddress) {
          throw new StrataClientError(
            `Tier ${tier} has no backstop pool.`,
            "Use a tier with a pool (clearing.pool(tier) is not the zero address); an ADMIN registers one with setPool.",
          );
        }
        return BackstopPool__factory.connect(address, ctx.runner);
      })();
      found.catch(() => pools.delete(tier));
      pools.set(tier, found);
    }
    return found;
  }

  return {
    /**
     * The typechain contract of `tier`'s pool, connected to the client's runner.
     *
     * @example
     * const pool = await client.pools.contract(1);
     * await pool.totalSupply();
     */
    contract: pool,

    /**
     * Deposits `assets` (quote token units) into `tier`'s pool for shares minted to `receiver` (the signer by
     * default), approving the pool first when the allowance is short. `staticCall` returns the shares.
     *
     * @example
     * await client.pools.deposit({ tier: 1, assets: parseUnits("100000", 6) }, { wait: true });
     */
    deposit: ctx.write(
      "pools.deposit",
      async (p: { tier: number; assets: bigint; receiver?: string; approve?: boolean }) =>
        bind((await pool(p.tier)).deposit, p.assets, p.receiver ?? (await ctx.signerAddress("pools.deposit"))),
      async (p, options) => {
        if (p.approve === false) return;
        const target = await pool(p.tier);
        const asset = await ctx.read(target.asset());
        await ctx.approveIfNeeded("pools.deposit", asset, await target.getAddress(), p.assets, options);
      },
    ),

    /**
     * Asks to redeem `shares` of the signer after the pool's cooldown; a new request replaces the last one and
     * restarts the cooldown.
     *
     * @example
     * await client.pools.requestRedeem({ tier: 1, shares });
     * const { unlockAt } = await client.pools.redeemStatus(1, me);
     */
    requestRedeem: ctx.write("pools.requestRedeem", async (p: { tier: number; shares: bigint }) =>
      bind((await pool(p.tier)).requestRedeem, p.shares),
    ),

    /**
     * Redeems `shares` of a matured request for assets paid to `receiver` (the signer by default) from
     * `owner`'s balance (the signer by default). `staticCall` returns the assets.
     *
     * @example
     * const { redeemable } = await client.pools.redeemStatus(1, me);
     * await client.pools.redeem({ tier: 1, shares: redeemable });
     */
    redeem: ctx.write(
      "pools.redeem",
      async (p: { tier: number; shares: bigint; receiver?: string; owner?: string }) => {
        const me = () => ctx.signerAddress("pools.redeem");
        return bind((await pool(p.tier)).redeem, p.shares, p.receiver ?? (await me()), p.owner ?? (await me()));
      },
    ),

    /**
     * The pool's assets: its account's equity on the conservative side of every price band (quote token units).
     *
     * @example
     * const tvl = await client.pools.totalAssets(1);
     */
    async totalAssets(tier: number): Promise<bigint> {
      return ctx.read((await pool(tier)).totalAssets());
    },

    /**
     * The shares a deposit of `assets` would mint now.
     *
     * @example
     * const shares = await client.pools.previewDeposit(1, parseUnits("1000", 6));
     */
    async previewDeposit(tier: number, assets: bigint): Promise<bigint> {
      return ctx.read((await pool(tier)).previewDeposit(assets));
    },

    /**
     * The assets a redemption of `shares` would pay now.
     *
     * @example
     * const assets = await client.pools.previewRedeem(1, shares);
     */
    async previewRedeem(tier: number, shares: bigint): Promise<bigint> {
      return ctx.read((await pool(tier)).previewRedeem(shares));
    },

    /**
     * `owner`'s pool shares.
     *
     * @example
     * const shares = await client.pools.balanceOf(1, me);
     */
    async balanceOf(tier: number, owner: string): Promise<bigint> {
      return ctx.read((await pool(tier)).balanceOf(owner));
    },

    /**
     * The pool's cooldown, redemption window and utilisation limit.
     *
     * @example
     * const { cooldown } = await client.pools.params(1); // -> 259200n (3 days)
     */
    async params(tier: number): Promise<PoolParams> {
      const target = await pool(tier);
      const [[cooldown, maxUtilisationBps], redeemWindow] = await Promise.all([
        ctx.read(target.params()),
        ctx.read(target.REDEEM_WINDOW()),
      ]);
      return { cooldown, redeemWindow, maxUtilisationBps };
    },

    /**
     * `owner`'s pending redemption: shares requested, when they unlock, until when, and what is redeemable now.
     *
     * @example
     * const { unlockAt, redeemable } = await client.pools.redeemStatus(1, me);
     */
    async redeemStatus(tier: number, owner: string): Promise<RedeemStatus> {
      const target = await pool(tier);
      const [request, redeemWindow, redeemable] = await Promise.all([
        ctx.read(target.redeemRequest(owner)),
        ctx.read(target.REDEEM_WINDOW()),
        ctx.read(target.maxRedeem(owner)),
      ]);
      return {
        requestedShares: request.shares,
        unlockAt: request.unlockAt,
        windowEndsAt: request.unlockAt === 0n ? 0n : request.unlockAt + redeemWindow,
        redeemable,
      };
    },

    /**
     * The assets that may leave the pool now within its utilisation limit (quote token units).
     *
     * @example
     * const liquid = await client.pools.withdrawableAssets(1);
     */
    async withdrawableAssets(tier: number): Promise<bigint> {
      return ctx.read((await pool(tier)).withdrawableAssets());
    },
  };
}

export type PoolsModule = ReturnType<typeof createPoolsModule>;
