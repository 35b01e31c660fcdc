import { expect } from "chai";

import {
  addPosition,
  backstopReward,
  closeSize,
  collateralLiquidation,
  collateralValue,
  convertToAssets,
  convertToShares,
  DAY,
  emptyHealth,
  equity,
  excessAfter,
  fundingIndexNow,
  health,
  impacted,
  inBand,
  increases,
  isImproved,
  keeperShareBps,
  MAX_SIZE,
  MirroredRevertError,
  partialPlan,
  plan,
  poolTradeFee,
  previewDeposit,
  previewLiquidation,
  previewMint,
  previewRedeem,
  previewWithdraw,
  quotePoolTrade,
  scaled,
  sharePrice,
  tokenWeightedValue,
  totalAssets,
  WAD,
  withdrawableAssets,
  type CollateralRisk,
  type Health,
  type MarginParams,
  type PoolQuoteInput,
} from "../../sdk/src/math/index.js";
import { PriceFlag } from "../../sdk/src/oracle/flags.js";
import type { OraclePrice } from "../../sdk/src/oracle/price.js";

// Hand-computed figures for every function of the math mirror; mathDifferential.test.ts compares them with the
// contracts over random states.

const w = (units: bigint): bigint => units * WAD;
/** `x` tenths of a quote or base unit, in WAD. */
const tenths = (x: bigint): bigint => (x * WAD) / 10n;
const NO_BRACKETS = { bracketNotional1: 0n, bracketAddBps1: 0n, bracketNotional2: 0n, bracketAddBps2: 0n };
/** The pro tier's ETH settings of deploy/local.ts, without its brackets. */
const PRO: MarginParams = {
  ...NO_BRACKETS,
  ratios: { imr: 500n, mmr: 250n, bmr: 120n },
  maxFundingBpsPerDay: 10n,
  fundingSkewScale: w(1_000n),
  liquidationPenaltyBps: 100n,
  keeperShareBps: 3_000n,
  keeperRewardCap: w(1_000n),
};
const UNLISTED: CollateralRisk = { listed: false, weightBps: 0n, excessWeightBps: 0n, sizeThreshold: 0n };
const WETH_RISK: CollateralRisk = { listed: true, weightBps: 7_500n, excessWeightBps: 5_000n, sizeThreshold: 0n };
const band = (mid: bigint, lower: bigint, upper: bigint, flags = 0n): OraclePrice => ({
  price: mid,
  lower,
  upper,
  flags,
});

/** The revert the SDK raises from `f`, or a failed assertion. */
function revertOf(f: () => unknown): { name: string; args: readonly bigint[] } {
  try {
    f();
  } catch (e) {
    if (e instanceof MirroredRevertError) return { name: e.errorName, args: e.args };
    throw e;
  }
  expect.fail("expected a mirrored revert");
}

describe("SDK math mirror: hand-computed figures", () => {
  describe("PositionMath.increases", () => {
    it("opens, increases and flips add risk; reductions and closes do not", () => {
      expect(increases(0n, 1n)).to.equal(true);
      expect(increases(5n, 2n)).to.equal(true);
      expect(increases(5n, -3n)).to.equal(false);
      expect(increases(5n, -5n)).to.equal(false);
      expect(increases(5n, -8n)).to.equal(true);
      expect(increases(-5n, 8n)).to.equal(true);
      expect(increases(-5n, 5n)).to.equal(false);
    });
  });

  describe("funding (ClearingHouse._fundingIndexNow)", () => {
    it("moves the index by rate × price × elapsed / (1 day × WAD) at a rate set by the pool's inventory", () => {
      const f = fundingIndexNow(
        { fundingIndex: 0n, lastFundingUpdate: 1_000n, poolSize: -w(500n) },
        w(3_000n),
        PRO,
        1_000n + DAY,
      );
      expect(f).to.deep.equal({ index: 15n * 10n ** 17n, ratePerDayWad: 5n * 10n ** 14n });
    });

    it("truncates the rate and the move towards zero, as Solidity's signed division does", () => {
      // −10^15 × 1 / 10^21 is −10^-6: 0, where a floor would give −1.
      expect(
        fundingIndexNow({ fundingIndex: 7n, lastFundingUpdate: 1n, poolSize: 1n }, w(3_000n), PRO, 2n),
      ).to.deep.equal({
        index: 7n,
        ratePerDayWad: 0n,
      });
      // −5 bps/day for 1 s at 3,000: −17,361,111,111,111.1 wei, truncated to …111 (a floor would give …112).
      expect(
        fundingIndexNow({ fundingIndex: 0n, lastFundingUpdate: 10n, poolSize: w(500n) }, w(3_000n), PRO, 11n),
      ).to.deep.equal({
        index: -17_361_111_111_111n,
        ratePerDayWad: -5n * 10n ** 14n,
      });
    });

    it("clamps the rate at the largest, and stands still without a pool, a skew scale or a first accrual", () => {
      const s = { fundingIndex: 3n, lastFundingUpdate: 100n };
      expect(fundingIndexNow({ ...s, poolSize: -w(5_000n) }, w(3_000n), PRO, 100n).ratePerDayWad).to.equal(10n ** 15n);
      expect(fundingIndexNow({ ...s, poolSize: w(5_000n) }, w(3_000n), PRO, 100n).ratePerDayWad).to.equal(
        -(10n ** 15n),
      );
      expect(fundingIndexNow({ ...s, poolSize: null }, w(3_000n), PRO, 200n)).to.deep.equal({
        index: 3n,
        ratePerDayWad: 0n,
      });
      expect(
        fundingIndexNow({ ...s, poolSize: -w(1n) }, w(3_000n), { ...PRO, fundingSkewScale: 0n }, 200n),
      ).to.deep.equal({
        index: 3n,
        ratePerDayWad: 0n,
      });
      const first = fundingIndexNow(
        { fundingIndex: 0n, lastFundingUpdate: 0n, poolSize: -w(500n) },
        w(3_000n),
        PRO,
        10n ** 9n,
      );
      expect(first).to.deep.equal({ index: 0n, ratePerDayWad: 5n * 10n ** 14n });
    });
  });

  describe("collateral (ClearingHouse._weightedValue)", () => {
    const eth = band(w(3_000n), w(2_997n), w(3_003n));

    it("values the quote token at par and another at its low side with its weight, rounded down", () => {
      expect(tokenWeightedValue({ balance: 1_500_000n, isQuote: true, decimals: 6n, risk: UNLISTED }, 6n)).to.equal(
        15n * 10n ** 17n,
      );
      const risk = { listed: true, weightBps: 8_000n, excessWeightBps: 6_000n, sizeThreshold: 0n };
      expect(tokenWeightedValue({ balance: w(2n), isQuote: false, decimals: 18n, risk, price: eth }, 6n)).to.equal(
        4_795_200_000_000_000_000_000n,
      );
      // 3 wei of WETH at 2,997: 8,991 wei, weighted 80%: 7,192.8, rounded down.
      expect(tokenWeightedValue({ balance: 3n, isQuote: false, decimals: 18n, risk, price: eth }, 6n)).to.equal(7_192n);
      // 1 satoshi of 8-decimal BTC at a low side of 59,999.999999999999999999: rounded down to 599,999,999,999,999 wei.
      const btc = band(w(60_000n), w(60_000n) - 1n, w(60_000n));
      expect(
        tokenWeightedValue(
          { balance: 1n, isQuote: false, decimals: 8n, risk: { ...risk, weightBps: 10_000n }, price: btc },
          6n,
        ),
      ).to.equal(599_999_999_999_999n);
    });

    it("applies the excess weight above the size threshold", () => {
      const risk = { listed: true, weightBps: 8_000n, excessWeightBps: 6_000n, sizeThreshold: w(5_000_000n) };
      const c = { balance: w(2_000n), isQuote: false, decimals: 18n, risk, price: eth };
      // 5,994,000 of value: 5,000,000 × 80% + 994,000 × 60%.
      expect(tokenWeightedValue(c, 6n)).to.equal(w(4_596_400n));
    });

    it("counts nothing for an unlisted token or a zero balance, and needs a price only for a listed one", () => {
      expect(tokenWeightedValue({ balance: w(1n), isQuote: false, decimals: 18n, risk: UNLISTED }, 6n)).to.equal(0n);
      expect(tokenWeightedValue({ balance: 0n, isQuote: false, decimals: 18n, risk: WETH_RISK }, 6n)).to.equal(0n);
      const none = band(0n, 0n, 0n, PriceFlag.UNAVAILABLE);
      expect(
        revertOf(() =>
          tokenWeightedValue({ balance: 1n, isQuote: false, decimals: 18n, risk: WETH_RISK, price: none }, 6n),
        ),
      ).to.deep.equal({
        name: "ClearingPriceUnavailable",
        args: [],
      });
      expect(
        collateralValue(
          [
            { balance: 1_000_000n, isQuote: true, decimals: 6n, risk: UNLISTED },
            { balance: 10n ** 8n, isQuote: false, decimals: 8n, risk: UNLISTED },
          ],
          6n,
        ),
      ).to.equal(WAD);
    });
  });

  describe("health (ClearingHouse._health)", () => {
    it("adds collateral, cash, PnL at the conservative sides, pending funding and requirements at the high side", () => {
      const ethRead = band(w(3_000n), w(2_990n), w(3_010n));
      const btcRead = band(w(60_000n), w(59_900n), w(60_100n));
      const h = health({
        quoteDecimals: 6n,
        collateral: [
          { balance: 10_000_000_000n, isQuote: true, decimals: 6n, risk: UNLISTED },
          { balance: w(2n), isQuote: false, decimals: 18n, risk: WETH_RISK, price: ethRead },
        ],
        cash: -w(100n),
        positions: [
          {
            // Long 1 ETH from 3,000; the index rose by 2 since its snapshot: it owes 2.
            position: { size: WAD, openNotional: w(3_000n), fundingIndex: 0n },
            market: {
              params: PRO,
              price: ethRead,
              funding: { fundingIndex: w(2n), lastFundingUpdate: 50n, poolSize: -w(300n) },
            },
          },
          {
            // Short 0.5 BTC from 60,000; the index fell by 1 (never accrued since): a short owes 0.5.
            position: { size: -WAD / 2n, openNotional: -w(30_000n), fundingIndex: 0n },
            market: {
              params: PRO,
              price: btcRead,
              funding: { fundingIndex: -WAD, lastFundingUpdate: 0n, poolSize: w(7n) },
            },
          },
        ],
        now: 50n,
      });
      expect(h).to.deep.equal({
        collateralValue: w(14_485n), // 10,000 + 2 × 2,990 × 75%
        cash: -w(100n),
        unrealizedPnl: -w(60n), // 2,990 − 3,000 and 30,000 − 30,050
        unrealizedLoss: -w(60n),
        pendingFunding: tenths(25n),
        equity: tenths(143_225n),
        im: w(1_653n), // 5% of 3,010 + 5% of 30,050
        mm: tenths(8_265n),
        backstop: 396_720_000_000_000_000_000n,
        positions: 2n,
      });
    });

    it("rounds a short's value and every notional against the account", () => {
      const h = emptyHealth();
      // Short 1 wei at a high side of 3,010.5: worth −3,010.5 wei, rounded to −3,011; notional 3,011 wei.
      addPosition(
        h,
        { size: -1n, openNotional: -3_000n, fundingIndex: 0n },
        band(w(3_000n), w(2_990n), tenths(30_105n)),
        PRO,
        0n,
      );
      expect([h.unrealizedPnl, h.unrealizedLoss, h.im, h.mm, h.backstop]).to.deep.equal([-11n, -11n, 151n, 76n, 37n]);
      expect(equity({ ...h, collateralValue: 100n, cash: -10n, pendingFunding: 2n })).to.equal(77n);
    });

    it("reverts as the view does when a position's market has no price", () => {
      const none = band(0n, 0n, 0n, PriceFlag.UNAVAILABLE);
      const input = {
        quoteDecimals: 6n,
        collateral: [],
        cash: 0n,
        positions: [
          {
            position: { size: 1n, openNotional: 1n, fundingIndex: 0n },
            market: { params: PRO, price: none, funding: { fundingIndex: 0n, lastFundingUpdate: 0n, poolSize: null } },
          },
        ],
        now: 1n,
      };
      expect(revertOf(() => health(input)).name).to.equal("ClearingPriceUnavailable");
    });
  });

  describe("LiquidationMath", () => {
    // Long 10 ETH, band [2,000, 2,010]: MM 502.5 and backstop margin 241.2 at the high side, equity 400.
    const size = w(10n);
    const b = { lower: w(2_000n), upper: w(2_010n) };
    const h: Health = {
      ...emptyHealth(),
      equity: w(400n),
      mm: tenths(5_025n),
      backstop: tenths(2_412n),
      positions: 1n,
    };

    it("closeSize: the smallest close restoring MM + 10%, rounded up; all of it for dust or no gain per unit", () => {
      // Target 552.75: a notional of ceil(152.75 / 1.75%) = 8,728.571…429, a size of ceil(… / 2,000).
      expect(closeSize(h, 250n, 100n, b.lower, size)).to.equal(4_364_285_714_285_714_286n);
      expect(closeSize({ ...h, mm: w(1_000n), equity: w(900n) }, 250n, 100n, w(2_000n), size)).to.equal(
        5_714_285_714_285_714_286n,
      );
      expect(closeSize({ ...h, equity: tenths(5_528n) }, 250n, 100n, b.lower, size)).to.equal(0n);
      expect(closeSize(h, 250n, 275n, b.lower, size)).to.equal(size);
      expect(closeSize(h, 250n, 100n, b.lower, w(4n))).to.equal(w(4n));
      // 4.3643 of 4.37: the rest, 0.0057 × 2,000 = 11.4, is above dust; of 4.368 it would be 7.4: all of it.
      expect(closeSize(h, 250n, 100n, b.lower, 437n * 10n ** 16n)).to.equal(4_364_285_714_285_714_286n);
      expect(closeSize(h, 250n, 100n, b.lower, 4_368n * 10n ** 15n)).to.equal(4_368n * 10n ** 15n);
    });

    it("keeperShareBps: the base share at MM, rising linearly to all at the backstop margin, rounded down", () => {
      expect(keeperShareBps({ ...h, mm: 1_000n, backstop: 500n, equity: 750n }, 3_000n)).to.equal(6_500n);
      expect(keeperShareBps(h, 3_000n)).to.equal(5_745n); // 3,000 + 7,000 × 102.5 / 261.3
      expect(keeperShareBps({ ...h, equity: w(600n) }, 3_000n)).to.equal(3_000n);
      expect(keeperShareBps({ ...h, equity: tenths(2_412n) }, 3_000n)).to.equal(10_000n);
      expect(keeperShareBps({ ...h, mm: 5n, backstop: 5n }, 3_000n)).to.equal(10_000n);
    });

    it("plan: the close at the conservative mark, the penalty up, the reward down and capped", () => {
      const p = plan(h, size, b, PRO);
      expect(p).to.deep.equal({
        closeSize: 4_364_285_714_285_714_286n,
        mark: w(2_000n),
        penalty: 87_285_714_285_714_285_720n, // 1% of 8,728.571…572000, rounded up
        reward: 50_145_642_857_142_857_146n, // 57.45% of it, rounded down
        signedClose: 4_364_285_714_285_714_286n,
      });
      expect(plan(h, -size, b, PRO).mark).to.equal(w(2_010n));
      expect(plan(h, -size, b, PRO).signedClose).to.equal(-plan(h, -size, b, PRO).closeSize);
      expect(plan(h, size, b, { ...PRO, keeperRewardCap: 7n }).reward).to.equal(7n);
      // Never more than equity − 1 (the 1 wei the close may round away), nothing from equity 1 or less.
      expect(plan({ ...h, equity: 10n }, size, b, PRO).penalty).to.equal(9n);
      expect(plan({ ...h, equity: 1n }, size, b, PRO).penalty).to.equal(0n);
      expect(plan(h, 0n, b, PRO)).to.deep.equal({
        closeSize: 0n,
        mark: w(2_010n),
        penalty: 0n,
        reward: 0n,
        signedClose: 0n,
      });
      expect(plan(h, size, { lower: 0n, upper: 1n }, PRO).closeSize).to.equal(0n);
    });

    it("scaled: a smaller close pays the penalty in proportion rounded up, the reward rounded down", () => {
      expect(scaled({ closeSize: 4n, mark: 10n, penalty: 7n, reward: 3n, signedClose: -4n }, 2n)).to.deep.equal({
        closeSize: 2n,
        mark: 10n,
        penalty: 4n,
        reward: 1n,
        signedClose: -2n,
      });
    });

    it("backstopReward: the cap, at most the account's own positive equity", () => {
      expect(backstopReward({ ...h, equity: w(400n) }, w(1_000n))).to.equal(w(400n));
      expect(backstopReward({ ...h, equity: w(4_000n) }, w(1_000n))).to.equal(w(1_000n));
      expect(backstopReward({ ...h, equity: -5n }, w(1_000n))).to.equal(0n);
    });

    it("excessAfter and isImproved: the excess over MM before and a lower bound after", () => {
      const p = plan(h, size, b, PRO);
      // MM after: 2.5% of the 5.6357…714 left at 2,010, rounded up; equity falls by the penalty + 1.
      expect(excessAfter(h, size, b.upper, PRO, p)).to.deep.equal({
        before: -w(102n) - WAD / 2n,
        after: 29_519_642_857_142_857_150n,
      });
      expect(isImproved(h, size, b.upper, PRO, p)).to.equal(true);
      // Half of it improves less, still improves.
      const half = scaled(p, p.closeSize / 2n);
      expect(excessAfter(h, size, b.upper, PRO, half).after).to.equal(-36_490_178_571_428_571_426n);
      expect(isImproved(h, size, b.upper, PRO, half)).to.equal(true);
      // In a ramp whose ratios lag a penalty already raised (3% > 2.75%), closing one of two positions in full
      // costs more penalty than MM it frees: refused.
      const ramp = { ...PRO, liquidationPenaltyBps: 300n };
      const two = { ...h, equity: w(900n), mm: w(1_000n), backstop: w(480n), positions: 2n };
      const all = plan(two, size, b, ramp);
      expect([all.closeSize, all.penalty]).to.deep.equal([size, w(600n)]);
      expect(excessAfter(two, size, b.upper, ramp, all)).to.deep.equal({
        before: -w(100n),
        after: -tenths(1_975n) - 1n,
      });
      expect(isImproved(two, size, b.upper, ramp, all)).to.equal(false);
      // Closing an only position in full always passes.
      expect(
        isImproved({ ...h, equity: -w(1_000n) }, size, b.upper, PRO, { ...p, closeSize: size, signedClose: size }),
      ).to.equal(true);
    });

    it("partialPlan: the plan, a keeper's smaller size, and the reverts of the clearing house", () => {
      const p = partialPlan(h, size, b, PRO);
      expect(p).to.deep.equal(plan(h, size, b, PRO));
      const smaller = partialPlan(h, size, b, PRO, p.closeSize / 4n);
      expect(smaller).to.deep.equal(scaled(p, p.closeSize / 4n));
      expect(revertOf(() => partialPlan(h, size, b, PRO, p.closeSize + 1n))).to.deep.equal({
        name: "LiquidationTooLarge",
        args: [p.closeSize, p.closeSize + 1n],
      });
      expect(revertOf(() => partialPlan(h, 0n, b, PRO)).name).to.equal("LiquidationNoPosition");
      expect(revertOf(() => partialPlan(h, size, { lower: 0n, upper: 1n }, PRO)).name).to.equal(
        "LiquidationNoPosition",
      );
      // A healthy account: nothing to close, and equity − 1 − MM is no improvement.
      const healthy = { ...h, equity: w(600n) };
      expect(revertOf(() => partialPlan(healthy, size, b, PRO))).to.deep.equal({
        name: "LiquidationNotImproved",
        args: [tenths(975n), tenths(975n) - 1n],
      });
      const two = { ...h, equity: w(900n), mm: w(1_000n), backstop: w(480n), positions: 2n };
      expect(revertOf(() => partialPlan(two, size, b, { ...PRO, liquidationPenaltyBps: 300n }))).to.deep.equal({
        name: "LiquidationNotImproved",
        args: [-w(100n), -tenths(1_975n) - 1n],
      });
    });

    it("previewLiquidation: healthy, partial, backstop with and without a deficit, and the market checks", () => {
      const market = { size, params: PRO, price: band(w(2_005n), b.lower, b.upper) };
      const base = {
        backstop: false,
        equity: w(600n),
        mm: h.mm,
        backstopRequirement: h.backstop,
        closeSize: 0n,
        keeperReward: 0n,
        deficit: 0n,
      };
      expect(previewLiquidation({ ...h, equity: w(600n) }, market)).to.deep.equal({ ...base, liquidatable: false });
      const p = plan(h, size, b, PRO);
      expect(previewLiquidation(h, market)).to.deep.equal({
        ...base,
        liquidatable: true,
        equity: w(400n),
        closeSize: p.closeSize,
        keeperReward: p.reward,
      });
      expect(previewLiquidation({ ...h, equity: w(100n) }, market)).to.deep.equal({
        ...base,
        liquidatable: true,
        backstop: true,
        equity: w(100n),
        keeperReward: w(100n),
      });
      expect(previewLiquidation({ ...h, equity: -w(5n) }, market)).to.deep.equal({
        ...base,
        liquidatable: true,
        backstop: true,
        equity: -w(5n),
        deficit: w(5n),
      });
      // A market the account does not hold, a market the tier does not list, no price: no plan, no reward.
      expect(previewLiquidation(h, { ...market, size: 0n }).closeSize).to.equal(0n);
      expect(previewLiquidation({ ...h, equity: w(100n) }, { ...market, params: undefined }).keeperReward).to.equal(0n);
      expect(previewLiquidation(h, { ...market, price: band(0n, 0n, 0n, PriceFlag.UNAVAILABLE) }).closeSize).to.equal(
        0n,
      );
      // An account with a debt and no position: a takeover with no reward.
      const debtOnly = { ...emptyHealth(), equity: -3n };
      expect(previewLiquidation(debtOnly, { ...market, size: 0n })).to.deep.equal({
        liquidatable: true,
        backstop: true,
        equity: -3n,
        mm: 0n,
        backstopRequirement: 0n,
        closeSize: 0n,
        keeperReward: 0n,
        deficit: 3n,
      });
    });
  });

  describe("BackstopPool shares", () => {
    const empty = { totalSupply: 0n, totalAssets: 0n };

    it("totalAssets: the pool account's equity in quote units, rounded down, 0 when not positive", () => {
      expect(totalAssets(1_234_567_891_234_567_891n, 6n)).to.equal(1_234_567n);
      expect(totalAssets(-5n, 6n)).to.equal(0n);
      expect(totalAssets(0n, 6n)).to.equal(0n);
      expect(totalAssets(5n, 18n)).to.equal(5n);
    });

    it("conversions with 10^6 virtual shares and 1 virtual asset, rounded as OpenZeppelin's ERC-4626", () => {
      expect(convertToShares(1n, empty, "Down")).to.equal(1_000_000n);
      expect(previewDeposit(1_000_000n, empty)).to.equal(10n ** 12n);
      expect(previewMint(1n, empty)).to.equal(1n);
      expect(convertToAssets(1n, empty, "Down")).to.equal(0n);
      const s = { totalSupply: 2n * 10n ** 12n, totalAssets: 2_000_001n };
      expect(convertToAssets(3n * 10n ** 12n, s, "Down")).to.equal(3_000_001n);
      expect(convertToAssets(3n * 10n ** 12n, s, "Up")).to.equal(3_000_002n);
      expect(previewWithdraw(1n, { totalSupply: 10n ** 12n, totalAssets: 2_000_000n })).to.equal(500_001n);
      expect(convertToShares(1n, { totalSupply: 10n ** 12n, totalAssets: 2_000_000n }, "Down")).to.equal(500_000n);
      expect(previewRedeem(999_999n, { totalSupply: 10n ** 12n, totalAssets: 10n ** 6n })).to.equal(0n);
      expect(sharePrice({ totalSupply: 2n * 10n ** 12n, totalAssets: 2_200_001n }, 6n)).to.equal(1_100_000n);
      expect(sharePrice(empty, 6n)).to.equal(1_000_000n);
    });

    it("withdrawableAssets: equity without unrealized profit less IM at the utilisation limit, within the balance after debt", () => {
      const scale = 10n ** 12n;
      const h = { ...emptyHealth(), collateralValue: 10n * scale + 3n, im: 3n, unrealizedPnl: w(50n) };
      // What must stay, 3 / 80% = 3.75, rounds up to 4: 9.999… units, rounded down to 9.
      expect(withdrawableAssets(h, 100n, 8_000n, 6n)).to.equal(9n);
      expect(withdrawableAssets({ ...h, collateralValue: scale + 3n }, 100n, 8_000n, 6n)).to.equal(0n);
      // Funding counts both ways (a receivable too, as BackstopPool.withdrawableAssets reads it); the balance caps.
      expect(withdrawableAssets({ ...h, pendingFunding: -w(1n) }, 100n, 8_000n, 6n)).to.equal(100n);
      expect(withdrawableAssets({ ...h, pendingFunding: 2n * scale }, 100n, 8_000n, 6n)).to.equal(7n);
      // A debt of 1.5 units is settled first as 2 whole units: 5 − 2 = 3 can leave.
      expect(
        withdrawableAssets({ ...h, collateralValue: w(1_000n), cash: -(3n * scale) / 2n }, 5n, 8_000n, 6n),
      ).to.equal(3n);
      expect(withdrawableAssets({ ...h, unrealizedLoss: -w(10n) }, 100n, 8_000n, 6n)).to.equal(0n);
    });
  });

  describe("PoolPricing and the pool quote", () => {
    it("impacted: the average premium over the part of the trade that grows the skew, rounded against the trader", () => {
      expect(impacted(w(3_000n), 0n, w(100n), w(1_000n))).to.equal(w(3_150n));
      expect(impacted(w(3_000n), -w(200n), w(100n), w(1_000n))).to.equal(w(3_000n));
      expect(impacted(w(3_000n), w(5n), w(10n), w(1_000n))).to.equal(w(3_030n)); // (15² − 5²) / (2 × 1,000 × 10)
      expect(impacted(w(3_000n), w(5n), -w(10n), w(1_000n))).to.equal(299_625n * 10n ** 16n); // 5² / 20,000
      expect(impacted(w(3_000n) + 1n, 0n, w(10n), w(1_000n))).to.equal(w(3_015n) + 2n); // 1.005 up
      expect(impacted(w(3_000n) + 1n, 0n, -w(10n), w(1_000n))).to.equal(w(2_985n)); // 0.995 down
      expect(impacted(w(3_000n), 0n, -w(2_000n), w(1_000n))).to.equal(0n);
      expect(impacted(w(3_000n), 0n, w(100n), 0n)).to.equal(w(3_000n));
    });

    it("inBand: within the band, the allowed distance rounded down", () => {
      expect(inBand(w(3_030n), w(3_000n), 100n)).to.equal(true);
      expect(inBand(w(3_030n) + 1n, w(3_000n), 100n)).to.equal(false);
      expect(inBand(w(2_970n), w(3_000n), 100n)).to.equal(true);
      expect(inBand(201n, 199n, 100n)).to.equal(false); // 1% of 199 wei rounds down to 1
    });

    const good = band(w(3_000n), w(2_997n), w(3_003n));
    const q: PoolQuoteInput = {
      position: 0n,
      poolPosition: 0n,
      size: w(10n),
      price: good,
      priceBandBps: 100n,
      skewScale: w(1_000n),
      minPoolSpreadBps: 10n,
      maxConfidenceBps: 2_500n,
    };

    it("a trade that adds risk: the band side with the spread floor and the impact, inside the band", () => {
      expect(quotePoolTrade(q)).to.deep.equal({
        price: 3_018_015n * 10n ** 15n,
        oraclePrice: w(3_000n),
        base: w(3_003n),
        increases: true,
      });
      // The floor (10 bps, rounded up) where the band is narrower.
      const narrow = { ...q, price: band(w(3_000n) + 1n, w(2_999n), w(3_001n)) };
      expect(quotePoolTrade(narrow).base).to.equal(w(3_003n) + 2n);
      expect(quotePoolTrade({ ...narrow, size: -w(10n) }).base).to.equal(w(2_997n));
      expect(revertOf(() => quotePoolTrade({ ...q, size: w(100n) }))).to.deep.equal({
        name: "ExecutionPriceOutsideBand",
        args: [315_315n * 10n ** 16n, w(3_000n), 100n],
      });
    });

    it("an exit: clamped to the band's edge, never better than the base; the widest band on a lagging read", () => {
      // Short 100 buying back while the other traders are net long 800: a 85% impact, held to 3,030.
      expect(quotePoolTrade({ ...q, position: -w(100n), poolPosition: -w(800n), size: w(100n) }).price).to.equal(
        w(3_030n),
      );
      // A stale read: the spread is the asset's widest band (25%), and the clamp never lifts it to the band.
      const stale = {
        ...q,
        position: w(5n),
        poolPosition: -w(5n),
        size: -w(2n),
        price: band(w(3_000n), w(2_950n), w(3_050n), PriceFlag.STALE),
      };
      expect(quotePoolTrade(stale)).to.deep.equal({
        price: w(2_250n),
        oraclePrice: w(3_000n),
        base: w(2_250n),
        increases: false,
      });
      // A spread at or above 100% stops at the mid: a sell's base is 0.
      expect(quotePoolTrade({ ...stale, maxConfidenceBps: 20_000n }).price).to.equal(0n);
      // A lagging flag that is not in UNRELIABLE (a deviation) keeps the floor.
      expect(quotePoolTrade({ ...stale, price: { ...stale.price, flags: PriceFlag.DEVIATION } }).base).to.equal(
        w(2_950n),
      );
    });

    it("the engine's reverts", () => {
      expect(revertOf(() => quotePoolTrade({ ...q, size: 0n })).name).to.equal("ExecutionZeroSize");
      expect(revertOf(() => quotePoolTrade({ ...q, size: -(MAX_SIZE + 1n) }))).to.deep.equal({
        name: "ExecutionSizeTooLarge",
        args: [-(MAX_SIZE + 1n), MAX_SIZE],
      });
      expect(quotePoolTrade({ ...q, size: MAX_SIZE, skewScale: 0n }).price).to.equal(w(3_003n));
      expect(revertOf(() => quotePoolTrade({ ...q, price: band(0n, 0n, 0n, PriceFlag.UNAVAILABLE) })).name).to.equal(
        "ExecutionPriceUnavailable",
      );
      expect(revertOf(() => quotePoolTrade({ ...q, price: band(0n, 0n, 0n) })).name).to.equal(
        "ExecutionPriceUnavailable",
      );
      expect(revertOf(() => quotePoolTrade({ ...q, price: { ...good, flags: PriceFlag.DEVIATION } }))).to.deep.equal({
        name: "OraclePriceNotGood",
        args: [PriceFlag.DEVIATION],
      });
    });

    it("poolTradeFee: the notional rounded down, the fee rounded up", () => {
      expect(poolTradeFee(-w(2n), w(3_000n), 5n)).to.equal(w(3n));
      expect(poolTradeFee(1n, WAD, 5n)).to.equal(1n);
      expect(poolTradeFee(1n, WAD - 1n, 5n)).to.equal(0n);
    });
  });

  describe("collateral liquidation (LiquidationEngine.liquidateCollateral)", () => {
    const base = { quoteDecimals: 6, price: w(3_000n), tokenDecimals: 18, balance: w(10n) };
    it("repays at most the debt rounded up to a quote unit, and seizes 103% of it rounded down", () => {
      expect(collateralLiquidation({ ...base, cash: -w(100n), repay: 500_000_000n })).to.deep.equal({
        repayTokens: 100_000_000n,
        repaid: w(100n),
        seized: 34_333_333_333_333_333n,
        seizedValue: 102_999_999_999_999_999_000n,
      });
      // 1 wei of debt is one whole quote unit (10^12 WAD) to repay.
      expect(collateralLiquidation({ ...base, cash: -1n, repay: 5n }).repayTokens).to.equal(1n);
      // The keeper's cap binds.
      expect(collateralLiquidation({ ...base, cash: -w(100n), repay: 60_000_000n }).repaid).to.equal(w(60n));
    });

    it("never seizes more than the account holds, and does nothing without debt", () => {
      const capped = collateralLiquidation({ ...base, balance: 10n ** 15n, cash: -w(100n), repay: 10n ** 9n });
      expect(capped.seized).to.equal(10n ** 15n);
      expect(capped.seizedValue).to.equal(w(3n)); // 0.001 WETH: worth 3, far below the 100 repaid
      for (const cash of [0n, w(5n)]) {
        expect(collateralLiquidation({ ...base, cash, repay: 10n ** 9n })).to.deep.equal({
          repayTokens: 0n,
          repaid: 0n,
          seized: 0n,
          seizedValue: 0n,
        });
      }
    });
  });
});
