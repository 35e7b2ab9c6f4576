import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { METRICS } from "../../lib/config/index.ts";
import {
  ImburseApiError,
  ImburseClient,
  type ImburseCredentials,
  ImburseNetworkError,
  staticCredentials,
  TokenCache,
} from "../../lib/imburse/index.ts";
import { type LocalEnvironment, lambdaContext, startLocalEnvironment } from "../../lib/local/index.ts";
import { type ProbeOutcome, probeImburse, probeVerdict } from "../../lib/ops/health-probe.ts";
import { createHealthProbeHandler } from "../../lib/ops/health-probe-handler.ts";
import { DEMO_CREDENTIALS, type Simulator, startSimulator } from "../../lib/simulator/index.ts";
import { captureJsonOutput } from "../support/json-output.ts";
import { order } from "../support/relay-harness.ts";

const PROBE_REF = "imburse-relay-health-probe";

const apiError = (status: number, errorCodes: string[] = [], imburseCorrelationId?: string) =>
  new ImburseApiError({
    status,
    method: "GET",
    path: `/v1/order-management/${PROBE_REF}`,
    errors: errorCodes.map((errorCode) => ({ errorCode })),
    imburseCorrelationId,
  });

const networkError = (code: string) =>
  new ImburseNetworkError({
    code,
    method: "POST",
    path: "/v1/identity/hmac",
    timedOut: false,
    mayHaveReachedServer: false,
  });

describe("probeVerdict", () => {
  const read = (error: unknown): ProbeOutcome => ({ ok: false, step: "read", error });
  const token = (error: unknown): ProbeOutcome => ({ ok: false, step: "token", error });

  it("is healthy when the read answered, or answered that the probe order does not exist", () => {
    expect(probeVerdict({ ok: true })).toEqual({ healthy: true });
    expect(probeVerdict(read(apiError(404)))).toEqual({ healthy: true });
    expect(probeVerdict(read(apiError(404, ["ORDER_NOT_FOUND"])))).toEqual({ healthy: true });
    expect(probeVerdict(read(apiError(400, ["ORDER_NOT_FOUND"])))).toEqual({ healthy: true });
  });

  it("does not count a not-found as healthy unless the read said it", () => {
    expect(probeVerdict(read(apiError(400, ["ORDER_REF_IS_REQUIRED"])))).toEqual({
      healthy: false,
      failure: { step: "read", reason: "unexpected", status: 400, errorCodes: ["ORDER_REF_IS_REQUIRED"] },
    });
    expect(probeVerdict(token(apiError(404)))).toEqual({
      healthy: false,
      failure: { step: "token", reason: "unexpected", status: 404, errorCodes: [] },
    });
  });

  it.each([
    [429, "throttled"],
    [500, "server-error"],
    [503, "server-error"],
    [401, "auth"],
    [403, "auth"],
    [422, "unexpected"],
  ] as const)("names %i %s, with Imburse's codes and correlation id", (status, reason) => {
    expect(probeVerdict(read(apiError(status, ["SOME_CODE"], "IMB-7")))).toEqual({
      healthy: false,
      failure: { step: "read", reason, status, errorCodes: ["SOME_CODE"], imburseCorrelationId: "IMB-7" },
    });
  });

  it("names network failures by socket code and anything else by error name", () => {
    expect(probeVerdict(token(networkError("ECONNREFUSED")))).toEqual({
      healthy: false,
      failure: { step: "token", reason: "network", errorCodes: ["ECONNREFUSED"] },
    });
    expect(probeVerdict(token(new TypeError("boom")))).toEqual({
      healthy: false,
      failure: { step: "token", reason: "unexpected", errorCodes: ["TypeError"] },
    });
  });
});

/** A clock that answers the given instants in turn. */
const ticks =
  (...instants: number[]) =>
  () =>
    instants.shift() ?? Number.NaN;

describe("probeImburse against the simulator", () => {
  let simulator: Simulator;
  let notFoundAs400: Simulator;

  beforeAll(async () => {
    [simulator, notFoundAs400] = await Promise.all([
      startSimulator({ seed: 1 }),
      startSimulator({ seed: 1, orderNotFoundStatus: 400 }),
    ]);
  });
  afterAll(() => Promise.all([simulator.close(), notFoundAs400.close()]));
  beforeEach(() => simulator.reset());

  const probe = (
    target = simulator,
    credentials: ImburseCredentials = DEMO_CREDENTIALS,
    probeOrderRef = PROBE_REF,
  ) =>
    probeImburse(
      new ImburseClient({
        baseUrl: target.url,
        credentials: staticCredentials(credentials),
        timeoutMs: 300,
        tokenCache: new TokenCache(),
      }),
      { probeOrderRef, correlationId: "probe-corr-1", clock: ticks(1_000, 1_042) },
    );

  it("is healthy on ORDER_NOT_FOUND as 404: one token exchange, one GET, both with the correlation id", async () => {
    expect(await probe()).toEqual({ healthy: true, latencyMs: 42 });
    const [exchange, read, ...more] = simulator.requests;
    expect(more).toEqual([]);
    expect(exchange).toMatchObject({ route: "token", status: 201 });
    expect(read).toMatchObject({ route: "get", status: 404, path: `/v1/order-management/${PROBE_REF}` });
    expect(exchange?.headers["x-correlation-id"]).toBe("probe-corr-1");
    expect(read?.headers["x-correlation-id"]).toBe("probe-corr-1");
  });

  it("is healthy on ORDER_NOT_FOUND as 400, and when the probe order exists", async () => {
    expect(await probe(notFoundAs400)).toEqual({ healthy: true, latencyMs: 42 });
    expect(notFoundAs400.requestsTo("get")[0]?.status).toBe(400);

    const existing = new ImburseClient({
      baseUrl: simulator.url,
      credentials: staticCredentials(DEMO_CREDENTIALS),
    });
    await existing.createOrder(order("PROBE-EXISTS"));
    expect(await probe(simulator, DEMO_CREDENTIALS, "PROBE-EXISTS")).toEqual({
      healthy: true,
      latencyMs: 42,
    });
    expect(simulator.requestsTo("get")[0]?.status).toBe(200);
  });

  it("is unhealthy during an outage (503), at the token exchange or at the read", async () => {
    simulator.faults.set("*:503");
    expect(await probe()).toEqual({
      healthy: false,
      latencyMs: 42,
      failure: {
        step: "token",
        reason: "server-error",
        status: 503,
        errorCodes: ["SERVICE_UNAVAILABLE"],
        imburseCorrelationId: expect.any(String),
      },
    });
    simulator.faults.clear();
    simulator.faults.enqueue({ route: "get", kind: 503 });
    expect((await probe()).failure).toMatchObject({ step: "read", reason: "server-error", status: 503 });
  });

  it("is unhealthy when throttled (429), with Imburse's correlation id", async () => {
    simulator.faults.enqueue({ route: "get", kind: 429, retryAfter: 1 });
    const result = await probe();
    expect(result).toEqual({
      healthy: false,
      latencyMs: 42,
      failure: {
        step: "read",
        reason: "throttled",
        status: 429,
        errorCodes: ["TOO_MANY_REQUESTS"],
        imburseCorrelationId: expect.any(String),
      },
    });
    const [read] = simulator.requestsTo("get");
    expect(result.failure?.imburseCorrelationId).toBe(`SIM:${read?.seq}`);
  });

  it("is unhealthy on a reset connection and on a timeout", async () => {
    simulator.faults.set("token:reset");
    expect(await probe()).toEqual({
      healthy: false,
      latencyMs: 42,
      failure: { step: "token", reason: "network", errorCodes: ["ECONNRESET"] },
    });
    simulator.faults.set("get:timeout");
    expect((await probe()).failure).toEqual({ step: "read", reason: "network", errorCodes: ["ETIMEDOUT"] });
  });

  it("is unhealthy (auth) when the key is refused", async () => {
    const wrongKey = { ...DEMO_CREDENTIALS, privateKey: Buffer.from("test-private-key").toString("base64") };
    expect(await probe(simulator, wrongKey)).toEqual({
      healthy: false,
      latencyMs: 42,
      failure: {
        step: "token",
        reason: "auth",
        status: 401,
        errorCodes: ["SIGNATURE_IS_INVALID"],
        imburseCorrelationId: expect.any(String),
      },
    });
    expect(simulator.requestsTo("get")).toEqual([]);
  });
});

describe("health probe handler", () => {
  let simulator: Simulator;
  let local: LocalEnvironment;
  let lines: Array<Record<string, unknown>>;

  beforeAll(async () => {
    simulator = await startSimulator({ seed: 1 });
    local = await startLocalEnvironment({
      credentials: { ...DEMO_CREDENTIALS },
      imburseBaseUrl: simulator.url,
      settings: { imburseTimeoutMs: 500 },
    });
  });
  afterAll(() => Promise.all([local.stop(), simulator.close()]));

  beforeEach(() => {
    for (const [name, value] of Object.entries(local.env)) vi.stubEnv(name, value);
    vi.stubEnv("POWERTOOLS_METRICS_DISABLED", "false");
    lines = captureJsonOutput();
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it.each(["..", "has space", "x".repeat(51)])("refuses to assemble with RELAY_PROBE_ORDER_REF %j", (ref) => {
    vi.stubEnv("RELAY_PROBE_ORDER_REF", ref);
    expect(() => createHealthProbeHandler()).toThrow(
      /^Invalid relay configuration: RELAY_PROBE_ORDER_REF: not a valid orderRef$/,
    );
  });

  it("reports 1 then 0 during an outage, exchanging a token on every run, and never throws", async () => {
    const ids = ["probe-run-1", "probe-run-2", "probe-run-3"];
    let now = 0;
    const handler = createHealthProbeHandler({
      correlationId: () => ids.shift() ?? "",
      clock: () => (now += 25),
    });
    const invoke = () =>
      handler({}, lambdaContext({ functionName: "HealthProbe", timeoutMs: 30_000, region: "us-east-1" }));

    expect(await invoke()).toEqual({ healthy: true, latencyMs: 25 });
    simulator.faults.set("*:503");
    const outage = await invoke();
    simulator.faults.clear();
    expect(outage).toMatchObject({
      healthy: false,
      latencyMs: 25,
      failure: { step: "token", reason: "server-error", status: 503 },
    });
    expect(await invoke()).toEqual({ healthy: true, latencyMs: 25 });

    const exchanges = simulator.requestsTo("token");
    expect(exchanges.map((request) => request.headers["x-correlation-id"])).toEqual([
      "probe-run-1",
      "probe-run-2",
      "probe-run-3",
    ]);
    expect(simulator.requestsTo("get").map((request) => request.headers["x-correlation-id"])).toEqual([
      "probe-run-1",
      "probe-run-3",
    ]);

    const emf = lines.filter((line) => METRICS.probeHealthy in line);
    expect(emf.map((blob) => [blob[METRICS.probeHealthy], blob[METRICS.probeLatency]])).toEqual([
      [1, 25],
      [0, 25],
      [1, 25],
    ]);
    // Local mode's stage: the dimension that keeps one stage's alarms off another's metrics.
    expect(emf[0]).toMatchObject({ service: "imburse-relay", stage: "local" });
    expect(emf[0]?._aws).toMatchObject({
      CloudWatchMetrics: [
        {
          Namespace: METRICS.namespace,
          Dimensions: [["service", "stage"]],
          Metrics: [
            { Name: METRICS.probeHealthy, Unit: "Count" },
            { Name: METRICS.probeLatency, Unit: "Milliseconds" },
          ],
        },
      ],
    });

    const unhealthy = lines.find((line) => line.message === "Imburse is unhealthy");
    expect(unhealthy).toMatchObject({
      level: "WARN",
      correlation_id: "probe-run-2",
      failure: { step: "token", reason: "server-error", status: 503 },
    });
    expect(lines.find((line) => line.message === "Imburse is healthy")?.correlation_id).toBe("probe-run-1");
  });
});
