/**
 * CloudWatch alarms of the relay, all notifying one SNS topic (alarm and recovery). Thresholds come from
 * `lib/config/infrastructure.ts`; e-mail subscribers from the deploy-time `RELAY_ALARM_EMAIL`.
 */
import type { AlarmsConfig } from "../lib/config/index.ts";
import { METRICS, RESOURCE_NAMES } from "../lib/config/index.ts";
import { AWS_NAMESPACES, LAMBDA_METRICS, relayMetricDimensions, SQS_METRICS } from "./metrics.ts";
import type { RelayQueues } from "./queues.ts";

/** What {@link createAlarms} watches and whom it tells. */
export interface AlarmsInputs {
  config: AlarmsConfig;
  queues: RelayQueues;
  submit: sst.aws.Function;
  /** E-mail addresses subscribed to the topic; none subscribes nobody (the topic still exists). */
  emails: readonly string[];
}

/** The topic and the alarms created by {@link createAlarms}. */
export interface RelayAlarms {
  topic: aws.sns.Topic;
  alarms: aws.cloudwatch.MetricAlarm[];
}

/** The DLQ alarm fires on the first visible message: every dead letter needs an operator. */
const DEAD_LETTER_ALARM_THRESHOLD = 1;

/** What an operator alarm watches: one metric, or metric math, with its period. */
export type AlarmMetric = Pick<
  aws.cloudwatch.MetricAlarmArgs,
  "namespace" | "metricName" | "dimensions" | "statistic" | "period" | "metricQueries"
>;

/** What {@link topicAlarm} needs. */
export interface TopicAlarmArgs {
  /** The logical name; the alarm is named `<app>-<stage>-<name>`. */
  name: string;
  description: string;
  /** The alarm fires at this value or above. */
  threshold: number;
  metric: AlarmMetric;
  evaluationPeriods: number;
  topic: aws.sns.Topic;
  /** Missing data is not breaching unless told otherwise. */
  missingData?: Pick<aws.cloudwatch.MetricAlarmArgs, "treatMissingData" | "insufficientDataActions">;
}

/** An operator alarm: it tells the topic when it fires and when it recovers. */
export function topicAlarm({
  name,
  description,
  threshold,
  metric,
  evaluationPeriods,
  topic,
  missingData = { treatMissingData: "notBreaching" },
}: TopicAlarmArgs): aws.cloudwatch.MetricAlarm {
  return new aws.cloudwatch.MetricAlarm(name, {
    name: `${$app.name}-${$app.stage}-${name}`,
    alarmDescription: description,
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    threshold,
    evaluationPeriods,
    alarmActions: [topic.arn],
    okActions: [topic.arn],
    ...missingData,
    ...metric,
  });
}

/** Creates the alarm topic, its e-mail subscriptions and one alarm per failure the operator must see. */
export function createAlarms({ config, queues, submit, emails }: AlarmsInputs): RelayAlarms {
  const topic = new aws.sns.Topic(RESOURCE_NAMES.alarmTopic, {
    name: `${$app.name}-${$app.stage}-${RESOURCE_NAMES.alarmTopic}`,
  });
  emails.forEach((endpoint, index) => {
    new aws.sns.TopicSubscription(`${RESOURCE_NAMES.alarmTopic}Email${index + 1}`, {
      topic: topic.arn,
      protocol: "email",
      endpoint,
    });
  });

  const period = config.periodSeconds;
  const queueMetric = (queue: sst.aws.Queue, metricName: string): AlarmMetric => ({
    namespace: AWS_NAMESPACES.sqs,
    metricName,
    dimensions: { QueueName: queue.nodes.queue.name },
    statistic: "Maximum",
    period,
  });
  const functionMetric = (metricName: string): AlarmMetric => ({
    namespace: AWS_NAMESPACES.lambda,
    metricName,
    dimensions: { FunctionName: submit.name },
    statistic: "Sum",
    period,
  });
  const relayMetric = (metricName: string, statistic = "Sum"): AlarmMetric => ({
    namespace: METRICS.namespace,
    metricName,
    dimensions: relayMetricDimensions(),
    statistic,
    period,
  });
  const retryQueueName = queues.retry.nodes.queue.name;
  const retryDepth: AlarmMetric = {
    metricQueries: [
      ...[SQS_METRICS.visible, SQS_METRICS.delayed].map((metricName, index) => ({
        id: `m${index}`,
        metric: {
          namespace: AWS_NAMESPACES.sqs,
          metricName,
          dimensions: { QueueName: retryQueueName },
          stat: "Maximum",
          period,
        },
      })),
      { id: "depth", expression: "m0 + m1", label: "Retry messages waiting", returnData: true },
    ],
  };

  const alarm = (
    name: string,
    description: string,
    threshold: number,
    metric: AlarmMetric,
    missingData?: TopicAlarmArgs["missingData"],
  ) =>
    topicAlarm({
      name,
      description,
      threshold,
      metric,
      evaluationPeriods: config.evaluationPeriods,
      topic,
      missingData,
    });

  const alarms = [
    alarm(
      `${RESOURCE_NAMES.deadLetterQueue}NotEmpty`,
      "Orders are waiting in the dead-letter queue: inspect them and redrive or discard.",
      DEAD_LETTER_ALARM_THRESHOLD,
      queueMetric(queues.deadLetter, SQS_METRICS.visible),
    ),
    alarm(
      `${RESOURCE_NAMES.ordersQueue}OldestMessageAge`,
      "The oldest order waits too long: the relay is not keeping up or not consuming.",
      config.ordersOldestMessageAgeSeconds,
      queueMetric(queues.orders, SQS_METRICS.oldestAge),
    ),
    alarm(
      `${RESOURCE_NAMES.retryQueue}Depth`,
      "Many orders wait for a retry: Imburse keeps failing or throttling.",
      config.retryQueueDepth,
      retryDepth,
    ),
    alarm(
      `${RESOURCE_NAMES.submitFunction}Errors`,
      "Submit invocations failed as a whole (crash or timeout); their batches return to the queue.",
      config.functionErrors,
      functionMetric(LAMBDA_METRICS.errors),
    ),
    alarm(
      `${RESOURCE_NAMES.submitFunction}Throttles`,
      "Submit invocations were throttled: the account's Lambda concurrency is exhausted.",
      config.functionThrottles,
      functionMetric(LAMBDA_METRICS.throttles),
    ),
    alarm(
      METRICS.deadLettered,
      "The relay dead-lettered orders (permanent Imburse rejections or retries exhausted).",
      config.deadLetteredOrders,
      relayMetric(METRICS.deadLettered),
    ),
    alarm(
      METRICS.imburseError,
      "Imburse calls are failing.",
      config.imburseErrors,
      relayMetric(METRICS.imburseError),
    ),
    alarm(
      METRICS.ledgerUnavailable,
      "The order ledger (DynamoDB) failed: orders wait on the retry queue, and nothing is posted without a claim.",
      config.ledgerUnavailable,
      relayMetric(METRICS.ledgerUnavailable),
    ),
    alarm(
      METRICS.stuckOrders,
      "Orders are stuck in the ledger (a claim whose lease ended, or may exist in Imburse): run `imburse-relay ledger stuck`, then `ledger settle`.",
      config.stuckOrders,
      relayMetric(METRICS.stuckOrders, "Maximum"),
      // The check reports every run, zero included: no datapoint means it did not run, which must be seen.
      { treatMissingData: "missing", insufficientDataActions: [topic.arn] },
    ),
  ];
  return { topic, alarms };
}
