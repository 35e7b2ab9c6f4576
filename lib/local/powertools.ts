import { Logger } from "@aws-lambda-powertools/logger";
import type { LogLevel } from "@aws-lambda-powertools/logger/types";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { METRICS, SERVICE_NAME } from "../config/index.ts";

/**
 * Metrics that are counted and dropped: a local run has no CloudWatch to read EMF lines, and they would
 * cut through its progress. Powertools can only switch metrics off through `process.env`
 * (`POWERTOOLS_METRICS_DISABLED`), which local mode leaves alone so it can run twice in one process.
 */
class DiscardedMetrics extends Metrics {
  constructor() {
    super({ namespace: METRICS.namespace, serviceName: SERVICE_NAME });
  }

  override publishStoredMetrics(): this {
    this.clearMetrics();
    this.clearDimensions();
    return this;
  }

  override singleMetric(): Metrics {
    return new DiscardedMetrics();
  }
}

/** A logger and metrics for one locally assembled handler: logs at `logLevel`, metrics dropped. */
export function localPowertools(logLevel: string): { logger: Logger; metrics: Metrics } {
  return {
    logger: new Logger({ serviceName: SERVICE_NAME, logLevel: logLevel.toUpperCase() as LogLevel }),
    metrics: new DiscardedMetrics(),
  };
}
