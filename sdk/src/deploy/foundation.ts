import { ZeroHash, encodeBytes32String, getAddress, parseUnits, type Interface, type Signer } from "ethers";

import {
  BackstopPool__factory,
  ClearingHouse__factory,
  CollateralVault__factory,
  ExecutionEngine__factory,
  LiquidationEngine__factory,
  MockERC20__factory,
  MockV3Aggregator__factory,
  OracleRouter__factory,
  RiskEngine__factory,
  StrataAccessManager__factory,
  type BackstopPool,
  type ClearingHouse,
  type CollateralVault,
  type ExecutionEngine,
  type LiquidationEngine,
  type MockERC20,
  type MockV3Aggregator,
  type OracleRouter,
  type RiskEngine,
  type StrataAccessManager,
} from "../../../types/index.js";
import { type FoundationConfig, type FoundationConfigInput, configHash, parseFoundationConfig } from "./config.js";
import type { Manifest } from "./manifest.js";
import { FUNCTION_ROLES, ROLE_LABELS, Role, type ModuleName, type RoleName } from "./roles.js";
import { StepRunner, type StepRunnerOptions } from "./steps.js";

/** A token of the deployment. `mock` is set when the deployer created it (local chains). */
export interface DeployedToken {
  symbol: string;
  address: string;
  decimals: number;
  mock?: MockERC20;
}

/** The feeds of one oracle asset. `mock*` are set for mock aggregators the deployer created. */
export interface DeployedAsset {
  id: string;
  key: string;
  primary: string;
  secondary?: string;
  primaryDecimals: number;
  mockPrimary?: MockV3Aggregator;
  mockSecondary?: MockV3Aggregator;
}

/** A Strata deployment: governance, vault, oracle router, risk engine, clearing house, tokens and feeds. */
export interface FoundationDeployment {
  network: string;
  config: FoundationConfig;
  manager: StrataAccessManager;
  vault: CollateralVault;
  oracle: OracleRouter;
  risk: RiskEngine;
  clearing: ClearingHouse;
  liquidation: LiquidationEngine;
  /** Signed orders and their matched settlement (the EXECUTOR of the clearing house). */
  execution: ExecutionEngine;
  /** Each tier's backstop pool, by tier id. */
  pools: Record<number, BackstopPool>;
  tokens: Record<string, DeployedToken>;
  assets: Record<string, DeployedAsset>;
  sequencerFeed?: MockV3Aggregator;
  /** The deployment's manifest (also written to `manifestPath` when given). */
  manifest: Manifest;
  /** Transactions this run sent: 0 for a re-run of a finished deployment. */
  transactions: number;
  /** Addresses only, as in the deployment manifest. */
  addresses: {
    manager: string;
    vault: string;
    oracle: string;
    risk: string;
    clearing: string;
    liquidation: string;
    execution: string;
    pools: Record<number, string>;
    tokens: Record<string, string>;
    feeds: Record<string, { primary: string; secondary?: string }>;
    sequencerFeed?: string;
  };
}

/** Progress callback: the deployer reports each phase it completes. */
export type DeployProgress = (step: string) => void;

/** How to run a deployment: its manifest (to resume and record), per-step reporting and checks. */
export interface DeployOptions extends StepRunnerOptions {
  /** Reports each phase (a few lines per deployment); `onStep` reports every step. */
  progress?: DeployProgress | undefined;
}

/** The bytes32 key of an oracle asset id such as "ETH/USD". */
export function assetKey(id: string): string {
  return encodeBytes32String(id);
}

const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

/**
 * Deploys governance, the collateral vault, the oracle router, the risk engine, the clearing house, the
 * liquidation and execution engines from a validated config, wires every restricted function to its role,
 * lists tokens, tiers, assets and markets, deploys the tiers' pools and hands roles to their holders.
 *
 * Every transaction is a step with a stable id (`deploy:vault`, `vault.listToken:USDC`, ...) recorded in the
 * deployment's manifest. With `options.manifestPath` the manifest is read first and written after every step:
 * a re-run with the same config resumes where the last one stopped and sends nothing once all is done (see
 * StepRunner). Without it the manifest lives in memory (tests, `npm start`).
 *
 * @example
 * const deployment = await deployFoundation(signer, localConfig);
 * await deployment.vault.tokenConfig(deployment.tokens.USDC.address);
 * // Resumable, recorded in deployments/sepolia.json:
 * await deployFoundation(signer, sepoliaConfig(holders), { manifestPath: manifestPath("sepolia") });
 */
export async function deployFoundation(
  deployer: Signer,
  input: FoundationConfigInput,
  progressOrOptions: DeployProgress | DeployOptions = {},
): Promise<FoundationDeployment> {
  const options: DeployOptions =
    typeof progressOrOptions === "function" ? { progress: progressOrOptions } : progressOrOptions;
  const progress = options.progress ?? (() => {});
  const config = parseFoundationConfig(input);
  const deployerAddress = await deployer.getAddress();
  const run = await StepRunner.open(
    deployer,
    { network: config.network, chainId: config.chainId, configHash: configHash(config) },
    options,
  );

  const manager = await run.contract(
    "manager",
    () => new StrataAccessManager__factory(deployer).deploy(deployerAddress),
    (a) => StrataAccessManager__factory.connect(a, deployer),
  );
  const managerAddress = await manager.getAddress();
  const vault = await run.contract(
    "vault",
    () => new CollateralVault__factory(deployer).deploy(managerAddress, config.reserveEpochSeconds),
    (a) => CollateralVault__factory.connect(a, deployer),
  );
  const oracle = await run.contract(
    "oracle",
    () => new OracleRouter__factory(deployer).deploy(managerAddress),
    (a) => OracleRouter__factory.connect(a, deployer),
  );
  const risk = await run.contract(
    "risk",
    () => new RiskEngine__factory(deployer).deploy(managerAddress),
    (a) => RiskEngine__factory.connect(a, deployer),
  );
  const [vaultAddress, oracleAddress, riskAddress] = await Promise.all([
    vault.getAddress(),
    oracle.getAddress(),
    risk.getAddress(),
  ]);
  const clearing = await run.contract(
    "clearing",
    () => new ClearingHouse__factory(deployer).deploy(managerAddress, vaultAddress, oracleAddress, riskAddress),
    (a) => ClearingHouse__factory.connect(a, deployer),
  );
  const clearingAddress = await clearing.getAddress();
  const liquidation = await run.contract(
    "liquidation",
    () => new LiquidationEngine__factory(deployer).deploy(clearingAddress, vaultAddress, oracleAddress, riskAddress),
    (a) => LiquidationEngine__factory.connect(a, deployer),
  );
  const execution = await run.contract(
    "execution",
    () => new ExecutionEngine__factory(deployer).deploy(managerAddress, clearingAddress, oracleAddress, riskAddress),
    (a) => ExecutionEngine__factory.connect(a, deployer),
  );
  const [liquidationAddress, executionAddress] = await Promise.all([liquidation.getAddress(), execution.getAddress()]);
  progress(
    "deployed AccessManager, CollateralVault, OracleRouter, RiskEngine, ClearingHouse, LiquidationEngine and ExecutionEngine",
  );

  await wireRoles(manager, { vault, oracle, risk, clearing, execution }, run);
  // The clearing house is the vault's registered controller: the only mover of ledger balances besides
  // CONTROLLER role holders named in the config (test accounts).
  await run.call(
    "vault.setController:clearing",
    () => vault.setController(clearingAddress, true),
    () => vault.isRegisteredController(clearingAddress),
  );
  // The liquidation engine moves positions, cash and collateral inside one tier through the clearing house.
  // It holds the LIQUIDATOR role and is also registered, so its hook calls skip the AccessManager round trip.
  await grantStep(run, manager, "LIQUIDATOR", liquidationAddress, 0, "liquidation");
  await run.call(
    "clearing.setLiquidator:liquidation",
    () => clearing.setLiquidator(liquidationAddress, true),
    () => clearing.isLiquidator(liquidationAddress),
  );
  // The execution engine applies fills (EXECUTOR), registered so that its fills skip the AccessManager round
  // trip, and splits fees as the config says.
  await grantStep(run, manager, "EXECUTOR", executionAddress, 0, "execution");
  await run.call(
    "clearing.setExecutor:execution",
    () => clearing.setExecutor(executionAddress, true),
    () => clearing.isExecutor(executionAddress),
  );
  const treasury = config.fees.treasury ?? deployerAddress;
  await run.call(
    "execution.setFeeConfig",
    () => execution.setFeeConfig(treasury, config.fees.poolShareBps, config.fees.protocolShareBps),
    async () => {
      const [t, pool, protocol] = await execution.feeConfig();
      return (
        sameAddress(t, treasury) &&
        Number(pool) === config.fees.poolShareBps &&
        Number(protocol) === config.fees.protocolShareBps
      );
    },
  );
  const minPoolSpread = config.minPoolSpreadBps ?? Math.max(...config.assets.map((a) => a.deviationThresholdBps));
  await run.call(
    "execution.setPoolSpread",
    () => execution.setPoolSpread(minPoolSpread),
    async () => Number(await execution.minPoolSpread()) === minPoolSpread,
  );
  progress("mapped every restricted function to its role");

  const tokens: Record<string, DeployedToken> = {};
  for (const t of config.tokens) {
    let token: DeployedToken;
    if (t.mock !== undefined) {
      const { decimals, name } = t.mock;
      const mock = await run.contract(
        `token:${t.symbol}`,
        () => new MockERC20__factory(deployer).deploy(name ?? t.symbol, t.symbol, decimals),
        (a) => MockERC20__factory.connect(a, deployer),
      );
      token = { symbol: t.symbol, address: await mock.getAddress(), decimals, mock };
    } else {
      const existing = MockERC20__factory.connect(t.address!, deployer);
      token = { symbol: t.symbol, address: t.address!, decimals: Number(await existing.decimals()) };
    }
    const address = token.address;
    await run.call(
      `vault.listToken:${t.symbol}`,
      () => vault.listToken(address, parseUnits(t.outflowCapacity, token.decimals), t.outflowWindowSeconds),
      async () => (await vault.tokenConfig(address)).listed,
    );
    tokens[t.symbol] = token;
    run.manifest.tokens[t.symbol] = { address, decimals: token.decimals, mock: t.mock !== undefined };
  }
  await run.save();
  progress(`listed ${config.tokens.length} tokens`);

  for (const tier of config.tiers) {
    for (const d of tier.deposits) {
      const token = tokens[d.token]!;
      await run.call(
        `vault.enableTierToken:${tier.id}:${d.token}`,
        () => vault.enableTierToken(tier.id, token.address, parseUnits(d.cap, token.decimals)),
        async () => (await vault.tierTotal(tier.id, token.address)).depositCap !== 0n,
      );
    }
    for (const r of tier.reserveAllowance) {
      const token = tokens[r.token]!;
      // No probe: the vault has no getter for the allowance itself (reserveAvailable is capped by the reserve).
      await run.call(`vault.setReserveAllowance:${tier.id}:${r.token}`, () =>
        vault.setReserveAllowance(tier.id, token.address, parseUnits(r.capPerEpoch, token.decimals)),
      );
    }
  }
  progress(`enabled ${config.tiers.length} tiers`);

  const assets: Record<string, DeployedAsset> = {};
  for (const a of config.assets) {
    const primary = await resolveFeed(run, deployer, `feed:${a.id}:primary`, a.primary);
    const secondary =
      a.secondary === undefined ? undefined : await resolveFeed(run, deployer, `feed:${a.id}:secondary`, a.secondary);
    const key = assetKey(a.id);
    await run.call(
      `oracle.listAsset:${a.id}`,
      () =>
        oracle.listAsset(key, {
          primary: primary.address,
          secondary: secondary?.address ?? ZERO_ADDRESS,
          primaryMaxAge: a.primaryMaxAgeSeconds,
          secondaryMaxAge: a.secondaryMaxAgeSeconds,
          maxDeviationBps: a.maxDeviationBps,
          minPrice: parseUnits(a.minPrice, 18),
          maxPrice: parseUnits(a.maxPrice, 18),
          jumpThresholdBps: a.jumpThresholdBps,
          breakerCooldown: a.breakerCooldownSeconds,
          baseConfidenceBps: a.baseConfidenceBps,
          confidenceBpsPerHour: a.confidenceBpsPerHour,
          maxConfidenceBps: a.maxConfidenceBps,
        }),
      async () => (await oracle.assetConfig(key)).primary !== ZERO_ADDRESS,
    );
    assets[a.id] = {
      id: a.id,
      key,
      primary: primary.address,
      primaryDecimals: primary.decimals,
      ...(secondary !== undefined ? { secondary: secondary.address } : {}),
      ...(primary.mock !== undefined ? { mockPrimary: primary.mock } : {}),
      ...(secondary?.mock !== undefined ? { mockSecondary: secondary.mock } : {}),
    };
    run.manifest.assets[a.id] = {
      key,
      primary: primary.address,
      primaryDecimals: primary.decimals,
      ...(secondary !== undefined ? { secondary: secondary.address } : {}),
      mock: primary.mock !== undefined || secondary?.mock !== undefined,
    };
  }
  await run.save();
  progress(`listed ${config.assets.length} oracle assets`);

  for (const m of config.markets) {
    const key = assetKey(m.asset);
    await run.call(
      `risk.listMarket:${m.id}`,
      () => risk.listMarket(m.id, key),
      async () => (await risk.marketOracleAsset(m.id)) !== ZeroHash,
    );
  }
  for (const tier of config.tiers) {
    const quote = tokens[tier.quote]!;
    await run.call(
      `risk.listTier:${tier.id}`,
      () => risk.listTier(tier.id, tier.depth, quote.address, tier.maxPositions),
      async () => (await risk.tierConfig(tier.id)).listed,
    );
    for (const c of tier.collaterals) {
      const token = tokens[c.token]!.address;
      await run.call(
        `risk.addCollateralToTier:${tier.id}:${c.token}`,
        () =>
          risk.addCollateralToTier(tier.id, token, {
            listed: true,
            weightBps: c.weightBps,
            excessWeightBps: c.excessWeightBps,
            sizeThreshold: parseUnits(c.sizeThreshold, 18),
            oracleAsset: assetKey(c.asset),
          }),
        async () => (await risk.tierCollaterals(tier.id)).some((x) => sameAddress(x, token)),
      );
    }
  }
  // Markets after all tiers exist; any order satisfies depth monotonicity when the config does.
  for (const tier of config.tiers) {
    for (const m of tier.markets) {
      await run.call(
        `risk.addMarketToTier:${tier.id}:${m.market}`,
        () => risk.addMarketToTier(tier.id, m.market, toMarketRisk(m)),
        async () => (await risk.tierMarkets(tier.id)).some((x) => Number(x) === m.market),
      );
    }
  }
  progress(`listed ${config.markets.length} markets in the risk engine`);

  const pools: Record<number, BackstopPool> = {};
  for (const tier of config.tiers) {
    if (tier.pool === undefined) continue;
    const { cooldownSeconds, maxUtilisationBps } = tier.pool;
    const pool = await run.contract(
      `pool:${tier.id}`,
      () =>
        new BackstopPool__factory(deployer).deploy(
          managerAddress,
          clearingAddress,
          vaultAddress,
          tokens[tier.quote]!.address,
          tier.id,
          `Strata ${tier.name} backstop LP`,
          `sb${tier.name.toUpperCase()}`,
          cooldownSeconds,
          maxUtilisationBps,
        ),
      (a) => BackstopPool__factory.connect(a, deployer),
    );
    const poolAddress = await pool.getAddress();
    await run.call(
      `clearing.setPool:${tier.id}`,
      () => clearing.setPool(tier.id, poolAddress),
      async () => sameAddress(await clearing.pool(tier.id), poolAddress),
    );
    await wireModuleRoles(manager, "pool", pool, run, `pool:${tier.id}`);
    pools[tier.id] = pool;
    run.manifest.pools[String(tier.id)] = poolAddress;
  }
  await run.save();
  if (Object.keys(pools).length > 0) progress(`deployed ${Object.keys(pools).length} backstop pools`);

  let sequencerFeed: MockV3Aggregator | undefined;
  let sequencerFeedAddress: string | undefined;
  if (config.sequencer !== undefined) {
    const { gracePeriodSeconds } = config.sequencer;
    const feed = await resolveFeed(
      run,
      deployer,
      "sequencerFeed",
      config.sequencer.feed ?? { mock: { decimals: 0, initialPrice: "0" } },
    );
    sequencerFeed = feed.mock;
    sequencerFeedAddress = feed.address;
    await run.call(
      "oracle.setSequencerFeed",
      () => oracle.setSequencerFeed(feed.address, gracePeriodSeconds),
      async () => {
        const [f, grace] = await oracle.sequencer();
        return sameAddress(f, feed.address) && Number(grace) === gracePeriodSeconds;
      },
    );
    run.manifest.sequencerFeed = feed.address;
    progress("set the L2 sequencer-uptime feed");
  }

  await grantRoles(run, manager, deployerAddress, config);
  progress("granted roles with their execution delays");
  await run.finish();

  return {
    network: config.network,
    config,
    manager,
    vault,
    oracle,
    risk,
    clearing,
    liquidation,
    execution,
    pools,
    tokens,
    assets,
    ...(sequencerFeed !== undefined ? { sequencerFeed } : {}),
    manifest: run.manifest,
    transactions: run.transactions,
    addresses: {
      manager: managerAddress,
      vault: vaultAddress,
      oracle: oracleAddress,
      risk: riskAddress,
      clearing: clearingAddress,
      liquidation: liquidationAddress,
      execution: executionAddress,
      pools: Object.fromEntries(Object.entries(run.manifest.pools).map(([t, a]) => [Number(t), a])),
      tokens: Object.fromEntries(Object.values(tokens).map((t) => [t.symbol, t.address])),
      feeds: Object.fromEntries(
        Object.values(assets).map((a) => [
          a.id,
          { primary: a.primary, ...(a.secondary !== undefined ? { secondary: a.secondary } : {}) },
        ]),
      ),
      ...(sequencerFeedAddress !== undefined ? { sequencerFeed: sequencerFeedAddress } : {}),
    },
  };
}

/**
 * Maps each restricted function of each module to its role (FUNCTION_ROLES) and labels the roles. With a step
 * runner each call is a recorded step; without one the calls are sent directly (a new deployment in memory).
 */
export async function wireRoles(
  manager: StrataAccessManager,
  modules: {
    vault: CollateralVault;
    oracle: OracleRouter;
    risk: RiskEngine;
    clearing: ClearingHouse;
    execution: ExecutionEngine;
  },
  run?: StepRunner,
): Promise<void> {
  const runner = run ?? (await inMemoryRunner(manager));
  for (const [name, label] of Object.entries(ROLE_LABELS) as [RoleName, string][]) {
    // Labels are events only (no getter): re-labelling is harmless, so the step has no probe.
    if (name !== "ADMIN") await runner.call(`manager.labelRole:${name}`, () => manager.labelRole(Role[name], label));
  }
  // GUARDIAN may cancel operations scheduled by RISK and ORACLE members (AccessManager role guardian).
  for (const role of ["RISK", "ORACLE"] as const) {
    await runner.call(
      `manager.setRoleGuardian:${role}`,
      () => manager.setRoleGuardian(Role[role], Role.GUARDIAN),
      async () => (await manager.getRoleGuardian(Role[role])) === Role.GUARDIAN,
    );
  }
  for (const [name, target] of Object.entries(modules)) {
    await wireModuleRoles(manager, name as ModuleName, target, runner);
  }
}

/**
 * Maps each restricted function of one module instance to its role (FUNCTION_ROLES[moduleName]): one step
 * per role, `manager.setTargetFunctionRole:<target>:<role>` (target defaults to the module's name).
 */
export async function wireModuleRoles(
  manager: StrataAccessManager,
  moduleName: ModuleName,
  target: { interface: unknown; getAddress(): Promise<string> },
  run?: StepRunner,
  targetName: string = moduleName,
): Promise<void> {
  const runner = run ?? (await inMemoryRunner(manager));
  const byRole = new Map<RoleName, string[]>();
  for (const [fn, role] of Object.entries(FUNCTION_ROLES[moduleName]) as [string, RoleName][]) {
    const fragment = (target.interface as Interface).getFunction(fn);
    if (fragment === null) throw new Error(`FUNCTION_ROLES names ${moduleName}.${fn}, which the contract lacks`);
    byRole.set(role, [...(byRole.get(role) ?? []), fragment.selector]);
  }
  const address = await target.getAddress();
  for (const [role, selectors] of byRole) {
    await runner.call(
      `manager.setTargetFunctionRole:${targetName}:${role}`,
      () => manager.setTargetFunctionRole(address, selectors, Role[role]),
      async () => {
        for (const selector of selectors) {
          if ((await manager.getTargetFunctionRole(address, selector)) !== Role[role]) return false;
        }
        return true;
      },
    );
  }
}

/** A runner with an in-memory manifest, for the exported helpers called outside a deployment. */
async function inMemoryRunner(manager: StrataAccessManager): Promise<StepRunner> {
  const signer = manager.runner as Signer | null;
  if (signer === null || typeof (signer as Partial<Signer>).getAddress !== "function") {
    throw new Error("The manager must be connected to a signer");
  }
  return StepRunner.open(signer, { network: "in-memory", configHash: ZeroHash }, {});
}

/** One role grant as a step: `manager.grantRole:<role>:<holder label or address>`. */
async function grantStep(
  run: StepRunner,
  manager: StrataAccessManager,
  role: RoleName,
  holder: string,
  delay: number,
  label: string = getAddress(holder),
): Promise<void> {
  await run.call(
    `manager.grantRole:${role}:${label}`,
    () => manager.grantRole(Role[role], holder, delay),
    async () => {
      const [member, executionDelay] = await manager.hasRole(Role[role], holder);
      return member && Number(executionDelay) === delay;
    },
  );
}

async function grantRoles(
  run: StepRunner,
  manager: StrataAccessManager,
  deployer: string,
  config: FoundationConfig,
): Promise<void> {
  const { roles, delays } = config;
  const grants: [RoleName, string[], number][] = [
    ["RISK", roles.risk, delays.risk],
    ["GUARDIAN", roles.guardian, 0],
    ["ORACLE", roles.oracle, delays.oracle],
    ["CONTROLLER", roles.controller, 0],
    ["EXECUTOR", roles.executor, 0],
  ];
  for (const [role, holders, delay] of grants) {
    for (const holder of holders) await grantStep(run, manager, role, holder, delay);
  }
  const admin = roles.admin ?? deployer;
  if (!sameAddress(admin, deployer)) {
    await grantStep(run, manager, "ADMIN", admin, delays.admin);
    await run.call(
      `manager.renounceRole:ADMIN:${getAddress(deployer)}`,
      () => manager.renounceRole(Role.ADMIN, deployer),
      async () => !(await manager.hasRole(Role.ADMIN, deployer))[0],
    );
  } else if (delays.admin > 0) {
    // Raising one's own execution delay takes effect at once. Last step: ADMIN calls are scheduled from here.
    await grantStep(run, manager, "ADMIN", deployer, delays.admin);
  }
}

/**
 * A feed of the config: an existing aggregator (its decimals read), or a MockV3Aggregator deployed once as
 * contract `name` of the manifest.
 */
async function resolveFeed(
  run: StepRunner,
  deployer: Signer,
  name: string,
  feed: { address?: string | undefined; mock?: { decimals: number; initialPrice: string } | undefined },
): Promise<{ address: string; decimals: number; mock?: MockV3Aggregator }> {
  if (feed.mock !== undefined) {
    const { decimals, initialPrice } = feed.mock;
    const mock = await run.contract(
      name,
      () => new MockV3Aggregator__factory(deployer).deploy(decimals, parseUnits(initialPrice, decimals)),
      (a) => MockV3Aggregator__factory.connect(a, deployer),
    );
    return { address: await mock.getAddress(), decimals, mock };
  }
  const existing = MockV3Aggregator__factory.connect(feed.address!, deployer);
  return { address: feed.address!, decimals: Number(await existing.decimals()) };
}

function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** The contract struct of one tier × market's risk settings, from its config entry. */
export function toMarketRisk(m: FoundationConfig["tiers"][number]["markets"][number]) {
  return {
    ratios: { imr: m.imrBps, mmr: m.mmrBps, bmr: m.bmrBps },
    bracketNotional1: parseUnits(m.bracketNotional1, 18),
    bracketAddBps1: m.bracketAddBps1,
    bracketNotional2: parseUnits(m.bracketNotional2, 18),
    bracketAddBps2: m.bracketAddBps2,
    maxLeverage: m.maxLeverage,
    liquidationPenaltyBps: m.liquidationPenaltyBps,
    keeperShareBps: m.keeperShareBps,
    keeperRewardCap: parseUnits(m.keeperRewardCap, 18),
    oiCap: parseUnits(m.oiCap, 18),
    priceBandBps: m.priceBandBps,
    makerFeeBps: m.makerFeeBps,
    takerFeeBps: m.takerFeeBps,
    maxFundingBpsPerDay: m.maxFundingBpsPerDay,
    fundingSkewScale: parseUnits(m.fundingSkewScale, 18),
  };
}
