/**
 * Runs the liquidation keeper until SIGINT or SIGTERM, configured from the `STRATA_KEEPER_*` env vars
 * (sdk/src/keeper/config.ts: `STRATA_KEEPER_RPC_URL`, `STRATA_KEEPER_MANIFEST_PATH`, `STRATA_KEEPER_DRY_RUN`, …);
 * the private key is read from the env var named by `STRATA_KEEPER_PRIVATE_KEY_ENV`.
 *
 *   STRATA_KEEPER_MANIFEST_PATH=deployments/localhost.json STRATA_KEEPER_PRIVATE_KEY=0x… \
 *     npx hardhat run scripts/keeper.ts
 */
import { keeperConfigFromEnv, runKeeper } from "../sdk/src/keeper/index.js";

const config = keeperConfigFromEnv();
const controller = new AbortController();
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => controller.abort());
await runKeeper(config, { signal: controller.signal });
