/**
 * Where an EventBridge rule's deliveries go when they keep failing. Without a dead-letter queue EventBridge
 * drops an event once its retries are spent, and nothing records the loss: a notification or a breaker
 * event would vanish silently. Each such target gets a failures queue that only its rule may dead-letter
 * into, and an alarm on anything waiting there.
 */
import type { InfrastructureConfig } from "../lib/config/index.ts";
import { topicAlarm } from "./alarms.ts";
import { AWS_NAMESPACES, SQS_METRICS } from "./metrics.ts";

/** What {@link createRuleFailures} needs. */
export interface RuleFailuresInputs {
  /** The logical name the queue, its policy and its alarm are named after (`<name>Failures…`). */
  name: string;
  config: InfrastructureConfig;
  /** The rule whose target dead-letters into the queue: the only source allowed to send to it. */
  rule: aws.cloudwatch.EventRule;
  /** The alarm topic. */
  topic: aws.sns.Topic;
  /** What a message in the queue means to the person paged. */
  alarmDescription: string;
}

/** The failures queue and its alarm. */
export interface RuleFailures {
  queue: aws.sqs.Queue;
  alarm: aws.cloudwatch.MetricAlarm;
}

/** Creates `<name>Failures`, its policy for EventBridge from `rule` only, and `<name>FailuresNotEmpty`. */
export function createRuleFailures({
  name,
  config,
  rule,
  topic,
  alarmDescription,
}: RuleFailuresInputs): RuleFailures {
  const queue = new aws.sqs.Queue(`${name}Failures`, {
    messageRetentionSeconds: config.queues.deadLetterRetentionSeconds,
    sqsManagedSseEnabled: true,
  });
  // EventBridge dead-letters with its service principal, from this rule only.
  new aws.sqs.QueuePolicy(`${name}FailuresPolicy`, {
    queueUrl: queue.url,
    policy: $jsonStringify({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "EventBridgeDeadLetters",
          Effect: "Allow",
          Principal: { Service: "events.amazonaws.com" },
          Action: "sqs:SendMessage",
          Resource: queue.arn,
          Condition: { ArnEquals: { "aws:SourceArn": rule.arn } },
        },
      ],
    }),
  });
  const alarm = topicAlarm({
    name: `${name}FailuresNotEmpty`,
    description: alarmDescription,
    threshold: 1,
    metric: {
      namespace: AWS_NAMESPACES.sqs,
      metricName: SQS_METRICS.visible,
      dimensions: { QueueName: queue.name },
      statistic: "Maximum",
      period: config.alarms.periodSeconds,
    },
    evaluationPeriods: config.alarms.evaluationPeriods,
    topic,
  });
  return { queue, alarm };
}
