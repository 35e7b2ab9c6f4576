/**
 * The submit function: consumes the Orders and Retry queues (partial batch responses), calls Imburse,
 * sends delayed retries to the Retry queue and dead letters to the DLQ.
 */
import type { InfrastructureConfig, SubscriptionConfig } from "../lib/config/infrastructure.ts";
import { METRICS, RESOURCE_NAMES, SERVICE_NAME } from "../lib/config/names.ts";
import { DEFAULTS, settingsToEnv } from "../lib/config/settings.ts";
import { consumeQueues, readSecret, sendToQueues, useIdempotencyTable, writeTraces } from "./permissions.ts";
import type { RelayQueues } from "./queues.ts";

/** The handler, relative to the repository root (`file.export`). */
const SUBMIT_HANDLER = "functions/submit.handler";

/** What {@link createSubmitFunction} wires the function to. */
export interface SubmitFunctionInputs {
  config: InfrastructureConfig;
  queues: RelayQueues;
  table: sst.aws.Dynamo;
  secret: aws.secretsmanager.Secret;
}

/**
 * Creates the submit function and subscribes it to Orders and Retry. Its environment holds the
 * Powertools service and namespace and every relay setting (defaults, stage overrides, resource ids).
 */
export function createSubmitFunction({
  config,
  queues,
  table,
  secret,
}: SubmitFunctionInputs): sst.aws.Function {
  const environment = $resolve([
    queues.orders.url,
    queues.retry.url,
    queues.deadLetter.url,
    table.name,
    secret.arn,
  ]).apply(([ordersQueueUrl, retryQueueUrl, deadLetterQueueUrl, idempotencyTable, secretId]) => ({
    POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
    POWERTOOLS_METRICS_NAMESPACE: METRICS.namespace,
    ...settingsToEnv({
      ...DEFAULTS,
      ...config.settings,
      ordersQueueUrl,
      retryQueueUrl,
      deadLetterQueueUrl,
      idempotencyTable,
      secretId,
    }),
  }));

  const submit = new sst.aws.Function(RESOURCE_NAMES.submitFunction, {
    description: "Submits Imburse orders from the Orders and Retry queues",
    handler: SUBMIT_HANDLER,
    runtime: "nodejs24.x",
    timeout: `${config.submitFunction.timeoutSeconds} seconds`,
    memory: `${config.submitFunction.memoryMb} MB`,
    environment,
    permissions: [
      consumeQueues([queues.orders.arn, queues.retry.arn]),
      sendToQueues([queues.retry.arn, queues.deadLetter.arn]),
      readSecret(secret.arn),
      useIdempotencyTable(table.arn),
      writeTraces(),
    ],
    transform: {
      function: { tracingConfig: { mode: "Active" } },
      // SST 4.17.1 also trusts the account root (meant for `sst dev`, but its check of an Output is always
      // true): outside `sst dev`, only Lambda may assume the role that reads the Imburse credentials.
      ...($dev
        ? {}
        : {
            role: {
              assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: "lambda.amazonaws.com" }),
            },
          }),
    },
  });

  subscribe(queues.orders, submit, config.ordersSubscription);
  subscribe(queues.retry, submit, config.retrySubscription);
  return submit;
}

/**
 * Subscribes by ARN, so both queues share one function and SST adds no permissions of its own (the
 * function's `permissions` already cover what the event source mapping needs).
 */
function subscribe(queue: sst.aws.Queue, submit: sst.aws.Function, subscription: SubscriptionConfig): void {
  queue.subscribe(submit.arn, {
    batch: {
      size: subscription.batchSize,
      window: `${subscription.batchingWindowSeconds} seconds`,
      partialResponses: true,
    },
    transform: {
      eventSourceMapping: { scalingConfig: { maximumConcurrency: subscription.maximumConcurrency } },
    },
  });
}
