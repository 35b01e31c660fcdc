import { expect } from "chai";
import { connectChain } from "../helpers/foundation.js";
import { deployOracleFixture, ETH, BTC } from "./oracleFixture.js";

const chain = await connectChain();
const { networkHelpers, ethers } = chain;
const fixture = () => deployOracleFixture(chain);

describe("probe", () => {
  it("timestamps", async () => {
    const f = await networkHelpers.loadFixture(fixture);
    await networkHelpers.time.increase(100);
    const t = BigInt(await networkHelpers.time.latest());
    const p = await f.oracle.getPriceForLiquidation(BTC);
    console.log("latest", t, "updatedAt", p.updatedAt, p);
    await f.btcPrimary.agg.updateRoundData(5, 1n, t + 2n, t + 2n);
    const t2 = BigInt(await networkHelpers.time.latest());
    console.log("after tx latest", t2);
    await expect(f.oracle.getPrice(BTC)).to.be.revertedWithCustomError(f.oracle, "OracleInvalidRound");
    await f.btcPrimary.agg.updateRoundData(5, 6000000000000n, t2, t2);
    console.log(await f.oracle.getPrice(BTC));
    await networkHelpers.time.increase(1);
    console.log(await networkHelpers.time.latest(), await f.oracle.getPrice(BTC));
  });
});
