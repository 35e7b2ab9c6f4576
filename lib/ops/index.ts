/**
 * The scheduled and alarm-driven Lambda operations and their handlers' assembly: the health probe, the
 * circuit breaker (pure decisions, its state in the ledger table, the alarm states it reads), the stuck-order
 * ledger check and the DLQ redrive with its classification of dead letters.
 */
export type { AlarmState } from "./alarm-states.ts";
export { type BreakerState, breakerTrigger } from "./circuit-breaker.ts";
export { type CircuitBreakerOutcome, createCircuitBreakerHandler } from "./circuit-breaker-handler.ts";
export { type DeadLetter, peekDeadLetters, redriveDeadLetters } from "./dlq.ts";
export type { ProbeResult } from "./health-probe.ts";
export { createHealthProbeHandler } from "./health-probe-handler.ts";
export { createLedgerCheckHandler, stuckOrderSummary } from "./ledger-check.ts";
export {
  classifyDeadLetter,
  DEFAULT_REDRIVE_KINDS,
  planRedrive,
  REDRIVE_KINDS,
  type RedriveKind,
} from "./redrive.ts";
export { createRedriveHandler } from "./redrive-handler.ts";
