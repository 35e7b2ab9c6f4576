import { Metrics } from "@aws-lambda-powertools/metrics";
import { afterEach, describe, expect, it, vi } from "vitest";
import { METRICS } from "../../lib/config/index.ts";
import { powertoolsRelayMetrics } from "../../lib/relay/telemetry.ts";
import { captureJsonOutput } from "../support/json-output.ts";

afterEach(() => vi.restoreAllMocks());

describe("relay metrics (EMF)", () => {
  it("counts outcomes and dimensions retries by reason and dead letters by kind", () => {
    vi.stubEnv("POWERTOOLS_METRICS_DISABLED", "false");
    const output = captureJsonOutput();
    const metrics = new Metrics({ namespace: METRICS.namespace, serviceName: "test" });
    const relay = powertoolsRelayMetrics(metrics);
    relay.submitted();
    relay.retried("throttled");
    relay.deadLettered("invalid");
    relay.imburseCall({
      route: "create-order",
      method: "POST",
      path: "/",
      status: 503,
      durationMs: 42,
      imburseCorrelationId: undefined,
    });
    relay.imburseCall({
      route: "create-order",
      method: "POST",
      path: "/",
      status: 201,
      durationMs: 8,
      imburseCorrelationId: undefined,
    });
    metrics.publishStoredMetrics();
    const blobs = output.filter((line) => "_aws" in line);

    const byReason = blobs.find((b) => b.reason === "throttled");
    expect(byReason?.[METRICS.retried]).toBe(1);
    const byKind = blobs.find((b) => b.kind === "invalid");
    expect(byKind?.[METRICS.deadLettered]).toBe(1);
    const main = blobs.find((b) => METRICS.submitted in b)!;
    expect(main[METRICS.submitted]).toBe(1);
    expect(main[METRICS.retried]).toBe(1);
    expect(main[METRICS.deadLettered]).toBe(1);
    expect(main[METRICS.imburseError]).toBe(1);
    expect(main[METRICS.imburseLatency]).toEqual([42, 8]);
    expect(JSON.stringify(main._aws)).toContain(METRICS.namespace);
  });
});
