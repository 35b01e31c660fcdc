import { encodeBytes32String, parseUnits, type Interface, type Signer } from "ethers";

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
import { type FoundationConfig, type FoundationConfigInput, parseFoundationConfig } from "./config.js";
import { FUNCTION_ROLES, ROLE_LABELS, Role, type ModuleName, type RoleName } from "./roles.js";

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
  /** Addresses only, as written to a deployment manifest. */
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

/** Progress callback: the deployer reports each step it completes. */
export type DeployProgress = (step: string) => void;

/** The bytes32 key of an oracle asset id such as "ETH/USD". */
export function assetKey(id: string): string {
  return encodeBytes32String(id);
}

/**
 * Deploys governance, the collateral vault and the oracle router from a validated config, wires every
 * restricted function to its role, lists tokens, tiers and assets, and hands roles to their holders.
 *
 * @example
 * const deployment = await deployFoundation(signer, localConfig);
 * await deployment.vault.tokenConfig(deployment.tokens.USDC.address);
 */
export async function deployFoundation(
  deployer: Signer,
  input: FoundationConfigInput,
  progress: DeployProgress = () => {},
): Promise<FoundationDeployment> {
  const config = parseFoundationConfig(input);
  const deployerAddress = await deployer.getAddress();

  const manager = await new StrataAccessManager__factory(deployer).deploy(deployerAddress);
  await manager.waitForDeployment();
  const vault = await new CollateralVault__factory(deployer).deploy(
    await manager.getAddress(),
    config.reserveEpochSeconds,
  );
  const oracle = await new OracleRouter__factory(deployer).deploy(await manager.getAddress());
  const risk = await new RiskEngine__factory(deployer).deploy(await manager.getAddress());
  await Promise.all([vault.waitForDeployment(), oracle.waitForDeployment(), risk.waitForDeployment()]);
  const clearing = await new ClearingHouse__factory(deployer).deploy(
    await manager.getAddress(),
    await vault.getAddress(),
    await oracle.getAddress(),
    await risk.getAddress(),
  );
  await clearing.waitForDeployment();
  const liquidation = await new LiquidationEngine__factory(deployer).deploy(
    await clearing.getAddress(),
    await vault.getAddress(),
    await oracle.getAddress(),
    await risk.getAddress(),
  );
  await liquidation.waitForDeployment();
  const execution = await new ExecutionEngine__factory(deployer).deploy(
    await manager.getAddress(),
    await clearing.getAddress(),
    await oracle.getAddress(),
    await risk.getAddress(),
  );
  await execution.waitForDeployment();
  progress(
    "deployed AccessManager, CollateralVault, OracleRouter, RiskEngine, ClearingHouse, LiquidationEngine and ExecutionEngine",
  );

  await wireRoles(manager, { vault, oracle, risk, clearing, execution });
  // The clearing house is the vault's registered controller: the only mover of ledger balances besides
  // CONTROLLER role holders named in the config (test accounts).
  await (await vault.setController(await clearing.getAddress(), true)).wait();
  // The liquidation engine moves positions, cash and collateral inside one tier through the clearing house.
  // It holds the LIQUIDATOR role and is also registered, so its hook calls skip the AccessManager round trip.
  await (await manager.grantRole(Role.LIQUIDATOR, await liquidation.getAddress(), 0)).wait();
  await (await clearing.setLiquidator(await liquidation.getAddress(), true)).wait();
  // The execution engine applies fills (EXECUTOR), registered so that its fills skip the AccessManager round
  // trip, and splits fees as the config says.
  await (await manager.grantRole(Role.EXECUTOR, await execution.getAddress(), 0)).wait();
  await (await clearing.setExecutor(await execution.getAddress(), true)).wait();
  await (
    await execution.setFeeConfig(
      config.fees.treasury ?? deployerAddress,
      config.fees.poolShareBps,
      config.fees.protocolShareBps,
    )
  ).wait();
  await (
    await execution.setPoolSpread(
      config.minPoolSpreadBps ?? Math.max(...config.assets.map((a) => a.deviationThresholdBps)),
    )
  ).wait();
  progress("mapped every restricted function to its role");

  const tokens: Record<string, DeployedToken> = {};
  for (const t of config.tokens) {
    let token: DeployedToken;
    if (t.mock !== undefined) {
      const mock = await new MockERC20__factory(deployer).deploy(t.mock.name ?? t.symbol, t.symbol, t.mock.decimals);
      await mock.waitForDeployment();
      token = { symbol: t.symbol, address: await mock.getAddress(), decimals: t.mock.decimals, mock };
    } else {
      const existing = MockERC20__factory.connect(t.address!, deployer);
      token = { symbol: t.symbol, address: t.address!, decimals: Number(await existing.decimals()) };
    }
    await (
      await vault.listToken(token.address, parseUnits(t.outflowCapacity, token.decimals), t.outflowWindowSeconds)
    ).wait();
    tokens[t.symbol] = token;
  }
  progress(`listed ${config.tokens.length} tokens`);

  for (const tier of config.tiers) {
    for (const d of tier.deposits) {
      const token = tokens[d.token]!;
      await (await vault.enableTierToken(tier.id, token.address, parseUnits(d.cap, token.decimals))).wait();
    }
    for (const r of tier.reserveAllowance) {
      const token = tokens[r.token]!;
      await (await vault.setReserveAllowance(tier.id, token.address, parseUnits(r.capPerEpoch, token.decimals))).wait();
    }
  }
  progress(`enabled ${config.tiers.length} tiers`);

  const assets: Record<string, DeployedAsset> = {};
  for (const a of config.assets) {
    const primary = await resolveFeed(deployer, a.primary);
    const secondary = a.secondary === undefined ? undefined : await resolveFeed(deployer, a.secondary);
    const key = assetKey(a.id);
    await (
      await oracle.listAsset(key, {
        primary: primary.address,
        secondary: secondary?.address ?? "0x0000000000000000000000000000000000000000",
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
      })
    ).wait();
    assets[a.id] = {
      id: a.id,
      key,
      primary: primary.address,
      primaryDecimals: primary.decimals,
      ...(secondary !== undefined ? { secondary: secondary.address } : {}),
      ...(primary.mock !== undefined ? { mockPrimary: primary.mock } : {}),
      ...(secondary?.mock !== undefined ? { mockSecondary: secondary.mock } : {}),
    };
  }
  progress(`listed ${config.assets.length} oracle assets`);

  for (const m of config.markets) {
    await (await risk.listMarket(m.id, assetKey(m.asset))).wait();
  }
  for (const tier of config.tiers) {
    const quote = tokens[tier.quote]!;
    await (await risk.listTier(tier.id, tier.depth, quote.address, tier.maxPositions)).wait();
    for (const c of tier.collaterals) {
      await (
        await risk.addCollateralToTier(tier.id, tokens[c.token]!.address, {
          listed: true,
          weightBps: c.weightBps,
          excessWeightBps: c.excessWeightBps,
          sizeThreshold: parseUnits(c.sizeThreshold, 18),
          oracleAsset: assetKey(c.asset),
        })
      ).wait();
    }
  }
  // Markets after all tiers exist; any order satisfies depth monotonicity when the config does.
  for (const tier of config.tiers) {
    for (const m of tier.markets) {
      await (await risk.addMarketToTier(tier.id, m.market, toMarketRisk(m))).wait();
    }
  }
  progress(`listed ${config.markets.length} markets in the risk engine`);

  const pools: Record<number, BackstopPool> = {};
  for (const tier of config.tiers) {
    if (tier.pool === undefined) continue;
    const pool = await new BackstopPool__factory(deployer).deploy(
      await manager.getAddress(),
      await clearing.getAddress(),
      await vault.getAddress(),
      tokens[tier.quote]!.address,
      tier.id,
      `Strata ${tier.name} backstop LP`,
      `sb${tier.name.toUpperCase()}`,
      tier.pool.cooldownSeconds,
      tier.pool.maxUtilisationBps,
    );
    await pool.waitForDeployment();
    await (await clearing.setPool(tier.id, await pool.getAddress())).wait();
    await wireModuleRoles(manager, "pool", pool);
    pools[tier.id] = pool;
  }
  if (Object.keys(pools).length > 0) progress(`deployed ${Object.keys(pools).length} backstop pools`);

  let sequencerFeed: MockV3Aggregator | undefined;
  if (config.sequencer !== undefined) {
    const feed =
      config.sequencer.feed === undefined
        ? await resolveFeed(deployer, { mock: { decimals: 0, initialPrice: "0" } })
        : await resolveFeed(deployer, config.sequencer.feed);
    sequencerFeed = feed.mock;
    await (await oracle.setSequencerFeed(feed.address, config.sequencer.gracePeriodSeconds)).wait();
    progress("set the L2 sequencer-uptime feed");
  }

  await grantRoles(manager, deployerAddress, config);
  progress("granted roles with their execution delays");

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
    addresses: {
      manager: await manager.getAddress(),
      vault: await vault.getAddress(),
      oracle: await oracle.getAddress(),
      risk: await risk.getAddress(),
      clearing: await clearing.getAddress(),
      liquidation: await liquidation.getAddress(),
      execution: await execution.getAddress(),
      pools: Object.fromEntries(
        await Promise.all(Object.entries(pools).map(async ([t, p]) => [Number(t), await p.getAddress()] as const)),
      ),
      tokens: Object.fromEntries(Object.values(tokens).map((t) => [t.symbol, t.address])),
      feeds: Object.fromEntries(
        Object.values(assets).map((a) => [
          a.id,
          { primary: a.primary, ...(a.secondary !== undefined ? { secondary: a.secondary } : {}) },
        ]),
      ),
      ...(sequencerFeed !== undefined ? { sequencerFeed: await sequencerFeed.getAddress() } : {}),
    },
  };
}

/** Maps each restricted function of each module to its role (FUNCTION_ROLES) and labels the roles. */
export async function wireRoles(
  manager: StrataAccessManager,
  modules: {
    vault: CollateralVault;
    oracle: OracleRouter;
    risk: RiskEngine;
    clearing: ClearingHouse;
    execution: ExecutionEngine;
  },
): Promise<void> {
  for (const [name, label] of Object.entries(ROLE_LABELS) as [RoleName, string][]) {
    if (name !== "ADMIN") await (await manager.labelRole(Role[name], label)).wait();
  }
  // GUARDIAN may cancel operations scheduled by RISK and ORACLE members (AccessManager role guardian).
  for (const role of ["RISK", "ORACLE"] as const) {
    await (await manager.setRoleGuardian(Role[role], Role.GUARDIAN)).wait();
  }
  for (const [name, target] of Object.entries(modules)) {
    await wireModuleRoles(manager, name as ModuleName, target);
  }
}

/** Maps each restricted function of one module instance to its role (FUNCTION_ROLES[moduleName]). */
export async function wireModuleRoles(
  manager: StrataAccessManager,
  moduleName: ModuleName,
  target: { interface: unknown; getAddress(): Promise<string> },
): Promise<void> {
  const byRole = new Map<RoleName, string[]>();
  for (const [fn, role] of Object.entries(FUNCTION_ROLES[moduleName]) as [string, RoleName][]) {
    const fragment = (target.interface as Interface).getFunction(fn);
    if (fragment === null) throw new Error(`FUNCTION_ROLES names ${moduleName}.${fn}, which the contract lacks`);
    byRole.set(role, [...(byRole.get(role) ?? []), fragment.selector]);
  }
  for (const [role, selectors] of byRole) {
    await (await manager.setTargetFunctionRole(await target.getAddress(), selectors, Role[role])).wait();
  }
}

async function grantRoles(manager: StrataAccessManager, deployer: string, config: FoundationConfig): Promise<void> {
  const { roles, delays } = config;
  const grants: [RoleName, string[], number][] = [
    ["RISK", roles.risk, delays.risk],
    ["GUARDIAN", roles.guardian, 0],
    ["ORACLE", roles.oracle, delays.oracle],
    ["CONTROLLER", roles.controller, 0],
    ["EXECUTOR", roles.executor, 0],
  ];
  for (const [role, holders, delay] of grants) {
    for (const holder of holders) await (await manager.grantRole(Role[role], holder, delay)).wait();
  }
  const admin = roles.admin ?? deployer;
  if (admin.toLowerCase() !== deployer.toLowerCase()) {
    await (await manager.grantRole(Role.ADMIN, admin, delays.admin)).wait();
    await (await manager.renounceRole(Role.ADMIN, deployer)).wait();
  } else if (delays.admin > 0) {
    // Raising one's own execution delay takes effect at once.
    await (await manager.grantRole(Role.ADMIN, deployer, delays.admin)).wait();
  }
}

async function resolveFeed(
  deployer: Signer,
  feed: { address?: string | undefined; mock?: { decimals: number; initialPrice: string } | undefined },
): Promise<{ address: string; decimals: number; mock?: MockV3Aggregator }> {
  if (feed.mock !== undefined) {
    const mock = await new MockV3Aggregator__factory(deployer).deploy(
      feed.mock.decimals,
      parseUnits(feed.mock.initialPrice, feed.mock.decimals),
    );
    await mock.waitForDeployment();
    return { address: await mock.getAddress(), decimals: feed.mock.decimals, mock };
  }
  const existing = MockV3Aggregator__factory.connect(feed.address!, deployer);
  return { address: feed.address!, decimals: Number(await existing.decimals()) };
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
