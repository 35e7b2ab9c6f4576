import { randomUUID } from "node:crypto";
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type middy from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import {
  dynamoDbClient,
  eventBridgeClient,
  imburseCredentials,
  powertools,
  sqsClient,
  withPowertools,
} from "../aws/index.ts";
import { loadSettings } from "../config/index.ts";
import { eventBridgePublisher, type OutcomePublisher } from "../events/index.ts";
import { ImburseClient } from "../imburse/index.ts";
import { dynamoDbLedger } from "../ledger/index.ts";
import { createBatchHandler } from "./batch.ts";
import { currentRecordScope } from "./scope.ts";
import { type MessageSender, sqsMessageSender } from "./sender.ts";
import { powertoolsRelayMetrics, type RelayObserver } from "./telemetry.ts";

/** What a caller may replace when assembling the submit handler (tests, local mode). */
export interface SubmitHandlerOverrides {
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  metrics?: Metrics;
  sender?: MessageSender;
  /** The SQS client of the retry and dead-letter messages (default: one from the SDK's environment). */
  sqs?: SQSClient;
  /** The Secrets Manager client of the credentials (default: one from the SDK's environment). */
  secretsManager?: SecretsManagerClient;
  /** The DynamoDB client of the order ledger (default: one from the SDK's environment). */
  dynamoDb?: DynamoDBClient;
  /** The EventBridge client of the outcome events (default: one from the SDK's environment). */
  eventBridge?: EventBridgeClient;
  /** Replaces the outcome events' publisher altogether (tests that stop between the ledger write and it). */
  publisher?: OutcomePublisher;
  clock?: () => number;
  random?: () => number;
  /** Told of every record's outcome, Imburse call and PutEvents round (local mode); none by default. */
  observer?: RelayObserver;
}

/**
 * Assembles the order submission Lambda from settings (environment variables unless `env` is given): AWS clients, credentials,
 * the Imburse client, the order ledger, Powertools logger/tracer/metrics and the middy middlewares.
 * Runs once per container (module scope of `functions/submit.ts`, with AWS's defaults); local mode calls it
 * with its own clients and observer, as often as it runs.
 */
export function createSubmitHandler(
  overrides: SubmitHandlerOverrides = {},
): middy.MiddyfiedHandler<SQSEvent, SQSBatchResponse, Error, Context> {
  const env = overrides.env ?? process.env;
  const settings = loadSettings(env);
  const tools = powertools(overrides);
  const { logger, tracer, metrics } = tools;
  const relayMetrics = powertoolsRelayMetrics(metrics);
  const credentials = imburseCredentials(settings, tools, overrides.secretsManager);
  const { observer } = overrides;
  const client = new ImburseClient({
    baseUrl: settings.imburseBaseUrl,
    credentials,
    timeoutMs: settings.imburseTimeoutMs,
    onCall: (call) => {
      relayMetrics.imburseCall(call);
      observer?.imburseCall?.(call);
      const scope = currentRecordScope();
      if (scope && call.imburseCorrelationId) scope.imburseCorrelationId = call.imburseCorrelationId;
      (scope?.logger ?? logger).info("Imburse call", {
        route: call.route,
        status: call.status,
        duration_ms: call.durationMs,
        imburse_correlation_id: call.imburseCorrelationId,
      });
    },
  });
  const ledger = dynamoDbLedger(
    tracer.captureAWSv3Client(overrides.dynamoDb ?? dynamoDbClient()),
    settings.ledgerTable,
  );
  const batch = createBatchHandler(
    {
      settings,
      api: client,
      ledger,
      tenantId: async () => (await credentials.get()).tenantId,
      sender:
        overrides.sender ?? sqsMessageSender(tracer.captureAWSv3Client(overrides.sqs ?? sqsClient({}, env))),
      logger,
      metrics: relayMetrics,
      clock: overrides.clock ?? Date.now,
      random: overrides.random ?? Math.random,
      newLeaseOwner: randomUUID,
      observer,
    },
    {
      concurrency: settings.recordConcurrency,
      sourceQueueUrls: [settings.ordersQueueUrl, settings.retryQueueUrl],
      tracer,
      publisher:
        overrides.publisher ??
        eventBridgePublisher(
          tracer.captureAWSv3Client(overrides.eventBridge ?? eventBridgeClient()),
          settings.eventBusName,
        ),
    },
  );
  return withPowertools(batch, tools);
}
