/**
 * The outcome events: an EventBridge bus the submit function publishes one event per order to (source
 * `imburse-relay`), an archive of everything sent on it, a rule that turns every `Order Dead-Lettered`
 * event into a readable message on the alarm topic (retried, and dead-lettered to an alarmed queue when the
 * topic refuses it), an alarm on events that failed to publish, and the
 * scheduled outbox sweep that publishes again what stayed due in the ledger.
 */
import type { InfrastructureConfig } from "../lib/config/index.ts";
import { METRICS, OUTCOME_EVENTS, RESOURCE_NAMES } from "../lib/config/index.ts";
import { topicAlarm } from "./alarms.ts";
import { relayMetricDimensions } from "./metrics.ts";
import { publishEvents, sweepLedgerOutbox, writeTraces } from "./permissions.ts";
import { createRuleFailures, type RuleFailures } from "./rule-failures.ts";
import { createScheduledFunction, type ScheduledFunction } from "./scheduled.ts";

/** The handler, relative to the repository root (`file.export`). */
const OUTBOX_SWEEP_HANDLER = "functions/outbox-sweep.handler";

/** The event pattern of the dead-letter notifications: every dead letter the relay publishes. */
export const DEAD_LETTER_PATTERN = {
  source: [OUTCOME_EVENTS.source],
  "detail-type": [OUTCOME_EVENTS.detailTypes["dead-lettered"]],
} as const;

/**
 * How EventBridge retries delivering a dead-letter notification to the alarm topic before it dead-letters
 * it: EventBridge's own maxima, a day and 185 attempts. A notification is worth waiting for, and one that
 * still fails lands in the rule's failures queue, which alarms.
 */
export const NOTIFICATION_TARGET_RETRY = {
  maximumEventAgeInSeconds: 86_400,
  maximumRetryAttempts: 185,
} as const;

/** The bus and its archive. */
export interface OutcomeBus {
  bus: sst.aws.Bus;
  archive: aws.cloudwatch.EventArchive;
}

/** Creates the outcome events' bus and an archive of every event on it, kept `archiveRetentionDays`. */
export function createOutcomeBus(config: InfrastructureConfig): OutcomeBus {
  const bus = new sst.aws.Bus(RESOURCE_NAMES.outcomeBus);
  const archive = new aws.cloudwatch.EventArchive(`${RESOURCE_NAMES.outcomeBus}Archive`, {
    name: `${$app.name}-${$app.stage}-${RESOURCE_NAMES.outcomeBus}`,
    description: "Every outcome event imburse-relay published, for replays to a new consumer",
    eventSourceArn: bus.arn,
    retentionDays: config.outcomes.archiveRetentionDays,
  });
  return { bus, archive };
}

/** What {@link createOutcomeNotifications} wires together. */
export interface OutcomeNotificationsInputs {
  config: InfrastructureConfig;
  bus: sst.aws.Bus;
  /** The alarm topic (alarms.ts): dead letters are told there, every time. */
  topic: aws.sns.Topic;
  table: sst.aws.Dynamo;
}

/** The rule, its failures, the alarm and the sweep. */
export interface OutcomeNotifications {
  deadLetterRule: aws.cloudwatch.EventRule;
  /** Notifications EventBridge could not deliver to the topic, and the alarm on them. */
  deadLetterRuleFailures: RuleFailures;
  failedEventsAlarm: aws.cloudwatch.MetricAlarm;
  sweep: ScheduledFunction;
}

/**
 * Dead letters notify every time: a CloudWatch alarm notifies only when its state changes, and the DLQ's
 * `NumberOfMessagesSent` misses messages SQS moves there by redrive. The DLQ depth alarm stays for dead
 * letters that carry no relay reason (moved by `maxReceiveCount`).
 */
export function createOutcomeNotifications({
  config,
  bus,
  topic,
  table,
}: OutcomeNotificationsInputs): OutcomeNotifications {
  const deadLetterRule = new aws.cloudwatch.EventRule(`${RESOURCE_NAMES.outcomeBus}DeadLettered`, {
    eventBusName: bus.name,
    description: "Every order imburse-relay dead-lettered, to the alarm topic",
    eventPattern: JSON.stringify(DEAD_LETTER_PATTERN),
  });
  const deadLetterRuleFailures = createRuleFailures({
    name: `${RESOURCE_NAMES.outcomeBus}DeadLettered`,
    config,
    rule: deadLetterRule,
    topic,
    alarmDescription:
      "Dead-letter notifications EventBridge could not publish to the alarm topic wait in this queue: read them there, and check the topic's policy.",
  });
  new aws.cloudwatch.EventTarget(`${RESOURCE_NAMES.outcomeBus}DeadLetteredTarget`, {
    rule: deadLetterRule.name,
    eventBusName: bus.name,
    arn: topic.arn,
    retryPolicy: { ...NOTIFICATION_TARGET_RETRY },
    deadLetterConfig: { arn: deadLetterRuleFailures.queue.arn },
    inputTransformer: {
      inputPaths: {
        kind: "$.detail.kind",
        orderRef: "$.detail.orderRef",
        reason: "$.detail.reason.text",
        correlationId: "$.detail.correlationId",
        eventId: "$.detail.eventId",
      },
      // A JSON string: SNS delivers it as the e-mail's text.
      inputTemplate:
        '"imburse-relay dead-lettered order <orderRef> (<kind>): <reason>. ' +
        'Correlation id <correlationId>; event <eventId>. Inspect it with `imburse-relay dlq peek`."',
    },
  });
  allowRuleToPublish(topic, deadLetterRule);

  const failedEventsAlarm = topicAlarm({
    name: METRICS.outcomeEventFailed,
    description:
      "Outcome events could not be published to the bus; they stay due in the ledger and the outbox sweep retries them.",
    threshold: config.outcomes.failedEventsAlarmThreshold,
    metric: {
      namespace: METRICS.namespace,
      metricName: METRICS.outcomeEventFailed,
      dimensions: relayMetricDimensions(),
      statistic: "Sum",
      period: config.alarms.periodSeconds,
    },
    evaluationPeriods: config.alarms.evaluationPeriods,
    topic,
  });

  const sweep = createScheduledFunction({
    name: RESOURCE_NAMES.outboxSweepFunction,
    schedule: config.schedules.outboxSweep,
    function: "outboxSweep",
    description: "Publishes again the outcome events still due in the ledger's outbox",
    handler: OUTBOX_SWEEP_HANDLER,
    size: config.outboxSweepFunction,
    settings: config.settings,
    resources: { ledgerTable: table.name, eventBusName: bus.name },
    permissions: [...sweepLedgerOutbox(table.arn), publishEvents(bus.arn), writeTraces()],
  });
  return { deadLetterRule, deadLetterRuleFailures, failedEventsAlarm, sweep };
}

/**
 * The alarm topic's policy (it replaces SNS's default one): the account as by default, CloudWatch alarms of
 * the account, and the dead-letter rule, by its ARN, for EventBridge.
 */
function allowRuleToPublish(topic: aws.sns.Topic, rule: aws.cloudwatch.EventRule): void {
  const { accountId } = aws.getCallerIdentityOutput();
  new aws.sns.TopicPolicy(`${RESOURCE_NAMES.alarmTopic}Policy`, {
    arn: topic.arn,
    policy: $jsonStringify({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "Account",
          Effect: "Allow",
          Principal: { AWS: "*" },
          Action: ["sns:Publish", "sns:Subscribe", "sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic"],
          Resource: topic.arn,
          Condition: { StringEquals: { "AWS:SourceOwner": accountId } },
        },
        {
          // Alarm actions publish as CloudWatch: kept explicit, as this policy replaces the topic's default.
          Sid: "Alarms",
          Effect: "Allow",
          Principal: { Service: "cloudwatch.amazonaws.com" },
          Action: "sns:Publish",
          Resource: topic.arn,
          Condition: { StringEquals: { "aws:SourceAccount": accountId } },
        },
        {
          Sid: "DeadLetteredOrders",
          Effect: "Allow",
          Principal: { Service: "events.amazonaws.com" },
          Action: "sns:Publish",
          Resource: topic.arn,
          Condition: { ArnEquals: { "aws:SourceArn": rule.arn } },
        },
      ],
    }),
  });
}
