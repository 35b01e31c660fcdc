import { JsonRpcProvider, Network, Wallet } from "ethers";

import { readManifestIfExists, type Manifest } from "../deploy/manifest.js";
import { CliError } from "./errors.js";

/** How long the CLI waits for the node's first answer before it calls the node unreachable. */
const REACH_TIMEOUT_MS = 5_000;

/**
 * Asks `url` for its chain id (one `eth_chainId`, with a timeout) and returns a provider fixed to that chain,
 * so that ethers does not retry network detection forever against a node that is down.
 */
export async function connect(url: string): Promise<{ provider: JsonRpcProvider; chainId: number }> {
  const unreachable = (why: string, cause?: unknown) =>
    new CliError(`cannot reach ${url}: is the node running? set --rpc or STRATA_RPC_URL (${why})`, { cause });
  let body: unknown;
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(REACH_TIMEOUT_MS),
    });
    if (!response.ok) throw unreachable(`HTTP ${response.status}`);
    body = await response.json();
  } catch (error) {
    if (error instanceof CliError) throw error;
    // fetch reports the socket's error (ECONNREFUSED, ENOTFOUND) as its cause, or as the first of several.
    const cause = (error as { cause?: { code?: string; errors?: { code?: string }[] } }).cause;
    throw unreachable(cause?.code ?? cause?.errors?.[0]?.code ?? (error as Error).message, error);
  }
  const result = (body as { result?: unknown } | null)?.result;
  if (typeof result !== "string" || !/^0x[0-9a-f]+$/i.test(result)) {
    throw unreachable("it did not answer eth_chainId like a JSON-RPC node");
  }
  const chainId = Number(BigInt(result));
  // No result cache: ethers otherwise answers a repeated `eth_getTransactionCount` from the last 250 ms, and the
  // next transaction of a sequence would reuse a nonce.
  const provider = new JsonRpcProvider(url, Network.from(chainId), {
    staticNetwork: true,
    pollingInterval: 250,
    cacheTimeout: -1,
  });
  return { provider, chainId };
}

/** The signer whose key is in the environment variable `keyEnv`: keys never come from flags or files. */
export function signerFromEnv(
  keyEnv: string,
  provider: JsonRpcProvider,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Wallet {
  const key = env[keyEnv];
  if (key === undefined || key === "") {
    throw new CliError(`no private key: the environment variable ${keyEnv} is not set`, {
      hint:
        `export ${keyEnv}=0x… (the signer's key), or name another variable with --private-key-env or ` +
        "STRATA_PRIVATE_KEY_ENV; never pass a key on the command line",
    });
  }
  try {
    return new Wallet(key, provider);
  } catch {
    throw new CliError(`${keyEnv} does not hold a valid private key (a 0x-prefixed 32-byte hex string)`);
  }
}

/** The manifest at `file`, checked to be for the node's chain. */
export async function loadManifest(file: string, network: string, chainId: number, url: string): Promise<Manifest> {
  const manifest = await readManifestIfExists(file);
  if (manifest === undefined) {
    throw new CliError(`no manifest at ${file}: run \`strata deploy --network ${network}\` first`, {
      hint: "or point --manifest (STRATA_MANIFEST) at an existing deployment manifest",
    });
  }
  if (manifest.chainId !== chainId) {
    throw new CliError(
      `wrong chain: the manifest ${file} is for chain ${manifest.chainId} (${manifest.network}), but ${url} is ` +
        `chain ${chainId}`,
      { hint: "set --rpc (STRATA_RPC_URL) to a node of the manifest's chain, or --manifest to this chain's manifest" },
    );
  }
  if (manifest.finishedAt === undefined) {
    throw new CliError(`the deployment in ${file} is incomplete (${manifest.steps.length} steps done)`, {
      hint: `run \`strata deploy --network ${network}\` again: it resumes where the last run stopped`,
    });
  }
  return manifest;
}
