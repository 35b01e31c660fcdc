/** The liquidation keeper (DESIGN §7): discovery, scanning, planning, sending, and the loop that runs them. */
export * from "./collateral.js";
export * from "./concurrency.js";
export * from "./config.js";
export * from "./executor.js";
export * from "./indexer.js";
export * from "./keeper.js";
export * from "./metrics.js";
export * from "./planner.js";
export * from "./poker.js";
export * from "./scanner.js";
export * from "./sender.js";
export * from "./server.js";
