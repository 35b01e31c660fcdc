/**
 * The `strata` CLI end to end: a Hardhat node in a child process, the CLI in another (bin/strata.mjs, as a
 * user runs it), and the option schema's precedence in process.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { JsonRpcProvider } from "ethers";

import { KEEPER_OPTIONS, keeperConfigOf } from "../../sdk/src/cli/keeper.js";
import { readConfigFile, resolveOptions, loadOptions } from "../../sdk/src/cli/options.js";
import { mapBounded } from "../../sdk/src/cli/status.js";
import { assetKey } from "../../sdk/src/deploy/foundation.js";
import { readManifest } from "../../sdk/src/deploy/manifest.js";
import { MockV3Aggregator__factory, OracleRouter__factory } from "../../types/index.js";

const root = process.cwd();
/** Account #0 of every Hardhat node: a public test key. */
const NODE_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function chainIdAt(url: string): Promise<string | undefined> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
    });
    return ((await response.json()) as { result?: string }).result;
  } catch {
    return undefined;
  }
}

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `bin/strata.mjs` with `args`; the environment has only what the CLI is given here (and PATH). */
function strata(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, "bin", "strata.mjs"), ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? "", ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("strata CLI", function () {
  this.timeout(90_000);

  let node: ChildProcess | undefined;
  let rpc: string;
  let dir: string;
  let manifestFile: string;
  let env: Record<string, string>;

  before(async function () {
    dir = await mkdtemp(path.join(tmpdir(), "strata-cli-"));
    manifestFile = path.join(dir, "localhost.json");
    const port = await freePort();
    rpc = `http://127.0.0.1:${port}`;
    node = spawn(
      process.execPath,
      [path.join(root, "node_modules", ".bin", "hardhat"), "node", "--port", String(port), "--hostname", "127.0.0.1"],
      { cwd: root, stdio: "ignore" },
    );
    const deadline = Date.now() + 60_000;
    while ((await chainIdAt(rpc)) === undefined) {
      if (node.exitCode !== null) throw new Error(`hardhat node exited with code ${node.exitCode}`);
      if (Date.now() > deadline) throw new Error(`hardhat node did not answer at ${rpc}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    env = { STRATA_PRIVATE_KEY_ENV: "CLI_TEST_KEY", CLI_TEST_KEY: NODE_KEY, STRATA_RPC_URL: rpc };
  });

  after(async function () {
    if (node?.pid !== undefined && node.exitCode === null) process.kill(node.pid, "SIGTERM");
    await rm(dir, { recursive: true, force: true });
  });

  it("deploys with progress per step and writes the manifest", async function () {
    const run = await strata(["deploy", "--network", "localhost", "--rpc", rpc, "--manifest", manifestFile], env);
    expect(run.stderr).to.equal("");
    expect(run.code).to.equal(0);
    expect(run.stdout).to.match(/#1 deploy:manager 0x[0-9a-f]{64}/);
    expect(run.stdout).to.contain("Sent ");
    const manifest = await readManifest(manifestFile);
    expect(manifest.chainId).to.equal(31337);
    expect(manifest.finishedAt).to.be.a("string");
    expect(Object.keys(manifest.assets)).to.include.members(["ETH/USD", "BTC/USD"]);
    expect(Object.keys(manifest.pools)).to.have.members(["0", "1", "2"]);

    const again = await strata(["deploy", "--network", "localhost", "--manifest", manifestFile], env);
    expect(again.code).to.equal(0);
    expect(again.stdout).to.contain("Nothing to do: the deployment was complete.");
  });

  it("pushes a price that the oracle router then reads", async function () {
    const run = await strata(["oracle", "push", "ETH/USD", "2900", "--manifest", manifestFile], env);
    expect(run.stderr).to.equal("");
    expect(run.code).to.equal(0);
    expect(run.stdout).to.contain("ETH/USD primary");
    const manifest = await readManifest(manifestFile);
    const provider = new JsonRpcProvider(rpc, 31337, { staticNetwork: true });
    try {
      const feed = MockV3Aggregator__factory.connect(manifest.assets["ETH/USD"]!.primary, provider);
      expect((await feed.latestRoundData()).answer).to.equal(2900n * 10n ** 8n);
      const router = OracleRouter__factory.connect(manifest.contracts.oracle!.address, provider);
      expect((await router.getPrice(assetKey("ETH/USD"))).price).to.equal(2900n * 10n ** 18n);
    } finally {
      provider.destroy();
    }
  });

  it("replays a price path as fast as the chain allows, a line per point", async function () {
    const csv = path.join(dir, "path.csv");
    await writeFile(csv, "timestamp,ETH/USD,BTC/USD\n1900000000,2950,61000\n1900000060,2960,\n");
    const run = await strata(["oracle", "replay", csv, "--pace", "asap", "--manifest", manifestFile], env);
    expect(run.stderr).to.equal("");
    expect(run.code).to.equal(0);
    expect(run.stdout).to.contain("[1/2]");
    expect(run.stdout).to.contain("[2/2]");
    expect(run.stdout).to.contain("Done: 2 points, 5 feed writes");
  });

  it("prints a table with every tier", async function () {
    const run = await strata(["status", "--manifest", manifestFile], { STRATA_RPC_URL: rpc });
    expect(run.stderr).to.equal("");
    expect(run.code).to.equal(0);
    for (const tier of [0, 1, 2]) expect(run.stdout).to.contain(`tier ${tier} (depth ${tier})`);
    for (const column of ["accounts", "open interest", "insurance fund", "pool equity", "liquidatable"]) {
      expect(run.stdout).to.contain(column);
    }
  });

  it("runs the keeper (dry run): it answers /healthz, then stops cleanly on SIGTERM", async function () {
    const metricsPort = await freePort();
    const child = spawn(
      process.execPath,
      [
        path.join(root, "bin", "strata.mjs"),
        "keeper",
        "--manifest",
        manifestFile,
        "--dry-run",
        "--state-file",
        path.join(dir, "keeper-state.json"),
        "--metrics-port",
        String(metricsPort),
      ],
      {
        cwd: root,
        env: {
          PATH: process.env.PATH ?? "",
          ...env,
          STRATA_KEEPER_POLL_INTERVAL_MS: "200",
          STRATA_KEEPER_CONFIRMATIONS: "0",
        },
      },
    );
    let stdout = "";
    child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
    try {
      let health: { status?: string; block?: number | null } | undefined;
      const deadline = Date.now() + 45_000;
      while (health?.status !== "ok") {
        if (child.exitCode !== null) throw new Error(`the keeper exited early (${child.exitCode}): ${stdout}`);
        if (Date.now() > deadline) throw new Error(`the keeper's /healthz never became ready: ${stdout}`);
        await new Promise((r) => setTimeout(r, 250));
        health = await fetch(`http://127.0.0.1:${metricsPort}/healthz`)
          .then(async (r) => (r.ok ? ((await r.json()) as { status?: string; block?: number | null }) : undefined))
          .catch(() => undefined);
      }
      expect(stdout).to.contain("dry run");
      expect(health.block).to.be.a("number");
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(metrics).to.contain("# TYPE");
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).to.equal(0);
  });

  describe("errors", function () {
    it("names the missing manifest and how to create it", async function () {
      const missing = path.join(dir, "none.json");
      const run = await strata(["status", "--manifest", missing], env);
      expect(run.code).to.equal(1);
      expect(run.stderr).to.contain(`no manifest at ${missing}: run \`strata deploy --network localhost\` first`);
    });

    it("says when the node cannot be reached", async function () {
      const closed = `http://127.0.0.1:${await freePort()}`;
      const run = await strata(["status", "--rpc", closed, "--manifest", manifestFile], env);
      expect(run.code).to.equal(1);
      expect(run.stderr).to.contain(`cannot reach ${closed}: is the node running? set --rpc or STRATA_RPC_URL`);
    });

    it("refuses a manifest of another chain", async function () {
      const other = path.join(dir, "other.json");
      const manifest = JSON.parse(await readFile(manifestFile, "utf8")) as Record<string, unknown>;
      await writeFile(other, JSON.stringify({ ...manifest, chainId: 11155111 }));
      const run = await strata(["oracle", "push", "ETH/USD", "3000", "--manifest", other], env);
      expect(run.code).to.equal(1);
      expect(run.stderr).to.contain(`wrong chain: the manifest ${other} is for chain 11155111`);
      expect(run.stderr).to.contain("is chain 31337");
    });

    it("names the flag and the variable of a bad value, and refuses unknown flags", async function () {
      const bad = await strata(["oracle", "replay", "x.csv", "--pace", "-3", "--manifest", manifestFile], env);
      expect(bad.code).to.equal(2);
      expect(bad.stderr).to.contain("--pace / STRATA_REPLAY_PACE");
      const badEnv = await strata(["status"], { ...env, STRATA_CONCURRENCY: "many" });
      expect(badEnv.code).to.equal(2);
      expect(badEnv.stderr).to.contain("--concurrency / STRATA_CONCURRENCY (from STRATA_CONCURRENCY)");
      const unknown = await strata(["status", "--bogus"], env);
      expect(unknown.code).to.not.equal(0);
      expect(unknown.stderr).to.contain("unknown option '--bogus'");
    });

    it("needs the key in the variable STRATA_PRIVATE_KEY_ENV names", async function () {
      const run = await strata(["oracle", "push", "ETH/USD", "3000", "--manifest", manifestFile], {
        STRATA_RPC_URL: rpc,
        STRATA_PRIVATE_KEY_ENV: "UNSET_KEY",
      });
      expect(run.code).to.equal(1);
      expect(run.stderr).to.contain("the environment variable UNSET_KEY is not set");
    });
  });
});

describe("strata keeper options", function () {
  it("maps the CLI's options over the keeper's STRATA_KEEPER_* settings", function () {
    const env = { STRATA_KEEPER_BATCH_SIZE: "7", STRATA_KEEPER_DRY_RUN: "false", STRATA_KEEPER_SHARD: "0/1" };
    const options = resolveOptions(KEEPER_OPTIONS, {
      flags: { dryRun: true, shard: "1/3", minProfit: "5", collateralRepayMax: "250000000" },
      env: { STRATA_RPC_URL: "http://127.0.0.1:9999", STRATA_KEEPER_METRICS_PORT: "0" },
    });
    const config = keeperConfigOf(options, env);
    expect(config.rpcUrl).to.equal("http://127.0.0.1:9999");
    expect(config.manifestPath).to.equal(path.join(process.cwd(), "deployments", "localhost.json"));
    expect(config.dryRun).to.equal(true);
    expect(config.shard).to.deep.equal({ index: 1, count: 3 });
    expect(config.minProfit).to.equal(5n);
    expect(config.collateralRepayMax).to.equal(250_000_000n);
    expect(config.metricsPort).to.equal(0);
    // Settings the CLI has no flag for keep their environment variables.
    expect(config.batchSize).to.equal(7);
  });
});

describe("strata CLI options", function () {
  const keys = ["rpc", "network", "concurrency", "pace", "fresh"] as const;
  const file = { rpc: "http://file:1", network: "sepolia", concurrency: 3, pace: "asap", fresh: true };
  const env = { STRATA_RPC_URL: "http://env:2", STRATA_NETWORK: "baseSepolia", STRATA_CONCURRENCY: "5" };

  it("takes a flag over the environment over the file over the default", function () {
    const flags = { rpc: "http://flag:3" };
    expect(resolveOptions(keys, { flags, env, file })).to.deep.equal({
      rpc: "http://flag:3",
      network: "baseSepolia",
      concurrency: 5,
      pace: "asap",
      fresh: true,
    });
    expect(resolveOptions(keys, { flags: {}, env: {}, file })).to.deep.equal(file);
    expect(resolveOptions(keys, { flags: {}, env: {} })).to.deep.equal({
      rpc: "http://127.0.0.1:8545",
      network: "localhost",
      concurrency: 8,
      pace: 60,
      fresh: false,
    });
    expect(resolveOptions(["fresh"], { flags: {}, env: { STRATA_DEPLOY_FRESH: "1" } })).to.deep.equal({ fresh: true });
  });

  it("names the flag, the variable and the source of a bad value", function () {
    expect(() => resolveOptions(["rpc"], { flags: {}, env: { STRATA_RPC_URL: "ws://x" } })).to.throw(
      '--rpc / STRATA_RPC_URL (from STRATA_RPC_URL): "ws://x" must be an http:// or https:// URL',
    );
    expect(() =>
      resolveOptions(["concurrency"], { flags: {}, env: {}, file: { concurrency: 0 }, fileName: "s.json" }),
    ).to.throw('--concurrency / STRATA_CONCURRENCY (from s.json: "concurrency"): 0 must be > 0');
  });

  it("validates the scenario run's and the collateral keeper's options", function () {
    const bad = (key: string, env: Record<string, string>) => () =>
      resolveOptions([key as "traders"], { flags: {}, env });
    const from = (flag: string, variable: string) => `${flag} / ${variable} (from ${variable})`;
    expect(bad("traders", { STRATA_SCENARIO_TRADERS: "0" })).to.throw(
      `${from("--traders", "STRATA_SCENARIO_TRADERS")}: "0" must be > 0`,
    );
    expect(bad("traders", { STRATA_SCENARIO_TRADERS: "1001" })).to.throw(
      `${from("--traders", "STRATA_SCENARIO_TRADERS")}: "1001" must be at most 1000`,
    );
    expect(bad("scenarioRpc", { STRATA_SCENARIO_RPC_URL: "ftp://x" })).to.throw(
      `${from("--rpc", "STRATA_SCENARIO_RPC_URL")}: "ftp://x" must be an http:// or https:// URL`,
    );
    for (const value of ["-5", "1.5"]) {
      expect(bad("collateralRepayMax", { STRATA_KEEPER_COLLATERAL_REPAY_MAX: value })).to.throw(
        `${from("--collateral-repay-max", "STRATA_KEEPER_COLLATERAL_REPAY_MAX")}: "${value}" must be a whole number`,
      );
    }
    expect(
      resolveOptions(["collateralRepayMax", "traders"], {
        flags: {},
        env: { STRATA_KEEPER_COLLATERAL_REPAY_MAX: "2500000000", STRATA_SCENARIO_TRADERS: "20" },
      }),
    ).to.deep.equal({ collateralRepayMax: "2500000000", traders: 20 });
  });

  it("reads the config file named by --config, and rejects unknown keys in it", async function () {
    const dir = await mkdtemp(path.join(tmpdir(), "strata-config-"));
    try {
      const good = path.join(dir, "strata.json");
      await writeFile(good, JSON.stringify({ network: "sepolia", logRange: 100 }));
      expect(await loadOptions(["network", "logRange"], { config: good }, {})).to.deep.equal({
        network: "sepolia",
        logRange: 100,
      });
      expect(await loadOptions(["network"], {}, { STRATA_CONFIG: good, STRATA_NETWORK: "x" })).to.deep.equal({
        network: "x",
      });
      const bad = path.join(dir, "bad.json");
      await writeFile(bad, JSON.stringify({ privateKey: "0x01" }));
      let error: unknown;
      await readConfigFile(bad).catch((e: unknown) => (error = e));
      expect(String(error)).to.contain("Unrecognized key(s) in object: 'privateKey'");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("strata status reads", function () {
  it("checks accounts with bounded concurrency, keeping their order", async function () {
    let running = 0;
    let most = 0;
    const results = await mapBounded([5, 1, 4, 2, 3, 0, 6], 3, async (n) => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, n));
      running--;
      return n * 10;
    });
    expect(results).to.deep.equal([50, 10, 40, 20, 30, 0, 60]);
    expect(most).to.equal(3);
  });
});
