import { createRedriveHandler } from "../lib/ops/index.ts";

/** Scheduled (off by default): moves transiently failed dead letters back to the orders queue, a few per run. */
export const handler = createRedriveHandler();
