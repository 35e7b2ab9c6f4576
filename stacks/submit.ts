/**
 * The submit function: consumes the Orders and Retry queues (partial batch responses), calls Imburse,
 * sends delayed retries to the Retry queue and dead letters to the DLQ.
 */
import type { InfrastructureConfig, SubscriptionConfig } from "../lib/config/index.ts";
import { RESOURCE_NAMES } from "../lib/config/index.ts";
import {
  consumeQueues,
  publishEvents,
  readSecret,
  sendToQueues,
  useLedgerTable,
  writeTraces,
} from "./permissions.ts";
import type { RelayQueues } from "./queues.ts";
import { relayFunctionArgs } from "./relay-function.ts";

/** The handler, relative to the repository root (`file.export`). */
const SUBMIT_HANDLER = "functions/submit.handler";

/** What {@link createSubmitFunction} wires the function to. */
export interface SubmitFunctionInputs {
  config: InfrastructureConfig;
  queues: RelayQueues;
  table: sst.aws.Dynamo;
  secret: aws.secretsmanager.Secret;
  /** The outcome events' bus. */
  bus: sst.aws.Bus;
}

/** The submit function and what the circuit breaker pauses. */
export interface SubmitFunction {
  function: sst.aws.Function;
  /** UUIDs of its event source mappings: on Orders, then on Retry. */
  eventSourceMappingIds: $util.Output<string>[];
  /** The same mappings with their configured batch size and concurrency, which the breaker restores. */
  mappings: { uuid: $util.Output<string>; subscription: SubscriptionConfig }[];
}

/**
 * Creates the submit function and subscribes it to Orders and Retry. Its environment holds the
 * Powertools service and namespace and every relay setting (defaults, stage overrides, its resource ids).
 */
export function createSubmitFunction({
  config,
  queues,
  table,
  secret,
  bus,
}: SubmitFunctionInputs): SubmitFunction {
  const submit = new sst.aws.Function(
    RESOURCE_NAMES.submitFunction,
    relayFunctionArgs({
      function: "submit",
      description: "Submits Imburse orders from the Orders and Retry queues",
      handler: SUBMIT_HANDLER,
      size: config.submitFunction,
      // A claim lasts the function's timeout: no invocation holding it can outlive it.
      settings: {
        ...config.settings,
        leaseSeconds: Math.max(
          Number(config.settings.leaseSeconds ?? 0),
          config.submitFunction.timeoutSeconds,
        ),
      },
      resources: {
        ordersQueueUrl: queues.orders.url,
        retryQueueUrl: queues.retry.url,
        deadLetterQueueUrl: queues.deadLetter.url,
        ledgerTable: table.name,
        secretId: secret.arn,
        eventBusName: bus.name,
      },
      permissions: [
        consumeQueues([queues.orders.arn, queues.retry.arn]),
        sendToQueues([queues.retry.arn, queues.deadLetter.arn]),
        readSecret(secret.arn),
        useLedgerTable(table.arn),
        publishEvents(bus.arn),
        writeTraces(),
      ],
    }),
  );

  const mappings = [
    {
      uuid: subscribe(queues.orders, submit, config.ordersSubscription),
      subscription: config.ordersSubscription,
    },
    {
      uuid: subscribe(queues.retry, submit, config.retrySubscription),
      subscription: config.retrySubscription,
    },
  ];
  return { function: submit, eventSourceMappingIds: mappings.map((mapping) => mapping.uuid), mappings };
}

/**
 * The mapping properties the circuit breaker sets at run time (enabled; batch size and maximum concurrency
 * for its trial), which a deploy leaves alone.
 */
export const BREAKER_OWNED_MAPPING_PROPERTIES = ["enabled", "batchSize", "scalingConfig"] as const;

/** The part of SST's `QueueLambdaSubscriber` (not exported by SST) that the stack reads. */
interface QueueSubscriber {
  nodes: { eventSourceMapping: aws.lambda.EventSourceMapping };
}

/**
 * Subscribes by ARN, so both queues share one function and SST adds no permissions of its own (the
 * function's `permissions` already cover what the event source mapping needs). Returns the mapping's UUID.
 */
function subscribe(
  queue: sst.aws.Queue,
  submit: sst.aws.Function,
  subscription: SubscriptionConfig,
): $util.Output<string> {
  return queue
    .subscribe(submit.arn, {
      batch: {
        size: subscription.batchSize,
        window: `${subscription.batchingWindowSeconds} seconds`,
        partialResponses: true,
      },
      transform: {
        eventSourceMapping: (args: { scalingConfig?: unknown }, opts: { ignoreChanges?: string[] }) => {
          args.scalingConfig = { maximumConcurrency: subscription.maximumConcurrency };
          // The circuit breaker owns these at run time: a deploy during an outage must not resume the relay,
          // nor one during a trial end it early. The breaker applies changed values on its next run.
          opts.ignoreChanges = [...(opts.ignoreChanges ?? []), ...BREAKER_OWNED_MAPPING_PROPERTIES];
        },
      },
    })
    .apply(({ nodes }: QueueSubscriber) => nodes.eventSourceMapping.uuid);
}
