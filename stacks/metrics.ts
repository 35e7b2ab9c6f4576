/** CloudWatch metric names shared by the alarms and the dashboard. The relay's own are in names.ts. */
import { SERVICE_NAME } from "../lib/config/names.ts";

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

/** The dimensions Powertools Metrics puts on every relay metric: `service` = the service name. */
export const RELAY_METRIC_DIMENSIONS = { service: SERVICE_NAME } as const;
