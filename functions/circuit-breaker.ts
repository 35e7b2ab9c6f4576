import { createCircuitBreakerHandler } from "../lib/ops/circuit-breaker-runtime.ts";

/** Pauses the submit function's event source mappings while the Imburse-unavailable alarm is in ALARM. */
export const handler = createCircuitBreakerHandler();
