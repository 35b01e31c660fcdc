import { expect } from "chai";
import { parseUnits } from "ethers";

import {
  AccessError,
  ClearingError,
  ExecutionError,
  NoSignerError,
  type ManagedCall,
  StrataClientError,
  StrataError,
  createStrataClient,
  type StrataClient,
} from "../../sdk/src/client/index.js";
import { acceptablePrice } from "../../sdk/src/execution/slippage.js";
import { EDGE, ETH, PRO, usdc, w } from "../clearing/clearingFixture.js";
import { connectChain, deployLocalFoundation } from "../helpers/foundation.js";

const chain = await connectChain();
const { ethers, networkHelpers } = chain;
const { time } = networkHelpers;

/**
 * The local foundation with pools and both ETH feeds at 3,000; alice, bob and carol each hold 1,000,000 USDC in
 * their wallets, and each has a client built from the deployment's manifest with their signer. Nothing else is
 * set up: every step of the integrator's flow goes through the clients.
 */
async function clientFixture() {
  const f = await deployLocalFoundation(chain, { pools: true });
  const eth = f.d.assets["ETH/USD"]!;
  await (await eth.mockPrimary!.updateAnswer(parseUnits("3000", 8))).wait();
  await (await eth.mockSecondary!.updateAnswer(parseUnits("3000", 18))).wait();
  for (const user of [f.alice, f.bob, f.carol]) {
    await (await f.d.tokens.USDC!.mock!.mint(user.address, usdc("1000000"))).wait();
  }
  const client = (runner: typeof f.alice) => createStrataClient({ manifest: f.d.manifest, runner });
  const aliceClient = client(f.alice);
  return {
    ...f,
    usdcToken: f.d.tokens.USDC!.mock!,
    aliceClient,
    bobClient: client(f.bob),
    carolClient: client(f.carol),
    adminClient: client(f.deployer),
    malloryClient: client(f.mallory),
    reader: createStrataClient({ manifest: f.d.manifest, runner: ethers.provider }),
    aliceAccount: aliceClient.account(f.alice.address, PRO),
    bobAccount: aliceClient.account(f.bob.address, PRO, 0n),
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail("expected a rejection"),
    (error: unknown) => error,
  );
}

/** Deposits `amount` USDC into `account` through the client (approving the vault on the way). */
async function fund(client: StrataClient, account: bigint, amount: bigint) {
  return client.vault.deposit({ token: "USDC", amount, account }, { wait: true });
}

describe("SDK client (sdk/src/client/strata.ts)", () => {
  it("an integrator's flow: deposit, two signed orders settled by a relayer, a pool trade within slippage, reads, a withdrawal", async () => {
    const f = await networkHelpers.loadFixture(clientFixture);
    await f.carolClient.pools.deposit({ tier: PRO, assets: usdc("1000000") }, { wait: true });

    // Deposits approve the vault when needed, then credit the account.
    const receipt = await fund(f.aliceClient, f.aliceAccount, usdc("10000"));
    expect(receipt.status).to.equal(1);
    await fund(f.bobClient, f.bobAccount, usdc("10000"));
    expect(await f.aliceClient.vault.balanceOf(f.aliceAccount, "USDC")).to.equal(usdc("10000"));
    expect(await f.bobClient.vault.balancesOf(f.bobAccount, ["USDC", "WETH"])).to.deep.equal({
      USDC: usdc("10000"),
      WETH: 0n,
    });

    // Two orders, each signed by its owner's client, settled by carol (neither side).
    const now = BigInt(await time.latest());
    const buy = await f.aliceClient.execution.buildOrder({
      account: f.aliceAccount,
      market: ETH,
      size: w("1"),
      limitPrice: w("3000"),
    });
    expect(buy.expiry).to.be.within(now + 3_600n, now + 3_601n);
    expect(buy.reduceOnly).to.equal(false);
    const sell = await f.bobClient.execution.buildOrder({
      account: f.bobAccount,
      market: ETH,
      size: -w("1"),
      limitPrice: w("2990"),
      ttlSeconds: 60n,
    });
    expect(sell.nonce).to.not.equal(buy.nonce);
    const maker = await f.aliceClient.execution.signOrder(buy);
    const taker = await f.bobClient.execution.signOrder(sell);
    expect(maker.signer).to.equal(f.alice.address);
    expect(await f.aliceClient.execution.orderDigest(buy)).to.equal(await f.d.execution.orderDigest(buy));
    await f.carolClient.execution.settleMatch({ maker, taker, size: w("1") }, { wait: true });
    expect(await f.reader.execution.filled(buy)).to.equal(w("1"));
    expect(await f.reader.execution.filled(await f.reader.execution.orderDigest(sell))).to.equal(w("1"));
    expect(await f.reader.execution.cancelled(buy)).to.equal(false);

    // A pool trade bounded by 50 bps of slippage from a fresh quote: simulated, then sent.
    const size = w("2");
    const quote = await f.aliceClient.execution.quotePoolTrade(f.aliceAccount, ETH, size);
    expect(quote.oraclePrice).to.equal(w("3000"));
    const [simulatedPrice, simulatedFee] = await f.aliceClient.execution.tradeWithPool.staticCall({
      account: f.aliceAccount,
      market: ETH,
      size,
      slippageBps: 50n,
    });
    expect(simulatedPrice).to.equal(quote.price);
    expect(simulatedFee > 0n).to.equal(true);
    const bound = acceptablePrice(quote.price, size, 50n);
    const trade = await f.aliceClient.execution.tradeWithPool({
      account: f.aliceAccount,
      market: ETH,
      size,
      acceptablePrice: bound,
    });
    expect((await trade.wait())?.status).to.equal(1);

    // Reads.
    expect(await f.reader.clearing.positions(f.aliceAccount)).to.deep.equal([
      {
        market: ETH,
        size: w("3"),
        openNotional: (await f.d.clearing.position(f.aliceAccount, ETH)).openNotional,
        fundingIndex: (await f.d.clearing.position(f.aliceAccount, ETH)).fundingIndex,
      },
    ]);
    expect((await f.reader.clearing.position(f.bobAccount, ETH)).size).to.equal(-w("1"));
    expect(await f.reader.clearing.accountMarkets(f.aliceAccount)).to.deep.equal([ETH]);
    const health = await f.reader.clearing.health(f.aliceAccount);
    expect(health.positions).to.equal(1);
    expect(health.equity > health.im).to.equal(true);
    expect(health.im > health.mm && health.mm > health.backstop).to.equal(true);
    // The pool is short 2: traders are net long, so longs pay funding.
    const funding = await f.reader.clearing.fundingState(PRO, ETH);
    expect(funding.ratePerDayWad > 0n).to.equal(true);
    expect(await f.reader.clearing.openInterest(PRO, ETH)).to.equal(w("3"));
    expect(await f.reader.clearing.pool(PRO)).to.equal(f.d.addresses.pools[PRO]);
    const price = await f.reader.oracle.getPrice("ETH/USD");
    expect(price.price).to.equal(w("3000"));
    expect(price.flagNames).to.deep.equal([]);
    expect((await f.reader.oracle.getPriceForLiquidation(f.d.assets["ETH/USD"]!.key)).lower < w("3000")).to.equal(true);
    expect((await f.reader.risk.tierConfig(PRO)).depth).to.equal(1);
    expect(await f.reader.risk.tierMarkets(EDGE)).to.deep.equal([ETH]);
    expect((await f.reader.risk.tradeParams(PRO, ETH)).maxLeverage).to.equal(10n);
    expect((await f.reader.risk.collateralRisk(PRO, "WETH")).weightBps).to.equal(7_500n);
    expect((await f.reader.vault.tokenConfig("USDC")).decimals).to.equal(6);

    // A withdrawal within margin: paid at once (claim 0) to the signer.
    const before = await f.usdcToken.balanceOf(f.alice.address);
    const amount = usdc("1000");
    expect(
      await f.aliceClient.clearing.withdraw.staticCall({ account: f.aliceAccount, token: "USDC", amount }),
    ).to.equal(0n);
    await f.aliceClient.clearing.withdraw({ account: f.aliceAccount, token: "USDC", amount }, { wait: true });
    expect((await f.usdcToken.balanceOf(f.alice.address)) - before).to.equal(amount);
  });

  it("reverts surface as StrataError subclasses on sends, static calls and estimates", async () => {
    const f = await networkHelpers.loadFixture(clientFixture);
    await f.carolClient.pools.deposit({ tier: PRO, assets: usdc("1000000") }, { wait: true });
    await fund(f.aliceClient, f.aliceAccount, usdc("10000"));

    // A slippage bound tighter than the quote.
    const { price } = await f.aliceClient.execution.quotePoolTrade(f.aliceAccount, ETH, w("1"));
    const tooTight = await rejection(
      f.aliceClient.execution.tradeWithPool({
        account: f.aliceAccount,
        market: ETH,
        size: w("1"),
        acceptablePrice: price - 1n,
      }),
    );
    expect(tooTight).to.be.instanceOf(ExecutionError);
    expect((tooTight as StrataError).errorName).to.equal("ExecutionAcceptablePriceExceeded");
    expect((tooTight as StrataError).args).to.deep.equal({ price, acceptablePrice: price - 1n });

    await f.aliceClient.execution.tradeWithPool(
      { account: f.aliceAccount, market: ETH, size: w("5"), slippageBps: 100n },
      { wait: true },
    );

    // Over-withdrawal: what remains would not cover IM on a 15,000 position.
    const overWithdrawal = { account: f.aliceAccount, token: "USDC", amount: usdc("9500") };
    for (const attempt of [
      () => f.aliceClient.clearing.withdraw(overWithdrawal),
      () => f.aliceClient.clearing.withdraw.staticCall(overWithdrawal),
      () => f.aliceClient.clearing.withdraw.estimateGas(overWithdrawal),
    ]) {
      const error = await rejection(attempt());
      expect(error).to.be.instanceOf(ClearingError);
      expect((error as StrataError).errorName).to.equal("ClearingInsufficientMargin");
      expect((error as StrataError).hint).to.not.equal("");
    }
  });

  it("writes are sent with gas headroom over their estimate, configurable and validated", async () => {
    const f = await networkHelpers.loadFixture(clientFixture);
    await fund(f.aliceClient, f.aliceAccount, usdc("500"));
    const settle = { account: f.aliceAccount };
    const estimate = await f.aliceClient.clearing.settle.estimateGas(settle);
    // 20% by default, rounded up.
    const sent = await f.aliceClient.clearing.settle(settle);
    expect(sent.gasLimit).to.equal((estimate * 12_000n + 9_999n) / 10_000n);
    expect(sent.gasLimit > estimate).to.equal(true);
    // 0 sends the bare estimate; an override replaces both.
    const bare = createStrataClient({ manifest: f.d.manifest, runner: f.alice, gasHeadroomBps: 0 });
    expect((await bare.clearing.settle(settle)).gasLimit).to.equal(await bare.clearing.settle.estimateGas(settle));
    expect((await f.aliceClient.clearing.settle(settle, { overrides: { gasLimit: 500_000n } })).gasLimit).to.equal(
      500_000n,
    );
    for (const gasHeadroomBps of [-1, 10_001, 0.5, Number.NaN]) {
      expect(() => createStrataClient({ manifest: f.d.manifest, runner: f.alice, gasHeadroomBps }))
        .to.throw(StrataClientError)
        .with.property("message", `gasHeadroomBps ${gasHeadroomBps} is not an integer from 0 to 10,000.`);
    }
  });

  it("a read-only client reads and simulates, and refuses to send with NoSignerError", async () => {
    const f = await networkHelpers.loadFixture(clientFixture);
    await fund(f.aliceClient, f.aliceAccount, usdc("500"));
    expect(f.reader.readOnly).to.equal(true);
    expect(f.aliceClient.readOnly).to.equal(false);
    expect(await f.reader.vault.balanceOf(f.aliceAccount, "USDC")).to.equal(usdc("500"));
    await f.reader.clearing.settle.staticCall({ account: f.aliceAccount });

    const refusals = [
      () => f.reader.clearing.settle({ account: f.aliceAccount }),
      () => f.reader.vault.deposit({ token: "USDC", amount: 1n, account: f.aliceAccount }),
      () =>
        f.reader.execution.signOrder({
          account: f.aliceAccount,
          market: ETH,
          size: w("1"),
          limitPrice: w("3000"),
          reduceOnly: false,
          expiry: 0n,
          nonce: 0n,
        }),
    ];
    for (const refusal of refusals) {
      const error = await rejection(refusal());
      expect(error).to.be.instanceOf(NoSignerError);
      expect((error as NoSignerError).message).to.include(
        "this client has no signer: create it with a Signer to send transactions",
      );
    }
    expect(((await rejection(refusals[0]!())) as NoSignerError).action).to.equal("clearing.settle");
  });

  it("an LP deposits with a preview, requests a redemption and redeems after the cooldown", async () => {
    const f = await networkHelpers.loadFixture(clientFixture);
    const assets = usdc("200000");
    const preview = await f.carolClient.pools.previewDeposit(PRO, assets);
    await f.carolClient.pools.deposit({ tier: PRO, assets }, { wait: true });
    const shares = await f.carolClient.pools.balanceOf(PRO, f.carol.address);
    expect(shares).to.equal(preview);
    expect(await f.reader.pools.totalAssets(PRO)).to.equal(assets);

    const { cooldown, redeemWindow } = await f.reader.pools.params(PRO);
    expect(cooldown).to.equal(3n * 86_400n);
    const half = shares / 2n;
    await f.carolClient.pools.requestRedeem({ tier: PRO, shares: half }, { wait: true });
    const requested = await f.reader.pools.redeemStatus(PRO, f.carol.address);
    const unlockAt = BigInt(await time.latest()) + cooldown;
    expect(requested).to.deep.equal({
      requestedShares: half,
      unlockAt,
      windowEndsAt: unlockAt + redeemWindow,
      redeemable: 0n,
    });

    await time.increaseTo(unlockAt);
    expect((await f.reader.pools.redeemStatus(PRO, f.carol.address)).redeemable).to.equal(half);
    const expected = await f.carolClient.pools.previewRedeem(PRO, half);
    const before = await f.usdcToken.balanceOf(f.carol.address);
    await f.carolClient.pools.redeem({ tier: PRO, shares: half }, { wait: true });
    expect((await f.usdcToken.balanceOf(f.carol.address)) - before).to.equal(expected);
    expect(await f.carolClient.pools.balanceOf(PRO, f.carol.address)).to.equal(shares - half);
  });

  it("governance: roles, and a delayed call scheduled, refused before its time and executed after", async () => {
    const f = await networkHelpers.loadFixture(clientFixture);
    // deploy/local.ts grants every role without a delay.
    expect(await f.reader.governance.hasRole("RISK", f.risk.address)).to.deep.equal({
      isMember: true,
      executionDelay: 0n,
    });
    expect((await f.reader.governance.hasRole("ADMIN", f.mallory.address)).isMember).to.equal(false);
    expect(f.reader.governance.roleLabel("GUARDIAN")).to.equal("GUARDIAN (role 2)");

    // ADMIN makes mallory a RISK member whose calls wait an hour.
    const delay = 3_600n;
    await f.adminClient.governance.grantRole(
      { role: "RISK", account: f.mallory.address, executionDelay: delay },
      { wait: true },
    );
    const usdcAddress = f.d.tokens.USDC!.address;
    const newCap = usdc("25000000");
    const call: ManagedCall = {
      target: "vault",
      data: f.malloryClient.contracts.vault.interface.encodeFunctionData("setDepositCap", [PRO, usdcAddress, newCap]),
    };
    expect(await f.reader.governance.canCall(f.mallory.address, call)).to.deep.equal({ immediate: false, delay });

    await f.malloryClient.governance.schedule(call, { wait: true });
    const scheduled = await f.reader.governance.operationStatus({ ...call, caller: f.mallory.address });
    expect(scheduled.scheduledFor).to.equal(BigInt(await time.latest()) + delay);
    expect(scheduled.ready).to.equal(false);
    const early = await rejection(f.malloryClient.governance.execute(call));
    expect(early).to.be.instanceOf(AccessError);
    expect((early as AccessError).errorName).to.equal("AccessManagerNotReady");

    await time.increaseTo(scheduled.scheduledFor);
    expect((await f.malloryClient.governance.operationStatus(call)).ready).to.equal(true);
    await f.malloryClient.governance.execute(call, { wait: true });
    expect((await f.d.vault.tierTotal(PRO, usdcAddress)).depositCap).to.equal(newCap);
    expect((await f.malloryClient.governance.operationStatus(call)).scheduledFor).to.equal(0n);
  });

  it("a manifest without a module is refused with a StrataClientError naming it", async () => {
    const f = await networkHelpers.loadFixture(clientFixture);
    const contracts = { ...f.d.manifest.contracts };
    delete contracts.execution;
    const error = await rejection(
      Promise.resolve().then(() =>
        createStrataClient({ manifest: { ...f.d.manifest, contracts }, runner: ethers.provider }),
      ),
    );
    expect(error).to.be.instanceOf(StrataClientError);
    expect((error as StrataClientError).message).to.equal(
      "The local manifest has no execution: the deployment is incomplete.",
    );
  });

  it("acceptablePrice widens the quote against the trader, rounding outwards", () => {
    expect(acceptablePrice(w("3000"), w("2"), 50n)).to.equal(w("3015"));
    expect(acceptablePrice(w("3000"), -w("2"), 50n)).to.equal(w("2985"));
    expect(acceptablePrice(3n, 1n, 1n)).to.equal(4n);
    expect(acceptablePrice(3n, -1n, 1n)).to.equal(2n);
    expect(() => acceptablePrice(w("1"), 0n, 1n)).to.throw(RangeError);
  });
});
