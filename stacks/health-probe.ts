/**
 * The health probe: on its schedule, a token exchange and a light authenticated GET against Imburse,
 * emitting `ProbeHealthy` and `ProbeLatency` (the probe alarm in availability.ts watches the first).
 */
import type { InfrastructureConfig } from "../lib/config/index.ts";
import { RESOURCE_NAMES } from "../lib/config/index.ts";
import { readSecret, writeTraces } from "./permissions.ts";
import { createScheduledFunction, type ScheduledFunction } from "./scheduled.ts";

/** The handler, relative to the repository root (`file.export`). */
const HEALTH_PROBE_HANDLER = "functions/health-probe.handler";

/** What {@link createHealthProbe} needs. */
export interface HealthProbeInputs {
  config: InfrastructureConfig;
  secret: aws.secretsmanager.Secret;
}

/** Creates the probe on `schedules.healthProbe`. It reads the credentials secret and nothing else. */
export function createHealthProbe({ config, secret }: HealthProbeInputs): ScheduledFunction {
  return createScheduledFunction({
    name: RESOURCE_NAMES.healthProbeFunction,
    schedule: config.schedules.healthProbe,
    function: "healthProbe",
    description: "Probes Imburse (token exchange and a GET) and emits its health and latency",
    handler: HEALTH_PROBE_HANDLER,
    size: config.healthProbeFunction,
    settings: config.settings,
    resources: { secretId: secret.arn },
    permissions: [readSecret(secret.arn), writeTraces()],
  });
}
