/**
 * The circuit breaker: a function that, on every state change of the composite alarm "Imburse
 * unavailable" (an EventBridge rule) and every minute (a schedule), reads the current state of that alarm
 * and of the error-rate alarm, decides open / trial / closed from its state in the ledger table, and
 * converges the submit function's event source mappings to it. Its own failures are visible: the rule's
 * target retries and dead-letters, a failed invocation goes to the same queue, and alarms watch both.
 */
import type { BreakerPlan, InfrastructureConfig, SubscriptionConfig } from "../lib/config/index.ts";
import { RESOURCE_NAMES } from "../lib/config/index.ts";
import { topicAlarm } from "./alarms.ts";
import { AWS_NAMESPACES, LAMBDA_METRICS } from "./metrics.ts";
import {
  describeAlarms,
  eventSourceMappingArn,
  sendToQueues,
  toggleEventSourceMappings,
  useBreakerState,
  writeTraces,
} from "./permissions.ts";
import { relayFunctionArgs } from "./relay-function.ts";
import { createRuleFailures } from "./rule-failures.ts";
import { scheduleFunction } from "./scheduled.ts";

/** The handler, relative to the repository root (`file.export`). */
const CIRCUIT_BREAKER_HANDLER = "functions/circuit-breaker.handler";

/** The EventBridge event CloudWatch sends on the default bus when an alarm changes state. */
export const ALARM_STATE_CHANGE = {
  source: "aws.cloudwatch",
  detailType: "CloudWatch Alarm State Change",
} as const;

/**
 * How EventBridge retries delivering an alarm event to the function (throttling, the function briefly
 * unavailable) before it dead-letters it. An hour is plenty: the schedule repairs a lost event within a
 * minute anyway; the dead letter is there to be seen.
 */
export const BREAKER_TARGET_RETRY = { maximumEventAgeInSeconds: 3600, maximumRetryAttempts: 10 } as const;

/** One event source mapping the breaker converges, with the values it restores on closing. */
export interface BreakerMapping {
  uuid: $util.Output<string>;
  subscription: SubscriptionConfig;
}

/** What {@link createCircuitBreaker} follows, keeps and converges. */
export interface CircuitBreakerInputs {
  config: InfrastructureConfig;
  /** The composite alarm whose events invoke the function, and the error-rate alarm that judges a trial. */
  alarms: { unavailable: aws.cloudwatch.CompositeAlarm; errorRate: aws.cloudwatch.MetricAlarm };
  mappings: BreakerMapping[];
  /** The ledger table: the breaker keeps its state in one reserved item. */
  table: sst.aws.Dynamo;
  /** Where the breaker's own alarms go. */
  topic: aws.sns.Topic;
}

/** What {@link createCircuitBreaker} creates. */
export interface CircuitBreaker {
  function: sst.aws.Function;
  rule: aws.cloudwatch.EventRule;
  cron: sst.aws.CronV2;
  /** Alarm events EventBridge could not deliver, and invocations that failed. */
  failures: aws.sqs.Queue;
  alarms: aws.cloudwatch.MetricAlarm[];
}

/**
 * Creates the breaker function, its schedule, the rule matching exactly the composite alarm's ARN with a
 * target that retries and dead-letters, the permission for EventBridge to invoke the function from that
 * rule only, the failures queue and the alarms on the breaker's errors and failures. The function may
 * describe exactly the two alarms, read and update exactly the given mappings, and read and write only
 * its own item of the ledger table. Its plan (alarm names, mappings, rules in alarm periods) is
 * `RELAY_BREAKER_PLAN`.
 */
export function createCircuitBreaker({
  config,
  alarms,
  mappings,
  table,
  topic,
}: CircuitBreakerInputs): CircuitBreaker {
  const name = RESOURCE_NAMES.circuitBreakerFunction;
  const rule = new aws.cloudwatch.EventRule(`${name}Rule`, {
    description: "State changes of the Imburse-unavailable alarm, for the circuit breaker",
    eventPattern: alarms.unavailable.arn.apply((arn) =>
      JSON.stringify({
        source: [ALARM_STATE_CHANGE.source],
        "detail-type": [ALARM_STATE_CHANGE.detailType],
        resources: [arn],
      }),
    ),
  });
  const { queue: failures, alarm: failuresAlarm } = createRuleFailures({
    name,
    config,
    rule,
    topic,
    alarmDescription:
      "Alarm events that never reached the circuit breaker, or its failed invocations, wait in its failures queue.",
  });

  const { periodSeconds, minimumOpenPeriods, healthyPeriodsToClose, trialPeriods } = config.breaker;
  const plan = $resolve({
    unavailable: alarms.unavailable.alarmName,
    errorRate: alarms.errorRate.name,
    uuids: mappings.map((mapping) => mapping.uuid),
  }).apply(({ unavailable, errorRate, uuids }) =>
    JSON.stringify({
      periodSeconds,
      minimumOpenPeriods,
      healthyPeriodsToClose,
      trialPeriods,
      alarms: { unavailable, errorRate },
      mappings: uuids.map((uuid, index) => ({
        uuid,
        batchSize: mappings[index]!.subscription.batchSize,
        maximumConcurrency: mappings[index]!.subscription.maximumConcurrency,
      })),
    } satisfies BreakerPlan),
  );

  const breaker = new sst.aws.Function(
    name,
    relayFunctionArgs({
      function: "circuitBreaker",
      description: "Converges the submit function's queue consumption to Imburse's availability",
      handler: CIRCUIT_BREAKER_HANDLER,
      size: config.circuitBreakerFunction,
      settings: config.settings,
      resources: { breakerPlan: plan, ledgerTable: table.name },
      permissions: [
        describeAlarms([alarms.unavailable.arn, alarms.errorRate.arn]),
        toggleEventSourceMappings(mappings.map((mapping) => eventSourceMappingArn(mapping.uuid))),
        useBreakerState(table.arn),
        // The on-failure destination is sent with the function's role.
        sendToQueues([failures.arn]),
        writeTraces(),
      ],
    }),
  );
  const { cron } = scheduleFunction(name, breaker, config.schedules.circuitBreaker, failures.arn);

  new aws.cloudwatch.EventTarget(`${name}Target`, {
    rule: rule.name,
    arn: breaker.arn,
    retryPolicy: { ...BREAKER_TARGET_RETRY },
    deadLetterConfig: { arn: failures.arn },
  });
  new aws.lambda.Permission(`${name}InvokedByRule`, {
    action: "lambda:InvokeFunction",
    function: breaker.name,
    principal: "events.amazonaws.com",
    sourceArn: rule.arn,
  });
  const errorsAlarm = topicAlarm({
    name: `${name}Errors`,
    description:
      "The circuit breaker failed (alarms, its state or a mapping unreachable): the mappings may not follow Imburse's availability until it runs cleanly.",
    threshold: 1,
    metric: {
      namespace: AWS_NAMESPACES.lambda,
      metricName: LAMBDA_METRICS.errors,
      dimensions: { FunctionName: breaker.name },
      statistic: "Sum",
      period: config.alarms.periodSeconds,
    },
    evaluationPeriods: config.alarms.evaluationPeriods,
    topic,
  });
  return { function: breaker, rule, cron, failures, alarms: [errorsAlarm, failuresAlarm] };
}
