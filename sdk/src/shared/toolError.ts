/** Everything a {@link ToolError} carries. */
export interface ToolErrorParameters<Code extends string> {
  code: Code;
  message: string;
  hint: string;
  issues?: readonly string[];
  cause?: unknown;
}

/**
 * A refusal of one of the SDK's off-chain tools (oracle tools, scenarios), raised before anything is sent when the
 * inputs are at fault: `code` for `switch`, `message` says what is wrong, `hint` what to do, `issues` every problem
 * found (one line each) when an input is validated as a whole. Each tool subclasses it with its own code union.
 *
 * @example
 * class PathError extends ToolError<"InvalidPath"> {
 *   override name = "PathError";
 * }
 */
export class ToolError<Code extends string> extends Error {
  readonly code: Code;
  /** What to do about it. */
  readonly hint: string;
  /** Every problem found, one line each. */
  readonly issues: readonly string[];

  constructor(p: ToolErrorParameters<Code>) {
    super(p.message, p.cause === undefined ? undefined : { cause: p.cause });
    this.code = p.code;
    this.hint = p.hint;
    this.issues = p.issues ?? [];
  }
}
