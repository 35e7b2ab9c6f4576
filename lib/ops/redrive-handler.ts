import type { Logger } from "@aws-lambda-powertools/logger";
import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type middy from "@middy/core";
import type { Context } from "aws-lambda";
import { powertools, sqsClient, withPowertools } from "../aws/index.ts";
import { loadSettings, METRICS, REQUIRED_SETTINGS } from "../config/index.ts";
import { type RedriveSummary, redriveDeadLetters } from "./dlq.ts";
import { lastFailureWasTransient } from "./redrive.ts";

/** What a caller may replace when assembling the redrive handler (tests, local mode). */
export interface RedriveHandlerOverrides {
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  metrics?: Metrics;
  /** The SQS client of the queues (default: one from the SDK's environment). */
  sqs?: SQSClient;
}

/**
 * A run stops receiving once less time than this remains, keeping time to make what it holds visible
 * again and to flush its metrics. Were it killed instead, nothing is lost: the messages it hid reappear
 * when the function's time would have run out.
 */
const REDRIVE_STOP_MARGIN_MS = 5_000;

/**
 * Assembles the scheduled DLQ redrive Lambda. Each run moves at most `RELAY_REDRIVE_MAX_MESSAGES`
 * `retries-exhausted` dead letters whose last failure was transient back to the orders queue, attempts
 * reset, through the same {@link redriveDeadLetters} as the CLI: each is deleted from the DLQ only after
 * its send succeeded, and every other letter is made visible again before the run ends. Emits `Redriven`
 * and returns the summary.
 */
export function createRedriveHandler(
  overrides: RedriveHandlerOverrides = {},
): middy.MiddyfiedHandler<unknown, RedriveSummary, Error, Context> {
  const env = overrides.env ?? process.env;
  const settings = loadSettings(env, REQUIRED_SETTINGS.redrive);
  const tools = powertools(overrides);
  const { logger, tracer, metrics } = tools;
  const sqs = tracer.captureAWSv3Client(overrides.sqs ?? sqsClient({}, env));

  const redrive = async (_event: unknown, context: Context): Promise<RedriveSummary> => {
    const summary = await redriveDeadLetters(sqs, {
      from: settings.deadLetterQueueUrl,
      to: settings.ordersQueueUrl,
      kinds: ["retries-exhausted"],
      select: lastFailureWasTransient,
      max: settings.redriveMaxMessages,
      // Hidden for the rest of the run, so a long scan never reads its own letters twice.
      hideSeconds: Math.max(1, Math.ceil(context.getRemainingTimeInMillis() / 1000)),
      hasTimeLeft: () => context.getRemainingTimeInMillis() > REDRIVE_STOP_MARGIN_MS,
      onMoved: (moved) =>
        logger.info("Dead letter moved back to the orders queue", {
          correlation_id: moved.correlationId,
          order_ref: moved.orderRef,
          message_id: moved.messageId,
          new_message_id: moved.newMessageId,
        }),
    });
    for (const failure of summary.failed) {
      logger.error("Dead letter not moved", {
        message_id: failure.messageId,
        kind: failure.kind,
        error: failure.error,
      });
    }
    metrics.addMetric(METRICS.redriven, MetricUnit.Count, summary.moved.length);
    logger.info("Scheduled redrive finished", {
      moved: summary.moved.length,
      left: summary.left,
      failed: summary.failed.length,
      max_messages: settings.redriveMaxMessages,
    });
    return summary;
  };

  return withPowertools(redrive, tools);
}
