import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { parseUnits, type Provider } from "ethers";
import { pino } from "pino";

import { accountBucket } from "../../sdk/src/client/buckets.js";
import {
  AccountIndexer,
  HealthScanner,
  TxSender,
  createKeeper,
  decodeKeeperScan,
  evaluateAction,
  gasLimitFor,
  MAX_TRANSACTION_GAS,
  parseKeeperConfig,
  planActions,
  runKeeper,
  type KeeperConfigInput,
  type StepReport,
} from "../../sdk/src/keeper/index.js";
import { collateralLiquidation } from "../../sdk/src/math/liquidationMath.js";
import { ETH, PRO, usdc, w } from "../clearing/clearingFixture.js";
import { connectChain, deployLocalFoundation } from "../helpers/foundation.js";

const chain = await connectChain();
const { ethers, networkHelpers } = chain;
const silent = pino({ level: "silent" });

/**
 * The local foundation with pools, ETH at 3,000, tier pro's pool funded by alice, and bob as the maker of every
 * fill (well funded); carol opens 60 ETH longs at 3,000 in fresh accounts; mallory is the keeper.
 */
async function keeperFixture() {
  const f = await deployLocalFoundation(chain, { pools: true });
  const { d } = f;
  const token = d.tokens.USDC!.mock!;
  const vaultAddress = await d.vault.getAddress();
  const eth = d.assets["ETH/USD"]!;
  const setEth = async (price: string) => {
    await (await eth.mockPrimary!.updateAnswer(parseUnits(price, 8))).wait();
    await (await eth.mockSecondary!.updateAnswer(parseUnits(price, 18))).wait();
  };
  await setEth("3000");
  const pool = d.pools[PRO]!;
  await (await token.mint(f.alice.address, usdc("5000000"))).wait();
  await (await token.connect(f.alice).approve(await pool.getAddress(), usdc("5000000"))).wait();
  await (await pool.connect(f.alice).deposit(usdc("5000000"), f.alice.address)).wait();
  const maker = accountBucket(f.bob.address, PRO, 0n);
  await (await token.mint(f.bob.address, usdc("5000000"))).wait();
  await (await token.connect(f.bob).approve(vaultAddress, usdc("5000000"))).wait();
  await (await d.vault.connect(f.bob).deposit(token.getAddress(), usdc("5000000"), maker)).wait();
  let nextSubId = 1n;
  /** A 60 ETH long at 3,000 backed by `collateral` USDC, paying a 90 USDC taker fee (its cash goes negative). */
  const openLong = async (collateral = "10000") => {
    const account = accountBucket(f.carol.address, PRO, nextSubId++);
    await (await token.mint(f.carol.address, usdc(collateral))).wait();
    await (await token.connect(f.carol).approve(vaultAddress, usdc(collateral))).wait();
    await (await d.vault.connect(f.carol).deposit(token.getAddress(), usdc(collateral), account)).wait();
    await (
      await d.clearing.connect(f.executor).applyFill({
        taker: account,
        maker,
        market: ETH,
        size: w("60"),
        price: w("3000"),
        takerFee: w("90"),
        makerFee: 0n,
        poolFee: 0n,
        protocolFee: 0n,
        protocol: 0n,
      })
    ).wait();
    return account;
  };
  return { ...f, maker, setEth, openLong, keeper: f.mallory };
}

type Fixture = Awaited<ReturnType<typeof keeperFixture>>;

async function stateFile(): Promise<string> {
  return path.join(await mkdtemp(path.join(tmpdir(), "strata-keeper-")), "state.json");
}

async function config(overrides: KeeperConfigInput = {}) {
  return parseKeeperConfig({
    stateFile: await stateFile(),
    confirmations: 0,
    pollIntervalMs: 20,
    metricsPort: 0,
    logLevel: "silent",
    backoffMs: 10,
    maxBackoffMs: 40,
    bumpAfterMs: 200,
    ...overrides,
  });
}

function indexerOf(f: Fixture, file: string, options: { reorgDepth?: number } = {}) {
  return new AccountIndexer({
    provider: ethers.provider,
    clearing: f.d.manifest.contracts.clearing!.address,
    vault: f.d.manifest.contracts.vault!.address,
    stateFile: file,
    startBlock: 0,
    confirmations: 0,
    logRange: 5,
    reorgDepth: options.reorgDepth ?? 20,
  });
}

function scannerOf(
  f: Fixture,
  shard = { index: 0, count: 1 },
  batch: Pick<ConstructorParameters<typeof HealthScanner>[0], "batchSize" | "provider" | "onBatchFallback"> = {},
) {
  return new HealthScanner({
    ...batch,
    clearing: f.d.clearing,
    liquidation: f.d.liquidation,
    vault: f.d.vault,
    risk: f.d.risk,
    tokens: Object.values(f.d.manifest.tokens).map((t) => t.address),
    excludedOwners: Object.values(f.d.manifest.pools),
    concurrency: 3,
    shard,
  });
}

/** Runs the keeper until `done` says so after a step (or `timeoutMs` passes); returns its reports. */
async function runUntil(
  cfg: Awaited<ReturnType<typeof config>>,
  deps: { provider?: Provider; f: Fixture },
  done: (report: StepReport) => boolean,
  onReady?: Parameters<typeof runKeeper>[1]["onReady"],
  timeoutMs = 20_000,
) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const reports: StepReport[] = [];
  let keeper: Parameters<NonNullable<typeof onReady>>[0] | undefined;
  await runKeeper(cfg, {
    signal: controller.signal,
    provider: deps.provider ?? ethers.provider,
    signer: deps.f.keeper,
    manifest: deps.f.d.manifest,
    logger: silent,
    onReady: (k, server) => {
      keeper = k;
      onReady?.(k, server);
    },
    onStep: (report) => {
      reports.push(report);
      if (done(report)) controller.abort();
    },
  });
  clearTimeout(timer);
  return { reports, keeper: keeper!, timedOut: !reports.some(done) };
}

async function counterValue(
  metric: { get(): Promise<{ values: { value: number; labels: object }[] }> },
  labels: Record<string, string> = {},
): Promise<number> {
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l))
    .reduce((sum, v) => sum + v.value, 0);
}

describe("keeper (sdk/src/keeper)", function () {
  this.timeout(60_000);

  it("the indexer discovers accounts from fills and deposits, persists its state and reloads it", async () => {
    const f = await networkHelpers.loadFixture(keeperFixture);
    const a = await f.openLong();
    const b = await f.openLong();
    const file = await stateFile();
    const indexer = indexerOf(f, file);
    const first = await indexer.poll();
    expect(indexer.accounts).to.include.members([a, b, f.maker]);
    expect(first.toBlock).to.equal(await ethers.provider.getBlockNumber());
    // System buckets (owner 0) never appear; the pool's deposit is into its own account, an owned one.
    expect(indexer.accounts.every((x) => (x & ((1n << 160n) - 1n)) !== 0n)).to.equal(true);

    const stored = JSON.parse(await readFile(file, "utf8")) as { lastBlock: number; lastHash: string };
    expect(stored.lastBlock).to.equal(first.toBlock);
    expect(stored.lastHash).to.equal((await ethers.provider.getBlock(first.toBlock))!.hash);

    const reloaded = indexerOf(f, file);
    await reloaded.load();
    expect(reloaded.accounts).to.deep.equal(indexer.accounts);
    const c = await f.openLong();
    const next = await reloaded.poll();
    expect(next.newAccounts).to.deep.equal([c]);
    expect(next.reorg).to.equal(false);
  });

  it("the indexer detects a reorg (the stored block's hash changed) and re-indexes", async () => {
    const f = await networkHelpers.loadFixture(keeperFixture);
    const indexer = indexerOf(f, await stateFile());
    await indexer.poll();
    const snapshot = (await ethers.provider.send("evm_snapshot", [])) as string;
    const orphaned = await f.openLong();
    const before = await indexer.poll();
    expect(indexer.accounts).to.include(orphaned);
    await ethers.provider.send("evm_revert", [snapshot]);
    // Different blocks at the same heights: another account, another timestamp.
    await networkHelpers.time.increase(100);
    const replacement = await f.openLong();
    expect((await ethers.provider.getBlock(before.toBlock))!.hash).to.not.equal(indexer.lastBlock.hash);
    const after = await indexer.poll();
    expect(after.reorg).to.equal(true);
    expect(after.newAccounts).to.include(replacement);
    expect(indexer.lastBlock.hash).to.equal((await ethers.provider.getBlock(after.toBlock))!.hash);
  });

  it("the scanner classifies accounts after a price drop, and two shards cover every account once", async () => {
    const f = await networkHelpers.loadFixture(keeperFixture);
    const partial = await f.openLong("12000");
    const backstop = await f.openLong("10000");
    const wellFunded = await f.openLong("100000");
    const indexer = indexerOf(f, await stateFile());
    await indexer.poll();
    // 2,850: the 10,000 account is under its backstop margin, the 12,000 one under MM only.
    await f.setEth("2850");
    const scanned = await scannerOf(f).scan(indexer.accounts);
    const status = new Map(scanned.map((s) => [s.account, s]));
    expect(status.get(partial)!.status).to.equal("liquidatable");
    expect(status.get(partial)!.keeperReward).to.be.greaterThan(0n);
    expect(status.get(partial)!.market).to.equal(ETH);
    expect(status.get(backstop)!.status).to.equal("backstop");
    // Healthy, but its taker fee left negative cash its USDC can pay.
    expect(status.get(wellFunded)!.status).to.equal("settle");
    expect(status.get(f.maker)!.status).to.equal("healthy");
    // The pool's own account is never scanned.
    const poolOwner = Object.values(f.d.manifest.pools)[0]!.toLowerCase();
    expect(
      scanned.some((s) => `0x${(s.account & ((1n << 160n) - 1n)).toString(16).padStart(40, "0")}` === poolOwner),
    ).to.equal(false);

    const all = scannerOf(f).select(indexer.accounts);
    const shard0 = scannerOf(f, { index: 0, count: 2 }).select(indexer.accounts);
    const shard1 = scannerOf(f, { index: 1, count: 2 }).select(indexer.accounts);
    expect(shard0.filter((a) => shard1.includes(a))).to.deep.equal([]);
    expect([...shard0, ...shard1].sort()).to.deep.equal([...all].sort());
    expect(shard0.length).to.be.greaterThan(0);
    expect(shard1.length).to.be.greaterThan(0);
  });

  it("a batched scan (one KeeperScan eth_call per batch) classifies as the per-account scan; a failed batch falls back", async () => {
    const f = await networkHelpers.loadFixture(keeperFixture);
    await f.openLong("12000");
    await f.openLong("10000");
    await f.openLong("100000");
    for (let i = 0; i < 4; i++) await f.openLong(i % 2 === 0 ? "11000" : "30000");
    const indexer = indexerOf(f, await stateFile());
    await indexer.poll();
    const scanAll = async (price: string) => {
      await f.setEth(price);
      const one = await scannerOf(f).scan(indexer.accounts);
      const calls: unknown[] = [];
      const counting = new Proxy(ethers.provider, {
        get(target, key, receiver) {
          if (key === "call") {
            return (tx: unknown) => {
              calls.push(tx);
              return target.call(tx as Parameters<typeof target.call>[0]);
            };
          }
          return Reflect.get(target, key, receiver) as unknown;
        },
      });
      const fallbacks: number[] = [];
      const batched = await scannerOf(f, undefined, {
        batchSize: 3,
        provider: counting,
        onBatchFallback: (_e, n) => fallbacks.push(n),
      }).scan(indexer.accounts);
      expect(fallbacks).to.deep.equal([]);
      expect(calls.length).to.equal(Math.ceil(one.length / 3));
      expect(batched).to.deep.equal(one);
      return one;
    };
    // Healthy (settle: negative cash from the taker fee; the maker healthy), then partial and backstop cases.
    expect(new Set((await scanAll("3000")).map((s) => s.status))).to.deep.equal(new Set(["settle", "healthy"]));
    const statuses = new Set((await scanAll("2850")).map((s) => s.status));
    expect(statuses).to.include.members(["liquidatable", "backstop", "settle"]);

    // A node that refuses the batched call: every account is read one at a time, with the same result.
    const refusing = new Proxy(ethers.provider, {
      get(target, key, receiver) {
        if (key === "call") return () => Promise.reject(new Error("eth_call without a `to` is not supported"));
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    const fallbacks: number[] = [];
    const fallen = await scannerOf(f, undefined, {
      batchSize: 4,
      provider: refusing,
      onBatchFallback: (_e, n) => fallbacks.push(n),
    }).scan(indexer.accounts);
    expect(fallen).to.deep.equal(await scannerOf(f).scan(indexer.accounts));
    expect(fallbacks.reduce((a, b) => a + b, 0)).to.equal(fallen.length);
    // A result that is not the records of the accounts asked for is refused (and the batch read one at a time).
    const word = (n: bigint) => n.toString(16).padStart(64, "0");
    const record = [1n, 5n, 7n, 8n, 9n, BigInt(ETH), 1n, 3n, 4n, 6n];
    const encoded = `0x${word(32n)}${word(BigInt(record.length))}${record.map(word).join("")}`;
    expect(decodeKeeperScan(encoded, 1, 3)).to.deep.equal([
      {
        cash: 5n,
        balances: [7n, 8n, 9n],
        previews: [{ market: ETH, liquidatable: true, backstop: false, equity: 3n, closeSize: 4n, keeperReward: 6n }],
      },
    ]);
    expect(() => decodeKeeperScan(encoded, 2, 3)).to.throw(/accounts expected/);
    expect(() => decodeKeeperScan(encoded, 1, 2)).to.throw();
    expect(() => decodeKeeperScan("0x", 1, 3)).to.throw(/not an ABI-encoded/);
  });

  it("the planner batches a cascade and refuses unprofitable or failing actions", async () => {
    const f = await networkHelpers.loadFixture(keeperFixture);
    const accounts = [await f.openLong(), await f.openLong(), await f.openLong(), await f.openLong()];
    const single = await f.openLong();
    await f.setEth("2905");
    const scanner = scannerOf(f);
    const scanned = await scanner.scan(accounts);
    const addresses = { liquidation: await f.d.liquidation.getAddress(), clearing: await f.d.clearing.getAddress() };
    const plan = planActions(scanned, { ...addresses, cascadeThreshold: 3, batchSize: 3, settle: false });
    expect(plan.actions.map((a) => a.kind)).to.deep.equal(["batch", "batch"]);
    expect(plan.actions.flatMap((a) => a.accounts).sort()).to.deep.equal([...accounts].sort());

    const ctx = {
      gasPrice: 10n ** 9n,
      gasTokenPrice: w("2905"),
      minProfit: 0n,
      gasPriceCap: 10n ** 12n,
      keeper: f.keeper.address,
    };
    const ok = await evaluateAction(ethers.provider, plan.actions[0]!, ctx);
    expect(ok.ok, ok.reason).to.equal(true);
    expect(ok.gasEstimate).to.be.greaterThan(0n);
    expect(ok.profit).to.equal(plan.actions[0]!.expectedReward - ok.gasCost);

    const [one] = planActions(await scanner.scan([single]), {
      ...addresses,
      cascadeThreshold: 3,
      batchSize: 3,
      settle: false,
    }).actions;
    expect(one!.kind).to.equal("liquidate");
    const greedy = await evaluateAction(ethers.provider, one!, { ...ctx, minProfit: w("1000000") });
    expect(greedy.ok).to.equal(false);
    expect(greedy.reason).to.match(/unprofitable/);
    const expensive = await evaluateAction(ethers.provider, one!, { ...ctx, gasPriceCap: 1n });
    expect(expensive.reason).to.match(/above the cap/);

    // A healthy account's liquidation reverts in simulation: refused, decoded, and its account cools off.
    await f.setEth("3000");
    const failing = await evaluateAction(ethers.provider, one!, ctx);
    expect(failing.ok).to.equal(false);
    expect(failing.failed).to.equal(true);
    expect(failing.reason).to.match(/LiquidationAccountHealthy|healthy/i);
  });

  it("the keeper loop clears every liquidatable account after a price drop, serving /metrics and /healthz", async () => {
    const f = await networkHelpers.loadFixture(keeperFixture);
    const accounts = [
      await f.openLong("12000"),
      await f.openLong("12000"),
      await f.openLong("10000"),
      await f.openLong("11000"),
      await f.openLong("50000"),
    ];
    await f.setEth("2850");
    expect((await f.d.liquidation.preview(accounts[0]!, ETH)).liquidatable).to.equal(true);
    const cfg = await config();
    let port = 0;
    const { reports, keeper, timedOut } = await runUntil(
      cfg,
      { f },
      (r) =>
        (r.byStatus.liquidatable ?? 0) + (r.byStatus.backstop ?? 0) === 0 && r.executed.length === 0 && r.scanned > 0,
      (_k, server) => {
        port = server.port;
      },
    );
    expect(timedOut).to.equal(false);
    expect(reports.some((r) => r.executed.some((e) => e.result === "success"))).to.equal(true);
    for (const account of accounts) {
      expect((await f.d.liquidation.preview(account, ETH)).liquidatable, `account ${account}`).to.equal(false);
    }
    expect(await counterValue(keeper.metrics.actions, { result: "success" })).to.be.greaterThan(0);
    expect(await counterValue(keeper.metrics.accountsKnown)).to.be.greaterThanOrEqual(accounts.length);
    expect(await counterValue(keeper.metrics.scans)).to.equal(reports.length);
    expect(await counterValue(keeper.metrics.gasUsed)).to.be.greaterThan(0);
    // Its scans read the accounts in batches (scanBatchSize), none of which failed.
    expect(cfg.scanBatchSize).to.be.greaterThan(1);
    expect(await counterValue(keeper.metrics.scanBatchFallbacks)).to.equal(0);
    // The server is closed once the keeper stops.
    expect(port).to.be.greaterThan(0);
    await fetch(`http://127.0.0.1:${port}/healthz`).then(
      () => expect.fail("the server should be closed"),
      () => undefined,
    );
  });

  it("/healthz is unhealthy before the first loop and answers 200 with the block after; /metrics serves Prometheus text", async () => {
    const f = await networkHelpers.loadFixture(keeperFixture);
    await f.openLong();
    const cfg = await config({ dryRun: true });
    let before: { healthy: boolean; report: { status: string } } | undefined;
    let after: { status: number; body: { block: number; lagBlocks: number; status: string } } | undefined;
    let metrics = "";
    let url = "";
    await runUntil(
      cfg,
      { f },
      () => true,
      (k, server) => {
        url = `http://127.0.0.1:${server.port}`;
        before = k.health();
      },
    ).then(() => undefined);
    expect(before!.healthy).to.equal(false);
    expect(before!.report.status).to.equal("starting");
    // Run again and query the live server from within a step.
    const controller = new AbortController();
    await runKeeper(cfg, {
      signal: controller.signal,
      signer: f.keeper,
      manifest: f.d.manifest,
      logger: silent,
      onReady: (_k, server) => {
        url = `http://127.0.0.1:${server.port}`;
      },
      onStep: () => {
        void (async () => {
          const res = await fetch(`${url}/healthz`);
          after = { status: res.status, body: (await res.json()) as never };
          metrics = await (await fetch(`${url}/metrics`)).text();
          controller.abort();
        })();
      },
    });
    expect(after!.status).to.equal(200);
    expect(after!.body.status).to.equal("ok");
    expect(after!.body.block).to.equal(await ethers.provider.getBlockNumber());
    expect(after!.body.lagBlocks).to.equal(0);
    expect(metrics).to.match(/strata_keeper_scans_total \d+/);
    expect(metrics).to.match(/strata_keeper_accounts_known \d+/);
  });

  it("collateral liquidation: off by default, skipped while the wallet cannot fund it, then repaid and seized as the mirror says", async () => {
    const f = await networkHelpers.loadFixture(keeperFixture);
    const { d } = f;
    const weth = d.tokens.WETH!;
    const usdcToken = d.tokens.USDC!.mock!;
    const liquidationAddress = await d.liquidation.getAddress();
    // Carol's account holds 10 WETH and no USDC; a 100 USDC taker fee leaves it owing cash it cannot pay.
    const account = accountBucket(f.carol.address, PRO, 99n);
    await (await weth.mock!.mint(f.carol.address, w("10"))).wait();
    await (await weth.mock!.connect(f.carol).approve(await d.vault.getAddress(), w("10"))).wait();
    await (await d.vault.connect(f.carol).deposit(weth.address, w("10"), account)).wait();
    await (
      await d.clearing.connect(f.executor).applyFill({
        taker: account,
        maker: f.maker,
        market: ETH,
        size: w("1"),
        price: w("3000"),
        takerFee: w("100"),
        makerFee: 0n,
        poolFee: 0n,
        protocolFee: 0n,
        protocol: 0n,
      })
    ).wait();
    await (await d.clearing.settle(account)).wait();
    expect(await d.clearing.cash(account)).to.equal(-w("100"));
    const deps = { provider: ethers.provider, signer: f.keeper, manifest: d.manifest, logger: silent };
    const reasonFor = (report: StepReport) => report.skipped.find((s) => s.account === account)?.reason;

    // Off by default: named, nothing sent.
    const off = await (await createKeeper(await config(), deps)).step();
    expect(off.byStatus.collateral).to.equal(1);
    expect(reasonFor(off)).to.match(/^collateral liquidation disabled/);

    // On (60 USDC per action), with an empty wallet: skipped, saying so.
    const keeper = await createKeeper(await config({ collateralRepayMax: usdc("60") }), deps);
    expect(reasonFor(await keeper.step())).to.match(/^the keeper's wallet holds 0 units of quote token .* fund it$/);

    // Funded: it approves exactly 60, repays 60 and takes 61.8 USDC worth of WETH at the liquidation read.
    await (await usdcToken.mint(f.keeper.address, usdc("1000"))).wait();
    const price = (await d.oracle.getPriceForLiquidation(d.assets["ETH/USD"]!.key)).price;
    const expected = collateralLiquidation({
      cash: -w("100"),
      quoteDecimals: 6,
      repay: usdc("60"),
      price,
      tokenDecimals: 18,
      balance: w("10"),
    });
    expect(expected.repayTokens).to.equal(usdc("60"));
    const keeperAccount = accountBucket(f.keeper.address, PRO, 0n);
    const first = await keeper.step();
    expect(first.executed.map((e) => [e.evaluated.action.kind, e.result])).to.deep.equal([["collateral", "success"]]);
    expect(first.executed[0]!.evaluated.action.expectedReward).to.equal(expected.seizedValue - expected.repaid);
    expect(await d.clearing.cash(account)).to.equal(-w("40"));
    expect(await d.vault.balanceOf(keeperAccount, weth.address)).to.equal(expected.seized);
    expect(await d.vault.balanceOf(account, weth.address)).to.equal(w("10") - expected.seized);
    expect(await usdcToken.balanceOf(f.keeper.address)).to.equal(usdc("940"));
    expect(await usdcToken.allowance(f.keeper.address, liquidationAddress)).to.equal(0n);

    // The rest of the debt (40, under the cap) next round; then the account is healthy.
    const second = await keeper.step();
    expect(second.executed.map((e) => e.result)).to.deep.equal(["success"]);
    expect(await d.clearing.cash(account)).to.equal(0n);
    expect(await usdcToken.balanceOf(f.keeper.address)).to.equal(usdc("900"));
    expect((await keeper.step()).byStatus.collateral).to.equal(undefined);
  });

  it("sends with the configured headroom over the estimate, rounded up and capped at the EIP-7825 limit", async () => {
    expect(gasLimitFor(1_000_000n, 5_000)).to.equal(1_500_000n);
    expect(gasLimitFor(1_000_001n, 5_000)).to.equal(1_500_002n);
    expect(gasLimitFor(1_000_000n, 0)).to.equal(1_000_000n);
    expect(gasLimitFor(15_000_000n, 5_000)).to.equal(MAX_TRANSACTION_GAS);
    expect((await config()).gasHeadroomBps).to.equal(5_000);
    expect(() => parseKeeperConfig({ gasHeadroomBps: 20_001 })).to.throw(/gasHeadroomBps/);
  });

  it("pokes the oracle after each new primary round: the router records the last good price", async () => {
    const f = await networkHelpers.loadFixture(keeperFixture);
    const deps = { provider: ethers.provider, signer: f.keeper, manifest: f.d.manifest, logger: silent };
    const keeper = await createKeeper(await config(), deps);
    const assets = Object.keys(f.d.manifest.assets).sort();
    expect([...(await keeper.step()).poked].sort()).to.deep.equal(assets);
    expect((await keeper.step()).poked).to.deep.equal([]);
    await f.setEth("2950");
    expect((await keeper.step()).poked).to.deep.equal(["ETH/USD"]);
    const eth = f.d.assets["ETH/USD"]!;
    const [lastGoodPrice, lastGoodAt] = await f.d.oracle.assetState(eth.key);
    expect(lastGoodPrice).to.equal(w("2950"));
    expect(lastGoodAt).to.equal((await eth.mockPrimary!.latestRoundData()).updatedAt);
    // Off, or in a dry run, nothing is sent.
    const nonce = await ethers.provider.getTransactionCount(f.keeper.address);
    await f.setEth("2940");
    expect((await (await createKeeper(await config({ poke: false }), deps)).step()).poked).to.deep.equal([]);
    expect((await (await createKeeper(await config({ dryRun: true }), deps)).step()).poked).to.include("ETH/USD");
    expect(await ethers.provider.getTransactionCount(f.keeper.address)).to.equal(nonce);
  });

  it("a dry run plans and simulates but sends nothing", async () => {
    const f = await networkHelpers.loadFixture(keeperFixture);
    const account = await f.openLong();
    await f.setEth("2905");
    const keeper = await createKeeper(await config({ dryRun: true }), {
      provider: ethers.provider,
      signer: f.keeper,
      manifest: f.d.manifest,
      logger: silent,
    });
    const nonce = await ethers.provider.getTransactionCount(f.keeper.address);
    const block = await ethers.provider.getBlockNumber();
    const report = await keeper.step();
    expect(report.executed.map((e) => e.result)).to.deep.equal(["dry_run"]);
    expect(report.executed[0]!.evaluated.action.accounts).to.deep.equal([account]);
    expect(await ethers.provider.getTransactionCount(f.keeper.address)).to.equal(nonce);
    expect(await ethers.provider.getBlockNumber()).to.equal(block);
    expect((await f.d.liquidation.preview(account, ETH)).liquidatable).to.equal(true);
  });

  it("the sender replaces a stuck transaction with bumped fees, and resyncs its nonce after an external one", async () => {
    const f = await networkHelpers.loadFixture(keeperFixture);
    const sender = new TxSender({
      signer: f.keeper,
      gasPriceCap: 10n ** 12n,
      bumpAfterMs: 150,
      bumpBps: 1_250,
      maxInFlight: 2,
      timeoutMs: 20_000,
      pollMs: 30,
      logger: silent,
    });
    const settle = {
      to: await f.d.clearing.getAddress(),
      data: f.d.clearing.interface.encodeFunctionData("settle", [f.maker]),
      gasLimit: 300_000n,
    };
    await ethers.provider.send("evm_setAutomine", [false]);
    try {
      const pending = sender.send(settle);
      await new Promise((resolve) => setTimeout(resolve, 600));
      await ethers.provider.send("evm_mine", []);
      const sent = await pending;
      expect(sent.replacements).to.be.greaterThanOrEqual(1);
      expect(sent.receipt.status).to.equal(1);
      const mined = await ethers.provider.getTransaction(sent.receipt.hash);
      expect(mined!.maxFeePerGas).to.equal(sent.maxFeePerGas);
      expect(mined!.nonce).to.equal(sent.nonce);
    } finally {
      await ethers.provider.send("evm_setAutomine", [true]);
    }
    const first = await sender.send(settle);
    // Another transaction from the keeper's key, outside the sender: its local nonce is now stale.
    await (await f.keeper.sendTransaction({ to: f.keeper.address, value: 0n })).wait();
    const second = await sender.send(settle);
    expect(second.receipt.status).to.equal(1);
    expect(second.nonce).to.equal(first.nonce + 2);
  });

  it("RPC failures are logged, counted and retried with backoff, never a crash", async () => {
    const f = await networkHelpers.loadFixture(keeperFixture);
    await f.openLong();
    let failures = 3;
    const flaky = new Proxy(ethers.provider, {
      get(target, property) {
        const value = Reflect.get(target, property, target) as unknown;
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          if (property === "getBlockNumber" && failures > 0) {
            failures--;
            return Promise.reject(new Error("connection reset (injected)"));
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const { reports, keeper } = await runUntil(await config({ dryRun: true }), { f, provider: flaky }, () => true);
    expect(failures).to.equal(0);
    expect(reports).to.have.length(1);
    expect(reports[0]!.scanned).to.be.greaterThan(0);
    expect(await counterValue(keeper.metrics.errors, { stage: "index" })).to.equal(3);
  });
});
