/** A price of the oracle router (IOracleRouter.Price): a mid, its confidence band and its flags. */
export interface OraclePrice {
  /** The mid (quote WAD per base unit). */
  price: bigint;
  /** The band's low side. */
  lower: bigint;
  /** The band's high side. */
  upper: bigint;
  /** The bits of `PriceFlag` (sdk/src/oracle/flags.ts); 0 for a good price. */
  flags: bigint;
}
