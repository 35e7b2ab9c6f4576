import { isOrderNotFound } from "../imburse/index.ts";
import { isComplete, type LedgerItem, type OrderLedger, openShardOf } from "../ledger/index.ts";
import type { OrderApi } from "../relay/index.ts";

/** Why an order could not be settled: nothing was written. */
export class SettleRefusedError extends Error {
  override readonly name = "SettleRefusedError";
}

/** What {@link settleOrder} found and recorded. */
export interface SettleResult {
  before: LedgerItem;
  after: LedgerItem;
  /** Imburse holds an order with this orderRef. */
  foundAtImburse: boolean;
  /** The order as Imburse returned it (only when found), for the operator to check against the original. */
  imburseOrder?: unknown;
}

/** Inputs of {@link settleOrder}. */
export interface SettleInputs {
  ledger: OrderLedger;
  api: Pick<OrderApi, "getOrder">;
  orderRef: string;
  /** The tenant of the credentials `api` uses: Imburse answers for that tenant, so only its item is settled. */
  tenantId: string;
  /** Epoch milliseconds. */
  now: number;
  correlationId: string;
}

/**
 * Asks Imburse what became of an order the ledger is unsure about, and records the answer for people and for
 * the stuck-order check. It never decides for the relay: the ledger keeps a fingerprint, not the order, so a
 * found order's content cannot be compared here, and a read that finds nothing may only be early (Imburse
 * processes orders after its 202). So the may-exist mark stays, the next delivery of the order reads it and
 * compares, and the order stops counting as stuck. A claim whose lease ended becomes `waiting`. The write is
 * conditional on the item's version, so a delivery working on the order at the same time wins.
 *
 * @throws SettleRefusedError when there is nothing to settle, or a delivery holds a live lease.
 */
export async function settleOrder(inputs: SettleInputs): Promise<SettleResult> {
  const { ledger, orderRef, tenantId, now } = inputs;
  const before = (await ledger.find(orderRef)).find((item) => item.tenantId === tenantId);
  if (!before) throw new SettleRefusedError(`the ledger has no order ${orderRef} for tenant ${tenantId}`);
  if (isComplete(before)) throw new SettleRefusedError(`order ${orderRef} is already ${before.state}`);
  if (before.state === "claimed" && (before.leaseExpiresAt ?? 0) > now) {
    const until = new Date(before.leaseExpiresAt ?? now).toISOString();
    throw new SettleRefusedError(`a delivery is working on order ${orderRef} until ${until}: try after that`);
  }
  let imburseOrder: unknown;
  try {
    imburseOrder = await inputs.api.getOrder(orderRef, { correlationId: inputs.correlationId });
  } catch (error) {
    if (!isOrderNotFound(error)) throw error;
  }
  const found = imburseOrder !== undefined;
  const { leaseOwner: _owner, leaseExpiresAt: _lease, ...rest } = before;
  const after: LedgerItem = {
    ...rest,
    state: before.state === "claimed" ? "waiting" : before.state,
    mayExist: before.mayExist || before.state === "claimed",
    lastOutcome: { result: found ? "settled: found at Imburse" : "settled: not at Imburse (yet)" },
    settledAt: now,
    version: before.version + 1,
    openShard: openShardOf(before.orderRef),
  };
  if (!(await ledger.putIfVersion(after, before.version))) {
    throw new SettleRefusedError(`order ${orderRef} changed while it was being settled: run settle again`);
  }
  return { before, after, foundAtImburse: found, ...(found ? { imburseOrder } : {}) };
}
