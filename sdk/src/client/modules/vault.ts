/**
 * The collateral vault through the client: deposits into clearing accounts (approving the vault when the
 * allowance is short), ledger balances, queued withdrawal claims and token listings. Withdrawals from an
 * account go through the clearing house (`clearing.withdraw`), which checks margin first.
 */
import type { ICollateralVault } from "../../../../types/contracts/vault/CollateralVault.js";
import { bind, type ClientContext } from "../context.js";

/** Parameters of {@link VaultModule.deposit}. */
export interface DepositParams {
  /** The token's address, or its symbol in the deployment (`"USDC"`). */
  token: string;
  /** Token units (`parseUnits("1000", 6)` for 1,000 USDC). */
  amount: bigint;
  /** The bucket credited: a clearing account (`client.account(owner, tier, subId)`). */
  account: bigint;
  /** Approve the vault first when the signer's allowance is short (true by default). */
  approve?: boolean;
}

/** A queued withdrawal, payable from `readyAt` (zero fields once paid or for an unknown id). */
export interface Claim {
  amount: bigint;
  readyAt: bigint;
  receiver: string;
  token: string;
  owner: string;
}

/** Listing facts and the outflow limit of a token. */
export interface TokenConfig {
  listed: boolean;
  decimals: number;
  outflowWindow: bigint;
  outflowCapacity: bigint;
}

export function createVaultModule(ctx: ClientContext) {
  const vault = ctx.contracts.vault;
  return {
    /**
     * Deposits `amount` of `token` into `account`, approving the vault first when the signer's allowance is
     * short (a separate transaction, awaited). Anyone may deposit into any account. Returns the deposit's
     * transaction. `deposit.staticCall` simulates the deposit only, so it needs the allowance already.
     *
     * @example
     * const account = client.account(await signer.getAddress(), 1, 0n);
     * await client.vault.deposit({ token: "USDC", amount: parseUnits("10000", 6), account }, { wait: true });
     */
    deposit: ctx.write(
      "vault.deposit",
      (p: DepositParams) => bind(vault.deposit, ctx.token(p.token), p.amount, p.account),
      async (p, options) => {
        if (p.approve === false) return;
        await ctx.approveIfNeeded("vault.deposit", ctx.token(p.token), ctx.addresses.vault, p.amount, options);
      },
    ),

    /**
     * Pays the queued claim `claimId` to its receiver, once ready (anyone may call).
     *
     * @example
     * const claim = await client.vault.claim(claimId);
     * if (claim.readyAt <= now) await client.vault.payClaim({ claimId });
     */
    payClaim: ctx.write("vault.payClaim", (p: { claimId: bigint }) => bind(vault.payClaim, p.claimId)),

    /**
     * The ledger balance of `token` in `account` (token units).
     *
     * @example
     * const usdc = await client.vault.balanceOf(account, "USDC"); // -> 10000000000n (10,000 USDC)
     */
    balanceOf(account: bigint, token: string): Promise<bigint> {
      return ctx.read(vault.balanceOf(account, ctx.token(token)));
    },

    /**
     * The ledger balances of several tokens in `account`, in one call, keyed as given.
     *
     * @example
     * const { USDC, WETH } = await client.vault.balancesOf(account, ["USDC", "WETH"]);
     */
    async balancesOf<T extends string>(account: bigint, tokens: readonly T[]): Promise<Record<T, bigint>> {
      const balances = await ctx.read(
        vault.balancesOf(
          account,
          tokens.map((t) => ctx.token(t)),
        ),
      );
      return Object.fromEntries(tokens.map((t, i) => [t, balances[i]!])) as Record<T, bigint>;
    },

    /**
     * The queued claim `claimId` (a withdrawal above the vault's outflow limit is paid by a claim later).
     *
     * @example
     * const { amount, readyAt } = await client.vault.claim(3n);
     */
    async claim(claimId: bigint): Promise<Claim> {
      return toClaim(await ctx.read(vault.claim(claimId)));
    },

    /**
     * Whether `token` is listed, its decimals and its outflow limit.
     *
     * @example
     * const { listed, decimals } = await client.vault.tokenConfig("USDC"); // -> true, 6
     */
    async tokenConfig(token: string): Promise<TokenConfig> {
      const c = await ctx.read(vault.tokenConfig(ctx.token(token)));
      return {
        listed: c.listed,
        decimals: Number(c.decimals),
        outflowWindow: c.outflowWindow,
        outflowCapacity: c.outflowCapacity,
      };
    },

    /**
     * What may leave `tier` in `token` at once before withdrawals queue as claims.
     *
     * @example
     * const available = await client.vault.availableOutflow(1, "USDC");
     */
    availableOutflow(tier: number, token: string): Promise<bigint> {
      return ctx.read(vault.availableOutflow(tier, ctx.token(token)));
    },
  };
}

export type VaultModule = ReturnType<typeof createVaultModule>;

function toClaim(c: ICollateralVault.ClaimStructOutput): Claim {
  return { amount: c.amount, readyAt: c.readyAt, receiver: c.receiver, token: c.token, owner: c.owner };
}
