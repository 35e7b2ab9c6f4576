import { ImburseApiError } from "../imburse/errors.ts";
import { isComplete, type LedgerItem, type OrderLedger, openShardOf } from "../ledger/index.ts";
import type { OrderApi } from "../relay/submit-order.ts";

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
  /** The tenant of the credentials `api` uses: only that tenant's item is settled. */
  tenantId: string;
  /** Epoch milliseconds. */
  now: number;
  correlationId: string;
}

/**
 * Asks Imburse what became of an order the ledger is unsure about, and records the answer: found means
 * `already-existed` (the order is complete; later deliveries are acknowledged without calling Imburse),
 * absent clears the may-exist mark (a later delivery posts without reading first, a lapsed claim becomes
 * `waiting`). The write is conditional on the item's version, so a delivery working on the order at the same
 * time wins. The ledger keeps a fingerprint, not the order, so a found order's content is not compared: the
 * caller shows it to the operator.
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
    if (
      !(error instanceof ImburseApiError && (error.status === 404 || error.hasErrorCode("ORDER_NOT_FOUND")))
    )
      throw error;
  }
  const found = imburseOrder !== undefined;
  const after = settled(before, found, now);
  if (!(await ledger.putIfVersion(after, before.version))) {
    throw new SettleRefusedError(`order ${orderRef} changed while it was being settled: run settle again`);
  }
  return { before, after, foundAtImburse: found, ...(found ? { imburseOrder } : {}) };
}

function settled(item: LedgerItem, found: boolean, now: number): LedgerItem {
  const { leaseOwner: _owner, leaseExpiresAt: _lease, openShard: _shard, ...rest } = item;
  const lastOutcome = { result: found ? "settled: found at Imburse" : "settled: not at Imburse" };
  if (found) {
    const { deadLetterKind: _kind, ...open } = rest;
    return { ...open, state: "already-existed", mayExist: false, lastOutcome, version: item.version + 1 };
  }
  return {
    ...rest,
    state: item.state === "claimed" ? "waiting" : item.state,
    mayExist: false,
    lastOutcome,
    version: item.version + 1,
    lastAttemptAt: Math.max(item.lastAttemptAt, now),
    openShard: openShardOf(item.orderRef),
  };
}
