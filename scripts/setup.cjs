#!/usr/bin/env node
// Makes a fresh clone ready to run, on any Node >= 18, so that README's commands need no prior step.
//
// Two facts of the toolchain are handled here (see ../shared/TOOLCHAIN.md):
//  1. Hardhat 3 needs Node >= 22.13. The `node` devDependency puts a Node 22 binary in
//     node_modules/.bin, which every `npm run` script uses first on PATH.
//  2. When npm itself runs under Node 20, it skips EDR's native binding (it declares node >= 22).
//     Running npm once more with the Node 22 binary first on PATH installs it (about 2 s).
// Written as CommonJS with no dependencies: it runs before anything is installed.
"use strict";

const { spawnSync } = require("node:child_process");
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const binDir = path.join(root, "node_modules", ".bin");
const stampFile = path.join(root, "node_modules", ".strata-setup-stamp");
const nodeBin = path.join(binDir, process.platform === "win32" ? "node.cmd" : "node");

function log(message) {
  process.stderr.write(`[setup] ${message}\n`);
}

function manifestHash() {
  const hash = crypto.createHash("sha256");
  for (const file of ["package.json", "package-lock.json"]) {
    const full = path.join(root, file);
    if (fs.existsSync(full)) hash.update(fs.readFileSync(full));
  }
  return hash.digest("hex");
}

function run(command, args, env) {
  const result = spawnSync(command, args, {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit"],
    env,
    shell: process.platform === "win32",
  });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function npmInstall(env) {
  // `npm install`, not `npm ci`: the registry mirror lacks other platforms' EDR packages, so a
  // lockfile made here cannot satisfy `npm ci`; `npm install` leaves the lockfile unchanged.
  const status = run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], env);
  if (status !== 0) {
    log("npm install failed. Check that the npm registry is reachable, then run `npm run setup` again.");
    process.exit(status);
  }
}

function node22Env() {
  return { ...process.env, PATH: `${binDir}${path.delimiter}${process.env.PATH ?? ""}` };
}

function edrBindingLoads() {
  if (!fs.existsSync(nodeBin)) return false;
  const probe = spawnSync(nodeBin, ["-e", "require('@nomicfoundation/edr')"], {
    cwd: root,
    stdio: "ignore",
    env: node22Env(),
    shell: process.platform === "win32",
  });
  return probe.status === 0;
}

function main() {
  const wanted = manifestHash();
  const current = fs.existsSync(stampFile) ? fs.readFileSync(stampFile, "utf8").trim() : "";
  if (current === wanted && edrBindingLoads()) return;

  const started = Date.now();
  if (current !== wanted || !fs.existsSync(nodeBin)) {
    log("installing dependencies (first run, or package.json changed)…");
    npmInstall(process.env);
  }
  if (!edrBindingLoads()) {
    log("adding Hardhat's native EDR binding with Node 22 on PATH…");
    npmInstall(node22Env());
  }
  if (!edrBindingLoads()) {
    log("Hardhat's EDR binding still does not load. Remove node_modules and run `npm run setup`.");
    process.exit(1);
  }
  fs.writeFileSync(stampFile, `${manifestHash()}\n`);
  log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main();
