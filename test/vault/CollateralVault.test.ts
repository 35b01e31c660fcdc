import { expect } from "chai";
import { encodeBytes32String, MaxUint256, parseUnits, ZeroAddress } from "ethers";

import {
  BlocklistToken__factory,
  CallbackToken__factory,
  FalseReturningToken__factory,
  FeeOnTransferToken__factory,
  MockERC20__factory,
  ReentrancyAttacker__factory,
} from "../../types/index.js";
import { accountBucket, insuranceBucket, settlementBucket } from "../../sdk/src/client/buckets.js";
import { connectChain, deployLocalFoundation } from "../helpers/foundation.js";

const chain = await connectChain();
const { ethers, networkHelpers } = chain;
const { time } = networkHelpers;

const CORE = 0;
const PRO = 1;
const EDGE = 2;
const MAX_AMOUNT = (1n << 128n) - 1n;
const DAY = 86_400n;

async function fixture() {
  const f = await deployLocalFoundation(chain);
  const vaultAddress = await f.d.vault.getAddress();
  const usdc = f.d.tokens.USDC!;
  const weth = f.d.tokens.WETH!;
  const wbtc = f.d.tokens.WBTC!;
  /** Mints `amount` to `user`, approves the vault and deposits into `(user, tier, subId)`. */
  async function deposit(user: typeof f.alice, token: typeof usdc, tier: number, amount: bigint, subId = 0n) {
    await token.mock!.mint(user.address, amount);
    await token.mock!.connect(user).approve(vaultAddress, amount);
    await f.d.vault.connect(user).deposit(token.address, amount, accountBucket(user.address, tier, subId));
  }
  return { ...f, vault: f.d.vault, vaultAddress, usdc, weth, wbtc, deposit };
}

type Fixture = Awaited<ReturnType<typeof fixture>>;

/** Every figure a failed call must leave unchanged. */
async function snapshot(f: Fixture, token: string, buckets: bigint[], holders: string[]) {
  const erc20 = MockERC20__factory.connect(token, ethers.provider);
  return {
    vaultBalance: await erc20.balanceOf(f.vaultAddress),
    holders: await Promise.all(holders.map((h) => erc20.balanceOf(h))),
    buckets: await Promise.all(buckets.map((b) => f.vault.balanceOf(b, token))),
    tiers: await Promise.all([CORE, PRO, EDGE].map((t) => f.vault.tierTotal(t, token).then((r) => r[0]))),
    reserve: await f.vault.reserveBalance(token),
    queued: await f.vault.totalQueued(token),
  };
}

describe("CollateralVault", () => {
  describe("deposit", () => {
    it("credits the bucket and its tier with exactly the amount, and emits Deposited", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const amount = parseUnits("1234.567891", 6);
      await f.usdc.mock!.mint(f.alice.address, amount);
      await f.usdc.mock!.connect(f.alice).approve(f.vaultAddress, amount);
      const bucket = accountBucket(f.alice.address, PRO, 7n);

      await expect(f.vault.connect(f.alice).deposit(f.usdc.address, amount, bucket))
        .to.emit(f.vault, "Deposited")
        .withArgs(bucket, f.usdc.address, f.alice.address, amount);

      expect(await f.vault.balanceOf(bucket, f.usdc.address)).to.equal(amount);
      expect((await f.vault.tierTotal(PRO, f.usdc.address))[0]).to.equal(amount);
      expect((await f.vault.tierTotal(CORE, f.usdc.address))[0]).to.equal(0n);
      expect(await f.usdc.mock!.balanceOf(f.vaultAddress)).to.equal(amount);
      expect(await f.usdc.mock!.balanceOf(f.alice.address)).to.equal(0n);
    });

    for (const decimals of [6, 8, 18, 24]) {
      it(`works for a token with ${decimals} decimals, reading decimals once at listing`, async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const token = await new MockERC20__factory(f.deployer).deploy(`T${decimals}`, `T${decimals}`, decimals);
        const address = await token.getAddress();
        await expect(f.vault.listToken(address, parseUnits("100000", decimals), 3600))
          .to.emit(f.vault, "TokenListed")
          .withArgs(address, decimals, parseUnits("100000", decimals), 3600);
        await f.vault.enableTierToken(EDGE, address, parseUnits("1000000", decimals));
        const amount = parseUnits("12345.5", decimals);
        await token.mint(f.alice.address, amount);
        await token.connect(f.alice).approve(f.vaultAddress, amount);
        const bucket = accountBucket(f.alice.address, EDGE, 0n);
        await f.vault.connect(f.alice).deposit(address, amount, bucket);
        expect(await f.vault.balanceOf(bucket, address)).to.equal(amount);
        expect((await f.vault.tokenConfig(address)).decimals).to.equal(BigInt(decimals));
        await f.vault.connect(f.controller).withdraw(bucket, address, amount, f.alice.address);
        expect(await token.balanceOf(f.alice.address)).to.equal(amount);
      });
    }

    it("lets anyone fund a tier's insurance or settlement bucket", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      await f.usdc.mock!.mint(f.bob.address, 500n);
      await f.usdc.mock!.connect(f.bob).approve(f.vaultAddress, 500n);
      await f.vault.connect(f.bob).deposit(f.usdc.address, 300n, insuranceBucket(EDGE));
      await f.vault.connect(f.bob).deposit(f.usdc.address, 200n, settlementBucket(EDGE));
      expect(await f.vault.balanceOf(insuranceBucket(EDGE), f.usdc.address)).to.equal(300n);
      expect(await f.vault.balanceOf(settlementBucket(EDGE), f.usdc.address)).to.equal(200n);
    });

    describe("refuses bad input and leaves every balance unchanged", () => {
      async function expectUnchanged(f: Fixture, token: string, run: () => Promise<void>) {
        const bucket = accountBucket(f.alice.address, CORE, 0n);
        const before = await snapshot(f, token, [bucket], [f.alice.address]);
        await run();
        expect(await snapshot(f, token, [bucket], [f.alice.address])).to.deep.equal(before);
      }

      it("zero amount: VaultZeroAmount", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await f.deposit(f.alice, f.usdc, CORE, 100n);
        await expectUnchanged(f, f.usdc.address, async () => {
          await expect(
            f.vault.connect(f.alice).deposit(f.usdc.address, 0n, accountBucket(f.alice.address, CORE, 0n)),
          ).to.be.revertedWithCustomError(f.vault, "VaultZeroAmount");
        });
      });

      it("max uint amount: VaultAmountTooLarge(amount, 2^128-1)", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await expectUnchanged(f, f.usdc.address, async () => {
          await expect(
            f.vault.connect(f.alice).deposit(f.usdc.address, MaxUint256, accountBucket(f.alice.address, CORE, 0n)),
          )
            .to.be.revertedWithCustomError(f.vault, "VaultAmountTooLarge")
            .withArgs(MaxUint256, MAX_AMOUNT);
        });
      });

      it("unknown token: VaultTokenNotListed(token)", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const stray = await new MockERC20__factory(f.deployer).deploy("Stray", "STRAY", 18);
        await stray.mint(f.alice.address, 10n);
        await stray.connect(f.alice).approve(f.vaultAddress, 10n);
        await expectUnchanged(f, await stray.getAddress(), async () => {
          await expect(
            f.vault.connect(f.alice).deposit(await stray.getAddress(), 10n, accountBucket(f.alice.address, CORE, 0n)),
          )
            .to.be.revertedWithCustomError(f.vault, "VaultTokenNotListed")
            .withArgs(await stray.getAddress());
        });
      });

      it("a token the tier does not accept, and an unknown tier: VaultTierTokenNotEnabled(tier, token)", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await f.wbtc.mock!.mint(f.alice.address, 10n);
        await f.wbtc.mock!.connect(f.alice).approve(f.vaultAddress, 10n);
        await expect(f.vault.connect(f.alice).deposit(f.wbtc.address, 10n, accountBucket(f.alice.address, EDGE, 0n)))
          .to.be.revertedWithCustomError(f.vault, "VaultTierTokenNotEnabled")
          .withArgs(EDGE, f.wbtc.address);
        await expect(f.vault.connect(f.alice).deposit(f.wbtc.address, 10n, accountBucket(f.alice.address, 9, 0n)))
          .to.be.revertedWithCustomError(f.vault, "VaultTierTokenNotEnabled")
          .withArgs(9, f.wbtc.address);
        expect(await f.wbtc.mock!.balanceOf(f.alice.address)).to.equal(10n);
      });

      it("a deposit over the tier's cap: VaultDepositCapExceeded(tier, token, cap, totalAfter)", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const cap = parseUnits("5000000", 6); // edge tier's USDC cap (deploy/local.ts)
        await f.deposit(f.bob, f.usdc, EDGE, cap - 10n);
        await f.usdc.mock!.mint(f.alice.address, 11n);
        await f.usdc.mock!.connect(f.alice).approve(f.vaultAddress, 11n);
        await expect(f.vault.connect(f.alice).deposit(f.usdc.address, 11n, accountBucket(f.alice.address, EDGE, 0n)))
          .to.be.revertedWithCustomError(f.vault, "VaultDepositCapExceeded")
          .withArgs(EDGE, f.usdc.address, cap, cap + 1n);
        // Exactly up to the cap is fine.
        await f.vault.connect(f.alice).deposit(f.usdc.address, 10n, accountBucket(f.alice.address, EDGE, 0n));
        expect((await f.vault.tierTotal(EDGE, f.usdc.address))[0]).to.equal(cap);
      });

      it("an unreachable bucket (owner 0, non-system sub-id): VaultInvalidBucket(bucket)", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await f.usdc.mock!.mint(f.alice.address, 10n);
        await f.usdc.mock!.connect(f.alice).approve(f.vaultAddress, 10n);
        const orphan = accountBucket(ZeroAddress, CORE, 5n);
        await expectUnchanged(f, f.usdc.address, async () => {
          await expect(f.vault.connect(f.alice).deposit(f.usdc.address, 10n, orphan))
            .to.be.revertedWithCustomError(f.vault, "VaultInvalidBucket")
            .withArgs(orphan);
        });
      });

      it("while paused: VaultDepositsPaused", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await f.usdc.mock!.mint(f.alice.address, 10n);
        await f.usdc.mock!.connect(f.alice).approve(f.vaultAddress, 10n);
        await f.vault.connect(f.guardian).pauseDeposits();
        await expectUnchanged(f, f.usdc.address, async () => {
          await expect(
            f.vault.connect(f.alice).deposit(f.usdc.address, 10n, accountBucket(f.alice.address, CORE, 0n)),
          ).to.be.revertedWithCustomError(f.vault, "VaultDepositsPaused");
        });
      });

      it("without allowance: the token's own error, nothing credited", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await f.usdc.mock!.mint(f.alice.address, 10n);
        await expectUnchanged(f, f.usdc.address, async () => {
          await expect(f.vault.connect(f.alice).deposit(f.usdc.address, 10n, accountBucket(f.alice.address, CORE, 0n)))
            .to.be.revertedWithCustomError(f.usdc.mock!, "ERC20InsufficientAllowance")
            .withArgs(f.vaultAddress, 0n, 10n);
        });
      });
    });

    describe("hostile tokens", () => {
      async function listForCore(f: Fixture, token: string) {
        await f.vault.listToken(token, parseUnits("1000000", 18), 86400);
        await f.vault.enableTierToken(CORE, token, MAX_AMOUNT);
      }

      it("fee-on-transfer: refused with VaultTransferAmountMismatch(token, expected, received)", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const fot = await new FeeOnTransferToken__factory(f.deployer).deploy(100); // 1%
        const address = await fot.getAddress();
        await listForCore(f, address);
        await fot.mint(f.alice.address, 10_000n);
        await fot.connect(f.alice).approve(f.vaultAddress, 10_000n);
        const bucket = accountBucket(f.alice.address, CORE, 0n);
        const before = await snapshot(f, address, [bucket], [f.alice.address]);
        await expect(f.vault.connect(f.alice).deposit(address, 10_000n, bucket))
          .to.be.revertedWithCustomError(f.vault, "VaultTransferAmountMismatch")
          .withArgs(address, 10_000n, 9_900n);
        expect(await snapshot(f, address, [bucket], [f.alice.address])).to.deep.equal(before);
        // With its fee switched off the same token is accepted.
        await fot.setFee(0);
        await f.vault.connect(f.alice).deposit(address, 10_000n, bucket);
        expect(await f.vault.balanceOf(bucket, address)).to.equal(10_000n);
      });

      it("false-returning: SafeERC20FailedOperation(token) on deposit and on withdrawal", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const bad = await new FalseReturningToken__factory(f.deployer).deploy();
        const address = await bad.getAddress();
        await listForCore(f, address);
        await bad.mint(f.alice.address, 1_000n);
        const bucket = accountBucket(f.alice.address, CORE, 0n);
        // No allowance: transferFrom returns false instead of reverting.
        await expect(f.vault.connect(f.alice).deposit(address, 1_000n, bucket))
          .to.be.revertedWithCustomError(f.vault, "SafeERC20FailedOperation")
          .withArgs(address);
        await bad.connect(f.alice).approve(f.vaultAddress, 1_000n);
        await f.vault.connect(f.alice).deposit(address, 1_000n, bucket);
        await bad.setFailTransfers(true);
        const before = await snapshot(f, address, [bucket], [f.alice.address]);
        await expect(f.vault.connect(f.controller).withdraw(bucket, address, 400n, f.alice.address))
          .to.be.revertedWithCustomError(f.vault, "SafeERC20FailedOperation")
          .withArgs(address);
        expect(await snapshot(f, address, [bucket], [f.alice.address])).to.deep.equal(before);
      });

      it("re-entrant (callback on transfer): every re-entry is refused and the outer call reverts whole", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const token = await new CallbackToken__factory(f.deployer).deploy();
        const attacker = await new ReentrancyAttacker__factory(f.deployer).deploy();
        const address = await token.getAddress();
        await listForCore(f, address);
        await token.setHook(await attacker.getAddress());
        const bucket = accountBucket(f.alice.address, CORE, 0n);
        await token.mint(f.alice.address, 1_000n);
        await token.connect(f.alice).approve(f.vaultAddress, 1_000n);
        // The callback tries to deposit again during the first deposit's transfer.
        await attacker.arm(f.vaultAddress, f.vault.interface.encodeFunctionData("deposit", [address, 1n, bucket]));
        const before = await snapshot(f, address, [bucket], [f.alice.address]);
        await expect(f.vault.connect(f.alice).deposit(address, 1_000n, bucket)).to.be.revertedWithCustomError(
          f.vault,
          "ReentrancyGuardReentrantCall",
        );
        expect(await snapshot(f, address, [bucket], [f.alice.address])).to.deep.equal(before);

        // And a re-entrant payClaim during a withdrawal's transfer is refused too.
        await attacker.arm(ZeroAddress, "0x");
        await f.vault.connect(f.alice).deposit(address, 1_000n, bucket);
        await attacker.arm(f.vaultAddress, f.vault.interface.encodeFunctionData("payClaim", [1n]));
        await expect(
          f.vault.connect(f.controller).withdraw(bucket, address, 10n, f.alice.address),
        ).to.be.revertedWithCustomError(f.vault, "ReentrancyGuardReentrantCall");
        expect(await f.vault.balanceOf(bucket, address)).to.equal(1_000n);
      });

      it("blocklisting: a blocklisted receiver cannot block anyone else, and redirects its own claim", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const token = await new BlocklistToken__factory(f.deployer).deploy();
        const address = await token.getAddress();
        await f.vault.listToken(address, 1_000n, 3600);
        await f.vault.enableTierToken(CORE, address, MAX_AMOUNT);
        const aliceBucket = accountBucket(f.alice.address, CORE, 0n);
        await token.mint(f.alice.address, 10_000n);
        await token.connect(f.alice).approve(f.vaultAddress, 10_000n);
        await f.vault.connect(f.alice).deposit(address, 10_000n, aliceBucket);

        // Queue two claims: alice's (who then gets blocklisted) and bob's behind it.
        await f.vault.connect(f.controller).withdraw(aliceBucket, address, 2_000n, f.alice.address); // claim 1
        await f.vault.connect(f.controller).withdraw(aliceBucket, address, 500n, f.bob.address); // claim 2
        await token.setBlocklisted(f.alice.address, true);

        // An immediate withdrawal to a blocklisted receiver reverts whole (the user picks another receiver).
        await time.increase(10 * 3600);
        const before = await snapshot(f, address, [aliceBucket], [f.alice.address, f.bob.address]);
        await expect(f.vault.connect(f.controller).withdraw(aliceBucket, address, 1n, f.alice.address))
          .to.be.revertedWithCustomError(token, "Blocklisted")
          .withArgs(f.alice.address);
        expect(await snapshot(f, address, [aliceBucket], [f.alice.address, f.bob.address])).to.deep.equal(before);

        await expect(f.vault.payClaim(1n)).to.be.revertedWithCustomError(token, "Blocklisted");
        // Bob's later claim is paid regardless of the stuck one ahead of it.
        await expect(f.vault.payClaim(2n)).to.emit(f.vault, "ClaimPaid").withArgs(2n, f.bob.address, address, 500n);
        // Alice redirects her claim and it is paid.
        await expect(f.vault.connect(f.alice).setClaimReceiver(1n, f.carol.address))
          .to.emit(f.vault, "ClaimReceiverChanged")
          .withArgs(1n, f.alice.address, f.carol.address);
        await f.vault.payClaim(1n);
        expect(await token.balanceOf(f.carol.address)).to.equal(2_000n);
        expect(await f.vault.totalQueued(address)).to.equal(0n);
      });
    });
  });

  describe("fundReserve", () => {
    it("adds to the reserve, which belongs to no tier", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      await f.usdc.mock!.mint(f.bob.address, 1_000n);
      await f.usdc.mock!.connect(f.bob).approve(f.vaultAddress, 1_000n);
      await expect(f.vault.connect(f.bob).fundReserve(f.usdc.address, 1_000n))
        .to.emit(f.vault, "ReserveFunded")
        .withArgs(f.usdc.address, f.bob.address, 1_000n);
      expect(await f.vault.reserveBalance(f.usdc.address)).to.equal(1_000n);
      for (const tier of [CORE, PRO, EDGE]) expect((await f.vault.tierTotal(tier, f.usdc.address))[0]).to.equal(0n);
    });

    it("refuses zero, too large and unknown tokens", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      await expect(f.vault.fundReserve(f.usdc.address, 0n)).to.be.revertedWithCustomError(f.vault, "VaultZeroAmount");
      await expect(f.vault.fundReserve(f.usdc.address, MaxUint256))
        .to.be.revertedWithCustomError(f.vault, "VaultAmountTooLarge")
        .withArgs(MaxUint256, MAX_AMOUNT);
      await expect(f.vault.fundReserve(f.alice.address, 1n))
        .to.be.revertedWithCustomError(f.vault, "VaultTokenNotListed")
        .withArgs(f.alice.address);
    });
  });

  describe("move (controller)", () => {
    it("moves within a tier and emits Moved", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      await f.deposit(f.alice, f.usdc, PRO, 1_000n);
      const from = accountBucket(f.alice.address, PRO, 0n);
      const to = settlementBucket(PRO);
      await expect(f.vault.connect(f.controller).move(from, to, f.usdc.address, 400n))
        .to.emit(f.vault, "Moved")
        .withArgs(from, to, f.usdc.address, 400n);
      expect(await f.vault.balanceOf(from, f.usdc.address)).to.equal(600n);
      expect(await f.vault.balanceOf(to, f.usdc.address)).to.equal(400n);
      expect((await f.vault.tierTotal(PRO, f.usdc.address))[0]).to.equal(1_000n);
    });

    it("refuses a move across tiers (the firewall), leaving both tiers unchanged", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      await f.deposit(f.alice, f.usdc, CORE, 1_000n);
      const from = accountBucket(f.alice.address, CORE, 0n);
      const to = accountBucket(f.alice.address, EDGE, 0n);
      const before = await snapshot(f, f.usdc.address, [from, to], []);
      await expect(f.vault.connect(f.controller).move(from, to, f.usdc.address, 1n))
        .to.be.revertedWithCustomError(f.vault, "VaultCrossTierMove")
        .withArgs(from, to);
      await expect(f.vault.connect(f.controller).move(from, insuranceBucket(PRO), f.usdc.address, 1n))
        .to.be.revertedWithCustomError(f.vault, "VaultCrossTierMove")
        .withArgs(from, insuranceBucket(PRO));
      expect(await snapshot(f, f.usdc.address, [from, to], [])).to.deep.equal(before);
    });

    it("refuses zero, overdraft, unreachable buckets and unauthorized callers", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      await f.deposit(f.alice, f.usdc, CORE, 1_000n);
      const from = accountBucket(f.alice.address, CORE, 0n);
      const to = accountBucket(f.bob.address, CORE, 0n);
      await expect(f.vault.connect(f.controller).move(from, to, f.usdc.address, 0n)).to.be.revertedWithCustomError(
        f.vault,
        "VaultZeroAmount",
      );
      await expect(f.vault.connect(f.controller).move(from, to, f.usdc.address, 1_001n))
        .to.be.revertedWithCustomError(f.vault, "VaultInsufficientBalance")
        .withArgs(from, f.usdc.address, 1_000n, 1_001n);
      const orphan = accountBucket(ZeroAddress, CORE, 3n);
      await expect(f.vault.connect(f.controller).move(from, orphan, f.usdc.address, 1n))
        .to.be.revertedWithCustomError(f.vault, "VaultInvalidBucket")
        .withArgs(orphan);
      for (const caller of [f.alice, f.risk, f.guardian, f.deployer]) {
        await expect(f.vault.connect(caller).move(from, to, f.usdc.address, 1n))
          .to.be.revertedWithCustomError(f.vault, "AccessManagedUnauthorized")
          .withArgs(caller.address);
      }
      expect(await f.vault.balanceOf(from, f.usdc.address)).to.equal(1_000n);
    });
  });

  describe("withdraw (controller) and the outflow limit", () => {
    it("pays at once under the limit (claim id 0) and emits Withdrawn", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      await f.deposit(f.alice, f.weth, CORE, parseUnits("10", 18));
      const bucket = accountBucket(f.alice.address, CORE, 0n);
      const amount = parseUnits("4", 18);
      expect(
        await f.vault.connect(f.controller).withdraw.staticCall(bucket, f.weth.address, amount, f.bob.address),
      ).to.equal(0n);
      await expect(f.vault.connect(f.controller).withdraw(bucket, f.weth.address, amount, f.bob.address))
        .to.emit(f.vault, "Withdrawn")
        .withArgs(bucket, f.weth.address, f.bob.address, amount);
      expect(await f.weth.mock!.balanceOf(f.bob.address)).to.equal(amount);
      expect(await f.vault.balanceOf(bucket, f.weth.address)).to.equal(parseUnits("6", 18));
      expect((await f.vault.tierTotal(CORE, f.weth.address))[0]).to.equal(parseUnits("6", 18));
      expect(await f.vault.availableOutflow(CORE, f.weth.address)).to.equal(parseUnits("996", 18));
      expect(await f.vault.availableOutflow(PRO, f.weth.address)).to.equal(parseUnits("1000", 18));
    });

    it("queues an outflow over the limit as a claim with an exact payout time, first in first out", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const capacity = parseUnits("1000", 18); // WETH: 1,000 per day (deploy/local.ts)
      await f.deposit(f.alice, f.weth, CORE, parseUnits("5000", 18));
      const bucket = accountBucket(f.alice.address, CORE, 0n);

      await f.vault.connect(f.controller).withdraw(bucket, f.weth.address, parseUnits("900", 18), f.alice.address);
      // 100 left now; 300 more is 200 over: ready when 200 has refilled, 200/1000 of a day, rounded up.
      const t1 = BigInt(await time.latest()) + 1n;
      await time.setNextBlockTimestamp(t1);
      const first = parseUnits("300", 18);
      const firstReady = t1 + (parseUnits("200", 18) * DAY + capacity - 1n) / capacity;
      await expect(f.vault.connect(f.controller).withdraw(bucket, f.weth.address, first, f.bob.address))
        .to.emit(f.vault, "WithdrawalQueued")
        .withArgs(1n, bucket, f.weth.address, f.bob.address, first, firstReady);
      // A small withdrawal now queues behind the first claim instead of jumping ahead.
      await time.setNextBlockTimestamp(t1 + 10n);
      // The state was synced at t1 (one second of refill after the first withdrawal), then 10 s more.
      const used = 1_200n * 10n ** 18n - capacity / DAY - (10n * capacity) / DAY; // each refill floors
      const secondReady = t1 + 10n + ((used + 1n - capacity) * DAY + capacity - 1n) / capacity;
      await expect(f.vault.connect(f.controller).withdraw(bucket, f.weth.address, 1n, f.carol.address))
        .to.emit(f.vault, "WithdrawalQueued")
        .withArgs(2n, bucket, f.weth.address, f.carol.address, 1n, secondReady);
      expect(secondReady).to.be.greaterThanOrEqual(firstReady); // never ahead of the earlier claim
      expect(await f.vault.totalQueued(f.weth.address)).to.equal(first + 1n);
      expect(await f.weth.mock!.balanceOf(f.bob.address)).to.equal(0n);

      const claim = await f.vault.claim(1n);
      expect([claim.amount, claim.readyAt, claim.receiver, claim.token, claim.owner]).to.deep.equal([
        first,
        firstReady,
        f.bob.address,
        f.weth.address,
        f.alice.address,
      ]);
      // Not before its time.
      await expect(f.vault.payClaim(1n))
        .to.be.revertedWithCustomError(f.vault, "VaultClaimNotReady")
        .withArgs(1n, firstReady);
      await time.increaseTo(firstReady);
      await expect(f.vault.connect(f.mallory).payClaim(1n))
        .to.emit(f.vault, "ClaimPaid")
        .withArgs(1n, f.bob.address, f.weth.address, first);
      expect(await f.weth.mock!.balanceOf(f.bob.address)).to.equal(first);
      await expect(f.vault.payClaim(1n)).to.be.revertedWithCustomError(f.vault, "VaultClaimNotFound").withArgs(1n);
      if (BigInt(await time.latest()) < secondReady) await time.increaseTo(secondReady);
      await f.vault.payClaim(2n);
      expect(await f.vault.totalQueued(f.weth.address)).to.equal(0n);
    });

    it("never loses a claim larger than the whole capacity: it becomes payable after enough refill", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      await f.deposit(f.alice, f.wbtc, CORE, parseUnits("500", 8));
      const bucket = accountBucket(f.alice.address, CORE, 0n);
      await f.vault.connect(f.controller).withdraw(bucket, f.wbtc.address, parseUnits("500", 8), f.alice.address);
      const claim = await f.vault.claim(1n);
      // 500 WBTC against 50 per day: 450 over capacity, so 9 days.
      expect(claim.readyAt - BigInt(await time.latest())).to.equal(9n * DAY);
      await time.increaseTo(claim.readyAt);
      await f.vault.payClaim(1n);
      expect(await f.wbtc.mock!.balanceOf(f.alice.address)).to.equal(parseUnits("500", 8));
    });

    it("keeps one queue per tier: a run on one tier never delays another tier's exits (DESIGN §6.2)", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      await f.deposit(f.mallory, f.usdc, EDGE, parseUnits("4000000", 6));
      await f.deposit(f.alice, f.usdc, CORE, parseUnits("1000", 6));
      // 4M USDC leaves the edge tier against a 1M/day limit: 3 days of queue in edge.
      const malloryBucket = accountBucket(f.mallory.address, EDGE, 0n);
      await f.vault
        .connect(f.controller)
        .withdraw(malloryBucket, f.usdc.address, parseUnits("4000000", 6), f.mallory.address);
      expect(await f.vault.availableOutflow(EDGE, f.usdc.address)).to.equal(0n);
      // Core's exits are untouched: paid at once.
      const aliceBucket = accountBucket(f.alice.address, CORE, 0n);
      await expect(
        f.vault.connect(f.controller).withdraw(aliceBucket, f.usdc.address, parseUnits("1000", 6), f.alice.address),
      )
        .to.emit(f.vault, "Withdrawn")
        .withArgs(aliceBucket, f.usdc.address, f.alice.address, parseUnits("1000", 6));
      expect(await f.vault.availableOutflow(CORE, f.usdc.address)).to.equal(parseUnits("999000", 6));
    });

    it("refuses zero, overdraft, bad receivers, unknown tokens and unauthorized callers", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      await f.deposit(f.alice, f.usdc, CORE, 1_000n);
      const bucket = accountBucket(f.alice.address, CORE, 0n);
      const before = await snapshot(f, f.usdc.address, [bucket], [f.alice.address]);
      const asController = f.vault.connect(f.controller);
      await expect(asController.withdraw(bucket, f.usdc.address, 0n, f.alice.address)).to.be.revertedWithCustomError(
        f.vault,
        "VaultZeroAmount",
      );
      await expect(asController.withdraw(bucket, f.usdc.address, 1_001n, f.alice.address))
        .to.be.revertedWithCustomError(f.vault, "VaultInsufficientBalance")
        .withArgs(bucket, f.usdc.address, 1_000n, 1_001n);
      for (const receiver of [ZeroAddress, f.vaultAddress]) {
        await expect(asController.withdraw(bucket, f.usdc.address, 1n, receiver))
          .to.be.revertedWithCustomError(f.vault, "VaultInvalidReceiver")
          .withArgs(receiver);
      }
      await expect(asController.withdraw(bucket, f.alice.address, 1n, f.alice.address))
        .to.be.revertedWithCustomError(f.vault, "VaultTokenNotListed")
        .withArgs(f.alice.address);
      for (const caller of [f.alice, f.guardian, f.risk, f.oracleOperator]) {
        await expect(f.vault.connect(caller).withdraw(bucket, f.usdc.address, 1n, caller.address))
          .to.be.revertedWithCustomError(f.vault, "AccessManagedUnauthorized")
          .withArgs(caller.address);
      }
      expect(await snapshot(f, f.usdc.address, [bucket], [f.alice.address])).to.deep.equal(before);
    });

    it("pausing deposits never blocks withdrawals, moves or claims (DESIGN §6.7)", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      await f.deposit(f.alice, f.wbtc, CORE, parseUnits("100", 8));
      const bucket = accountBucket(f.alice.address, CORE, 0n);
      await f.vault.connect(f.controller).withdraw(bucket, f.wbtc.address, parseUnits("60", 8), f.alice.address);
      await expect(f.vault.connect(f.guardian).pauseDeposits())
        .to.emit(f.vault, "DepositsPauseSet")
        .withArgs(true, f.guardian.address);
      expect(await f.vault.depositsPaused()).to.equal(true);
      await f.vault.connect(f.controller).move(bucket, settlementBucket(CORE), f.wbtc.address, 1n);
      await f.vault.connect(f.controller).withdraw(bucket, f.wbtc.address, parseUnits("1", 8), f.alice.address);
      // 60 WBTC was over the 50/day limit (claim 1); the 1 WBTC after it queues behind it (claim 2).
      await time.increaseTo((await f.vault.claim(1n)).readyAt);
      await f.vault.payClaim(1n);
      expect(await f.wbtc.mock!.balanceOf(f.alice.address)).to.equal(parseUnits("60", 8));
      await time.increaseTo((await f.vault.claim(2n)).readyAt);
      await f.vault.payClaim(2n);
      expect(await f.wbtc.mock!.balanceOf(f.alice.address)).to.equal(parseUnits("61", 8));
    });
  });

  describe("claims", () => {
    it("only the receiver redirects a claim, never to address zero", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      await f.deposit(f.alice, f.wbtc, CORE, parseUnits("60", 8));
      await f.vault
        .connect(f.controller)
        .withdraw(accountBucket(f.alice.address, CORE, 0n), f.wbtc.address, parseUnits("60", 8), f.alice.address);
      await expect(f.vault.connect(f.mallory).setClaimReceiver(1n, f.mallory.address))
        .to.be.revertedWithCustomError(f.vault, "VaultClaimRedirectNotAllowed")
        .withArgs(1n, f.mallory.address);
      await expect(f.vault.connect(f.alice).setClaimReceiver(1n, ZeroAddress))
        .to.be.revertedWithCustomError(f.vault, "VaultInvalidReceiver")
        .withArgs(ZeroAddress);
      await expect(f.vault.connect(f.alice).setClaimReceiver(2n, f.bob.address))
        .to.be.revertedWithCustomError(f.vault, "VaultClaimNotFound")
        .withArgs(2n);
      expect((await f.vault.claim(1n)).receiver).to.equal(f.alice.address);
    });

    it("the owner of the bucket may redirect a claim whose receiver cannot (e.g. a contract)", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      await f.deposit(f.alice, f.wbtc, CORE, parseUnits("60", 8));
      // The receiver is a contract without any way to call setClaimReceiver: the vault's own manager.
      const stuckReceiver = await f.d.manager.getAddress();
      await f.vault
        .connect(f.controller)
        .withdraw(accountBucket(f.alice.address, CORE, 0n), f.wbtc.address, parseUnits("60", 8), stuckReceiver);
      await expect(f.vault.connect(f.alice).setClaimReceiver(1n, f.alice.address))
        .to.emit(f.vault, "ClaimReceiverChanged")
        .withArgs(1n, stuckReceiver, f.alice.address);
      await time.increaseTo((await f.vault.claim(1n)).readyAt);
      await f.vault.payClaim(1n);
      expect(await f.wbtc.mock!.balanceOf(f.alice.address)).to.equal(parseUnits("60", 8));
    });

    it("raising the capacity never lets a later claim become payable before an earlier one", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      await f.deposit(f.alice, f.wbtc, CORE, parseUnits("200", 8));
      const bucket = accountBucket(f.alice.address, CORE, 0n);
      await f.vault.connect(f.controller).withdraw(bucket, f.wbtc.address, parseUnits("150", 8), f.alice.address);
      const first = (await f.vault.claim(1n)).readyAt;
      await f.vault.connect(f.risk).setOutflowLimit(f.wbtc.address, parseUnits("75", 8), 86400);
      await f.vault.connect(f.controller).withdraw(bucket, f.wbtc.address, 1n, f.bob.address);
      expect((await f.vault.claim(2n)).readyAt).to.be.greaterThanOrEqual(first);
    });
  });

  describe("drawReserve (controller)", () => {
    async function funded() {
      const f = await networkHelpers.loadFixture(fixture);
      const reserve = parseUnits("1000000", 6);
      await f.usdc.mock!.mint(f.deployer.address, reserve);
      await f.usdc.mock!.approve(f.vaultAddress, reserve);
      await f.vault.fundReserve(f.usdc.address, reserve);
      return { ...f, reserve };
    }

    it("pays into an eligible tier within its per-epoch allowance, and renews each epoch", async () => {
      const f = await funded();
      const allowance = parseUnits("250000", 6); // core (deploy/local.ts)
      const to = insuranceBucket(CORE);
      const epoch = await f.vault.reserveEpoch();
      await expect(f.vault.connect(f.controller).drawReserve(to, f.usdc.address, allowance - 1n))
        .to.emit(f.vault, "ReserveDrawn")
        .withArgs(CORE, to, f.usdc.address, allowance - 1n, epoch);
      expect(await f.vault.balanceOf(to, f.usdc.address)).to.equal(allowance - 1n);
      expect((await f.vault.tierTotal(CORE, f.usdc.address))[0]).to.equal(allowance - 1n);
      expect(await f.vault.reserveAvailable(CORE, f.usdc.address)).to.equal(1n);
      await expect(f.vault.connect(f.controller).drawReserve(to, f.usdc.address, 2n))
        .to.be.revertedWithCustomError(f.vault, "VaultReserveAllowanceExceeded")
        .withArgs(CORE, f.usdc.address, 1n, 2n);
      // Other tiers are untouched by core's draw.
      expect((await f.vault.tierTotal(PRO, f.usdc.address))[0]).to.equal(0n);
      expect(await f.vault.reserveAvailable(PRO, f.usdc.address)).to.equal(parseUnits("100000", 6));

      await time.increase(7n * DAY);
      expect(await f.vault.reserveEpoch()).to.equal(epoch + 1n);
      expect(await f.vault.reserveAvailable(CORE, f.usdc.address)).to.equal(allowance);
      await f.vault.connect(f.controller).drawReserve(to, f.usdc.address, allowance);
      expect(await f.vault.reserveBalance(f.usdc.address)).to.equal(f.reserve - 2n * allowance + 1n);
    });

    it("refuses ineligible tiers, an empty reserve, zero, unreachable buckets and unauthorized callers", async () => {
      const f = await funded();
      await expect(f.vault.connect(f.controller).drawReserve(insuranceBucket(EDGE), f.usdc.address, 1n))
        .to.be.revertedWithCustomError(f.vault, "VaultReserveAllowanceExceeded")
        .withArgs(EDGE, f.usdc.address, 0n, 1n);
      await expect(
        f.vault.connect(f.controller).drawReserve(insuranceBucket(CORE), f.usdc.address, 0n),
      ).to.be.revertedWithCustomError(f.vault, "VaultZeroAmount");
      const orphan = accountBucket(ZeroAddress, CORE, 9n);
      await expect(f.vault.connect(f.controller).drawReserve(orphan, f.usdc.address, 1n))
        .to.be.revertedWithCustomError(f.vault, "VaultInvalidBucket")
        .withArgs(orphan);
      // A tier that does not accept the token cannot receive it from the reserve.
      await expect(f.vault.connect(f.controller).drawReserve(insuranceBucket(EDGE), f.weth.address, 1n))
        .to.be.revertedWithCustomError(f.vault, "VaultTierTokenNotEnabled")
        .withArgs(EDGE, f.weth.address);
      await expect(f.vault.connect(f.alice).drawReserve(insuranceBucket(CORE), f.usdc.address, 1n))
        .to.be.revertedWithCustomError(f.vault, "AccessManagedUnauthorized")
        .withArgs(f.alice.address);
      // WETH: core is eligible for none; give it an allowance larger than the (empty) reserve.
      await f.vault.setReserveAllowance(CORE, f.weth.address, 100n);
      await expect(f.vault.connect(f.controller).drawReserve(insuranceBucket(CORE), f.weth.address, 50n))
        .to.be.revertedWithCustomError(f.vault, "VaultReserveInsufficient")
        .withArgs(f.weth.address, 0n, 50n);
      expect(await f.vault.reserveBalance(f.usdc.address)).to.equal(f.reserve);
    });
  });

  describe("governance setters", () => {
    it("listToken: once, with readable decimals <= 36 and an outflow limit inside its envelope", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      await expect(f.vault.listToken(f.usdc.address, 1n, 3600))
        .to.be.revertedWithCustomError(f.vault, "VaultTokenAlreadyListed")
        .withArgs(f.usdc.address);
      await expect(f.vault.listToken(f.alice.address, 1n, 3600))
        .to.be.revertedWithCustomError(f.vault, "VaultTokenUnreadable")
        .withArgs(f.alice.address);
      // A contract without decimals(): the manager itself.
      await expect(f.vault.listToken(await f.d.manager.getAddress(), 1n, 3600))
        .to.be.revertedWithCustomError(f.vault, "VaultTokenUnreadable")
        .withArgs(await f.d.manager.getAddress());
      const t37 = await new MockERC20__factory(f.deployer).deploy("T", "T", 37);
      await expect(f.vault.listToken(await t37.getAddress(), 1n, 3600))
        .to.be.revertedWithCustomError(f.vault, "VaultTokenDecimalsUnsupported")
        .withArgs(await t37.getAddress(), 37);
      const t = await new MockERC20__factory(f.deployer).deploy("T", "T", 18);
      await expect(f.vault.listToken(await t.getAddress(), 1n, 3599))
        .to.be.revertedWithCustomError(f.vault, "ParameterOutOfEnvelope")
        .withArgs(encodeBytes32String("outflowWindow"), 3599n, 3600n, 7n * DAY);
      await expect(f.vault.listToken(await t.getAddress(), 0n, 3600))
        .to.be.revertedWithCustomError(f.vault, "ParameterOutOfEnvelope")
        .withArgs(encodeBytes32String("outflowCapacity"), 0n, 1n, MAX_AMOUNT);
      await expect(f.vault.connect(f.risk).listToken(await t.getAddress(), 1n, 3600))
        .to.be.revertedWithCustomError(f.vault, "AccessManagedUnauthorized")
        .withArgs(f.risk.address);
    });

    it("setOutflowLimit: RISK only, at most a 50% step, settling the refill at the old rate", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const cap = parseUnits("1000", 18);
      await expect(f.vault.connect(f.risk).setOutflowLimit(f.weth.address, (cap * 3n) / 2n + 1n, 86400))
        .to.be.revertedWithCustomError(f.vault, "ParameterStepTooLarge")
        .withArgs(encodeBytes32String("outflowCapacity"), cap, (cap * 3n) / 2n + 1n, 5_000n, 1n);
      await expect(f.vault.connect(f.risk).setOutflowLimit(f.weth.address, cap, 86400 * 2))
        .to.be.revertedWithCustomError(f.vault, "ParameterStepTooLarge")
        .withArgs(encodeBytes32String("outflowWindow"), 86400n, 172800n, 5_000n, 1n);
      await expect(f.vault.connect(f.risk).setOutflowLimit(f.alice.address, 1n, 3600))
        .to.be.revertedWithCustomError(f.vault, "VaultTokenNotListed")
        .withArgs(f.alice.address);
      await expect(f.vault.connect(f.alice).setOutflowLimit(f.weth.address, cap, 86400))
        .to.be.revertedWithCustomError(f.vault, "AccessManagedUnauthorized")
        .withArgs(f.alice.address);
      await expect(f.vault.connect(f.risk).setOutflowLimit(f.weth.address, cap / 2n, 86400))
        .to.emit(f.vault, "OutflowLimitSet")
        .withArgs(f.weth.address, cap, 86400n, cap / 2n, 86400n);
      expect(await f.vault.availableOutflow(CORE, f.weth.address)).to.equal(cap / 2n);
      // At most one change per day: a batch of scheduled steps cannot land in one block.
      const key = ethers.keccak256(
        ethers.AbiCoder.defaultAbiCoder().encode(["string", "address"], ["outflowLimit", f.weth.address]),
      );
      const nextAllowedAt = BigInt(await time.latest()) + DAY;
      await expect(f.vault.connect(f.risk).setOutflowLimit(f.weth.address, cap / 4n, 86400))
        .to.be.revertedWithCustomError(f.vault, "ParameterChangeTooSoon")
        .withArgs(key, nextAllowedAt);
      // Never below 1/16 of the listed capacity, however many steps: exits stay reachable (DESIGN §6.7).
      for (const divisor of [4n, 8n, 16n]) {
        await time.increase(DAY);
        await f.vault.connect(f.risk).setOutflowLimit(f.weth.address, cap / divisor, 86400);
      }
      await time.increase(DAY);
      await expect(f.vault.connect(f.risk).setOutflowLimit(f.weth.address, cap / 16n - 1n, 86400))
        .to.be.revertedWithCustomError(f.vault, "ParameterOutOfEnvelope")
        .withArgs(encodeBytes32String("outflowCapacity"), cap / 16n - 1n, cap / 16n, MAX_AMOUNT);
    });

    it("enableTierToken and setDepositCap: ADMIN enables once, RISK moves the cap one step at a time", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      await expect(f.vault.enableTierToken(CORE, f.usdc.address, 1n))
        .to.be.revertedWithCustomError(f.vault, "VaultTierTokenAlreadyEnabled")
        .withArgs(CORE, f.usdc.address);
      await expect(f.vault.enableTierToken(EDGE, f.alice.address, 1n))
        .to.be.revertedWithCustomError(f.vault, "VaultTokenNotListed")
        .withArgs(f.alice.address);
      await expect(f.vault.enableTierToken(EDGE, f.wbtc.address, 0n))
        .to.be.revertedWithCustomError(f.vault, "ParameterOutOfEnvelope")
        .withArgs(encodeBytes32String("depositCap"), 0n, 1n, MAX_AMOUNT);
      await expect(f.vault.connect(f.risk).enableTierToken(EDGE, f.wbtc.address, 1n))
        .to.be.revertedWithCustomError(f.vault, "AccessManagedUnauthorized")
        .withArgs(f.risk.address);
      await expect(f.vault.enableTierToken(EDGE, f.wbtc.address, 1000n))
        .to.emit(f.vault, "TierTokenEnabled")
        .withArgs(EDGE, f.wbtc.address, 1000n);

      await expect(f.vault.connect(f.risk).setDepositCap(PRO, f.wbtc.address, 10n))
        .to.be.revertedWithCustomError(f.vault, "VaultTierTokenNotEnabled")
        .withArgs(PRO, f.wbtc.address);
      await expect(f.vault.connect(f.risk).setDepositCap(EDGE, f.wbtc.address, 1501n))
        .to.be.revertedWithCustomError(f.vault, "ParameterStepTooLarge")
        .withArgs(encodeBytes32String("depositCap"), 1000n, 1501n, 5_000n, 1n);
      await expect(f.vault.connect(f.risk).setDepositCap(EDGE, f.wbtc.address, 499n))
        .to.be.revertedWithCustomError(f.vault, "ParameterStepTooLarge")
        .withArgs(encodeBytes32String("depositCap"), 1000n, 499n, 5_000n, 1n);
      await expect(f.vault.connect(f.risk).setDepositCap(EDGE, f.wbtc.address, 1500n))
        .to.emit(f.vault, "DepositCapSet")
        .withArgs(EDGE, f.wbtc.address, 1000n, 1500n);
      await expect(f.vault.connect(f.alice).setDepositCap(EDGE, f.wbtc.address, 1500n))
        .to.be.revertedWithCustomError(f.vault, "AccessManagedUnauthorized")
        .withArgs(f.alice.address);
    });

    it("setReserveAllowance: ADMIN only, a 50% step up, and 0 (ineligible) at once", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const current = parseUnits("250000", 6);
      await expect(f.vault.setReserveAllowance(CORE, f.usdc.address, current * 2n))
        .to.be.revertedWithCustomError(f.vault, "ParameterStepTooLarge")
        .withArgs(encodeBytes32String("reserveCapPerEpoch"), current, current * 2n, 5_000n, 1n);
      await time.increase(DAY); // the deployment's listing of this allowance started the cooldown
      await expect(f.vault.setReserveAllowance(CORE, f.usdc.address, (current * 3n) / 2n))
        .to.emit(f.vault, "ReserveAllowanceSet")
        .withArgs(CORE, f.usdc.address, current, (current * 3n) / 2n);
      await expect(f.vault.setReserveAllowance(CORE, f.usdc.address, 0n))
        .to.emit(f.vault, "ReserveAllowanceSet")
        .withArgs(CORE, f.usdc.address, (current * 3n) / 2n, 0n);
      // Dropping to 0 restarts the cooldown: 0 is no springboard past the step limit.
      const key = ethers.keccak256(
        ethers.AbiCoder.defaultAbiCoder().encode(
          ["string", "uint8", "address"],
          ["reserveAllowance", CORE, f.usdc.address],
        ),
      );
      const droppedAt = BigInt(await time.latest());
      await expect(f.vault.setReserveAllowance(CORE, f.usdc.address, current * 10n))
        .to.be.revertedWithCustomError(f.vault, "ParameterChangeTooSoon")
        .withArgs(key, droppedAt + DAY);
      await expect(f.vault.setReserveAllowance(CORE, f.alice.address, 1n))
        .to.be.revertedWithCustomError(f.vault, "VaultTokenNotListed")
        .withArgs(f.alice.address);
      await expect(f.vault.connect(f.risk).setReserveAllowance(CORE, f.usdc.address, 1n))
        .to.be.revertedWithCustomError(f.vault, "AccessManagedUnauthorized")
        .withArgs(f.risk.address);
    });

    it("isLocked reports the reentrancy guard: false between calls, true inside a token callback", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      expect(await f.vault.isLocked()).to.equal(false);
      const token = await new CallbackToken__factory(f.deployer).deploy();
      const probe = await new ReentrancyAttacker__factory(f.deployer).deploy();
      const address = await token.getAddress();
      await f.vault.listToken(address, parseUnits("1000000", 18), 86400);
      await f.vault.enableTierToken(CORE, address, MAX_AMOUNT);
      await token.setHook(await probe.getAddress());
      // The probe, called back from inside the deposit's transfer, asks the vault whether it is locked.
      await probe.arm(f.vaultAddress, f.vault.interface.encodeFunctionData("isLocked"));
      await token.mint(f.alice.address, 10n);
      await token.connect(f.alice).approve(f.vaultAddress, 10n);
      await f.vault.connect(f.alice).deposit(address, 10n, accountBucket(f.alice.address, CORE, 0n));
      expect(f.vault.interface.decodeFunctionResult("isLocked", await probe.lastReturn())[0]).to.equal(true);
      expect(await f.vault.isLocked()).to.equal(false);
    });

    it("setController: ADMIN registers a controller that moves without the CONTROLLER role, and can remove it", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      // The deployment registered the clearing house.
      expect(await f.vault.isRegisteredController(await f.d.clearing.getAddress())).to.equal(true);
      await f.deposit(f.alice, f.usdc, CORE, 1_000n);
      const from = accountBucket(f.alice.address, CORE, 0n);
      const to = settlementBucket(CORE);
      await expect(f.vault.connect(f.carol).move(from, to, f.usdc.address, 1n))
        .to.be.revertedWithCustomError(f.vault, "AccessManagedUnauthorized")
        .withArgs(f.carol.address);
      await expect(f.vault.setController(f.carol.address, true))
        .to.emit(f.vault, "ControllerSet")
        .withArgs(f.carol.address, true);
      await f.vault.connect(f.carol).move(from, to, f.usdc.address, 1n);
      await f.vault.connect(f.carol).withdraw(from, f.usdc.address, 1n, f.carol.address);
      expect(await f.vault.balanceOf(from, f.usdc.address)).to.equal(998n);
      await f.vault.setController(f.carol.address, false);
      await expect(f.vault.connect(f.carol).move(from, to, f.usdc.address, 1n))
        .to.be.revertedWithCustomError(f.vault, "AccessManagedUnauthorized")
        .withArgs(f.carol.address);
      await expect(f.vault.setController(ZeroAddress, true))
        .to.be.revertedWithCustomError(f.vault, "VaultInvalidReceiver")
        .withArgs(ZeroAddress);
      await expect(f.vault.connect(f.risk).setController(f.risk.address, true))
        .to.be.revertedWithCustomError(f.vault, "AccessManagedUnauthorized")
        .withArgs(f.risk.address);
    });

    it("pause: GUARDIAN pauses at once, only ADMIN resumes", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      await expect(f.vault.connect(f.alice).pauseDeposits())
        .to.be.revertedWithCustomError(f.vault, "AccessManagedUnauthorized")
        .withArgs(f.alice.address);
      await f.vault.connect(f.guardian).pauseDeposits();
      await expect(f.vault.connect(f.guardian).unpauseDeposits())
        .to.be.revertedWithCustomError(f.vault, "AccessManagedUnauthorized")
        .withArgs(f.guardian.address);
      await expect(f.vault.unpauseDeposits()).to.emit(f.vault, "DepositsPauseSet").withArgs(false, f.deployer.address);
      await f.deposit(f.alice, f.usdc, CORE, 1n);
    });
  });

  describe("round trips and donations (DESIGN §6.1, §6.8)", () => {
    it("deposit then withdraw returns exactly what went in, and a donation credits nobody", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const amount = parseUnits("777.123456", 6);
      await f.deposit(f.alice, f.usdc, CORE, amount);
      await f.usdc.mock!.mint(f.mallory.address, 1_000n);
      await f.usdc.mock!.connect(f.mallory).transfer(f.vaultAddress, 1_000n);
      const bucket = accountBucket(f.alice.address, CORE, 0n);
      await f.vault.connect(f.controller).withdraw(bucket, f.usdc.address, amount, f.alice.address);
      expect(await f.usdc.mock!.balanceOf(f.alice.address)).to.equal(amount);
      expect(await f.vault.balanceOf(bucket, f.usdc.address)).to.equal(0n);
      expect((await f.vault.tierTotal(CORE, f.usdc.address))[0]).to.equal(0n);
      expect(await f.usdc.mock!.balanceOf(f.vaultAddress)).to.equal(1_000n); // the donation, owned by no bucket
    });
  });
});
