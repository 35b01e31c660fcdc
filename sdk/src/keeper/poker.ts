/**
 * The keeper's oracle duty: after each new round of an asset's primary feed, `OracleRouter.poke(asset)` records
 * the last good price (the fallback the router serves when the feeds fail) and persists a tripped circuit
 * breaker. The poker reads each asset's primary round id and pokes the assets whose round moved since its last
 * poke; a dry run logs what it would poke.
 */
import { Interface, type Provider } from "ethers";
import type { Logger } from "pino";

import { OracleRouter__factory } from "../../../types/index.js";
import type { TxSender } from "./sender.js";

const ROUTER = OracleRouter__factory.createInterface();
const FEED = new Interface([
  "function latestRoundData() view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)",
]);

/** An oracle asset: the router's key and its primary feed. */
export interface PokedAsset {
  id: string;
  key: string;
  primary: string;
}

export interface PokerOptions {
  provider: Provider;
  router: string;
  assets: readonly PokedAsset[];
  /** Sends the pokes; without one (a dry run) nothing is sent. */
  sender: TxSender | undefined;
  logger: Logger;
  gasLimit?: bigint;
}

/** What one round of pokes did. */
export interface PokeReport {
  /** Assets poked (or, in a dry run, that would be). */
  poked: string[];
  /** Assets whose poke failed (logged; tried again next loop). */
  failed: string[];
}

export class OraclePoker {
  /** The primary round each asset was last poked at. */
  private readonly pokedRound = new Map<string, bigint>();

  constructor(private readonly options: PokerOptions) {}

  /**
   * Pokes every asset whose primary feed has a round not yet poked, all at once (the sender keeps their nonces
   * in order): a keeper step runs this beside its liquidations, which read the live price and need not wait.
   */
  async pokeNewRounds(): Promise<PokeReport> {
    const report: PokeReport = { poked: [], failed: [] };
    const outcomes = await Promise.all(this.options.assets.map((asset) => this.pokeIfNew(asset)));
    for (const [i, outcome] of outcomes.entries()) {
      if (outcome === "poked") report.poked.push(this.options.assets[i]!.id);
      if (outcome === "failed") report.failed.push(this.options.assets[i]!.id);
    }
    return report;
  }

  private async pokeIfNew(asset: PokedAsset): Promise<"poked" | "failed" | "current"> {
    const { provider, logger, sender } = this.options;
    const result = await provider.call({ to: asset.primary, data: FEED.encodeFunctionData("latestRoundData") });
    const round = FEED.decodeFunctionResult("latestRoundData", result)[0] as bigint;
    if (this.pokedRound.get(asset.id) === round) return "current";
    if (sender === undefined) {
      logger.info({ asset: asset.id, round: round.toString() }, "dry run: would poke the oracle");
      this.pokedRound.set(asset.id, round);
      return "poked";
    }
    try {
      const { receipt } = await sender.send({
        to: this.options.router,
        data: ROUTER.encodeFunctionData("poke", [asset.key]),
        gasLimit: this.options.gasLimit ?? 300_000n,
      });
      if (receipt.status !== 1) throw new Error(`poke ${receipt.hash} reverted`);
      this.pokedRound.set(asset.id, round);
      logger.info({ asset: asset.id, round: round.toString(), hash: receipt.hash }, "poked the oracle");
      return "poked";
    } catch (error) {
      logger.warn({ asset: asset.id, err: (error as Error).message }, "oracle poke failed: retrying next loop");
      return "failed";
    }
  }
}
