import { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import type { ConstructorOptions as LoggerOptions } from "@aws-lambda-powertools/logger/types";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import { Tracer } from "@aws-lambda-powertools/tracer";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { type CommonSettings, DEFAULTS, METRICS, SERVICE_NAME, SETTINGS } from "../config/index.ts";
import type { CredentialsProvider } from "../imburse/index.ts";
import { secretsManagerClient } from "./clients.ts";
import { secretCredentials } from "./secret-credentials.ts";

/** The Powertools utilities every function of the relay uses. */
export interface Powertools {
  logger: Logger;
  tracer: Tracer;
  metrics: Metrics;
}

/**
 * Logger, Tracer and Metrics for one function (service {@link SERVICE_NAME}, namespace `ImburseRelay`,
 * default dimension `stage` from `RELAY_STAGE` in `env`). Metrics' own warnings go through the logger, so
 * they are structured and carry the correlation id.
 */
export function powertools(
  overrides: {
    logger?: Logger | undefined;
    metrics?: Metrics | undefined;
    env?: NodeJS.ProcessEnv | undefined;
  } = {},
  loggerOptions: LoggerOptions = {},
): Powertools {
  const logger = overrides.logger ?? new Logger({ serviceName: SERVICE_NAME, ...loggerOptions });
  const env = overrides.env ?? process.env;
  const stage = env[SETTINGS.stage.env] || DEFAULTS.stage;
  return {
    logger,
    tracer: new Tracer({ serviceName: SERVICE_NAME }),
    metrics:
      overrides.metrics ??
      new Metrics({
        namespace: METRICS.namespace,
        serviceName: SERVICE_NAME,
        defaultDimensions: { stage },
        logger,
      }),
  };
}

/**
 * Wraps a handler in middy with the Powertools middlewares: a traced handler, the Lambda context in every
 * log line (keys reset per invocation; a correlation id from `correlationIdPath` when given) and metrics
 * flushed with the cold start.
 */
export function withPowertools<E, R>(
  handler: (event: E, context: Context) => Promise<R>,
  { logger, tracer, metrics }: Powertools,
  options: { correlationIdPath?: string } = {},
): middy.MiddyfiedHandler<E, R, Error, Context> {
  return middy(handler)
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger, { resetKeys: true, ...options }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}

/** The Imburse credentials from the relay's secret, read through a traced Secrets Manager client. */
export function imburseCredentials(
  settings: Pick<CommonSettings, "secretMaxAgeSeconds"> & { secretId: string },
  { logger, tracer }: Powertools,
  client: SecretsManagerClient = secretsManagerClient(),
): CredentialsProvider {
  return secretCredentials({
    provider: new SecretsProvider({ awsSdkV3Client: tracer.captureAWSv3Client(client) }),
    secretId: settings.secretId,
    maxAgeSeconds: settings.secretMaxAgeSeconds,
    onStale: (problem) =>
      logger.warn("Could not refresh the Imburse credentials; using the last good value", { problem }),
  });
}
