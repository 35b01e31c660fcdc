/**
 * End to end: Strata as its users run it, against a real JSON-RPC node on 127.0.0.1 (a free port), once against
 * `hardhat node` and once against `anvil` (Foundry's node, from `@foundry-rs/anvil`), to prove the SDK, the CLI
 * and the keeper do not depend on Hardhat's node. For each node: `strata deploy` deploys the suite (local
 * config: mock tokens and feeds) into a manifest; traders open leveraged ETH longs against a maker's signed
 * order through the SDK client, and an LP funds tier pro's pool; `strata status --json` counts them; `strata
 * oracle push` drops ETH so that some accounts are liquidatable (partial) and others need a backstop takeover;
 * `strata keeper`, a separate process, must handle all of them, report it in `/metrics`, and stop gracefully on
 * SIGTERM; then `strata scenario run --rpc` runs a generated shock scenario on the same node. Every process is
 * started in its own process group and stopped by its PID.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { HDNodeWallet, JsonRpcProvider, Mnemonic, NonceManager, parseUnits, Wallet, type Signer } from "ethers";

import { TransactionOutOfGasError } from "../../sdk/src/client/index.js";
import { createStrataClient, type StrataClient } from "../../sdk/src/client/strata.js";
import { readManifest, type Manifest } from "../../sdk/src/deploy/manifest.js";
import { freePort } from "../../scripts/lib/localNode.js";
import { MockERC20__factory } from "../../types/index.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const HARDHAT_CLI = path.join(ROOT, "node_modules/hardhat/dist/src/cli.js");
/** The npm package's launcher: it runs the platform's `anvil` binary (an optional dependency) as its child. */
const ANVIL_CLI = path.join(ROOT, "node_modules/@foundry-rs/anvil/bin.mjs");
/** The `strata` CLI, as `npm run strata` and a global install run it. */
const STRATA_CLI = path.join(ROOT, "bin/strata.mjs");
/** Both nodes' default accounts derive from this well-known mnemonic (#0 is 0xf39F…2266). */
const MNEMONIC = Mnemonic.fromPhrase("test test test test test test test test test test test junk");
const PRO = 1;
const ETH = 1;
const w = (x: string) => parseUnits(x, 18);

function defaultKey(index: number): string {
  return HDNodeWallet.fromMnemonic(MNEMONIC, `m/44'/60'/0'/0/${index}`).privateKey;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Resolves `undefined` after `ms` without keeping the process alive (for races against a process's exit). */
const deadline = (ms: number) => new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms).unref());

/** A child process ended while the test waited on it: no point polling further. */
class ChildExited extends Error {}

/** Polls `fn` until it returns a value other than undefined, or throws after `timeoutMs`. */
async function waitFor<T>(
  what: string,
  timeoutMs: number,
  fn: () => Promise<T | undefined> | T | undefined,
  everyMs = 200,
) {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (error) {
      if (error instanceof ChildExited) throw error;
      last = error;
    }
    await sleep(everyMs);
  }
  throw new Error(
    `Timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ""}`,
  );
}

/** A child process in its own process group, with its output kept for diagnostics. */
interface Child {
  proc: ChildProcess;
  pid: number;
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
}

/** Starts `node <script> ...args` (a Hardhat or anvil CLI) as the leader of a new process group. */
function startChild(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const proc = spawn(process.execPath, [script, ...args], {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      // Any `node` a child starts is the Node 22 this test runs under.
      PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ""}`,
      ...env,
    },
  });
  if (proc.pid === undefined) throw new Error(`could not start ${path.basename(script)} ${args.join(" ")}`);
  const output: string[] = [];
  proc.stdout!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  proc.stderr!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once("exit", (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
  });
  return { proc, pid: proc.pid, output, exited, running: () => !done };
}

/** Runs `strata ...args` to its end (stopped after `timeoutMs`) and returns its exit code and output. */
async function strata(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 90_000) {
  const child = startChild(STRATA_CLI, args, env);
  const exit = await Promise.race([child.exited, deadline(timeoutMs)]);
  if (exit === undefined) await stopGroup(child);
  return { code: exit?.code ?? null, output: child.output.join("") };
}

/** Whether any process of the group `pid` leads is alive. */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops a child's whole process group: SIGTERM, then SIGKILL after `graceMs`. */
async function stopGroup(child: Child | undefined, graceMs = 5_000): Promise<void> {
  if (child === undefined) return;
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  if (child.running() || groupAlive(child.pid)) {
    signalGroup("SIGTERM");
    const until = Date.now() + graceMs;
    while ((child.running() || groupAlive(child.pid)) && Date.now() < until) await sleep(50);
    if (child.running() || groupAlive(child.pid)) signalGroup("SIGKILL");
  }
  await Promise.race([child.exited, deadline(graceMs)]);
}

async function rpc(url: string, method: string): Promise<unknown> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: [] }),
  });
  const body = (await response.json()) as { result?: unknown };
  return body.result;
}

/** A JSON-RPC node the flow runs against: how to start it on 127.0.0.1 and a port. */
interface NodeKind {
  name: string;
  /** What its `web3_clientVersion` starts with: proof of which node answered. */
  clientVersion: RegExp;
  /**
   * Whether it mines a transaction that fails and accepts it like any other (as public chains do), rather than
   * answering its send with the failure (Hardhat's node, though it mines it too).
   */
  acceptsFailingSends: boolean;
  start(port: number): Child;
}

const NODES: NodeKind[] = [
  {
    name: "hardhat node",
    clientVersion: /^HardhatNetwork\//,
    acceptsFailingSends: false,
    start: (port) => startChild(HARDHAT_CLI, ["node", "--port", String(port), "--hostname", "127.0.0.1"]),
  },
  {
    // Anvil's defaults match Hardhat's (chain 31337, the same mnemonic, 10,000 ETH each, a block per transaction)
    // except that it has 10 accounts where Hardhat has 20: the flow uses #0–#19. The chain ID is explicit anyway.
    name: "anvil",
    clientVersion: /^anvil\//,
    acceptsFailingSends: true,
    start: (port) =>
      startChild(ANVIL_CLI, ["--port", String(port), "--host", "127.0.0.1", "--chain-id", "31337", "--accounts", "20"]),
  },
];

for (const kind of NODES) {
  describe(`keeper end to end: a separate process against ${kind.name}`, function () {
    defineFlow(this, kind);
  });
}

function defineFlow(suite: Mocha.Suite, kind: NodeKind): void {
  suite.timeout(120_000);

  let dir: string;
  let node: Child | undefined;
  let keeper: Child | undefined;
  let rpcUrl: string;
  let provider: JsonRpcProvider;

  before(async function () {
    dir = await mkdtemp(path.join(tmpdir(), "strata-keeper-e2e-"));
    const port = await freePort();
    rpcUrl = `http://127.0.0.1:${port}`;
    node = kind.start(port);
    await waitFor(`${kind.name} to answer eth_chainId`, 30_000, async () => {
      if (!node!.running()) throw new ChildExited(`${kind.name} exited:\n${node!.output.join("")}`);
      return (await rpc(rpcUrl, "eth_chainId")) ?? undefined;
    });
    provider = new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true, pollingInterval: 50 });
  });

  it("serves the local chain and the default accounts the flow signs with", async function () {
    expect(await rpc(rpcUrl, "web3_clientVersion")).to.match(kind.clientVersion);
    expect(await rpc(rpcUrl, "eth_chainId")).to.equal("0x7a69");
    const served = ((await rpc(rpcUrl, "eth_accounts")) as string[]).map((a) => a.toLowerCase());
    const used = [0, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 19].map((i) => new Wallet(defaultKey(i)).address.toLowerCase());
    expect(served).to.include.members(used);
  });

  after(async function () {
    provider?.destroy();
    await stopGroup(keeper);
    await stopGroup(node);
    for (const child of [keeper, node]) {
      if (child !== undefined) expect(groupAlive(child.pid), `process group ${child.pid} left behind`).to.equal(false);
    }
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed") {
      for (const [name, child] of [
        ["keeper", keeper],
        ["node", node],
      ] as const) {
        if (child !== undefined) console.log(`--- ${name} output (last 60 lines) ---\n${tail(child.output, 60)}`);
      }
    }
  });

  it("liquidates and backstops every unhealthy account, serves metrics, and stops gracefully", async function () {
    const wallet = (i: number): Signer => new NonceManager(new Wallet(defaultKey(i), provider));
    const address = (i: number) => new Wallet(defaultKey(i)).address;

    // 1. Deploy with the CLI (deploy/local.ts with pools: mock tokens and feeds, every role held by the deployer,
    // default account #0) into a manifest in the temp dir.
    const manifestFile = path.join(dir, "localhost.json");
    const cli = { STRATA_PRIVATE_KEY_ENV: "STRATA_E2E_DEPLOYER_KEY", STRATA_E2E_DEPLOYER_KEY: defaultKey(0) };
    const connection = ["--network", "localhost", "--rpc", rpcUrl, "--manifest", manifestFile];
    const deployed = await strata(["deploy", ...connection], cli, 120_000);
    expect(deployed.code, `strata deploy:\n${deployed.output}`).to.equal(0);
    expect(deployed.output).to.match(/Sent \d+ transactions\./);
    const manifest: Manifest = await readManifest(manifestFile);
    expect(manifest.finishedAt, "deployment finished").to.not.equal(undefined);
    const usdcInfo = manifest.tokens.USDC!;
    // The mock token mints to anyone; a default account of its own sends the mints.
    const usdc = MockERC20__factory.connect(usdcInfo.address, wallet(14));
    const units = (x: string) => parseUnits(x, usdcInfo.decimals);
    const client = (signer: Signer): StrataClient => createStrataClient({ manifest, runner: signer });
    const reader = createStrataClient({ manifest, runner: provider });

    // 2. An LP funds tier pro's pool.
    const lp = wallet(5);
    await (await usdc.mint(address(5), units("5000000"))).wait();
    await client(lp).pools.deposit({ tier: PRO, assets: units("5000000") }, { wait: true });

    // 3. Six traders open 30 ETH longs (10x at most) at 3,000, each matched with a maker's resting sell order (signed orders
    // settled by a relayer): thin collateral (a backstop after the drop) and thicker (a partial liquidation),
    // all within the tier's initial margin at the open.
    const makerIndex = 12;
    const maker = client(wallet(makerIndex));
    const makerAccount = maker.account(address(makerIndex), PRO, 1n);
    await (await usdc.mint(address(makerIndex), units("1000000"))).wait();
    await maker.vault.deposit({ token: "USDC", amount: units("1000000"), account: makerAccount }, { wait: true });
    // At 2,700 (a 10% drop): equity ≈ collateral − 9,000 − fees against a maintenance margin of ≈ 2,025 and a
    // backstop margin of ≈ 972: 9,500 and 9,700 go to the pool, 10,600–10,800 are partially liquidated, 12,500
    // stays healthy.
    const collaterals = ["9500", "9700", "10600", "10700", "10800", "12500"];
    const makerOrder = await maker.execution.signOrder(
      await maker.execution.buildOrder({
        account: makerAccount,
        market: ETH,
        size: -w(String(30 * collaterals.length)),
        limitPrice: w("3000"),
      }),
    );
    const relayer = client(wallet(13));
    const accounts: bigint[] = [];
    for (const [i, collateral] of collaterals.entries()) {
      const index = 6 + i;
      const trader = client(wallet(index));
      const account = trader.account(address(index), PRO, 1n);
      await (await usdc.mint(address(index), units(collateral))).wait();
      await trader.vault.deposit({ token: "USDC", amount: units(collateral), account }, { wait: true });
      const taker = await trader.execution.signOrder(
        await trader.execution.buildOrder({ account, market: ETH, size: w("30"), limitPrice: w("3000") }),
      );
      await relayer.execution.settleMatch({ maker: makerOrder, taker, size: w("30") }, { wait: true });
      accounts.push(account);
    }
    for (const account of accounts) {
      expect((await reader.contracts.liquidation.preview(account, ETH)).liquidatable).to.equal(false);
    }
    // The client's writes carry headroom over their estimate (a bare estimate made in one block can fall short
    // in the next: settleMatch's funding accrual on a new second). A write sent with too little gas is told
    // apart from a revert once mined.
    const settler = client(wallet(6));
    const settle = { account: accounts[0]! };
    const starved = await settler.clearing.settle(settle, { wait: true, overrides: { gasLimit: 30_000n } }).then(
      () => expect.fail("a settle with 30,000 gas was mined successfully"),
      (error: unknown) => error,
    );
    if (kind.acceptsFailingSends) {
      expect(starved).to.be.instanceOf(TransactionOutOfGasError);
      expect((starved as TransactionOutOfGasError).gasLimit).to.equal(30_000n);
      expect((starved as TransactionOutOfGasError).action).to.equal("clearing.settle");
    } else {
      expect(String(starved)).to.match(/out of gas/i);
    }
    const estimate = await settler.clearing.settle.estimateGas(settle);
    const sent = await settler.clearing.settle(settle);
    expect(sent.gasLimit).to.equal((estimate * 12_000n + 9_999n) / 10_000n);
    expect((await sent.wait())?.status).to.equal(1);

    // `strata status --json` counts the seven accounts that traded in tier pro and their open interest.
    const status = async () => {
      const run = await strata(["status", "--json", ...connection], {});
      expect(run.code, `strata status:\n${run.output}`).to.equal(0);
      const parsed = JSON.parse(run.output) as { tiers: StatusTier[] };
      return parsed.tiers.find((t) => t.tier === PRO)!;
    };
    const opened = await status();
    expect(opened.accounts).to.equal(collaterals.length + 1);
    expect(opened.liquidatable).to.equal(0);
    expect(opened.openInterest).to.deep.include({
      market: "ETH/USD",
      oi: w(String(30 * collaterals.length)).toString(),
    });

    // 4. ETH drops to 2,700 on both feeds, pushed with the CLI (the deployer holds the ORACLE role).
    const pushed = await strata(["oracle", "push", "ETH/USD", "2700", ...connection], cli);
    expect(pushed.code, `strata oracle push:\n${pushed.output}`).to.equal(0);
    expect((await reader.oracle.getPrice("ETH/USD")).price).to.equal(w("2700"));
    const before = await Promise.all(accounts.map((a) => reader.contracts.liquidation.preview(a, ETH)));
    const partial = accounts.filter((_, i) => before[i]!.liquidatable && !before[i]!.backstop);
    const backstop = accounts.filter((_, i) => before[i]!.backstop);
    expect(partial.length, "accounts for a partial liquidation").to.be.greaterThan(0);
    expect(backstop.length, "accounts for a backstop takeover").to.be.greaterThan(0);
    expect((await status()).liquidatable).to.equal(partial.length + backstop.length);
    const sizeBefore = new Map<bigint, bigint>();
    for (const a of accounts) sizeBefore.set(a, (await reader.contracts.clearing.position(a, ETH)).size);
    const fromBlock = await provider.getBlockNumber();

    // 5. The keeper, a separate process (`strata keeper`), from a default account no one else uses; the CLI's
    // flags over the keeper's STRATA_KEEPER_* settings.
    const stateFile = path.join(dir, "keeper-state.json");
    keeper = startChild(STRATA_CLI, ["keeper", ...connection, "--state-file", stateFile, "--metrics-port", "0"], {
      STRATA_PRIVATE_KEY_ENV: "STRATA_E2E_KEEPER_KEY",
      STRATA_E2E_KEEPER_KEY: defaultKey(19),
      STRATA_KEEPER_CONFIRMATIONS: "0",
      STRATA_KEEPER_POLL_INTERVAL_MS: "200",
      STRATA_KEEPER_COOL_OFF_MS: "1000",
      STRATA_KEEPER_BACKOFF_MS: "100",
      STRATA_KEEPER_MAX_BACKOFF_MS: "1000",
      STRATA_KEEPER_LOG_LEVEL: "info",
    });
    const k = keeper;
    // The keeper logs its metrics port (configured 0: any free port) when it starts.
    const metricsPort = await waitFor("the keeper to start", 45_000, () => {
      if (!k.running()) throw new ChildExited(`keeper exited:\n${k.output.join("")}`);
      const match = /"port":(\d+)[^\n]*"msg":"keeper started"/.exec(k.output.join(""));
      return match === null ? undefined : Number(match[1]);
    });
    const metricsUrl = `http://127.0.0.1:${metricsPort}`;
    await waitFor("/healthz to answer ok", 30_000, async () => {
      if (!k.running()) throw new ChildExited(`keeper exited:\n${k.output.join("")}`);
      const response = await fetch(`${metricsUrl}/healthz`);
      return response.status === 200 ? true : undefined;
    });

    // Until no account is liquidatable any more.
    await waitFor(
      "every account to be handled",
      60_000,
      async () => {
        if (!k.running()) throw new ChildExited(`keeper exited:\n${k.output.join("")}`);
        const previews = await Promise.all(accounts.map((a) => reader.contracts.liquidation.preview(a, ETH)));
        return previews.every((p) => !p.liquidatable) ? true : undefined;
      },
      300,
    );

    const metrics = await (await fetch(`${metricsUrl}/metrics`)).text();
    const actions = [...metrics.matchAll(/^strata_keeper_actions_total\{([^}]*)\} (\d+(?:\.\d+)?)$/gm)];
    const succeeded = actions
      .filter(([, labels]) => labels!.includes('result="success"'))
      .reduce((sum, [, , value]) => sum + Number(value), 0);
    expect(succeeded, `actions in /metrics:\n${actions.map((m) => m[0]).join("\n")}`).to.be.greaterThan(0);

    // Graceful shutdown: SIGTERM to the keeper's PID, exit code 0, state persisted.
    process.kill(k.pid, "SIGTERM");
    const exit = await Promise.race([k.exited, deadline(20_000)]);
    expect(exit, "the keeper exits within 20 s of SIGTERM").to.not.equal(undefined);
    expect(exit!.code, `keeper exit (signal ${exit!.signal})`).to.equal(0);
    expect(existsSync(stateFile), "state file written").to.equal(true);
    const state = JSON.parse(await readFile(stateFile, "utf8")) as unknown;
    expect(state).to.be.an("object");
    expect(k.output.join("")).to.contain("keeper stopped");

    // Every formerly liquidatable account was handled, by the keeper's address.
    const keeperAddress = address(19);
    const liquidation = reader.contracts.liquidation;
    const liquidated = await liquidation.queryFilter(liquidation.filters.Liquidated(), fromBlock + 1);
    const takenOver = await liquidation.queryFilter(liquidation.filters.BackstopTakeover(), fromBlock + 1);
    for (const e of [...liquidated, ...takenOver]) expect(e.args.keeper).to.equal(keeperAddress);
    const liquidatedAccounts = new Set(liquidated.map((e) => e.args.account));
    const takenOverAccounts = new Set(takenOver.map((e) => e.args.account));
    for (const account of partial) {
      const size = (await reader.contracts.clearing.position(account, ETH)).size;
      expect(
        liquidatedAccounts.has(account) || takenOverAccounts.has(account),
        `account ${account} liquidated`,
      ).to.equal(true);
      expect(size < sizeBefore.get(account)!, `account ${account}'s position reduced`).to.equal(true);
    }
    for (const account of backstop) {
      expect(takenOverAccounts.has(account), `account ${account} taken over`).to.equal(true);
      expect((await reader.contracts.clearing.position(account, ETH)).size).to.equal(0n);
    }
    for (const account of accounts) {
      expect((await reader.contracts.liquidation.preview(account, ETH)).liquidatable).to.equal(false);
    }
    expect((await status()).liquidatable).to.equal(0);
  });

  it("runs a shock scenario on the node with `strata scenario run --rpc`: the node's unlocked accounts sign", async function () {
    const reports = path.join(dir, "reports");
    const run = await strata(
      ["scenario", "run", "gen-steady-crash", "--rpc", rpcUrl, "--traders", "8", "--reports", reports],
      {},
      180_000,
    );
    expect(run.code, `strata scenario run:\n${run.output}`).to.equal(0);
    expect(run.output).to.contain(`on ${rpcUrl}`);
    expect(run.output).to.match(/DESIGN §6: \d+ checks, all passed/);
    const report = JSON.parse(await readFile(path.join(reports, "stress-gen-steady-crash.json"), "utf8")) as {
      chain: string;
      steps: unknown[];
      tiers: { accounts: number; firewall: { ok: boolean } }[];
      invariants: { failures: string[] };
    };
    expect(report.chain).to.equal(rpcUrl);
    expect(report.steps).to.have.length(21);
    expect(report.invariants.failures).to.deep.equal([]);
    expect(report.tiers.map((t) => [t.accounts, t.firewall.ok])).to.deep.equal([
      [9, true],
      [9, true],
      [9, true],
    ]);
    expect(existsSync(path.join(reports, "stress-gen-steady-crash.html"))).to.equal(true);
  });
}

/** A tier of `strata status --json`. */
interface StatusTier {
  tier: number;
  accounts: number;
  liquidatable: number;
  openInterest: { market: string; oi: string }[];
}

function tail(output: string[], lines: number): string {
  return output.join("").split("\n").slice(-lines).join("\n");
}
