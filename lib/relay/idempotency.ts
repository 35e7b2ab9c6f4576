import { IdempotencyConfig, makeIdempotent } from "@aws-lambda-powertools/idempotency";
import type { BasePersistenceLayer } from "@aws-lambda-powertools/idempotency/persistence";
import type { Order } from "../orders/index.ts";
import { type OrderApi, type SubmitAttempt, type SubmitSuccess, submitOrder } from "./submit-order.ts";

/**
 * The prefix of every idempotency key. Fixed rather than the function name (Powertools' default) so a
 * renamed or redeployed function still recognises the orders it has already submitted.
 */
export const IDEMPOTENCY_KEY_PREFIX = "imburse-relay#order";

/** Submits an order at most once per tenant and orderRef; `replayed` is true when a stored result was returned. */
export type IdempotentSubmit = (
  order: Order,
  tenantId: string,
  attempt: SubmitAttempt,
) => Promise<{ result: SubmitSuccess; replayed: boolean }>;

/**
 * Wraps {@link submitOrder} in Powertools Idempotency keyed on tenant and orderRef, validating the
 * whole normalised order: the same orderRef with other content raises `IdempotencyValidationError`.
 * Only successes are stored; a failure deletes the record so a retry or a redrive submits again.
 */
export function idempotentSubmitter(
  api: OrderApi,
  options: { persistenceStore: BasePersistenceLayer; expiresAfterSeconds: number },
): { submit: IdempotentSubmit; config: IdempotencyConfig } {
  const config = new IdempotencyConfig({
    eventKeyJmesPath: "key",
    payloadValidationJmesPath: "order",
    expiresAfterSeconds: options.expiresAfterSeconds,
    throwOnNoIdempotencyKey: true,
  });
  const once = makeIdempotent(
    async (payload: { key: string; order: Order }, attempt: SubmitAttempt & { executed: boolean }) => {
      attempt.executed = true;
      return submitOrder(api, payload.order, attempt);
    },
    { persistenceStore: options.persistenceStore, config, keyPrefix: IDEMPOTENCY_KEY_PREFIX },
  );
  const submit: IdempotentSubmit = async (order, tenantId, attempt) => {
    const marker = { ...attempt, executed: false };
    const result = await once({ key: `${tenantId}#${order.orderRef}`, order }, marker);
    return { result, replayed: !marker.executed };
  };
  return { submit, config };
}
