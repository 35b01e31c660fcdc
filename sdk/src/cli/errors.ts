import { decodeStrataError, StrataError } from "../client/errors.js";

/** An error the CLI reports as one message and a hint, exiting with `exitCode` (1 by default; 2: usage). */
export class CliError extends Error {
  override name = "CliError";
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(message: string, options: { hint?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
  }
}

/**
 * What the CLI prints for an error, and its exit code: a CliError, a decoded contract error (StrataError) and
 * the SDK's errors that carry a `hint` (oracle tools, the client) print their message and hint; a revert that
 * reached here undecoded is decoded now; anything else prints its message.
 */
export function reportError(error: unknown): { text: string; exitCode: number } {
  const decoded = error instanceof StrataError ? error : decodeStrataError(error);
  const e = decoded ?? error;
  if (!(e instanceof Error)) return { text: `error: ${String(e)}`, exitCode: 1 };
  const hint = (e as { hint?: unknown }).hint;
  const lines = [`error: ${e.message}`];
  if (e instanceof StrataError) lines.push(`  ${e.details}`);
  const issues = (e as { issues?: unknown }).issues;
  if (Array.isArray(issues)) lines.push(...issues.map((i) => `  - ${String(i)}`));
  if (typeof hint === "string" && hint !== "") lines.push(`hint: ${hint}`);
  return { text: lines.join("\n"), exitCode: e instanceof CliError ? e.exitCode : 1 };
}
