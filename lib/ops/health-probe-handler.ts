import { randomUUID } from "node:crypto";
import type { Logger } from "@aws-lambda-powertools/logger";
import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type middy from "@middy/core";
import type { Context } from "aws-lambda";
import { imburseCredentials, powertools, withPowertools } from "../aws/index.ts";
import { loadSettings, METRICS, REQUIRED_SETTINGS, SETTINGS, SettingsError } from "../config/index.ts";
import { ImburseClient, TokenCache, validateBaseUrl } from "../imburse/index.ts";
import { isWellFormedRef } from "../orders/index.ts";
import { type ProbeResult, probeImburse } from "./health-probe.ts";

/** What a caller may replace when assembling the health probe handler (tests, local mode). */
export interface HealthProbeHandlerOverrides {
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  metrics?: Metrics;
  /** Epoch milliseconds, for the latency. */
  clock?: () => number;
  /** The correlation id of each run; a random UUID by default. */
  correlationId?: () => string;
  /** The Secrets Manager client of the credentials (default: one from the SDK's environment). */
  secretsManager?: SecretsManagerClient;
}

/**
 * Assembles the scheduled health probe Lambda: settings, credentials from the secret, Powertools
 * logger/tracer/metrics and the middy middlewares. Each run probes Imburse with a new token cache, so it
 * really exchanges HMAC, and emits `ProbeHealthy` (1 or 0) and `ProbeLatency`. It returns the
 * {@link ProbeResult} and never throws for an unhealthy Imburse: the alarm reads the metric, not errors.
 */
export function createHealthProbeHandler(
  overrides: HealthProbeHandlerOverrides = {},
): middy.MiddyfiedHandler<unknown, ProbeResult, Error, Context> {
  const env = overrides.env ?? process.env;
  const settings = loadSettings(env, REQUIRED_SETTINGS.healthProbe);
  const baseUrl = validateBaseUrl(settings.imburseBaseUrl);
  if (!isWellFormedRef(settings.probeOrderRef)) {
    // Not echoed: a ref such as ".." would send the probe's GET to another resource.
    throw new SettingsError(
      `Invalid relay configuration: ${SETTINGS.probeOrderRef.env}: not a valid orderRef`,
    );
  }
  const tools = powertools(overrides);
  const { logger, tracer, metrics } = tools;
  const clock = overrides.clock ?? Date.now;
  const newCorrelationId = overrides.correlationId ?? randomUUID;

  const credentials = imburseCredentials(settings, tools, overrides.secretsManager);

  const probe = async (): Promise<ProbeResult> => {
    const correlationId = newCorrelationId();
    logger.setCorrelationId(correlationId);
    tracer.putAnnotation("correlationId", correlationId);
    const client = new ImburseClient({
      baseUrl,
      credentials,
      timeoutMs: settings.imburseTimeoutMs,
      tokenCache: new TokenCache(),
      // The probe's calls stay out of ImburseError/ImburseLatency: those measure the orders' calls.
      onCall: (call) =>
        logger.debug("Imburse call", {
          route: call.route,
          status: call.status,
          duration_ms: call.durationMs,
          imburse_correlation_id: call.imburseCorrelationId,
        }),
    });
    const result = await probeImburse(client, {
      probeOrderRef: settings.probeOrderRef,
      correlationId,
      clock,
    });
    metrics.addMetric(METRICS.probeHealthy, MetricUnit.Count, result.healthy ? 1 : 0);
    metrics.addMetric(METRICS.probeLatency, MetricUnit.Milliseconds, result.latencyMs);
    if (result.healthy) {
      logger.info("Imburse is healthy", { latency_ms: result.latencyMs });
    } else {
      logger.warn("Imburse is unhealthy", { latency_ms: result.latencyMs, failure: result.failure });
    }
    return result;
  };

  return withPowertools(probe, tools);
}
