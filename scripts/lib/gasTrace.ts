/**
 * Per-contract gas breakdown of a mined transaction from `debug_traceTransaction`, for `npm run bench` with
 * STRATA_GAS_TRACE=1: where a benchmark's gas goes (self gas, cold and warm SLOADs, SSTORE costs per
 * contract). A development aid; the benchmark figures themselves come from receipts.
 */
import { writeFileSync } from "node:fs";

interface StructLog {
  pc: number;
  op: string;
  gas: number;
  gasCost: number;
  depth: number;
  stack?: string[];
}

interface Frame {
  calls: number;
  self: number;
  coldLoads: number;
  warmLoads: number;
  stores: number[];
}

const CALLS = new Set(["CALL", "STATICCALL", "DELEGATECALL", "CALLCODE"]);
/** An SLOAD costs 2,100 cold and 100 warm (EIP-2929). */
const COLD_SLOAD = 2_100;

/** Prints the breakdown of transaction `hash`; `names` maps lower-case addresses to labels. */
export async function printGasTrace(
  provider: { send(method: string, params: unknown[]): Promise<unknown> },
  hash: string,
  to: string,
  label: string,
  names: ReadonlyMap<string, string>,
): Promise<void> {
  const trace = (await provider.send("debug_traceTransaction", [
    hash,
    { disableStorage: true, disableMemory: true, disableStack: false },
  ])) as { gas: number; structLogs: StructLog[] };
  const logs = trace.structLogs;
  const frames = new Map<string, Frame>();
  const frame = (name: string): Frame => {
    let f = frames.get(name);
    if (f === undefined) {
      f = { calls: 0, self: 0, coldLoads: 0, warmLoads: 0, stores: [] };
      frames.set(name, f);
    }
    return f;
  };
  const stack: string[] = [names.get(to.toLowerCase()) ?? to.slice(0, 10)];
  // STRATA_GAS_TRACE_DUMP=<dir>: the steps with their contract, for a per-function breakdown offline.
  const dump: [string, number, number][] = [];
  for (let i = 0; i < logs.length; i++) {
    const step = logs[i]!;
    const next = logs[i + 1];
    const current = frame(stack[stack.length - 1]!);
    if (step.op === "SLOAD") {
      if (step.gasCost >= COLD_SLOAD) current.coldLoads++;
      else current.warmLoads++;
    }
    if (step.op === "SSTORE") current.stores.push(step.gasCost);
    if (step.op === "SSTORE" && step.gasCost >= 20_000 && process.env.STRATA_GAS_TRACE_SLOTS === "1") {
      console.log(`  new slot ${step.stack?.[step.stack.length - 1] ?? "?"} in ${stack[stack.length - 1]}`);
    }
    if (CALLS.has(step.op) && next !== undefined && next.depth === step.depth + 1) {
      const args = step.stack ?? [];
      const to = `0x${BigInt(args[args.length - 2] ?? "0x0")
        .toString(16)
        .padStart(40, "0")}`;
      const name = names.get(to) ?? to.slice(0, 10);
      frame(name).calls++;
      stack.push(name);
      continue; // the call's own cost is charged to the callee's frame via its steps
    }
    // A call that enters no frame (a precompile, or an account without code) costs what it took from the
    // caller's gas; its reported cost may include the gas it was offered.
    const cost = CALLS.has(step.op) && next !== undefined ? step.gas - next.gas : step.gasCost;
    current.self += cost;
    dump.push([stack[stack.length - 1]!, step.pc, cost]);
    if (next !== undefined && next.depth < step.depth) stack.pop();
  }
  const dumpDir = process.env.STRATA_GAS_TRACE_DUMP;
  if (dumpDir !== undefined) writeFileSync(`${dumpDir}/${label}.json`, JSON.stringify(dump));
  console.log(`\n${label}: ${trace.gas} gas`);
  for (const [name, f] of [...frames].sort((a, b) => b[1].self - a[1].self)) {
    const stores = f.stores.length === 0 ? "" : `  sstore ${f.stores.join(",")}`;
    console.log(
      `  ${name.padEnd(22)} calls ${String(f.calls).padStart(3)}  self ${String(f.self).padStart(7)}  ` +
        `sload cold ${f.coldLoads} warm ${f.warmLoads}${stores}`,
    );
  }
}
