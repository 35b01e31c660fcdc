/** Bigint mirrors of the contracts' maths, with the same names and rounding. */
export * from "./wad.js";
export * from "./errors.js";
export * from "./positionMath.js";
export * from "./marginMath.js";
export * from "./health.js";
export * from "./liquidationMath.js";
export * from "./poolShares.js";
export * from "./poolPricing.js";
