/** CloudWatch metric names shared by the alarms and the dashboard. The relay's own are in names.ts. */
import { relayMetricDimensions as dimensionsOfStage } from "../lib/config/index.ts";

/** AWS metric namespaces. */
export const AWS_NAMESPACES = { sqs: "AWS/SQS", lambda: "AWS/Lambda" } as const;

/** SQS queue metrics (dimension `QueueName`). */
export const SQS_METRICS = {
  visible: "ApproximateNumberOfMessagesVisible",
  delayed: "ApproximateNumberOfMessagesDelayed",
  oldestAge: "ApproximateAgeOfOldestMessage",
} as const;

/** Lambda function metrics (dimension `FunctionName`). */
export const LAMBDA_METRICS = {
  errors: "Errors",
  throttles: "Throttles",
  concurrentExecutions: "ConcurrentExecutions",
} as const;

/**
 * The dimensions every relay metric of the deploying stage carries (`service` and `stage`, see
 * lib/config/names.ts): alarms and widgets read their own stage only.
 */
export function relayMetricDimensions(): { service: string; stage: string } {
  return dimensionsOfStage($app.stage);
}
