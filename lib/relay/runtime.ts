import { DynamoDBPersistenceLayer } from "@aws-lambda-powertools/idempotency/dynamodb";
import { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import { Tracer } from "@aws-lambda-powertools/tracer";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import middy from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { dynamoDbClient, secretsManagerClient, sqsClient } from "../aws/clients.ts";
import { secretCredentials } from "../aws/secret-credentials.ts";
import { METRICS, SERVICE_NAME } from "../config/names.ts";
import { loadSettings } from "../config/settings.ts";
import { ImburseClient } from "../imburse/client.ts";
import { createBatchHandler } from "./batch.ts";
import { idempotentSubmitter } from "./idempotency.ts";
import { currentRecordScope } from "./scope.ts";
import { type MessageSender, sqsMessageSender } from "./sender.ts";
import { powertoolsRelayMetrics, recordEvents } from "./telemetry.ts";

/** What a caller may replace when assembling the submit handler (tests, local mode). */
export interface SubmitHandlerOverrides {
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  metrics?: Metrics;
  sender?: MessageSender;
  clock?: () => number;
  random?: () => number;
}

/**
 * Assembles the order submission Lambda from environment variables: AWS clients, credentials,
 * the Imburse client, idempotency, Powertools logger/tracer/metrics and the middy middlewares.
 * Runs once per container (module scope of `functions/submit.ts`).
 */
export function createSubmitHandler(
  overrides: SubmitHandlerOverrides = {},
): middy.MiddyfiedHandler<SQSEvent, SQSBatchResponse, Error, Context> {
  const env = overrides.env ?? process.env;
  const settings = loadSettings(env);
  const logger = overrides.logger ?? new Logger({ serviceName: SERVICE_NAME });
  const tracer = new Tracer({ serviceName: SERVICE_NAME });
  const metrics =
    overrides.metrics ?? new Metrics({ namespace: METRICS.namespace, serviceName: SERVICE_NAME });
  const relayMetrics = powertoolsRelayMetrics(metrics);

  const secrets = new SecretsProvider({ awsSdkV3Client: tracer.captureAWSv3Client(secretsManagerClient()) });
  const credentials = secretCredentials({
    provider: secrets,
    secretId: settings.secretId,
    maxAgeSeconds: settings.secretMaxAgeSeconds,
    onStale: (error) =>
      logger.warn("Could not refresh the Imburse credentials; using the last good value", {
        error: String(error),
      }),
  });
  const client = new ImburseClient({
    baseUrl: settings.imburseBaseUrl,
    credentials,
    timeoutMs: settings.imburseTimeoutMs,
    onCall: (call) => {
      relayMetrics.imburseCall(call);
      recordEvents.emit("imburse-call", call);
      (currentRecordScope()?.logger ?? logger).info("Imburse call", {
        route: call.route,
        status: call.status,
        duration_ms: call.durationMs,
        imburse_correlation_id: call.imburseCorrelationId,
      });
    },
  });
  const { submit, config } = idempotentSubmitter(client, {
    persistenceStore: new DynamoDBPersistenceLayer({
      tableName: settings.idempotencyTable,
      awsSdkV3Client: tracer.captureAWSv3Client(dynamoDbClient()),
    }),
    expiresAfterSeconds: settings.idempotencyTtlSeconds,
  });
  const batch = createBatchHandler(
    {
      settings,
      submit,
      tenantId: async () => (await credentials.get()).tenantId,
      sender: overrides.sender ?? sqsMessageSender(tracer.captureAWSv3Client(sqsClient(env))),
      logger,
      metrics: relayMetrics,
      clock: overrides.clock ?? Date.now,
      random: overrides.random ?? Math.random,
    },
    {
      concurrency: settings.recordConcurrency,
      remainingTimeMarginMs: settings.remainingTimeMarginMs,
      onInvocation: (context) => config.registerLambdaContext(context),
      tracer,
    },
  );
  return middy(batch)
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}
