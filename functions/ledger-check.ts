import { createLedgerCheckHandler } from "../lib/ops/index.ts";

/** Scheduled: counts orders stuck in the ledger (a lease that ended, or may exist in Imburse) as StuckOrders. */
export const handler = createLedgerCheckHandler();
