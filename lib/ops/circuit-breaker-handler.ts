import type { Logger } from "@aws-lambda-powertools/logger";
import { correlationPaths, search } from "@aws-lambda-powertools/logger/correlationId";
import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { LambdaClient } from "@aws-sdk/client-lambda";
import type middy from "@middy/core";
import type { Context } from "aws-lambda";
import { cloudWatchClient, dynamoDbClient, lambdaClient, powertools, withPowertools } from "../aws/index.ts";
import { loadSettings, METRICS, REQUIRED_SETTINGS } from "../config/index.ts";
import { cloudWatchAlarmReader } from "./alarm-states.ts";
import { type BreakerStateStore, dynamoDbBreakerStateStore } from "./breaker-state.ts";
import {
  type AlarmReading,
  type BreakerDecision,
  type BreakerState,
  type BreakerTrigger,
  BreakerUpdateError,
  breakerTrigger,
  convergeMappings,
  INITIAL_BREAKER_STATE,
  type MappingResult,
  mappingTargets,
  nextBreakerState,
} from "./circuit-breaker.ts";

/** What one invocation read, decided and did. */
export interface CircuitBreakerOutcome {
  trigger: BreakerTrigger;
  alarms: AlarmReading;
  previous: BreakerState;
  state: BreakerState;
  transition: boolean;
  reason: string;
  results: MappingResult[];
}

/** What a caller may replace when assembling the circuit breaker handler (tests, local mode). */
export interface CircuitBreakerHandlerOverrides {
  env?: NodeJS.ProcessEnv;
  /** Needs `correlationIdSearchFn` for the event id to become the correlation id. */
  logger?: Logger;
  metrics?: Metrics;
  lambda?: LambdaClient;
  cloudWatch?: CloudWatchClient;
  /** The DynamoDB client of the ledger table, where the breaker keeps its state. */
  dynamoDb?: DynamoDBClient;
  clock?: () => number;
}

/**
 * Writes lost to a concurrent invocation before this one gives up (and fails, to be seen): an alarm event
 * and a scheduled run may overlap, rarely more.
 */
const MAX_STATE_WRITES = 3;

/** Decides on the stored state and persists the decision; decides again when another invocation wrote first. */
async function decideAndPersist(
  store: BreakerStateStore,
  decide: (current: BreakerState) => BreakerDecision,
): Promise<{ previous: BreakerState; decision: BreakerDecision }> {
  for (let attempt = 1; attempt <= MAX_STATE_WRITES; attempt++) {
    const stored = await store.read();
    const previous = stored?.state ?? INITIAL_BREAKER_STATE;
    const decision = decide(previous);
    // Nothing to record (a closed breaker that never opened keeps no item at all).
    if (JSON.stringify(decision.state) === JSON.stringify(previous)) return { previous, decision };
    if (await store.write(decision.state, stored?.version ?? 0)) return { previous, decision };
  }
  throw new Error(`The circuit breaker's state changed under it ${MAX_STATE_WRITES} times in a row`);
}

/**
 * Assembles the circuit breaker Lambda. Every invocation, whatever its event (an EventBridge alarm state
 * change of "Imburse unavailable", or the one-minute schedule), does the same: it reads the current state
 * of the two alarms in `RELAY_BREAKER_PLAN` (`DescribeAlarms`), decides the breaker's next state from the
 * state persisted in the ledger table ({@link nextBreakerState}: open, trial, closed, with hysteresis in
 * alarm periods), persists it, and converges both event source mappings to it. So a lost, late or
 * repeated event changes nothing that the next run does not repair.
 *
 * Logs carry the event id as correlation id; `BreakerTransition` is counted, plus a single metric
 * dimensioned `state` = open | trial | closed, on every phase change. Runs once per container (module scope
 * of `functions/circuit-breaker.ts`); it keeps no state between invocations.
 */
export function createCircuitBreakerHandler(
  overrides: CircuitBreakerHandlerOverrides = {},
): middy.MiddyfiedHandler<unknown, CircuitBreakerOutcome, Error, Context> {
  const env = overrides.env ?? process.env;
  const settings = loadSettings(env, REQUIRED_SETTINGS.circuitBreaker);
  const plan = settings.breakerPlan;
  const tools = powertools({ ...overrides, env }, { correlationIdSearchFn: search });
  const { logger, tracer, metrics } = tools;
  const lambda = overrides.lambda ?? tracer.captureAWSv3Client(lambdaClient());
  const readAlarms = cloudWatchAlarmReader(
    overrides.cloudWatch ?? tracer.captureAWSv3Client(cloudWatchClient()),
    plan.alarms,
  );
  const store = dynamoDbBreakerStateStore(
    overrides.dynamoDb ?? tracer.captureAWSv3Client(dynamoDbClient()),
    settings.ledgerTable,
  );
  const clock = overrides.clock ?? Date.now;

  const logResults = (results: readonly MappingResult[]) => {
    for (const result of results) {
      if (!result.changed) continue;
      logger.info("Event source mapping updated", {
        mapping_uuid: result.uuid,
        before: result.before,
        after: result.after,
        update: result.update,
      });
    }
  };

  const handler = async (event: unknown): Promise<CircuitBreakerOutcome> => {
    const trigger = breakerTrigger(event);
    logger.appendKeys({
      trigger: trigger.kind,
      ...(trigger.alarmName !== undefined ? { alarm_name: trigger.alarmName } : {}),
      ...(trigger.alarmState !== undefined ? { alarm_state: trigger.alarmState } : {}),
    });
    const alarms = await readAlarms();
    const now = new Date(clock());
    const { previous, decision } = await decideAndPersist(store, (current) =>
      nextBreakerState(current, alarms, now, plan),
    );
    const { state } = decision;
    const details = { alarms, previous: previous.phase, phase: state.phase, reason: decision.reason };
    if (decision.transition) {
      logger.info(`Circuit breaker ${state.phase}`, details);
      metrics.addMetric(METRICS.breakerTransition, MetricUnit.Count, 1);
      const single = metrics.singleMetric();
      single.addDimension("state", state.phase);
      single.addMetric(METRICS.breakerTransition, MetricUnit.Count, 1);
    } else {
      logger.info("Circuit breaker unchanged", details);
    }
    try {
      const results = await convergeMappings(lambda, state.phase, mappingTargets(state.phase, plan.mappings));
      logResults(results);
      return {
        trigger,
        alarms,
        previous,
        state,
        transition: decision.transition,
        reason: decision.reason,
        results,
      };
    } catch (error) {
      if (error instanceof BreakerUpdateError) {
        logResults(error.results);
        logger.error("Some event source mappings could not be converged; the next run tries again", {
          failed: error.failures.map((failure) => failure.uuid),
          reason: error.message,
        });
      }
      throw error;
    }
  };

  return withPowertools(handler, tools, { correlationIdPath: correlationPaths.EVENT_BRIDGE });
}
