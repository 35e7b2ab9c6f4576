/**
 * The circuit breaker: an EventBridge rule on the state changes of the composite alarm "Imburse
 * unavailable" invokes a function that pauses the submit function's event source mappings on ALARM and
 * resumes them on OK, so orders wait in their queues instead of burning retries.
 */
import type { InfrastructureConfig } from "../lib/config/infrastructure.ts";
import { RESOURCE_NAMES } from "../lib/config/names.ts";
import { eventSourceMappingArn, toggleEventSourceMappings, writeTraces } from "./permissions.ts";
import { relayFunctionArgs } from "./relay-function.ts";

/** The handler, relative to the repository root (`file.export`). */
const CIRCUIT_BREAKER_HANDLER = "functions/circuit-breaker.handler";

/** The EventBridge event CloudWatch sends on the default bus when an alarm changes state. */
export const ALARM_STATE_CHANGE = {
  source: "aws.cloudwatch",
  detailType: "CloudWatch Alarm State Change",
} as const;

/** What {@link createCircuitBreaker} follows and pauses. */
export interface CircuitBreakerInputs {
  config: InfrastructureConfig;
  /** The alarm whose state the breaker follows: the only alarm whose events reach the function. */
  alarm: aws.cloudwatch.CompositeAlarm;
  /** UUIDs of the event source mappings it pauses and resumes. */
  eventSourceMappingIds: $util.Output<string>[];
}

/** What {@link createCircuitBreaker} creates. */
export interface CircuitBreaker {
  function: sst.aws.Function;
  rule: aws.cloudwatch.EventRule;
}

/**
 * Creates the breaker function, the rule matching exactly the alarm's ARN, the rule's target and the
 * permission for EventBridge to invoke the function from that rule only. The function may read and
 * update exactly the given mappings. It gets their UUIDs in `RELAY_EVENT_SOURCE_MAPPING_IDS`.
 */
export function createCircuitBreaker({
  config,
  alarm,
  eventSourceMappingIds,
}: CircuitBreakerInputs): CircuitBreaker {
  const name = RESOURCE_NAMES.circuitBreakerFunction;
  const breaker = new sst.aws.Function(
    name,
    relayFunctionArgs({
      function: "circuitBreaker",
      description: "Pauses the submit function's queue consumption while Imburse is unavailable",
      handler: CIRCUIT_BREAKER_HANDLER,
      size: config.circuitBreakerFunction,
      settings: config.settings,
      resources: {
        eventSourceMappingIds: $resolve(eventSourceMappingIds).apply((ids) => ids.join(",")),
      },
      permissions: [
        toggleEventSourceMappings(eventSourceMappingIds.map(eventSourceMappingArn)),
        writeTraces(),
      ],
    }),
  );

  const rule = new aws.cloudwatch.EventRule(`${name}Rule`, {
    description: "State changes of the Imburse-unavailable alarm, for the circuit breaker",
    eventPattern: alarm.arn.apply((arn) =>
      JSON.stringify({
        source: [ALARM_STATE_CHANGE.source],
        "detail-type": [ALARM_STATE_CHANGE.detailType],
        resources: [arn],
      }),
    ),
  });
  new aws.cloudwatch.EventTarget(`${name}Target`, { rule: rule.name, arn: breaker.arn });
  new aws.lambda.Permission(`${name}InvokedByRule`, {
    action: "lambda:InvokeFunction",
    function: breaker.name,
    principal: "events.amazonaws.com",
    sourceArn: rule.arn,
  });
  return { function: breaker, rule };
}
