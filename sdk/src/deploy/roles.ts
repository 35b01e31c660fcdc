/**
 * Strata's governance roles and which role may call which restricted function of each module.
 * This table is the single source of the wiring: the deployer applies it and the tests check it.
 */

/** Role ids in the AccessManager. ADMIN is the manager's own ADMIN_ROLE. */
export const Role = {
  ADMIN: 0n,
  RISK: 1n,
  GUARDIAN: 2n,
  ORACLE: 3n,
  CONTROLLER: 4n,
  EXECUTOR: 5n,
  LIQUIDATOR: 6n,
} as const;
export type RoleName = keyof typeof Role;

/** Restricted functions of each module, by the role allowed to call them. */
export const FUNCTION_ROLES = {
  vault: {
    listToken: "ADMIN",
    enableTierToken: "ADMIN",
    setReserveAllowance: "ADMIN",
    unpauseDeposits: "ADMIN",
    setController: "ADMIN",
    setOutflowLimit: "RISK",
    setDepositCap: "RISK",
    pauseDeposits: "GUARDIAN",
    move: "CONTROLLER",
    withdraw: "CONTROLLER",
    drawReserve: "CONTROLLER",
  },
  oracle: {
    listAsset: "ADMIN",
    setSequencerFeed: "ADMIN",
    setAssetParams: "RISK",
    setFeeds: "ORACLE",
  },
  risk: {
    listTier: "ADMIN",
    listMarket: "ADMIN",
    addMarketToTier: "ADMIN",
    addCollateralToTier: "ADMIN",
    setMarketRisk: "RISK",
    setCollateralRisk: "RISK",
  },
  clearing: {
    setPool: "ADMIN",
    setLiquidator: "ADMIN",
    setExecutor: "ADMIN",
    applyFill: "EXECUTOR",
    liquidate: "LIQUIDATOR",
    beginBatch: "LIQUIDATOR",
    endBatch: "LIQUIDATOR",
    transferPosition: "LIQUIDATOR",
    transferCash: "LIQUIDATOR",
    transferCollateral: "LIQUIDATOR",
    drawReserve: "LIQUIDATOR",
  },
  execution: {
    pauseRiskIncrease: "GUARDIAN",
    unpauseRiskIncrease: "ADMIN",
    setFeeConfig: "ADMIN",
    setPoolSpread: "ADMIN",
  },
  /** Applied to each tier's BackstopPool. */
  pool: {
    setParams: "RISK",
  },
} as const satisfies Record<string, Record<string, RoleName>>;

export type ModuleName = keyof typeof FUNCTION_ROLES;

/** Human-readable labels, set on the manager so that explorers and `status` show names. */
export const ROLE_LABELS: Record<RoleName, string> = {
  ADMIN: "ADMIN",
  RISK: "RISK",
  GUARDIAN: "GUARDIAN",
  ORACLE: "ORACLE",
  CONTROLLER: "CONTROLLER",
  EXECUTOR: "EXECUTOR",
  LIQUIDATOR: "LIQUIDATOR",
};
