/**
 * The benchmarks' checks that need no run to test: pure functions over what the simulator recorded.
 */
import type { RecordedRequest } from "../lib/simulator/index.ts";

/**
 * How many creates reached the simulator for an orderRef it already held: the relay must read before it
 * writes, so a correct run has none. An order counts as held from its first create that stored it: one
 * answered 2xx (201, or 202 when the order has instructions), or one whose reply a `timeout` fault held
 * back after the order was stored.
 */
export function createsForHeldOrders(creates: readonly RecordedRequest[]): number {
  const held = new Set<string>();
  let repeats = 0;
  for (const request of creates) {
    const ref = (request.body as { orderRef?: string } | undefined)?.orderRef ?? "";
    if (held.has(ref)) repeats++;
    const stored =
      (request.status !== undefined && request.status >= 200 && request.status < 300) ||
      request.fault?.kind === "timeout";
    if (stored) held.add(ref);
  }
  return repeats;
}
