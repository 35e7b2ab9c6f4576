import type { Logger } from "@aws-lambda-powertools/logger";
import { correlationPaths, search } from "@aws-lambda-powertools/logger/correlationId";
import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { LambdaClient } from "@aws-sdk/client-lambda";
import type middy from "@middy/core";
import type { Context } from "aws-lambda";
import { lambdaClient } from "../aws/clients.ts";
import { powertools, withPowertools } from "../aws/powertools.ts";
import { METRICS } from "../config/names.ts";
import { loadSettings, REQUIRED_SETTINGS } from "../config/settings.ts";
import {
  applyBreaker,
  type BreakerAction,
  BreakerUpdateError,
  breakerAction,
  breakerState,
  type MappingResult,
} from "./circuit-breaker.ts";

/** What one invocation decided and, unless it ignored the event, did to each mapping. */
export type CircuitBreakerOutcome =
  | { action: "ignore"; reason: string }
  | { action: BreakerAction; results: MappingResult[] };

/** What a caller may replace when assembling the circuit breaker handler (tests, local mode). */
export interface CircuitBreakerHandlerOverrides {
  env?: NodeJS.ProcessEnv;
  /** Needs `correlationIdSearchFn` for the event id to become the correlation id. */
  logger?: Logger;
  metrics?: Metrics;
  lambda?: LambdaClient;
}

/**
 * Assembles the circuit breaker Lambda: it receives EventBridge "CloudWatch Alarm State Change" events
 * for the Imburse-unavailable alarm and pauses (ALARM) or resumes (OK) the submit function's event
 * source mappings listed in `RELAY_EVENT_SOURCE_MAPPING_IDS`. Logs carry the event id as correlation id
 * and the alarm's name and state; `BreakerTransition` is counted, plus a single metric dimensioned
 * `state` = open | closed, only when a mapping actually changed. Runs once per container (module scope
 * of `functions/circuit-breaker.ts`).
 */
export function createCircuitBreakerHandler(
  overrides: CircuitBreakerHandlerOverrides = {},
): middy.MiddyfiedHandler<unknown, CircuitBreakerOutcome, Error, Context> {
  const env = overrides.env ?? process.env;
  const settings = loadSettings(env, REQUIRED_SETTINGS.circuitBreaker);
  const tools = powertools(overrides, { correlationIdSearchFn: search });
  const { logger, tracer, metrics } = tools;
  const lambda = overrides.lambda ?? tracer.captureAWSv3Client(lambdaClient());

  const record = (action: BreakerAction, results: readonly MappingResult[]) => {
    for (const result of results) {
      logger.info(result.changed ? "Event source mapping updated" : "Event source mapping already set", {
        mapping_uuid: result.uuid,
        before: result.before,
        after: result.after,
      });
    }
    // A duplicated event changes nothing, so it is not counted as a transition.
    if (!results.some((result) => result.changed)) return;
    metrics.addMetric(METRICS.breakerTransition, MetricUnit.Count, 1);
    const single = metrics.singleMetric();
    single.addDimension("state", breakerState(action));
    single.addMetric(METRICS.breakerTransition, MetricUnit.Count, 1);
  };

  const handler = async (event: unknown): Promise<CircuitBreakerOutcome> => {
    const decision = breakerAction(event);
    if (decision.alarmName !== undefined) logger.appendKeys({ alarm_name: decision.alarmName });
    if (decision.state !== undefined) logger.appendKeys({ alarm_state: decision.state });
    if (decision.action === "ignore") {
      logger.info("Alarm state change ignored", { reason: decision.reason });
      return { action: "ignore", reason: decision.reason };
    }
    logger.info(decision.action === "pause" ? "Opening the circuit breaker" : "Closing the circuit breaker", {
      reason: decision.reason,
      mappings: settings.eventSourceMappingIds,
    });
    try {
      const results = await applyBreaker(
        lambda,
        settings.eventSourceMappingIds,
        decision.action,
        decision.changedAt,
      );
      record(decision.action, results);
      return { action: decision.action, results };
    } catch (error) {
      if (error instanceof BreakerUpdateError) {
        record(decision.action, error.results);
        logger.error("Some event source mappings could not be updated; the event will be retried", {
          failed: error.failures.map((failure) => failure.uuid),
          reason: error.message,
        });
      }
      throw error;
    }
  };

  return withPowertools(handler, tools, { correlationIdPath: correlationPaths.EVENT_BRIDGE });
}
