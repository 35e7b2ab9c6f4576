import {
  GetEventSourceMappingCommand,
  LambdaClient,
  ListEventSourceMappingsCommand,
  type ListEventSourceMappingsCommandInput,
  ResourceNotFoundException,
  UpdateEventSourceMappingCommand,
} from "@aws-sdk/client-lambda";
import type { Context } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { METRICS } from "../lib/config/names.ts";
import {
  type LambdaApiStandIn,
  type LocalEventSourceMapping,
  startLambdaApiStandIn,
} from "../lib/local/lambda-api.ts";
import { lambdaContext } from "../lib/local/lambda-event.ts";
import { type AlarmState, alarmStateChangeEvent } from "../lib/ops/alarm.ts";
import { applyBreaker, BreakerUpdateError, breakerAction } from "../lib/ops/circuit-breaker.ts";
import { captureJsonOutput } from "./support/json-output.ts";

const REGION = "us-east-1";
const FUNCTION_ARN = `arn:aws:lambda:${REGION}:000000000000:function:imburse-relay-local-Submit`;
const ORDERS_ARN = `arn:aws:sqs:${REGION}:000000000000:imburse-relay-local-Orders`;
const RETRY_ARN = `arn:aws:sqs:${REGION}:000000000000:imburse-relay-local-Retry`;
const ORDERS_UUID = "11111111-1111-4111-8111-111111111111";
const RETRY_UUID = "22222222-2222-4222-8222-222222222222";
const UNKNOWN_UUID = "99999999-9999-4999-8999-999999999999";

/** Alarm changes happen after the mappings were created, each later than the last. */
let alarmClock = Date.now() + 60_000;
function nextAlarmTime(): Date {
  alarmClock += 1000;
  return new Date(alarmClock);
}

function alarmEvent(
  current: AlarmState,
  previous: AlarmState = current === "ALARM" ? "OK" : "ALARM",
  time = nextAlarmTime(),
) {
  return alarmStateChangeEvent({
    alarmName: "imburse-relay-local-ImburseUnavailable",
    previous,
    current,
    time,
    region: REGION,
    account: "000000000000",
  });
}

/** A stand-in holding the two mappings of the submit function, enabled. */
async function standInWithMappings(options: { settleMs?: number; clock?: () => number } = {}) {
  const api = await startLambdaApiStandIn(options);
  api.addMapping({ uuid: ORDERS_UUID, eventSourceArn: ORDERS_ARN, functionArn: FUNCTION_ARN, enabled: true });
  api.addMapping({ uuid: RETRY_UUID, eventSourceArn: RETRY_ARN, functionArn: FUNCTION_ARN, enabled: true });
  return api;
}

function clientFor(api: LambdaApiStandIn): LambdaClient {
  return new LambdaClient({
    endpoint: api.url,
    region: REGION,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 1,
  });
}

describe("breakerAction", () => {
  const valid = alarmEvent("ALARM");
  it.each([
    ["ALARM", "pause"],
    ["OK", "resume"],
    ["INSUFFICIENT_DATA", "ignore"],
    ["PENDING", "ignore"],
    [undefined, "ignore"],
  ])("state %s → %s", (value, action) => {
    const decision = breakerAction({ ...valid, detail: { ...valid.detail, state: { value } } });
    expect(decision.action).toBe(action);
    expect(decision.reason).toContain("imburse-relay-local-ImburseUnavailable");
  });

  it("names the alarm, its state and when it changed on a pause or resume", () => {
    const time = new Date("2026-05-01T12:00:00.000Z");
    expect(breakerAction(alarmEvent("OK", "ALARM", time))).toEqual({
      action: "resume",
      alarmName: "imburse-relay-local-ImburseUnavailable",
      state: "OK",
      reason: "imburse-relay-local-ImburseUnavailable is OK",
      changedAt: time,
    });
  });

  it("leaves a mapping alone when the alarm event is older than the mapping's last change", async () => {
    let now = Date.parse("2026-05-01T12:00:00Z");
    const api = await standInWithMappings({ clock: () => now });
    const lambda = clientFor(api);
    try {
      now += 60_000;
      const alarmedAt = new Date(now);
      now += 1_000;
      await applyBreaker(lambda, [ORDERS_UUID], "pause", alarmedAt);
      now += 60_000;
      await applyBreaker(lambda, [ORDERS_UUID], "resume", new Date(now - 1_000));
      now += 1_000;
      // The ALARM delivered again after the OK: EventBridge keeps no order.
      const late = await applyBreaker(lambda, [ORDERS_UUID], "pause", alarmedAt);
      expect(late).toEqual([
        { uuid: ORDERS_UUID, before: "Enabled", after: "Enabled", changed: false, stale: true },
      ]);
      expect(api.mapping(ORDERS_UUID)?.enabled).toBe(true);
    } finally {
      lambda.destroy();
      await api.close();
    }
  });

  it.each([
    ["not an object", "ALARM", /not a JSON object/],
    ["null", null, /not a JSON object/],
    ["an array", [valid], /not a JSON object/],
    [
      "another source",
      { ...valid, source: "aws.health" },
      /not a CloudWatch alarm state change.*aws\.health/,
    ],
    ["another detail-type", { ...valid, "detail-type": "Scheduled Event" }, /Scheduled Event/],
    ["no detail", { ...valid, detail: undefined }, /alarmName is missing/],
    ["an empty alarm name", { ...valid, detail: { ...valid.detail, alarmName: "" } }, /alarmName is missing/],
    [
      "a state without value",
      { ...valid, detail: { ...valid.detail, state: "ALARM" } },
      /is not an alarm state/,
    ],
  ])("ignores %s", (_, event, reason) => {
    const decision = breakerAction(event);
    expect(decision.action).toBe("ignore");
    expect(decision.reason).toMatch(reason);
  });
});

describe("applyBreaker on the Lambda API stand-in", () => {
  let api: LambdaApiStandIn;
  let lambda: LambdaClient;

  beforeEach(async () => {
    api = await standInWithMappings();
    lambda = clientFor(api);
  });
  afterEach(async () => {
    lambda.destroy();
    await api.close();
  });

  it("pauses both mappings, then a duplicate event updates nothing, then resumes them", async () => {
    const changes: LocalEventSourceMapping[] = [];
    api.onChange((mapping) => changes.push(mapping));

    const paused = await applyBreaker(lambda, [ORDERS_UUID, RETRY_UUID], "pause");
    expect(paused).toEqual([
      { uuid: ORDERS_UUID, before: "Enabled", after: "Disabled", changed: true },
      { uuid: RETRY_UUID, before: "Enabled", after: "Disabled", changed: true },
    ]);
    expect(api.mapping(ORDERS_UUID)?.enabled).toBe(false);
    expect(api.mapping(RETRY_UUID)?.state).toBe("Disabled");
    expect(api.calls.UpdateEventSourceMapping).toBe(2);
    expect(changes.map((mapping) => [mapping.uuid, mapping.enabled])).toEqual([
      [ORDERS_UUID, false],
      [RETRY_UUID, false],
    ]);

    const again = await applyBreaker(lambda, [ORDERS_UUID, RETRY_UUID], "pause");
    expect(again.map((result) => [result.before, result.after, result.changed])).toEqual([
      ["Disabled", "Disabled", false],
      ["Disabled", "Disabled", false],
    ]);
    expect(api.calls.UpdateEventSourceMapping).toBe(2);
    expect(api.calls.GetEventSourceMapping).toBe(4);
    expect(changes).toHaveLength(2);

    const resumed = await applyBreaker(lambda, [ORDERS_UUID, RETRY_UUID], "resume");
    expect(resumed.every((result) => result.changed && result.after === "Enabled")).toBe(true);
    expect(api.mapping(ORDERS_UUID)?.enabled).toBe(true);
    expect(api.mapping(RETRY_UUID)?.enabled).toBe(true);
    expect(api.calls.UpdateEventSourceMapping).toBe(4);
  });

  it("still pauses the other mapping when one is unknown, then throws naming the unknown one", async () => {
    const failure = await applyBreaker(lambda, [UNKNOWN_UUID, RETRY_UUID], "pause").catch((error) => error);
    expect(failure).toBeInstanceOf(BreakerUpdateError);
    expect(failure.message).toContain(`Could not pause 1 of 2 event source mappings: ${UNKNOWN_UUID}`);
    expect(failure.message).toContain("ResourceNotFoundException");
    expect(failure.message).not.toContain(RETRY_UUID);
    expect(failure.failures.map((f: { uuid: string }) => f.uuid)).toEqual([UNKNOWN_UUID]);
    expect(failure.failures[0].error).toBeInstanceOf(ResourceNotFoundException);
    expect(failure.results).toEqual([
      { uuid: RETRY_UUID, before: "Enabled", after: "Disabled", changed: true },
    ]);
    expect(api.mapping(RETRY_UUID)?.enabled).toBe(false);
    expect(api.mapping(ORDERS_UUID)?.enabled).toBe(true);
  });
});

describe("applyBreaker with mappings that take time to settle", () => {
  let api: LambdaApiStandIn;
  let lambda: LambdaClient;
  const clock = { now: 1_000_000 };

  beforeEach(async () => {
    api = await standInWithMappings({ settleMs: 5_000, clock: () => clock.now });
    lambda = clientFor(api);
  });
  afterEach(async () => {
    lambda.destroy();
    await api.close();
  });

  it("leaves a mapping already on its way alone, and reverses one going the other way", async () => {
    const first = await applyBreaker(lambda, [ORDERS_UUID], "pause");
    expect(first).toEqual([{ uuid: ORDERS_UUID, before: "Enabled", after: "Disabling", changed: true }]);

    const duplicate = await applyBreaker(lambda, [ORDERS_UUID], "pause");
    expect(duplicate[0]).toMatchObject({ before: "Disabling", changed: false });
    expect(api.calls.UpdateEventSourceMapping).toBe(1);

    const resumed = await applyBreaker(lambda, [ORDERS_UUID], "resume");
    expect(resumed[0]).toMatchObject({ before: "Disabling", after: "Enabling", changed: true });
    expect((await applyBreaker(lambda, [ORDERS_UUID], "resume"))[0]?.changed).toBe(false);

    clock.now += 5_000;
    expect(api.mapping(ORDERS_UUID)?.state).toBe("Enabled");
    expect(api.calls.UpdateEventSourceMapping).toBe(2);
  });

  it("does not take Updating for settled: it asks again in either direction", async () => {
    await lambda.send(new UpdateEventSourceMappingCommand({ UUID: ORDERS_UUID, Enabled: false }));
    clock.now += 5_000;
    await lambda.send(new UpdateEventSourceMappingCommand({ UUID: ORDERS_UUID, BatchSize: 5 }));
    expect(api.mapping(ORDERS_UUID)).toMatchObject({ state: "Updating", enabled: false, batchSize: 5 });

    const resumed = await applyBreaker(lambda, [ORDERS_UUID], "resume");
    expect(resumed[0]).toMatchObject({ before: "Updating", after: "Enabling", changed: true });

    clock.now += 5_000;
    await lambda.send(new UpdateEventSourceMappingCommand({ UUID: ORDERS_UUID, BatchSize: 7 }));
    const paused = await applyBreaker(lambda, [ORDERS_UUID], "pause");
    expect(paused[0]).toMatchObject({ before: "Updating", after: "Disabling", changed: true });
  });
});

describe("the Lambda API stand-in over the SDK", () => {
  let api: LambdaApiStandIn;
  let lambda: LambdaClient;

  beforeEach(async () => {
    api = await standInWithMappings();
    lambda = clientFor(api);
  });
  afterEach(async () => {
    lambda.destroy();
    await api.close();
  });

  it("answers GetEventSourceMapping with the mapping's configuration", async () => {
    const mapping = await lambda.send(new GetEventSourceMappingCommand({ UUID: ORDERS_UUID }));
    expect(mapping).toMatchObject({
      UUID: ORDERS_UUID,
      EventSourceArn: ORDERS_ARN,
      FunctionArn: FUNCTION_ARN,
      State: "Enabled",
      BatchSize: 10,
    });
    expect(mapping.LastModified).toBeInstanceOf(Date);
  });

  it("lists mappings by function (name, partial or full ARN) and event source, a page at a time", async () => {
    const other = api.addMapping({
      eventSourceArn: ORDERS_ARN,
      functionArn: `arn:aws:lambda:${REGION}:000000000000:function:Other`,
      enabled: false,
    });
    const uuids = async (input: ListEventSourceMappingsCommandInput) =>
      ((await lambda.send(new ListEventSourceMappingsCommand(input))).EventSourceMappings ?? []).map(
        (m) => m.UUID,
      );

    expect(await uuids({})).toEqual([ORDERS_UUID, RETRY_UUID, other.uuid]);
    expect(await uuids({ FunctionName: "imburse-relay-local-Submit" })).toEqual([ORDERS_UUID, RETRY_UUID]);
    expect(await uuids({ FunctionName: "000000000000:function:Other" })).toEqual([other.uuid]);
    expect(await uuids({ FunctionName: FUNCTION_ARN, EventSourceArn: RETRY_ARN })).toEqual([RETRY_UUID]);
    expect(await uuids({ EventSourceArn: ORDERS_ARN })).toEqual([ORDERS_UUID, other.uuid]);

    const first = await lambda.send(new ListEventSourceMappingsCommand({ MaxItems: 2 }));
    expect(first.EventSourceMappings).toHaveLength(2);
    const second = await lambda.send(
      new ListEventSourceMappingsCommand({ MaxItems: 2, Marker: first.NextMarker }),
    );
    expect(second.EventSourceMappings?.map((m) => m.UUID)).toEqual([other.uuid]);
    expect(second.NextMarker).toBeUndefined();
    expect(api.calls.ListEventSourceMappings).toBe(7);
  });

  it("applies BatchSize and refuses invalid values as the service does", async () => {
    const updated = await lambda.send(
      new UpdateEventSourceMappingCommand({ UUID: RETRY_UUID, BatchSize: 3 }),
    );
    expect(updated.BatchSize).toBe(3);
    expect(updated.State).toBe("Enabled");
    await expect(
      lambda.send(new UpdateEventSourceMappingCommand({ UUID: RETRY_UUID, BatchSize: 0 })),
    ).rejects.toMatchObject({ name: "InvalidParameterValueException", $metadata: { httpStatusCode: 400 } });
  });

  it("answers an unknown UUID with the SDK's ResourceNotFoundException", async () => {
    const error = await lambda.send(new GetEventSourceMappingCommand({ UUID: UNKNOWN_UUID })).catch((e) => e);
    expect(error).toBeInstanceOf(ResourceNotFoundException);
    expect(error).toMatchObject({
      Type: "User",
      message: "The resource you requested does not exist.",
      $metadata: { httpStatusCode: 404 },
    });
    expect(api.calls.GetEventSourceMapping).toBe(1);
  });

  it("stops telling a listener that unsubscribed", async () => {
    const seen: boolean[] = [];
    const unsubscribe = api.onChange((mapping) => seen.push(mapping.enabled));
    await lambda.send(new UpdateEventSourceMappingCommand({ UUID: ORDERS_UUID, Enabled: false }));
    unsubscribe();
    await lambda.send(new UpdateEventSourceMappingCommand({ UUID: ORDERS_UUID, Enabled: true }));
    expect(seen).toEqual([false]);
  });
});

describe("the circuit breaker handler", () => {
  let api: LambdaApiStandIn;
  let output: Array<Record<string, unknown>>;

  beforeEach(async () => {
    api = await standInWithMappings();
    for (const [name, value] of Object.entries({
      AWS_ENDPOINT_URL_LAMBDA: api.url,
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      RELAY_EVENT_SOURCE_MAPPING_IDS: `${ORDERS_UUID}, ${RETRY_UUID}`,
      POWERTOOLS_METRICS_DISABLED: "false",
      POWERTOOLS_LOG_LEVEL: "INFO",
    })) {
      vi.stubEnv(name, value);
    }
    output = captureJsonOutput();
    vi.resetModules();
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
    await api.close();
  });

  const context = (): Context =>
    lambdaContext({ functionName: "imburse-relay-local-CircuitBreaker", timeoutMs: 30_000, region: REGION });
  const logs = () => output.filter((line) => !("_aws" in line));
  const transitions = () => output.filter((line) => "_aws" in line && METRICS.breakerTransition in line);

  it("opens on ALARM and closes on OK, logging with the event id and counting only real transitions", async () => {
    const { handler } = await import("../functions/circuit-breaker.ts");

    const alarm = alarmEvent("ALARM");
    const opened = await handler(alarm, context());
    expect(opened).toMatchObject({ action: "pause", results: [{ changed: true }, { changed: true }] });
    expect(api.mapping(ORDERS_UUID)?.enabled).toBe(false);
    expect(api.mapping(RETRY_UUID)?.enabled).toBe(false);

    const lines = logs().filter((line) => line.correlation_id === alarm.id);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) {
      expect(line).toMatchObject({
        alarm_name: "imburse-relay-local-ImburseUnavailable",
        alarm_state: "ALARM",
      });
    }
    expect(
      lines.filter((line) => line.message === "Event source mapping updated").map((l) => l.mapping_uuid),
    ).toEqual([ORDERS_UUID, RETRY_UUID]);
    // Two blobs: the count with the service dimension only, and the single metric dimensioned by state.
    const byState = transitions().filter((blob) => "state" in blob);
    const count = transitions().filter((blob) => !("state" in blob));
    expect(byState).toEqual([expect.objectContaining({ [METRICS.breakerTransition]: 1, state: "open" })]);
    expect(count).toEqual([
      expect.objectContaining({ [METRICS.breakerTransition]: 1, service: "imburse-relay" }),
    ]);
    expect(JSON.stringify(byState[0]?._aws)).toContain(METRICS.namespace);
    expect(JSON.stringify(byState[0]?._aws)).toContain('["service","state"]');

    // EventBridge delivers at least once: the same event again changes nothing and counts nothing.
    output.length = 0;
    const duplicate = await handler(alarm, context());
    expect(duplicate).toMatchObject({ results: [{ changed: false }, { changed: false }] });
    expect(transitions()).toEqual([]);
    expect(api.calls.UpdateEventSourceMapping).toBe(2);

    output.length = 0;
    const ok = alarmEvent("OK");
    await handler(ok, context());
    expect(api.mapping(ORDERS_UUID)?.enabled).toBe(true);
    expect(api.mapping(RETRY_UUID)?.enabled).toBe(true);
    expect(transitions()).toContainEqual(expect.objectContaining({ state: "closed" }));
    const closing = logs().filter((line) => line.correlation_id === ok.id);
    expect(closing.length).toBeGreaterThan(0);
    expect(closing.every((line) => line.alarm_state === "OK")).toBe(true);
    expect(logs().some((line) => line.correlation_id === alarm.id || line.alarm_state === "ALARM")).toBe(
      false,
    );
  });

  it("ignores INSUFFICIENT_DATA, touching no mapping", async () => {
    const { handler } = await import("../functions/circuit-breaker.ts");
    const event = alarmEvent("INSUFFICIENT_DATA");
    const outcome = await handler(event, context());
    expect(outcome).toMatchObject({ action: "ignore" });
    expect(api.calls.GetEventSourceMapping).toBeUndefined();
    expect(logs()).toContainEqual(
      expect.objectContaining({
        message: "Alarm state change ignored",
        correlation_id: event.id,
        alarm_state: "INSUFFICIENT_DATA",
      }),
    );
    expect(transitions()).toEqual([]);
  });

  it("fails the invocation naming the mapping it could not update, after updating the others", async () => {
    vi.stubEnv("RELAY_EVENT_SOURCE_MAPPING_IDS", `${ORDERS_UUID},${UNKNOWN_UUID}`);
    const { handler } = await import("../functions/circuit-breaker.ts");
    const event = alarmEvent("ALARM");
    await expect(handler(event, context())).rejects.toThrow(UNKNOWN_UUID);
    expect(api.mapping(ORDERS_UUID)?.enabled).toBe(false);
    const error = logs().find((line) => line.level === "ERROR");
    expect(error).toMatchObject({ correlation_id: event.id, failed: [UNKNOWN_UUID] });
    expect(transitions()).toContainEqual(expect.objectContaining({ state: "open" }));
  });
});
