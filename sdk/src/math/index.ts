/** Bigint mirrors of the contracts' margin and position maths, with the same names and rounding. */
export * from "./wad.js";
export * from "./positionMath.js";
export * from "./marginMath.js";
