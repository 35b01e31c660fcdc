#!/usr/bin/env node
// The `strata` command: runs sdk/src/cli/main.ts with Node's own TypeScript support, no build step and no
// loader package. Node >= 22.7 transforms the TypeScript (`--experimental-transform-types`: the SDK uses
// parameter properties, which plain type stripping refuses), and bin/ts-resolve.mjs maps the SDK's `.js`
// import specifiers to their `.ts` files. An older `node` runs the Node 22 of the `node` devDependency.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const [major, minor] = process.versions.node.split(".").map(Number);
const bundled = path.join(root, "node_modules", "node", "bin", "node");
const node = major > 22 || (major === 22 && minor >= 7) || !existsSync(bundled) ? process.execPath : bundled;

const child = spawn(
  node,
  [
    "--experimental-transform-types",
    "--disable-warning=ExperimentalWarning",
    "--import",
    path.join(root, "bin", "ts-resolve.mjs"),
    path.join(root, "sdk", "src", "cli", "main.ts"),
    ...process.argv.slice(2),
  ],
  { stdio: "inherit" },
);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal !== null ? 1 : 0)));
