/**
 * The keeper loop: index (discover accounts) → scan (health of this shard's accounts) → act (plan, simulate,
 * check profit net of gas, send). Every failure of a step — an RPC error, a dropped connection, a reverted
 * transaction — is logged, counted and retried with exponential backoff; the loop never crashes. It serves
 * `/metrics` and `/healthz`, and on abort finishes the step in flight, persists its state and closes the server.
 */
import { JsonRpcProvider, Wallet, type Provider, type Signer } from "ethers";
import { pino, type Logger } from "pino";

import { addressesFromManifest, createStrataClient } from "../client/strata.js";
import { readManifest, type Manifest } from "../deploy/manifest.js";
import { backoffDelay, mapBounded, sleep } from "./concurrency.js";
import type { KeeperConfig } from "./config.js";
import { fundActions, planCollateralActions } from "./collateral.js";
import { ActionExecutor, type ExecutedAction } from "./executor.js";
import { OraclePoker } from "./poker.js";
import { AccountIndexer } from "./indexer.js";
import { createKeeperMetrics, type KeeperMetrics } from "./metrics.js";
import { evaluateAction, planActions, type Skipped } from "./planner.js";
import { HealthScanner, type AccountStatus } from "./scanner.js";
import { message, TxSender } from "./sender.js";
import { startKeeperServer, type HealthReport, type KeeperServer } from "./server.js";

/** What the keeper runs against; each defaults from the config (rpcUrl, manifestPath, privateKeyEnv). */
export interface KeeperDeps {
  provider?: Provider;
  /** The keeper's signer (connected to a provider); without one the keeper can only dry-run. */
  signer?: Signer;
  manifest?: Manifest;
  logger?: Logger;
}

/** What one step did. */
export interface StepReport {
  /** Oracle assets poked this step (a new primary round since the last poke). */
  poked: string[];
  block: number;
  head: number;
  reorg: boolean;
  newAccounts: number;
  scanned: number;
  byStatus: Partial<Record<AccountStatus, number>>;
  executed: ExecutedAction[];
  skipped: Skipped[];
}

export interface Keeper {
  config: KeeperConfig;
  logger: Logger;
  metrics: KeeperMetrics;
  indexer: AccountIndexer;
  scanner: HealthScanner;
  executor: ActionExecutor;
  sender: TxSender | undefined;
  /** The address rewards are credited to (simulations run from it). */
  keeperAddress: string;
  /** One index → scan → act round. */
  step(): Promise<StepReport>;
  /** The `/healthz` report. */
  health(): { healthy: boolean; report: HealthReport };
}

/**
 * The keeper's own connection to `rpcUrl` when none is given: the chain id is read once (ethers otherwise asks
 * the node for it before every call); requests are not batched (ethers' default holds each request 10 ms to
 * batch it with others, which makes a scan's concurrent reads one request the node may serve one read at a time:
 * a per-account scan ran at a quarter of its speed); nothing is answered from a cache (ethers' default repeats
 * the answer to the same request for 250 ms: a nonce, a missing receipt, an account's health).
 */
export function keeperProvider(rpcUrl: string): JsonRpcProvider {
  return new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true, batchMaxCount: 1, cacheTimeout: -1 });
}

/** Builds a keeper from `config` and `deps` (nothing runs until `step`). */
export async function createKeeper(config: KeeperConfig, deps: KeeperDeps = {}): Promise<Keeper> {
  const logger = deps.logger ?? pino({ level: config.logLevel, base: { service: "strata-keeper" } });
  const provider = deps.provider ?? deps.signer?.provider ?? keeperProvider(config.rpcUrl);
  const manifest = deps.manifest ?? (await readManifest(config.manifestPath));
  let signer = deps.signer;
  if (signer === undefined) {
    const key = process.env[config.privateKeyEnv];
    if (key !== undefined && key !== "") signer = new Wallet(key, provider);
  }
  if (signer === undefined && !config.dryRun) {
    throw new Error(`No keeper key: set ${config.privateKeyEnv} (or run with dryRun).`);
  }
  const keeperAddress = signer !== undefined ? await signer.getAddress() : config.keeperAddress;
  if (keeperAddress === undefined) throw new Error("A dry run without a key needs keeperAddress to simulate from.");

  const addresses = addressesFromManifest(manifest);
  const client = createStrataClient({ manifest, runner: provider });
  const metrics = createKeeperMetrics();
  const indexer = new AccountIndexer({
    provider,
    clearing: addresses.clearing,
    vault: addresses.vault,
    stateFile: config.stateFile,
    startBlock: config.startBlock,
    confirmations: config.confirmations,
    logRange: config.logRange,
    reorgDepth: config.reorgDepth,
  });
  const scanner = new HealthScanner({
    clearing: client.contracts.clearing,
    liquidation: client.contracts.liquidation,
    vault: client.contracts.vault,
    risk: client.contracts.risk,
    tokens: Object.values(addresses.tokens ?? {}).map((t) => t.address),
    excludedOwners: Object.values(addresses.pools ?? {}),
    concurrency: config.concurrency,
    shard: config.shard,
    batchSize: config.scanBatchSize,
    provider,
    onBatchFallback: (error, count) => {
      metrics.scanBatchFallbacks.inc();
      logger.warn({ err: message(error), accounts: count }, "batched scan read failed: read one account at a time");
    },
  });
  const sender =
    signer !== undefined && !config.dryRun
      ? new TxSender({
          signer,
          gasPriceCap: config.gasPriceCap,
          bumpAfterMs: config.bumpAfterMs,
          bumpBps: config.bumpBps,
          maxInFlight: config.maxInFlight,
          timeoutMs: config.txTimeoutMs,
          logger,
        })
      : undefined;
  const executor = new ActionExecutor({
    sender,
    dryRun: config.dryRun,
    coolOffMs: config.coolOffMs,
    concurrency: config.maxInFlight,
    metrics,
    logger,
    gasHeadroomBps: config.gasHeadroomBps,
  });
  const gasAssetKey = client.oracle.assetKey(config.gasAsset);

  let lastSuccess: { at: number; block: number; head: number } | undefined;

  const poker = config.poke
    ? new OraclePoker({
        provider,
        router: addresses.oracle,
        assets: Object.entries(manifest.assets).map(([id, a]) => ({ id, key: a.key, primary: a.primary })),
        sender,
        logger,
      })
    : undefined;

  async function step(): Promise<StepReport> {
    // Pokes go out beside the step's liquidations (they read the live price) and are awaited at its end.
    const poking = poker === undefined ? undefined : stage("poke", () => poker.pokeNewRounds());
    poking?.catch(() => undefined);
    const poll = await stage("index", () => indexer.poll());
    if (poll.reorg) logger.warn({ block: poll.toBlock }, "reorg detected: re-indexed from an earlier block");
    const accounts = indexer.accounts;
    metrics.accountsKnown.set(accounts.length);
    metrics.lastIndexedBlock.set(poll.toBlock);
    if (poll.newAccounts.length > 0) logger.info({ count: poll.newAccounts.length }, "new accounts");

    const endScan = metrics.scanDuration.startTimer();
    const scanned = await stage("scan", () => scanner.scan(accounts));
    endScan();
    metrics.scans.inc();
    metrics.accountsInShard.set(scanned.length);
    const byStatus: Partial<Record<AccountStatus, number>> = {};
    for (const s of scanned) byStatus[s.status] = (byStatus[s.status] ?? 0) + 1;
    for (const status of ["healthy", "settle", "collateral", "liquidatable", "backstop"] as const) {
      metrics.accountsByStatus.set({ status }, byStatus[status] ?? 0);
    }

    const { actions, skipped } = planActions(scanned, {
      liquidation: addresses.liquidation,
      clearing: addresses.clearing,
      cascadeThreshold: config.cascadeThreshold,
      batchSize: config.batchSize,
      settle: config.settle,
      collateral: config.collateralRepayMax > 0n,
      coolingOff: (a) => executor.coolingOff(a),
    });
    if (config.collateralRepayMax > 0n && byStatus.collateral !== undefined) {
      const collateral = await stage("plan", async () => {
        const planned = await planCollateralActions(scanned, client.contracts, {
          liquidation: addresses.liquidation,
          repayMax: config.collateralRepayMax,
          coolingOff: (a) => executor.coolingOff(a),
        });
        const funded = await fundActions(planned.actions, {
          provider,
          keeper: keeperAddress!,
          spender: addresses.liquidation,
          sender,
          logger,
        });
        return { actions: funded.actions, skipped: [...planned.skipped, ...funded.skipped] };
      });
      actions.push(...collateral.actions);
      skipped.push(...collateral.skipped);
      for (const s of collateral.skipped)
        logger.info({ account: `0x${s.account.toString(16)}`, reason: s.reason }, "skipped");
    }
    let executed: ExecutedAction[] = [];
    if (actions.length > 0) {
      executed = await stage("act", async () => {
        const fees = await provider.getFeeData();
        const gasPrice = fees.gasPrice ?? fees.maxFeePerGas ?? 0n;
        const gasTokenPrice = (await client.contracts.oracle.getPriceForLiquidation(gasAssetKey)).price;
        const ctx = {
          gasPrice,
          gasTokenPrice,
          minProfit: config.minProfit,
          gasPriceCap: config.gasPriceCap,
          keeper: keeperAddress!,
        };
        const evaluated = await mapBounded(actions, config.concurrency, (a) => evaluateAction(provider, a, ctx));
        return executor.execute(evaluated);
      });
    }
    lastSuccess = { at: Date.now(), block: poll.toBlock, head: poll.head };
    metrics.loops.inc();
    const pokes = (await poking) ?? { poked: [], failed: [] };
    const report = {
      poked: pokes.poked,
      block: poll.toBlock,
      head: poll.head,
      reorg: poll.reorg,
      newAccounts: poll.newAccounts.length,
      scanned: scanned.length,
      byStatus,
      executed,
      skipped,
    };
    logger.debug({ block: report.block, scanned: report.scanned, byStatus, actions: executed.length }, "loop done");
    return report;
  }

  /** Runs a stage, counting its errors by name before rethrowing them. */
  async function stage<T>(name: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      metrics.errors.inc({ stage: name });
      throw error;
    }
  }

  function health(): { healthy: boolean; report: HealthReport } {
    const stale = lastSuccess === undefined || Date.now() - lastSuccess.at > config.staleAfterMs;
    const report: HealthReport = {
      status: lastSuccess === undefined ? "starting" : stale ? "stale" : "ok",
      lastSuccessAt: lastSuccess === undefined ? null : new Date(lastSuccess.at).toISOString(),
      block: lastSuccess?.block ?? null,
      head: lastSuccess?.head ?? null,
      lagBlocks: lastSuccess === undefined ? null : lastSuccess.head - lastSuccess.block,
      accountsKnown: indexer.accounts.length,
      dryRun: config.dryRun,
    };
    return { healthy: !stale, report };
  }

  return { config, logger, metrics, indexer, scanner, executor, sender, keeperAddress, step, health };
}

export interface RunKeeperOptions extends KeeperDeps {
  /** Stops the keeper: the step in flight finishes, state is persisted, the server closes. */
  signal: AbortSignal;
  /** Called once the server listens (tests read the port from it). */
  onReady?: (keeper: Keeper, server: KeeperServer) => void;
  /** Called after each successful step. */
  onStep?: (report: StepReport) => void;
}

/** Runs the keeper until `signal` aborts. Never throws once started: failures are logged and retried. */
export async function runKeeper(config: KeeperConfig, options: RunKeeperOptions): Promise<void> {
  const keeper = await createKeeper(config, options);
  const { logger, metrics } = keeper;
  const server = await startKeeperServer({
    host: config.metricsHost,
    port: config.metricsPort,
    registry: metrics.registry,
    health: () => keeper.health(),
  });
  logger.info(
    { port: server.port, keeper: keeper.keeperAddress, dryRun: config.dryRun, shard: config.shard },
    "keeper started",
  );
  options.onReady?.(keeper, server);
  let failures = 0;
  try {
    while (!options.signal.aborted) {
      try {
        const report = await keeper.step();
        failures = 0;
        options.onStep?.(report);
        await sleep(config.pollIntervalMs, options.signal);
      } catch (error) {
        const delay = backoffDelay(failures++, config.backoffMs, config.maxBackoffMs);
        logger.error({ err: message(error), attempt: failures, retryInMs: delay }, "loop failed: retrying");
        await sleep(delay, options.signal);
      }
    }
  } finally {
    try {
      await keeper.indexer.persist();
    } catch (error) {
      logger.error({ err: message(error) }, "could not persist the indexer state");
    }
    await server.close();
    logger.info("keeper stopped");
  }
}
