/**
 * The client side of the SDK: the typed client over a deployment (`createStrataClient`) and its modules,
 * bucket ids, reading a deployment's status, and decoding its errors.
 */
export * from "./buckets.js";
export * from "./errors.js";
export {
  ERROR_CATALOG,
  PANIC_REASONS,
  formatAmount,
  formatBps,
  formatBucket,
  formatDuration,
  formatLabel,
  formatRole,
  formatTime,
  formatWad,
  type CatalogEntry,
  type CataloguedErrorName,
  type CataloguedSignature,
} from "./errorCatalog.js";
export * from "./foundationStatus.js";
export * from "./strata.js";
export {
  DEFAULT_GAS_HEADROOM_BPS,
  NoSignerError,
  StrataClientError,
  TransactionOutOfGasError,
  type BoundCall,
  type StrataAddresses,
  type StrataContracts,
  type StrataToken,
  type WriteMethod,
  type WriteOptions,
  type WriteResult,
} from "./context.js";
export type { ClearingModule, FundingState, Health, Position, WithdrawParams } from "./modules/clearing.js";
export {
  DEFAULT_ORDER_TTL_SECONDS,
  type BuildOrderParams,
  type ExecutionModule,
  type OrderRef,
  type PoolQuote,
  type PoolTradeParams,
  type SettleMatchParams,
} from "./modules/execution.js";
export type {
  GovernanceModule,
  GovernanceTarget,
  ManagedCall,
  OperationStatus,
  RoleMembership,
  RoleRef,
} from "./modules/governance.js";
export type { OracleModule, Price } from "./modules/oracle.js";
export type { PoolParams, PoolsModule, RedeemStatus } from "./modules/pools.js";
export type { RiskModule, TierConfig } from "./modules/risk.js";
export type { Claim, DepositParams, TokenConfig, VaultModule } from "./modules/vault.js";
export { acceptablePrice } from "../execution/slippage.js";
export type { Order, SignedOrder } from "../execution/orders.js";
