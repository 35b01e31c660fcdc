import { expect } from "chai";

/**
 * `actual` lies within `delta` of `expected`, for fractional numbers.
 *
 * Not chai's `closeTo`: once any test file connects to a network, hardhat-ethers-chai-matchers overrides
 * `closeTo` to compare as bigints, and a fractional number then throws "is not an integer". `within` is
 * overridden only for bigint arguments, so it keeps chai's float comparison.
 */
export function expectNear(actual: number, expected: number, delta: number, message?: string): void {
  expect(actual, message).to.be.within(expected - delta, expected + delta);
}
