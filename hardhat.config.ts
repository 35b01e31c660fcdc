import { createRequire } from "node:module";

import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import { configVariable, defineConfig } from "hardhat/config";

const require = createRequire(import.meta.url);

// Hardhat cannot download solc on this project's machines: the official WebAssembly build from the
// npm `solc` package is used as a custom compiler. Its version must equal the package's version.
const SOLC_VERSION = (require("solc/package.json") as { version: string }).version;
const SOLC_PATH = require.resolve("solc/soljson.js");

/** Compiler settings shipped with the project; contract-size checks use exactly these. */
export const SOLIDITY_SETTINGS = {
  evmVersion: "cancun",
  optimizer: { enabled: true, runs: 800 },
} as const;

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers],
  solidity: {
    profiles: {
      default: { version: SOLC_VERSION, path: SOLC_PATH, settings: SOLIDITY_SETTINGS },
      production: { version: SOLC_VERSION, path: SOLC_PATH, settings: SOLIDITY_SETTINGS },
    },
    npmFilesToBuild: [
      "@openzeppelin/contracts/access/manager/AccessManager.sol",
      "@chainlink/contracts/src/v0.8/tests/MockV3Aggregator.sol",
    ],
  },
  paths: {
    tests: { mocha: "test", solidity: "test/solidity" },
  },
  test: {
    solidity: {
      fuzz: { runs: 256 },
      invariant: { runs: 64, depth: 60, failOnRevert: false },
    },
    mocha: { timeout: 120_000 },
  },
  typechain: { outDir: "types" },
  networks: {
    hardhatMainnet: { type: "edr-simulated", chainType: "l1", hardfork: "cancun" },
    localhost: { type: "http", url: "http://127.0.0.1:8545" },
    // Testnets. The RPC URLs and the deployer's key are config variables: Hardhat resolves them from its
    // encrypted keystore (`npx hardhat keystore set STRATA_DEPLOYER_KEY`) or the environment, only when the
    // network is used. No key or URL is ever written to the repository. `scripts/deploy.ts` deploys to them.
    sepolia: {
      type: "http",
      chainType: "l1",
      url: configVariable("SEPOLIA_RPC_URL"),
      accounts: [configVariable("STRATA_DEPLOYER_KEY")],
    },
    arbitrumSepolia: {
      type: "http",
      chainType: "generic",
      url: configVariable("ARBITRUM_SEPOLIA_RPC_URL"),
      accounts: [configVariable("STRATA_DEPLOYER_KEY")],
    },
    baseSepolia: {
      type: "http",
      chainType: "op",
      url: configVariable("BASE_SEPOLIA_RPC_URL"),
      accounts: [configVariable("STRATA_DEPLOYER_KEY")],
    },
  },
});
