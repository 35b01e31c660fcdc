import { expect } from "chai";
import { encodeBytes32String, parseUnits } from "ethers";

import {
  OracleToolError,
  parsePricePath,
  pushPrice,
  readPricePath,
  replayPricePath,
  toWadPrice,
  type OracleFeeds,
  type ReplayClock,
  type ReplayProgress,
} from "../../sdk/src/oracle/index.js";
import { MockFeedProxy__factory } from "../../types/index.js";
import { connectChain, deployLocalFoundation } from "../helpers/foundation.js";

const chain = await connectChain();
const { ethers, networkHelpers } = chain;

const ETH_KEY = encodeBytes32String("ETH/USD");
const BTC_KEY = encodeBytes32String("BTC/USD");
const w = (s: string): bigint => parseUnits(s, 18);
const KNOWN = ["ETH/USD", "BTC/USD", "USDC/USD"];
const CSV_FILE = "scenarios/paths/eth-dip.csv";
const JSON_FILE = "scenarios/paths/btc-rally.json";
/** 2025-01-01T00:00:00Z, the first point of both example paths. */
const T0 = 1735689600;

async function oracleFixture() {
  const f = await deployLocalFoundation(chain);
  const eth = f.d.assets["ETH/USD"]!;
  const btc = f.d.assets["BTC/USD"]!;
  return {
    ...f,
    feeds: f.d.addresses.feeds,
    ethPrimary: eth.mockPrimary!,
    ethSecondary: eth.mockSecondary!,
    btc: btc.mockPrimary!,
  };
}

async function latestTime(): Promise<number> {
  return (await ethers.provider.getBlock("latest"))!.timestamp;
}

/** The OracleToolError a promise rejects with (fails if it resolves or throws anything else). */
async function refusal(promise: Promise<unknown>): Promise<OracleToolError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(OracleToolError);
    return error as OracleToolError;
  }
  expect.fail("expected an OracleToolError");
}

/** The OracleToolError a parse throws. */
function parseError(text: string, format: "json" | "csv", knownAssets?: readonly string[]): OracleToolError {
  try {
    parsePricePath(text, { format, ...(knownAssets === undefined ? {} : { knownAssets }) });
  } catch (error) {
    expect(error).to.be.instanceOf(OracleToolError);
    expect((error as OracleToolError).code).to.equal("InvalidPricePath");
    return error as OracleToolError;
  }
  expect.fail("expected the path to be refused");
}

describe("Oracle tools (sdk/src/oracle)", () => {
  describe("pushPrice", () => {
    it("writes every feed of the asset at its decimals (8 and 18), and the router reads the WAD price", async () => {
      const f = await networkHelpers.loadFixture(oracleFixture);
      const [primaryRound, secondaryRound] = [await f.ethPrimary.latestRound(), await f.ethSecondary.latestRound()];

      const writes = await pushPrice(f.alice, f.feeds, "ETH/USD", "3100.25");

      expect(writes.map((x) => [x.role, x.decimals, x.answer, x.roundId])).to.deep.equal([
        ["primary", 8, 310025000000n, primaryRound + 1n],
        ["secondary", 18, w("3100.25"), secondaryRound + 1n],
      ]);
      expect(writes.map((x) => x.feed)).to.deep.equal([f.feeds["ETH/USD"]!.primary, f.feeds["ETH/USD"]!.secondary]);
      expect(await f.ethPrimary.latestAnswer()).to.equal(310025000000n);
      expect(await f.ethSecondary.latestAnswer()).to.equal(w("3100.25"));
      // Without a timestamp each round carries its block's time.
      const [, , , updatedAt] = await f.ethSecondary.latestRoundData();
      expect(writes[1]!.updatedAt).to.equal(updatedAt);
      expect(updatedAt).to.equal(BigInt(await latestTime()));

      const price = await f.d.oracle.getPrice(ETH_KEY);
      expect(price.price).to.equal(w("3100.25"));
      expect(price.flags).to.equal(0n);
    });

    it("takes a WAD bigint, rounds down to a feed's decimals, and writes an asset with one feed", async () => {
      const f = await networkHelpers.loadFixture(oracleFixture);
      const writes = await pushPrice(f.alice, f.feeds, "BTC/USD", w("61000.123456789"));
      expect(writes).to.have.length(1);
      expect(writes[0]!.answer).to.equal(6100012345678n);
      expect((await f.d.oracle.getPrice(BTC_KEY)).price).to.equal(w("61000.12345678"));
    });

    it("writes round latestRound + 1 with an explicit timestamp (updateRoundData), and rounds keep increasing", async () => {
      const f = await networkHelpers.loadFixture(oracleFixture);
      const round = await f.ethPrimary.latestRound();
      const at = (await latestTime()) - 120;

      const writes = await pushPrice(f.alice, f.feeds, "ETH/USD", "2990", { timestamp: at, startedAt: at - 5 });
      expect(writes.map((x) => [x.roundId, x.updatedAt])).to.deep.equal([
        [round + 1n, BigInt(at)],
        [await f.ethSecondary.latestRound(), BigInt(at)],
      ]);
      const [roundId, answer, startedAt, updatedAt, answeredInRound] = await f.ethPrimary.latestRoundData();
      expect([roundId, answer, startedAt, updatedAt, answeredInRound]).to.deep.equal([
        round + 1n,
        299000000000n,
        BigInt(at - 5),
        BigInt(at),
        round + 1n,
      ]);
      const price = await f.d.oracle.getPrice(ETH_KEY);
      expect(price.price).to.equal(w("2990"));
      expect(price.updatedAt).to.equal(BigInt(at));

      await pushPrice(f.alice, f.feeds, "ETH/USD", "2995", { timestamp: at + 60 });
      expect(await f.ethPrimary.latestRound()).to.equal(round + 2n);
      // The round before is still readable: the router's jump check compares the two.
      expect((await f.ethPrimary.getRoundData(round + 1n)).answer).to.equal(299000000000n);
      expect((await f.d.oracle.getPrice(ETH_KEY)).price).to.equal(w("2995"));
    });

    it("refuses a price that is not positive, not a decimal, too precise, or below a feed's resolution", async () => {
      const f = await networkHelpers.loadFixture(oracleFixture);
      const cases: [string | bigint, RegExp][] = [
        ["abc", /"abc" is not a decimal price/],
        ["-3000", /is not a decimal price/],
        ["3,000", /is not a decimal price/],
        ["1e3", /is not a decimal price/],
        ["", /is not a decimal price/],
        ["0", /is zero/],
        ["0.0000000000000000001", /19 decimal places/],
        [0n, /is not positive/],
        [-5n, /is not positive/],
        ["0.000000001", /below the resolution of the ETH\/USD primary feed \(8 decimals\)/],
      ];
      for (const [price, message] of cases) {
        const error = await refusal(pushPrice(f.alice, f.feeds, "ETH/USD", price));
        expect(error.code, String(price)).to.equal("InvalidPrice");
        expect(error.message, String(price)).to.match(message);
        expect(error.hint).to.not.equal("");
      }
      const badTime = await refusal(pushPrice(f.alice, f.feeds, "ETH/USD", "3000", { timestamp: 1.5 }));
      expect(badTime.code).to.equal("InvalidTimestamp");
      expect(badTime.message).to.match(/timestamp 1.5 is not a positive whole number/);
      expect(await f.ethPrimary.latestAnswer()).to.equal(300000000000n);
    });

    it("refuses an asset the feeds map does not name, listing the ones it does", async () => {
      const f = await networkHelpers.loadFixture(oracleFixture);
      const error = await refusal(pushPrice(f.alice, f.feeds, "SOL/USD", "150"));
      expect(error.code).to.equal("UnknownAsset");
      expect(error.message).to.contain("ETH/USD, BTC/USD, USDC/USD");
    });

    it("refuses a feed that is not a mock (a Chainlink-style proxy, another contract, no contract) and writes nothing", async () => {
      const f = await networkHelpers.loadFixture(oracleFixture);
      const proxy = await new MockFeedProxy__factory(f.deployer).deploy(f.feeds["ETH/USD"]!.primary);
      const cases: [string, RegExp][] = [
        [await proxy.getAddress(), /a static call of updateAnswer\(int256\) reverts \(a Chainlink proxy/],
        [f.d.addresses.vault, /it does not answer decimals\(\)/],
        [f.bob.address, /there is no contract there/],
      ];
      const round = await f.ethPrimary.latestRound();
      for (const [address, reason] of cases) {
        // The primary is a mock: the refusal of the secondary comes before any write.
        const feeds: OracleFeeds = { "ETH/USD": { primary: f.feeds["ETH/USD"]!.primary, secondary: address } };
        const error = await refusal(pushPrice(f.alice, feeds, "ETH/USD", "3050"));
        expect(error.code).to.equal("NotAMockFeed");
        expect(error.message).to.contain(`The ETH/USD secondary feed ${address} is not a mock aggregator`);
        expect(error.message).to.match(reason);
        expect(error.hint).to.match(/MockV3Aggregator/);
        expect(error.cause === undefined).to.equal(address === f.bob.address);
      }
      expect(await f.ethPrimary.latestRound()).to.equal(round);
    });
  });

  describe("price path files", () => {
    it("reads the example CSV: ISO times, empty cells as no update, exact WAD prices", async () => {
      const path = await readPricePath(CSV_FILE, { knownAssets: KNOWN });
      expect(path.assets).to.deep.equal(["ETH/USD", "BTC/USD"]);
      expect(path.points).to.deep.equal([
        { t: T0, prices: { "ETH/USD": w("3000"), "BTC/USD": w("60000") } },
        { t: T0 + 60, prices: { "ETH/USD": w("2950.5") } },
        { t: T0 + 120, prices: { "ETH/USD": w("2890.25"), "BTC/USD": w("59500") } },
        { t: T0 + 180, prices: { "ETH/USD": w("2820") } },
        { t: T0 + 240, prices: { "ETH/USD": w("2905.75"), "BTC/USD": w("59800.5") } },
      ]);
    });

    it("reads the example JSON: unix seconds and ISO times, assets left out as no update", async () => {
      const path = await readPricePath(JSON_FILE, { knownAssets: KNOWN });
      expect(path.assets).to.deep.equal(["ETH/USD", "BTC/USD"]);
      expect(path.points).to.deep.equal([
        { t: T0, prices: { "ETH/USD": w("3000"), "BTC/USD": w("60000") } },
        { t: T0 + 30, prices: { "BTC/USD": w("61250.5") } },
        { t: T0 + 60, prices: { "ETH/USD": w("3050.125"), "BTC/USD": w("62400") } },
        { t: T0 + 90, prices: { "BTC/USD": w("63000.75") } },
      ]);
    });

    it("parses CSV with CRLF, a BOM, spaces, comments, blank lines, unix-second strings and 18-decimal prices; JSON nulls", () => {
      const path = parsePricePath(
        "\uFEFF# comment\r\nTimestamp, ETH/USD\r\n\r\n1735689600, 0.000000000000000001\r\n2025-01-01T01:00:01+01:00,3000\r\n",
        { format: "csv" },
      );
      expect(path.points).to.deep.equal([
        { t: T0, prices: { "ETH/USD": 1n } },
        { t: T0 + 1, prices: { "ETH/USD": w("3000") } },
      ]);
      const json = parsePricePath('[{"t":"1735689600","ETH/USD":null},{"t":1735689601,"ETH/USD":"1"}]', {
        format: "json",
      });
      expect(json.points).to.deep.equal([
        { t: T0, prices: {} },
        { t: T0 + 1, prices: { "ETH/USD": w("1") } },
      ]);
    });

    it("names the CSV line and what to fix for every invalid row, all at once", () => {
      const error = parseError(
        [
          "timestamp,ETH/USD,BTC/USD",
          "1735689600,3000,60000",
          "1735689600,3001,", // line 3: not after line 2
          "1735689660,3000.1234567890123456789,", // line 4: 19 places
          "1735689720,3000", // line 5: a cell short
          "yesterday,3000,60000", // line 6: not a time
          "1735689780,-1,1e5", // line 7: two bad prices
          "1735689780.5,3000,", // line 8: fractional seconds
          "2025-01-01T00:10:00.500Z,3000,", // line 9: not a whole second
          "2025-01-01T00:11:00,3000,", // line 10: no zone
        ].join("\n"),
        "csv",
      );
      expect(error.issues).to.deep.equal([
        "line 3: time 1735689600 (2025-01-01T00:00:00Z) is not after the previous point's 1735689600 (2025-01-01T00:00:00Z); times must strictly increase",
        'line 4: ETH/USD: "3000.1234567890123456789" has 19 decimal places; prices are WAD, at most 18',
        "line 5: has 2 cells; the header has 3 (timestamp,ETH/USD,BTC/USD)",
        'line 6: time "yesterday" is neither unix seconds (a positive whole number) nor an ISO-8601 time with a zone such as "2025-01-01T00:00:00Z"',
        'line 7: ETH/USD: "-1" is not a decimal price: write digits with an optional point, e.g. "3000.5" (no sign, exponent, thousands separator or unit)',
        'line 7: BTC/USD: "1e5" is not a decimal price: write digits with an optional point, e.g. "3000.5" (no sign, exponent, thousands separator or unit)',
        'line 8: time "1735689780.5" is neither unix seconds (a positive whole number) nor an ISO-8601 time with a zone such as "2025-01-01T00:00:00Z"',
        'line 9: time "2025-01-01T00:10:00.500Z" is not a whole second',
        'line 10: time "2025-01-01T00:11:00" is neither unix seconds (a positive whole number) nor an ISO-8601 time with a zone such as "2025-01-01T00:00:00Z"',
      ]);
      expect(error.message).to.contain("the CSV price path is not a valid price path:\n  - line 3:");
      expect(error.hint).to.match(/header "timestamp,ETH\/USD/);
    });

    it("refuses a bad CSV header: wrong first column, no asset, an unknown, duplicate or too long asset, no rows", () => {
      expect(parseError("time,ETH/USD\n1735689600,3000", "csv").issues).to.deep.equal([
        'line 1 (header): the first column must be "timestamp", not "time"',
      ]);
      expect(parseError("timestamp\n1735689600", "csv").issues).to.deep.equal([
        "line 1 (header): names no asset column after the timestamp",
      ]);
      expect(parseError("timestamp,ETH/USD,SOL/USD\n1735689600,3000,150", "csv", KNOWN).issues).to.deep.equal([
        'line 1 (header): unknown asset "SOL/USD"; the deployment has ETH/USD, BTC/USD, USDC/USD',
      ]);
      const long = "A".repeat(32);
      expect(parseError(`timestamp,ETH/USD,ETH/USD,,${long}\n1735689600,1,1,1,1`, "csv").issues).to.deep.equal([
        'line 1 (header): asset "ETH/USD" appears twice',
        'line 1 (header): "": an asset column has no name',
        `line 1 (header): "${long}": an asset id is at most 31 bytes (a bytes32 key)`,
      ]);
      expect(parseError("timestamp,ETH/USD\n", "csv").issues).to.deep.equal(["file: has a header but no rows"]);
      expect(parseError("\n# nothing\n", "csv").issues[0]).to.match(/^file: is empty/);
    });

    it("names the JSON point and what to fix for every invalid point, all at once", () => {
      const error = parseError(
        JSON.stringify([
          { t: T0, "ETH/USD": "3000" },
          { t: T0 - 1, "ETH/USD": 3000.5 },
          { "ETH/USD": "3000" },
          "3000",
          { t: T0 + 60, "ETH/USD": "", "SOL/USD": "150" },
          { t: -5, "BTC/USD": true },
        ]),
        "json",
        KNOWN,
      );
      expect(error.issues).to.deep.equal([
        'point 2 (index 1): ETH/USD: write the price 3000.5 as a string ("3000.5"), so that no digit is lost to floating point',
        'point 3 (index 2): has no time "t"',
        'point 3 (index 2): time undefined is neither unix seconds (a positive whole number) nor an ISO-8601 time with a zone such as "2025-01-01T00:00:00Z"',
        'point 4 (index 3): must be an object such as { "t": 1735689600, "ETH/USD": "3000" }',
        'point 5 (index 4): unknown asset "SOL/USD"; the deployment has ETH/USD, BTC/USD, USDC/USD',
        'point 5 (index 4): ETH/USD: "" is not a decimal price: write digits with an optional point, e.g. "3000.5" (no sign, exponent, thousands separator or unit)',
        'point 6 (index 5): time -5 is neither unix seconds (a positive whole number) nor an ISO-8601 time with a zone such as "2025-01-01T00:00:00Z"',
        'point 6 (index 5): BTC/USD: a price must be a decimal string such as "3000.5", not boolean',
      ]);
      expect(error.hint).to.match(/an array of \{ "t"/);
    });

    it("names a point whose time does not increase, and refuses JSON that is not a non-empty array", () => {
      expect(parseError(`[{"t":${T0},"ETH/USD":"1"},{"t":${T0},"ETH/USD":"2"}]`, "json").issues).to.deep.equal([
        "point 2 (index 1): time 1735689600 (2025-01-01T00:00:00Z) is not after the previous point's 1735689600 (2025-01-01T00:00:00Z); times must strictly increase",
      ]);
      expect(parseError("[]", "json").issues).to.deep.equal(["file: must be a non-empty array of points"]);
      expect(parseError('{"points":[]}', "json").issues).to.deep.equal(["file: must be a non-empty array of points"]);
      expect(parseError("[{", "json").issues[0]).to.match(/^file: not valid JSON/);
    });

    it("refuses a file that is neither .json nor .csv", async () => {
      const error = await refusal(readPricePath("scenarios/paths/eth-dip.txt"));
      expect(error.code).to.equal("InvalidPricePath");
    });
  });

  describe("replayPricePath", () => {
    it("asap with advanceChainTime: each point is on chain at its time, and the router reads its prices", async () => {
      const f = await networkHelpers.loadFixture(oracleFixture);
      const path = await readPricePath(CSV_FILE, { knownAssets: KNOWN });
      const start = (await latestTime()) + 1;
      const seen: ReplayProgress[] = [];
      const last: Record<string, bigint> = {};

      const summary = await replayPricePath(f.alice, f.feeds, path, {
        pace: "asap",
        advanceChainTime: true,
        startAt: "latestBlock",
        onProgress: async (p) => {
          seen.push(p);
          expect(p.t).to.equal(start + (p.pathTime - T0));
          Object.assign(last, p.prices);
          if (p.prices["ETH/USD"] !== undefined) {
            for (const feed of [f.ethPrimary, f.ethSecondary]) {
              const [, , , updatedAt] = await feed.latestRoundData();
              expect(updatedAt).to.equal(BigInt(p.t));
            }
            const price = await f.d.oracle.getPrice(ETH_KEY);
            expect(price.price).to.equal(p.prices["ETH/USD"]);
            expect(price.updatedAt).to.equal(BigInt(p.t));
          }
          if (p.prices["BTC/USD"] !== undefined) {
            const [, , , updatedAt] = await f.btc.latestRoundData();
            expect(updatedAt).to.equal(BigInt(p.t));
          }
          expect((await f.d.oracle.getPrice(BTC_KEY)).price).to.equal(last["BTC/USD"]);
        },
      });

      expect(seen.map((p) => [p.index, p.total, p.writes.length])).to.deep.equal([
        [0, 5, 3],
        [1, 5, 2],
        [2, 5, 3],
        [3, 5, 2],
        [4, 5, 3],
      ]);
      expect(summary).to.deep.include({
        pointsPushed: 5,
        writes: 13,
        nextIndex: 5,
        cancelled: false,
        firstTime: start,
        lastTime: start + 240,
      });
      expect((await f.d.oracle.getPrice(ETH_KEY)).price).to.equal(w("2905.75"));
    });

    it("without advanceChainTime, rounds carry the chain's time; a point with no price only lets time pass", async () => {
      const f = await networkHelpers.loadFixture(oracleFixture);
      const path = parsePricePath(
        `[{"t":${T0},"BTC/USD":"60100"},{"t":${T0 + 60}},{"t":${T0 + 120},"BTC/USD":"60200"}]`,
        {
          format: "json",
        },
      );
      const before = await latestTime();
      const summary = await replayPricePath(f.alice, f.feeds, path, { pace: "asap" });
      expect(summary).to.deep.include({ pointsPushed: 3, writes: 2, firstTime: T0, lastTime: T0 + 120 });
      const [, answer, , updatedAt] = await f.btc.latestRoundData();
      expect(answer).to.equal(6020000000000n);
      expect(Number(updatedAt)).to.be.greaterThan(before);

      // With advanceChainTime the empty point mines a block at its time.
      const start = (await latestTime()) + 10;
      const times: number[] = [];
      await replayPricePath(f.alice, f.feeds, path, {
        pace: "asap",
        advanceChainTime: true,
        startAt: start,
        onProgress: async () => {
          times.push(await latestTime());
        },
      });
      expect(times).to.deep.equal([start, start + 60, start + 120]);
    });

    it("refuses advanceChainTime for a point at or before the chain's time, naming the point", async () => {
      const f = await networkHelpers.loadFixture(oracleFixture);
      const path = await readPricePath(CSV_FILE);
      // The example path is from 2025; the embedded chain's clock is past its first point.
      const error = await refusal(replayPricePath(f.alice, f.feeds, path, { pace: "asap", advanceChainTime: true }));
      expect(error.code).to.equal("ChainTimeUnavailable");
      expect(error.message).to.match(/^Point 1 is at 1735689600, not after the chain's latest block/);
      expect(error.hint).to.contain('startAt: "latestBlock"');

      // Two feeds are two blocks: points one second apart cannot both carry their times.
      const tight = parsePricePath(`timestamp,ETH/USD\n${T0},3000\n${T0 + 1},3001\n`, { format: "csv" });
      const tooClose = await refusal(
        replayPricePath(f.alice, f.feeds, tight, { pace: "asap", advanceChainTime: true, startAt: "latestBlock" }),
      );
      expect(tooClose.message).to.match(/^Point 2 is at/);
    });

    it("refuses bad options and assets the feeds map lacks before sending anything", async () => {
      const f = await networkHelpers.loadFixture(oracleFixture);
      const path = await readPricePath(JSON_FILE);
      for (const pace of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        expect((await refusal(replayPricePath(f.alice, f.feeds, path, { pace }))).code).to.equal(
          "InvalidReplayOptions",
        );
      }
      expect((await refusal(replayPricePath(f.alice, f.feeds, path, { pace: "asap", fromIndex: 5 }))).code).to.equal(
        "InvalidReplayOptions",
      );
      const onlyEth: OracleFeeds = { "ETH/USD": f.feeds["ETH/USD"]! };
      const error = await refusal(replayPricePath(f.alice, onlyEth, path, { pace: "asap" }));
      expect(error.code).to.equal("UnknownAsset");
      expect(error.message).to.contain('"BTC/USD"');
      expect(await f.btc.latestAnswer()).to.equal(6000000000000n);
    });

    it("a paced replay waits (t_i - t_0) / pace after the start for each point (injected clock)", async () => {
      const f = await networkHelpers.loadFixture(oracleFixture);
      const path = await readPricePath(JSON_FILE); // points at 0, 30, 60 and 90 s
      let now = 1_000;
      const sleeps: number[] = [];
      const clock: ReplayClock = {
        now: () => now,
        sleep: (ms) => {
          sleeps.push(ms);
          now += ms;
          return Promise.resolve();
        },
      };
      const summary = await replayPricePath(f.alice, f.feeds, path, {
        pace: 60,
        clock,
        onProgress: () => {
          now += 100; // each point takes 100 ms to push and report
        },
      });
      // Due at 500, 1000 and 1500 ms after the start; 100 ms of work before each.
      expect(sleeps).to.deep.equal([400, 400, 400]);
      expect(summary.elapsedMs).to.equal(1_600);
    });

    it("a paced replay honours the pace on the wall clock", async () => {
      const f = await networkHelpers.loadFixture(oracleFixture);
      const path = await readPricePath(JSON_FILE); // 90 s of path
      const summary = await replayPricePath(f.alice, f.feeds, path, { pace: 300 }); // 300 ms
      expect(summary.pointsPushed).to.equal(4);
      expect(summary.elapsedMs).to.be.within(290, 5_000);
    });

    it("stops when the signal aborts, between points or while waiting, and resumes at nextIndex", async () => {
      const f = await networkHelpers.loadFixture(oracleFixture);
      const path = await readPricePath(CSV_FILE);
      const controller = new AbortController();
      const summary = await replayPricePath(f.alice, f.feeds, path, {
        pace: "asap",
        signal: controller.signal,
        onProgress: ({ index }) => {
          if (index === 1) controller.abort();
        },
      });
      expect(summary).to.deep.include({ pointsPushed: 2, nextIndex: 2, cancelled: true });
      expect((await f.d.oracle.getPrice(ETH_KEY)).price).to.equal(w("2950.5"));

      const resumed = await replayPricePath(f.alice, f.feeds, path, { pace: "asap", fromIndex: summary.nextIndex });
      expect(resumed).to.deep.include({ pointsPushed: 3, nextIndex: 5, cancelled: false });
      expect((await f.d.oracle.getPrice(ETH_KEY)).price).to.equal(w("2905.75"));

      // A slow pace (a minute per point) is cut short while it waits for the second point.
      const waiting = new AbortController();
      setTimeout(() => waiting.abort(), 50);
      const began = performance.now();
      const cut = await replayPricePath(f.alice, f.feeds, path, { pace: 1, signal: waiting.signal });
      expect(cut).to.deep.include({ pointsPushed: 1, nextIndex: 1, cancelled: true });
      expect(performance.now() - began).to.be.below(5_000);
    });
  });

  it("toWadPrice converts decimal strings exactly", () => {
    expect(toWadPrice("0.1")).to.equal(10n ** 17n);
    expect(toWadPrice(" 123456789.123456789123456789 ")).to.equal(123456789123456789123456789n);
    expect(toWadPrice(7n)).to.equal(7n);
  });
});
