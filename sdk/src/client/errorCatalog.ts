/**
 * What every custom error of Strata's contracts means and what to do about it: one entry per error signature
 * (the ABIs of the deployed contracts, their OpenZeppelin bases included), each with the module that raises
 * it, a message template and a hint. `errors.ts` decodes revert data and renders these templates.
 *
 * Units follow the contracts: prices, sizes, notionals, equity and requirements are WAD (rendered as decimals);
 * token amounts are in the token's own units (rendered with its decimals when the caller names the token);
 * ratios in basis points; times in unix seconds.
 */
import { decodeBytes32String, formatUnits, getAddress } from "ethers";

import { Role, type RoleName } from "../deploy/roles.js";
import { decodeBucket, INSURANCE_SUB_ID, SETTLEMENT_SUB_ID } from "./buckets.js";

// ================================================================== types

/** The deployed contracts whose ABIs the SDK decodes errors against. */
export type StrataContractName =
  | "CollateralVault"
  | "OracleRouter"
  | "RiskEngine"
  | "ClearingHouse"
  | "LiquidationEngine"
  | "ExecutionEngine"
  | "BackstopPool"
  | "StrataAccessManager";

/**
 * Which part of the system raised an error: a Strata module, the governance parameter guard, the AccessManager
 * (or a module's AccessManaged check), or an OpenZeppelin library inside a module. `solidity` is a compiler
 * panic; `external` a string reason from a contract outside Strata (Strata's contracts never revert with one).
 */
export type StrataErrorSource =
  | "vault"
  | "oracle"
  | "risk"
  | "clearing"
  | "liquidation"
  | "execution"
  | "pool"
  | "governance"
  | "AccessManager"
  | "AccessManaged"
  | "ERC20"
  | "ERC4626"
  | "SafeERC20"
  | "SafeCast"
  | "ReentrancyGuard"
  | "Address"
  | "ShortStrings"
  | "solidity"
  | "external";

/** A decoded error argument: integers as bigint, addresses checksummed, bytes as hex, strings as is. */
export type StrataErrorArg = bigint | string | boolean;
/** The decoded arguments of an error, by parameter name. */
export type StrataErrorArgs = Readonly<Record<string, StrataErrorArg>>;

/** A token the caller knows, so that amounts render as `1,000.5 USDC` instead of raw units. */
export interface TokenInfo {
  address: string;
  symbol: string;
  decimals: number;
}

/** A function of a Strata contract, and the role that may call it when it is restricted (deploy/roles.ts). */
export interface StrataFunction {
  contract: StrataContractName;
  name: string;
  role?: RoleName;
}

/** The call that reverted, when the error carries it: its target and every Strata function its selector names. */
export interface StrataCall {
  to?: string;
  data: string;
  functions: readonly StrataFunction[];
}

/** What the templates may look up besides the arguments. */
export interface ErrorEnvironment {
  /** Known tokens by lower-case address. */
  tokens: ReadonlyMap<string, TokenInfo>;
  /** The Strata functions a 4-byte selector names. */
  functionsOf(selector: string): readonly StrataFunction[];
  call?: StrataCall;
}

/** One catalogue entry: who raises the error, what happened, and what to do. */
export interface CatalogEntry {
  readonly contract: StrataErrorSource;
  readonly message: (a: ErrorArgs) => string;
  readonly hint: (a: ErrorArgs) => string;
}

// ================================================================== formatting

const MAX_DATE_SECONDS = 8_640_000_000_000n;
const PUBLIC_ROLE = 2n ** 64n - 1n;

function decimal(value: bigint, decimals: number): string {
  const sign = value < 0n ? "-" : "";
  const [whole = "0", fraction = ""] = formatUnits(value < 0n ? -value : value, decimals).split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const digits = fraction.replace(/0+$/, "");
  return `${sign}${grouped}${digits === "" ? "" : `.${digits}`}`;
}

/** A WAD value (18 decimals) as an exact decimal with grouped thousands: `1234500000000000000000n` → `1,234.5`. */
export function formatWad(value: bigint): string {
  return decimal(value, 18);
}

/** Basis points with their percentage: `150n` → `150 bps (1.5%)`. */
export function formatBps(bps: bigint): string {
  return `${bps} bps (${decimal(bps, 2)}%)`;
}

/** A unix time in seconds as ISO-8601 with the raw value: `2024-05-01T12:00:00Z (unix 1714564800)`. */
export function formatTime(seconds: bigint): string {
  if (seconds < 0n || seconds > MAX_DATE_SECONDS) return `unix ${seconds}`;
  const iso = new Date(Number(seconds) * 1000).toISOString().replace(".000Z", "Z");
  return `${iso} (unix ${seconds})`;
}

/** A duration in seconds, with days, hours and minutes when longer than a minute: `4200 s (1 h 10 min)`. */
export function formatDuration(seconds: bigint): string {
  if (seconds < 60n) return `${seconds} s`;
  const parts: string[] = [];
  const units: [bigint, string][] = [
    [86_400n, "d"],
    [3_600n, "h"],
    [60n, "min"],
    [1n, "s"],
  ];
  let rest = seconds;
  for (const [size, unit] of units) {
    if (rest >= size) {
      parts.push(`${rest / size} ${unit}`);
      rest %= size;
    }
  }
  return `${seconds} s (${parts.join(" ")})`;
}

/** A bucket id as `(owner, tier, subId)`, naming a tier's settlement bucket and insurance fund. */
export function formatBucket(bucket: bigint): string {
  const { owner, tier, subId } = decodeBucket(bucket);
  const text = `(${getAddress(owner)}, ${tier}, ${subId})`;
  if (BigInt(owner) !== 0n) return text;
  if (subId === SETTLEMENT_SUB_ID) return `${text} [tier ${tier} settlement bucket]`;
  if (subId === INSURANCE_SUB_ID) return `${text} [tier ${tier} insurance fund]`;
  return text;
}

/** A token amount: with the token's decimals and symbol when known, otherwise in raw units. */
export function formatAmount(amount: bigint, token?: TokenInfo): string {
  return token === undefined ? `${amount} (raw units)` : `${decimal(amount, token.decimals)} ${token.symbol}`;
}

/** An AccessManager role id with Strata's name for it: `1n` → `RISK (role 1)`. */
export function formatRole(roleId: bigint): string {
  if (roleId === PUBLIC_ROLE) return `PUBLIC (role ${roleId})`;
  const name = (Object.keys(Role) as RoleName[]).find((r) => Role[r] === roleId);
  return name === undefined ? `role ${roleId}` : `${name} (role ${roleId})`;
}

/** A bytes32 label such as an oracle asset key or a parameter name (`ETH/USD`), or its hex when not text. */
export function formatLabel(bytes32: string): string {
  try {
    const text = decodeBytes32String(bytes32);
    if (text !== "" && /^[\x20-\x7e]+$/.test(text)) return text;
  } catch {
    // not a short string: show the hex
  }
  return bytes32;
}

/** Reads and renders the decoded arguments of one error for its templates. */
export class ErrorArgs {
  constructor(
    readonly values: StrataErrorArgs,
    private readonly env: ErrorEnvironment,
  ) {}

  /** The call that reverted, when known. */
  get call(): StrataCall | undefined {
    return this.env.call;
  }

  /** Whether the call that reverted is one of these functions (by name, on any Strata contract). */
  calledOneOf(...names: string[]): boolean {
    return (this.env.call?.functions ?? []).some((f) => names.includes(f.name));
  }

  private value(name: string): StrataErrorArg {
    const value = this.values[name];
    if (value === undefined) throw new Error(`error argument "${name}" is missing`);
    return value;
  }

  big(name: string): bigint {
    const value = this.value(name);
    if (typeof value !== "bigint") throw new TypeError(`error argument "${name}" is not an integer`);
    return value;
  }

  text(name: string): string {
    const value = this.value(name);
    if (typeof value !== "string") throw new TypeError(`error argument "${name}" is not a string`);
    return value;
  }

  int(name: string): string {
    return this.big(name).toString();
  }

  wad(name: string): string {
    return formatWad(this.big(name));
  }

  bps(name: string): string {
    return formatBps(this.big(name));
  }

  time(name: string): string {
    return formatTime(this.big(name));
  }

  duration(name: string): string {
    return formatDuration(this.big(name));
  }

  bucket(name: string): string {
    return formatBucket(this.big(name));
  }

  /** The owner of a bucket argument (checksummed). */
  owner(name: string): string {
    return getAddress(decodeBucket(this.big(name)).owner);
  }

  /** The tier of a bucket argument. */
  tier(name: string): number {
    return decodeBucket(this.big(name)).tier;
  }

  address(name: string): string {
    return this.text(name);
  }

  /** A token argument, with its symbol when known: `USDC (0x…)`. */
  token(name: string): string {
    const address = this.text(name);
    const known = this.env.tokens.get(address.toLowerCase());
    return known === undefined ? address : `${known.symbol} (${address})`;
  }

  /** A token amount argument, in the units of the token argument `tokenArg` when given and known. */
  amount(name: string, tokenArg?: string): string {
    return this.amountOf(this.big(name), tokenArg);
  }

  /** Any amount in the units of the token argument `tokenArg` (for amounts computed from the arguments). */
  amountOf(amount: bigint, tokenArg?: string): string {
    const token = tokenArg === undefined ? undefined : this.env.tokens.get(this.text(tokenArg).toLowerCase());
    return formatAmount(amount, token);
  }

  /** A bytes32 text argument (an oracle asset key, a parameter name): `ETH/USD`, or its hex when not text. */
  label(name: string): string {
    return formatLabel(this.text(name));
  }

  role(name: string): string {
    return formatRole(this.big(name));
  }

  /** A 4-byte selector argument with the Strata functions it names: `0x12345678 (CollateralVault.listToken)`. */
  selector(name: string): string {
    const selector = this.text(name);
    const functions = this.env.functionsOf(selector);
    return functions.length === 0 ? selector : `${selector} (${describeFunctions(functions)})`;
  }
}

const describeFunction = (f: StrataFunction): string => `${f.contract}.${f.name}`;

/** `CollateralVault.withdraw or ClearingHouse.withdraw`; one name on many contracts as `setAuthority (on 6 …)`. */
function describeFunctions(functions: readonly StrataFunction[]): string {
  const names = [...new Set(functions.map((f) => f.name))];
  if (names.length === 1 && functions.length > 2) return `${names[0]} (on ${functions.length} Strata contracts)`;
  return functions.map(describeFunction).join(" or ");
}

/** The role a restricted function needs, as the templates word it: `RISK (role 1) for RiskEngine.setMarketRisk`. */
const roleFor = (f: StrataFunction): string =>
  f.role === undefined ? "" : `${f.role} (role ${Role[f.role]}) for ${describeFunction(f)}`;

/** The restricted functions the reverted call may have been (those with a role in deploy/roles.ts). */
const restrictedCalls = (a: ErrorArgs): StrataFunction[] => (a.call?.functions ?? []).filter((f) => f.role);

const positive = (x: bigint): bigint => (x > 0n ? x : 0n);

// ================================================================== shared wording

const RISK_WAITS =
  "Risk-increasing trades (opening, increasing or flipping a position) wait until the price is good again; " +
  "reducing trades, exits to the pool, withdrawals and liquidations still work on the liquidation read.";
const GOVERNANCE_SETTER = "This is a governance setter's check: ";

// ================================================================== the catalogue

/** Every custom error of the deployed contracts' ABIs, keyed by signature (`Name(type,…)`). */
export const ERROR_CATALOG = {
  // ---------------------------------------------------------------- vault (ICollateralVault)
  "VaultZeroAmount()": {
    contract: "vault",
    message: () => "The amount is zero.",
    hint: () => "Pass a non-zero amount.",
  },
  "VaultAmountTooLarge(uint256,uint256)": {
    contract: "vault",
    message: (a) =>
      `The amount ${a.int("amount")} is larger than any vault ledger entry may hold (${a.int("max")}, raw units).`,
    hint: (a) => `Split it into amounts of at most ${a.int("max")} raw units.`,
  },
  "VaultInvalidBucket(uint256)": {
    contract: "vault",
    message: (a) =>
      `Bucket ${a.bucket("bucket")} can never be reached: its owner is the zero address and its sub-id is neither ` +
      "the settlement bucket (1) nor the insurance fund (2).",
    hint: () =>
      "Build the bucket with accountBucket(owner, tier, subId) for a non-zero owner (sdk/src/client/buckets.ts).",
  },
  "VaultInvalidReceiver(address)": {
    contract: "vault",
    message: (a) => `${a.address("receiver")} cannot receive here: it is the zero address or the vault itself.`,
    hint: () =>
      "Pass a receiver that can hold the token (an EOA or a contract, not the zero address and not the vault); " +
      "setController likewise refuses the zero address.",
  },
  "VaultTokenNotListed(address)": {
    contract: "vault",
    message: (a) => `Token ${a.token("token")} is not listed in the vault.`,
    hint: () =>
      "Use one of the vault's listed tokens (CollateralVault.tokenConfig(token).listed); listing a token is an " +
      "ADMIN action (listToken).",
  },
  "VaultTokenAlreadyListed(address)": {
    contract: "vault",
    message: (a) => `Token ${a.token("token")} is listed already.`,
    hint: () => "Nothing to list: change its outflow limit with setOutflowLimit (RISK) instead.",
  },
  "VaultTokenUnreadable(address)": {
    contract: "vault",
    message: (a) => `Token ${a.address("token")} has no code, or its decimals() cannot be read.`,
    hint: () => "Check that the address is the ERC-20 on this chain: only tokens that report decimals() can be listed.",
  },
  "VaultTokenDecimalsUnsupported(address,uint8)": {
    contract: "vault",
    message: (a) =>
      `Token ${a.address("token")} has ${a.int("decimals")} decimals, more than the vault's unit conversions support (36).`,
    hint: () => "Such a token cannot be listed; list a wrapper of it with at most 36 decimals.",
  },
  "VaultTierTokenNotEnabled(uint8,address)": {
    contract: "vault",
    message: (a) => `Tier ${a.int("tier")} does not accept token ${a.token("token")}.`,
    hint: (a) =>
      `Use a token that tier ${a.int("tier")} accepts (CollateralVault.tierTotal(tier, token) shows a non-zero ` +
      "deposit cap for those) or an account of a tier that accepts this one; ADMIN enables tokens per tier " +
      "(enableTierToken).",
  },
  "VaultTierTokenAlreadyEnabled(uint8,address)": {
    contract: "vault",
    message: (a) => `Tier ${a.int("tier")} accepts token ${a.token("token")} already.`,
    hint: () => "Nothing to enable: change its cap with setDepositCap (RISK) instead.",
  },
  "VaultDepositCapExceeded(uint8,address,uint256,uint256)": {
    contract: "vault",
    message: (a) =>
      `The deposit would take tier ${a.int("tier")}'s total of ${a.token("token")} to ` +
      `${a.amount("totalAfter", "token")}, above its cap of ${a.amount("cap", "token")}.`,
    hint: (a) =>
      `Deposit ${a.amountOf(a.big("totalAfter") - a.big("cap"), "token")} less (at most what the cap still admits: ` +
      "cap minus CollateralVault.tierTotal), or wait for withdrawals or a cap raise by RISK (setDepositCap).",
  },
  "VaultDepositsPaused()": {
    contract: "vault",
    message: () => "Deposits are paused by the guardian.",
    hint: () =>
      "Wait until ADMIN resumes them (CollateralVault.depositsPaused()); withdrawals, moves and claims still work.",
  },
  "VaultTransferAmountMismatch(address,uint256,uint256)": {
    contract: "vault",
    message: (a) =>
      `The vault received ${a.amount("received", "token")} instead of ${a.amount("expected", "token")} of token ` +
      `${a.token("token")}: the token takes a fee on transfer or rebases.`,
    hint: () => "Such tokens cannot be deposited: use a token whose transfers deliver the full amount.",
  },
  "VaultCrossTierMove(uint256,uint256)": {
    contract: "vault",
    message: (a) =>
      `A move from ${a.bucket("from")} to ${a.bucket("to")} would cross tiers (${a.tier("from")} → ${a.tier("to")}); ` +
      "the tier firewall forbids it.",
    hint: () => "Value moves only between buckets of one tier: withdraw, then deposit into the other tier's account.",
  },
  "VaultInsufficientBalance(uint256,address,uint256,uint256)": {
    contract: "vault",
    message: (a) =>
      `Bucket ${a.bucket("bucket")} holds ${a.amount("balance", "token")}, less than the ` +
      `${a.amount("needed", "token")} to debit (token ${a.token("token")}).`,
    hint: (a) =>
      `Withdraw or move at most ${a.amount("balance", "token")} (CollateralVault.balanceOf(bucket, token)), or ` +
      `deposit ${a.amountOf(a.big("needed") - a.big("balance"), "token")} more first.`,
  },
  "VaultClaimNotFound(uint256)": {
    contract: "vault",
    message: (a) => `No open claim has id ${a.int("claimId")}: it was paid already, or never existed.`,
    hint: () =>
      "Take the id from the WithdrawalQueued event; CollateralVault.claim(id) returns zero fields once a claim is paid.",
  },
  "VaultClaimNotReady(uint256,uint256)": {
    contract: "vault",
    message: (a) => `Claim ${a.int("claimId")} is payable only from ${a.time("readyAt")}.`,
    hint: (a) =>
      `Call payClaim(${a.int("claimId")}) again at or after ${a.time("readyAt")}, when the tier's outflow limit has ` +
      "refilled; anyone may call it then.",
  },
  "VaultClaimRedirectNotAllowed(uint256,address)": {
    contract: "vault",
    message: (a) =>
      `${a.address("caller")} may not redirect claim ${a.int("claimId")}: only its receiver or the owner of the ` +
      "bucket it left may.",
    hint: () => "Send setClaimReceiver from the claim's receiver or owner (CollateralVault.claim(id) names both).",
  },
  "VaultReserveInsufficient(address,uint256,uint256)": {
    contract: "vault",
    message: (a) =>
      `The protocol reserve holds ${a.amount("available", "token")}, less than the ${a.amount("needed", "token")} ` +
      `to draw (token ${a.token("token")}).`,
    hint: (a) => `Draw at most ${a.amount("available", "token")}, or fund the reserve first (fundReserve).`,
  },
  "VaultReserveAllowanceExceeded(uint8,address,uint256,uint256)": {
    contract: "vault",
    message: (a) =>
      `Tier ${a.int("tier")} may draw only ${a.amount("remaining", "token")} more from the reserve this epoch, and ` +
      `${a.amount("requested", "token")} was asked (token ${a.token("token")}).`,
    hint: (a) =>
      `Draw at most ${a.amount("remaining", "token")}, or wait for the next reserve epoch ` +
      "(CollateralVault.reserveEpoch()); ADMIN sets the allowance per tier (setReserveAllowance).",
  },

  // ---------------------------------------------------------------- oracle (IOracleRouter)
  "OracleUnknownAsset(bytes32)": {
    contract: "oracle",
    message: (a) => `Oracle asset ${a.label("asset")} has no feeds.`,
    hint: () =>
      'Check the asset key (encodeBytes32String("ETH/USD"), as RiskEngine.marketOracleAsset returns it); listing ' +
      "an asset is an ADMIN action (listAsset).",
  },
  "OracleAssetAlreadyListed(bytes32)": {
    contract: "oracle",
    message: (a) => `Oracle asset ${a.label("asset")} is configured already.`,
    hint: () => "Change its feeds with setFeeds (ORACLE) or its parameters with setAssetParams (RISK).",
  },
  "OracleFeedReverted(bytes32,address)": {
    contract: "oracle",
    message: (a) =>
      BigInt(a.text("asset")) === 0n
        ? `The L2 sequencer-uptime feed ${a.address("feed")} has no code.`
        : `Feed ${a.address("feed")} of ${a.label("asset")} reverted, has no code or returned malformed data.`,
    hint: () =>
      `${RISK_WAITS} When setting a feed, check its address on this chain; a deprecated feed is replaced by ORACLE ` +
      "(setFeeds).",
  },
  "OracleInvalidAnswer(bytes32,address,int256)": {
    contract: "oracle",
    message: (a) =>
      `Feed ${a.address("feed")} of ${a.label("asset")} answered ${a.int("answer")} (in its own decimals): zero, ` +
      "negative, or above the hard ceiling of 1e36 WAD.",
    hint: () => `${RISK_WAITS} If the feed is broken for good, ORACLE replaces it (setFeeds).`,
  },
  "OracleInvalidRound(bytes32,address,uint80,uint256)": {
    contract: "oracle",
    message: (a) =>
      `Feed ${a.address("feed")} of ${a.label("asset")} returned an invalid round: id ${a.int("roundId")}, ` +
      `updatedAt ${a.time("updatedAt")} (round id 0, updatedAt 0 or in the future).`,
    hint: () => `${RISK_WAITS} If the feed keeps returning such rounds, ORACLE replaces it (setFeeds).`,
  },
  "OracleUnsupportedDecimals(address,uint8)": {
    contract: "oracle",
    message: (a) => `Feed ${a.address("feed")} reports ${a.int("decimals")} decimals; the router supports 0 to 36.`,
    hint: () => "Use a feed with at most 36 decimals.",
  },
  "OracleStalePrice(bytes32,address,uint256,uint256)": {
    contract: "oracle",
    message: (a) =>
      `The price of ${a.label("asset")} from feed ${a.address("feed")} was last updated at ${a.time("updatedAt")}, ` +
      `older than its max age of ${a.duration("maxAge")}.`,
    hint: () =>
      "Risk-increasing actions wait for a fresh round (the feed posts on its heartbeat or on a large enough move); " +
      "exits and liquidations still work (an exit to the pool is priced at the asset's widest band).",
  },
  "OraclePriceOutOfBounds(bytes32,uint256,uint256,uint256)": {
    contract: "oracle",
    message: (a) =>
      `The price ${a.wad("price")} of ${a.label("asset")} lies outside its plausible bounds ` +
      `[${a.wad("minPrice")}, ${a.wad("maxPrice")}].`,
    hint: () =>
      `${RISK_WAITS} If the market truly moved there, RISK widens the bounds (setAssetParams); a new feed must answer ` +
      "inside them.",
  },
  "OraclePriceDeviation(bytes32,uint256,uint256,uint256)": {
    contract: "oracle",
    message: (a) =>
      `Two prices of ${a.label("asset")} disagree by more than ${a.bps("maxDeviationBps")}: ` +
      `${a.wad("primaryPrice")} against ${a.wad("secondaryPrice")}.`,
    hint: () =>
      `${RISK_WAITS} (Their band spans both prices.) When changing feeds, the new primary must agree with the ` +
      "current sound price and with the new secondary.",
  },
  "OracleSecondaryUnavailable(bytes32,address)": {
    contract: "oracle",
    message: (a) =>
      `The secondary feed ${a.address("feed")} of ${a.label("asset")} gives no usable price (it failed, is out of ` +
      "bounds or is stale).",
    hint: () => `${RISK_WAITS} ORACLE can replace or remove the secondary feed (setFeeds).`,
  },
  "OracleCircuitBreakerActive(bytes32,uint256)": {
    contract: "oracle",
    message: (a) =>
      `The jump circuit breaker holds ${a.label("asset")} reduce-only until ${a.time("until")}: a round moved more ` +
      "than the jump threshold.",
    hint: (a) =>
      `Retry risk-increasing actions after ${a.time("until")}; reducing positions, exits and liquidations still work.`,
  },
  "OracleSequencerDown()": {
    contract: "oracle",
    message: () => "The L2 sequencer is down, or its uptime feed cannot be read.",
    hint: () =>
      "Risk-increasing actions wait until the sequencer is up and its grace period has passed; exits and " +
      "liquidations still work.",
  },
  "OracleSequencerGracePeriod(uint256)": {
    contract: "oracle",
    message: (a) => `The L2 sequencer is back up but inside its grace period, which ends at ${a.time("graceEndsAt")}.`,
    hint: (a) =>
      `Retry risk-increasing actions after ${a.time("graceEndsAt")}, once feeds have had time to post; exits and ` +
      "liquidations still work.",
  },
  "OracleFeedsImmutableHere(bytes32)": {
    contract: "oracle",
    message: (a) => `The feeds of ${a.label("asset")} cannot change through setAssetParams.`,
    hint: () =>
      "Pass the current feeds (OracleRouter.assetConfig(asset)) with the new numbers; feeds change through " +
      "setFeeds (ORACLE).",
  },
  "OracleNoJump(bytes32,uint80)": {
    contract: "oracle",
    message: (a) =>
      `Round ${a.int("roundId")} of ${a.label("asset")} is no jump beyond the threshold from its predecessor, or ` +
      "is too old to keep the breaker on.",
    hint: () => "Nothing to trip: pass the round that jumped, within the breaker cooldown after its update.",
  },

  // ---------------------------------------------------------------- risk (IRiskEngine)
  "RiskUnknownTier(uint8)": {
    contract: "risk",
    message: (a) => `Tier ${a.int("tier")} is not listed.`,
    hint: () =>
      "Use a listed tier (RiskEngine.tierConfig(tier).listed); an account's tier is the top byte of its bucket id " +
      "(accountBucket(owner, tier, subId)).",
  },
  "RiskTierAlreadyListed(uint8)": {
    contract: "risk",
    message: (a) => `Tier ${a.int("tier")} is listed already.`,
    hint: () => "Pick an unused tier id.",
  },
  "RiskUnknownMarket(uint16)": {
    contract: "risk",
    message: (a) =>
      `Market ${a.int("market")} is not listed (market 0 is reserved, and a market needs a non-zero oracle asset).`,
    hint: () => "Use a listed market id (RiskEngine.tierMarkets(tier) lists a tier's markets); ADMIN lists markets.",
  },
  "RiskMarketAlreadyListed(uint16)": {
    contract: "risk",
    message: (a) => `Market ${a.int("market")} is listed already.`,
    hint: () => "Pick an unused market id, or add the existing market to a tier (addMarketToTier).",
  },
  "RiskMarketNotInTier(uint8,uint16)": {
    contract: "risk",
    message: (a) => `Market ${a.int("market")} is not listed in tier ${a.int("tier")}.`,
    hint: (a) =>
      `Trade the markets of tier ${a.int("tier")} (RiskEngine.tierMarkets(${a.int("tier")})), or use an account of ` +
      "a tier that lists this market.",
  },
  "RiskMarketAlreadyInTier(uint8,uint16)": {
    contract: "risk",
    message: (a) => `Market ${a.int("market")} is listed in tier ${a.int("tier")} already.`,
    hint: () => "Change its settings with setMarketRisk (RISK) instead.",
  },
  "RiskTierFull(uint8,uint256)": {
    contract: "risk",
    message: (a) =>
      `A limit of ${a.int("max")} is reached: the engine's number of tiers, or tier ${a.int("tier")}'s markets or ` +
      "collaterals.",
    hint: () => "Nothing more can be listed there; use another tier.",
  },
  "RiskCollateralNotInTier(uint8,address)": {
    contract: "risk",
    message: (a) =>
      `Token ${a.address("token")} is not a collateral of tier ${a.int("tier")} that can be changed: it is not ` +
      "listed, it is the tier's quote token, or the change would alter its oracle asset.",
    hint: () =>
      "List it with addCollateralToTier (ADMIN); the quote token's weight is fixed, and a collateral keeps its " +
      "oracle asset.",
  },
  "RiskCollateralAlreadyInTier(uint8,address)": {
    contract: "risk",
    message: (a) => `Token ${a.address("token")} is a collateral of tier ${a.int("tier")} already.`,
    hint: () => "Change its haircut with setCollateralRisk (RISK) instead.",
  },
  "RiskUnsupportedQuoteToken(address)": {
    contract: "risk",
    message: (a) =>
      `Token ${a.address("token")} cannot be a quote token: it has more than 18 decimals or none readable.`,
    hint: () => "Use a quote token with at most 18 decimals that reports decimals().",
  },
  "RiskInconsistentRatios(uint16,uint16,uint16,uint16)": {
    contract: "risk",
    message: (a) =>
      `The ratios IM ${a.bps("imr")}, MM ${a.bps("mmr")}, backstop ${a.bps("bmr")} with a penalty of ` +
      `${a.bps("liquidationPenaltyBps")} are inconsistent.`,
    hint: (a) => {
      const room = a.big("mmr") > a.big("bmr") ? a.big("mmr") - a.big("bmr") : 0n;
      const cap = room < a.big("bmr") ? room : a.big("bmr");
      return (
        "Order them imr > mmr > bmr > 0 and keep the penalty at most mmr − bmr and at most bmr (here at most " +
        `${cap} bps), so that a liquidation can always pay it.`
      );
    },
  },
  "RiskDepthMonotonicityViolated(uint16,uint8,uint8)": {
    contract: "risk",
    message: (a) =>
      `The setting would make tier ${a.int("deeperTier")} (deeper) looser than tier ${a.int("shallowerTier")} for ` +
      `market ${a.int("market")}.`,
    hint: () =>
      "A deeper tier's ratios must be at least a shallower tier's, during ramps too (DESIGN §6.6): tighten the " +
      "deeper tier first, or loosen the shallower one.",
  },

  // ---------------------------------------------------------------- clearing (IClearingHouse, MarketSet)
  "ClearingInvalidAccount(uint256)": {
    contract: "clearing",
    message: (a) =>
      `Account ${a.bucket("account")} is not a valid clearing account: its owner is the zero address, its tier is ` +
      "not listed, or (as a fee or keeper account) it is of another tier.",
    hint: () => "Build accounts with accountBucket(owner, tier, subId) for a non-zero owner and a listed tier.",
  },
  "ClearingUnauthorized(uint256,address)": {
    contract: "clearing",
    message: (a) =>
      `${a.address("caller")} is neither the owner of account ${a.bucket("account")} nor an operator its owner ` +
      "authorized.",
    hint: (a) =>
      `Send from the owner ${a.owner("account")}, or have the owner call ` +
      `ClearingHouse.setOperator(${a.address("caller")}, true).`,
  },
  "ClearingSelfTrade(uint256)": {
    contract: "clearing",
    message: (a) => `A fill between account ${a.bucket("account")} and itself.`,
    hint: () => "Taker and maker must be different accounts.",
  },
  "ClearingCrossTierFill(uint256,uint256)": {
    contract: "clearing",
    message: (a) =>
      `The taker ${a.bucket("taker")} (tier ${a.tier("taker")}) and the maker ${a.bucket("maker")} ` +
      `(tier ${a.tier("maker")}) are in different tiers.`,
    hint: () => "Both sides of a fill must be accounts of one tier (the tier firewall).",
  },
  "ClearingZeroSize()": {
    contract: "clearing",
    message: () => "The fill or position transfer has size zero.",
    hint: () => "Pass a non-zero size.",
  },
  "ClearingInvalidPrice(uint256)": {
    contract: "clearing",
    message: (a) => `The fill price ${a.wad("price")} is zero or above the hard ceiling of 1e18 quote per base unit.`,
    hint: () => "Pass a fill price above zero and at most 1e36 (WAD).",
  },
  "ClearingTooManyPositions(uint256,uint256)": {
    contract: "clearing",
    message: (a) =>
      `Account ${a.bucket("account")} would hold more than ${a.int("max")} positions, the most its tier allows.`,
    hint: () =>
      "Close a position first, or open this one in another sub-account (accountBucket(owner, tier, otherSubId)).",
  },
  "ClearingInsufficientMargin(uint256,int256,uint256)": {
    contract: "clearing",
    message: (a) =>
      a.big("requirement") === 0n
        ? `Account ${a.bucket("account")} would end in debt: its equity would be ${a.wad("equity")} after a trade ` +
          "that reduces its position."
        : `Account ${a.bucket("account")} would have equity ${a.wad("equity")}, below the required ` +
          `${a.wad("requirement")} (initial margin).`,
    hint: (a) => {
      const shortfall = formatWad(positive(a.big("requirement") - a.big("equity")));
      if (a.big("requirement") === 0n) {
        return (
          `Reduce at a better price or a smaller size, or deposit collateral worth at least ${shortfall} first; an ` +
          "account that cannot stay solvent is left to liquidation."
        );
      }
      if (a.calledOneOf("withdraw", "redeem")) {
        return (
          `Withdraw collateral worth ${shortfall} less (what remains must cover IM counting only what is in hand: ` +
          "no unrealized profit or funding receivable), or reduce positions first."
        );
      }
      return (
        `Deposit collateral worth at least ${shortfall} more (after the tier's haircuts), withdraw less, or trade a ` +
        "smaller size."
      );
    },
  },
  "ClearingPriceUnavailable(bytes32)": {
    contract: "clearing",
    message: (a) =>
      `No price at all is available for ${a.label("asset")}: no feed answers and no last good price was recorded.`,
    hint: () => "Wait until a feed answers again; keepers record good prices with OracleRouter.poke.",
  },
  "ClearingPoolAlreadySet(uint8)": {
    contract: "clearing",
    message: (a) => `Tier ${a.int("tier")}'s backstop pool is set already; it is set once.`,
    hint: () => "Nothing to do: ClearingHouse.pool(tier) returns it.",
  },
  "ClearingCrossTierTransfer(uint256,uint256)": {
    contract: "clearing",
    message: (a) => `A liquidation hook named accounts of two tiers: ${a.bucket("from")} and ${a.bucket("to")}.`,
    hint: () => "Liquidation moves value only between accounts of one tier.",
  },
  "ClearingBatchOpen()": {
    contract: "clearing",
    message: () => "A liquidation batch is open already, or endBatch was called by another caller than its opener.",
    hint: () =>
      "Close the open batch first (endBatch, by its opener); the LiquidationEngine opens and closes its batches " +
      "within one call.",
  },
  "ClearingInvalidLiquidator(address)": {
    contract: "clearing",
    message: (a) =>
      `${a.address("account")} cannot be registered as a liquidation engine or an executor (the zero address).`,
    hint: () => "Pass the engine's address.",
  },
  "ClearingInvalidFeeSplit(uint256,uint256,uint256)": {
    contract: "clearing",
    message: (a) =>
      `The fee shares (pool ${a.wad("poolFee")} + protocol ${a.wad("protocolFee")}) exceed the fees charged ` +
      `(${a.wad("fees")}).`,
    hint: () => "The pool's and the protocol's shares must add to at most the taker and maker fees.",
  },
  "MarketSetFull()": {
    contract: "clearing",
    message: () => "The account holds positions in 16 markets already, the most one account can hold.",
    hint: () => "Close a position first, or use another sub-account.",
  },
  "MarketSetZeroMarket()": {
    contract: "clearing",
    message: () => "Market id 0 cannot be held: it is reserved.",
    hint: () => "Use a listed market id (1 or more).",
  },

  // ---------------------------------------------------------------- liquidation (ILiquidationEngine)
  "LiquidationAccountHealthy(uint256,int256,uint256)": {
    contract: "liquidation",
    message: (a) =>
      `Account ${a.bucket("account")} is healthy: its equity ${a.wad("equity")} is at or above its maintenance ` +
      `margin ${a.wad("mm")}.`,
    hint: () =>
      "Nothing to liquidate; keepers check LiquidationEngine.preview(account, market) first, or use liquidateBatch, " +
      "which skips healthy accounts.",
  },
  "LiquidationTooLarge(uint256,uint256,uint256)": {
    contract: "liquidation",
    message: (a) =>
      `Closing ${a.wad("requested")} of account ${a.bucket("account")}'s position is more than the ` +
      `${a.wad("allowed")} this liquidation allows.`,
    hint: (a) => `Pass a size of at most ${a.wad("allowed")}, or 0 to close as much as needed.`,
  },
  "LiquidationNoPosition(uint256,uint16)": {
    contract: "liquidation",
    message: (a) =>
      `Account ${a.bucket("account")} has no position in market ${a.int("market")} that can be liquidated now (or ` +
      "the market has no price at all).",
    hint: () => "Name one of the account's markets (ClearingHouse.accountMarkets(account)).",
  },
  "LiquidationNoPool(uint8)": {
    contract: "liquidation",
    message: (a) => `Tier ${a.int("tier")} has no backstop pool to take positions over.`,
    hint: () => "Liquidations in this tier wait until ADMIN sets its pool (ClearingHouse.setPool).",
  },
  "LiquidationNotImproved(uint256,int256,int256)": {
    contract: "liquidation",
    message: (a) =>
      `The liquidation would not leave account ${a.bucket("account")} healthier: its excess over the maintenance ` +
      `margin would go from ${a.wad("excessBefore")} to ${a.wad("excessAfter")}.`,
    hint: () =>
      "A safety net that should never trigger: report it with the transaction. Meanwhile try a different size, or " +
      "wait for the account to reach the backstop zone.",
  },
  "LiquidationOfPool(uint8)": {
    contract: "liquidation",
    message: (a) =>
      `The account of tier ${a.int("tier")}'s backstop pool is never liquidated: its losses fall on its LPs.`,
    hint: () => "Skip it; a pool with negative equity is covered by auto-deleveraging (LiquidationEngine.adl).",
  },
  "LiquidationOnlySelf(address)": {
    contract: "liquidation",
    message: (a) => `${a.address("caller")} called liquidateOnBehalf, which only the engine's own batch loop may call.`,
    hint: () => "Call liquidate or liquidateBatch.",
  },
  "AdlNotNeeded(uint8,int256)": {
    contract: "liquidation",
    message: (a) =>
      `Tier ${a.int("tier")}'s pool has equity ${a.wad("poolEquity")}, not negative: there is nothing to ` +
      "auto-deleverage.",
    hint: () => "ADL runs only while the pool's equity is negative (ClearingHouse.health(poolAccount)).",
  },
  "AdlWrongTier(uint256,uint8)": {
    contract: "liquidation",
    message: (a) => `ADL target ${a.bucket("target")} is not an account of tier ${a.int("tier")}.`,
    hint: () => "Pick targets of the pool's tier.",
  },
  "AdlSameSide(uint256,int256,int256)": {
    contract: "liquidation",
    message: (a) =>
      `ADL target ${a.bucket("target")} (size ${a.wad("targetSize")}) is not opposite to the pool ` +
      `(size ${a.wad("poolSize")}).`,
    hint: () => "Pick targets whose position is opposite to the pool's in that market.",
  },
  "AdlNotInProfit(uint256,int256)": {
    contract: "liquidation",
    message: (a) =>
      `ADL target ${a.bucket("target")} is not in profit at the conservative mark (unrealized PnL ` +
      `${a.wad("unrealizedPnl")}).`,
    hint: () => "Pick targets in profit at the conservative side of the band, the most profitable first.",
  },
  "CollateralLiquidationNotAllowed(uint256,int256,uint256)": {
    contract: "liquidation",
    message: (a) =>
      `Account ${a.bucket("account")}'s collateral cannot be liquidated: that needs negative cash and no quote ` +
      `tokens left, and it has cash ${a.wad("cash")} and ${a.int("quoteBalance")} quote token units.`,
    hint: () =>
      "Liquidate its positions instead (liquidate); collateral liquidation only repays a debt the quote tokens " +
      "could not cover.",
  },
  "CollateralLiquidationInvalidToken(uint256,address)": {
    contract: "liquidation",
    message: (a) =>
      `Token ${a.address("token")} is the quote token of account ${a.bucket("account")}'s tier, or not one of the ` +
      "tier's collaterals.",
    hint: () => "Pick a non-quote collateral of the tier (RiskEngine.tierCollaterals(tier), after the first).",
  },

  // ---------------------------------------------------------------- execution (IExecutionEngine)
  "ExecutionZeroSize()": {
    contract: "execution",
    message: () => "The order's size is zero, or a fill or pool trade of size zero was asked.",
    hint: () => "Pass a non-zero size.",
  },
  "ExecutionOrderExpired(bytes32,uint64)": {
    contract: "execution",
    message: (a) => `Order ${a.text("digest")} expired at ${a.time("expiry")}.`,
    hint: () => "Sign a new order with a later expiry.",
  },
  "ExecutionOrderCancelled(bytes32,uint256)": {
    contract: "execution",
    message: (a) =>
      `Order ${a.text("digest")} was cancelled, on its own or by its owner's minimum nonce ${a.int("minNonce")}.`,
    hint: (a) => `Sign a new order with a nonce of at least ${a.int("minNonce")}.`,
  },
  "ExecutionUnauthorizedSigner(bytes32,address)": {
    contract: "execution",
    message: (a) =>
      `${a.address("signer")}, who signed order ${a.text("digest")}, is neither the owner of its account nor one ` +
      "of the owner's clearing operators.",
    hint: () => "Sign with the account's owner, or have the owner authorize the signer (ClearingHouse.setOperator).",
  },
  "ExecutionInvalidSignature(bytes32,address)": {
    contract: "execution",
    message: (a) =>
      `The signature of order ${a.text("digest")} does not prove that ${a.address("signer")} signed it for this ` +
      "chain and engine.",
    hint: () =>
      "Sign with signOrder(signer, orderDomain(chainId, engineAddress), order) (sdk/src/execution/orders.ts), and " +
      "pass the signer's own address.",
  },
  "ExecutionOverfill(bytes32,uint256,uint256)": {
    contract: "execution",
    message: (a) =>
      `The fill of ${a.wad("requested")} exceeds the ${a.wad("remaining")} left of order ${a.text("digest")}.`,
    hint: (a) => `Fill at most ${a.wad("remaining")} (ExecutionEngine.filled(digest) gives what is filled).`,
  },
  "ExecutionOrdersMismatch(bytes32,bytes32)": {
    contract: "execution",
    message: (a) =>
      `Maker order ${a.text("makerDigest")} and taker order ${a.text("takerDigest")} are not for one market and ` +
      "tier, or are on the same side.",
    hint: () => "Match a buy against a sell of the same market, from accounts of the same tier.",
  },
  "ExecutionOrdersDoNotCross(uint256,uint256)": {
    contract: "execution",
    message: (a) =>
      `The orders do not cross: the taker's limit ${a.wad("takerLimit")} does not reach the maker's price ` +
      `${a.wad("makerPrice")}.`,
    hint: () => "Match a taker whose limit reaches the maker's price (a buyer's at or above, a seller's at or below).",
  },
  "ExecutionSelfTrade(address)": {
    contract: "execution",
    message: (a) => `Both orders belong to ${a.address("owner")}.`,
    hint: () => "Match orders of two different owners.",
  },
  "ExecutionNotReducing(bytes32,int256,int256)": {
    contract: "execution",
    message: (a) =>
      `A reduce-only ${BigInt(a.text("digest")) === 0n ? "pool trade" : `order ${a.text("digest")}`} would open, ` +
      `increase or flip the position: position ${a.wad("position")}, fill ${a.wad("fill")}.`,
    hint: () => "A reduce-only trade must be opposite to the position and at most its size; or drop reduce-only.",
  },
  "ExecutionPriceOutsideBand(uint256,uint256,uint256)": {
    contract: "execution",
    message: (a) =>
      `The price ${a.wad("price")} is further from the oracle's mid ${a.wad("oraclePrice")} than the tier's band ` +
      `of ${a.bps("bandBps")} allows.`,
    hint: (a) => {
      const allowed = (a.big("oraclePrice") * a.big("bandBps")) / 10_000n;
      return (
        `Trade within ${formatWad(positive(a.big("oraclePrice") - allowed))} to ${formatWad(a.big("oraclePrice") + allowed)}; ` +
        "for a pool trade, a smaller size has less skew impact."
      );
    },
  },
  "ExecutionUnauthorizedCancel(bytes32,address)": {
    contract: "execution",
    message: (a) =>
      `${a.address("caller")} may not cancel order ${a.text("digest")}: only its account's owner or one of the ` +
      "owner's operators may.",
    hint: () => "Cancel from the owner or an operator, or raise the owner's minimum nonce (setMinNonce).",
  },
  "ExecutionOpenInterestCap(uint8,uint16,uint256,uint256)": {
    contract: "execution",
    message: (a) =>
      `The fill would raise tier ${a.int("tier")}'s open interest in market ${a.int("market")} to ` +
      `${a.wad("openInterest")}, above its cap of ${a.wad("cap")}.`,
    hint: (a) =>
      `Trade at least ${formatWad(positive(a.big("openInterest") - a.big("cap")))} less; fills that keep or lower the open ` +
      "interest, such as exits, always pass.",
  },
  "ExecutionRiskIncreasePaused()": {
    contract: "execution",
    message: () => "Risk-increasing trades are paused by the guardian.",
    hint: () =>
      "Only trades that reduce positions execute until ADMIN resumes (ExecutionEngine.riskIncreasePaused()); exits " +
      "against the pool always work.",
  },
  "ExecutionNonceNotIncreasing(uint256,uint256)": {
    contract: "execution",
    message: (a) => `The minimum nonce can only rise: it is ${a.int("current")}, and ${a.int("requested")} was asked.`,
    hint: (a) => `Pass a minimum nonce above ${a.int("current")}.`,
  },
  "ExecutionUnauthorizedTrader(uint256,address)": {
    contract: "execution",
    message: (a) =>
      `${a.address("caller")} is neither the owner of account ${a.bucket("account")} nor one of its operators.`,
    hint: (a) =>
      `Trade from the owner ${a.owner("account")}, or have the owner call ` +
      `ClearingHouse.setOperator(${a.address("caller")}, true).`,
  },
  "ExecutionNoPool(uint8)": {
    contract: "execution",
    message: (a) => `Tier ${a.int("tier")} has no backstop pool to trade with yet.`,
    hint: () => "Trade through matched orders (settleMatch) until ADMIN sets the tier's pool.",
  },
  "ExecutionPoolSelfTrade(uint256)": {
    contract: "execution",
    message: (a) => `The pool's own account ${a.bucket("account")} cannot trade with the pool.`,
    hint: () => "Trade from a trader's account.",
  },
  "ExecutionAcceptablePriceExceeded(uint256,uint256)": {
    contract: "execution",
    message: (a) =>
      a.big("price") > a.big("acceptablePrice")
        ? `The pool would sell at ${a.wad("price")}, above the buyer's acceptable price ${a.wad("acceptablePrice")}.`
        : `The pool would buy at ${a.wad("price")}, below the seller's acceptable price ${a.wad("acceptablePrice")}.`,
    hint: (a) =>
      "Quote first (ExecutionEngine.quotePoolTrade) and allow for the move until the trade lands: an acceptable " +
      `price ${a.big("price") > a.big("acceptablePrice") ? "of at least" : "of at most"} ${a.wad("price")} would ` +
      "have filled now; or trade a smaller size, which has less skew impact.",
  },
  "ExecutionLeverageExceeded(uint256,uint256,int256,uint256)": {
    contract: "execution",
    message: (a) =>
      `Account ${a.bucket("account")} would hold a notional of ${a.wad("notional")} on equity ${a.wad("equity")}, ` +
      `above ${a.int("maxLeverage")}× leverage.`,
    hint: (a) => {
      const equity = positive(a.big("equity"));
      const maxLeverage = a.big("maxLeverage");
      const missing = positive((a.big("notional") + maxLeverage - 1n) / maxLeverage - equity);
      return (
        `Keep the position's notional at most ${formatWad(equity * maxLeverage)} (${a.int("maxLeverage")}× equity), ` +
        `or deposit collateral worth at least ${formatWad(missing)} more.`
      );
    },
  },
  "ExecutionSizeTooLarge(int256,uint256)": {
    contract: "execution",
    message: (a) => `A pool trade of ${a.wad("size")} is above the largest accepted (${a.wad("max")}).`,
    hint: () => "Trade a smaller size.",
  },
  "ExecutionPriceUnavailable(bytes32)": {
    contract: "execution",
    message: (a) => `The oracle has no price at all for ${a.label("asset")}.`,
    hint: () => "Wait until a feed answers again; keepers record good prices with OracleRouter.poke.",
  },
  "ExecutionInvalidPoolSpread(uint256,uint256)": {
    contract: "execution",
    message: (a) =>
      `The pool's spread floor of ${a.bps("minPoolSpreadBps")} is above the largest accepted (${a.bps("max")}).`,
    hint: (a) => `${GOVERNANCE_SETTER}pass at most ${a.int("max")} bps.`,
  },
  "ExecutionInvalidFeeConfig(address,uint256,uint256)": {
    contract: "execution",
    message: (a) =>
      `The fee split (pool ${a.bps("poolShareBps")}, protocol ${a.bps("protocolShareBps")}, treasury ` +
      `${a.address("treasury")}) exceeds the whole fee, or a protocol share has no treasury.`,
    hint: () =>
      `${GOVERNANCE_SETTER}keep the two shares at most 10,000 bps together, with a treasury for a protocol share.`,
  },

  // ---------------------------------------------------------------- pool (IBackstopPool, ERC-4626)
  "PoolInvalidRequest(address,uint256,uint256)": {
    contract: "pool",
    message: (a) =>
      `${a.address("owner")} asked to redeem ${a.int("shares")} shares but holds ${a.int("balance")} (or asked zero).`,
    hint: (a) => `Request between 1 and ${a.int("balance")} shares (raw share units).`,
  },
  "PoolNotRegistered(uint8)": {
    contract: "pool",
    message: (a) => `This pool is not registered as tier ${a.int("tier")}'s pool in the clearing house.`,
    hint: () => "Deposits open once ADMIN registers it (ClearingHouse.setPool(tier, pool)).",
  },
  "ERC4626ExceededMaxDeposit(address,uint256,uint256)": {
    contract: "ERC4626",
    message: (a) =>
      `A pool deposit of ${a.int("assets")} for ${a.address("receiver")} exceeds the ${a.int("max")} it admits now ` +
      "(raw quote units).",
    hint: (a) =>
      `Deposit at most ${a.int("max")} (BackstopPool.maxDeposit): what the tier's deposit cap in the vault still ` +
      "admits, and nothing while the pool is unregistered or the vault's deposits are paused.",
  },
  "ERC4626ExceededMaxMint(address,uint256,uint256)": {
    contract: "ERC4626",
    message: (a) =>
      `Minting ${a.int("shares")} pool shares for ${a.address("receiver")} exceeds the ${a.int("max")} it admits now.`,
    hint: (a) => `Mint at most ${a.int("max")} shares (BackstopPool.maxMint): the tier's deposit cap bounds it.`,
  },
  "ERC4626ExceededMaxWithdraw(address,uint256,uint256)": {
    contract: "ERC4626",
    message: (a) =>
      `Withdrawing ${a.int("assets")} for ${a.address("owner")} exceeds the ${a.int("max")} that may leave now ` +
      "(raw quote units).",
    hint: () =>
      "Only a matured redemption request leaves, within the utilisation limit: requestRedeem, wait for the cooldown, " +
      "then withdraw within the 2-day window; BackstopPool.maxWithdraw(owner) shows what may leave now.",
  },
  "ERC4626ExceededMaxRedeem(address,uint256,uint256)": {
    contract: "ERC4626",
    message: (a) =>
      `Redeeming ${a.int("shares")} shares of ${a.address("owner")} exceeds the ${a.int("max")} that may leave now.`,
    hint: () =>
      "Only a matured redemption request leaves, within the utilisation limit: requestRedeem, wait for the cooldown, " +
      "then redeem within the 2-day window; BackstopPool.maxRedeem(owner) shows what may leave now.",
  },

  // ---------------------------------------------------------------- tokens (OpenZeppelin ERC-20, SafeERC20)
  "ERC20InsufficientBalance(address,uint256,uint256)": {
    contract: "ERC20",
    message: (a) =>
      `${a.address("sender")} holds ${a.int("balance")} of the token, less than the ${a.int("needed")} to transfer ` +
      "(raw units; the token is a collateral token or the pool's shares).",
    hint: (a) =>
      `Transfer at most ${a.int("balance")}, or obtain ${a.big("needed") - a.big("balance")} more of the token first.`,
  },
  "ERC20InsufficientAllowance(address,uint256,uint256)": {
    contract: "ERC20",
    message: (a) =>
      `${a.address("spender")} may spend only ${a.int("allowance")} of the token, less than the ${a.int("needed")} ` +
      "needed (raw units).",
    hint: (a) =>
      `Approve ${a.address("spender")} for at least ${a.int("needed")} first (token.approve): the vault for ` +
      "deposits, the pool for LP deposits, the liquidation engine for collateral liquidations.",
  },
  "ERC20InvalidApprover(address)": {
    contract: "ERC20",
    message: (a) => `${a.address("approver")} cannot approve: it is the zero address.`,
    hint: () => "Approve from a real account.",
  },
  "ERC20InvalidReceiver(address)": {
    contract: "ERC20",
    message: (a) => `${a.address("receiver")} cannot receive tokens: it is the zero address.`,
    hint: () => "Pass a non-zero receiver.",
  },
  "ERC20InvalidSender(address)": {
    contract: "ERC20",
    message: (a) => `${a.address("sender")} cannot send tokens: it is the zero address.`,
    hint: () => "Send from a real account.",
  },
  "ERC20InvalidSpender(address)": {
    contract: "ERC20",
    message: (a) => `${a.address("spender")} cannot be approved: it is the zero address.`,
    hint: () => "Approve a non-zero spender.",
  },
  "SafeERC20FailedOperation(address)": {
    contract: "SafeERC20",
    message: (a) =>
      `A transfer or approval of token ${a.token("token")} failed: the token returned false or has no code.`,
    hint: () =>
      "Check the sender's balance and allowance, and that the token does not block the addresses involved; the " +
      "vault pays a blocked receiver's claim to a new receiver (setClaimReceiver).",
  },

  // ---------------------------------------------------------------- governance (ParamGuard)
  "ParameterOutOfEnvelope(bytes32,uint256,uint256,uint256)": {
    contract: "governance",
    message: (a) =>
      `Parameter ${a.label("param")} = ${a.int("value")} lies outside its hard envelope [${a.int("min")}, ` +
      `${a.int("max")}] (raw units of the parameter).`,
    hint: (a) => `${GOVERNANCE_SETTER}pass a value between ${a.int("min")} and ${a.int("max")}.`,
  },
  "ParameterStepTooLarge(bytes32,uint256,uint256,uint256,uint256)": {
    contract: "governance",
    message: (a) =>
      `Changing ${a.label("param")} from ${a.int("oldValue")} to ${a.int("newValue")} exceeds the largest step per ` +
      `change: ${a.bps("maxStepBps")} of the old value, or ${a.int("minStep")} when that is larger.`,
    hint: (a) => {
      const relative = (a.big("oldValue") * a.big("maxStepBps")) / 10_000n;
      const step = relative > a.big("minStep") ? relative : a.big("minStep");
      const low = a.big("oldValue") > step ? a.big("oldValue") - step : 0n;
      return (
        `${GOVERNANCE_SETTER}move it by at most ${step} per change (to ${low}..${a.big("oldValue") + step}), one ` +
        "change per cooldown, in several steps if needed."
      );
    },
  },
  "ParameterChangeTooSoon(bytes32,uint256)": {
    contract: "governance",
    message: (a) =>
      `This parameter group changed less than a cooldown ago; it may change again at ${a.time("nextAllowedAt")}.`,
    hint: (a) => `${GOVERNANCE_SETTER}retry at or after ${a.time("nextAllowedAt")}.`,
  },

  // ---------------------------------------------------------------- access (OpenZeppelin AccessManaged)
  "AccessManagedUnauthorized(address)": {
    contract: "AccessManaged",
    message: (a) => {
      const restricted = restrictedCalls(a);
      const what = restricted.length === 0 ? "this restricted function" : describeFunctions(restricted);
      return `${a.address("caller")} may not call ${what}: it lacks the role the AccessManager requires.`;
    },
    hint: (a) => {
      const restricted = restrictedCalls(a);
      const role =
        restricted.length === 0
          ? "the function's role, which AccessManager.getTargetFunctionRole(target, selector) names " +
            "(sdk/src/deploy/roles.ts lists Strata's),"
          : `the role ${restricted.map(roleFor).join(", or ")}`;
      return (
        `Ask an ADMIN of the AccessManager to grant ${a.address("caller")} ${role} with grantRole, or send the call ` +
        "from an account that holds it. If it holds the role already, its grant may not be effective yet, or the " +
        "target is closed (AccessManager.isTargetClosed)."
      );
    },
  },
  "AccessManagedRequiredDelay(address,uint32)": {
    contract: "AccessManaged",
    message: (a) =>
      `${a.address("caller")} may call this function only after an execution delay of ${a.duration("delay")}.`,
    hint: () => "Schedule the call through the AccessManager (schedule), then execute it once the delay has passed.",
  },
  "AccessManagedInvalidAuthority(address)": {
    contract: "AccessManaged",
    message: (a) => `${a.address("authority")} has no code, so it cannot be a module's authority.`,
    hint: () => "Pass the AccessManager's address (AccessManager.updateAuthority).",
  },

  // ---------------------------------------------------------------- access (OpenZeppelin AccessManager)
  "AccessManagerAlreadyScheduled(bytes32)": {
    contract: "AccessManager",
    message: (a) => `Operation ${a.text("operationId")} is scheduled already.`,
    hint: () => "Execute it once ready (AccessManager.getSchedule(id)), or cancel it before scheduling it again.",
  },
  "AccessManagerNotScheduled(bytes32)": {
    contract: "AccessManager",
    message: (a) => `Operation ${a.text("operationId")} is not scheduled (or was executed or cancelled).`,
    hint: () =>
      "A role held with an execution delay must schedule its call first: AccessManager.schedule(target, data, 0), " +
      "then call the target (or AccessManager.execute) once the delay has passed.",
  },
  "AccessManagerNotReady(bytes32)": {
    contract: "AccessManager",
    message: (a) => `Operation ${a.text("operationId")} is scheduled, but its delay has not passed yet.`,
    hint: () => "Execute it at or after AccessManager.getSchedule(operationId).",
  },
  "AccessManagerExpired(bytes32)": {
    contract: "AccessManager",
    message: (a) =>
      `Operation ${a.text("operationId")} expired: it was not executed within the expiration window after its delay.`,
    hint: () => "Schedule it again, and execute it within the window (AccessManager.expiration()).",
  },
  "AccessManagerLockedRole(uint64)": {
    contract: "AccessManager",
    message: (a) =>
      `Role ${a.role("roleId")} is locked: the ADMIN and PUBLIC roles cannot be labelled or given another admin ` +
      "or guardian, and PUBLIC cannot be granted, revoked or given a grant delay.",
    hint: () => "Use one of Strata's own roles (deploy/roles.ts).",
  },
  "AccessManagerLockedFunction(bytes4)": {
    contract: "AccessManager",
    message: (a) => `Function ${a.text("selector")} (setAuthority) cannot be given a role.`,
    hint: () => "Authority changes go through AccessManager.updateAuthority (ADMIN).",
  },
  "AccessManagerBadConfirmation()": {
    contract: "AccessManager",
    message: () => "The confirmation passed to renounceRole is not the caller's own address.",
    hint: () => "Pass your own address as callerConfirmation.",
  },
  "AccessManagerUnauthorizedAccount(address,uint64)": {
    contract: "AccessManager",
    message: (a) => `${a.address("msgsender")} lacks ${a.role("roleId")}, which this AccessManager function requires.`,
    hint: (a) => `Have a holder of ${a.role("roleId")} make the call, or grant it to ${a.address("msgsender")}.`,
  },
  "AccessManagerUnauthorizedCall(address,address,bytes4)": {
    contract: "AccessManager",
    message: (a) =>
      `${a.address("caller")} may not call ${a.selector("selector")} on ${a.address("target")} through the ` +
      "AccessManager: it lacks the role, the time asked is earlier than its delay allows, or it scheduled a call " +
      "that needs no delay.",
    hint: () =>
      "Grant the caller the function's role (AccessManager.getTargetFunctionRole names it) and schedule no earlier " +
      "than now plus its execution delay; a call that needs no delay is made directly, not scheduled.",
  },
  "AccessManagerUnauthorizedCancel(address,address,address,bytes4)": {
    contract: "AccessManager",
    message: (a) =>
      `${a.address("msgsender")} may not cancel ${a.address("caller")}'s operation ${a.selector("selector")} on ` +
      `${a.address("target")}.`,
    hint: () =>
      "Only the operation's scheduler, an ADMIN, or the guardian of the function's role may cancel it (GUARDIAN " +
      "guards RISK and ORACLE).",
  },
  "AccessManagerUnauthorizedConsume(address)": {
    contract: "AccessManager",
    message: (a) => `${a.address("target")} tried to consume a scheduled operation outside a restricted call.`,
    hint: () => "Only an AccessManaged target consumes scheduled operations, inside its restricted function.",
  },
  "AccessManagerInvalidInitialAdmin(address)": {
    contract: "AccessManager",
    message: (a) => `${a.address("initialAdmin")} cannot be the AccessManager's initial admin (the zero address).`,
    hint: () => "Deploy the AccessManager with a non-zero admin.",
  },
  "AddressEmptyCode(address)": {
    contract: "Address",
    message: (a) => `The AccessManager called ${a.address("target")}, which has no code.`,
    hint: () => "Check the target address of the scheduled or executed operation.",
  },
  "FailedCall()": {
    contract: "Address",
    message: () => "A call the AccessManager executed failed without a reason.",
    hint: () => "Simulate the target call directly to see why it fails.",
  },
  "InsufficientBalance(uint256,uint256)": {
    contract: "Address",
    message: (a) =>
      `The AccessManager holds ${a.int("balance")} wei, less than the ${a.int("needed")} wei the call forwards.`,
    hint: () => "Send the value with AccessManager.execute (msg.value), or forward less.",
  },

  // ---------------------------------------------------------------- other OpenZeppelin libraries
  "ReentrancyGuardReentrantCall()": {
    contract: "ReentrancyGuard",
    message: () => "A reentrant call into a Strata module was refused (a token or callback called back mid-call).",
    hint: () => "Make the calls one after another, never from a token callback; check CollateralVault.isLocked().",
  },
  "SafeCastOverflowedIntDowncast(uint8,int256)": {
    contract: "SafeCast",
    message: (a) => `The value ${a.int("value")} does not fit in int${a.int("bits")}.`,
    hint: () => "An amount, size or price is far outside the supported range: check the inputs' units (WAD).",
  },
  "SafeCastOverflowedUintDowncast(uint8,uint256)": {
    contract: "SafeCast",
    message: (a) => `The value ${a.int("value")} does not fit in uint${a.int("bits")}.`,
    hint: () => "An amount, size or price is far outside the supported range: check the inputs' units (WAD).",
  },
  "SafeCastOverflowedUintToInt(uint256)": {
    contract: "SafeCast",
    message: (a) => `The value ${a.int("value")} does not fit in int256.`,
    hint: () => "An amount, size or price is far outside the supported range: check the inputs' units (WAD).",
  },
  "StringTooLong(string)": {
    contract: "ShortStrings",
    message: (a) => `The string "${a.text("str")}" is too long for a short string (31 bytes at most).`,
    hint: () => "Raised only when deploying the ExecutionEngine's EIP-712 domain: use a shorter name or version.",
  },
  "InvalidShortString()": {
    contract: "ShortStrings",
    message: () => "A short string's stored length is invalid.",
    hint: () => "Raised only by a malformed EIP-712 domain of the ExecutionEngine: redeploy it with a valid name.",
  },
} as const satisfies Record<string, CatalogEntry>;

/** A catalogued error signature, `Name(type,…)`. */
export type CataloguedSignature = keyof typeof ERROR_CATALOG;
/** The name of a catalogued error. */
export type CataloguedErrorName = CataloguedSignature extends infer S
  ? S extends `${infer Name}(${string}`
    ? Name
    : never
  : never;

/** What each Solidity panic code means (`Panic(uint256)`). */
export const PANIC_REASONS: Readonly<Record<string, string>> = {
  "0": "a generic compiler panic",
  "1": "an assertion failed",
  "17": "an arithmetic operation overflowed or underflowed",
  "18": "a division or modulo by zero",
  "33": "a conversion to an enum value out of range",
  "34": "an incorrectly encoded storage byte array",
  "49": "pop() on an empty array",
  "50": "an array index out of bounds",
  "65": "too much memory allocated",
  "81": "a call to a zero-initialized internal function",
};
