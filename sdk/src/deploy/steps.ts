import { rename } from "node:fs/promises";

import type { BaseContract, ContractTransactionResponse, Provider, Signer, TransactionReceipt } from "ethers";

import { MANIFEST_VERSION, readManifestIfExists, writeManifest, type Manifest, type StepRecord } from "./manifest.js";

/**
 * Resumable, idempotent deployment: every transaction of a deployment is a step with a stable id. Each
 * completed step is recorded in the manifest, written after every step when the manifest has a file; a re-run
 * with the same config skips recorded steps (a contract's code must still be at its recorded address), so a
 * run after a crash completes the rest and a run after success sends nothing.
 *
 * Two windows are covered as well: a transaction sent but not recorded (the manifest names it as `pending`:
 * its receipt is looked up instead of sending again) and, when resuming, a configuration call applied on
 * chain but not recorded (its probe reads the state and the step is adopted without a transaction).
 */

/** What happened to one step in this run. */
export type StepStatus =
  /** Sent and mined now. */
  | "done"
  /** Recorded in the manifest by an earlier run: nothing sent. */
  | "skipped"
  /** Not recorded, but a transaction of an earlier run (the manifest's `pending`) was mined: nothing sent. */
  | "recovered"
  /** Not recorded, but its probe found the state already applied on chain: nothing sent. */
  | "adopted";

export interface StepEvent {
  id: string;
  status: StepStatus;
  txHash?: string;
  /** Steps recorded in the manifest so far (this run's and earlier runs'). */
  completed: number;
}

export interface StepRunnerOptions {
  /** The manifest file: read to resume, written after every step. Without it the manifest lives in memory. */
  manifestPath?: string | undefined;
  /** Moves an existing manifest aside (`<file>.<time>.bak`) and starts a new deployment. */
  fresh?: boolean | undefined;
  /**
   * Re-reads the on-chain state of recorded configuration steps (where the step has a probe) and fails on a
   * mismatch. Recorded contracts are always checked for code.
   */
  verify?: boolean | undefined;
  /** Called after each step; an error thrown here stops the deployment (the manifest is already written). */
  onStep?: ((event: StepEvent) => void | Promise<void>) | undefined;
}

export class StepRunner {
  /** Transactions this run sent. */
  transactions = 0;
  private readonly done: Set<string>;
  /**
   * True until the first step this run does not skip. Only that step can have been applied without being
   * recorded (a crash between its receipt and the manifest's write): later steps were never sent, so only it
   * is probed. Probing later ones could adopt a call that happens to match the initial state (mapping a
   * function to ADMIN, the AccessManager's default) and shift the transaction sequence of the rest.
   */
  private resuming: boolean;
  private lastWritten: string | undefined;

  private constructor(
    private readonly provider: Provider,
    readonly manifest: Manifest,
    private readonly options: StepRunnerOptions,
  ) {
    this.done = new Set(manifest.steps.map((s) => s.id));
    this.resuming = manifest.steps.length > 0 || manifest.pending !== undefined;
  }

  /**
   * Opens a deployment: the manifest at `options.manifestPath` when there is one (it must be for this chain,
   * deployer and config), or a new one.
   */
  static async open(
    signer: Signer,
    identity: { network: string; configHash: string; chainId?: number | undefined },
    options: StepRunnerOptions,
  ): Promise<StepRunner> {
    const provider = signer.provider;
    if (provider === null) throw new Error("The deployer signer must be connected to a provider");
    const deployer = await signer.getAddress();
    const chainId = Number((await provider.getNetwork()).chainId);
    if (identity.chainId !== undefined && identity.chainId !== chainId) {
      throw new Error(
        `The config for "${identity.network}" is for chain ${identity.chainId}, but the provider is on chain ` +
          `${chainId}: connect to the config's network (e.g. --network ${identity.network}) and check that its RPC URL ` +
          `points to chain ${identity.chainId}.`,
      );
    }
    const file = options.manifestPath;
    let existing = file === undefined ? undefined : await readManifestIfExists(file);
    if (existing !== undefined && options.fresh === true) {
      const aside = `${file}.${new Date().toISOString().replace(/[:.]/g, "-")}.bak`;
      await rename(file!, aside);
      existing = undefined;
    }
    if (existing !== undefined) {
      checkResumable(existing, file!, { chainId, deployer, configHash: identity.configHash });
      const runner = new StepRunner(provider, existing, options);
      runner.lastWritten = JSON.stringify(existing);
      return runner;
    }
    const manifest: Manifest = {
      version: MANIFEST_VERSION,
      network: identity.network,
      chainId,
      deployer,
      configHash: identity.configHash,
      startedAt: new Date().toISOString(),
      contracts: {},
      tokens: {},
      assets: {},
      pools: {},
      steps: [],
    };
    const runner = new StepRunner(provider, manifest, options);
    await runner.save();
    return runner;
  }

  /** True when a step is recorded as done. */
  isDone(id: string): boolean {
    return this.done.has(id);
  }

  /**
   * Deploys a contract once: step `deploy:<name>`, recorded in the manifest's `contracts` under `name`. A
   * recorded contract is attached at its address after checking that code is there.
   */
  async contract<T extends BaseContract>(
    name: string,
    deploy: () => Promise<T>,
    attach: (address: string) => T,
  ): Promise<T> {
    const id = `deploy:${name}`;
    const recorded = this.manifest.contracts[name];
    if (recorded !== undefined) {
      if ((await this.provider.getCode(recorded.address)) === "0x") {
        throw new Error(
          `The manifest records ${name} at ${recorded.address} (chain ${this.manifest.chainId}), but there is no ` +
            "code there: the chain was reset or the manifest belongs to another deployment. Move the manifest " +
            "aside (or deploy with `fresh: true`) to deploy afresh.",
        );
      }
      // A recorded contract whose step is missing (an edited manifest) is adopted rather than deployed twice.
      if (this.done.has(id)) await this.emit(id, "skipped", recorded.txHash);
      else await this.complete(id, "adopted");
      return attach(recorded.address);
    }
    const recovered = await this.recoverPending(id);
    if (recovered !== undefined && recovered.contractAddress !== null) {
      this.manifest.contracts[name] = {
        address: recovered.contractAddress,
        txHash: recovered.hash,
        block: recovered.blockNumber,
      };
      await this.complete(id, "recovered", recovered);
      return attach(recovered.contractAddress);
    }
    const contract = await deploy();
    const tx = contract.deploymentTransaction();
    if (tx === null) throw new Error(`Deploying ${name} returned no deployment transaction`);
    this.transactions++;
    await this.setPending(id, tx.hash);
    const receipt = await tx.wait();
    if (receipt === null || receipt.status !== 1) throw new Error(`Deploying ${name} failed (${tx.hash})`);
    this.manifest.contracts[name] = {
      address: await contract.getAddress(),
      txHash: tx.hash,
      block: receipt.blockNumber,
    };
    await this.complete(id, "done", receipt);
    return contract;
  }

  /**
   * Sends one configuration transaction once. `probe` reads whether its effect is already on chain: used when
   * resuming (a call mined but not recorded is adopted) and, with `verify`, to check recorded steps.
   */
  async call(
    id: string,
    send: () => Promise<ContractTransactionResponse>,
    probe?: () => Promise<boolean>,
  ): Promise<void> {
    if (this.done.has(id)) {
      if (this.options.verify === true && probe !== undefined && !(await applied(probe))) {
        throw new Error(
          `The manifest records step ${id} as done, but the chain does not show its effect: the deployment was ` +
            "changed after it (a governance action?) or the manifest is not this chain's. Inspect it before resuming.",
        );
      }
      await this.emit(id, "skipped", this.manifest.steps.find((s) => s.id === id)?.txHash);
      return;
    }
    const recovered = await this.recoverPending(id);
    if (recovered !== undefined) {
      await this.complete(id, "recovered", recovered);
      return;
    }
    if (this.resuming && probe !== undefined && (await applied(probe))) {
      await this.complete(id, "adopted");
      return;
    }
    const tx = await send();
    this.transactions++;
    await this.setPending(id, tx.hash);
    const receipt = await tx.wait();
    if (receipt === null || receipt.status !== 1) throw new Error(`Step ${id} failed (${tx.hash})`);
    await this.complete(id, "done", receipt);
  }

  /** Records the end of the deployment (all steps done). */
  async finish(): Promise<void> {
    if (this.manifest.finishedAt === undefined) this.manifest.finishedAt = new Date().toISOString();
    await this.save();
  }

  /** Writes the manifest to its file, if it has one and it changed. */
  async save(): Promise<void> {
    const file = this.options.manifestPath;
    if (file === undefined) return;
    const text = JSON.stringify(this.manifest);
    if (text === this.lastWritten) return;
    await writeManifest(file, this.manifest);
    this.lastWritten = text;
  }

  private async complete(id: string, status: StepStatus, receipt?: TransactionReceipt): Promise<void> {
    const record: StepRecord = { id, at: new Date().toISOString() };
    if (receipt !== undefined) {
      record.txHash = receipt.hash;
      record.block = receipt.blockNumber;
    }
    this.manifest.steps.push(record);
    delete this.manifest.pending;
    this.resuming = false;
    this.done.add(id);
    await this.save();
    await this.emit(id, status, receipt?.hash);
  }

  private async emit(id: string, status: StepStatus, txHash?: string): Promise<void> {
    await this.options.onStep?.({
      id,
      status,
      ...(txHash !== undefined ? { txHash } : {}),
      completed: this.manifest.steps.length,
    });
  }

  private async setPending(id: string, txHash: string): Promise<void> {
    this.manifest.pending = { step: id, txHash };
    await this.save();
  }

  /**
   * The receipt of this step's transaction from an earlier run, if the manifest names one as pending and it
   * was mined successfully (waiting for it if it is still in the mempool). A dropped or reverted transaction
   * is forgotten: the step is sent again.
   */
  private async recoverPending(id: string): Promise<TransactionReceipt | undefined> {
    const pending = this.manifest.pending;
    if (pending === undefined) return undefined;
    if (pending.step !== id) {
      // Every step before it is done, so a pending transaction of another step cannot be this run's next one.
      throw new Error(
        `The manifest has a pending transaction ${pending.txHash} for step ${pending.step}, but the next step is ` +
          `${id}: the manifest does not match this config's steps. Inspect the transaction, then move the manifest ` +
          "aside to deploy afresh.",
      );
    }
    let receipt = await this.provider.getTransactionReceipt(pending.txHash);
    if (receipt === null) {
      const tx = await this.provider.getTransaction(pending.txHash);
      if (tx !== null) {
        try {
          receipt = await tx.wait();
        } catch {
          receipt = null;
        }
      }
    }
    if (receipt !== null && receipt.status === 1) return receipt;
    delete this.manifest.pending;
    await this.save();
    return undefined;
  }
}

/** A probe's answer; a probe whose read reverts (e.g. an unknown id) reports "not applied". */
async function applied(probe: () => Promise<boolean>): Promise<boolean> {
  try {
    return await probe();
  } catch {
    return false;
  }
}

function checkResumable(
  m: Manifest,
  file: string,
  current: { chainId: number; deployer: string; configHash: string },
): void {
  if (m.chainId !== current.chainId) {
    throw new Error(
      `${file} records a deployment on chain ${m.chainId}, but the provider is on chain ${current.chainId}: ` +
        "connect to that chain, or use this network's own manifest.",
    );
  }
  if (m.deployer.toLowerCase() !== current.deployer.toLowerCase()) {
    throw new Error(
      `${file} was written by deployer ${m.deployer}, but this run deploys from ${current.deployer}: resume with ` +
        "the same key (it holds ADMIN until the deployment's last step), or deploy to a fresh manifest.",
    );
  }
  if (m.configHash !== current.configHash) {
    throw new Error(
      `config changed since the manifest was written (${file}: config ${m.configHash}, now ` +
        `${current.configHash}): deploy to a fresh manifest (move ${file} aside, or pass \`fresh: true\`) or ` +
        "restore the config it was written with. Changing a live deployment's parameters is a governance action " +
        "through its roles, not a re-deployment.",
    );
  }
}
