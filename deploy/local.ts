import type { Signer } from "ethers";

import type { FoundationConfigInput } from "../sdk/src/deploy/config.js";
import { type DeployOptions, type DeployProgress, deployFoundation } from "../sdk/src/deploy/foundation.js";

import { STRATA_POOL, strataTiers } from "./tiers.js";

/**
 * The local (embedded or 127.0.0.1) deployment: mock tokens of 6, 8 and 18 decimals, mock Chainlink
 * aggregators, and three tiers from the innermost (depth 0, strictest) outwards.
 * Delays are zero so a local run needs no scheduling; testnet configs set real delays.
 */
export function localFoundationConfig(
  holders: {
    risk: string;
    guardian: string;
    oracle: string;
    controller: string;
    executor?: string;
  },
  options: { pools?: boolean } = {},
): FoundationConfigInput {
  const ethFeed = {
    primaryMaxAgeSeconds: 3600 + 600,
    secondaryMaxAgeSeconds: 3600 + 600,
    maxDeviationBps: 200,
    jumpThresholdBps: 2_000,
    breakerCooldownSeconds: 900,
    // The mock feeds stand for a feed with a 0.1% deviation threshold; the band's base half-width covers it.
    deviationThresholdBps: 10,
    baseConfidenceBps: 10,
    confidenceBpsPerHour: 50,
    maxConfidenceBps: 2_500,
  };
  return {
    network: "local",
    reserveEpochSeconds: 7 * 86400,
    tokens: [
      {
        symbol: "USDC",
        mock: { decimals: 6, name: "USD Coin (mock)" },
        outflowCapacity: "1000000",
        outflowWindowSeconds: 86400,
      },
      {
        symbol: "WBTC",
        mock: { decimals: 8, name: "Wrapped BTC (mock)" },
        outflowCapacity: "50",
        outflowWindowSeconds: 86400,
      },
      {
        symbol: "WETH",
        mock: { decimals: 18, name: "Wrapped Ether (mock)" },
        outflowCapacity: "1000",
        outflowWindowSeconds: 86400,
      },
    ],
    markets: [
      { id: 1, asset: "ETH/USD" },
      { id: 2, asset: "BTC/USD" },
    ],
    assets: [
      {
        id: "ETH/USD",
        primary: { mock: { decimals: 8, initialPrice: "3000" } },
        secondary: { mock: { decimals: 18, initialPrice: "3001.5" } },
        minPrice: "10",
        maxPrice: "1000000",
        ...ethFeed,
      },
      {
        id: "BTC/USD",
        primary: { mock: { decimals: 8, initialPrice: "60000" } },
        minPrice: "100",
        maxPrice: "10000000",
        ...ethFeed,
      },
      {
        id: "USDC/USD",
        primary: { mock: { decimals: 8, initialPrice: "1" } },
        minPrice: "0.5",
        maxPrice: "2",
        ...ethFeed,
        jumpThresholdBps: 500,
        primaryMaxAgeSeconds: 86400 + 600,
      },
    ],
    tiers: strataTiers(options.pools === true ? STRATA_POOL : undefined),
    roles: {
      risk: [holders.risk],
      guardian: [holders.guardian],
      oracle: [holders.oracle],
      controller: [holders.controller],
      executor: holders.executor === undefined ? [] : [holders.executor],
    },
    delays: { admin: 0, risk: 0, oracle: 0 },
  };
}

/** A signer with a known address, as Hardhat's ethers signers are. */
export type NamedSigner = Signer & { address: string };

/**
 * Deploys the local suite from a list of funded signers, in a fixed order of roles:
 * deployer (ADMIN), risk (RISK), guardian (GUARDIAN), oracleOperator (ORACLE), controller (CONTROLLER
 * besides the clearing house, for vault tests), executor (EXECUTOR: submits fills, standing in for the
 * execution layer), then users with no role.
 */
export async function deployLocalFoundation<S extends NamedSigner>(
  signers: S[],
  options: {
    users?: number;
    pools?: boolean;
    progress?: DeployProgress;
    /** Manifest and per-step options (scripts/deploy.ts); tests deploy in memory. */
    deploy?: Omit<DeployOptions, "progress">;
  } = {},
) {
  const users = options.users ?? 4;
  if (signers.length < 6 + users) {
    throw new Error(`The network must provide at least ${6 + users} funded accounts; it has ${signers.length}.`);
  }
  const [deployer, risk, guardian, oracleOperator, controller, executor] = signers as [S, S, S, S, S, S];
  const d = await deployFoundation(
    deployer,
    localFoundationConfig(
      {
        risk: risk.address,
        guardian: guardian.address,
        oracle: oracleOperator.address,
        controller: controller.address,
        executor: executor.address,
      },
      { pools: options.pools ?? false },
    ),
    { ...options.deploy, progress: options.progress },
  );
  return { d, deployer, risk, guardian, oracleOperator, controller, executor, users: signers.slice(6, 6 + users) };
}
