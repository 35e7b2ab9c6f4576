/**
 * The relay's three SQS queues: Orders (publishers send here), Retry (delayed retries sent by the relay)
 * and the dead-letter queue that both redrive to.
 *
 * Encryption is SQS-managed SSE (SSE-SQS): messages are encrypted at rest with keys SQS owns, at no cost,
 * and publishers (possibly in other accounts) and the function need no KMS grants. A customer-managed KMS
 * key would add per-key auditing and key-policy control, for a key to run and a grant on every producer.
 */
import {
  type InfrastructureConfig,
  RESOURCE_NAMES,
  SOURCE_QUEUE_MAX_MESSAGE_BYTES,
  SQS_MAX_MESSAGE_BYTES,
  type SubscriptionConfig,
  visibilityTimeoutSeconds,
} from "../lib/config/index.ts";

/** The queues created by {@link createQueues}. */
export interface RelayQueues {
  orders: sst.aws.Queue;
  retry: sst.aws.Queue;
  deadLetter: sst.aws.Queue;
}

/** Creates the DLQ, then Orders and Retry, both redriving to it after `maxReceiveCount` receives. */
export function createQueues(config: InfrastructureConfig): RelayQueues {
  const { queues, submitFunction } = config;
  const deadLetter = new sst.aws.Queue(RESOURCE_NAMES.deadLetterQueue, {
    transform: {
      queue: {
        messageRetentionSeconds: queues.deadLetterRetentionSeconds,
        sqsManagedSseEnabled: true,
        // The most SQS allows: any body the sources took, with its reason, fits.
        maxMessageSize: SQS_MAX_MESSAGE_BYTES,
      },
    },
  });

  const sourceQueue = (name: string, subscription: SubscriptionConfig) =>
    new sst.aws.Queue(name, {
      visibilityTimeout: `${visibilityTimeoutSeconds(submitFunction.timeoutSeconds, subscription.batchingWindowSeconds)} seconds`,
      dlq: { queue: deadLetter.arn, retry: queues.maxReceiveCount },
      transform: {
        queue: {
          messageRetentionSeconds: queues.sourceRetentionSeconds,
          sqsManagedSseEnabled: true,
          // Below SQS's limit by the relay's reserve: a retry or a dead letter of any body they took still fits.
          maxMessageSize: SOURCE_QUEUE_MAX_MESSAGE_BYTES,
        },
      },
    });

  return {
    orders: sourceQueue(RESOURCE_NAMES.ordersQueue, config.ordersSubscription),
    retry: sourceQueue(RESOURCE_NAMES.retryQueue, config.retrySubscription),
    deadLetter,
  };
}
