/**
 * `npm run bench`: measures the gas of the main operations, whole-transaction (21,000 base included),
 * on the embedded chain, and writes them to reports/gas.json (operation → gas), merged with the keys
 * other layers' benchmarks write. Figures are deterministic for a given compiler and settings.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import path from "node:path";

import { network } from "hardhat";
import { parseUnits, type ContractTransactionResponse } from "ethers";

import { deployLocalFoundation } from "../deploy/local.js";
import { accountBucket } from "../sdk/src/client/buckets.js";
import { orderDomain, signOrder } from "../sdk/src/execution/orders.js";
import { printGasTrace } from "./lib/gasTrace.js";

/**
 * Targets from the issues; exceeding one fails the run. Where a target is not met (issue #3's margin-checked
 * paths: see README, "Gas"), the figure is held to a `budget` instead — today's measurement rounded up — so
 * that no change makes it worse unnoticed, and the target is reported beside it.
 */
const TARGETS: Record<string, { gas: number; budget?: number }> = {
  "vault.deposit.first": { gas: 90_000 },
  "vault.deposit": { gas: 65_000 },
  "vault.withdraw": { gas: 90_000 },
  "clearing.settle": { gas: 70_000 },
  "clearing.withdraw.withPositions": { gas: 130_000, budget: 192_000 },
  "clearing.liquidate.partial": { gas: 150_000, budget: 228_000 },
  "clearing.liquidate.backstop": { gas: 200_000, budget: 230_000 },
  "clearing.liquidate.backstop.noDeficit": { gas: 200_000, budget: 211_000 },
  // Issue #4: the targets are reported, today's figures held as budgets (README, "Gas").
  "execution.settleMatch": { gas: 250_000, budget: 333_000 },
  "execution.settleMatch.refill": { gas: 250_000, budget: 299_000 },
  "execution.poolTrade.open": { gas: 200_000, budget: 320_000 },
  "execution.poolTrade.increase": { gas: 150_000, budget: 268_000 },
  "execution.poolTrade.close": { gas: 150_000, budget: 244_000 },
  // 79,000 until issue #4: the batch's tier-config cache gave way to the execution layer's clearing-house code
  // (the contract's 24,576-byte limit); each account of a batch now reads its tier's config (+2,800).
  "clearing.liquidate.batch.perAccount": { gas: 70_000, budget: 82_000 },
};

/** Contract labels for STRATA_GAS_TRACE=1 breakdowns. */
const labels = new Map<string, string>();
const trace = process.env.STRATA_GAS_TRACE === "1";

async function gasOf(tx: Promise<ContractTransactionResponse>, label?: string): Promise<number> {
  const sent = await tx;
  const receipt = await sent.wait();
  if (receipt === null || receipt.status !== 1) throw new Error("benchmark transaction failed");
  if (trace && label !== undefined) await printGasTrace(ethers.provider, sent.hash, sent.to ?? "", label, labels);
  return Number(receipt.gasUsed);
}

const { ethers } = await network.create();
const { d, controller, executor, users } = await deployLocalFoundation(await ethers.getSigners(), {
  users: 6,
  pools: true,
});
const [alice, bob, trader, maker, lp, keeper] = users;
for (const [name, c] of Object.entries({
  vault: d.vault,
  oracle: d.oracle,
  risk: d.risk,
  clearing: d.clearing,
  liquidation: d.liquidation,
  execution: d.execution,
  manager: d.manager,
})) {
  labels.set((await c.getAddress()).toLowerCase(), name);
}
for (const [symbol, t] of Object.entries(d.tokens)) labels.set(t.address.toLowerCase(), symbol);
for (const [key, a] of Object.entries(d.assets)) {
  if (a.mockPrimary) labels.set((await a.mockPrimary.getAddress()).toLowerCase(), `${key} primary`);
  if (a.mockSecondary) labels.set((await a.mockSecondary.getAddress()).toLowerCase(), `${key} secondary`);
}
for (const [tier, p] of Object.entries(d.pools)) labels.set((await p.getAddress()).toLowerCase(), `pool ${tier}`);
const usdc = d.tokens.USDC!;
const vaultAddress = await d.vault.getAddress();
const amount = parseUnits("1000", usdc.decimals);

// Steady state of a live vault: the token is already held by the vault and the tier has deposits,
// the user holds tokens and has approved the vault (as users do once, usually for more than one deposit).
for (const user of [alice!, bob!]) {
  await (await usdc.mock!.mint(user.address, amount * 10n)).wait();
  await (await usdc.mock!.connect(user).approve(vaultAddress, amount * 10n)).wait();
}
await (await d.vault.connect(bob!).deposit(usdc.address, amount, accountBucket(bob!.address, 0, 0n))).wait();
// The token has left the vault before, so its outflow-limiter slot exists (its very first withdrawal
// ever pays a one-time 17,100 gas more to create that slot).
await (
  await d.vault
    .connect(controller!)
    .withdraw(accountBucket(bob!.address, 0, 0n), usdc.address, amount / 2n, bob!.address)
).wait();

const bucket = accountBucket(alice!.address, 0, 0n);
const gas: Record<string, number> = {};
gas["vault.deposit.first"] = await gasOf(d.vault.connect(alice!).deposit(usdc.address, amount, bucket));
gas["vault.deposit"] = await gasOf(d.vault.connect(alice!).deposit(usdc.address, amount, bucket));
// Free collateral, no positions. Until the clearing house exists, the CONTROLLER role is the route.
gas["vault.withdraw"] = await gasOf(
  d.vault.connect(controller!).withdraw(bucket, usdc.address, amount, alice!.address),
);

// Clearing: a trader with one open position (long 1 ETH in tier pro against a maker), settling a debt
// (a taker fee) against the tier's settlement bucket, which already holds tokens (steady state), and
// withdrawing free collateral while the position stays open.
const PRO = 1;
const ETH = 1;
const traderAccount = accountBucket(trader!.address, PRO, 0n);
const makerAccount = accountBucket(maker!.address, PRO, 0n);
for (const [user, account] of [
  [trader!, traderAccount],
  [maker!, makerAccount],
] as const) {
  const funds = parseUnits("100000", usdc.decimals);
  // Users keep some of the token in their wallets, as they usually do.
  await (await usdc.mock!.mint(user.address, funds + parseUnits("100", usdc.decimals))).wait();
  await (await usdc.mock!.connect(user).approve(vaultAddress, funds)).wait();
  await (await d.vault.connect(user).deposit(usdc.address, funds, account)).wait();
}
const fill = (size: bigint, takerFee: bigint) =>
  d.clearing.connect(executor).applyFill({
    taker: traderAccount,
    maker: makerAccount,
    market: ETH,
    size,
    price: parseUnits("3000", 18),
    takerFee,
    makerFee: parseUnits("1", 18),
    poolFee: 0n,
    protocolFee: 0n,
    protocol: 0n,
  });
await (await fill(parseUnits("1", 18), parseUnits("1.5", 18))).wait();
await (await d.clearing.settle(makerAccount)).wait(); // the settlement bucket now holds tokens
// Tokens have left the tier before: its outflow-limiter slot exists, as in the vault benchmark.
await (
  await d.clearing.connect(maker!).withdraw(makerAccount, usdc.address, parseUnits("1", usdc.decimals), maker!.address)
).wait();
gas["clearing.settle"] = await gasOf(d.clearing.settle(traderAccount), "clearing.settle");
gas["clearing.withdraw.withPositions"] = await gasOf(
  d.clearing.connect(trader!).withdraw(traderAccount, usdc.address, parseUnits("1000", usdc.decimals), trader!.address),
  "clearing.withdraw.withPositions",
);

// Liquidations (tier pro, ETH): accounts with one long position and USDC collateral, the pool funded,
// both ETH feeds moved together so the band stays at its base width.
const eth = d.assets["ETH/USD"]!;
const setEth = async (price: string) => {
  await (await eth.mockPrimary!.updateAnswer(parseUnits(price, 8))).wait();
  await (await eth.mockSecondary!.updateAnswer(parseUnits(price, 18))).wait();
};
const pool = d.pools[PRO]!;
const lpFunds = parseUnits("5000000", usdc.decimals);
await (await usdc.mock!.mint(lp!.address, lpFunds)).wait();
await (await usdc.mock!.connect(lp!).approve(await pool.getAddress(), lpFunds)).wait();
await (await pool.connect(lp!).deposit(lpFunds, lp!.address)).wait();
await setEth("3000");
let nextSubId = 100n;
/**
 * Opens a 60 ETH long at 3,000 with 10,000 USDC of collateral (18x) in a fresh account of `trader`, paying
 * a 5 bps taker fee as takers do.
 */
const openLong = async () => {
  const account = accountBucket(trader!.address, PRO, nextSubId++);
  const funds = parseUnits("10000", usdc.decimals);
  await (await usdc.mock!.mint(trader!.address, funds)).wait();
  await (await usdc.mock!.connect(trader!).approve(vaultAddress, funds)).wait();
  await (await d.vault.connect(trader!).deposit(usdc.address, funds, account)).wait();
  await (
    await d.clearing.connect(executor).applyFill({
      taker: account,
      maker: makerAccount,
      market: ETH,
      size: parseUnits("60", 18),
      price: parseUnits("3000", 18),
      takerFee: parseUnits("90", 18),
      makerFee: 0n,
      poolFee: 0n,
      protocolFee: 0n,
      protocol: 0n,
    })
  ).wait();
  return account;
};
// The maker's side needs margin for all these shorts.
const makerTopUp = parseUnits("3000000", usdc.decimals);
await (await usdc.mock!.mint(maker!.address, makerTopUp)).wait();
await (await usdc.mock!.connect(maker!).approve(vaultAddress, makerTopUp)).wait();
await (await d.vault.connect(maker!).deposit(usdc.address, makerTopUp, makerAccount)).wait();
// Steady state of a live tier: the keeper has been paid before (its account's cash is not zero), and the pool
// holds inventory from earlier liquidations, so funding moves, open positions carry a funding index and the
// pool's funding has been settled before.
const warmUps = [await openLong(), await openLong()];
await setEth("2905");
for (const account of warmUps) await (await d.liquidation.connect(keeper!).liquidate(account, ETH, 0n)).wait();
await setEth("3000");
const partialTarget = await openLong();
const backstopTarget = await openLong();
const takeoverTarget = await openLong();
const batch = [];
for (let i = 0; i < 20; i++) batch.push(await openLong());
const single = await openLong();

await setEth("2905"); // below MM, above the backstop margin
gas["clearing.liquidate.partial"] = await gasOf(
  d.liquidation.connect(keeper!).liquidate(partialTarget, ETH, 0n),
  "clearing.liquidate.partial",
);
const batchOne = await gasOf(d.liquidation.connect(keeper!).liquidateBatch([single], [ETH]), "batch of 1");
const batchAll = await gasOf(
  d.liquidation.connect(keeper!).liquidateBatch(
    batch,
    batch.map(() => ETH),
  ),
  "batch of 20",
);
gas["clearing.liquidate.batch.perAccount"] = Math.round((batchAll - batchOne) / (batch.length - 1));
await setEth("2850"); // equity positive but under the backstop margin: a takeover with no deficit
const takeover = await d.liquidation.preview(takeoverTarget, ETH);
if (!takeover.backstop || takeover.equity <= 0n)
  throw new Error("benchmark setup: expected a takeover without a deficit");
gas["clearing.liquidate.backstop.noDeficit"] = await gasOf(
  d.liquidation.connect(keeper!).liquidate(takeoverTarget, ETH, 0n),
  "clearing.liquidate.backstop.noDeficit",
);
await setEth("2800"); // negative equity: backstop takeover and the waterfall
gas["clearing.liquidate.backstop"] = await gasOf(
  d.liquidation.connect(keeper!).liquidate(backstopTarget, ETH, 0n),
  "clearing.liquidate.backstop",
);

// Execution: two signed orders settled by a third party, both accounts already holding a position in the
// market (an increase for both). `execution.settleMatch` uses two fresh orders (the first fill of each writes
// its fill slot); `execution.settleMatch.refill` fills the same two orders again (partial fills).
{
  const domain = orderDomain((await ethers.provider.getNetwork()).chainId, await d.execution.getAddress());
  await setEth("3000");
  const now = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
  let nonce = 1n;
  const order = (account: bigint, size: bigint, limit: string) => ({
    account,
    market: ETH,
    size,
    limitPrice: parseUnits(limit, 18),
    reduceOnly: false,
    expiry: now + 3_600n,
    nonce: nonce++,
  });
  const pair = async () => ({
    sell: await signOrder(maker!, domain, order(makerAccount, -parseUnits("10", 18), "3000")),
    buy: await signOrder(trader!, domain, order(traderAccount, parseUnits("10", 18), "3001")),
  });
  const warm = await pair();
  await (await d.execution.connect(keeper!).settleMatch(warm.sell, warm.buy, parseUnits("1", 18))).wait();
  const fresh = await pair();
  gas["execution.settleMatch"] = await gasOf(
    d.execution.connect(keeper!).settleMatch(fresh.sell, fresh.buy, parseUnits("1", 18)),
    "execution.settleMatch",
  );
  gas["execution.settleMatch.refill"] = await gasOf(
    d.execution.connect(keeper!).settleMatch(fresh.sell, fresh.buy, parseUnits("1", 18)),
    "execution.settleMatch.refill",
  );
}

// Pool trades (tier pro, ETH) by an account that has traded before (its cash is not zero) against the pool,
// which holds inventory: open a new position, increase it, close it.
{
  const account = accountBucket(trader!.address, PRO, 900n);
  const funds = parseUnits("100000", usdc.decimals);
  await (await usdc.mock!.mint(trader!.address, funds)).wait();
  await (await usdc.mock!.connect(trader!).approve(vaultAddress, funds)).wait();
  await (await d.vault.connect(trader!).deposit(usdc.address, funds, account)).wait();
  const buy = (size: string) =>
    d.execution.connect(trader!).tradeWithPool(account, ETH, parseUnits(size, 18), parseUnits("3100", 18), false);
  const sell = (size: string) =>
    d.execution.connect(trader!).tradeWithPool(account, ETH, -parseUnits(size, 18), parseUnits("2900", 18), true);
  await (await buy("1")).wait();
  await (await sell("1")).wait(); // flat again, cash not zero
  gas["execution.poolTrade.open"] = await gasOf(buy("1"), "execution.poolTrade.open");
  gas["execution.poolTrade.increase"] = await gasOf(buy("1"), "execution.poolTrade.increase");
  gas["execution.poolTrade.close"] = await gasOf(sell("2"), "execution.poolTrade.close");
}

const reportPath = path.resolve("reports", "gas.json");
mkdirSync(path.dirname(reportPath), { recursive: true });
const previous: Record<string, number> = existsSync(reportPath)
  ? (JSON.parse(readFileSync(reportPath, "utf8")) as Record<string, number>)
  : {};
const merged = { ...previous, ...gas };
const sorted = Object.fromEntries(Object.entries(merged).sort(([a], [b]) => a.localeCompare(b)));
writeFileSync(reportPath, `${JSON.stringify(sorted, null, 2)}\n`);

console.log("operation                                gas     target     budget");
let over = 0;
for (const [op, used] of Object.entries(gas)) {
  const target = TARGETS[op];
  let verdict = "";
  if (target !== undefined && used > target.gas) {
    const limit = target.budget;
    if (limit === undefined || used > limit) {
      over++;
      verdict = "  OVER";
    } else {
      verdict = "  over target, within budget";
    }
  }
  console.log(
    `${op.padEnd(36)} ${String(used).padStart(8)}  ${target === undefined ? "" : `<= ${target.gas}`.padEnd(9)}  ` +
      `${target?.budget === undefined ? "".padEnd(9) : `<= ${target.budget}`}${verdict}`,
  );
}
console.log(`\nwrote ${path.relative(process.cwd(), reportPath)}`);
if (over > 0) {
  console.error(`${over} operation(s) over their target or budget`);
  process.exitCode = 1;
}
