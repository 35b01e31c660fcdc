/**
 * README's main job: deploys Strata (governance, collateral vault, oracle router, risk engine, clearing
 * house) with mock tokens and Chainlink mock feeds onto the embedded chain, exercises it like its users
 * will, and prints the per-tier status. Later layers (execution, keepers, shock scenarios) extend this run.
 *
 *   npm start                     # embedded in-process chain
 *   npx hardhat run scripts/main.ts --network localhost   # a node on 127.0.0.1:8545
 */
import { network } from "hardhat";
import { parseUnits } from "ethers";

import { deployLocalFoundation } from "../deploy/local.js";
import { readAccountStatus, readFoundationStatus } from "../sdk/src/client/foundationStatus.js";
import { renderAccounts, renderFoundationStatus } from "../sdk/src/cli/statusTable.js";
import { accountBucket } from "../sdk/src/client/buckets.js";

const started = Date.now();
const step = (message: string) => console.log(`  [${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);

const { ethers, networkName } = await network.create();
console.log(`Strata foundation on network "${networkName}"`);
const { d, deployer, controller, executor, users } = await deployLocalFoundation(await ethers.getSigners(), {
  users: 3,
  pools: true,
  progress: step,
});
const [alice, bob, carol] = users as [(typeof users)[number], (typeof users)[number], (typeof users)[number]];

const usdc = d.tokens.USDC!;
const weth = d.tokens.WETH!;
const vaultAddress = await d.vault.getAddress();
const [core, pro, edge] = [0, 1, 2];

// Users deposit into isolated accounts of different tiers.
const deposits: [typeof alice, number, typeof usdc, string][] = [
  [alice, core, usdc, "250000"],
  [alice, core, weth, "40"],
  [bob, pro, usdc, "120000"],
  [carol, edge, usdc, "30000"],
];
for (const [user, tier, token, human] of deposits) {
  const amount = parseUnits(human, token.decimals);
  await (await token.mock!.mint(user.address, amount)).wait();
  await (await token.mock!.connect(user).approve(vaultAddress, amount)).wait();
  await (await d.vault.connect(user).deposit(token.address, amount, accountBucket(user.address, tier, 0n))).wait();
}
step(`${deposits.length} deposits into accounts of tiers core, pro and edge`);

// The protocol reserve is funded; the core tier may draw on it, capped per epoch.
const reserveAmount = parseUnits("500000", usdc.decimals);
await (await usdc.mock!.mint(deployer.address, reserveAmount)).wait();
await (await usdc.mock!.approve(vaultAddress, reserveAmount)).wait();
await (await d.vault.fundReserve(usdc.address, reserveAmount)).wait();
step("funded the protocol reserve with 500,000 USDC");

// The controller (the clearing house, once it exists) withdraws free collateral: at once under the
// outflow limit, queued as a claim above it.
const vaultAsController = d.vault.connect(controller);
await (
  await vaultAsController.withdraw(
    accountBucket(alice.address, core, 0n),
    usdc.address,
    parseUnits("50000", 6),
    alice.address,
  )
).wait();
await (await usdc.mock!.mint(bob.address, parseUnits("1500000", 6))).wait();
await (await usdc.mock!.connect(bob).approve(vaultAddress, parseUnits("1500000", 6))).wait();
await (
  await d.vault.connect(bob).deposit(usdc.address, parseUnits("1500000", 6), accountBucket(bob.address, core, 1n))
).wait();
const queuedTx = await vaultAsController.withdraw(
  accountBucket(bob.address, core, 1n),
  usdc.address,
  parseUnits("1200000", 6),
  bob.address,
);
const receipt = await queuedTx.wait();
const queued = receipt!.logs.map((log) => d.vault.interface.parseLog(log)).find((e) => e?.name === "WithdrawalQueued");
step(
  `withdrew 50,000 USDC at once; 1,200,000 USDC went over the daily outflow limit and was queued as claim #${queued?.args.claimId} (ready at ${new Date(Number(queued?.args.readyAt) * 1000).toISOString()})`,
);

// The tier firewall: a move between tiers is refused by the vault itself.
try {
  await vaultAsController.move.staticCall(
    accountBucket(alice.address, core, 0n),
    accountBucket(alice.address, edge, 0n),
    usdc.address,
    1n,
  );
  throw new Error("the vault accepted a cross-tier move");
} catch (error) {
  const name = d.vault.interface.parseError((error as { data?: string }).data ?? "0x")?.name;
  if (name !== "VaultCrossTierMove") throw error;
  step("a cross-tier move was refused with VaultCrossTierMove (DESIGN §6.2)");
}

// Oracle: a new ETH round and a keeper poke recording it as the last good price.
await (await d.assets["ETH/USD"]!.mockPrimary!.updateAnswer(parseUnits("3012", 8))).wait();
await (await d.assets["ETH/USD"]!.mockSecondary!.updateAnswer(parseUnits("3010", 18))).wait();
await (await d.oracle.poke(d.assets["ETH/USD"]!.key)).wait();
step("pushed an ETH/USD round to both feeds and poked the router");

// Clearing: bob (pro, 20x) goes long 10 ETH against carol; the execution layer's role is held by a
// harness account until the execution layer exists. Fees go to the pro tier's insurance fund.
const PRO = 1;
const ETH = 1;
const bobPro = accountBucket(bob.address, PRO, 0n);
const carolPro = accountBucket(carol.address, PRO, 0n);
const carolFunds = parseUnits("100000", usdc.decimals);
await (await usdc.mock!.mint(carol.address, carolFunds)).wait();
await (await usdc.mock!.connect(carol).approve(vaultAddress, carolFunds)).wait();
await (await d.vault.connect(carol).deposit(usdc.address, carolFunds, carolPro)).wait();
const size = parseUnits("10", 18);
const price = parseUnits("3012", 18);
const notional = (size * price) / 10n ** 18n;
await (
  await d.clearing.connect(executor).applyFill({
    taker: bobPro,
    maker: carolPro,
    market: ETH,
    size,
    price,
    takerFee: (notional * 5n) / 10_000n,
    makerFee: (notional * 2n) / 10_000n,
    poolFee: 0n,
    protocolFee: 0n,
    protocol: 0n,
  })
).wait();
step("bob bought 10 ETH at 3,012 from carol in tier pro (taker 5 bps, maker 2 bps to pro's insurance fund)");

// The market rallies 5%; both settle their fees into pro's settlement bucket.
await (await d.assets["ETH/USD"]!.mockPrimary!.updateAnswer(parseUnits("3162.6", 8))).wait();
await (await d.assets["ETH/USD"]!.mockSecondary!.updateAnswer(parseUnits("3162", 18))).wait();
await (await d.clearing.settle(bobPro)).wait();
await (await d.clearing.settle(carolPro)).wait();
step("ETH rallied 5% to 3,162.60; bob and carol settled their fees");

// The firewall again, at the clearing layer: a fill between accounts of two tiers is refused.
try {
  await d.clearing.connect(executor).applyFill.staticCall({
    taker: bobPro,
    maker: accountBucket(carol.address, 2, 0n),
    market: ETH,
    size,
    price,
    takerFee: 0n,
    makerFee: 0n,
    poolFee: 0n,
    protocolFee: 0n,
    protocol: 0n,
  });
  throw new Error("the clearing house accepted a cross-tier fill");
} catch (error) {
  const name = d.clearing.interface.parseError((error as { data?: string }).data ?? "0x")?.name;
  if (name !== "ClearingCrossTierFill") throw error;
  step("a fill between tiers pro and edge was refused with ClearingCrossTierFill (DESIGN §6.2)");
}

const status = await readFoundationStatus(d);
console.log();
console.log(renderFoundationStatus(status, (symbol) => d.tokens[symbol]!.decimals));
console.log();
const accounts = await readAccountStatus(d, [
  { label: "bob (pro)", account: bobPro },
  { label: "carol (pro)", account: carolPro },
]);
console.log(renderAccounts(accounts, (id) => (id === ETH ? "ETH" : `market ${id}`)));
console.log();
console.log("Addresses:", JSON.stringify(d.addresses, null, 2));
const insolvent = status.custody.filter((c) => !c.solvent);
if (insolvent.length > 0) throw new Error(`Vault solvency broken for ${insolvent.map((c) => c.token).join(", ")}`);
console.log(`\nDone in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
