/**
 * EIP-712 orders of the ExecutionEngine: the typed-data domain and types, signing and digests, exactly as
 * `ExecutionEngine.orderDigest` computes them on-chain.
 */
import { TypedDataEncoder, type TypedDataDomain, type TypedDataField } from "ethers";

/** An order (see IExecutionEngine.Order). Sizes and prices are WAD; `size` > 0 buys. */
export interface Order {
  /** The clearing account's bucket id (its tier follows). */
  account: bigint;
  market: number;
  size: bigint;
  limitPrice: bigint;
  reduceOnly: boolean;
  /** Last second (unix) at which the order may fill. */
  expiry: bigint;
  nonce: bigint;
}

/** An order with its signer and signature, as `settleMatch` takes it. */
export interface SignedOrder {
  order: Order;
  signer: string;
  signature: string;
}

/** Anything that signs EIP-712 typed data (an ethers Signer). */
export interface TypedDataSigner {
  getAddress(): Promise<string>;
  signTypedData(
    domain: TypedDataDomain,
    types: Record<string, TypedDataField[]>,
    value: Record<string, unknown>,
  ): Promise<string>;
}

/** The EIP-712 types of an order; the account is its uint256 bucket id. */
export const ORDER_TYPES: Record<string, TypedDataField[]> = {
  Order: [
    { name: "account", type: "uint256" },
    { name: "market", type: "uint16" },
    { name: "size", type: "int256" },
    { name: "limitPrice", type: "uint256" },
    { name: "reduceOnly", type: "bool" },
    { name: "expiry", type: "uint64" },
    { name: "nonce", type: "uint256" },
  ],
};

/** The domain of the ExecutionEngine at `engine` on chain `chainId`. */
export function orderDomain(chainId: bigint, engine: string): TypedDataDomain {
  return { name: "Strata Execution", version: "1", chainId, verifyingContract: engine };
}

const asValue = (order: Order): Record<string, unknown> => ({ ...order });

/** The digest the signer signs (equals `ExecutionEngine.orderDigest(order)`). */
export function orderDigest(domain: TypedDataDomain, order: Order): string {
  return TypedDataEncoder.hash(domain, ORDER_TYPES, asValue(order));
}

/** Signs `order` with `signer` (the account's owner or one of its clearing operators). */
export async function signOrder(signer: TypedDataSigner, domain: TypedDataDomain, order: Order): Promise<SignedOrder> {
  const signature = await signer.signTypedData(domain, ORDER_TYPES, asValue(order));
  return { order, signer: await signer.getAddress(), signature };
}
