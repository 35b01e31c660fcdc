/**
 * The scenario engine's data: scenario files (reading, listing, validation), the generator, the oracle's view of
 * a path, and the named generated scenarios.
 */
export * from "./errors.js";
export * from "./generated.js";
export * from "./generator.js";
export * from "./scenarios.js";
export type * from "./types.js";
