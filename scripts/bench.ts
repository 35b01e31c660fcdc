/**
 * `npm run bench`: measures the gas of the main operations, whole-transaction (21,000 base included),
 * on the embedded chain, and writes them to reports/gas.json (operation → gas), merged with the keys
 * other layers' benchmarks write. Figures are deterministic for a given compiler and settings.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import path from "node:path";

import { network } from "hardhat";
import { parseUnits, type ContractTransactionResponse } from "ethers";

import { deployLocalFoundation } from "../deploy/local.js";
import { accountBucket } from "../sdk/src/client/buckets.js";

/** Targets from the issues: an operation over its target fails the benchmark run. */
const TARGETS: Record<string, number> = {
  "vault.deposit.first": 90_000,
  "vault.deposit": 65_000,
  "vault.withdraw": 90_000,
};

async function gasOf(tx: Promise<ContractTransactionResponse>): Promise<number> {
  const receipt = await (await tx).wait();
  if (receipt === null || receipt.status !== 1) throw new Error("benchmark transaction failed");
  return Number(receipt.gasUsed);
}

const { ethers } = await network.create();
const { d, controller, users } = await deployLocalFoundation(await ethers.getSigners(), { users: 2 });
const [alice, bob] = users;
const usdc = d.tokens.USDC!;
const vaultAddress = await d.vault.getAddress();
const amount = parseUnits("1000", usdc.decimals);

// Steady state of a live vault: the token is already held by the vault and the tier has deposits,
// the user holds tokens and has approved the vault (as users do once, usually for more than one deposit).
for (const user of [alice!, bob!]) {
  await (await usdc.mock!.mint(user.address, amount * 10n)).wait();
  await (await usdc.mock!.connect(user).approve(vaultAddress, amount * 10n)).wait();
}
await (await d.vault.connect(bob!).deposit(usdc.address, amount, accountBucket(bob!.address, 0, 0n))).wait();
// The token has left the vault before, so its outflow-limiter slot exists (its very first withdrawal
// ever pays a one-time 17,100 gas more to create that slot).
await (
  await d.vault
    .connect(controller!)
    .withdraw(accountBucket(bob!.address, 0, 0n), usdc.address, amount / 2n, bob!.address)
).wait();

const bucket = accountBucket(alice!.address, 0, 0n);
const gas: Record<string, number> = {};
gas["vault.deposit.first"] = await gasOf(d.vault.connect(alice!).deposit(usdc.address, amount, bucket));
gas["vault.deposit"] = await gasOf(d.vault.connect(alice!).deposit(usdc.address, amount, bucket));
// Free collateral, no positions. Until the clearing house exists, the CONTROLLER role is the route.
gas["vault.withdraw"] = await gasOf(
  d.vault.connect(controller!).withdraw(bucket, usdc.address, amount, alice!.address),
);

const reportPath = path.resolve("reports", "gas.json");
mkdirSync(path.dirname(reportPath), { recursive: true });
const previous: Record<string, number> = existsSync(reportPath)
  ? (JSON.parse(readFileSync(reportPath, "utf8")) as Record<string, number>)
  : {};
const merged = { ...previous, ...gas };
const sorted = Object.fromEntries(Object.entries(merged).sort(([a], [b]) => a.localeCompare(b)));
writeFileSync(reportPath, `${JSON.stringify(sorted, null, 2)}\n`);

console.log("operation                     gas      target");
let over = 0;
for (const [op, used] of Object.entries(gas)) {
  const target = TARGETS[op];
  const ok = target === undefined || used <= target;
  if (!ok) over++;
  console.log(
    `${op.padEnd(28)} ${String(used).padStart(8)}  ${target === undefined ? "" : `<= ${target}`}${ok ? "" : "  OVER"}`,
  );
}
console.log(`\nwrote ${path.relative(process.cwd(), reportPath)}`);
if (over > 0) {
  console.error(`${over} operation(s) over target`);
  process.exitCode = 1;
}
