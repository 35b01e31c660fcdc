import { expect } from "chai";
import {
  AbiCoder,
  encodeBytes32String,
  keccak256,
  parseUnits,
  ZeroAddress,
  ZeroHash,
  type ContractTransactionResponse,
} from "ethers";

import { MockFeedProxy__factory, MockV3Aggregator__factory, type MockV3Aggregator } from "../../types/index.js";
import type { IOracleRouter } from "../../types/contracts/oracle/OracleRouter.js";
import { PriceFlag as F, decodePriceFlags } from "../../sdk/src/oracle/flags.js";
import { connectChain } from "../helpers/foundation.js";
import {
  BTC,
  BTC_PARAMS,
  ETH,
  ETH_PARAMS,
  DAY,
  MAX_PARAM_STEP_BPS,
  MAX_PRICE,
  MIN_STEP,
  PARAM_COOLDOWN,
  UNKNOWN,
  allowedStep,
  band,
  confidenceBps,
  cooldownKey,
  deployFeed,
  deployOracleFixture,
  deviationBps,
  halfWidth,
  max,
  min,
  param,
  toStruct,
  type AssetConfig,
  type AssetParams,
  type Feed,
  type OracleFixture,
} from "./oracleFixture.js";

const chain = await connectChain();
const { networkHelpers } = chain;
const fixture = () => deployOracleFixture(chain);

// ====================================================================== helpers

/** Amount with 8 / 18 decimals from a decimal string. */
const e8 = (s: string) => parseUnits(s, 8);
const w = (s: string) => parseUnits(s, 18);
/** An 8-decimal answer in WAD. */
const toWad8 = (answer: bigint) => answer * 10n ** 10n;

/** The latest block's timestamp: the `block.timestamp` that view calls run at. */
const now = async (): Promise<bigint> => BigInt(await networkHelpers.time.latest());

/** Moves the chain to exactly `t` (views then run at `t`). */
async function timeTo(t: bigint): Promise<void> {
  const n = await now();
  if (t < n) throw new Error(`timeTo: cannot go back from ${n} to ${t}`);
  if (t > n) await networkHelpers.time.increaseTo(t);
}

/**
 * Appends a round to a mock aggregator (round id = latest + 1 unless given). Without `updatedAt` the round
 * is stamped with the timestamp of the block that writes it, so views right after it see age 0.
 */
async function pushRound(
  agg: MockV3Aggregator,
  answer: bigint,
  opts: { updatedAt?: bigint; startedAt?: bigint; roundId?: bigint } = {},
): Promise<{ roundId: bigint; updatedAt: bigint }> {
  const roundId = opts.roundId ?? (await agg.latestRound()) + 1n;
  let updatedAt = opts.updatedAt;
  if (updatedAt === undefined) {
    updatedAt = (await now()) + 1n;
    await networkHelpers.time.setNextBlockTimestamp(updatedAt);
  }
  await (await agg.updateRoundData(roundId, answer, updatedAt, opts.startedAt ?? updatedAt)).wait();
  return { roundId, updatedAt };
}

/** Fresh ETH rounds on both feeds, stamped with the same time T (returned); views then run at T + 1. */
async function freshEth(f: OracleFixture, primaryAnswer: bigint, secondaryAnswer: bigint): Promise<bigint> {
  const { updatedAt } = await pushRound(f.ethPrimary.agg, primaryAnswer);
  await pushRound(f.ethSecondary.agg, secondaryAnswer, { updatedAt });
  return updatedAt;
}

interface Quote {
  price: bigint;
  lower: bigint;
  upper: bigint;
  updatedAt: bigint;
  flags: string[];
}

/** A router Price as a plain object, flags decoded to names so that failures read well. */
function asQuote(p: IOracleRouter.PriceStructOutput): Quote {
  return {
    price: p.price,
    lower: p.lower,
    upper: p.upper,
    updatedAt: p.updatedAt,
    flags: decodePriceFlags(p.flags),
  };
}

/**
 * The expected Price: `price` ± ceil(price * bps / 1e4), the band then stretched to each other live
 * answer (`others`: a usable secondary, a valid primary that is not the source) ± the same half-width.
 */
function quote(price: bigint, bps: bigint, updatedAt: bigint, flags = 0n, ...others: bigint[]): Quote {
  const b = band(price, bps);
  let { lower, upper } = b;
  for (const other of others) {
    lower = min(lower, other - min(b.confidence, other));
    upper = max(upper, other + b.confidence);
  }
  return { price, lower, upper, updatedAt, flags: decodePriceFlags(flags) };
}

/** The expected Price of a source updated at `updatedAt`, read now, with the age-grown band of `params`. */
async function quoteNow(
  params: AssetParams,
  price: bigint,
  updatedAt: bigint,
  flags = 0n,
  ...others: bigint[]
): Promise<Quote> {
  return quote(price, confidenceBps(params, (await now()) - updatedAt), updatedAt, flags, ...others);
}

/** The struct of AssetConfigured, in ABI order. */
function configTuple(c: AssetConfig): unknown[] {
  return [
    c.primary,
    c.primaryMaxAge,
    c.maxDeviationBps,
    c.jumpThresholdBps,
    c.baseConfidenceBps,
    c.confidenceBpsPerHour,
    c.secondary,
    c.secondaryMaxAge,
    c.breakerCooldown,
    c.maxConfidenceBps,
    c.minPrice,
    c.maxPrice,
  ];
}

/** Lists `id` as the deployer (ADMIN) with `primary` (and optional secondary) and `params`. */
async function listExtra(
  f: OracleFixture,
  id: string,
  primary: string,
  params: AssetParams = ETH_PARAMS,
  secondary: string = ZeroAddress,
): Promise<string> {
  const key = encodeBytes32String(id);
  await (await f.oracle.listAsset(key, toStruct({ primary, secondary, ...params }))).wait();
  return key;
}

/** Sets the sequencer-uptime feed (ADMIN) and gives it a round: `answer` (0 = up) since `startedAt`. */
async function setSequencer(f: OracleFixture, answer: bigint, startedAt: bigint, gracePeriod = 3600n): Promise<void> {
  await (await f.oracle.setSequencerFeed(f.sequencerProxy, gracePeriod)).wait();
  await pushRound(f.sequencerAgg, answer, { startedAt });
}

/**
 * Switches a feed's proxy to a new aggregator (as a Chainlink proxy does on an upgrade: a new phase whose
 * rounds start over) whose latest round `roundId` (1 unless given) answers `answer`, stamped at `updatedAt`
 * (the block that writes it unless given). Rounds before it do not exist on the new aggregator.
 */
async function switchAggregator(
  f: OracleFixture,
  feed: Feed,
  answer: bigint,
  opts: { roundId?: bigint; updatedAt?: bigint } = {},
): Promise<{ agg: MockV3Aggregator; roundId: bigint; updatedAt: bigint }> {
  const agg = await new MockV3Aggregator__factory(f.deployer).deploy(feed.decimals, answer);
  await agg.waitForDeployment();
  const round = await pushRound(agg, answer, { roundId: opts.roundId ?? 1n, updatedAt: opts.updatedAt });
  await (await feed.proxy.setAggregator(await agg.getAddress())).wait();
  return { agg, ...round };
}

// ====================================================================== conditions

/**
 * Every condition that makes the strict read revert, with its error and arguments and the exact flags the
 * liquidation read reports instead. Each setup starts from a fresh fixture and leaves the chain at the
 * moment of the read.
 */
interface Condition {
  name: string;
  /**
   * `flags` is what the complete status reports; `liquidationFlags`, when given, what the liquidation read
   * reports instead (it does not fetch the previous round to judge a jump).
   */
  setup: (
    f: OracleFixture,
  ) => Promise<{ asset: string; error: string; args: unknown[]; flags: bigint; liquidationFlags?: bigint }>;
}

const CONDITIONS: Condition[] = [
  {
    name: "the primary feed reverts (deprecated proxy)",
    setup: async (f) => {
      await f.btcPrimary.proxy.setBroken(true);
      return {
        asset: BTC,
        error: "OracleFeedReverted",
        args: [BTC, f.btcPrimary.address],
        flags: F.PRIMARY_FAILED | F.UNAVAILABLE,
      };
    },
  },
  {
    name: "the primary answers 0",
    setup: async (f) => {
      await pushRound(f.btcPrimary.agg, 0n);
      return {
        asset: BTC,
        error: "OracleInvalidAnswer",
        args: [BTC, f.btcPrimary.address, 0n],
        flags: F.PRIMARY_FAILED | F.UNAVAILABLE,
      };
    },
  },
  {
    name: "the primary answers a negative price",
    setup: async (f) => {
      await pushRound(f.btcPrimary.agg, -e8("60000"));
      return {
        asset: BTC,
        error: "OracleInvalidAnswer",
        args: [BTC, f.btcPrimary.address, -e8("60000")],
        flags: F.PRIMARY_FAILED | F.UNAVAILABLE,
      };
    },
  },
  {
    name: "the primary answers above MAX_PRICE (1e36 in WAD)",
    setup: async (f) => {
      // 1e26 + 1 with 8 decimals is 1e36 + 1e10 in WAD: past the hard ceiling, an invalid answer.
      await pushRound(f.btcPrimary.agg, 10n ** 26n + 1n);
      return {
        asset: BTC,
        error: "OracleInvalidAnswer",
        args: [BTC, f.btcPrimary.address, 10n ** 26n + 1n],
        flags: F.PRIMARY_FAILED | F.UNAVAILABLE,
      };
    },
  },
  {
    name: "the primary round has updatedAt 0",
    setup: async (f) => {
      const { roundId } = await pushRound(f.btcPrimary.agg, e8("60000"), { updatedAt: 0n, startedAt: 0n });
      return {
        asset: BTC,
        error: "OracleInvalidRound",
        args: [BTC, f.btcPrimary.address, roundId, 0n],
        flags: F.PRIMARY_FAILED | F.UNAVAILABLE,
      };
    },
  },
  {
    name: "the primary round is stamped in the future",
    setup: async (f) => {
      const future = (await now()) + 1000n;
      const { roundId } = await pushRound(f.btcPrimary.agg, e8("60000"), { updatedAt: future });
      return {
        asset: BTC,
        error: "OracleInvalidRound",
        args: [BTC, f.btcPrimary.address, roundId, future],
        flags: F.PRIMARY_FAILED | F.UNAVAILABLE,
      };
    },
  },
  {
    name: "the primary round id is 0",
    setup: async (f) => {
      const { updatedAt } = await pushRound(f.btcPrimary.agg, e8("60000"), { roundId: 0n });
      return {
        asset: BTC,
        error: "OracleInvalidRound",
        args: [BTC, f.btcPrimary.address, 0n, updatedAt],
        flags: F.PRIMARY_FAILED | F.UNAVAILABLE,
      };
    },
  },
  {
    name: "the primary is older than primaryMaxAge",
    setup: async (f) => {
      const { updatedAt } = await pushRound(f.btcPrimary.agg, e8("60000"));
      await timeTo(updatedAt + BTC_PARAMS.primaryMaxAge + 1n);
      return {
        asset: BTC,
        error: "OracleStalePrice",
        args: [BTC, f.btcPrimary.address, updatedAt, BTC_PARAMS.primaryMaxAge],
        flags: F.STALE,
      };
    },
  },
  {
    name: "the primary is below minPrice",
    setup: async (f) => {
      // Two steps down, so that the last round is no jump from the one before it.
      await pushRound(f.btcPrimary.agg, e8("110"));
      await pushRound(f.btcPrimary.agg, e8("99.99999999"));
      return {
        asset: BTC,
        error: "OraclePriceOutOfBounds",
        args: [BTC, w("99.99999999"), BTC_PARAMS.minPrice, BTC_PARAMS.maxPrice],
        flags: F.OUT_OF_BOUNDS,
      };
    },
  },
  {
    name: "the primary is above maxPrice",
    setup: async (f) => {
      await pushRound(f.btcPrimary.agg, e8("9000000"));
      await pushRound(f.btcPrimary.agg, e8("10000000.00000001"));
      return {
        asset: BTC,
        error: "OraclePriceOutOfBounds",
        args: [BTC, w("10000000.00000001"), BTC_PARAMS.minPrice, BTC_PARAMS.maxPrice],
        flags: F.OUT_OF_BOUNDS,
      };
    },
  },
  {
    name: "primary and secondary disagree by more than maxDeviationBps",
    setup: async (f) => {
      // |3061 - 3000| / 3000 = 203.3 bps > 200.
      await freshEth(f, e8("3000"), w("3061"));
      return {
        asset: ETH,
        error: "OraclePriceDeviation",
        args: [ETH, w("3000"), w("3061"), ETH_PARAMS.maxDeviationBps],
        flags: F.DEVIATION,
      };
    },
  },
  {
    name: "the secondary is older than secondaryMaxAge",
    setup: async (f) => {
      const t = await now();
      await pushRound(f.ethSecondary.agg, w("3001.5"), { updatedAt: t - ETH_PARAMS.secondaryMaxAge - 1n });
      await pushRound(f.ethPrimary.agg, e8("3000"));
      return {
        asset: ETH,
        error: "OracleSecondaryUnavailable",
        args: [ETH, f.ethSecondary.address],
        flags: F.SECONDARY_FAILED,
      };
    },
  },
  {
    name: "the secondary feed reverts",
    setup: async (f) => {
      await freshEth(f, e8("3000"), w("3001.5"));
      await f.ethSecondary.proxy.setBroken(true);
      return {
        asset: ETH,
        error: "OracleSecondaryUnavailable",
        args: [ETH, f.ethSecondary.address],
        flags: F.SECONDARY_FAILED,
      };
    },
  },
  {
    name: "the secondary answers 0",
    setup: async (f) => {
      await freshEth(f, e8("3000"), 0n);
      return {
        asset: ETH,
        error: "OracleSecondaryUnavailable",
        args: [ETH, f.ethSecondary.address],
        flags: F.SECONDARY_FAILED,
      };
    },
  },
  {
    name: "the secondary is out of bounds",
    setup: async (f) => {
      await freshEth(f, e8("3000"), w("9.99"));
      return {
        asset: ETH,
        error: "OracleSecondaryUnavailable",
        args: [ETH, f.ethSecondary.address],
        flags: F.SECONDARY_FAILED,
      };
    },
  },
  {
    name: "the latest round jumped by more than jumpThresholdBps",
    setup: async (f) => {
      // 60000 -> 72001: 2000.17 bps > 2000.
      const { updatedAt } = await pushRound(f.btcPrimary.agg, e8("72001"));
      await timeTo(updatedAt + BTC_PARAMS.breakerCooldown - 1n);
      return {
        asset: BTC,
        error: "OracleCircuitBreakerActive",
        args: [BTC, updatedAt + BTC_PARAMS.breakerCooldown],
        flags: F.CIRCUIT_BREAKER,
        // No breaker in force and no last good price to judge against: the jumped price, unflagged.
        liquidationFlags: 0n,
      };
    },
  },
  {
    name: "the sequencer reports down (answer 1)",
    setup: async (f) => {
      await setSequencer(f, 1n, (await now()) - 7200n);
      await pushRound(f.btcPrimary.agg, e8("60000"));
      return { asset: BTC, error: "OracleSequencerDown", args: [], flags: F.SEQUENCER_DOWN };
    },
  },
  {
    name: "the sequencer feed reverts",
    setup: async (f) => {
      await setSequencer(f, 0n, (await now()) - 7200n);
      await f.sequencerProxy.setBroken(true);
      await pushRound(f.btcPrimary.agg, e8("60000"));
      return { asset: BTC, error: "OracleSequencerDown", args: [], flags: F.SEQUENCER_DOWN };
    },
  },
  {
    name: "the sequencer round has startedAt 0",
    setup: async (f) => {
      await setSequencer(f, 0n, 0n);
      await pushRound(f.btcPrimary.agg, e8("60000"));
      return { asset: BTC, error: "OracleSequencerDown", args: [], flags: F.SEQUENCER_DOWN };
    },
  },
  {
    name: "the sequencer round has startedAt in the future",
    setup: async (f) => {
      await setSequencer(f, 0n, (await now()) + 1000n);
      await pushRound(f.btcPrimary.agg, e8("60000"));
      return { asset: BTC, error: "OracleSequencerDown", args: [], flags: F.SEQUENCER_DOWN };
    },
  },
  {
    name: "the sequencer is up but inside its grace period",
    setup: async (f) => {
      const startedAt = (await now()) - 100n;
      await setSequencer(f, 0n, startedAt, 3600n);
      await pushRound(f.btcPrimary.agg, e8("60000"));
      return {
        asset: BTC,
        error: "OracleSequencerGracePeriod",
        args: [startedAt + 3600n],
        flags: F.SEQUENCER_GRACE,
      };
    },
  },
];

// ====================================================================== tests

describe("OracleRouter", () => {
  describe("fixture", () => {
    it("lists ETH/USD and BTC/USD with the local parameters and a clean state", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      expect([...(await f.oracle.assetConfig(ETH))]).to.deep.equal(configTuple(f.ethConfig));
      expect([...(await f.oracle.assetConfig(BTC))]).to.deep.equal(configTuple(f.btcConfig));
      expect([...(await f.oracle.assetState(ETH))]).to.deep.equal([0n, 0n, 0n]);
      expect([...(await f.oracle.sequencer())]).to.deep.equal([ZeroAddress, 0n]);
    });
  });

  // -------------------------------------------------------------------- getPrice (strict)

  describe("getPrice", () => {
    describe("success", () => {
      it("normalises an 8-decimal primary and an 18-decimal secondary to WAD; the band spans both feeds", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const t = await freshEth(f, e8("3000.12345678"), w("3001.5"));
        await timeTo(t + 60n);
        const p = await f.oracle.getPrice(ETH);
        expect(p.price).to.equal(3000123456780000000000n);
        // bps = 10 + ceil(60 * 50 / 3600) = 11; half-width = ceil(3000.12345678e18 * 11 / 1e4)
        const confidence = 3300135802458000000n;
        expect(asQuote(p)).to.deep.equal({
          price: 3000123456780000000000n,
          lower: 3000123456780000000000n - confidence,
          upper: 3001500000000000000000n + confidence,
          updatedAt: t,
          flags: [],
        });
        expect(asQuote(p)).to.deep.equal(quote(w("3000.12345678"), 11n, t, 0n, w("3001.5")));
      });

      it("stretches the band down to a secondary below the primary", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        // 2950 vs 3000: 166.7 bps, inside the 200 bps deviation limit.
        const t = await freshEth(f, e8("3000"), w("2950"));
        await timeTo(t + 3600n);
        // bps = 10 + 50 = 60; half-width = 18e18
        expect(asQuote(await f.oracle.getPrice(ETH))).to.deep.equal({
          price: w("3000"),
          lower: w("2950") - w("18"),
          upper: w("3000") + w("18"),
          updatedAt: t,
          flags: [],
        });
      });

      it("reads an 18-decimal primary exactly and rounds the half-width up", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const feed = await deployFeed(f.deployer, 18, w("3000") + 1n);
        const key = await listExtra(f, "ETH18/USD", feed.address);
        const { updatedAt } = await pushRound(feed.agg, w("3000") + 1n);
        await timeTo(updatedAt + 60n);
        // bps 11: half-width = ceil((3000e18 + 1) * 11 / 1e4) = 3.3e18 + 1
        expect(asQuote(await f.oracle.getPrice(key))).to.deep.equal({
          price: 3000000000000000000001n,
          lower: 2996700000000000000000n,
          upper: 3003300000000000000002n,
          updatedAt,
          flags: [],
        });
      });

      it("rounds a 24-decimal answer down to WAD", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const answer = 3000123456789012345678901234n; // 3000.123456789012345678901234
        const feed = await deployFeed(f.deployer, 24, answer);
        const key = await listExtra(f, "X24/USD", feed.address);
        const { updatedAt } = await pushRound(feed.agg, answer);
        await timeTo(updatedAt + 3600n);
        const p = await f.oracle.getPrice(key);
        expect(p.price).to.equal(3000123456789012345678n);
        // bps = 10 + 50 = 60
        expect(asQuote(p)).to.deep.equal(quote(3000123456789012345678n, 60n, updatedAt));
      });

      it("scales a 0-decimal answer and reads a 36-decimal answer", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const feed0 = await deployFeed(f.deployer, 0, 3000n);
        const feed36 = await deployFeed(f.deployer, 36, 3000n * 10n ** 36n + 999_999_999_999_999_999n);
        const key0 = await listExtra(f, "X0/USD", feed0.address);
        const key36 = await listExtra(f, "X36/USD", feed36.address);
        const r0 = await pushRound(feed0.agg, 3000n);
        const r36 = await pushRound(feed36.agg, 3000n * 10n ** 36n + 999_999_999_999_999_999n);
        const p0 = await f.oracle.getPrice(key0);
        const p36 = await f.oracle.getPrice(key36);
        expect(p0.price).to.equal(3000n * 10n ** 18n);
        expect(p36.price).to.equal(3000n * 10n ** 18n); // the 18 extra digits are dropped
        expect(asQuote(p0)).to.deep.equal(await quoteNow(ETH_PARAMS, w("3000"), r0.updatedAt));
        expect(asQuote(p36)).to.deep.equal(await quoteNow(ETH_PARAMS, w("3000"), r36.updatedAt));
      });

      it("widens the band with age: bps = min(max, base + ceil(age * perHour / 3600))", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const { updatedAt } = await pushRound(f.btcPrimary.agg, e8("60000"));
        // [age, bps] for BTC (base 10, 50 bps/hour): growth rounds up.
        const steps: [bigint, bigint][] = [
          [0n, 10n],
          [1n, 11n],
          [72n, 11n],
          [73n, 12n],
          [1800n, 35n],
          [4200n, 69n],
        ];
        for (const [age, bps] of steps) {
          await timeTo(updatedAt + age);
          expect(confidenceBps(BTC_PARAMS, age)).to.equal(bps);
          const half = (w("60000") * bps) / 10_000n;
          expect(asQuote(await f.oracle.getPrice(BTC)), `age ${age}`).to.deep.equal({
            price: w("60000"),
            lower: w("60000") - half,
            upper: w("60000") + half,
            updatedAt,
            flags: [],
          });
        }
      });

      it("accepts a price exactly primaryMaxAge old", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const { updatedAt } = await pushRound(f.btcPrimary.agg, e8("60000"));
        await timeTo(updatedAt + BTC_PARAMS.primaryMaxAge);
        expect(asQuote(await f.oracle.getPrice(BTC))).to.deep.equal(quote(w("60000"), 69n, updatedAt));
      });

      it("accepts prices exactly at minPrice and maxPrice", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await pushRound(f.btcPrimary.agg, e8("110"));
        const low = await pushRound(f.btcPrimary.agg, e8("100"));
        expect(asQuote(await f.oracle.getPrice(BTC))).to.deep.equal(
          await quoteNow(BTC_PARAMS, w("100"), low.updatedAt),
        );
        await pushRound(f.btcPrimary.agg, e8("9000000"));
        const high = await pushRound(f.btcPrimary.agg, e8("10000000"));
        expect(asQuote(await f.oracle.getPrice(BTC))).to.deep.equal(
          await quoteNow(BTC_PARAMS, w("10000000"), high.updatedAt),
        );
      });

      it("accepts a disagreement of exactly maxDeviationBps, not one wei more", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const t = await freshEth(f, e8("3000"), w("3060")); // exactly 200 bps
        expect(deviationBps(w("3000"), w("3060"))).to.equal(200n);
        expect(asQuote(await f.oracle.getPrice(ETH))).to.deep.equal(
          await quoteNow(ETH_PARAMS, w("3000"), t, 0n, w("3060")),
        );
        await pushRound(f.ethSecondary.agg, w("3060") + 1n, { updatedAt: t });
        await expect(f.oracle.getPrice(ETH))
          .to.be.revertedWithCustomError(f.oracle, "OraclePriceDeviation")
          .withArgs(ETH, w("3000"), w("3060") + 1n, 200n);
      });

      it("does not trip on a move of exactly jumpThresholdBps, up or down", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const up = await pushRound(f.btcPrimary.agg, e8("72000")); // +2000 bps
        expect(asQuote(await f.oracle.getPrice(BTC))).to.deep.equal(
          await quoteNow(BTC_PARAMS, w("72000"), up.updatedAt),
        );
        const down = await pushRound(f.btcPrimary.agg, e8("57600")); // -2000 bps
        expect(asQuote(await f.oracle.getPrice(BTC))).to.deep.equal(
          await quoteNow(BTC_PARAMS, w("57600"), down.updatedAt),
        );
      });

      it("succeeds again once a jump's breakerCooldown has passed", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const { updatedAt } = await pushRound(f.btcPrimary.agg, e8("47999")); // -2000.17 bps
        await timeTo(updatedAt + 899n);
        await expect(f.oracle.getPrice(BTC))
          .to.be.revertedWithCustomError(f.oracle, "OracleCircuitBreakerActive")
          .withArgs(BTC, updatedAt + 900n);
        await timeTo(updatedAt + 900n);
        expect(asQuote(await f.oracle.getPrice(BTC))).to.deep.equal(await quoteNow(BTC_PARAMS, w("47999"), updatedAt));
      });

      it("succeeds with the sequencer up once its grace period has ended", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const startedAt = (await now()) + 10n;
        await timeTo(startedAt);
        await setSequencer(f, 0n, startedAt, 3600n);
        const { updatedAt } = await pushRound(f.btcPrimary.agg, e8("60000"), { updatedAt: startedAt });
        await timeTo(startedAt + 3599n);
        await expect(f.oracle.getPrice(BTC))
          .to.be.revertedWithCustomError(f.oracle, "OracleSequencerGracePeriod")
          .withArgs(startedAt + 3600n);
        await timeTo(startedAt + 3600n);
        expect(asQuote(await f.oracle.getPrice(BTC))).to.deep.equal(await quoteNow(BTC_PARAMS, w("60000"), updatedAt));
      });

      it("equals the liquidation read when the price is good", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await freshEth(f, e8("3000"), w("3001.5"));
        expect(asQuote(await f.oracle.getPrice(ETH))).to.deep.equal(
          asQuote(await f.oracle.getPriceForLiquidation(ETH)),
        );
      });
    });

    describe("reverts", () => {
      it("OracleUnknownAsset for an asset never listed", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await expect(f.oracle.getPrice(UNKNOWN))
          .to.be.revertedWithCustomError(f.oracle, "OracleUnknownAsset")
          .withArgs(UNKNOWN);
      });

      for (const c of CONDITIONS) {
        it(`when ${c.name}`, async () => {
          const f = await networkHelpers.loadFixture(fixture);
          const { asset, error, args } = await c.setup(f);
          const assertion = expect(f.oracle.getPrice(asset)).to.be.revertedWithCustomError(f.oracle, error);
          if (args.length > 0) await assertion.withArgs(...args);
          else await assertion;
        });
      }

      it("OracleInvalidAnswer when a positive 24-decimal answer rounds to 0", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const feed = await deployFeed(f.deployer, 24, 3000n * 10n ** 24n);
        const key = await listExtra(f, "X24/USD", feed.address, { ...ETH_PARAMS, minPrice: 1n });
        await pushRound(feed.agg, 999_999n);
        await expect(f.oracle.getPrice(key))
          .to.be.revertedWithCustomError(f.oracle, "OracleInvalidAnswer")
          .withArgs(key, feed.address, 999_999n);
      });

      it("OracleInvalidAnswer when a 0-decimal answer does not fit in WAD", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const feed = await deployFeed(f.deployer, 0, 3000n);
        const key = await listExtra(f, "X0/USD", feed.address);
        const huge = 2n ** 200n;
        await pushRound(feed.agg, huge);
        await expect(f.oracle.getPrice(key))
          .to.be.revertedWithCustomError(f.oracle, "OracleInvalidAnswer")
          .withArgs(key, feed.address, huge);
      });

      it("OracleInvalidAnswer one wei above MAX_PRICE; an answer of exactly MAX_PRICE is read", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const feed = await deployFeed(f.deployer, 18, w("3000"));
        // maxPrice at the ceiling and no breaker (cooldown 0), so that only the ceiling is at stake.
        const params: AssetParams = { ...ETH_PARAMS, maxPrice: MAX_PRICE, breakerCooldown: 0n };
        const key = await listExtra(f, "X18/USD", feed.address, params);
        const edge = await pushRound(feed.agg, MAX_PRICE);
        expect(asQuote(await f.oracle.getPrice(key))).to.deep.equal(await quoteNow(params, MAX_PRICE, edge.updatedAt));
        await f.oracle.poke(key);
        await pushRound(feed.agg, MAX_PRICE + 1n);
        await expect(f.oracle.getPrice(key))
          .to.be.revertedWithCustomError(f.oracle, "OracleInvalidAnswer")
          .withArgs(key, feed.address, MAX_PRICE + 1n);
        // The liquidation read falls back to the recorded good price at the ceiling.
        expect(asQuote(await f.oracle.getPriceForLiquidation(key))).to.deep.equal(
          await quoteNow(params, MAX_PRICE, edge.updatedAt, F.PRIMARY_FAILED | F.FALLBACK_LAST_GOOD),
        );
      });

      it("OracleStalePrice one second after primaryMaxAge", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const { updatedAt } = await pushRound(f.btcPrimary.agg, e8("60000"));
        await timeTo(updatedAt + 4200n);
        await f.oracle.getPrice(BTC);
        await timeTo(updatedAt + 4201n);
        await expect(f.oracle.getPrice(BTC))
          .to.be.revertedWithCustomError(f.oracle, "OracleStalePrice")
          .withArgs(BTC, f.btcPrimary.address, updatedAt, 4200n);
      });
    });
  });

  // -------------------------------------------------------------------- getPriceForLiquidation

  describe("getPriceForLiquidation", () => {
    describe("never reverts, and flags each condition", () => {
      for (const c of CONDITIONS) {
        it(`when ${c.name}`, async () => {
          const f = await networkHelpers.loadFixture(fixture);
          const { asset, flags, liquidationFlags } = await c.setup(f);
          const p = await f.oracle.getPriceForLiquidation(asset);
          expect(decodePriceFlags(p.flags)).to.deep.equal(decodePriceFlags(liquidationFlags ?? flags));
        });
      }

      it("reverts only with OracleUnknownAsset for an asset never listed", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await expect(f.oracle.getPriceForLiquidation(UNKNOWN))
          .to.be.revertedWithCustomError(f.oracle, "OracleUnknownAsset")
          .withArgs(UNKNOWN);
      });
    });

    describe("price source and band", () => {
      it("uses the primary with flags 0 for a good price", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const t = await freshEth(f, e8("3000"), w("3001.5"));
        await timeTo(t + 100n);
        // bps = 10 + ceil(100 * 50 / 3600) = 12
        expect(asQuote(await f.oracle.getPriceForLiquidation(ETH))).to.deep.equal(
          quote(w("3000"), 12n, t, 0n, w("3001.5")),
        );
      });

      it("falls back to the secondary when the primary reverts", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const t = await freshEth(f, e8("3000"), w("3001.5"));
        await f.ethPrimary.proxy.setBroken(true);
        await timeTo(t + 600n);
        // bps = 10 + ceil(600 * 50 / 3600) = 19, around the secondary alone
        expect(asQuote(await f.oracle.getPriceForLiquidation(ETH))).to.deep.equal(
          quote(w("3001.5"), 19n, t, F.PRIMARY_FAILED | F.FALLBACK_SECONDARY),
        );
      });

      it("falls back to the secondary when the primary answer is invalid", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const t = await freshEth(f, 0n, w("3001.5"));
        expect(asQuote(await f.oracle.getPriceForLiquidation(ETH))).to.deep.equal(
          await quoteNow(ETH_PARAMS, w("3001.5"), t, F.PRIMARY_FAILED | F.FALLBACK_SECONDARY),
        );
      });

      it("falls back to the secondary when the primary round is invalid", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const t = await now();
        await pushRound(f.ethSecondary.agg, w("3001.5"), { updatedAt: t });
        await pushRound(f.ethPrimary.agg, e8("3000"), { updatedAt: t + 1000n });
        expect(asQuote(await f.oracle.getPriceForLiquidation(ETH))).to.deep.equal(
          await quoteNow(ETH_PARAMS, w("3001.5"), t, F.PRIMARY_FAILED | F.FALLBACK_SECONDARY),
        );
      });

      it("falls back to the secondary when the primary is below minPrice; the band does not span the primary", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await pushRound(f.ethPrimary.agg, e8("9.9"));
        const t = await freshEth(f, e8("9"), w("3001.5"));
        await timeTo(t + 3600n);
        // bps 60 around 3001.5: half-width 18.009. The implausible 9 widens nothing.
        expect(asQuote(await f.oracle.getPriceForLiquidation(ETH))).to.deep.equal({
          price: w("3001.5"),
          lower: w("2983.491"),
          upper: w("3019.509"),
          updatedAt: t,
          flags: ["OUT_OF_BOUNDS", "FALLBACK_SECONDARY"],
        });
        expect(asQuote(await f.oracle.getPriceForLiquidation(ETH))).to.deep.equal(
          quote(w("3001.5"), 60n, t, F.OUT_OF_BOUNDS | F.FALLBACK_SECONDARY),
        );
      });

      it("falls back to the secondary when the primary is above maxPrice; the band does not span the primary", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await pushRound(f.ethPrimary.agg, e8("900000"));
        const t = await freshEth(f, e8("2000000"), w("3001.5"));
        await timeTo(t + 3600n);
        expect(asQuote(await f.oracle.getPriceForLiquidation(ETH))).to.deep.equal({
          price: w("3001.5"),
          lower: w("2983.491"),
          upper: w("3019.509"),
          updatedAt: t,
          flags: ["OUT_OF_BOUNDS", "FALLBACK_SECONDARY"],
        });
      });

      it("falls back to a fresh secondary when the primary is stale; the band still spans the primary", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const stale = await pushRound(f.ethPrimary.agg, e8("3000"));
        await timeTo(stale.updatedAt + ETH_PARAMS.primaryMaxAge);
        const fresh = await pushRound(f.ethSecondary.agg, w("3010"));
        await timeTo(fresh.updatedAt + 72n);
        // bps = 10 + ceil(72 * 50 / 3600) = 11 around the secondary: half-width 3.311
        expect(asQuote(await f.oracle.getPriceForLiquidation(ETH))).to.deep.equal({
          price: w("3010"),
          lower: w("3000") - w("3.311"),
          upper: w("3010") + w("3.311"),
          updatedAt: fresh.updatedAt,
          flags: ["STALE", "FALLBACK_SECONDARY"],
        });
        expect(asQuote(await f.oracle.getPriceForLiquidation(ETH))).to.deep.equal(
          quote(w("3010"), 11n, fresh.updatedAt, F.STALE | F.FALLBACK_SECONDARY, w("3000")),
        );
      });

      it("prefers the secondary to a recorded last good price", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await freshEth(f, e8("3000"), w("3001.5"));
        await f.oracle.poke(ETH);
        const t = await freshEth(f, e8("3000"), w("3002"));
        await f.ethPrimary.proxy.setBroken(true);
        expect(asQuote(await f.oracle.getPriceForLiquidation(ETH))).to.deep.equal(
          await quoteNow(ETH_PARAMS, w("3002"), t, F.PRIMARY_FAILED | F.FALLBACK_SECONDARY),
        );
      });

      // An out-of-bounds primary with no usable alternative is reported as the feed answers it (not
      // clamped to the bound: clamping would overvalue a collapsing asset), with the maxConfidenceBps
      // half-width, and the band reaches the bound it broke through ± that same half-width.
      it("reports an out-of-bounds primary below minPrice, its band reaching minPrice, when there is no secondary", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await pushRound(f.btcPrimary.agg, e8("110"));
        const { updatedAt } = await pushRound(f.btcPrimary.agg, e8("99"));
        await timeTo(updatedAt + 60n);
        // 2500 bps of 99: ±24.75, whatever the age; upper = max(99 + 24.75, minPrice 100 + 24.75)
        expect(asQuote(await f.oracle.getPriceForLiquidation(BTC))).to.deep.equal({
          price: w("99"),
          lower: w("74.25"),
          upper: w("124.75"),
          updatedAt,
          flags: ["OUT_OF_BOUNDS"],
        });
        await timeTo(updatedAt + 86400n);
        expect(asQuote(await f.oracle.getPriceForLiquidation(BTC))).to.deep.equal({
          price: w("99"),
          lower: w("74.25"),
          upper: w("124.75"),
          updatedAt,
          flags: ["STALE", "OUT_OF_BOUNDS"],
        });
      });

      it("reports an out-of-bounds primary above maxPrice, its band reaching maxPrice, when there is no secondary", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await pushRound(f.btcPrimary.agg, e8("9000000"));
        const { updatedAt } = await pushRound(f.btcPrimary.agg, e8("10500000"));
        // 2500 bps of 10.5M: ±2.625M; lower = min(10.5M - 2.625M, maxPrice 10M - 2.625M)
        expect(asQuote(await f.oracle.getPriceForLiquidation(BTC))).to.deep.equal({
          price: w("10500000"),
          lower: w("7375000"),
          upper: w("13125000"),
          updatedAt,
          flags: ["OUT_OF_BOUNDS"],
        });
      });

      it("widens to the bound by the half-width of the out-of-bounds price, not of the bound", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await pushRound(f.btcPrimary.agg, e8("110"));
        const { updatedAt } = await pushRound(f.btcPrimary.agg, e8("99.00000001"));
        // half-width = 2500 bps of 99.00000001 = 24.7500000025 (that of minPrice 100 would be 25)
        const conf = halfWidth(w("99.00000001"), 2500n);
        expect(conf).to.equal(w("24.7500000025"));
        expect(asQuote(await f.oracle.getPriceForLiquidation(BTC))).to.deep.equal({
          price: w("99.00000001"),
          lower: w("99.00000001") - conf,
          upper: BTC_PARAMS.minPrice + conf,
          updatedAt,
          flags: ["OUT_OF_BOUNDS"],
        });
      });

      it("reports an out-of-bounds primary, its band reaching minPrice, when the secondary is unusable too", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await pushRound(f.ethPrimary.agg, e8("9.9"));
        const t = await freshEth(f, e8("9"), w("3001.5"));
        await f.ethSecondary.proxy.setBroken(true);
        // 2500 bps of 9: ±2.25; upper = minPrice 10 + 2.25
        expect(asQuote(await f.oracle.getPriceForLiquidation(ETH))).to.deep.equal({
          price: w("9"),
          lower: w("6.75"),
          upper: w("12.25"),
          updatedAt: t,
          flags: ["OUT_OF_BOUNDS", "SECONDARY_FAILED"],
        });
      });

      it("prefers an out-of-bounds primary to a recorded last good price", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const low = await pushRound(f.btcPrimary.agg, e8("110"));
        await timeTo(low.updatedAt + BTC_PARAMS.breakerCooldown); // the drop to 110 no longer holds the breaker
        await expect(f.oracle.poke(BTC))
          .to.emit(f.oracle, "LastGoodPriceRecorded")
          .withArgs(BTC, w("110"), low.updatedAt);
        const { updatedAt } = await pushRound(f.btcPrimary.agg, e8("99"));
        expect(asQuote(await f.oracle.getPriceForLiquidation(BTC))).to.deep.equal({
          price: w("99"),
          lower: w("74.25"),
          upper: w("124.75"),
          updatedAt,
          flags: ["OUT_OF_BOUNDS"],
        });
      });

      // A broken feed can answer any positive number. The largest 8-decimal answer that still fits in WAD
      // would make price ± half-width overflow uint256; above MAX_PRICE (1e36) an answer is invalid.
      const HUGE_8DEC = (2n ** 256n - 1n) / 10n ** 10n;

      it("treats an absurdly large primary answer as invalid: UNAVAILABLE without a secondary or recorded price", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await pushRound(f.btcPrimary.agg, HUGE_8DEC);
        expect(asQuote(await f.oracle.getPriceForLiquidation(BTC))).to.deep.equal({
          price: 0n,
          lower: 0n,
          upper: 0n,
          updatedAt: 0n,
          flags: ["PRIMARY_FAILED", "UNAVAILABLE"],
        });
        await expect(f.oracle.getPrice(BTC))
          .to.be.revertedWithCustomError(f.oracle, "OracleInvalidAnswer")
          .withArgs(BTC, f.btcPrimary.address, HUGE_8DEC);
        expect(await f.oracle.isRiskIncreaseAllowed(BTC)).to.equal(false);
        await expect(f.oracle.poke(BTC)).not.to.emit(f.oracle, "LastGoodPriceRecorded");
        expect([...(await f.oracle.assetState(BTC))]).to.deep.equal([0n, 0n, 0n]);
      });

      it("treats an absurdly large primary answer as invalid: falls back to the last good price", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const good = await pushRound(f.btcPrimary.agg, e8("60000"));
        await f.oracle.poke(BTC);
        await pushRound(f.btcPrimary.agg, HUGE_8DEC);
        await timeTo(good.updatedAt + 3600n);
        // bps = 10 + 50 = 60 around the recorded 60000
        expect(asQuote(await f.oracle.getPriceForLiquidation(BTC))).to.deep.equal(
          quote(w("60000"), 60n, good.updatedAt, F.PRIMARY_FAILED | F.FALLBACK_LAST_GOOD),
        );
      });

      it("treats an absurdly large primary answer as invalid: falls back to the secondary, band around it alone", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const t = await freshEth(f, HUGE_8DEC, w("3001.5"));
        await timeTo(t + 3600n);
        // bps 60 around 3001.5: ±18.009
        expect(asQuote(await f.oracle.getPriceForLiquidation(ETH))).to.deep.equal({
          price: w("3001.5"),
          lower: w("2983.491"),
          upper: w("3019.509"),
          updatedAt: t,
          flags: ["PRIMARY_FAILED", "FALLBACK_SECONDARY"],
        });
        await expect(f.oracle.getPrice(ETH))
          .to.be.revertedWithCustomError(f.oracle, "OracleInvalidAnswer")
          .withArgs(ETH, f.ethPrimary.address, HUGE_8DEC);
        expect(await f.oracle.isRiskIncreaseAllowed(ETH)).to.equal(false);
      });

      it("keeps a stale primary with a band widened by age, capped at maxConfidenceBps", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const { updatedAt } = await pushRound(f.btcPrimary.agg, e8("60000"));
        const steps: [bigint, bigint][] = [
          [4201n, 69n], // 10 + ceil(58.35)
          [36000n, 510n], // 10 + 500
          [172800n, 2410n], // 10 + 2400
          [176400n, 2460n],
          [179999n, 2500n], // 10 + ceil(2499.99) = 2510 -> capped
          [10n * 86400n, 2500n],
        ];
        for (const [age, bps] of steps) {
          await timeTo(updatedAt + age);
          expect(confidenceBps(BTC_PARAMS, age)).to.equal(bps);
          expect(asQuote(await f.oracle.getPriceForLiquidation(BTC)), `age ${age}`).to.deep.equal(
            quote(w("60000"), bps, updatedAt, F.STALE),
          );
        }
      });

      it("reports the jumped price, flagged once the breaker is persisted or judged from the last good price", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const { updatedAt } = await pushRound(f.btcPrimary.agg, e8("72001"));
        // No previous-round fetch in this read: the jump is seen by the complete status only.
        expect(asQuote(await f.oracle.getPriceForLiquidation(BTC))).to.deep.equal(
          await quoteNow(BTC_PARAMS, w("72001"), updatedAt),
        );
        expect(await f.oracle.isRiskIncreaseAllowed(BTC)).to.equal(false);
        await expect(f.oracle.poke(BTC)).to.emit(f.oracle, "CircuitBreakerTripped");
        expect(asQuote(await f.oracle.getPriceForLiquidation(BTC))).to.deep.equal(
          await quoteNow(BTC_PARAMS, w("72001"), updatedAt, F.CIRCUIT_BREAKER),
        );
      });

      it("flags a jump from the last good price without a previous-round fetch", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const good = await pushRound(f.btcPrimary.agg, e8("60000"));
        await expect(f.oracle.poke(BTC))
          .to.emit(f.oracle, "LastGoodPriceRecorded")
          .withArgs(BTC, w("60000"), good.updatedAt);
        const { updatedAt } = await pushRound(f.btcPrimary.agg, e8("72001"));
        expect(asQuote(await f.oracle.getPriceForLiquidation(BTC))).to.deep.equal(
          await quoteNow(BTC_PARAMS, w("72001"), updatedAt, F.CIRCUIT_BREAKER),
        );
      });

      it("spans both feeds when they disagree beyond maxDeviationBps", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const t = await freshEth(f, e8("3000"), w("3300"));
        await timeTo(t + 3600n);
        // bps 60: half-width of 3000 is 18
        expect(asQuote(await f.oracle.getPriceForLiquidation(ETH))).to.deep.equal({
          price: w("3000"),
          lower: w("2982"),
          upper: w("3318"),
          updatedAt: t,
          flags: ["DEVIATION"],
        });
      });

      it("keeps the primary alone when the secondary is unusable", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const t = await freshEth(f, e8("3000"), w("3001.5"));
        await f.ethSecondary.proxy.setBroken(true);
        expect(asQuote(await f.oracle.getPriceForLiquidation(ETH))).to.deep.equal(
          await quoteNow(ETH_PARAMS, w("3000"), t, F.SECONDARY_FAILED),
        );
      });

      it("keeps the price and band under a down sequencer or its grace period", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await setSequencer(f, 1n, (await now()) - 7200n);
        const { updatedAt } = await pushRound(f.btcPrimary.agg, e8("60000"));
        expect(asQuote(await f.oracle.getPriceForLiquidation(BTC))).to.deep.equal(
          await quoteNow(BTC_PARAMS, w("60000"), updatedAt, F.SEQUENCER_DOWN),
        );
        await pushRound(f.sequencerAgg, 0n, { startedAt: await now() });
        expect(asQuote(await f.oracle.getPriceForLiquidation(BTC))).to.deep.equal(
          await quoteNow(BTC_PARAMS, w("60000"), updatedAt, F.SEQUENCER_GRACE),
        );
      });

      it("falls back to the last good price recorded by poke when both feeds fail", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const t = await freshEth(f, e8("3000"), w("3001.5"));
        await f.oracle.poke(ETH);
        await f.ethPrimary.proxy.setBroken(true);
        await f.ethSecondary.proxy.setBroken(true);
        await timeTo(t + 7200n);
        // bps = 10 + 100 = 110 around the recorded price, timed at the recorded round
        expect(asQuote(await f.oracle.getPriceForLiquidation(ETH))).to.deep.equal(
          quote(w("3000"), 110n, t, F.PRIMARY_FAILED | F.SECONDARY_FAILED | F.FALLBACK_LAST_GOOD),
        );
        await timeTo(t + 30n * 86400n);
        expect(asQuote(await f.oracle.getPriceForLiquidation(ETH))).to.deep.equal(
          quote(w("3000"), 2500n, t, F.PRIMARY_FAILED | F.SECONDARY_FAILED | F.FALLBACK_LAST_GOOD),
        );
      });

      it("falls back to the last good price when a primary without secondary fails", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const { updatedAt } = await pushRound(f.btcPrimary.agg, e8("61234.5"));
        await f.oracle.poke(BTC);
        await pushRound(f.btcPrimary.agg, -1n);
        expect(asQuote(await f.oracle.getPriceForLiquidation(BTC))).to.deep.equal(
          await quoteNow(BTC_PARAMS, w("61234.5"), updatedAt, F.PRIMARY_FAILED | F.FALLBACK_LAST_GOOD),
        );
      });

      it("reports every condition at once: sequencer down, primary failed, secondary stale, last good", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const t = await freshEth(f, e8("3000"), w("3001.5"));
        await f.oracle.poke(ETH);
        await setSequencer(f, 1n, t);
        await f.ethPrimary.proxy.setBroken(true);
        await timeTo(t + ETH_PARAMS.secondaryMaxAge + 1n);
        expect(asQuote(await f.oracle.getPriceForLiquidation(ETH))).to.deep.equal(
          await quoteNow(
            ETH_PARAMS,
            w("3000"),
            t,
            F.SEQUENCER_DOWN | F.PRIMARY_FAILED | F.SECONDARY_FAILED | F.FALLBACK_LAST_GOOD,
          ),
        );
      });

      it("returns price 0 with UNAVAILABLE when no feed and no recorded price exist", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await f.ethPrimary.proxy.setBroken(true);
        await f.ethSecondary.proxy.setBroken(true);
        expect(asQuote(await f.oracle.getPriceForLiquidation(ETH))).to.deep.equal({
          price: 0n,
          lower: 0n,
          upper: 0n,
          updatedAt: 0n,
          flags: ["PRIMARY_FAILED", "SECONDARY_FAILED", "UNAVAILABLE"],
        });
        await f.btcPrimary.proxy.setBroken(true);
        expect(asQuote(await f.oracle.getPriceForLiquidation(BTC))).to.deep.equal({
          price: 0n,
          lower: 0n,
          upper: 0n,
          updatedAt: 0n,
          flags: ["PRIMARY_FAILED", "UNAVAILABLE"],
        });
      });
    });
  });

  // -------------------------------------------------------------------- isRiskIncreaseAllowed

  describe("isRiskIncreaseAllowed", () => {
    it("is true when the strict read succeeds", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      await freshEth(f, e8("3000"), w("3001.5"));
      await pushRound(f.btcPrimary.agg, e8("60000"));
      await f.oracle.getPrice(ETH);
      await f.oracle.getPrice(BTC);
      expect(await f.oracle.isRiskIncreaseAllowed(ETH)).to.equal(true);
      expect(await f.oracle.isRiskIncreaseAllowed(BTC)).to.equal(true);
    });

    for (const c of CONDITIONS) {
      it(`is false, as the strict read reverts, when ${c.name}`, async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const { asset, error } = await c.setup(f);
        expect(await f.oracle.isRiskIncreaseAllowed(asset)).to.equal(false);
        await expect(f.oracle.getPrice(asset)).to.be.revertedWithCustomError(f.oracle, error);
      });
    }

    it("turns true again when the breaker expires", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { updatedAt } = await pushRound(f.btcPrimary.agg, e8("72001"));
      await timeTo(updatedAt + 899n);
      expect(await f.oracle.isRiskIncreaseAllowed(BTC)).to.equal(false);
      await timeTo(updatedAt + 900n);
      expect(await f.oracle.isRiskIncreaseAllowed(BTC)).to.equal(true);
    });
  });

  // -------------------------------------------------------------------- poke

  describe("poke", () => {
    it("records the current primary price as the last good price (anyone may call)", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const { updatedAt } = await pushRound(f.btcPrimary.agg, e8("60123.45678901"));
      await expect(f.oracle.connect(f.mallory).poke(BTC))
        .to.emit(f.oracle, "LastGoodPriceRecorded")
        .withArgs(BTC, w("60123.45678901"), updatedAt);
      expect([...(await f.oracle.assetState(BTC))]).to.deep.equal([w("60123.45678901"), updatedAt, 0n]);
    });

    it("records the primary price of a two-feed asset, not the secondary's", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const t = await freshEth(f, e8("3000"), w("3001.5"));
      await expect(f.oracle.connect(f.keeper).poke(ETH))
        .to.emit(f.oracle, "LastGoodPriceRecorded")
        .withArgs(ETH, w("3000"), t);
      expect([...(await f.oracle.assetState(ETH))]).to.deep.equal([w("3000"), t, 0n]);
    });

    it("records a round once, then only newer rounds", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const first = await pushRound(f.btcPrimary.agg, e8("60000"));
      await f.oracle.poke(BTC);
      await expect(f.oracle.poke(BTC)).not.to.emit(f.oracle, "LastGoodPriceRecorded");
      const second = await pushRound(f.btcPrimary.agg, e8("61000"));
      await expect(f.oracle.poke(BTC))
        .to.emit(f.oracle, "LastGoodPriceRecorded")
        .withArgs(BTC, w("61000"), second.updatedAt);
      expect(second.updatedAt).to.be.greaterThan(first.updatedAt);
      expect([...(await f.oracle.assetState(BTC))]).to.deep.equal([w("61000"), second.updatedAt, 0n]);
    });

    const noRecord: { name: string; setup: (f: OracleFixture) => Promise<string> }[] = [
      {
        name: "the primary is stale",
        setup: async (f) => {
          const { updatedAt } = await pushRound(f.btcPrimary.agg, e8("60000"));
          await timeTo(updatedAt + 4201n);
          return BTC;
        },
      },
      {
        name: "the primary is out of bounds (clamped)",
        setup: async (f) => {
          await pushRound(f.btcPrimary.agg, e8("110"));
          await pushRound(f.btcPrimary.agg, e8("99"));
          return BTC;
        },
      },
      {
        name: "the sequencer is down",
        setup: async (f) => {
          await setSequencer(f, 1n, (await now()) - 7200n);
          await pushRound(f.btcPrimary.agg, e8("60000"));
          return BTC;
        },
      },
      {
        name: "the primary reverts and the secondary stands in",
        setup: async (f) => {
          await freshEth(f, e8("3000"), w("3001.5"));
          await f.ethPrimary.proxy.setBroken(true);
          return ETH;
        },
      },
      {
        name: "the primary answer is invalid and the secondary stands in",
        setup: async (f) => {
          await freshEth(f, 0n, w("3001.5"));
          return ETH;
        },
      },
      {
        name: "the primary is stale and the secondary stands in",
        setup: async (f) => {
          const { updatedAt } = await pushRound(f.ethPrimary.agg, e8("3000"));
          await timeTo(updatedAt + 4201n);
          await pushRound(f.ethSecondary.agg, w("3001.5"));
          return ETH;
        },
      },
      {
        name: "primary and secondary disagree",
        setup: async (f) => {
          await freshEth(f, e8("3000"), w("3300"));
          return ETH;
        },
      },
    ];
    for (const c of noRecord) {
      it(`records nothing when ${c.name}`, async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const asset = await c.setup(f);
        await expect(f.oracle.poke(asset)).not.to.emit(f.oracle, "LastGoodPriceRecorded");
        expect([...(await f.oracle.assetState(asset))]).to.deep.equal([0n, 0n, 0n]);
      });
    }

    it("trips the breaker persistently: a further small round does not clear it before its deadline", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const jump = await pushRound(f.btcPrimary.agg, e8("72001"));
      const until = jump.updatedAt + 900n;
      await expect(f.oracle.connect(f.keeper).poke(BTC))
        .to.emit(f.oracle, "CircuitBreakerTripped")
        .withArgs(BTC, jump.roundId, until);
      expect((await f.oracle.assetState(BTC))[2]).to.equal(until);

      await pushRound(f.btcPrimary.agg, e8("72100")); // +13.7 bps: no jump
      await expect(f.oracle.getPrice(BTC))
        .to.be.revertedWithCustomError(f.oracle, "OracleCircuitBreakerActive")
        .withArgs(BTC, until);
      expect(decodePriceFlags((await f.oracle.getPriceForLiquidation(BTC)).flags)).to.deep.equal(["CIRCUIT_BREAKER"]);

      await timeTo(until - 1n);
      await expect(f.oracle.getPrice(BTC))
        .to.be.revertedWithCustomError(f.oracle, "OracleCircuitBreakerActive")
        .withArgs(BTC, until);
      await timeTo(until);
      expect((await f.oracle.getPrice(BTC)).price).to.equal(w("72100"));
    });

    it("(control) without poke, a further small round hides the jump", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      await pushRound(f.btcPrimary.agg, e8("72001"));
      const next = await pushRound(f.btcPrimary.agg, e8("72100"));
      expect(asQuote(await f.oracle.getPrice(BTC))).to.deep.equal(
        await quoteNow(BTC_PARAMS, w("72100"), next.updatedAt),
      );
    });

    it("does not trip the breaker again for the same jump", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const jump = await pushRound(f.btcPrimary.agg, e8("47000"));
      await expect(f.oracle.poke(BTC)).to.emit(f.oracle, "CircuitBreakerTripped");
      await expect(f.oracle.poke(BTC)).not.to.emit(f.oracle, "CircuitBreakerTripped");
      expect((await f.oracle.assetState(BTC))[2]).to.equal(jump.updatedAt + 900n);
    });

    it("reverts with OracleUnknownAsset for an asset never listed", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      await expect(f.oracle.poke(UNKNOWN))
        .to.be.revertedWithCustomError(f.oracle, "OracleUnknownAsset")
        .withArgs(UNKNOWN);
    });
  });

  // -------------------------------------------------------------------- tripBreaker

  describe("tripBreaker", () => {
    it("trips on a proven jump round after further rounds arrived, until the jump's deadline", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const jump = await pushRound(f.btcPrimary.agg, e8("72001"));
      await pushRound(f.btcPrimary.agg, e8("72050"));
      await pushRound(f.btcPrimary.agg, e8("72100"));
      const until = jump.updatedAt + 900n;
      // The latest round is no jump: the strict read succeeds before the proof.
      await f.oracle.getPrice(BTC);

      await expect(f.oracle.connect(f.mallory).tripBreaker(BTC, jump.roundId))
        .to.emit(f.oracle, "CircuitBreakerTripped")
        .withArgs(BTC, jump.roundId, until);
      expect([...(await f.oracle.assetState(BTC))]).to.deep.equal([0n, 0n, until]);
      await expect(f.oracle.getPrice(BTC))
        .to.be.revertedWithCustomError(f.oracle, "OracleCircuitBreakerActive")
        .withArgs(BTC, until);
      expect(await f.oracle.isRiskIncreaseAllowed(BTC)).to.equal(false);
      const p = await f.oracle.getPriceForLiquidation(BTC);
      expect([p.price, decodePriceFlags(p.flags)]).to.deep.equal([w("72100"), ["CIRCUIT_BREAKER"]]);

      await timeTo(until);
      expect((await f.oracle.getPrice(BTC)).price).to.equal(w("72100"));
    });

    it("trips on a downward jump", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const jump = await pushRound(f.btcPrimary.agg, e8("47999")); // -2000.17 bps
      await pushRound(f.btcPrimary.agg, e8("48000"));
      await expect(f.oracle.tripBreaker(BTC, jump.roundId))
        .to.emit(f.oracle, "CircuitBreakerTripped")
        .withArgs(BTC, jump.roundId, jump.updatedAt + 900n);
    });

    it("reverts with OracleNoJump for a round that is no jump", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const exact = await pushRound(f.btcPrimary.agg, e8("72000")); // exactly 2000 bps
      const small = await pushRound(f.btcPrimary.agg, e8("72100"));
      await expect(f.oracle.tripBreaker(BTC, exact.roundId))
        .to.be.revertedWithCustomError(f.oracle, "OracleNoJump")
        .withArgs(BTC, exact.roundId);
      await expect(f.oracle.tripBreaker(BTC, small.roundId))
        .to.be.revertedWithCustomError(f.oracle, "OracleNoJump")
        .withArgs(BTC, small.roundId);
    });

    it("reverts with OracleNoJump for the first round and for a round that does not exist", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      await expect(f.oracle.tripBreaker(BTC, 1n))
        .to.be.revertedWithCustomError(f.oracle, "OracleNoJump")
        .withArgs(BTC, 1n);
      await expect(f.oracle.tripBreaker(BTC, 99n))
        .to.be.revertedWithCustomError(f.oracle, "OracleNoJump")
        .withArgs(BTC, 99n);
    });

    it("reverts with OracleNoJump for a jump older than breakerCooldown", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const jump = await pushRound(f.btcPrimary.agg, e8("72001"));
      await pushRound(f.btcPrimary.agg, e8("72100"));
      await networkHelpers.time.setNextBlockTimestamp(jump.updatedAt + 900n);
      await expect(f.oracle.tripBreaker(BTC, jump.roundId))
        .to.be.revertedWithCustomError(f.oracle, "OracleNoJump")
        .withArgs(BTC, jump.roundId);
      await timeTo(jump.updatedAt + 5000n);
      await expect(f.oracle.tripBreaker(BTC, jump.roundId))
        .to.be.revertedWithCustomError(f.oracle, "OracleNoJump")
        .withArgs(BTC, jump.roundId);
      expect((await f.oracle.assetState(BTC))[2]).to.equal(0n);
    });

    it("succeeds one second before the jump's deadline", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const jump = await pushRound(f.btcPrimary.agg, e8("72001"));
      await pushRound(f.btcPrimary.agg, e8("72100"));
      await networkHelpers.time.setNextBlockTimestamp(jump.updatedAt + 899n);
      await expect(f.oracle.tripBreaker(BTC, jump.roundId))
        .to.emit(f.oracle, "CircuitBreakerTripped")
        .withArgs(BTC, jump.roundId, jump.updatedAt + 900n);
    });

    it("neither re-emits nor shortens an existing deadline", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const early = await pushRound(f.btcPrimary.agg, e8("72001"));
      const late = await pushRound(f.btcPrimary.agg, e8("50000")); // -3055 bps vs 72001
      await pushRound(f.btcPrimary.agg, e8("50100"));
      await expect(f.oracle.tripBreaker(BTC, late.roundId))
        .to.emit(f.oracle, "CircuitBreakerTripped")
        .withArgs(BTC, late.roundId, late.updatedAt + 900n);
      await expect(f.oracle.tripBreaker(BTC, late.roundId)).not.to.emit(f.oracle, "CircuitBreakerTripped");
      await expect(f.oracle.tripBreaker(BTC, early.roundId)).not.to.emit(f.oracle, "CircuitBreakerTripped");
      expect((await f.oracle.assetState(BTC))[2]).to.equal(late.updatedAt + 900n);
    });

    it("reverts with OracleUnknownAsset for an asset never listed", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      await expect(f.oracle.tripBreaker(UNKNOWN, 2n))
        .to.be.revertedWithCustomError(f.oracle, "OracleUnknownAsset")
        .withArgs(UNKNOWN);
    });
  });

  // -------------------------------------------------------------------- jump breaker across aggregator upgrades

  // A round is compared with its predecessor; where that cannot be read (round 1, or the first round of a
  // new proxy phase), with the last good price recorded by poke before the round's updatedAt.
  describe("jump breaker across aggregator upgrades", () => {
    const moves: [string, bigint][] = [
      ["up", e8("72001")], // +2000.17 bps from 60000
      ["down", e8("47999")], // -2000.17 bps
    ];
    for (const [dir, answer] of moves) {
      it(`trips when the first round of a new aggregator jumps ${dir} from the last good price`, async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const good = await pushRound(f.btcPrimary.agg, e8("60000"));
        await expect(f.oracle.poke(BTC))
          .to.emit(f.oracle, "LastGoodPriceRecorded")
          .withArgs(BTC, w("60000"), good.updatedAt);
        const jump = await switchAggregator(f, f.btcPrimary, answer);
        expect(jump.roundId).to.equal(1n);
        const until = jump.updatedAt + BTC_PARAMS.breakerCooldown;

        await expect(f.oracle.getPrice(BTC))
          .to.be.revertedWithCustomError(f.oracle, "OracleCircuitBreakerActive")
          .withArgs(BTC, until);
        expect(await f.oracle.isRiskIncreaseAllowed(BTC)).to.equal(false);
        expect(asQuote(await f.oracle.getPriceForLiquidation(BTC))).to.deep.equal(
          await quoteNow(BTC_PARAMS, toWad8(answer), jump.updatedAt, F.CIRCUIT_BREAKER),
        );

        await expect(f.oracle.connect(f.mallory).tripBreaker(BTC, 1n))
          .to.emit(f.oracle, "CircuitBreakerTripped")
          .withArgs(BTC, 1n, until);
        expect([...(await f.oracle.assetState(BTC))]).to.deep.equal([w("60000"), good.updatedAt, until]);

        // Held until the deadline although the next round is no jump from the first.
        const next = await pushRound(jump.agg, answer + e8("10"));
        await expect(f.oracle.getPrice(BTC))
          .to.be.revertedWithCustomError(f.oracle, "OracleCircuitBreakerActive")
          .withArgs(BTC, until);
        await timeTo(until);
        expect(asQuote(await f.oracle.getPrice(BTC))).to.deep.equal(
          await quoteNow(BTC_PARAMS, toWad8(answer + e8("10")), next.updatedAt),
        );
      });
    }

    it("does not trip when the first round of a new aggregator moves exactly jumpThresholdBps", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      await pushRound(f.btcPrimary.agg, e8("60000"));
      await f.oracle.poke(BTC);
      const first = await switchAggregator(f, f.btcPrimary, e8("72000")); // exactly +2000 bps
      expect(asQuote(await f.oracle.getPrice(BTC))).to.deep.equal(
        await quoteNow(BTC_PARAMS, w("72000"), first.updatedAt),
      );
      await expect(f.oracle.tripBreaker(BTC, 1n))
        .to.be.revertedWithCustomError(f.oracle, "OracleNoJump")
        .withArgs(BTC, 1n);
    });

    it("with no recorded price, round 1 of a new aggregator is no jump (OracleNoJump)", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const first = await switchAggregator(f, f.btcPrimary, e8("72001"));
      expect(asQuote(await f.oracle.getPrice(BTC))).to.deep.equal(
        await quoteNow(BTC_PARAMS, w("72001"), first.updatedAt),
      );
      await expect(f.oracle.tripBreaker(BTC, 1n))
        .to.be.revertedWithCustomError(f.oracle, "OracleNoJump")
        .withArgs(BTC, 1n);
      expect([...(await f.oracle.assetState(BTC))]).to.deep.equal([0n, 0n, 0n]);
    });

    it("ignores a last good price recorded at or after the round's updatedAt", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const good = await pushRound(f.btcPrimary.agg, e8("60000"));
      await f.oracle.poke(BTC);
      // Stamped at the recorded time itself: the recorded price is not from before it.
      const same = await switchAggregator(f, f.btcPrimary, e8("72001"), { updatedAt: good.updatedAt });
      expect(asQuote(await f.oracle.getPrice(BTC))).to.deep.equal(
        await quoteNow(BTC_PARAMS, w("72001"), same.updatedAt),
      );
      await expect(f.oracle.tripBreaker(BTC, 1n))
        .to.be.revertedWithCustomError(f.oracle, "OracleNoJump")
        .withArgs(BTC, 1n);
      // One second later it is.
      await pushRound(same.agg, e8("72001"), { roundId: 1n, updatedAt: good.updatedAt + 1n });
      await expect(f.oracle.getPrice(BTC))
        .to.be.revertedWithCustomError(f.oracle, "OracleCircuitBreakerActive")
        .withArgs(BTC, good.updatedAt + 1n + BTC_PARAMS.breakerCooldown);
    });

    it("compares with the last good price when the predecessor of a later round cannot be read", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      await pushRound(f.btcPrimary.agg, e8("60000"));
      await f.oracle.poke(BTC);
      // The new aggregator's latest round is 5; round 4 does not exist (updatedAt 0: an invalid round).
      const jump = await switchAggregator(f, f.btcPrimary, e8("72001"), { roundId: 5n });
      const until = jump.updatedAt + BTC_PARAMS.breakerCooldown;
      await expect(f.oracle.getPrice(BTC))
        .to.be.revertedWithCustomError(f.oracle, "OracleCircuitBreakerActive")
        .withArgs(BTC, until);
      await expect(f.oracle.tripBreaker(BTC, 5n)).to.emit(f.oracle, "CircuitBreakerTripped").withArgs(BTC, 5n, until);
    });

    it("compares with a readable predecessor, not with the last good price", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      await pushRound(f.btcPrimary.agg, e8("60000"));
      await f.oracle.poke(BTC);
      // Round 2 of the new aggregator is 72100 after 72001: no jump, though far from the recorded 60000.
      const first = await switchAggregator(f, f.btcPrimary, e8("72001"));
      await f.oracle.tripBreaker(BTC, 1n); // round 1 did jump from the recorded price
      await timeTo(first.updatedAt + BTC_PARAMS.breakerCooldown);
      const second = await pushRound(first.agg, e8("72100"));
      expect(asQuote(await f.oracle.getPrice(BTC))).to.deep.equal(
        await quoteNow(BTC_PARAMS, w("72100"), second.updatedAt),
      );
      await expect(f.oracle.tripBreaker(BTC, 2n))
        .to.be.revertedWithCustomError(f.oracle, "OracleNoJump")
        .withArgs(BTC, 2n);
    });

    it("poke trips the breaker on the first round of a new aggregator that jumps from the last good price", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      await pushRound(f.btcPrimary.agg, e8("60000"));
      await f.oracle.poke(BTC);
      const jump = await switchAggregator(f, f.btcPrimary, e8("72001"));
      const until = jump.updatedAt + BTC_PARAMS.breakerCooldown;
      // Keepers poke after every round: the poke must keep the asset reduce-only, not clear the jump.
      await expect(f.oracle.connect(f.keeper).poke(BTC))
        .to.emit(f.oracle, "CircuitBreakerTripped")
        .withArgs(BTC, 1n, until);
      expect((await f.oracle.assetState(BTC))[2]).to.equal(until);
      await expect(f.oracle.getPrice(BTC))
        .to.be.revertedWithCustomError(f.oracle, "OracleCircuitBreakerActive")
        .withArgs(BTC, until);
    });
  });

  // -------------------------------------------------------------------- governance

  describe("governance", () => {
    describe("access control", () => {
      it("maps each restricted function to its role and rejects everyone else with AccessManagedUnauthorized", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const newKey = encodeBytes32String("NEW/USD");
        type Who = "deployer" | "risk" | "oracleOperator" | "keeper" | "mallory";
        type Caller = OracleFixture[Who];
        const calls: [fn: string, allowed: Who, send: (s: Caller) => Promise<ContractTransactionResponse>][] = [
          ["listAsset", "deployer", (s) => f.oracle.connect(s).listAsset(newKey, toStruct(f.btcConfig))],
          ["setSequencerFeed", "deployer", (s) => f.oracle.connect(s).setSequencerFeed(f.sequencerProxy, 3600n)],
          [
            "setAssetParams",
            "risk",
            (s) => f.oracle.connect(s).setAssetParams(BTC, toStruct({ ...f.btcConfig, maxDeviationBps: 250n })),
          ],
          ["setFeeds", "oracleOperator", (s) => f.oracle.connect(s).setFeeds(ETH, f.ethPrimary.address, ZeroAddress)],
        ];
        const everyone: Who[] = ["deployer", "risk", "oracleOperator", "keeper", "mallory"];
        for (const [fn, allowed, send] of calls) {
          for (const who of everyone.filter((x) => x !== allowed)) {
            await expect(send(f[who]), `${fn} by ${who}`)
              .to.be.revertedWithCustomError(f.oracle, "AccessManagedUnauthorized")
              .withArgs(f[who].address);
          }
        }
        for (const [, allowed, send] of calls) await (await send(f[allowed])).wait();
      });
    });

    describe("listAsset", () => {
      it("configures an asset and emits AssetConfigured", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const feed = await deployFeed(f.deployer, 8, e8("150.5"));
        const key = encodeBytes32String("SOL/USD");
        const cfg: AssetConfig = { ...ETH_PARAMS, primary: feed.address, secondary: ZeroAddress, minPrice: w("1") };
        await expect(f.oracle.listAsset(key, toStruct(cfg)))
          .to.emit(f.oracle, "AssetConfigured")
          .withArgs(key, configTuple(cfg));
        expect([...(await f.oracle.assetConfig(key))]).to.deep.equal(configTuple(cfg));
        expect([...(await f.oracle.assetState(key))]).to.deep.equal([0n, 0n, 0n]);
        expect((await f.oracle.getPrice(key)).price).to.equal(w("150.5"));
      });

      it("reverts with OracleAssetAlreadyListed for a listed asset", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await expect(f.oracle.listAsset(ETH, toStruct(f.ethConfig)))
          .to.be.revertedWithCustomError(f.oracle, "OracleAssetAlreadyListed")
          .withArgs(ETH);
      });

      const MAX_AGE = 2n * 86400n;
      const MAX_PRICE = 10n ** 36n;
      // [field, bad value, envelope min, envelope max] against the ETH/USD config (base confidence 10).
      const envelopes: [keyof AssetParams, bigint, bigint, bigint][] = [
        ["primaryMaxAge", 59n, 60n, MAX_AGE],
        ["primaryMaxAge", MAX_AGE + 1n, 60n, MAX_AGE],
        ["secondaryMaxAge", 59n, 60n, MAX_AGE],
        ["secondaryMaxAge", MAX_AGE + 1n, 60n, MAX_AGE],
        ["maxDeviationBps", 9n, 10n, 2000n],
        ["maxDeviationBps", 2001n, 10n, 2000n],
        ["minPrice", 0n, 1n, MAX_PRICE],
        ["minPrice", MAX_PRICE + 1n, 1n, MAX_PRICE],
        ["maxPrice", ETH_PARAMS.minPrice, ETH_PARAMS.minPrice + 1n, MAX_PRICE],
        ["maxPrice", MAX_PRICE + 1n, ETH_PARAMS.minPrice + 1n, MAX_PRICE],
        ["jumpThresholdBps", 99n, 100n, 9000n],
        ["jumpThresholdBps", 9001n, 100n, 9000n],
        ["breakerCooldown", 86401n, 0n, 86400n],
        ["baseConfidenceBps", 1001n, 0n, 1000n],
        ["confidenceBpsPerHour", 5001n, 0n, 5000n],
        ["maxConfidenceBps", 9n, 10n, 5000n],
        ["maxConfidenceBps", 5001n, 10n, 5000n],
      ];
      for (const [field, value, lo, hi] of envelopes) {
        it(`reverts with ParameterOutOfEnvelope for ${field} = ${value}`, async () => {
          const f = await networkHelpers.loadFixture(fixture);
          const key = encodeBytes32String("NEW/USD");
          await expect(f.oracle.listAsset(key, toStruct({ ...f.ethConfig, [field]: value })))
            .to.be.revertedWithCustomError(f.oracle, "ParameterOutOfEnvelope")
            .withArgs(param(field), value, lo, hi);
        });
      }

      it("accepts every parameter at the edges of its envelope", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const lowest: AssetConfig = {
          primary: f.ethPrimary.address,
          secondary: f.ethSecondary.address,
          primaryMaxAge: 60n,
          secondaryMaxAge: 60n,
          maxDeviationBps: 10n,
          minPrice: 1n,
          maxPrice: w("1000000"),
          jumpThresholdBps: 100n,
          breakerCooldown: 0n,
          baseConfidenceBps: 0n,
          confidenceBpsPerHour: 0n,
          maxConfidenceBps: 0n,
        };
        const highest: AssetConfig = {
          primary: f.ethPrimary.address,
          secondary: f.ethSecondary.address,
          primaryMaxAge: MAX_AGE,
          secondaryMaxAge: MAX_AGE,
          maxDeviationBps: 2000n,
          minPrice: w("10"),
          maxPrice: MAX_PRICE,
          jumpThresholdBps: 9000n,
          breakerCooldown: 86400n,
          baseConfidenceBps: 1000n,
          confidenceBpsPerHour: 5000n,
          maxConfidenceBps: 5000n,
        };
        await expect(f.oracle.listAsset(encodeBytes32String("LO/USD"), toStruct(lowest))).to.emit(
          f.oracle,
          "AssetConfigured",
        );
        await expect(f.oracle.listAsset(encodeBytes32String("HI/USD"), toStruct(highest))).to.emit(
          f.oracle,
          "AssetConfigured",
        );
      });

      it("ignores secondaryMaxAge when there is no secondary", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const key = encodeBytes32String("NEW/USD");
        await expect(f.oracle.listAsset(key, toStruct({ ...f.btcConfig, secondaryMaxAge: 0n }))).to.emit(
          f.oracle,
          "AssetConfigured",
        );
      });

      it("reverts with OracleUnsupportedDecimals for a primary or secondary with more than 36 decimals", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const feed = await deployFeed(f.deployer, 37, 3000n * 10n ** 37n);
        const key = encodeBytes32String("NEW/USD");
        await expect(f.oracle.listAsset(key, toStruct({ ...f.ethConfig, primary: feed.address })))
          .to.be.revertedWithCustomError(f.oracle, "OracleUnsupportedDecimals")
          .withArgs(feed.address, 37);
        await expect(f.oracle.listAsset(key, toStruct({ ...f.ethConfig, secondary: feed.address })))
          .to.be.revertedWithCustomError(f.oracle, "OracleUnsupportedDecimals")
          .withArgs(feed.address, 37);
      });

      it("reverts with OracleFeedReverted for a feed address without code or without decimals()", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const key = encodeBytes32String("NEW/USD");
        const eoa = f.mallory.address;
        await expect(f.oracle.listAsset(key, toStruct({ ...f.ethConfig, primary: eoa })))
          .to.be.revertedWithCustomError(f.oracle, "OracleFeedReverted")
          .withArgs(key, eoa);
        await expect(f.oracle.listAsset(key, toStruct({ ...f.ethConfig, secondary: eoa })))
          .to.be.revertedWithCustomError(f.oracle, "OracleFeedReverted")
          .withArgs(key, eoa);
        // A proxy in front of nothing: decimals() reverts.
        const hollow = await new MockFeedProxy__factory(f.deployer).deploy(eoa);
        const hollowAddress = await hollow.getAddress();
        await expect(f.oracle.listAsset(key, toStruct({ ...f.ethConfig, primary: hollowAddress })))
          .to.be.revertedWithCustomError(f.oracle, "OracleFeedReverted")
          .withArgs(key, hollowAddress);
        await expect(f.oracle.listAsset(key, toStruct({ ...f.ethConfig, secondary: hollowAddress })))
          .to.be.revertedWithCustomError(f.oracle, "OracleFeedReverted")
          .withArgs(key, hollowAddress);
      });

      it("requires the primary to answer a valid in-bounds price", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const key = encodeBytes32String("NEW/USD");
        const feed = await deployFeed(f.deployer, 8, e8("3000"));
        await feed.proxy.setBroken(true);
        await expect(f.oracle.listAsset(key, toStruct({ ...f.btcConfig, primary: feed.address })))
          .to.be.revertedWithCustomError(f.oracle, "OracleFeedReverted")
          .withArgs(key, feed.address);
        await feed.proxy.setBroken(false);
        await pushRound(feed.agg, 0n);
        await expect(f.oracle.listAsset(key, toStruct({ ...f.btcConfig, primary: feed.address })))
          .to.be.revertedWithCustomError(f.oracle, "OracleInvalidAnswer")
          .withArgs(key, feed.address, 0n);
        await pushRound(feed.agg, e8("99"));
        await expect(f.oracle.listAsset(key, toStruct({ ...f.btcConfig, primary: feed.address })))
          .to.be.revertedWithCustomError(f.oracle, "OraclePriceOutOfBounds")
          .withArgs(key, w("99"), BTC_PARAMS.minPrice, BTC_PARAMS.maxPrice);
      });

      it("requires the secondary to answer in bounds, within maxDeviationBps of the primary", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const key = encodeBytes32String("NEW/USD");
        const secondary = await deployFeed(f.deployer, 18, w("3000"));
        await secondary.proxy.setBroken(true);
        await expect(f.oracle.listAsset(key, toStruct({ ...f.ethConfig, secondary: secondary.address })))
          .to.be.revertedWithCustomError(f.oracle, "OracleFeedReverted")
          .withArgs(key, secondary.address);
        await secondary.proxy.setBroken(false);
        await pushRound(secondary.agg, w("9"));
        await expect(f.oracle.listAsset(key, toStruct({ ...f.ethConfig, secondary: secondary.address })))
          .to.be.revertedWithCustomError(f.oracle, "OraclePriceOutOfBounds")
          .withArgs(key, w("9"), ETH_PARAMS.minPrice, ETH_PARAMS.maxPrice);
        await pushRound(secondary.agg, w("2939.99"));
        await expect(f.oracle.listAsset(key, toStruct({ ...f.ethConfig, secondary: secondary.address })))
          .to.be.revertedWithCustomError(f.oracle, "OraclePriceDeviation")
          .withArgs(key, w("3000"), w("2939.99"), 200n);
        await pushRound(secondary.agg, w("2940"));
        await expect(f.oracle.listAsset(key, toStruct({ ...f.ethConfig, secondary: secondary.address }))).to.emit(
          f.oracle,
          "AssetConfigured",
        );
      });
    });

    describe("setFeeds", () => {
      it("swaps an 8-decimal primary for an 18-decimal one at the same price, emitting FeedsSet", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const t = await freshEth(f, e8("3000"), w("3001.5"));
        const before = await f.oracle.getPrice(ETH);
        const next = await deployFeed(f.deployer, 18, w("3000"));
        await pushRound(next.agg, w("3000"), { updatedAt: t });
        await expect(f.oracle.connect(f.oracleOperator).setFeeds(ETH, next.address, f.ethSecondary.address))
          .to.emit(f.oracle, "FeedsSet")
          .withArgs(ETH, next.address, f.ethSecondary.address);
        const cfg = await f.oracle.assetConfig(ETH);
        expect([cfg.primary, cfg.secondary]).to.deep.equal([next.address, f.ethSecondary.address]);
        const after = await f.oracle.getPrice(ETH);
        expect(after.price).to.equal(before.price);
        expect(after.price).to.equal(w("3000"));
        expect(asQuote(after)).to.deep.equal(await quoteNow(ETH_PARAMS, w("3000"), t, 0n, w("3001.5")));
        // Later answers are read with the new feed's 18 decimals.
        const r = await pushRound(next.agg, 3010123456789012345678n);
        expect(asQuote(await f.oracle.getPrice(ETH))).to.deep.equal(
          await quoteNow(ETH_PARAMS, 3010123456789012345678n, r.updatedAt, 0n, w("3001.5")),
        );
      });

      it("swaps the secondary for one with other decimals, and removes it", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const t = await freshEth(f, e8("3000"), w("3001.5"));
        const sec8 = await deployFeed(f.deployer, 8, e8("2990.25"));
        await pushRound(sec8.agg, e8("2990.25"), { updatedAt: t });
        await expect(f.oracle.connect(f.oracleOperator).setFeeds(ETH, f.ethPrimary.address, sec8.address))
          .to.emit(f.oracle, "FeedsSet")
          .withArgs(ETH, f.ethPrimary.address, sec8.address);
        expect(asQuote(await f.oracle.getPrice(ETH))).to.deep.equal(
          await quoteNow(ETH_PARAMS, w("3000"), t, 0n, w("2990.25")),
        );
        // The next feed change of ETH waits a day; then both feeds get fresh rounds.
        await timeTo((await now()) + PARAM_COOLDOWN);
        const { updatedAt } = await pushRound(f.ethPrimary.agg, e8("3000"));
        await pushRound(sec8.agg, e8("2990.25"), { updatedAt });
        await expect(f.oracle.connect(f.oracleOperator).setFeeds(ETH, f.ethPrimary.address, ZeroAddress))
          .to.emit(f.oracle, "FeedsSet")
          .withArgs(ETH, f.ethPrimary.address, ZeroAddress);
        await sec8.proxy.setBroken(true); // no longer consulted
        expect(asQuote(await f.oracle.getPrice(ETH))).to.deep.equal(await quoteNow(ETH_PARAMS, w("3000"), updatedAt));
      });

      it("reverts with OraclePriceDeviation for a primary beyond maxDeviationBps of the current price", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await freshEth(f, e8("3000"), w("3001.5"));
        const far = await deployFeed(f.deployer, 18, w("3061"));
        await expect(f.oracle.connect(f.oracleOperator).setFeeds(ETH, far.address, f.ethSecondary.address))
          .to.be.revertedWithCustomError(f.oracle, "OraclePriceDeviation")
          .withArgs(ETH, w("3000"), w("3061"), 200n);
        const low = await deployFeed(f.deployer, 8, e8("2939.99"));
        await expect(f.oracle.connect(f.oracleOperator).setFeeds(ETH, low.address, f.ethSecondary.address))
          .to.be.revertedWithCustomError(f.oracle, "OraclePriceDeviation")
          .withArgs(ETH, w("3000"), w("2939.99"), 200n);
        const edge = await deployFeed(f.deployer, 8, e8("3060")); // exactly 200 bps
        await expect(f.oracle.connect(f.oracleOperator).setFeeds(ETH, edge.address, f.ethSecondary.address)).to.emit(
          f.oracle,
          "FeedsSet",
        );
      });

      it("accepts any in-bounds primary when no current price exists at all", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await f.btcPrimary.proxy.setBroken(true);
        const next = await deployFeed(f.deployer, 8, e8("30000"));
        await expect(f.oracle.connect(f.oracleOperator).setFeeds(BTC, next.address, ZeroAddress))
          .to.emit(f.oracle, "FeedsSet")
          .withArgs(BTC, next.address, ZeroAddress);
        expect((await f.oracle.getPrice(BTC)).price).to.equal(w("30000"));
      });

      it("takes no fallback price as the step reference (replacing a broken feed is the point)", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await pushRound(f.btcPrimary.agg, e8("60000"));
        await f.oracle.poke(BTC);
        await f.btcPrimary.proxy.setBroken(true);
        expect(decodePriceFlags((await f.oracle.getPriceForLiquidation(BTC)).flags)).to.deep.equal([
          "PRIMARY_FAILED",
          "FALLBACK_LAST_GOOD",
        ]);
        const next = await deployFeed(f.deployer, 8, e8("30000"));
        await expect(f.oracle.connect(f.oracleOperator).setFeeds(BTC, next.address, ZeroAddress))
          .to.emit(f.oracle, "FeedsSet")
          .withArgs(BTC, next.address, ZeroAddress);
      });

      it("can replace a primary that answers an absurdly large price", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const huge = (2n ** 256n - 1n) / 10n ** 10n; // largest 8-decimal answer that fits in WAD
        await pushRound(f.btcPrimary.agg, (huge * 9n) / 10n);
        await pushRound(f.btcPrimary.agg, huge);
        const next = await deployFeed(f.deployer, 8, e8("60000"));
        await expect(f.oracle.connect(f.oracleOperator).setFeeds(BTC, next.address, ZeroAddress))
          .to.emit(f.oracle, "FeedsSet")
          .withArgs(BTC, next.address, ZeroAddress);
      });

      it("takes no stale price as the step reference", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const { updatedAt } = await pushRound(f.btcPrimary.agg, e8("60000"));
        await timeTo(updatedAt + 4201n);
        const next = await deployFeed(f.deployer, 8, e8("50000"));
        await expect(f.oracle.connect(f.oracleOperator).setFeeds(BTC, next.address, ZeroAddress)).to.emit(
          f.oracle,
          "FeedsSet",
        );
        expect((await f.oracle.getPrice(BTC)).price).to.equal(w("50000"));
      });

      it("takes no out-of-bounds price as the step reference", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await pushRound(f.btcPrimary.agg, e8("110"));
        await pushRound(f.btcPrimary.agg, e8("99"));
        expect(decodePriceFlags((await f.oracle.getPriceForLiquidation(BTC)).flags)).to.deep.equal(["OUT_OF_BOUNDS"]);
        const next = await deployFeed(f.deployer, 8, e8("60000"));
        await expect(f.oracle.connect(f.oracleOperator).setFeeds(BTC, next.address, ZeroAddress))
          .to.emit(f.oracle, "FeedsSet")
          .withArgs(BTC, next.address, ZeroAddress);
      });

      // H2: the primary is stuck at 3000 and stale while the market (the secondary) is at 2000. A sound
      // price would forbid a new primary 33% away; a stale one is no reference, so the feed can be replaced.
      it("replaces a stale primary stuck far from the market (H2)", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const stuck = await pushRound(f.ethPrimary.agg, e8("3000"));
        await pushRound(f.ethSecondary.agg, w("2000"), { updatedAt: stuck.updatedAt });
        const next = await deployFeed(f.deployer, 8, e8("2000"));
        // While the primary is fresh its price is sound (DEVIATION only): the 2000 feed is too far from it.
        expect(decodePriceFlags((await f.oracle.getPriceForLiquidation(ETH)).flags)).to.deep.equal(["DEVIATION"]);
        await expect(f.oracle.connect(f.oracleOperator).setFeeds(ETH, next.address, f.ethSecondary.address))
          .to.be.revertedWithCustomError(f.oracle, "OraclePriceDeviation")
          .withArgs(ETH, w("3000"), w("2000"), 200n);

        // The primary goes stale; the secondary keeps answering 2000.
        await timeTo(stuck.updatedAt + ETH_PARAMS.primaryMaxAge + 1n);
        const market = await pushRound(f.ethSecondary.agg, w("2000"));
        await expect(f.oracle.getPrice(ETH))
          .to.be.revertedWithCustomError(f.oracle, "OracleStalePrice")
          .withArgs(ETH, f.ethPrimary.address, stuck.updatedAt, ETH_PARAMS.primaryMaxAge);
        // The liquidation read takes the secondary; the stale in-bounds 3000 widens the band.
        expect(asQuote(await f.oracle.getPriceForLiquidation(ETH))).to.deep.equal(
          await quoteNow(
            ETH_PARAMS,
            w("2000"),
            market.updatedAt,
            F.STALE | F.DEVIATION | F.FALLBACK_SECONDARY,
            w("3000"),
          ),
        );

        const fresh = await pushRound(next.agg, e8("2000"), { updatedAt: market.updatedAt });
        await expect(f.oracle.connect(f.oracleOperator).setFeeds(ETH, next.address, f.ethSecondary.address))
          .to.emit(f.oracle, "FeedsSet")
          .withArgs(ETH, next.address, f.ethSecondary.address);
        expect(asQuote(await f.oracle.getPrice(ETH))).to.deep.equal(
          await quoteNow(ETH_PARAMS, w("2000"), fresh.updatedAt, 0n, w("2000")),
        );
      });

      it("holds the asset reduce-only when the replacement's first round jumps from the last good price", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const stuck = await freshEth(f, e8("3000"), w("3001.5"));
        await f.oracle.poke(ETH); // 3000 recorded
        await timeTo(stuck + ETH_PARAMS.primaryMaxAge + 1n);
        const market = await pushRound(f.ethSecondary.agg, w("2000"));
        const next = await deployFeed(f.deployer, 8, e8("2000"));
        const first = await pushRound(next.agg, e8("2000"), { roundId: 1n, updatedAt: market.updatedAt });
        await expect(f.oracle.connect(f.oracleOperator).setFeeds(ETH, next.address, f.ethSecondary.address)).to.emit(
          f.oracle,
          "FeedsSet",
        );
        // Round 1 of the new primary has no predecessor: 2000 against the recorded 3000 is a jump.
        const until = first.updatedAt + ETH_PARAMS.breakerCooldown;
        await expect(f.oracle.getPrice(ETH))
          .to.be.revertedWithCustomError(f.oracle, "OracleCircuitBreakerActive")
          .withArgs(ETH, until);
        await timeTo(until);
        expect(asQuote(await f.oracle.getPrice(ETH))).to.deep.equal(
          await quoteNow(ETH_PARAMS, w("2000"), first.updatedAt, 0n, w("2000")),
        );
      });

      it("allows one feed change of an asset per day: ParameterChangeTooSoon until exactly a day later", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const key = cooldownKey("feeds", ETH);
        expect(key).to.equal(keccak256(AbiCoder.defaultAbiCoder().encode(["string", "bytes32"], ["feeds", ETH])));
        await freshEth(f, e8("3000"), w("3001.5"));
        const next = await deployFeed(f.deployer, 8, e8("3000"));
        await (await f.oracle.connect(f.oracleOperator).setFeeds(ETH, next.address, f.ethSecondary.address)).wait();
        const t1 = await now();
        await expect(f.oracle.connect(f.oracleOperator).setFeeds(ETH, f.ethPrimary.address, f.ethSecondary.address))
          .to.be.revertedWithCustomError(f.oracle, "ParameterChangeTooSoon")
          .withArgs(key, t1 + DAY);
        // Checked before the feeds: even a feed without code reports the cooldown.
        await expect(f.oracle.connect(f.oracleOperator).setFeeds(ETH, f.mallory.address, ZeroAddress))
          .to.be.revertedWithCustomError(f.oracle, "ParameterChangeTooSoon")
          .withArgs(key, t1 + DAY);
        // Other assets, and the parameters of this one, have their own cooldowns.
        await expect(f.oracle.connect(f.oracleOperator).setFeeds(BTC, f.btcPrimary.address, ZeroAddress)).to.emit(
          f.oracle,
          "FeedsSet",
        );
        await expect(
          f.oracle.connect(f.risk).setAssetParams(ETH, toStruct({ ...f.ethConfig, primary: next.address })),
        ).to.emit(f.oracle, "AssetConfigured");

        // Fresh rounds shortly before the day is over (the old ones are stale by then).
        await timeTo(t1 + DAY - 10n);
        const { updatedAt } = await pushRound(f.ethPrimary.agg, e8("3000"));
        await pushRound(next.agg, e8("3000"), { updatedAt });
        await pushRound(f.ethSecondary.agg, w("3001.5"), { updatedAt });
        await networkHelpers.time.setNextBlockTimestamp(t1 + DAY - 1n);
        await expect(f.oracle.connect(f.oracleOperator).setFeeds(ETH, f.ethPrimary.address, f.ethSecondary.address))
          .to.be.revertedWithCustomError(f.oracle, "ParameterChangeTooSoon")
          .withArgs(key, t1 + DAY);
        // Exactly a day after the first change, the next one goes through.
        await networkHelpers.time.setNextBlockTimestamp(t1 + DAY);
        await expect(f.oracle.connect(f.oracleOperator).setFeeds(ETH, f.ethPrimary.address, f.ethSecondary.address))
          .to.emit(f.oracle, "FeedsSet")
          .withArgs(ETH, f.ethPrimary.address, f.ethSecondary.address);
        await expect(f.oracle.connect(f.oracleOperator).setFeeds(ETH, next.address, f.ethSecondary.address))
          .to.be.revertedWithCustomError(f.oracle, "ParameterChangeTooSoon")
          .withArgs(key, t1 + 2n * DAY);
      });

      it("requires a new secondary to answer in bounds, within maxDeviationBps of the new primary", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await freshEth(f, e8("3000"), w("3001.5"));
        const broken = await deployFeed(f.deployer, 8, e8("3000"));
        await broken.proxy.setBroken(true);
        await expect(f.oracle.connect(f.oracleOperator).setFeeds(ETH, f.ethPrimary.address, broken.address))
          .to.be.revertedWithCustomError(f.oracle, "OracleFeedReverted")
          .withArgs(ETH, broken.address);
        const low = await deployFeed(f.deployer, 8, e8("9"));
        await expect(f.oracle.connect(f.oracleOperator).setFeeds(ETH, f.ethPrimary.address, low.address))
          .to.be.revertedWithCustomError(f.oracle, "OraclePriceOutOfBounds")
          .withArgs(ETH, w("9"), ETH_PARAMS.minPrice, ETH_PARAMS.maxPrice);
        const far = await deployFeed(f.deployer, 18, w("3060.000000000000000001"));
        await expect(f.oracle.connect(f.oracleOperator).setFeeds(ETH, f.ethPrimary.address, far.address))
          .to.be.revertedWithCustomError(f.oracle, "OraclePriceDeviation")
          .withArgs(ETH, w("3000"), w("3060.000000000000000001"), 200n);
      });

      it("reverts with ParameterOutOfEnvelope when adding a secondary to an asset without secondaryMaxAge", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const feed = await deployFeed(f.deployer, 8, e8("3000"));
        const key = await listExtra(f, "SOLO/USD", feed.address, { ...ETH_PARAMS, secondaryMaxAge: 0n });
        await expect(f.oracle.connect(f.oracleOperator).setFeeds(key, feed.address, f.ethSecondary.address))
          .to.be.revertedWithCustomError(f.oracle, "ParameterOutOfEnvelope")
          .withArgs(param("secondaryMaxAge"), 0n, 60n, 2n * 86400n);
      });

      it("reverts with OracleUnsupportedDecimals for a feed with more than 36 decimals", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const feed = await deployFeed(f.deployer, 37, 3000n * 10n ** 37n);
        await expect(f.oracle.connect(f.oracleOperator).setFeeds(ETH, feed.address, ZeroAddress))
          .to.be.revertedWithCustomError(f.oracle, "OracleUnsupportedDecimals")
          .withArgs(feed.address, 37);
        await expect(f.oracle.connect(f.oracleOperator).setFeeds(ETH, f.ethPrimary.address, feed.address))
          .to.be.revertedWithCustomError(f.oracle, "OracleUnsupportedDecimals")
          .withArgs(feed.address, 37);
      });

      it("reverts with OracleFeedReverted for a feed address without code or without decimals()", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const eoa = f.mallory.address;
        await expect(f.oracle.connect(f.oracleOperator).setFeeds(ETH, eoa, ZeroAddress))
          .to.be.revertedWithCustomError(f.oracle, "OracleFeedReverted")
          .withArgs(ETH, eoa);
        await expect(f.oracle.connect(f.oracleOperator).setFeeds(ETH, f.ethPrimary.address, eoa))
          .to.be.revertedWithCustomError(f.oracle, "OracleFeedReverted")
          .withArgs(ETH, eoa);
        const hollow = await new MockFeedProxy__factory(f.deployer).deploy(eoa);
        const hollowAddress = await hollow.getAddress();
        await expect(f.oracle.connect(f.oracleOperator).setFeeds(BTC, hollowAddress, ZeroAddress))
          .to.be.revertedWithCustomError(f.oracle, "OracleFeedReverted")
          .withArgs(BTC, hollowAddress);
        await expect(f.oracle.connect(f.oracleOperator).setFeeds(ETH, f.ethPrimary.address, hollowAddress))
          .to.be.revertedWithCustomError(f.oracle, "OracleFeedReverted")
          .withArgs(ETH, hollowAddress);
      });

      it("requires the new primary to answer a valid in-bounds price", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const feed = await deployFeed(f.deployer, 8, e8("3000"));
        await feed.proxy.setBroken(true);
        await expect(f.oracle.connect(f.oracleOperator).setFeeds(ETH, feed.address, ZeroAddress))
          .to.be.revertedWithCustomError(f.oracle, "OracleFeedReverted")
          .withArgs(ETH, feed.address);
        const low = await deployFeed(f.deployer, 8, e8("9"));
        await expect(f.oracle.connect(f.oracleOperator).setFeeds(ETH, low.address, ZeroAddress))
          .to.be.revertedWithCustomError(f.oracle, "OraclePriceOutOfBounds")
          .withArgs(ETH, w("9"), ETH_PARAMS.minPrice, ETH_PARAMS.maxPrice);
      });

      it("reverts with OracleUnknownAsset for an asset never listed", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await expect(f.oracle.connect(f.oracleOperator).setFeeds(UNKNOWN, f.ethPrimary.address, ZeroAddress))
          .to.be.revertedWithCustomError(f.oracle, "OracleUnknownAsset")
          .withArgs(UNKNOWN);
      });
    });

    describe("setAssetParams", () => {
      it("changes the numbers within one step, emits AssetConfigured and takes effect", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await freshEth(f, e8("3000"), w("3061"));
        await expect(f.oracle.getPrice(ETH)).to.be.revertedWithCustomError(f.oracle, "OraclePriceDeviation");
        const cfg: AssetConfig = { ...f.ethConfig, maxDeviationBps: 300n, baseConfidenceBps: 15n };
        await expect(f.oracle.connect(f.risk).setAssetParams(ETH, toStruct(cfg)))
          .to.emit(f.oracle, "AssetConfigured")
          .withArgs(ETH, configTuple(cfg));
        expect([...(await f.oracle.assetConfig(ETH))]).to.deep.equal(configTuple(cfg));
        const p = await f.oracle.getPrice(ETH);
        expect(asQuote(p)).to.deep.equal(await quoteNow(cfg, w("3000"), p.updatedAt, 0n, w("3061")));
      });

      it("accepts a change of every parameter by exactly 50%", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const up: AssetConfig = {
          ...f.ethConfig,
          primaryMaxAge: 6300n,
          secondaryMaxAge: 6300n,
          maxDeviationBps: 300n,
          minPrice: w("15"),
          maxPrice: w("1500000"),
          jumpThresholdBps: 3000n,
          breakerCooldown: 1350n,
          baseConfidenceBps: 15n,
          confidenceBpsPerHour: 75n,
          maxConfidenceBps: 3750n,
        };
        await expect(f.oracle.connect(f.risk).setAssetParams(ETH, toStruct(up))).to.emit(f.oracle, "AssetConfigured");
        expect([...(await f.oracle.assetConfig(ETH))]).to.deep.equal(configTuple(up));
        await timeTo((await now()) + PARAM_COOLDOWN); // one change of ETH's parameters per day
        const down: AssetConfig = {
          ...up,
          primaryMaxAge: 3150n,
          secondaryMaxAge: 3150n,
          maxDeviationBps: 150n,
          minPrice: w("7.5"),
          maxPrice: w("750000"),
          jumpThresholdBps: 1500n,
          breakerCooldown: 675n,
          baseConfidenceBps: 8n, // 15 -> 7.5 allowed, rounds toward the stricter 7
          confidenceBpsPerHour: 38n, // 75 -> 37.5
          maxConfidenceBps: 1875n,
        };
        await expect(f.oracle.connect(f.risk).setAssetParams(ETH, toStruct(down))).to.emit(f.oracle, "AssetConfigured");
        expect([...(await f.oracle.assetConfig(ETH))]).to.deep.equal(configTuple(down));
      });

      // [field, new value] one unit beyond a 50% step from the ETH/USD config (50% exceeds every minStep).
      const steps: [keyof AssetParams, bigint][] = [
        ["primaryMaxAge", 6301n],
        ["secondaryMaxAge", 2099n],
        ["maxDeviationBps", 301n],
        ["minPrice", w("15") + 1n],
        ["maxPrice", w("499999.999999999999999999")],
        ["jumpThresholdBps", 3001n],
        ["breakerCooldown", 449n],
        ["baseConfidenceBps", 16n],
        ["confidenceBpsPerHour", 24n],
        ["maxConfidenceBps", 3751n],
      ];
      for (const [field, value] of steps) {
        it(`reverts with ParameterStepTooLarge for ${field} ${ETH_PARAMS[field]} -> ${value}`, async () => {
          const f = await networkHelpers.loadFixture(fixture);
          const old = ETH_PARAMS[field];
          expect(allowedStep(old, MIN_STEP[field])).to.equal((old * 5000n) / 10_000n);
          await expect(f.oracle.connect(f.risk).setAssetParams(ETH, toStruct({ ...f.ethConfig, [field]: value })))
            .to.be.revertedWithCustomError(f.oracle, "ParameterStepTooLarge")
            .withArgs(param(field), old, value, 5000n, MIN_STEP[field]);
        });
      }

      // Where 50% of a value is less than its minStep (small and zero values), the minStep is the step.
      const SMALL: AssetParams = {
        primaryMaxAge: 100n,
        secondaryMaxAge: 100n,
        maxDeviationBps: 10n,
        minPrice: 1n,
        maxPrice: w("1000000"),
        jumpThresholdBps: 100n,
        breakerCooldown: 0n,
        baseConfidenceBps: 0n,
        confidenceBpsPerHour: 0n,
        maxConfidenceBps: 0n,
      };
      // [field, first value beyond old + minStep, other fields the change needs to stay in its envelope]
      const beyondMinStep: [keyof AssetParams, bigint, Partial<AssetParams>][] = [
        ["primaryMaxAge", 161n, {}], // 50% of 100 is 50 < 60
        ["secondaryMaxAge", 161n, {}],
        ["maxDeviationBps", 21n, {}], // 5 < 10
        ["minPrice", 3n, {}], // 0 < 1
        ["jumpThresholdBps", 201n, {}], // 50 < 100
        ["breakerCooldown", 61n, {}], // zero
        ["baseConfidenceBps", 6n, { maxConfidenceBps: 100n }], // zero
        ["confidenceBpsPerHour", 11n, {}], // zero
        ["maxConfidenceBps", 101n, {}], // zero
      ];

      it("lets a small or zero-valued parameter move by at most its minStep", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const key = await listExtra(f, "SMALL/USD", f.ethPrimary.address, SMALL, f.ethSecondary.address);
        const cfg: AssetConfig = { ...SMALL, primary: f.ethPrimary.address, secondary: f.ethSecondary.address };
        for (const [field, value, extra] of beyondMinStep) {
          const old = SMALL[field];
          expect(allowedStep(old, MIN_STEP[field]), field).to.equal(MIN_STEP[field]);
          expect(value - old, field).to.equal(MIN_STEP[field] + 1n);
          await expect(
            f.oracle.connect(f.risk).setAssetParams(key, toStruct({ ...cfg, ...extra, [field]: value })),
            field,
          )
            .to.be.revertedWithCustomError(f.oracle, "ParameterStepTooLarge")
            .withArgs(param(field), old, value, MAX_PARAM_STEP_BPS, MIN_STEP[field]);
        }
        // Every one of them by exactly its minStep, in one change.
        const moved: AssetConfig = {
          ...cfg,
          primaryMaxAge: 160n,
          secondaryMaxAge: 160n,
          maxDeviationBps: 20n,
          minPrice: 2n,
          jumpThresholdBps: 200n,
          breakerCooldown: 60n,
          baseConfidenceBps: 5n,
          confidenceBpsPerHour: 10n,
          maxConfidenceBps: 100n,
        };
        await expect(f.oracle.connect(f.risk).setAssetParams(key, toStruct(moved)))
          .to.emit(f.oracle, "AssetConfigured")
          .withArgs(key, configTuple(moved));
        expect([...(await f.oracle.assetConfig(key))]).to.deep.equal(configTuple(moved));
      });

      it("lets a value of 1 move by its minStep (50% of 1 rounds down to 0)", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const ONE: AssetParams = {
          ...SMALL,
          minPrice: 1n,
          breakerCooldown: 1n,
          baseConfidenceBps: 1n,
          confidenceBpsPerHour: 1n,
          maxConfidenceBps: 1n,
        };
        const key = await listExtra(f, "ONE/USD", f.ethPrimary.address, ONE, f.ethSecondary.address);
        const cfg: AssetConfig = { ...ONE, primary: f.ethPrimary.address, secondary: f.ethSecondary.address };
        const beyond: [keyof AssetParams, bigint, Partial<AssetParams>][] = [
          ["minPrice", 3n, {}],
          ["breakerCooldown", 62n, {}],
          ["baseConfidenceBps", 7n, { maxConfidenceBps: 7n }],
          ["confidenceBpsPerHour", 12n, {}],
          ["maxConfidenceBps", 102n, {}],
        ];
        for (const [field, value, extra] of beyond) {
          await expect(
            f.oracle.connect(f.risk).setAssetParams(key, toStruct({ ...cfg, ...extra, [field]: value })),
            field,
          )
            .to.be.revertedWithCustomError(f.oracle, "ParameterStepTooLarge")
            .withArgs(param(field), 1n, value, MAX_PARAM_STEP_BPS, MIN_STEP[field]);
        }
        const moved: AssetConfig = {
          ...cfg,
          minPrice: 2n,
          breakerCooldown: 61n,
          baseConfidenceBps: 6n,
          confidenceBpsPerHour: 11n,
          maxConfidenceBps: 101n,
        };
        await expect(f.oracle.connect(f.risk).setAssetParams(key, toStruct(moved)))
          .to.emit(f.oracle, "AssetConfigured")
          .withArgs(key, configTuple(moved));
        expect([...(await f.oracle.assetConfig(key))]).to.deep.equal(configTuple(moved));
        // A day later, back down to 1 by the same minStep.
        await timeTo((await now()) + PARAM_COOLDOWN);
        const zero: AssetConfig = { ...moved, breakerCooldown: 1n, baseConfidenceBps: 1n, confidenceBpsPerHour: 1n };
        await expect(f.oracle.connect(f.risk).setAssetParams(key, toStruct(zero))).to.emit(f.oracle, "AssetConfigured");
      });

      it("allows one change of an asset's parameters per day: ParameterChangeTooSoon until exactly a day later", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const key = cooldownKey("assetParams", ETH);
        expect(key).to.equal(keccak256(AbiCoder.defaultAbiCoder().encode(["string", "bytes32"], ["assetParams", ETH])));
        // A reverted change starts no cooldown.
        await expect(
          f.oracle.connect(f.risk).setAssetParams(ETH, toStruct({ ...f.ethConfig, maxDeviationBps: 301n })),
        ).to.be.revertedWithCustomError(f.oracle, "ParameterStepTooLarge");
        const first: AssetConfig = { ...f.ethConfig, maxDeviationBps: 250n };
        await (await f.oracle.connect(f.risk).setAssetParams(ETH, toStruct(first))).wait();
        const t1 = await now();
        const second: AssetConfig = { ...first, maxDeviationBps: 300n };
        await expect(f.oracle.connect(f.risk).setAssetParams(ETH, toStruct(second)))
          .to.be.revertedWithCustomError(f.oracle, "ParameterChangeTooSoon")
          .withArgs(key, t1 + DAY);
        // Even an unchanged config counts as a change.
        await expect(f.oracle.connect(f.risk).setAssetParams(ETH, toStruct(first)))
          .to.be.revertedWithCustomError(f.oracle, "ParameterChangeTooSoon")
          .withArgs(key, t1 + DAY);
        // Other assets, and the feeds of this one, have their own cooldowns.
        await expect(
          f.oracle.connect(f.risk).setAssetParams(BTC, toStruct({ ...f.btcConfig, maxDeviationBps: 250n })),
        ).to.emit(f.oracle, "AssetConfigured");
        await expect(
          f.oracle.connect(f.oracleOperator).setFeeds(ETH, f.ethPrimary.address, f.ethSecondary.address),
        ).to.emit(f.oracle, "FeedsSet");

        await networkHelpers.time.setNextBlockTimestamp(t1 + DAY - 1n);
        await expect(f.oracle.connect(f.risk).setAssetParams(ETH, toStruct(second)))
          .to.be.revertedWithCustomError(f.oracle, "ParameterChangeTooSoon")
          .withArgs(key, t1 + DAY);
        await networkHelpers.time.setNextBlockTimestamp(t1 + DAY);
        await expect(f.oracle.connect(f.risk).setAssetParams(ETH, toStruct(second)))
          .to.emit(f.oracle, "AssetConfigured")
          .withArgs(ETH, configTuple(second));
        await expect(f.oracle.connect(f.risk).setAssetParams(ETH, toStruct(first)))
          .to.be.revertedWithCustomError(f.oracle, "ParameterChangeTooSoon")
          .withArgs(key, t1 + 2n * DAY);
      });

      it("checks envelopes before steps (ParameterOutOfEnvelope)", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await expect(f.oracle.connect(f.risk).setAssetParams(ETH, toStruct({ ...f.ethConfig, maxDeviationBps: 5n })))
          .to.be.revertedWithCustomError(f.oracle, "ParameterOutOfEnvelope")
          .withArgs(param("maxDeviationBps"), 5n, 10n, 2000n);
        await expect(f.oracle.connect(f.risk).setAssetParams(ETH, toStruct({ ...f.ethConfig, maxConfidenceBps: 5n })))
          .to.be.revertedWithCustomError(f.oracle, "ParameterOutOfEnvelope")
          .withArgs(param("maxConfidenceBps"), 5n, 10n, 5000n);
      });

      it("reverts with OracleFeedsImmutableHere when the feeds differ", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await expect(
          f.oracle.connect(f.risk).setAssetParams(ETH, toStruct({ ...f.ethConfig, primary: f.btcPrimary.address })),
        )
          .to.be.revertedWithCustomError(f.oracle, "OracleFeedsImmutableHere")
          .withArgs(ETH);
        await expect(f.oracle.connect(f.risk).setAssetParams(ETH, toStruct({ ...f.ethConfig, secondary: ZeroAddress })))
          .to.be.revertedWithCustomError(f.oracle, "OracleFeedsImmutableHere")
          .withArgs(ETH);
      });

      it("reverts with OracleUnknownAsset for an asset never listed", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await expect(f.oracle.connect(f.risk).setAssetParams(UNKNOWN, toStruct(f.ethConfig)))
          .to.be.revertedWithCustomError(f.oracle, "OracleUnknownAsset")
          .withArgs(UNKNOWN);
      });
    });

    describe("setSequencerFeed", () => {
      it("sets the feed and grace period, emitting SequencerFeedSet; address(0) turns the check off", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const feed = await f.sequencerProxy.getAddress();
        await expect(f.oracle.setSequencerFeed(feed, 86400n))
          .to.emit(f.oracle, "SequencerFeedSet")
          .withArgs(feed, 86400n);
        expect([...(await f.oracle.sequencer())]).to.deep.equal([feed, 86400n]);
        await pushRound(f.sequencerAgg, 1n, { startedAt: await now() });
        await pushRound(f.btcPrimary.agg, e8("60000"));
        await expect(f.oracle.getPrice(BTC)).to.be.revertedWithCustomError(f.oracle, "OracleSequencerDown");
        await expect(f.oracle.setSequencerFeed(ZeroAddress, 0n))
          .to.emit(f.oracle, "SequencerFeedSet")
          .withArgs(ZeroAddress, 0n);
        expect([...(await f.oracle.sequencer())]).to.deep.equal([ZeroAddress, 0n]);
        expect((await f.oracle.getPrice(BTC)).price).to.equal(w("60000"));
      });

      it("reverts with ParameterOutOfEnvelope for a grace period over 1 day", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await expect(f.oracle.setSequencerFeed(f.sequencerProxy, 86401n))
          .to.be.revertedWithCustomError(f.oracle, "ParameterOutOfEnvelope")
          .withArgs(param("gracePeriod"), 86401n, 0n, 86400n);
      });

      it("reverts with OracleFeedReverted for a feed address without code", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await expect(f.oracle.setSequencerFeed(f.mallory.address, 3600n))
          .to.be.revertedWithCustomError(f.oracle, "OracleFeedReverted")
          .withArgs(ZeroHash, f.mallory.address);
      });
    });
  });
});
