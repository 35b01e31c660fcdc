import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import path from "node:path";

import { isAddress, isHexString } from "ethers";
import { z } from "zod";

/**
 * The record of one deployment, written to `deployments/<network>.json` as the deployer goes: what it
 * deployed where (with the transaction and block), the addresses of tokens, feeds and pools, and the ids of
 * the steps done. A re-run reads it to skip what is done; operators commit testnet and mainnet manifests.
 */

const address = z.string().refine((v) => isAddress(v), { message: "must be a 0x-prefixed 20-byte address" });
const hash32 = z
  .string()
  .refine((v): boolean => isHexString(v, 32), { message: "must be a 0x-prefixed 32-byte hex string" });
const timestamp = z.string().datetime({ message: "must be an ISO-8601 UTC timestamp" });
const block = z.number().int().nonnegative();

/** A contract the deployer created: where, by which transaction, in which block. */
const deployedContractSchema = z.object({ address, txHash: hash32, block });

/** One completed step. `txHash` is absent for a step found already applied on chain (no transaction sent). */
const stepRecordSchema = z.object({
  id: z.string().min(1),
  txHash: hash32.optional(),
  block: block.optional(),
  at: timestamp,
});

export const MANIFEST_VERSION = 1;

export const manifestSchema = z
  .object({
    version: z.literal(MANIFEST_VERSION),
    /** The config's network name. */
    network: z.string().min(1),
    chainId: z.number().int().positive(),
    /** The account that sent every transaction; a resume must use the same one (it holds ADMIN until the end). */
    deployer: address,
    /** keccak256 of the validated config's canonical JSON (`configHash`). */
    configHash: hash32,
    startedAt: timestamp,
    /** Set when every step is done. */
    finishedAt: timestamp.optional(),
    /** Every contract the deployer created, by name: modules, mock tokens and feeds, pools. */
    contracts: z.record(z.string(), deployedContractSchema),
    /** The deployment's tokens by symbol; `mock` when the deployer created it. */
    tokens: z.record(z.string(), z.object({ address, decimals: z.number().int().min(0).max(36), mock: z.boolean() })),
    /** Oracle assets by id: the router's key and the feeds behind it. */
    assets: z.record(
      z.string(),
      z.object({
        key: hash32,
        primary: address,
        primaryDecimals: z.number().int().min(0).max(36),
        secondary: address.optional(),
        mock: z.boolean(),
      }),
    ),
    /** Each tier's backstop pool, by tier id. */
    pools: z.record(z.string().regex(/^\d+$/, { message: "must be a tier id" }), address),
    sequencerFeed: address.optional(),
    /** Completed steps, in order. */
    steps: z.array(stepRecordSchema),
    /**
     * A transaction sent but not yet recorded as done: a re-run after a crash looks it up by hash instead of
     * sending the step again.
     */
    pending: z.object({ step: z.string().min(1), txHash: hash32 }).optional(),
  })
  .superRefine((m, ctx) => {
    const seen = new Set<string>();
    for (const [i, s] of m.steps.entries()) {
      if (seen.has(s.id)) ctx.addIssue({ code: "custom", path: ["steps", i, "id"], message: `duplicate step ${s.id}` });
      seen.add(s.id);
    }
  });

export type Manifest = z.infer<typeof manifestSchema>;
export type DeployedContract = z.infer<typeof deployedContractSchema>;
export type StepRecord = z.infer<typeof stepRecordSchema>;

/** Validates a manifest object, with messages that name the field at fault. */
export function parseManifest(input: unknown, source = "manifest"): Manifest {
  const result = manifestSchema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  - ${i.path.join(".") || "(manifest)"}: ${i.message}`);
    throw new Error(
      `${source} is not a valid Strata deployment manifest:\n${lines.join("\n")}\n` +
        "Restore it from version control, or move it aside to deploy afresh (a new manifest, new contracts).",
    );
  }
  return result.data;
}

/**
 * Reads and validates the manifest at `file`. A missing file, a file that is not JSON and a manifest that
 * fails validation each throw an error that names the file and says what to do.
 */
export async function readManifest(file: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new Error(`No deployment manifest at ${file}: nothing was deployed with it yet (deploy to create it).`);
    }
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(
      `${file} is not valid JSON (${(error as Error).message}): the manifest is corrupt. Restore it from version ` +
        "control, or move it aside to deploy afresh (a new manifest, new contracts).",
    );
  }
  return parseManifest(json, file);
}

/** Reads the manifest at `file`, or returns undefined when there is none. */
export async function readManifestIfExists(file: string): Promise<Manifest | undefined> {
  try {
    await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  return readManifest(file);
}

/** The manifest as written: validated, two-space JSON with a final newline. */
export function serializeManifest(m: Manifest): string {
  return `${JSON.stringify(parseManifest(m), null, 2)}\n`;
}

/**
 * Writes the manifest atomically: to a temporary file beside it, flushed to disk, then renamed over `file`.
 * A crash leaves either the old manifest or the new one, never half of one. Creates the directory if needed.
 */
export async function writeManifest(file: string, m: Manifest): Promise<void> {
  const text = serializeManifest(m);
  await mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    const handle = await open(temp, "w");
    try {
      await handle.writeFile(text, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** `deployments/<network>.json` under `root` (the repository by default). */
export function manifestPath(network: string, root = process.cwd()): string {
  if (!/^[A-Za-z0-9_-]+$/.test(network)) throw new Error(`Network name ${JSON.stringify(network)} is not a file name`);
  return path.join(root, "deployments", `${network}.json`);
}
