/**
 * Oracle tools: price flags of the router, pushing prices into mock Chainlink aggregators, price path files and
 * their replay at a chosen pace.
 */
export * from "./errors.js";
export * from "./flags.js";
export * from "./price.js";
export * from "./pricePath.js";
export * from "./push.js";
export * from "./replay.js";
