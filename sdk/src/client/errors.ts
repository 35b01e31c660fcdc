/**
 * Strata's errors for integrators: the revert data of a failed call or transaction, decoded against the ABIs
 * of every deployed contract into a {@link StrataError} whose message says what happened (with the figures)
 * and whose hint says what to do. The catalogue of messages is `errorCatalog.ts`.
 */
import { AbiCoder, Transaction, dataSlice, isHexString, type ErrorFragment, type Interface } from "ethers";

import {
  BackstopPool__factory,
  ClearingHouse__factory,
  CollateralVault__factory,
  ExecutionEngine__factory,
  LiquidationEngine__factory,
  OracleRouter__factory,
  RiskEngine__factory,
  StrataAccessManager__factory,
} from "../../../types/index.js";
import { FUNCTION_ROLES, type ModuleName, type RoleName } from "../deploy/roles.js";
import {
  ERROR_CATALOG,
  ErrorArgs,
  PANIC_REASONS,
  type CatalogEntry,
  type CataloguedErrorName,
  type ErrorEnvironment,
  type StrataCall,
  type StrataContractName,
  type StrataErrorArg,
  type StrataErrorArgs,
  type StrataErrorSource,
  type StrataFunction,
  type TokenInfo,
} from "./errorCatalog.js";

export type {
  StrataCall,
  StrataContractName,
  StrataErrorArg,
  StrataErrorArgs,
  StrataErrorSource,
  StrataFunction,
  TokenInfo,
} from "./errorCatalog.js";

/** The `errorName` of a {@link StrataError}: a catalogued custom error, `Panic`, or `Error` (a string reason). */
export type StrataErrorName = CataloguedErrorName | "Panic" | "Error";

/** Everything a {@link StrataError} carries. */
export interface StrataErrorParameters {
  errorName: StrataErrorName;
  args: StrataErrorArgs;
  contract: StrataErrorSource;
  message: string;
  hint: string;
  details: string;
  selector: string;
  data: string;
  call?: StrataCall;
  cause: unknown;
}

/**
 * A revert of a Strata contract, decoded. `message` says what happened with the decoded figures (bucket ids as
 * `(owner, tier, subId)`, WAD amounts as decimals); `hint` says what to do; `details` is the raw decoded error;
 * `cause` is the original error (an ethers `CallExceptionError`, a Hardhat or JSON-RPC error).
 *
 * Subclasses group errors by module for `instanceof`: {@link VaultError}, {@link OracleError},
 * {@link RiskError}, {@link ClearingError}, {@link LiquidationError}, {@link ExecutionError}, {@link PoolError},
 * {@link GovernanceError}, {@link AccessError}, {@link TokenError}, {@link LibraryError}, {@link PanicError} and
 * {@link RevertReasonError}.
 *
 * @example
 * try {
 *   await withStrataErrors(deployment.clearing.connect(owner).withdraw(account, usdc, amount, owner.address));
 * } catch (error) {
 *   if (error instanceof ClearingError && error.errorName === "ClearingInsufficientMargin") {
 *     console.log(error.message); // Account (0xAb…, 1, 0) would have equity 1,200, below the required 1,500 …
 *     console.log(error.hint); // … collateral worth at least 300 more …
 *     console.log(error.args.equity, error.cause); // -> 1200000000000000000000n, the provider's error
 *   }
 * }
 */
export class StrataError extends Error {
  override name = "StrataError";
  /** The Solidity error's name, e.g. `ClearingInsufficientMargin`. */
  readonly errorName: StrataErrorName;
  /** The decoded arguments by parameter name: integers as bigint, addresses checksummed, bytes as hex. */
  readonly args: StrataErrorArgs;
  /** Which part of the system raised it (a module, the AccessManager, an OpenZeppelin library). */
  readonly contract: StrataErrorSource;
  /** What to do about it. */
  readonly hint: string;
  /** The decoded error with raw values: `ClearingInsufficientMargin(account: …, equity: …, requirement: …)`. */
  readonly details: string;
  /** The error's 4-byte selector. */
  readonly selector: string;
  /** The full revert data. */
  readonly data: string;
  /** The call that reverted, when the original error carried it (ethers' `CallExceptionError` does). */
  readonly call?: StrataCall;

  constructor(p: StrataErrorParameters) {
    super(p.message, { cause: p.cause });
    this.errorName = p.errorName;
    this.args = p.args;
    this.contract = p.contract;
    this.hint = p.hint;
    this.details = p.details;
    this.selector = p.selector;
    this.data = p.data;
    if (p.call !== undefined) this.call = p.call;
  }
}

/** The collateral vault: deposits, ledger balances, outflow limits, claims, the reserve. */
export class VaultError extends StrataError {
  override name = "VaultError";
}
/** The oracle router: stale, broken, disagreeing or out-of-bounds prices, the breaker, the sequencer. */
export class OracleError extends StrataError {
  override name = "OracleError";
}
/** The risk engine: tiers, markets, collaterals and their parameters. */
export class RiskError extends StrataError {
  override name = "RiskError";
}
/** The clearing house: accounts, fills, margin. */
export class ClearingError extends StrataError {
  override name = "ClearingError";
}
/** The liquidation engine: liquidations, auto-deleveraging, collateral liquidation. */
export class LiquidationError extends StrataError {
  override name = "LiquidationError";
}
/** The execution engine: signed orders, matching, pool trades. */
export class ExecutionError extends StrataError {
  override name = "ExecutionError";
}
/** A tier's backstop pool (ERC-4626): LP deposits, redemption requests and limits. */
export class PoolError extends StrataError {
  override name = "PoolError";
}
/** A governance setter's envelope, step or cooldown (ParamGuard). */
export class GovernanceError extends StrataError {
  override name = "GovernanceError";
}
/** The AccessManager and the modules' AccessManaged checks: roles, schedules, delays. */
export class AccessError extends StrataError {
  override name = "AccessError";
}
/** A token transfer or approval: balances, allowances, tokens that fail (ERC-20, SafeERC20). */
export class TokenError extends StrataError {
  override name = "TokenError";
}
/** Other OpenZeppelin libraries: SafeCast, ReentrancyGuard, ShortStrings. */
export class LibraryError extends StrataError {
  override name = "LibraryError";
}
/** A Solidity panic (`Panic(uint256)`): `args.code` and `args.reason` say which check failed. */
export class PanicError extends StrataError {
  override name = "PanicError";
}
/** A string reason (`Error(string)`) from a contract outside Strata, such as a token: `args.reason`. */
export class RevertReasonError extends StrataError {
  override name = "RevertReasonError";
}

const CLASS_OF: Record<StrataErrorSource, new (p: StrataErrorParameters) => StrataError> = {
  vault: VaultError,
  oracle: OracleError,
  risk: RiskError,
  clearing: ClearingError,
  liquidation: LiquidationError,
  execution: ExecutionError,
  pool: PoolError,
  ERC4626: PoolError,
  governance: GovernanceError,
  AccessManager: AccessError,
  AccessManaged: AccessError,
  Address: AccessError,
  ERC20: TokenError,
  SafeERC20: TokenError,
  SafeCast: LibraryError,
  ReentrancyGuard: LibraryError,
  ShortStrings: LibraryError,
  solidity: PanicError,
  external: RevertReasonError,
};

// ================================================================== the ABIs

/** The interfaces of the deployed contracts (their inherited OpenZeppelin errors included). */
export const STRATA_INTERFACES: Readonly<Record<StrataContractName, Interface>> = {
  CollateralVault: CollateralVault__factory.createInterface(),
  OracleRouter: OracleRouter__factory.createInterface(),
  RiskEngine: RiskEngine__factory.createInterface(),
  ClearingHouse: ClearingHouse__factory.createInterface(),
  LiquidationEngine: LiquidationEngine__factory.createInterface(),
  ExecutionEngine: ExecutionEngine__factory.createInterface(),
  BackstopPool: BackstopPool__factory.createInterface(),
  StrataAccessManager: StrataAccessManager__factory.createInterface(),
};

/** The module of deploy/roles.ts each contract's restricted functions are listed under. */
const ROLE_MODULE: Partial<Record<StrataContractName, ModuleName>> = {
  CollateralVault: "vault",
  OracleRouter: "oracle",
  RiskEngine: "risk",
  ClearingHouse: "clearing",
  ExecutionEngine: "execution",
  BackstopPool: "pool",
};

interface KnownError {
  fragment: ErrorFragment;
  signature: string;
  entry: CatalogEntry;
}

const CATALOG: Readonly<Record<string, CatalogEntry>> = ERROR_CATALOG;
const ERRORS = new Map<string, KnownError[]>();
const FUNCTIONS = new Map<string, StrataFunction[]>();

for (const [contract, iface] of Object.entries(STRATA_INTERFACES) as [StrataContractName, Interface][]) {
  iface.forEachError((fragment) => {
    const signature = fragment.format("sighash");
    const entry = CATALOG[signature];
    const known = ERRORS.get(fragment.selector) ?? [];
    // One signature is one error, whichever contracts declare it; two signatures sharing a selector are kept
    // both and tried in turn.
    if (entry !== undefined && !known.some((k) => k.signature === signature)) {
      ERRORS.set(fragment.selector, [...known, { fragment, signature, entry }]);
    }
  });
  const module = ROLE_MODULE[contract];
  const roles: Readonly<Record<string, RoleName>> = module === undefined ? {} : FUNCTION_ROLES[module];
  iface.forEachFunction((fragment) => {
    const role = Object.hasOwn(roles, fragment.name) ? roles[fragment.name] : undefined;
    const fn: StrataFunction =
      role === undefined ? { contract, name: fragment.name } : { contract, name: fragment.name, role };
    FUNCTIONS.set(fragment.selector, [...(FUNCTIONS.get(fragment.selector) ?? []), fn]);
  });
}

/** The Strata functions a 4-byte selector names (several contracts may share one signature). */
export function functionsOfSelector(selector: string): readonly StrataFunction[] {
  return FUNCTIONS.get(selector.toLowerCase()) ?? [];
}

// ================================================================== finding revert data

const ERROR_STRING_SELECTOR = "0x08c379a0";
const PANIC_SELECTOR = "0x4e487b71";
/** How many nested objects the search visits at most (errors wrap errors a few levels deep). */
const MAX_VISITS = 64;

/** Hex data that starts with a 4-byte selector: revert data, or the calldata of a call. */
const hasSelector = (value: unknown): value is string =>
  typeof value === "string" && value.length >= 10 && isHexString(value, true);

function nested(node: unknown, keys: readonly string[]): unknown[] {
  if (typeof node === "string" && node.startsWith("{")) {
    try {
      return [JSON.parse(node) as unknown];
    } catch {
      return [];
    }
  }
  if (typeof node !== "object" || node === null) return [];
  const record = node as Record<string, unknown>;
  return keys.filter((key) => key in record).map((key) => record[key]);
}

/** Visits `root` and the values under `keys`, breadth first, until `found` returns something. */
function search<T>(root: unknown, keys: readonly string[], found: (node: unknown) => T | undefined): T | undefined {
  const queue: unknown[] = [root];
  const seen = new Set<unknown>();
  for (let i = 0; i < queue.length && i < MAX_VISITS; i++) {
    const node = queue[i];
    if (seen.has(node)) continue;
    seen.add(node);
    const result = found(node);
    if (result !== undefined) return result;
    queue.push(...nested(node, keys));
  }
  return undefined;
}

/**
 * Where revert data sits in the errors of the usual clients: `data` of ethers' `CallExceptionError` and of
 * Hardhat's in-process `SolidityError`; `info.error.data` (ethers' JSON-RPC provider); `error.data` (ethers'
 * "could not coalesce error", a JSON-RPC response); `data.data` and `data.originalError.data` (older Hardhat
 * nodes, wallets); `cause` chains; and JSON `body` strings of HTTP errors.
 */
const DATA_KEYS = ["data", "error", "info", "cause", "originalError", "body", "responseBody"] as const;

function findRevertData(error: unknown): string | undefined {
  return search(error, DATA_KEYS, (node) => (hasSelector(node) ? node : undefined));
}

/** The call a client error describes: ethers' `transaction`, or the JSON-RPC `payload` it sent. */
function findCall(error: unknown): { to?: string; data: string } | undefined {
  return search(error, ["error", "info", "cause"], (node) => {
    if (typeof node !== "object" || node === null) return undefined;
    const { transaction, payload } = node as { transaction?: unknown; payload?: unknown };
    return asCall(transaction) ?? asCall(firstParam(payload));
  });
}

function firstParam(payload: unknown): unknown {
  if (typeof payload !== "object" || payload === null) return undefined;
  const { params } = payload as { params?: unknown };
  return Array.isArray(params) ? (params[0] as unknown) : undefined;
}

function asCall(value: unknown): { to?: string; data: string } | undefined {
  if (typeof value === "string" && isHexString(value)) {
    // eth_sendRawTransaction's parameter: a signed transaction.
    try {
      const tx = Transaction.from(value);
      return tx.to === null ? { data: tx.data } : { to: tx.to, data: tx.data };
    } catch {
      return undefined;
    }
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { to, data, input } = value as { to?: unknown; data?: unknown; input?: unknown };
  const calldata = hasSelector(data) ? data : hasSelector(input) ? input : undefined;
  if (calldata === undefined) return undefined;
  return typeof to === "string" ? { to, data: calldata } : { data: calldata };
}

// ================================================================== decoding

/** Options of {@link decodeStrataError} and {@link withStrataErrors}. */
export interface DecodeOptions {
  /**
   * Tokens to name in messages, so that token amounts render with their decimals and symbol (e.g. a
   * deployment's `Object.values(deployment.tokens)`); other amounts show raw units.
   */
  tokens?: readonly TokenInfo[];
}

function toArg(value: unknown): StrataErrorArg {
  if (typeof value === "bigint" || typeof value === "string" || typeof value === "boolean") return value;
  return String(value);
}

function describe(name: string, args: StrataErrorArgs): string {
  return `${name}(${Object.entries(args)
    .map(([key, value]) => `${key}: ${String(value)}`)
    .join(", ")})`;
}

function build(source: StrataErrorSource, fields: Omit<StrataErrorParameters, "contract" | "details">): StrataError {
  const details = describe(fields.errorName, fields.args);
  return new CLASS_OF[source]({ ...fields, contract: source, details });
}

function decodeKnown(known: KnownError, data: string, env: ErrorEnvironment): StrataErrorParameters | undefined {
  let values: readonly unknown[];
  try {
    values = AbiCoder.defaultAbiCoder().decode(known.fragment.inputs, dataSlice(data, 4));
  } catch {
    return undefined;
  }
  const args: Record<string, StrataErrorArg> = {};
  known.fragment.inputs.forEach((input, i) => {
    args[input.name === "" ? `arg${i}` : input.name] = toArg(values[i]);
  });
  Object.freeze(args);
  const reader = new ErrorArgs(args, env);
  const errorName = known.fragment.name as CataloguedErrorName;
  let message: string;
  let hint: string;
  try {
    message = known.entry.message(reader);
    hint = known.entry.hint(reader);
  } catch {
    // A template that cannot render these values still leaves the decoded error readable.
    message = `${describe(errorName, args)} reverted.`;
    hint = `See the NatSpec of ${errorName}.`;
  }
  return {
    errorName,
    args,
    contract: known.entry.contract,
    message,
    hint,
    details: describe(errorName, args),
    selector: known.fragment.selector,
    data,
    cause: undefined,
  };
}

/**
 * Decodes the revert of a Strata contract out of `error` (an ethers v6 `CallExceptionError` from a send,
 * `staticCall` or `estimateGas`; Hardhat's in-process `SolidityError`; a JSON-RPC error object or response from
 * a Hardhat node or anvil; or the revert data itself as a hex string). Every custom error of the deployed
 * contracts decodes to its module's {@link StrataError} subclass, a `Panic(uint256)` to a {@link PanicError}
 * and an `Error(string)` to a {@link RevertReasonError}.
 *
 * Returns `undefined` when there is nothing to decode: an error without revert data (a network failure, a
 * transaction that reverted once mined, whose receipt carries no data: replay it with `staticCall` to get
 * the reason), empty revert data, or a selector that no Strata contract declares. Never throws. A
 * {@link StrataError} is returned as is.
 *
 * @example
 * try {
 *   await deployment.execution.connect(trader).tradeWithPool(account, market, size, acceptablePrice, false);
 * } catch (error) {
 *   const decoded = decodeStrataError(error, { tokens: Object.values(deployment.tokens) });
 *   if (decoded instanceof ExecutionError) console.error(`${decoded.message}\n${decoded.hint}`);
 *   throw decoded ?? error;
 * }
 */
export function decodeStrataError(error: unknown, options: DecodeOptions = {}): StrataError | undefined {
  if (error instanceof StrataError) return error;
  const data = findRevertData(error);
  if (data === undefined) return undefined;
  const selector = dataSlice(data, 0, 4).toLowerCase();
  const found = findCall(error);
  const call: StrataCall | undefined =
    found === undefined ? undefined : { ...found, functions: functionsOfSelector(dataSlice(found.data, 0, 4)) };
  const common = { selector, data, cause: error, ...(call === undefined ? {} : { call }) };

  if (selector === PANIC_SELECTOR) {
    const code = decodeSingle<bigint>("uint256", data);
    if (code === undefined) return undefined;
    const reason = PANIC_REASONS[code.toString()] ?? "an unknown panic code";
    return build("solidity", {
      ...common,
      errorName: "Panic",
      args: Object.freeze({ code, reason }),
      message: `The call panicked: ${reason} (Solidity panic 0x${code.toString(16).padStart(2, "0")}).`,
      hint:
        "A panic in Strata's contracts means an input far outside the supported range, or a bug: check the inputs' " +
        "units (WAD sizes and prices, token units for amounts), and report it with the transaction if they are sane.",
    });
  }
  if (selector === ERROR_STRING_SELECTOR) {
    const reason = decodeSingle<string>("string", data);
    if (reason === undefined) return undefined;
    return build("external", {
      ...common,
      errorName: "Error",
      args: Object.freeze({ reason }),
      message: `A contract outside Strata reverted: "${reason}".`,
      hint:
        "Strata's contracts revert only with custom errors, so this reason comes from a contract the call reached, " +
        "typically a token during a transfer: read it as that contract's message (often a balance or allowance).",
    });
  }

  const env: ErrorEnvironment = {
    tokens: new Map((options.tokens ?? []).map((t) => [t.address.toLowerCase(), t])),
    functionsOf: functionsOfSelector,
    ...(call === undefined ? {} : { call }),
  };
  for (const known of ERRORS.get(selector) ?? []) {
    const decoded = decodeKnown(known, data, env);
    if (decoded !== undefined) return new CLASS_OF[decoded.contract]({ ...decoded, ...common });
  }
  return undefined;
}

function decodeSingle<T>(type: string, data: string): T | undefined {
  try {
    return AbiCoder.defaultAbiCoder().decode([type], dataSlice(data, 4))[0] as T;
  } catch {
    return undefined;
  }
}

/**
 * Awaits `promise` and rethrows a Strata revert as its {@link StrataError} (the original error as its `cause`);
 * any other error passes through unchanged.
 *
 * @example
 * const tx = await withStrataErrors(deployment.vault.connect(user).deposit(token, amount, account));
 * await tx.wait();
 */
export async function withStrataErrors<T>(promise: Promise<T>, options: DecodeOptions = {}): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    throw decodeStrataError(error, options) ?? error;
  }
}
