/**
 * Price path files: timestamps and prices per asset, to replay into mock feeds ({@link replayPricePath}).
 *
 * CSV: a header `timestamp,ETH/USD,BTC/USD` (the first column is the time, then one column per asset), then one
 * row per point. Blank lines and lines starting with `#` are skipped.
 *
 * ```csv
 * timestamp,ETH/USD,BTC/USD
 * 2025-01-01T00:00:00Z,3000,60000
 * 1735689660,3012.5,
 * ```
 *
 * JSON: an array of points, each with its time `t` and a price per asset by id.
 *
 * ```json
 * [
 *   { "t": "2025-01-01T00:00:00Z", "ETH/USD": "3000", "BTC/USD": "60000" },
 *   { "t": 1735689660, "ETH/USD": "3012.5" }
 * ]
 * ```
 *
 * Times are unix seconds (a whole number, or a string of digits) or ISO-8601 with a zone (`Z` or `+02:00`), in
 * whole seconds, strictly increasing. Prices are decimal strings ("3012.5", at most 18 places) converted exactly
 * to WAD; an empty CSV cell, or a JSON key left out or `null`, means no update of that asset at that point (a
 * point with no price only lets time pass).
 */
import { readFile } from "node:fs/promises";
import path from "node:path";

import { z } from "zod";

import { OracleToolError } from "./errors.js";
import { decimalPriceSchema } from "./price.js";

/** One point of a path: its time and the assets it updates. */
export interface PricePoint {
  /** Unix seconds. */
  t: number;
  /** WAD prices of the assets updated at this point (the others keep their last price). */
  prices: Readonly<Record<string, bigint>>;
}

/** A validated price path. */
export interface PricePath {
  /** Every asset the path names, in the file's order. */
  assets: readonly string[];
  /** At least one point, times strictly increasing. */
  points: readonly PricePoint[];
}

/** Options of {@link parsePricePath}. */
export interface ParsePricePathOptions {
  /** `json` or `csv`; {@link readPricePath} takes it from the file's extension. */
  format: "json" | "csv";
  /** When given, an asset outside this list is an error (e.g. `Object.keys(deployment.addresses.feeds)`). */
  knownAssets?: readonly string[];
  /** Names the input in error messages (a file name). */
  source?: string;
}

const MAX_ISSUES = 20;
const TIME_KEY = "t";
const CSV_TIME_HEADER = "timestamp";

/** Unix seconds from a whole number, a string of digits, or an ISO-8601 time with a zone. */
const timestampSchema = z.unknown().transform((value, ctx): number => {
  let seconds: number | undefined;
  if (typeof value === "number") seconds = value;
  else if (typeof value === "string" && /^\d+$/.test(value.trim())) seconds = Number(value.trim());
  else if (typeof value === "string" && z.string().datetime({ offset: true }).safeParse(value.trim()).success) {
    const ms = Date.parse(value.trim());
    if (ms % 1000 !== 0) {
      ctx.addIssue({ code: "custom", message: `time ${JSON.stringify(value)} is not a whole second` });
      return z.NEVER;
    }
    seconds = ms / 1000;
  }
  if (seconds === undefined || !Number.isSafeInteger(seconds) || seconds <= 0) {
    ctx.addIssue({
      code: "custom",
      message:
        `time ${JSON.stringify(value)} is neither unix seconds (a positive whole number) nor an ISO-8601 time ` +
        'with a zone such as "2025-01-01T00:00:00Z"',
    });
    return z.NEVER;
  }
  return seconds;
});

/** An asset id: the oracle router's key is its bytes32 string, so at most 31 bytes. */
const assetIdSchema = z
  .string()
  .trim()
  .min(1, "an asset column has no name")
  .refine((id) => Buffer.byteLength(id, "utf8") <= 31, { message: "an asset id is at most 31 bytes (a bytes32 key)" });

/** One point as read from either format, before the cross-point checks. */
const pointSchema = z
  .object({ [TIME_KEY]: timestampSchema })
  .catchall(z.union([z.null(), decimalPriceSchema]))
  .transform((p): PricePoint => {
    const prices: Record<string, bigint> = {};
    for (const [key, value] of Object.entries(p)) {
      if (key !== TIME_KEY && typeof value === "bigint") prices[key] = value;
    }
    return { t: p[TIME_KEY], prices };
  });

/** Collects the issues of a whole file, each with where it is, and throws them together. */
class Issues {
  readonly lines: string[] = [];
  add(where: string, message: string): void {
    this.lines.push(`${where}: ${message}`);
  }
  throwIfAny(source: string, format: "json" | "csv"): void {
    if (this.lines.length === 0) return;
    const shown = this.lines.slice(0, MAX_ISSUES);
    const more = this.lines.length > MAX_ISSUES ? `\n  … and ${this.lines.length - MAX_ISSUES} more` : "";
    throw new OracleToolError({
      code: "InvalidPricePath",
      message: `${source} is not a valid price path:\n${shown.map((l) => `  - ${l}`).join("\n")}${more}`,
      hint:
        format === "csv"
          ? 'Fix these rows: a header "timestamp,ETH/USD,…", then one row per point with unix seconds or an ISO ' +
            "time, strictly increasing, and decimal prices (an empty cell for no update)."
          : 'Fix these points: an array of { "t": unix seconds or ISO time, "<asset>": "<decimal price>" }, times ' +
            "strictly increasing (leave an asset out or null for no update).",
      issues: this.lines,
    });
  }
}

function checkAssets(assets: readonly string[], known: readonly string[] | undefined, where: string, issues: Issues) {
  const seen = new Set<string>();
  for (const asset of assets) {
    const parsed = assetIdSchema.safeParse(asset);
    if (!parsed.success) issues.add(where, `${JSON.stringify(asset)}: ${parsed.error.issues[0]!.message}`);
    if (seen.has(asset)) issues.add(where, `asset ${JSON.stringify(asset)} appears twice`);
    seen.add(asset);
    if (known !== undefined && !known.includes(asset)) {
      issues.add(where, `unknown asset ${JSON.stringify(asset)}; the deployment has ${known.join(", ") || "none"}`);
    }
  }
}

/** Validates one point and its time against the previous one's. */
function checkPoint(raw: unknown, where: string, previous: PricePoint | undefined, issues: Issues) {
  const result = pointSchema.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const key = issue.path[0];
      issues.add(where, key === undefined || key === TIME_KEY ? issue.message : `${String(key)}: ${issue.message}`);
    }
    return undefined;
  }
  const point = result.data;
  if (previous !== undefined && point.t <= previous.t) {
    issues.add(
      where,
      `time ${point.t} (${isoTime(point.t)}) is not after the previous point's ${previous.t} (${isoTime(previous.t)}); ` +
        "times must strictly increase",
    );
  }
  return point;
}

function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
}

function parseJson(text: string, options: ParsePricePathOptions, source: string): PricePath {
  const issues = new Issues();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    issues.add("file", `not valid JSON (${(error as Error).message})`);
    issues.throwIfAny(source, "json");
  }
  if (!Array.isArray(json) || json.length === 0) {
    issues.add("file", "must be a non-empty array of points");
    issues.throwIfAny(source, "json");
  }
  const points: PricePoint[] = [];
  const assets: string[] = [];
  (json as unknown[]).forEach((raw, i) => {
    const where = `point ${i + 1} (index ${i})`;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      issues.add(where, 'must be an object such as { "t": 1735689600, "ETH/USD": "3000" }');
      return;
    }
    const fresh = Object.keys(raw).filter((k) => k !== TIME_KEY && !assets.includes(k));
    checkAssets(fresh, options.knownAssets, where, issues);
    assets.push(...fresh);
    if (!(TIME_KEY in raw)) issues.add(where, `has no time "${TIME_KEY}"`);
    const point = checkPoint(raw, where, points.at(-1), issues);
    if (point !== undefined) points.push(point);
  });
  issues.throwIfAny(source, "json");
  return { assets, points };
}

function parseCsv(text: string, options: ParsePricePathOptions, source: string): PricePath {
  const issues = new Issues();
  const rows = text
    .replace(/^\uFEFF/, "")
    .split(/\r?\n/)
    .map((line, i) => ({ line: i + 1, cells: line.split(",").map((c) => c.trim()) }))
    .filter(({ cells }) => !(cells.length === 1 && cells[0] === "") && !cells[0]!.startsWith("#"));
  const header = rows.shift();
  if (header === undefined) {
    issues.add("file", `is empty; it needs a header "${CSV_TIME_HEADER},ETH/USD,…" and at least one row`);
    issues.throwIfAny(source, "csv");
  }
  const [first, ...assets] = header!.cells;
  const headerWhere = `line ${header!.line} (header)`;
  if (first!.toLowerCase() !== CSV_TIME_HEADER) {
    issues.add(headerWhere, `the first column must be "${CSV_TIME_HEADER}", not ${JSON.stringify(first)}`);
  }
  if (assets.length === 0) issues.add(headerWhere, "names no asset column after the timestamp");
  checkAssets(assets, options.knownAssets, headerWhere, issues);
  if (rows.length === 0) issues.add("file", "has a header but no rows");
  issues.throwIfAny(source, "csv");

  const points: PricePoint[] = [];
  for (const { line, cells } of rows) {
    const where = `line ${line}`;
    if (cells.length !== header!.cells.length) {
      issues.add(
        where,
        `has ${cells.length} cells; the header has ${header!.cells.length} (${header!.cells.join(",")})`,
      );
      continue;
    }
    const raw: Record<string, unknown> = { [TIME_KEY]: cells[0] };
    assets.forEach((asset, i) => {
      const cell = cells[i + 1]!;
      raw[asset] = cell === "" ? null : cell;
    });
    const point = checkPoint(raw, where, points.at(-1), issues);
    if (point !== undefined) points.push(point);
  }
  issues.throwIfAny(source, "csv");
  return { assets, points };
}

/**
 * Parses and validates a price path (format in the module's documentation). Every problem is reported at
 * once, each with its CSV line or JSON point, in an {@link OracleToolError} `InvalidPricePath` whose `issues`
 * list them: malformed rows, bad times or prices, times that do not increase, unknown or duplicate assets.
 *
 * @example
 * const path = parsePricePath("timestamp,ETH/USD\n1735689600,3000\n1735689660,3012.5\n", { format: "csv" });
 * path.points[1]; // { t: 1735689660, prices: { "ETH/USD": 3012500000000000000000n } }
 */
export function parsePricePath(text: string, options: ParsePricePathOptions): PricePath {
  const source = options.source ?? `the ${options.format.toUpperCase()} price path`;
  return options.format === "json" ? parseJson(text, options, source) : parseCsv(text, options, source);
}

/**
 * Reads and validates the price path at `file`: `.json` or `.csv` by its extension (see {@link parsePricePath}).
 *
 * @example
 * const path = await readPricePath("scenarios/paths/eth-dip.csv", {
 *   knownAssets: Object.keys(deployment.addresses.feeds),
 * });
 */
export async function readPricePath(
  file: string,
  options: Omit<ParsePricePathOptions, "format" | "source"> = {},
): Promise<PricePath> {
  const extension = path.extname(file).toLowerCase();
  if (extension !== ".json" && extension !== ".csv") {
    throw new OracleToolError({
      code: "InvalidPricePath",
      message: `${file} is neither .json nor .csv.`,
      hint: "Name the price path file with a .json or .csv extension matching its content.",
    });
  }
  const text = await readFile(file, "utf8");
  return parsePricePath(text, { ...options, format: extension === ".json" ? "json" : "csv", source: file });
}
