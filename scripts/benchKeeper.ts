/**
 * `npm run bench` (second part): the liquidation keeper under load against a local node, and reports/keeper.json.
 *
 * The node is `anvil` (Foundry's node, `@foundry-rs/anvil`), started on a free port and stopped at the end;
 * `STRATA_BENCH_NODE=hardhat` runs the same against `hardhat node` (Hardhat's EDR traces every call for its stack
 * traces: it scans ≈ 900 accounts/s where anvil scans 3,000–4,000). The suite is deployed as deploy/local.ts
 * does, with pools.
 * 1,000 accounts hold a 6 ETH long in tier pro; the first LIQUIDATABLE of them (18x) cross MM after one price
 * update of both ETH feeds, the rest (9x) stay healthy. The keeper is the real one, built as the CLI builds it
 * (`createKeeper` from its config: the node's URL, the deployment's manifest file, a key from the environment),
 * with the settings in KEEPER. It measures
 * - `scanAccountsPerSecond`: accounts the keeper's own scanner evaluates (`keeper.scanner.scan` over every account
 *   the keeper's indexer found) per second of wall time, over SCAN_ROUNDS full scans after one untimed warm-up;
 * - `blocksToClear`: blocks mined from the price update's block until the keeper's scanner finds no liquidatable
 *   account, the keeper running its real loop (`keeper.step()`: index → scan → plan → simulate → send, a cascade
 *   in liquidateBatch chunks) and its transactions mined like any other.
 *
 * Mining. Setup transactions are mined as they arrive (automine), the 2,000 that open the accounts in blocks of
 * as many as fit once all are sent (anvil). From the price update on, automine is off and
 * a block is mined once every transaction the keeper has in flight is in the mempool and the mempool has not
 * changed for a moment: a chain whose block time is longer than the keeper's reaction time, each block taking
 * whatever the keeper sent before it, within the node's default block gas limit. Nothing else is mined.
 *
 * It fails (exit code 1) when a figure misses its target or a keeper transaction fails.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { HDNodeWallet, JsonRpcProvider, Mnemonic, Network, parseUnits } from "ethers";

import { deployLocalFoundation } from "../deploy/local.js";
import { accountBucket } from "../sdk/src/client/buckets.js";
import {
  createKeeper,
  parseKeeperConfig,
  type AccountStatus,
  type ScannedAccount,
  type StepReport,
} from "../sdk/src/keeper/index.js";
import { startLocalNode, type LocalNodeKind } from "./lib/localNode.js";

const ACCOUNTS = 1_000;
const LIQUIDATABLE = 250;
const SCAN_ROUNDS = 3;
/** Keeper steps allowed before the run gives up on clearing. */
const MAX_STEPS = 10;
/** The keeper's settings under test (the rest are its defaults, sdk/src/keeper/config.ts). */
const KEEPER = { scanBatchSize: 20, concurrency: 8, batchSize: 50, maxInFlight: 8, cascadeThreshold: 3 } as const;
const PRO = 1;
const ETH = 1;
const PRICE_BEFORE = "3000";
const PRICE_AFTER = "2905";
/** The env var the keeper reads its key from: the node's test account #9 (deployLocalFoundation's fourth user). */
const KEY_ENV = "STRATA_BENCH_KEEPER_KEY";
const KEEPER_ACCOUNT_INDEX = 9;

/** Targets from issue #5. */
const TARGETS = {
  scanAccountsPerSecond: { target: 2_000, better: "higher" },
  blocksToClear: { target: 3, better: "lower" },
} as const;

const started = performance.now();
const seconds = (since: number) => (performance.now() - since) / 1000;
const nodeKind = (process.env.STRATA_BENCH_NODE ?? "anvil") as LocalNodeKind;
if (nodeKind !== "anvil" && nodeKind !== "hardhat") throw new Error("STRATA_BENCH_NODE must be anvil or hardhat");

const node = await startLocalNode(nodeKind);
// Interrupted (Ctrl-C, a CI timeout): stop the node too, which runs in a process group of its own.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void node.stop().finally(() => process.exit(130));
  });
}
const dir = await mkdtemp(path.join(tmpdir(), "strata-kbench-"));
try {
  await bench();
} finally {
  await node.stop();
  await rm(dir, { recursive: true, force: true });
}

async function bench(): Promise<void> {
  // The bench's own connection (setup, mining): no request batching (a 10 ms stall each), no result cache.
  const provider = new JsonRpcProvider(node.url, Network.from(31337), {
    staticNetwork: true,
    cacheTimeout: -1,
    pollingInterval: 50,
    batchMaxCount: 1,
  });
  const signers = await Promise.all(Array.from({ length: 10 }, (_, i) => provider.getSigner(i)));
  const manifestPath = path.join(dir, "localhost.json");

  // ---- Setup.
  const setupStarted = performance.now();
  const { d, executor, users } = await deployLocalFoundation(signers, {
    users: 4,
    pools: true,
    deploy: { manifestPath },
  });
  const [trader, maker, lp, keeperSigner] = users as [
    (typeof users)[0],
    (typeof users)[0],
    (typeof users)[0],
    (typeof users)[0],
  ];
  const deploySeconds = seconds(setupStarted);
  const usdc = d.tokens.USDC!;
  const token = usdc.mock!;
  const vaultAddress = await d.vault.getAddress();
  const clearingAddress = await d.clearing.getAddress();
  const eth = d.assets["ETH/USD"]!;
  const usd = (x: string) => parseUnits(x, usdc.decimals);
  await (await eth.mockPrimary!.updateAnswer(parseUnits(PRICE_BEFORE, 8))).wait();
  await (await eth.mockSecondary!.updateAnswer(parseUnits(PRICE_BEFORE, 18))).wait();

  // The pool (takes over what partial liquidations close) and the maker (the short side of every long).
  const makerAccount = accountBucket(maker.address, PRO, 0n);
  for (const [user, spender, funds] of [
    [lp, await d.pools[PRO]!.getAddress(), usd("5000000")],
    [maker, vaultAddress, usd("10000000")],
  ] as const) {
    await (await token.mint(user.address, funds)).wait();
    await (await token.connect(user).approve(spender, funds)).wait();
  }
  await (await d.pools[PRO]!.connect(lp).deposit(usd("5000000"), lp.address)).wait();
  await (await d.vault.connect(maker).deposit(usdc.address, usd("10000000"), makerAccount)).wait();

  // ACCOUNTS accounts of `trader`: a 6 ETH long at 3,000 each, 1,000 USDC of collateral (18x: under MM at 2,905)
  // for the first LIQUIDATABLE, 2,000 USDC (9x: healthy at 2,905) for the others.
  const collateralOf = (i: number) => usd(i < LIQUIDATABLE ? "1000" : "2000");
  const accounts = Array.from({ length: ACCOUNTS }, (_, i) => accountBucket(trader.address, PRO, BigInt(i + 1)));
  const total = accounts.reduce((sum, _, i) => sum + collateralOf(i), 0n);
  await (await token.mint(trader.address, total)).wait();
  await (await token.connect(trader).approve(vaultAddress, total)).wait();

  /**
   * Sends `data[i]` from `from` to `to` one after the other (the node numbers them: concurrent sends with explicit
   * nonces can reach anvil out of order and stay queued) and waits until all are mined. On anvil automine is off
   * meanwhile and blocks are mined once all are sent (~1 ms a transaction; ~7 ms mined one per block); Hardhat's
   * node keeps automine (its mempool slows down quadratically with the transactions it holds).
   */
  const sendAll = async (from: string, to: string, data: string[], gas: number) => {
    const nonce = await provider.getTransactionCount(from, "pending");
    if (nodeKind === "anvil") await provider.send("evm_setAutomine", [false]);
    for (const input of data) {
      await provider.send("eth_sendTransaction", [{ from, to, data: input, gas: `0x${gas.toString(16)}` }]);
    }
    for (let blocks = 0; (await provider.getTransactionCount(from, "latest")) < nonce + data.length; blocks++) {
      if (blocks > data.length) throw new Error(`benchmark setup: transactions from ${from} are not mined`);
      await provider.send("evm_mine", []);
    }
    await provider.send("evm_setAutomine", [true]);
  };
  const deposits = accounts.map((account, i) =>
    d.vault.interface.encodeFunctionData("deposit", [usdc.address, collateralOf(i), account]),
  );
  const fills = accounts.map((account) =>
    d.clearing.interface.encodeFunctionData("applyFill", [
      {
        taker: account,
        maker: makerAccount,
        market: ETH,
        size: parseUnits("6", 18),
        price: parseUnits(PRICE_BEFORE, 18),
        takerFee: parseUnits("9", 18),
        makerFee: 0n,
        poolFee: 0n,
        protocolFee: 0n,
        protocol: 0n,
      },
    ]),
  );
  await sendAll(trader.address, vaultAddress, deposits, 200_000);
  await sendAll(executor.address, clearingAddress, fills, 1_000_000);
  // Every fill went through (a fill without its deposit fails its margin check): the maker is short them all.
  const makerSize = (await d.clearing.position(makerAccount, ETH)).size;
  if (makerSize !== -parseUnits(String(6 * ACCOUNTS), 18)) {
    throw new Error(`benchmark setup: the maker is short ${makerSize}, not ${6 * ACCOUNTS} ETH`);
  }
  const setupSeconds = seconds(setupStarted);

  // ---- The keeper, as `strata keeper` builds it (sdk/src/cli/keeper.ts → runKeeper → createKeeper): its config
  // (the node's URL, the manifest file), the key from the environment variable it names, its own connection.
  process.env[KEY_ENV] = HDNodeWallet.fromMnemonic(
    Mnemonic.fromPhrase("test test test test test test test test test test test junk"),
    `m/44'/60'/0'/0/${KEEPER_ACCOUNT_INDEX}`,
  ).privateKey;
  const config = parseKeeperConfig({
    rpcUrl: node.url,
    manifestPath,
    privateKeyEnv: KEY_ENV,
    stateFile: path.join(dir, "keeper-state.json"),
    confirmations: 0,
    logRange: 10_000,
    metricsPort: 0,
    logLevel: "silent",
    // Replacement is not under test (a block follows every send within ~0.1 s); bumpAfterMs / 4 is also how
    // often the sender looks for receipts.
    bumpAfterMs: 400,
    ...KEEPER,
  });
  const keeper = await createKeeper(config);
  delete process.env[KEY_ENV];
  if (keeper.keeperAddress !== keeperSigner.address) throw new Error("benchmark setup: unexpected keeper account");
  await keeper.indexer.poll();
  const known = keeper.indexer.accounts;
  const found = new Set(known);
  if (!accounts.every((a) => found.has(a))) throw new Error("benchmark setup: the indexer missed accounts");

  const needsLiquidation = (s: ScannedAccount) => s.status === "liquidatable" || s.status === "backstop";
  const countByStatus = (scanned: readonly ScannedAccount[]) => {
    const counts: Partial<Record<AccountStatus, number>> = {};
    for (const s of scanned) counts[s.status] = (counts[s.status] ?? 0) + 1;
    return counts;
  };
  const fallbacks = async () => (await keeper.metrics.scanBatchFallbacks.get()).values[0]?.value ?? 0;

  // ---- Scan throughput: one untimed warm-up scan, then SCAN_ROUNDS timed full scans.
  const warmUp = await keeper.scanner.scan(known);
  if (warmUp.some(needsLiquidation)) throw new Error("benchmark setup: an account is liquidatable before the update");
  let scannedTotal = 0;
  const roundSeconds: number[] = [];
  for (let round = 0; round < SCAN_ROUNDS; round++) {
    const t0 = performance.now();
    const result = await keeper.scanner.scan(known);
    roundSeconds.push(seconds(t0));
    scannedTotal += result.length;
  }
  const scanSeconds = roundSeconds.reduce((a, b) => a + b, 0);
  const accountsScanned = scannedTotal / SCAN_ROUNDS;
  const scanAccountsPerSecond = Math.round(scannedTotal / scanSeconds);

  // ---- One price update (both feeds, one block), then keeper steps until nothing is liquidatable.
  await provider.send("evm_setAutomine", [false]);
  const pendingCount = async (): Promise<number> => {
    const block = (await provider.send("eth_getBlockByNumber", ["pending", false])) as { transactions: string[] };
    return block.transactions.length;
  };
  const updates = [
    await eth.mockPrimary!.updateAnswer(parseUnits(PRICE_AFTER, 8)),
    await eth.mockSecondary!.updateAnswer(parseUnits(PRICE_AFTER, 18)),
  ];
  if ((await pendingCount()) !== updates.length) throw new Error("benchmark setup: the price update is not pending");
  await provider.send("evm_mine", []);
  for (const u of updates) if ((await u.wait())?.status !== 1) throw new Error("benchmark setup: price update failed");
  const priceBlock = await provider.getBlockNumber();
  const afterUpdate = await keeper.scanner.scan(keeper.indexer.accounts);
  const liquidatable = afterUpdate.filter(needsLiquidation).length;
  if (liquidatable < 200) throw new Error(`benchmark setup: only ${liquidatable} accounts are liquidatable`);

  /**
   * The block producer: mines a block once every transaction the keeper has in flight is in the mempool and the
   * mempool has not changed for STABLE_POLLS polls; stops when `done` says so.
   */
  const produceBlocks = async (done: () => boolean): Promise<void> => {
    const STABLE_POLLS = 3;
    let last = -1;
    let stable = 0;
    while (!done()) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const count = await pendingCount();
      stable = count > 0 && count === last && count >= (keeper.sender?.pending ?? 0) ? stable + 1 : 0;
      last = count;
      if (stable >= STABLE_POLLS) {
        await provider.send("evm_mine", []);
        last = -1;
        stable = 0;
      }
    }
  };
  const steps: StepReport[] = [];
  const remainingAfterStep: number[] = [];
  const clearStarted = performance.now();
  for (let remaining = liquidatable; remaining > 0 && steps.length < MAX_STEPS;) {
    let finished = false;
    const producing = produceBlocks(() => finished);
    try {
      steps.push(await keeper.step());
    } finally {
      finished = true;
      await producing;
    }
    remaining = (await keeper.scanner.scan(keeper.indexer.accounts)).filter(needsLiquidation).length;
    remainingAfterStep.push(remaining);
  }
  const clearSeconds = seconds(clearStarted);
  const blocksToClear = (await provider.getBlockNumber()) - priceBlock;
  if ((await pendingCount()) !== 0) throw new Error("a keeper transaction was left unmined");
  await provider.send("evm_setAutomine", [true]);
  const remaining = remainingAfterStep.at(-1) ?? liquidatable;
  if (remaining > 0) throw new Error(`${remaining} accounts still liquidatable after ${steps.length} keeper steps`);

  const executed = steps.flatMap((s) => s.executed);
  const failedActions = executed.filter((e) => e.result !== "success");
  const liquidated = executed
    .filter((e) => e.result === "success")
    .reduce((sum, e) => sum + e.evaluated.action.accounts.length, 0);
  const keeperSeconds = seconds(started);
  const batchFallbacks = await fallbacks();

  // ---- Report.
  const round = (x: number, digits = 2) => Number(x.toFixed(digits));
  const report = {
    accounts: accountsScanned,
    liquidatable,
    scanAccountsPerSecond,
    blocksToClear,
    node: `${node.clientVersion} (${nodeKind === "anvil" ? "anvil" : "hardhat node"}), JSON-RPC over HTTP on 127.0.0.1`,
    parameters: {
      ...KEEPER,
      scanRounds: SCAN_ROUNDS,
      priceUpdate: `ETH/USD ${PRICE_BEFORE} -> ${PRICE_AFTER}, both feeds, one block`,
      positions: "tier pro, a 6 ETH long each: 18x for the liquidatable, 9x for the others",
      mining: "from the price update on, a block once every transaction the keeper has in flight is pending",
    },
    scan: {
      seconds: roundSeconds.map((s) => round(s, 3)),
      batchFallbacks,
      statusBeforeUpdate: countByStatus(warmUp),
      statusAfterUpdate: countByStatus(afterUpdate),
    },
    clear: {
      steps: steps.length,
      remainingAfterStep,
      transactions: executed.length,
      failedTransactions: failedActions.length,
      accountsPerTransaction: executed.map((e) => e.evaluated.action.accounts.length),
      accountsLiquidated: liquidated,
      gasUsed: executed.reduce((sum, e) => sum + Number(e.gasUsed ?? 0n), 0),
      seconds: round(clearSeconds),
    },
    setup: { transactions: 2 * ACCOUNTS, deploySeconds: round(deploySeconds), seconds: round(setupSeconds) },
    seconds: round(keeperSeconds),
    targets: { scanAccountsPerSecond: ">= 2000", blocksToClear: "<= 3" },
    measuredAt: new Date().toISOString(),
  };
  const reportPath = path.resolve("reports", "keeper.json");
  mkdirSync(path.dirname(reportPath), { recursive: true });
  writeFileSync(reportPath, `${JSON.stringify(report, null, 2)}\n`);
  provider.destroy();

  console.log(
    `keeper on ${report.node}: ${accountsScanned} accounts, ${liquidatable} liquidatable after one price update\n` +
      `  scans of ${roundSeconds.map((s) => s.toFixed(3)).join(", ")} s (${batchFallbacks} batch fallbacks)\n` +
      `  cleared in ${steps.length} step(s): ${executed.length} transaction(s) of ` +
      `${report.clear.accountsPerTransaction.join("+")} accounts, ${failedActions.length} failed, ${clearSeconds.toFixed(1)} s\n` +
      `  setup: deploy ${deploySeconds.toFixed(1)} s, ${2 * ACCOUNTS} transactions, ${setupSeconds.toFixed(1)} s in all`,
  );
  console.log("figure                          value     target");
  let missed = 0;
  for (const name of ["scanAccountsPerSecond", "blocksToClear"] as const) {
    const value = report[name];
    const t = TARGETS[name];
    const meets = t.better === "higher" ? value >= t.target : value <= t.target;
    if (!meets) missed++;
    console.log(
      `${name.padEnd(28)} ${String(value).padStart(8)}  ${`${t.better === "higher" ? ">=" : "<="} ${t.target}`.padEnd(9)}` +
        `${meets ? "" : "  MISSED"}`,
    );
  }
  console.log(`\nwrote ${path.relative(process.cwd(), reportPath)} (keeper bench ${keeperSeconds.toFixed(1)} s)`);
  if (missed > 0 || failedActions.length > 0) {
    console.error(
      `${missed} keeper figure(s) missed their target; ${failedActions.length} keeper transaction(s) failed`,
    );
    process.exitCode = 1;
  }
}
