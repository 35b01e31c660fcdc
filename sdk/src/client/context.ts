/**
 * What every module of the client shares: the runner, the connected contracts, the deployment's addresses and
 * tokens, and the two ways a module talks to the chain — reads, and writes that a read-only client refuses.
 * Every revert on either path, whether from a send, a static call or a gas estimate, comes back as a
 * {@link StrataError} (errors.ts).
 */
import type {
  ContractRunner,
  ContractTransaction,
  ContractTransactionReceipt,
  ContractTransactionResponse,
  Provider,
  Signer,
} from "ethers";

import {
  ClearingHouse__factory,
  CollateralVault__factory,
  ExecutionEngine__factory,
  LiquidationEngine__factory,
  MockERC20__factory,
  OracleRouter__factory,
  RiskEngine__factory,
  StrataAccessManager__factory,
  type ClearingHouse,
  type CollateralVault,
  type ExecutionEngine,
  type LiquidationEngine,
  type MockERC20,
  type OracleRouter,
  type RiskEngine,
  type StrataAccessManager,
} from "../../../types/index.js";
import type { NonPayableOverrides, TypedContractMethod } from "../../../types/common.js";
import { gasLimitFor } from "../shared/gas.js";
import { withStrataErrors, type DecodeOptions, type TokenInfo } from "./errors.js";

// ================================================================== addresses

/** A token of the deployment. */
export interface StrataToken {
  address: string;
  decimals: number;
}

/**
 * The addresses a client needs: the modules, and optionally each tier's backstop pool, the tokens by symbol
 * (so that methods accept `"USDC"` for a token and error messages render amounts with decimals) and the
 * oracle assets' bytes32 keys by id. `addressesFromManifest` builds it from a deployment manifest.
 */
export interface StrataAddresses {
  manager: string;
  vault: string;
  oracle: string;
  risk: string;
  clearing: string;
  liquidation: string;
  execution: string;
  /** Each tier's backstop pool, by tier id; the clearing house's `pool(tier)` is asked for a tier missing here. */
  pools?: Readonly<Record<number, string>>;
  tokens?: Readonly<Record<string, StrataToken>>;
  /** Oracle asset keys by id (`"ETH/USD"` → its bytes32 key). */
  assets?: Readonly<Record<string, string>>;
}

/** The modules' contracts (typechain), connected to the client's runner. */
export interface StrataContracts {
  manager: StrataAccessManager;
  vault: CollateralVault;
  oracle: OracleRouter;
  risk: RiskEngine;
  clearing: ClearingHouse;
  liquidation: LiquidationEngine;
  execution: ExecutionEngine;
}

// ================================================================== client errors

/**
 * A mistake in how the client was built or called, caught before anything reaches the chain (a revert is a
 * {@link StrataError} instead). Like a StrataError it carries a `hint` saying what to do.
 */
export class StrataClientError extends Error {
  override name = "StrataClientError";
  /** What to do about it. */
  readonly hint: string;

  constructor(message: string, hint: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.hint = hint;
  }
}

/**
 * A write was called on a read-only client (one created with a Provider).
 *
 * @example
 * const reader = createStrataClient({ manifest, runner: provider });
 * await reader.clearing.settle({ account }).catch((e) => e instanceof NoSignerError); // -> true
 */
export class NoSignerError extends StrataClientError {
  override name = "NoSignerError";
  /** The write that was refused, e.g. `clearing.withdraw`. */
  readonly action: string;

  constructor(action: string) {
    super(
      `${action}: this client has no signer: create it with a Signer to send transactions.`,
      "Create the client with an ethers Signer (a Wallet, a JSON-RPC or browser signer) as its runner; a client " +
        "created with a Provider can read, simulate (staticCall) and estimate gas, but not send.",
    );
    this.action = action;
  }
}

// ================================================================== writes

/** Options of every write. */
export interface WriteOptions<W extends boolean = boolean> {
  /** Wait for the transaction to be mined and return its receipt rather than the response. */
  wait?: W;
  /** Confirmations to wait for with `wait` (1 by default). */
  confirmations?: number;
  /** Gas, fee and nonce overrides of the transaction. */
  overrides?: NonPayableOverrides;
}

/**
 * The gas headroom added by default to a write's estimate, in basis points (20%). A gas estimate is exact for
 * the state and block it simulates; the transaction is mined in a later block, where time-dependent paths
 * (a market's funding accrual in its first transaction of a new second, say) cost more. Without headroom
 * such a transaction runs out of gas and reverts with no reason. `gasHeadroomBps` of the client changes it.
 */
export const DEFAULT_GAS_HEADROOM_BPS = 2_000;

/**
 * A write was mined and reverted having used (nearly) all its gas: it ran out of gas, which leaves no revert
 * reason to decode.
 */
export class TransactionOutOfGasError extends StrataClientError {
  override name = "TransactionOutOfGasError";
  readonly action: string;
  readonly hash: string;
  readonly gasUsed: bigint;
  readonly gasLimit: bigint;

  constructor(action: string, hash: string, gasUsed: bigint, gasLimit: bigint, cause: unknown) {
    super(
      `${action}: transaction ${hash} ran out of gas (used ${gasUsed} of its limit ${gasLimit}) and reverted.`,
      "Send it again with a higher gas limit: raise the client's gasHeadroomBps, or pass overrides.gasLimit " +
        "(its estimate, `estimateGas`, plus a margin for the block it is mined in).",
      { cause },
    );
    this.action = action;
    this.hash = hash;
    this.gasUsed = gasUsed;
    this.gasLimit = gasLimit;
  }
}

/** What a write returns: the response, or the receipt with `{ wait: true }`. */
export type WriteResult<W extends boolean> = W extends true ? ContractTransactionReceipt : ContractTransactionResponse;

/**
 * A state-changing method of a module. Called, it sends the transaction; `staticCall` simulates it from the
 * signer (its return value, or the {@link StrataError} it would revert with), `estimateGas` estimates it and
 * `populateTransaction` builds it unsigned.
 *
 * @example
 * const [price, fee] = await client.execution.tradeWithPool.staticCall({ account, market: 1, size, acceptablePrice });
 * const receipt = await client.execution.tradeWithPool({ account, market: 1, size, acceptablePrice }, { wait: true });
 */
export interface WriteMethod<P, R> {
  <W extends boolean = false>(params: P, options?: WriteOptions<W>): Promise<WriteResult<W>>;
  staticCall(params: P): Promise<R>;
  estimateGas(params: P): Promise<bigint>;
  populateTransaction(params: P): Promise<ContractTransaction>;
}

/** One contract call with its arguments bound, ready to send, simulate, estimate or populate. */
export interface BoundCall<R> {
  send(overrides?: NonPayableOverrides): Promise<ContractTransactionResponse>;
  staticCall(): Promise<R>;
  estimateGas(): Promise<bigint>;
  populateTransaction(): Promise<ContractTransaction>;
}

type Untyped<T> = (...args: unknown[]) => Promise<T>;

/** Binds `args` to a typechain method. */
export function bind<A extends unknown[], R, S extends "nonpayable" | "payable" | "view">(
  method: TypedContractMethod<A, R, S>,
  ...args: A
): BoundCall<R extends [infer Only] ? Only : R> {
  type Out = R extends [infer Only] ? Only : R;
  return {
    send: (overrides) => (method.send as Untyped<ContractTransactionResponse>)(...args, overrides ?? {}),
    staticCall: () => (method.staticCall as Untyped<Out>)(...args),
    estimateGas: () => (method.estimateGas as Untyped<bigint>)(...args),
    populateTransaction: () => (method.populateTransaction as Untyped<ContractTransaction>)(...args),
  };
}

// ================================================================== the context

/** What the modules share. Built once by `createStrataClient`. */
export class ClientContext {
  /** The runner's signer, or undefined for a read-only client. */
  readonly signer: Signer | undefined;
  readonly provider: Provider;
  readonly contracts: StrataContracts;
  /** How reverts decode: with the deployment's tokens, so amounts render with their decimals and symbol. */
  readonly decodeOptions: DecodeOptions;
  private chainIdCache: Promise<bigint> | undefined;

  /** Headroom over a write's gas estimate, in basis points (see {@link DEFAULT_GAS_HEADROOM_BPS}). */
  readonly gasHeadroomBps: bigint;

  constructor(
    readonly runner: Signer | Provider,
    readonly addresses: StrataAddresses,
    gasHeadroomBps: number = DEFAULT_GAS_HEADROOM_BPS,
  ) {
    if (!Number.isInteger(gasHeadroomBps) || gasHeadroomBps < 0 || gasHeadroomBps > 10_000) {
      throw new StrataClientError(
        `gasHeadroomBps ${gasHeadroomBps} is not an integer from 0 to 10,000.`,
        `Pass the headroom over each write's gas estimate in basis points (${DEFAULT_GAS_HEADROOM_BPS} = 20% by default).`,
      );
    }
    this.gasHeadroomBps = BigInt(gasHeadroomBps);
    this.signer = isSigner(runner) ? runner : undefined;
    const provider = isSigner(runner) ? runner.provider : runner;
    if (provider === null) {
      throw new StrataClientError(
        "The signer is not connected to a provider.",
        "Connect it first (`wallet.connect(provider)`): the client reads the chain through the signer's provider.",
      );
    }
    this.provider = provider;
    const r: ContractRunner = runner;
    this.contracts = {
      manager: StrataAccessManager__factory.connect(addresses.manager, r),
      vault: CollateralVault__factory.connect(addresses.vault, r),
      oracle: OracleRouter__factory.connect(addresses.oracle, r),
      risk: RiskEngine__factory.connect(addresses.risk, r),
      clearing: ClearingHouse__factory.connect(addresses.clearing, r),
      liquidation: LiquidationEngine__factory.connect(addresses.liquidation, r),
      execution: ExecutionEngine__factory.connect(addresses.execution, r),
    };
    const tokens: TokenInfo[] = Object.entries(addresses.tokens ?? {}).map(([symbol, t]) => ({ symbol, ...t }));
    this.decodeOptions = { tokens };
  }

  /** Awaits a read (a view call, a static call, an estimate), turning a revert into its StrataError. */
  read<T>(promise: Promise<T>): Promise<T> {
    return withStrataErrors(promise, this.decodeOptions);
  }

  /** The signer, or a {@link NoSignerError} naming `action`. */
  requireSigner(action: string): Signer {
    if (this.signer === undefined) throw new NoSignerError(action);
    return this.signer;
  }

  /** The signer's address (the default receiver and owner of writes). */
  async signerAddress(action: string): Promise<string> {
    return this.requireSigner(action).getAddress();
  }

  /**
   * Sends `call` as `action`, returning the response or, with `wait`, the receipt. Without a `gasLimit`
   * override, the limit is the estimate plus {@link gasHeadroomBps} (`gasLimitFor`: rounded up, at most the
   * EIP-7825 cap); a revert found while estimating is thrown as its StrataError before anything is sent.
   */
  async send<W extends boolean>(action: string, call: BoundCall<unknown>, options: WriteOptions<W> = {}) {
    this.requireSigner(action);
    const overrides: NonPayableOverrides = { ...options.overrides };
    if (overrides.gasLimit === undefined || overrides.gasLimit === null) {
      overrides.gasLimit = gasLimitFor(await this.read(call.estimateGas()), this.gasHeadroomBps);
    }
    const tx = await this.read(call.send(overrides));
    if (options.wait !== true) return tx as WriteResult<W>;
    let receipt: ContractTransactionReceipt | null;
    try {
      receipt = await this.read(tx.wait(options.confirmations ?? 1));
    } catch (error) {
      throw outOfGas(action, tx, error) ?? error;
    }
    if (receipt === null) throw new Error(`${action}: transaction ${tx.hash} has no receipt`);
    return receipt as WriteResult<W>;
  }

  /**
   * A module's write `action` from a function that prepares its call; `before` runs ahead of a send only
   * (an ERC-20 approval, say) and not ahead of a simulation.
   */
  write<P, R>(
    action: string,
    prepare: (params: P) => BoundCall<R> | Promise<BoundCall<R>>,
    before?: (params: P, options: WriteOptions) => Promise<void>,
  ): WriteMethod<P, R> {
    const method = async <W extends boolean = false>(params: P, options: WriteOptions<W> = {}) => {
      this.requireSigner(action);
      if (before !== undefined) await before(params, options);
      return this.send(action, await prepare(params), options);
    };
    return Object.assign(method, {
      staticCall: async (params: P) => this.read((await prepare(params)).staticCall()),
      estimateGas: async (params: P) => this.read((await prepare(params)).estimateGas()),
      populateTransaction: async (params: P) => (await prepare(params)).populateTransaction(),
    });
  }

  /** The chain id (read once). */
  chainId(): Promise<bigint> {
    this.chainIdCache ??= this.provider.getNetwork().then((n) => n.chainId);
    return this.chainIdCache;
  }

  /** The latest block's timestamp: "now" as the contracts see it. */
  async now(): Promise<bigint> {
    const block = await this.provider.getBlock("latest");
    if (block === null) throw new Error("The provider returned no latest block");
    return BigInt(block.timestamp);
  }

  /** A token's address from its symbol in the deployment's tokens, or the address itself. */
  token(symbolOrAddress: string): string {
    if (symbolOrAddress.startsWith("0x")) return symbolOrAddress;
    const token = this.addresses.tokens?.[symbolOrAddress];
    if (token === undefined) {
      const known = Object.keys(this.addresses.tokens ?? {});
      throw new StrataClientError(
        `Unknown token "${symbolOrAddress}".`,
        known.length === 0
          ? "Pass the token's address, or create the client from a manifest (it names the tokens)."
          : `Pass its address, or one of ${known.join(", ")}.`,
      );
    }
    return token.address;
  }

  /** An ERC-20 at `address` (the mock's ABI is the ERC-20 one plus `mint`). */
  erc20(address: string): MockERC20 {
    return MockERC20__factory.connect(address, this.runner);
  }

  /**
   * Approves `spender` for `amount` of `token` from the signer when its allowance is short, and waits for it.
   * Returns the approval's response, or undefined when none was needed.
   */
  async approveIfNeeded(action: string, token: string, spender: string, amount: bigint, options: WriteOptions = {}) {
    const owner = await this.signerAddress(action);
    const erc20 = this.erc20(token);
    if ((await this.read(erc20.allowance(owner, spender))) >= amount) return undefined;
    const tx = await this.send<false>(`${action} (approve)`, bind(erc20.approve, spender, amount), {
      overrides: options.overrides ?? {},
    });
    await this.read(tx.wait(options.confirmations ?? 1));
    return tx;
  }
}

function isSigner(runner: Signer | Provider): runner is Signer {
  return typeof (runner as Partial<Signer>).signTypedData === "function";
}

/**
 * A {@link TransactionOutOfGasError} when `error` is a mined revert whose receipt used at least 63/64 of the
 * transaction's gas limit (an out-of-gas anywhere in the call leaves at most 1/64 of the gas unused), or
 * undefined.
 */
function outOfGas(
  action: string,
  tx: ContractTransactionResponse,
  error: unknown,
): TransactionOutOfGasError | undefined {
  if (typeof error !== "object" || error === null || !("receipt" in error)) return undefined;
  const receipt = (error as { receipt: unknown }).receipt;
  if (typeof receipt !== "object" || receipt === null || !("gasUsed" in receipt)) return undefined;
  const gasUsed = (receipt as { gasUsed: unknown }).gasUsed;
  if (typeof gasUsed !== "bigint" || gasUsed * 64n < tx.gasLimit * 63n) return undefined;
  return new TransactionOutOfGasError(action, tx.hash, gasUsed, tx.gasLimit, error);
}
