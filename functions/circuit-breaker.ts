import { createCircuitBreakerHandler } from "../lib/ops/index.ts";

/**
 * On every "Imburse unavailable" alarm event and every minute: reads the alarms and converges the submit
 * function's event source mappings to the breaker's state (open, trial, closed).
 */
export const handler = createCircuitBreakerHandler();
