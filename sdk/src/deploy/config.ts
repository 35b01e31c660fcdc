import { isAddress, keccak256, toUtf8Bytes } from "ethers";
import { z } from "zod";

/**
 * The validated configuration of a Strata deployment (foundation layer: governance, vault, oracle).
 * Amounts are decimal strings in whole-token units ("1000000.5"), converted with each token's decimals;
 * prices are decimal strings in quote units per asset unit.
 */

const address = z.string().refine((v) => isAddress(v), { message: "must be a 0x-prefixed 20-byte address" });
const decimalString = z
  .string()
  .regex(/^\d+(\.\d+)?$/, { message: 'must be a non-negative decimal number written as a string, e.g. "1000.5"' });
const seconds = z.number().int().nonnegative();
const bps = z.number().int().min(0).max(10_000);

/** A token: an existing ERC-20 by address, or a mock deployed on local chains. */
const tokenSchema = z
  .object({
    symbol: z.string().min(1).max(11),
    address: address.optional(),
    mock: z.object({ decimals: z.number().int().min(0).max(36), name: z.string().optional() }).optional(),
    outflowCapacity: decimalString,
    outflowWindowSeconds: seconds.min(3600).max(7 * 86400),
  })
  .refine((t) => (t.address === undefined) !== (t.mock === undefined), {
    message: "give exactly one of `address` (an existing token) or `mock` (deploy a test token)",
  });

/** A feed: an existing AggregatorV3 proxy by address, or a MockV3Aggregator deployed on local chains. */
const feedSchema = z
  .object({
    address: address.optional(),
    mock: z.object({ decimals: z.number().int().min(0).max(36), initialPrice: decimalString }).optional(),
  })
  .refine((f) => (f.address === undefined) !== (f.mock === undefined), {
    message: "give exactly one of `address` (an existing feed) or `mock` (deploy a mock aggregator)",
  });

const assetSchema = z
  .object({
    id: z.string().min(1).max(31),
    primary: feedSchema,
    secondary: feedSchema.optional(),
    primaryMaxAgeSeconds: seconds,
    secondaryMaxAgeSeconds: seconds.default(0),
    maxDeviationBps: bps,
    minPrice: decimalString,
    maxPrice: decimalString,
    jumpThresholdBps: bps,
    breakerCooldownSeconds: seconds,
    /**
     * The primary feed's deviation threshold: it posts a new round once the market moves this far, so its
     * price is only known to within it. The band's base half-width must cover it: pool trades are priced at
     * the band's sides, which is what makes trading ahead of a known update unprofitable.
     */
    deviationThresholdBps: bps,
    baseConfidenceBps: bps,
    confidenceBpsPerHour: bps,
    maxConfidenceBps: bps,
  })
  .refine((a) => a.baseConfidenceBps >= a.deviationThresholdBps, {
    message:
      "baseConfidenceBps must be at least the feed's deviationThresholdBps (pool trades at the band's sides are " +
      "then not worth front-running); widen the band",
    path: ["baseConfidenceBps"],
  });

/** Risk settings of one market in one tier (IRiskEngine.MarketRisk); notionals and caps in whole units. */
const marketRiskSchema = z.object({
  market: z.number().int().min(0).max(65535),
  imrBps: bps,
  mmrBps: bps,
  bmrBps: bps,
  bracketNotional1: decimalString.default("0"),
  bracketAddBps1: bps.default(0),
  bracketNotional2: decimalString.default("0"),
  bracketAddBps2: bps.default(0),
  maxLeverage: z.number().int().min(1).max(200),
  liquidationPenaltyBps: bps,
  keeperShareBps: bps,
  keeperRewardCap: decimalString,
  oiCap: decimalString,
  priceBandBps: bps,
  makerFeeBps: bps,
  takerFeeBps: bps,
  maxFundingBpsPerDay: bps,
  fundingSkewScale: decimalString,
});

/** A non-quote collateral of a tier and its haircut (IRiskEngine.CollateralRisk). */
const collateralRiskSchema = z.object({
  token: z.string(),
  asset: z.string().min(1).max(31),
  weightBps: bps,
  excessWeightBps: bps,
  sizeThreshold: decimalString.default("0"),
});

const tierSchema = z.object({
  id: z.number().int().min(0).max(255),
  name: z.string().min(1),
  depth: z.number().int().min(0).max(255),
  quote: z.string(),
  maxPositions: z.number().int().min(1).max(8),
  markets: z.array(marketRiskSchema).default([]),
  collaterals: z.array(collateralRiskSchema).default([]),
  /** The tier's backstop pool (ERC-4626 LP vault); omitted: the tier has no pool yet. */
  pool: z
    .object({ cooldownSeconds: seconds.min(3600).max(30 * 86400), maxUtilisationBps: bps.min(1000).max(9000) })
    .optional(),
  deposits: z.array(z.object({ token: z.string(), cap: decimalString })).min(1),
  reserveAllowance: z.array(z.object({ token: z.string(), capPerEpoch: decimalString })).default([]),
});

const roleHoldersSchema = z.object({
  /** Receives ADMIN at the end of deployment (the deployer keeps it when absent). */
  admin: address.optional(),
  risk: z.array(address).default([]),
  guardian: z.array(address).default([]),
  oracle: z.array(address).default([]),
  /** CONTROLLER besides the clearing house (which always holds it); e.g. a test account. */
  controller: z.array(address).default([]),
  /** EXECUTOR: submits fills to the clearing house (the execution layer; a test harness until it exists). */
  executor: z.array(address).default([]),
});

const delaysSchema = z.object({
  admin: seconds,
  risk: seconds,
  oracle: seconds,
});

export const foundationConfigSchema = z
  .object({
    network: z.string().min(1),
    /** The chain the config is for (testnets, mainnets): the deployer refuses to deploy it to another chain. */
    chainId: z.number().int().positive().optional(),
    reserveEpochSeconds: seconds.min(86400).max(30 * 86400),
    tokens: z.array(tokenSchema).min(1),
    assets: z.array(assetSchema).min(1),
    markets: z.array(z.object({ id: z.number().int().min(1).max(65535), asset: z.string() })).default([]),
    tiers: z.array(tierSchema).min(1),
    sequencer: z.object({ feed: feedSchema.optional(), gracePeriodSeconds: seconds.max(86400) }).optional(),
    roles: roleHoldersSchema.default({}),
    /**
     * The floor of the pool's spread (bps of the oracle mid, each side). At least every asset's feed deviation
     * threshold; defaults to the largest of them.
     */
    minPoolSpreadBps: bps.max(1_000).optional(),
    /** How fees are split: shares (bps) to each tier's pool and to the treasury's account, the rest to insurance. */
    fees: z
      .object({ treasury: address.optional(), poolShareBps: bps.default(0), protocolShareBps: bps.default(0) })
      .refine((f) => f.poolShareBps + f.protocolShareBps <= 10_000, {
        message: "poolShareBps + protocolShareBps must be at most 10000",
      })
      .default({ poolShareBps: 0, protocolShareBps: 0 }),
    delays: delaysSchema,
  })
  .superRefine((cfg, ctx) => {
    const threshold = Math.max(...cfg.assets.map((a) => a.deviationThresholdBps));
    if (cfg.minPoolSpreadBps !== undefined && cfg.minPoolSpreadBps < threshold) {
      ctx.addIssue({
        code: "custom",
        path: ["minPoolSpreadBps"],
        message: `minPoolSpreadBps must be at least every feed's deviationThresholdBps (${threshold}): a narrower pool spread can be front-run`,
      });
    }
    const symbols = new Set(cfg.tokens.map((t) => t.symbol));
    if (symbols.size !== cfg.tokens.length) ctx.addIssue({ code: "custom", message: "token symbols must be unique" });
    const tierIds = new Set(cfg.tiers.map((t) => t.id));
    if (tierIds.size !== cfg.tiers.length) ctx.addIssue({ code: "custom", message: "tier ids must be unique" });
    const assets = new Set(cfg.assets.map((a) => a.id));
    const markets = new Set(cfg.markets.map((m) => m.id));
    for (const m of cfg.markets) {
      if (!assets.has(m.asset))
        ctx.addIssue({ code: "custom", message: `market ${m.id} names unknown asset ${m.asset}` });
    }
    for (const tier of cfg.tiers) {
      if (!symbols.has(tier.quote))
        ctx.addIssue({ code: "custom", message: `tier ${tier.name} names unknown quote ${tier.quote}` });
      for (const m of tier.markets) {
        if (!markets.has(m.market)) {
          ctx.addIssue({ code: "custom", message: `tier ${tier.name} names unknown market ${m.market}` });
        }
      }
      for (const c of tier.collaterals) {
        if (!symbols.has(c.token) || !assets.has(c.asset)) {
          ctx.addIssue({ code: "custom", message: `tier ${tier.name} collateral ${c.token} / ${c.asset} is unknown` });
        }
      }
      for (const entry of [...tier.deposits, ...tier.reserveAllowance]) {
        if (!symbols.has(entry.token)) {
          ctx.addIssue({ code: "custom", message: `tier ${tier.name} names unknown token ${entry.token}` });
        }
      }
    }
  });

export type FoundationConfig = z.infer<typeof foundationConfigSchema>;
export type FoundationConfigInput = z.input<typeof foundationConfigSchema>;

/** Validates a configuration, with messages that name the field at fault. */
export function parseFoundationConfig(input: unknown): FoundationConfig {
  const result = foundationConfigSchema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  - ${i.path.join(".") || "(config)"}: ${i.message}`);
    throw new Error(`Invalid Strata deployment config:\n${lines.join("\n")}\nFix these fields and deploy again.`);
  }
  return result.data;
}

/** JSON with object keys sorted at every level: the same config always serializes to the same text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}

/**
 * The config's identity in a deployment manifest: keccak256 of the validated config's canonical JSON (defaults
 * filled in, keys sorted), so that formatting and key order do not count as a change, but any value does.
 */
export function configHash(input: FoundationConfigInput | FoundationConfig): string {
  return keccak256(toUtf8Bytes(canonicalJson(parseFoundationConfig(input))));
}
