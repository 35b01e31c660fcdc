import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { getAddress, type BaseContract, type Signer } from "ethers";

import hardhatConfig from "../../hardhat.config.js";
import { arbitrumSepoliaConfig } from "../../deploy/arbitrumSepolia.js";
import { baseSepoliaConfig } from "../../deploy/baseSepolia.js";
import { localFoundationConfig } from "../../deploy/local.js";
import { NETWORK_CONFIGS, roleHoldersFromEnv } from "../../deploy/networks.js";
import { sepoliaConfig } from "../../deploy/sepolia.js";
import {
  configHash,
  parseFoundationConfig,
  type FoundationConfig,
  type FoundationConfigInput,
} from "../../sdk/src/deploy/config.js";
import { deployFoundation, type DeployOptions, type FoundationDeployment } from "../../sdk/src/deploy/foundation.js";
import { readManifest, writeManifest, type Manifest } from "../../sdk/src/deploy/manifest.js";
import { FUNCTION_ROLES, Role, type ModuleName } from "../../sdk/src/deploy/roles.js";
import type { StepEvent } from "../../sdk/src/deploy/steps.js";
import { connectChain } from "../helpers/foundation.js";

const chain = await connectChain();
const { ethers, networkHelpers } = chain;
const signers = await ethers.getSigners();
const [deployer, risk, guardian, oracleOperator, controller, executor, stranger] = signers as [
  Signer & { address: string },
  ...(Signer & { address: string })[],
];

/** deploy/local.ts with pools, for the first six signers (as deployLocalFoundation names them). */
function localConfig(): FoundationConfigInput {
  return localFoundationConfig(
    {
      risk: risk!.address,
      guardian: guardian!.address,
      oracle: oracleOperator!.address,
      controller: controller!.address,
      executor: executor!.address,
    },
    { pools: true },
  );
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "strata-deploy-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});
const manifestFile = (name = "local") => path.join(dir, `${name}.json`);

/** The error a promise rejects with (fails if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

/** Transactions the deployer has sent on this chain so far (its nonce). */
const sent = () => ethers.provider.getTransactionCount(deployer.address);

/** An onStep hook that simulates a crash once `k` steps are recorded. */
function crashAfter(k: number, events: StepEvent[] = []): DeployOptions["onStep"] {
  return (e) => {
    events.push(e);
    if (e.completed === k && e.status !== "skipped") throw new Error(`injected crash after step ${k}`);
  };
}

/**
 * Everything the deployment configures, read from the chain: tiers, markets, collaterals, caps, assets, pools,
 * fee split, role members and delays, the role of every restricted function. Addresses included: two
 * deployments compared here start from the same snapshot and nonce, so equal state means equal addresses too.
 */
async function readState(d: FoundationDeployment): Promise<unknown> {
  const state: Record<string, unknown> = {};
  const c: FoundationConfig = d.config;
  for (const tier of c.tiers) {
    state[`tier:${tier.id}`] = await d.risk.tierConfig(tier.id);
    state[`tier:${tier.id}:markets`] = await d.risk.tierMarkets(tier.id);
    state[`tier:${tier.id}:collaterals`] = await d.risk.tierCollaterals(tier.id);
    for (const m of tier.markets) state[`risk:${tier.id}:${m.market}`] = await d.risk.marketRisk(tier.id, m.market);
    for (const dep of tier.deposits) {
      state[`vault:${tier.id}:${dep.token}`] = await d.vault.tierTotal(tier.id, d.tokens[dep.token]!.address);
    }
    state[`pool:${tier.id}`] = await d.clearing.pool(tier.id);
  }
  for (const m of c.markets) state[`market:${m.id}`] = await d.risk.marketOracleAsset(m.id);
  for (const t of Object.values(d.tokens)) state[`token:${t.symbol}`] = await d.vault.tokenConfig(t.address);
  for (const a of Object.values(d.assets)) state[`asset:${a.id}`] = await d.oracle.assetConfig(a.key);
  state.sequencer = await d.oracle.sequencer();
  state.fees = await d.execution.feeConfig();
  state.spread = await d.execution.minPoolSpread();
  state.controller = await d.vault.isRegisteredController(d.addresses.clearing);
  state.liquidator = await d.clearing.isLiquidator(d.addresses.liquidation);
  state.executor = await d.clearing.isExecutor(d.addresses.execution);
  const accounts = [
    ...signers.slice(0, 6).map((s) => s.address),
    d.addresses.liquidation,
    d.addresses.execution,
    d.addresses.clearing,
  ];
  for (const [name, id] of Object.entries(Role)) {
    state[`guardian:${name}`] = await d.manager.getRoleGuardian(id);
    for (const account of accounts) state[`role:${name}:${account}`] = await d.manager.hasRole(id, account);
  }
  const targets: [ModuleName, BaseContract][] = [
    ["vault", d.vault],
    ["oracle", d.oracle],
    ["risk", d.risk],
    ["clearing", d.clearing],
    ["execution", d.execution],
    ...Object.values(d.pools).map((p) => ["pool", p] as [ModuleName, BaseContract]),
  ];
  for (const [module, contract] of targets) {
    const address = await contract.getAddress();
    for (const fn of Object.keys(FUNCTION_ROLES[module])) {
      const selector = contract.interface.getFunction(fn)!.selector;
      state[`target:${address}:${fn}`] = await d.manager.getTargetFunctionRole(address, selector);
    }
  }
  return JSON.parse(JSON.stringify(state, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)));
}

describe("SDK deployer: manifest, resumable deployment, testnet configs", () => {
  describe("manifest", () => {
    const sample = (): Manifest => ({
      version: 1,
      network: "local",
      chainId: 31337,
      deployer: deployer.address,
      configHash: configHash(localConfig()),
      startedAt: "2026-01-01T00:00:00.000Z",
      contracts: {
        vault: { address: risk!.address, txHash: `0x${"ab".repeat(32)}`, block: 7 },
      },
      tokens: { USDC: { address: guardian!.address, decimals: 6, mock: true } },
      assets: {},
      pools: { "0": controller!.address },
      steps: [{ id: "deploy:vault", txHash: `0x${"ab".repeat(32)}`, block: 7, at: "2026-01-01T00:00:01.000Z" }],
    });

    it("round-trips through writeManifest and readManifest, leaving no temporary file", async () => {
      const m = sample();
      await writeManifest(path.join(dir, "nested", "local.json"), m);
      expect(await readManifest(path.join(dir, "nested", "local.json"))).to.deep.equal(m);
      expect(await readdir(path.join(dir, "nested"))).to.deep.equal(["local.json"]);
      // Overwriting is atomic too: the file is replaced whole.
      await writeManifest(path.join(dir, "nested", "local.json"), { ...m, finishedAt: "2026-01-01T00:01:00.000Z" });
      expect((await readManifest(path.join(dir, "nested", "local.json"))).finishedAt).to.equal(
        "2026-01-01T00:01:00.000Z",
      );
      expect(await readdir(path.join(dir, "nested"))).to.deep.equal(["local.json"]);
    });

    it("refuses a missing, corrupt or invalid manifest with an actionable error", async () => {
      expect((await rejection(readManifest(manifestFile()))).message).to.match(
        /No deployment manifest at .*local\.json/,
      );

      await writeFile(manifestFile(), '{"version": 1, "network": "lo');
      expect((await rejection(readManifest(manifestFile()))).message).to.match(
        /local\.json is not valid JSON .*corrupt.*Restore it from version control, or move it aside/s,
      );

      const bad = { ...sample(), contracts: { vault: { address: "0x1234", txHash: "0x00", block: -1 } } };
      await writeFile(manifestFile(), JSON.stringify(bad));
      const error = await readManifest(manifestFile()).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.message).to.match(/is not a valid Strata deployment manifest/);
      expect(error?.message).to.include("contracts.vault.address: must be a 0x-prefixed 20-byte address");
      expect(error?.message).to.include("contracts.vault.txHash: must be a 0x-prefixed 32-byte hex string");
      expect(error?.message).to.include("contracts.vault.block");

      const duplicate = sample();
      duplicate.steps.push({ ...duplicate.steps[0]! });
      expect((await rejection(writeManifest(manifestFile(), duplicate))).message).to.match(
        /duplicate step deploy:vault/,
      );
    });
  });

  describe("on the embedded chain", () => {
    it("deploys deploy/local.ts with a manifest, and a second run sends no transaction and leaves it as it was", async () => {
      const before = await sent();
      const d = await deployFoundation(deployer, localConfig(), { manifestPath: manifestFile() });
      const m = await readManifest(manifestFile());
      expect(m.finishedAt).to.not.equal(undefined);
      expect(m.pending).to.equal(undefined);
      expect(m.configHash).to.equal(configHash(localConfig()));
      expect(m.deployer).to.equal(deployer.address);
      expect(m.chainId).to.equal(31337);
      expect(m.steps.length).to.equal((await sent()) - before);
      expect(d.transactions).to.equal(m.steps.length);
      expect(new Set(m.steps.map((s) => s.id)).size).to.equal(m.steps.length);
      for (const [name, c] of Object.entries(m.contracts)) {
        expect(await ethers.provider.getCode(c.address), name).to.not.equal("0x");
      }
      expect(m.contracts.vault!.address).to.equal(d.addresses.vault);
      expect(m.pools).to.deep.equal({
        "0": d.addresses.pools[0],
        "1": d.addresses.pools[1],
        "2": d.addresses.pools[2],
      });
      expect(m.tokens.USDC).to.deep.equal({ address: d.tokens.USDC!.address, decimals: 6, mock: true });
      expect(m.assets["ETH/USD"]!.secondary).to.equal(d.assets["ETH/USD"]!.secondary);

      const text = await readFile(manifestFile(), "utf8");
      const nonce = await sent();
      const events: StepEvent[] = [];
      const again = await deployFoundation(deployer, localConfig(), {
        manifestPath: manifestFile(),
        onStep: (e) => void events.push(e),
      });
      expect(await sent()).to.equal(nonce);
      expect(again.transactions).to.equal(0);
      expect(events.every((e) => e.status === "skipped")).to.equal(true);
      expect(events.length).to.equal(m.steps.length);
      expect(again.addresses).to.deep.equal(d.addresses);
      expect(await readFile(manifestFile(), "utf8")).to.equal(text);
    });

    for (const k of [1, 7, 40, -1]) {
      it(`a deployment interrupted after step ${k === -1 ? "n-1" : k} resumes to the state of an uninterrupted one`, async () => {
        const snapshot = await networkHelpers.takeSnapshot();
        const whole = await deployFoundation(deployer, localConfig(), { manifestPath: manifestFile("whole") });
        const expected = await readState(whole);
        const total = whole.manifest.steps.length;
        const crashAt = k === -1 ? total - 1 : k;
        await snapshot.restore();

        const start = await sent();
        expect(
          (
            await rejection(
              deployFoundation(deployer, localConfig(), { manifestPath: manifestFile(), onStep: crashAfter(crashAt) }),
            )
          ).message,
        ).to.include(`injected crash after step ${crashAt}`);
        const partial = await readManifest(manifestFile());
        expect(partial.steps.length).to.equal(crashAt);
        expect(partial.finishedAt).to.equal(undefined);
        expect((await sent()) - start).to.equal(crashAt);

        const resumed = await deployFoundation(deployer, localConfig(), { manifestPath: manifestFile() });
        expect(resumed.transactions).to.equal(total - crashAt);
        expect((await sent()) - start).to.equal(total);
        expect(await readState(resumed)).to.deep.equal(expected);
        const final = await readManifest(manifestFile());
        expect(final.steps.map((s) => s.id)).to.deep.equal(whole.manifest.steps.map((s) => s.id));
        expect(final.contracts).to.deep.equal(whole.manifest.contracts);
      });
    }

    it("a transaction mined but not recorded is recovered by its hash, not sent again", async () => {
      const events: StepEvent[] = [];
      await rejection(
        deployFoundation(deployer, localConfig(), { manifestPath: manifestFile(), onStep: crashAfter(12) }),
      );
      // The crash came between the transaction's receipt and the manifest's record of the step: the manifest
      // names it as pending only.
      const m = await readManifest(manifestFile());
      const last = m.steps.pop()!;
      m.pending = { step: last.id, txHash: last.txHash! };
      await writeManifest(manifestFile(), m);

      const start = await sent();
      const d = await deployFoundation(deployer, localConfig(), {
        manifestPath: manifestFile(),
        onStep: (e) => void events.push(e),
      });
      expect(events.find((e) => e.id === last.id)).to.deep.include({ status: "recovered", txHash: last.txHash });
      expect(d.transactions).to.equal((await sent()) - start);
      expect(d.manifest.steps.length - 12).to.equal(d.transactions);
      expect(d.manifest.steps.find((s) => s.id === last.id)!.txHash).to.equal(last.txHash);
    });

    it("a configuration call applied on chain but not recorded is adopted by its probe, not sent again", async () => {
      // Step 40 of deploy/local.ts: a token listing (the vault refuses to list a token twice).
      const probe: StepEvent[] = [];
      await rejection(
        deployFoundation(deployer, localConfig(), { manifestPath: manifestFile(), onStep: crashAfter(40, probe) }),
      );
      const m = await readManifest(manifestFile());
      const last = m.steps.pop()!;
      expect(last.id).to.match(/^vault\.listToken:/);
      await writeManifest(manifestFile(), m);

      const events: StepEvent[] = [];
      const start = await sent();
      const d = await deployFoundation(deployer, localConfig(), {
        manifestPath: manifestFile(),
        onStep: (e) => void events.push(e),
      });
      expect(events.find((e) => e.id === last.id)!.status).to.equal("adopted");
      expect(d.transactions).to.equal((await sent()) - start);
      expect(d.manifest.steps.length - 40).to.equal(d.transactions);
      expect(d.manifest.steps.find((s) => s.id === last.id)!.txHash).to.equal(undefined);
    });

    it("refuses to resume with a changed config, another deployer or on a reset chain; `fresh` starts anew", async () => {
      await rejection(
        deployFoundation(deployer, localConfig(), { manifestPath: manifestFile(), onStep: crashAfter(20) }),
      );
      const changed = parseFoundationConfig(localConfig());
      changed.tiers[1]!.maxPositions = 6;
      expect((await rejection(deployFoundation(deployer, changed, { manifestPath: manifestFile() }))).message).to.match(
        /config changed since the manifest was written .*: deploy to a fresh manifest \(move .* aside, or pass `fresh: true`\) or restore the config it was written with/,
      );
      expect(
        (await rejection(deployFoundation(stranger!, localConfig(), { manifestPath: manifestFile() }))).message,
      ).to.match(/was written by deployer .*resume with the same key/);
      // Nothing was sent by the refused runs: the original config still resumes.
      const d = await deployFoundation(deployer, localConfig(), { manifestPath: manifestFile() });
      expect(d.manifest.finishedAt).to.not.equal(undefined);

      const fresh = await deployFoundation(deployer, changed, { manifestPath: manifestFile(), fresh: true });
      expect(fresh.addresses.vault).to.not.equal(d.addresses.vault);
      expect((await readManifest(manifestFile())).configHash).to.equal(configHash(changed));
      expect((await readdir(dir)).filter((f) => f.endsWith(".bak"))).to.have.length(1);

      const snapshot = await networkHelpers.takeSnapshot();
      await deployFoundation(deployer, localConfig(), { manifestPath: manifestFile("reset") });
      await snapshot.restore();
      expect(
        (await rejection(deployFoundation(deployer, localConfig(), { manifestPath: manifestFile("reset") }))).message,
      ).to.match(/The manifest records manager at 0x[0-9a-fA-F]{40} .*but there is no code there/);
    });

    it("with `verify`, re-reads recorded steps and reports state changed since", async () => {
      const d = await deployFoundation(deployer, localConfig(), { manifestPath: manifestFile() });
      await deployFoundation(deployer, localConfig(), { manifestPath: manifestFile(), verify: true });
      await (await d.vault.setController(d.addresses.clearing, false)).wait();
      expect(
        (await rejection(deployFoundation(deployer, localConfig(), { manifestPath: manifestFile(), verify: true })))
          .message,
      ).to.match(/records step vault\.setController:clearing as done, but the chain does not show its effect/);
    });

    it("deploys in memory for tests, as before (no manifest file)", async () => {
      const progress: string[] = [];
      const d = await deployFoundation(deployer, localConfig(), (line) => progress.push(line));
      expect(progress[0]).to.match(/^deployed AccessManager/);
      expect(d.manifest.finishedAt).to.not.equal(undefined);
      expect(d.transactions).to.equal(d.manifest.steps.length);
    });

    it("deploys the L2 testnet configs end to end (their feeds are mocks) and refuses the wrong chain", async () => {
      const holders = roleHoldersFromEnv({ STRATA_ADMIN: stranger!.address }, deployer.address);
      for (const config of [arbitrumSepoliaConfig(holders), baseSepoliaConfig(holders)]) {
        expect((await rejection(deployFoundation(deployer, config))).message).to.match(
          new RegExp(`is for chain ${config.chainId}, but the provider is on chain 31337`),
        );
        const d = await deployFoundation(deployer, { ...config, chainId: 31337 });
        // ADMIN handed over with its delay; the deployer renounced it.
        expect(await d.manager.hasRole(Role.ADMIN, stranger!.address)).to.deep.equal([true, 86_400n]);
        expect((await d.manager.hasRole(Role.ADMIN, deployer.address))[0]).to.equal(false);
        expect(await d.manager.hasRole(Role.RISK, deployer.address)).to.deep.equal([true, 3_600n]);
        expect(Object.keys(d.pools)).to.deep.equal(["0", "1", "2"]);
      }
    });
  });

  describe("testnet configs", () => {
    const holders = { risk: [risk!.address], guardian: [guardian!.address], oracle: [oracleOperator!.address] };
    const files = {
      sepolia: { file: "deploy/sepolia.ts", config: sepoliaConfig(holders), chainId: 11_155_111 },
      arbitrumSepolia: { file: "deploy/arbitrumSepolia.ts", config: arbitrumSepoliaConfig(holders), chainId: 421_614 },
      baseSepolia: { file: "deploy/baseSepolia.ts", config: baseSepoliaConfig(holders), chainId: 84_532 },
    };

    it("parse with the schema, name their chain and a Hardhat network of the same name, keyed by config variables", () => {
      expect(Object.keys(NETWORK_CONFIGS).sort()).to.deep.equal(Object.keys(files).sort());
      for (const [name, { config, chainId }] of Object.entries(files)) {
        const parsed = parseFoundationConfig(config);
        expect(parsed.network).to.equal(name);
        expect(parsed.chainId).to.equal(chainId);
        expect(parsed.delays.admin).to.be.greaterThan(0);
        const net = hardhatConfig.networks?.[name];
        expect(net, name).to.not.equal(undefined);
        expect(net!.type).to.equal("http");
        // Keys and URLs are configuration variables (keystore or environment), never literals.
        expect(JSON.stringify(net)).to.include("STRATA_DEPLOYER_KEY");
        expect(JSON.stringify(net)).to.not.match(/0x[0-9a-fA-F]{64}/);
      }
    });

    it("use checksummed addresses for every real feed, and a Chainlink documentation source precedes each", async () => {
      let realFeeds = 0;
      for (const [name, { file, config }] of Object.entries(files)) {
        const parsed = parseFoundationConfig(config);
        const feeds = parsed.assets.flatMap((a) => [a.primary, ...(a.secondary !== undefined ? [a.secondary] : [])]);
        if (parsed.sequencer?.feed !== undefined) feeds.push(parsed.sequencer.feed);
        for (const feed of feeds) {
          if (feed.address === undefined) continue;
          realFeeds++;
          expect(getAddress(feed.address), `${name}: ${feed.address}`).to.equal(feed.address);
        }

        const lines = (await readFile(file, "utf8")).split("\n");
        for (const [i, line] of lines.entries()) {
          const addresses = line.match(/0x[0-9a-fA-F]{40}/g);
          if (addresses === null) continue;
          // The comment lines right above the address (or on its line) must name a Chainlink docs page.
          const comments = [line];
          for (let j = i - 1; j >= 0 && lines[j]!.trim().startsWith("//"); j--) comments.push(lines[j]!);
          expect(comments.join("\n"), `${file}:${i + 1}`).to.match(/Source: https:\/\/docs\.chain\.link\/\S+/);
          for (const a of addresses) {
            expect(
              feeds.some((f) => f.address === a),
              `${file}:${i + 1} ${a} is a feed of the config`,
            ).to.equal(true);
          }
        }
        // A network whose feeds are (partly) mocks says why, in the file.
        if (feeds.some((f) => f.mock !== undefined)) {
          expect(lines.join("\n"), file).to.include("NOT VERIFIED");
        }
      }
      // Sepolia's ETH/USD and BTC/USD are real Chainlink proxies.
      expect(realFeeds).to.be.greaterThanOrEqual(2);
    });

    it("take role holders from the environment, defaulting to the deployer", () => {
      expect(roleHoldersFromEnv({}, deployer.address)).to.deep.equal({
        risk: [deployer.address],
        guardian: [deployer.address],
        oracle: [deployer.address],
      });
      const lower = risk!.address.toLowerCase();
      expect(
        roleHoldersFromEnv({ STRATA_RISK: `${lower}, ${guardian!.address}` }, deployer.address).risk,
      ).to.deep.equal([risk!.address, guardian!.address]);
      expect(() => roleHoldersFromEnv({ STRATA_ORACLE: "0x123" }, deployer.address)).to.throw(
        'STRATA_ORACLE: "0x123" is not an address',
      );
    });
  });
});
