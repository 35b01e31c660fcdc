/**
 * A local JSON-RPC node for benchmarks: `anvil` (Foundry's node, from `@foundry-rs/anvil`) or `hardhat node`,
 * started on 127.0.0.1 and a free port as the leader of its own process group, and stopped with that group.
 * Both serve chain 31337 and the well-known test mnemonic's accounts, unlocked.
 */
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "../..");
const LAUNCHERS = {
  /** The npm package's launcher: it runs the platform's `anvil` binary as its child. */
  anvil: (port: number) => [
    path.join(ROOT, "node_modules/@foundry-rs/anvil/bin.mjs"),
    ...["--port", String(port), "--host", "127.0.0.1", "--chain-id", "31337", "--accounts", "20"],
  ],
  hardhat: (port: number) => [
    path.join(ROOT, "node_modules/hardhat/dist/src/cli.js"),
    ...["node", "--port", String(port), "--hostname", "127.0.0.1"],
  ],
} as const;

export type LocalNodeKind = keyof typeof LAUNCHERS;

export interface LocalNode {
  kind: LocalNodeKind;
  url: string;
  /** Its `web3_clientVersion`. */
  clientVersion: string;
  /** Stops the node's process group (SIGTERM, then SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

/** A port nothing listens on now (bind port 0, read it, release it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function rpc(url: string, method: string): Promise<unknown> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: [] }),
  });
  return ((await response.json()) as { result?: unknown }).result;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts a `kind` node and waits (up to `timeoutMs`) until it answers `eth_chainId`. */
export async function startLocalNode(kind: LocalNodeKind, timeoutMs = 30_000): Promise<LocalNode> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, LAUNCHERS[kind](port), {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ""}` },
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${kind}`);
  const stderr: string[] = [];
  child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once("exit", () => {
      exited = true;
      resolve();
    }),
  );
  const alive = () => {
    try {
      process.kill(-pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const stop = async (graceMs = 5_000) => {
    const signal = (s: NodeJS.Signals) => {
      try {
        process.kill(-pid, s);
      } catch {
        // already gone
      }
    };
    signal("SIGTERM");
    const until = Date.now() + graceMs;
    while (alive() && Date.now() < until) await sleep(50);
    if (alive()) signal("SIGKILL");
    await Promise.race([exit, sleep(graceMs)]);
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) throw new Error(`${kind} exited before answering:\n${stderr.join("")}`);
    try {
      if ((await rpc(url, "eth_chainId")) !== undefined) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${kind} did not answer eth_chainId within ${timeoutMs} ms`);
    }
    await sleep(100);
  }
  return { kind, url, clientVersion: String(await rpc(url, "web3_clientVersion")), stop };
}
