/** The client side of the SDK: bucket ids, reading a deployment's status, and decoding its errors. */
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
