/**
 * Oracle prices in the SDK: the router's price type, and prices as the oracle tools take them (WAD bigints, or
 * decimal strings converted exactly, never a float).
 */
import { parseUnits } from "ethers";
import { z } from "zod";

import { OracleToolError } from "./errors.js";

const DECIMAL = /^(\d+)(?:\.(\d+))?$/;
const WAD_DECIMALS = 18;

/**
 * A positive decimal price string ("3000.5", at most 18 decimal places) as a WAD bigint. JSON numbers are
 * refused: a float may already have lost digits before it reaches the parser.
 */
export const decimalPriceSchema = z.unknown().transform((value, ctx): bigint => {
  if (typeof value === "number") {
    ctx.addIssue({
      code: "custom",
      message: `write the price ${value} as a string ("${value}"), so that no digit is lost to floating point`,
    });
    return z.NEVER;
  }
  if (typeof value !== "string") {
    ctx.addIssue({ code: "custom", message: `a price must be a decimal string such as "3000.5", not ${typeof value}` });
    return z.NEVER;
  }
  const text = value.trim();
  const match = DECIMAL.exec(text);
  if (match === null) {
    ctx.addIssue({
      code: "custom",
      message:
        `${JSON.stringify(value)} is not a decimal price: write digits with an optional point, e.g. "3000.5" ` +
        "(no sign, exponent, thousands separator or unit)",
    });
    return z.NEVER;
  }
  const places = match[2]?.length ?? 0;
  if (places > WAD_DECIMALS) {
    ctx.addIssue({
      code: "custom",
      message: `${JSON.stringify(value)} has ${places} decimal places; prices are WAD, at most ${WAD_DECIMALS}`,
    });
    return z.NEVER;
  }
  const wad = parseUnits(text, WAD_DECIMALS);
  if (wad === 0n) {
    ctx.addIssue({ code: "custom", message: `${JSON.stringify(value)} is zero; a price must be positive` });
    return z.NEVER;
  }
  return wad;
});

/**
 * A price as a WAD bigint: a bigint is taken as WAD, a string is parsed as a decimal (see
 * {@link decimalPriceSchema}). Throws an {@link OracleToolError} (`InvalidPrice`) for anything else.
 *
 * @example
 * toWadPrice("3000.5"); // 3000500000000000000000n
 * toWadPrice(3000n * 10n ** 18n); // 3000000000000000000000n
 */
export function toWadPrice(price: string | bigint): bigint {
  if (typeof price === "bigint") {
    if (price > 0n) return price;
    throw new OracleToolError({
      code: "InvalidPrice",
      message: `The price ${price} (WAD) is not positive.`,
      hint: 'Give a positive WAD bigint (1e18 = 1 quote unit per asset unit) or a decimal string such as "3000.5".',
    });
  }
  const result = decimalPriceSchema.safeParse(price);
  if (result.success) return result.data;
  throw new OracleToolError({
    code: "InvalidPrice",
    message: `Invalid price: ${result.error.issues.map((i) => i.message).join("; ")}.`,
    hint: 'Give a positive decimal string such as "3000.5" (at most 18 decimal places) or a WAD bigint.',
  });
}

/** A WAD price at `decimals` decimals, rounded down (a feed's answer); 0 when the price is below its resolution. */
export function wadToDecimals(wad: bigint, decimals: number): bigint {
  return decimals <= WAD_DECIMALS ? wad / 10n ** BigInt(WAD_DECIMALS - decimals) : wad * 10n ** BigInt(decimals - 18);
}

/** A price of the oracle router (IOracleRouter.Price): a mid, its confidence band and its flags. */
export interface OraclePrice {
  /** The mid (quote WAD per base unit). */
  price: bigint;
  /** The band's low side. */
  lower: bigint;
  /** The band's high side. */
  upper: bigint;
  /** The bits of `PriceFlag` (sdk/src/oracle/flags.ts); 0 for a good price. */
  flags: bigint;
}
