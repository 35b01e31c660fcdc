/**
 * `npm run sizes`: checks every deployable contract's runtime code against EIP-170's 24,576-byte limit,
 * compiled with the settings the project ships (hardhat.config.ts), and prints the sizes.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

import hre from "hardhat";

const LIMIT = 24_576;

await hre.tasks.getTask("build").run({ quiet: true });

function artifactsUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) return artifactsUnder(full);
    return entry.endsWith(".json") && !entry.endsWith(".dbg.json") && entry !== "artifacts.d.ts" ? [full] : [];
  });
}

const root = path.join(hre.config.paths.artifacts, "contracts");
const rows: [string, number][] = [];
for (const file of artifactsUnder(root)) {
  if (file.includes(`${path.sep}mocks${path.sep}`)) continue;
  const artifact = JSON.parse(readFileSync(file, "utf8")) as { contractName?: string; deployedBytecode?: string };
  const code = artifact.deployedBytecode ?? "0x";
  const bytes = (code.length - 2) / 2;
  if (bytes > 0 && artifact.contractName !== undefined) rows.push([artifact.contractName, bytes]);
}
rows.sort((a, b) => b[1] - a[1]);
let over = 0;
for (const [name, bytes] of rows) {
  if (bytes > LIMIT) over++;
  console.log(
    `${name.padEnd(24)} ${String(bytes).padStart(6)} bytes  ${bytes > LIMIT ? "OVER the 24,576-byte limit" : `${((bytes / LIMIT) * 100).toFixed(1)}%`}`,
  );
}
if (over > 0) {
  console.error(`${over} contract(s) exceed the EIP-170 limit`);
  process.exitCode = 1;
}
