import { createHealthProbeHandler } from "../lib/ops/index.ts";

/** Scheduled: exchanges a token with Imburse and reads an order, emitting ProbeHealthy and ProbeLatency. */
export const handler = createHealthProbeHandler();
