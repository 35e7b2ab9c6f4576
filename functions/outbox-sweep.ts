import { createOutboxSweepHandler } from "../lib/events/index.ts";

/** Scheduled: publishes again the outcome events still due in the ledger's outbox. */
export const handler = createOutboxSweepHandler();
