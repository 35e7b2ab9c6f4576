/**
 * The circuit breaker: its decision (open, trial, closed; hysteresis in alarm periods), the convergence of
 * the event source mappings over the Lambda API stand-in, and the handler end to end: alarms read over the
 * SDK from the CloudWatch stand-in, state kept on dynalite, two fresh handler instances sharing nothing
 * else.
 */

import type { AddressInfo } from "node:net";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { DynamoDBClient, GetItemCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import {
  GetEventSourceMappingCommand,
  LambdaClient,
  ListEventSourceMappingsCommand,
  type ListEventSourceMappingsCommandInput,
  ResourceNotFoundException,
  UpdateEventSourceMappingCommand,
} from "@aws-sdk/client-lambda";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { Context } from "aws-lambda";
import dynalite from "dynalite";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { BreakerPlan } from "../../lib/config/index.ts";
import { BREAKER_STATE_KEY, METRICS, TRIAL_SCALING } from "../../lib/config/index.ts";
import {
  alarmStateChangeEvent,
  type CloudWatchStandIn,
  createLedgerTable,
  type LambdaApiStandIn,
  type LocalAlarm,
  lambdaContext,
  startCloudWatchStandIn,
  startLambdaApiStandIn,
} from "../../lib/local/index.ts";
import { cloudWatchAlarmReader } from "../../lib/ops/alarm-states.ts";
import {
  type AlarmReading,
  type BreakerRules,
  type BreakerState,
  BreakerUpdateError,
  breakerTrigger,
  convergeMappings,
  INITIAL_BREAKER_STATE,
  mappingTargets,
  nextBreakerState,
} from "../../lib/ops/circuit-breaker.ts";
import { createCircuitBreakerHandler } from "../../lib/ops/circuit-breaker-handler.ts";
import type { AlarmState } from "../../lib/ops/index.ts";
import { captureJsonOutput } from "../support/json-output.ts";

const REGION = "us-east-1";
const FUNCTION_ARN = `arn:aws:lambda:${REGION}:000000000000:function:imburse-relay-local-Submit`;
const ORDERS_ARN = `arn:aws:sqs:${REGION}:000000000000:imburse-relay-local-Orders`;
const RETRY_ARN = `arn:aws:sqs:${REGION}:000000000000:imburse-relay-local-Retry`;
const ORDERS_UUID = "11111111-1111-4111-8111-111111111111";
const RETRY_UUID = "22222222-2222-4222-8222-222222222222";
const UNKNOWN_UUID = "99999999-9999-4999-8999-999999999999";
const UNAVAILABLE = "imburse-relay-local-ImburseUnavailable";
const ERROR_RATE = "imburse-relay-local-ImburseErrorRate";
const credentials = { accessKeyId: "test", secretAccessKey: "test" };

const PERIOD_MS = 300_000;
const RULES: BreakerRules = {
  periodSeconds: 300,
  minimumOpenPeriods: 2,
  healthyPeriodsToClose: 1,
  trialPeriods: 2,
};
const CONFIGURED = [
  { uuid: ORDERS_UUID, batchSize: 10, maximumConcurrency: 5 },
  { uuid: RETRY_UUID, batchSize: 10, maximumConcurrency: 3 },
];
const PLAN: BreakerPlan = {
  ...RULES,
  alarms: { unavailable: UNAVAILABLE, errorRate: ERROR_RATE },
  mappings: CONFIGURED,
};

const T0 = Date.parse("2026-01-05T10:00:00.000Z");
const at = (periods: number) => new Date(T0 + periods * PERIOD_MS);
const reading = (unavailable: AlarmState, errorRate: AlarmState = "OK"): AlarmReading => ({
  unavailable,
  errorRate,
});

/** A stand-in holding the two mappings of the submit function, enabled at their configured values. */
async function standInWithMappings(options: { settleMs?: number; clock?: () => number } = {}) {
  const api = await startLambdaApiStandIn(options);
  api.addMapping({
    uuid: ORDERS_UUID,
    eventSourceArn: ORDERS_ARN,
    functionArn: FUNCTION_ARN,
    enabled: true,
    maximumConcurrency: 5,
  });
  api.addMapping({
    uuid: RETRY_UUID,
    eventSourceArn: RETRY_ARN,
    functionArn: FUNCTION_ARN,
    enabled: true,
    maximumConcurrency: 3,
  });
  return api;
}

function clientFor(api: LambdaApiStandIn): LambdaClient {
  return new LambdaClient({ endpoint: api.url, region: REGION, credentials, maxAttempts: 1 });
}

describe("nextBreakerState", () => {
  /** Runs the decision once per call (the schedule's runs), returning the phases it went through. */
  function drive(
    steps: Array<[periods: number, alarms: AlarmReading]>,
    start: BreakerState = INITIAL_BREAKER_STATE,
  ) {
    let state = start;
    const phases: string[] = [];
    for (const [periods, alarms] of steps) {
      const decision = nextBreakerState(state, alarms, at(periods), RULES);
      state = decision.state;
      phases.push(decision.transition ? `${state.phase}!` : state.phase);
    }
    return { state, phases };
  }

  it("opens at once on ALARM; stays closed on OK and on INSUFFICIENT_DATA", () => {
    expect(
      drive([
        [0, reading("OK")],
        [0.2, reading("INSUFFICIENT_DATA")],
        [0.4, reading("ALARM")],
      ]).phases,
    ).toEqual(["closed", "closed", "open!"]);
  });

  it("stays open for minimumOpenPeriods however soon the alarm is OK, then needs healthyPeriodsToClose", () => {
    const open: BreakerState = { phase: "open", since: at(0).toISOString() };
    // OK from 0.2 periods on: 1 healthy period is reached at 1.2, but the minimum open time only at 2.
    const { phases } = drive(
      [0.2, 0.6, 1.2, 1.8, 2.0].map((p) => [p, reading("OK")]),
      open,
    );
    expect(phases).toEqual(["open", "open", "open", "open", "trial!"]);
  });

  it("counts healthy periods from the last ALARM: one in between starts the count again", () => {
    const open: BreakerState = { phase: "open", since: at(0).toISOString() };
    const { phases, state } = drive(
      [
        [1.0, reading("OK")],
        [1.8, reading("ALARM")],
        [2.0, reading("OK")],
        [2.8, reading("OK")],
        [3.0, reading("OK")],
      ],
      open,
    );
    expect(phases).toEqual(["open", "open", "open", "open", "trial!"]);
    expect(state.since).toBe(at(3).toISOString());
  });

  it("a trial that sees the error rate (or the probe) in ALARM opens again, for the full minimum time", () => {
    const trial: BreakerState = { phase: "trial", since: at(0).toISOString() };
    expect(nextBreakerState(trial, reading("OK", "ALARM"), at(0.5), RULES)).toMatchObject({
      state: { phase: "open", since: at(0.5).toISOString() },
      transition: true,
    });
    expect(nextBreakerState(trial, reading("ALARM", "OK"), at(0.5), RULES).state.phase).toBe("open");
  });

  it("closes only after trialPeriods with the error rate out of ALARM throughout", () => {
    const trial: BreakerState = { phase: "trial", since: at(0).toISOString() };
    const { phases } = drive(
      [
        [0.5, reading("OK")],
        [1.5, reading("OK", "INSUFFICIENT_DATA")],
        [1.9, reading("OK")],
        [2.0, reading("OK")],
      ],
      trial,
    );
    expect(phases).toEqual(["trial", "trial", "trial", "closed!"]);
  });

  it("cannot flap: orders failing while the probe passes cost one short trial every 3 periods, never a close", () => {
    // Every trial's traffic fails: the error-rate alarm is in ALARM in the period after each trial starts.
    let state: BreakerState = INITIAL_BREAKER_STATE;
    let errorRateFrom: number | undefined;
    const phases: string[] = [];
    for (let step = 0; step <= 5 * 24; step++) {
      const periods = step / 5; // the schedule: 5 runs a period, for 24 periods
      const errorRate =
        errorRateFrom !== undefined && periods >= errorRateFrom && periods < errorRateFrom + 1;
      const unavailable = step === 0 || errorRate;
      const decision = nextBreakerState(
        state,
        reading(unavailable ? "ALARM" : "OK", errorRate ? "ALARM" : "OK"),
        at(periods),
        RULES,
      );
      if (decision.transition) {
        phases.push(decision.state.phase);
        if (decision.state.phase === "trial") errorRateFrom = periods + 1;
      }
      state = decision.state;
    }
    expect(phases.filter((phase) => phase === "closed")).toEqual([]);
    // Open at 0, trial at 2, open at 3, trial at 5 (2 open, of which the last 1 healthy), …: 24 periods, 8 trials.
    expect(phases.filter((phase) => phase === "trial").length).toBeLessThanOrEqual(24 / 3);
    expect(phases.slice(0, 4)).toEqual(["open", "trial", "open", "trial"]);
  });
});

describe("mappingTargets", () => {
  it("disables when open, runs the least traffic AWS allows in a trial, and the configured values when closed", () => {
    expect(mappingTargets("open", CONFIGURED)).toEqual([
      { uuid: ORDERS_UUID, enabled: false },
      { uuid: RETRY_UUID, enabled: false },
    ]);
    expect(mappingTargets("trial", CONFIGURED)).toEqual(
      CONFIGURED.map(({ uuid }) => ({ uuid, enabled: true, batchSize: 1, maximumConcurrency: 2 })),
    );
    expect(TRIAL_SCALING).toEqual({ batchSize: 1, maximumConcurrency: 2 });
    expect(mappingTargets("closed", CONFIGURED)).toEqual(CONFIGURED.map((m) => ({ ...m, enabled: true })));
  });
});

describe("breakerTrigger", () => {
  it("tells an alarm event, a scheduled run and anything else apart; none decides anything", () => {
    const event = alarmStateChangeEvent({
      alarmName: UNAVAILABLE,
      previous: "OK",
      current: "ALARM",
      time: at(0),
      region: REGION,
      account: "000000000000",
    });
    expect(breakerTrigger(event)).toEqual({ kind: "alarm", alarmName: UNAVAILABLE, alarmState: "ALARM" });
    expect(breakerTrigger({})).toEqual({ kind: "schedule" });
    expect(breakerTrigger({ source: "aws.scheduler" })).toEqual({ kind: "schedule" });
    expect(breakerTrigger("nonsense")).toEqual({ kind: "other" });
    expect(breakerTrigger({ source: "aws.s3" })).toEqual({ kind: "other" });
  });
});

describe("nextBreakerState's reasons: what the breaker's log tells an operator", () => {
  const open: BreakerState = { phase: "open", since: at(0).toISOString() };
  const trial: BreakerState = { phase: "trial", since: at(0).toISOString() };
  const reasonOf = (state: BreakerState, alarms: AlarmReading, periods: number) =>
    nextBreakerState(state, alarms, at(periods), RULES).reason;

  it("names the alarm and the periods counted against the rules", () => {
    expect(reasonOf(INITIAL_BREAKER_STATE, reading("ALARM"), 0)).toBe("Imburse unavailable is in ALARM");
    expect(reasonOf(INITIAL_BREAKER_STATE, reading("OK"), 0)).toBe("Imburse unavailable is not in ALARM");
    expect(reasonOf(open, reading("ALARM"), 1)).toBe("Imburse unavailable is still in ALARM");
    expect(reasonOf({ ...open, healthySince: at(0.5).toISOString() }, reading("OK"), 1.6)).toBe(
      "open 1 of at least 2 periods, healthy 1 of 1",
    );
    expect(reasonOf({ ...open, healthySince: at(0.5).toISOString() }, reading("OK"), 2.5)).toBe(
      "open 2 periods, Imburse unavailable out of ALARM for 2: trial at the least traffic",
    );
    expect(reasonOf(trial, reading("OK", "ALARM"), 0.5)).toBe("the trial failed: the error rate is in ALARM");
    expect(reasonOf(trial, reading("ALARM", "ALARM"), 0.5)).toBe(
      "the trial failed: Imburse unavailable is in ALARM",
    );
    expect(reasonOf(trial, reading("OK"), 1)).toBe("trial 1 of 2 periods, the error rate out of ALARM");
    expect(reasonOf(trial, reading("OK"), 2)).toBe(
      "the error rate stayed out of ALARM through 2 trial periods: configured traffic again",
    );
  });

  it("keeps an open breaker's healthy count while it waits, and drops it on ALARM", () => {
    const waiting = nextBreakerState(open, reading("OK"), at(0.5), RULES);
    expect(waiting).toMatchObject({
      state: { ...open, healthySince: at(0.5).toISOString() },
      transition: false,
    });
    expect(nextBreakerState(waiting.state, reading("ALARM"), at(1), RULES)).toEqual({
      state: open,
      transition: false,
      reason: "Imburse unavailable is still in ALARM",
    });
  });
});

describe("convergeMappings with an in-memory Lambda API", () => {
  /** Mappings by UUID as GetEventSourceMapping returns them, or what it throws; records each update. */
  function fakeLambda(mappings: Record<string, object | Error | string>) {
    const updates: object[] = [];
    const client = {
      send: async (command: unknown) => {
        if (command instanceof GetEventSourceMappingCommand) {
          const mapping = mappings[command.input.UUID ?? ""];
          if (mapping === undefined || mapping instanceof Error || typeof mapping === "string") throw mapping;
          return mapping;
        }
        if (command instanceof UpdateEventSourceMappingCommand) {
          updates.push(command.input);
          return { State: command.input.Enabled === false ? "Disabling" : "Enabling" };
        }
        throw new Error("unexpected command");
      },
    } as unknown as LambdaClient;
    return { client, updates };
  }

  it("enables a mapping that reports no state and no scaling, setting its configured values", async () => {
    const { client, updates } = fakeLambda({ [ORDERS_UUID]: { BatchSize: 10 } });
    const results = await convergeMappings(client, "closed", mappingTargets("closed", [CONFIGURED[0]!]));
    expect(updates).toEqual([{ UUID: ORDERS_UUID, Enabled: true, ScalingConfig: { MaximumConcurrency: 5 } }]);
    expect(results).toEqual([
      {
        uuid: ORDERS_UUID,
        before: undefined,
        after: "Enabling",
        changed: true,
        update: { Enabled: true, ScalingConfig: { MaximumConcurrency: 5 } },
      },
    ]);
  });

  it("names every mapping it could not converge, and why, after trying them all", async () => {
    const { client, updates } = fakeLambda({
      [ORDERS_UUID]: new TypeError("socket hang up"),
      [RETRY_UUID]: { State: "Enabled", BatchSize: 10, ScalingConfig: { MaximumConcurrency: 3 } },
      [UNKNOWN_UUID]: "not an error",
    });
    const targets = mappingTargets("open", [...CONFIGURED, { ...CONFIGURED[0]!, uuid: UNKNOWN_UUID }]);
    const failure = await convergeMappings(client, "open", targets).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(BreakerUpdateError);
    expect(failure).toMatchObject({
      name: "BreakerUpdateError",
      message: `Could not converge 2 of 3 event source mappings to open: ${ORDERS_UUID} (TypeError: socket hang up); ${UNKNOWN_UUID} (not an error)`,
      results: [{ uuid: RETRY_UUID, before: "Enabled", after: "Disabling", changed: true }],
    });
    expect(updates).toEqual([{ UUID: RETRY_UUID, Enabled: false }]);
  });
});

describe("breakerTrigger on odd events", () => {
  const alarmEvent = (detail: unknown) => ({
    source: "aws.cloudwatch",
    "detail-type": "CloudWatch Alarm State Change",
    detail,
  });

  it.each<[string, unknown, object]>([
    ["null", null, { kind: "other" }],
    ["an array", [], { kind: "other" }],
    ["a scheduler event with fields", { source: "aws.scheduler", id: "x" }, { kind: "schedule" }],
    ["another CloudWatch event", { source: "aws.cloudwatch", "detail-type": "Metric" }, { kind: "other" }],
    [
      "an alarm change from elsewhere",
      { source: "custom", "detail-type": "CloudWatch Alarm State Change" },
      { kind: "other" },
    ],
    ["an alarm change without detail", alarmEvent(undefined), { kind: "alarm" }],
    ["an alarm change with odd fields", alarmEvent({ alarmName: 7, state: "ALARM" }), { kind: "alarm" }],
    [
      "an alarm change whose state has no value",
      alarmEvent({ alarmName: "A", state: {} }),
      { kind: "alarm", alarmName: "A" },
    ],
  ])("takes %s for what it is", (_, event, expected) => {
    expect(breakerTrigger(event)).toStrictEqual(expected);
  });
});

describe("convergeMappings on the Lambda API stand-in", () => {
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

  it("opens, trials at 1 × 2, closes at the configured values, and a repeated run updates nothing", async () => {
    const open = await convergeMappings(lambda, "open", mappingTargets("open", CONFIGURED));
    expect(open.map((r) => [r.before, r.after, r.update])).toEqual([
      ["Enabled", "Disabled", { Enabled: false }],
      ["Enabled", "Disabled", { Enabled: false }],
    ]);
    expect(
      (await convergeMappings(lambda, "open", mappingTargets("open", CONFIGURED))).some((r) => r.changed),
    ).toBe(false);
    expect(api.calls.UpdateEventSourceMapping).toBe(2);

    await convergeMappings(lambda, "trial", mappingTargets("trial", CONFIGURED));
    for (const uuid of [ORDERS_UUID, RETRY_UUID]) {
      expect(api.mapping(uuid)).toMatchObject({ enabled: true, batchSize: 1, maximumConcurrency: 2 });
    }
    const trialAgain = await convergeMappings(lambda, "trial", mappingTargets("trial", CONFIGURED));
    expect(trialAgain.some((r) => r.changed)).toBe(false);

    const closed = await convergeMappings(lambda, "closed", mappingTargets("closed", CONFIGURED));
    expect(closed.map((r) => r.update)).toEqual([
      { BatchSize: 10, ScalingConfig: { MaximumConcurrency: 5 } },
      { BatchSize: 10, ScalingConfig: { MaximumConcurrency: 3 } },
    ]);
    expect(api.mapping(ORDERS_UUID)).toMatchObject({ enabled: true, batchSize: 10, maximumConcurrency: 5 });
    expect(api.mapping(RETRY_UUID)).toMatchObject({ enabled: true, batchSize: 10, maximumConcurrency: 3 });
  });

  it("still converges the other mapping when one is unknown, then throws naming the unknown one", async () => {
    const targets = mappingTargets("open", [{ ...CONFIGURED[0]!, uuid: UNKNOWN_UUID }, CONFIGURED[1]!]);
    const failure = await convergeMappings(lambda, "open", targets).catch((error) => error);
    expect(failure).toBeInstanceOf(BreakerUpdateError);
    expect(failure.message).toContain(
      `Could not converge 1 of 2 event source mappings to open: ${UNKNOWN_UUID}`,
    );
    expect(failure.message).toContain("ResourceNotFoundException");
    expect(failure.failures[0].error).toBeInstanceOf(ResourceNotFoundException);
    expect(failure.results).toMatchObject([{ uuid: RETRY_UUID, before: "Enabled", changed: true }]);
    expect(api.mapping(RETRY_UUID)?.enabled).toBe(false);
    expect(api.mapping(ORDERS_UUID)?.enabled).toBe(true);
  });
});

describe("convergeMappings with mappings that take time to settle", () => {
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

  const orders = (phase: "open" | "closed") => mappingTargets(phase, [CONFIGURED[0]!]);

  it("leaves a mapping already on its way alone, and reverses one going the other way", async () => {
    const first = await convergeMappings(lambda, "open", orders("open"));
    expect(first[0]).toMatchObject({ before: "Enabled", after: "Disabling", changed: true });
    expect((await convergeMappings(lambda, "open", orders("open")))[0]).toMatchObject({
      before: "Disabling",
      changed: false,
    });
    const resumed = await convergeMappings(lambda, "closed", orders("closed"));
    expect(resumed[0]).toMatchObject({ before: "Disabling", after: "Enabling", changed: true });
    expect((await convergeMappings(lambda, "closed", orders("closed")))[0]?.changed).toBe(false);
    clock.now += 5_000;
    expect(api.mapping(ORDERS_UUID)?.state).toBe("Enabled");
    expect(api.calls.UpdateEventSourceMapping).toBe(2);
  });

  it("does not take Updating for settled: it asks again in either direction", async () => {
    await lambda.send(new UpdateEventSourceMappingCommand({ UUID: ORDERS_UUID, Enabled: false }));
    clock.now += 5_000;
    await lambda.send(new UpdateEventSourceMappingCommand({ UUID: ORDERS_UUID, BatchSize: 5 }));
    expect(api.mapping(ORDERS_UUID)).toMatchObject({ state: "Updating", enabled: false, batchSize: 5 });
    const resumed = await convergeMappings(lambda, "closed", orders("closed"));
    expect(resumed[0]).toMatchObject({ before: "Updating", after: "Enabling", changed: true });
    clock.now += 5_000;
    await lambda.send(new UpdateEventSourceMappingCommand({ UUID: ORDERS_UUID, BatchSize: 7 }));
    const paused = await convergeMappings(lambda, "open", orders("open"));
    expect(paused[0]).toMatchObject({ before: "Updating", after: "Disabling", changed: true });
  });
});

describe("cloudWatchAlarmReader over the CloudWatch stand-in", () => {
  let cloudWatch: CloudWatchStandIn;
  let alarms: LocalAlarm[];
  let client: CloudWatchClient;
  beforeAll(async () => {
    cloudWatch = await startCloudWatchStandIn(() => alarms);
    client = new CloudWatchClient({ endpoint: cloudWatch.url, region: REGION, credentials, maxAttempts: 1 });
  });
  afterAll(async () => {
    client.destroy();
    await cloudWatch.close();
  });

  it("reads the composite and the error-rate alarm in one DescribeAlarms, and fails when one is missing", async () => {
    alarms = [
      { name: UNAVAILABLE, type: "CompositeAlarm", state: "ALARM" },
      { name: ERROR_RATE, type: "MetricAlarm", state: "INSUFFICIENT_DATA" },
      { name: "someone-else", type: "MetricAlarm", state: "ALARM" },
    ];
    const read = cloudWatchAlarmReader(client, PLAN.alarms);
    expect(await read()).toEqual({ unavailable: "ALARM", errorRate: "INSUFFICIENT_DATA" });
    alarms = alarms.slice(1);
    await expect(read()).rejects.toThrow(`no state for the alarm ${UNAVAILABLE}`);
    expect(cloudWatch.describeAlarmsCalls()).toBe(2);
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

describe("the circuit breaker handler: alarms over CloudWatch, state on dynalite, mappings over Lambda", () => {
  let api: LambdaApiStandIn;
  let cloudWatch: CloudWatchStandIn;
  let server: ReturnType<typeof dynalite>;
  let dynamo: DynamoDBClient;
  let output: Array<Record<string, unknown>>;
  let table = 0;
  const alarms = { unavailable: "OK" as AlarmState, errorRate: "OK" as AlarmState };
  const clock = { now: T0 };

  beforeAll(async () => {
    server = dynalite({ createTableMs: 0 });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    dynamo = new DynamoDBClient({
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      region: REGION,
      credentials,
    });
    cloudWatch = await startCloudWatchStandIn(() => [
      { name: UNAVAILABLE, type: "CompositeAlarm", state: alarms.unavailable },
      { name: ERROR_RATE, type: "MetricAlarm", state: alarms.errorRate },
    ]);
  });
  afterAll(async () => {
    dynamo.destroy();
    await cloudWatch.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  beforeEach(async () => {
    api = await standInWithMappings();
    const tableName = `breaker-${++table}`;
    await createLedgerTable(dynamo, tableName);
    Object.assign(alarms, { unavailable: "OK", errorRate: "OK" });
    clock.now = T0;
    for (const [name, value] of Object.entries({
      AWS_ENDPOINT_URL_LAMBDA: api.url,
      AWS_ENDPOINT_URL_CLOUDWATCH: cloudWatch.url,
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      RELAY_BREAKER_PLAN: JSON.stringify(PLAN),
      RELAY_LEDGER_TABLE: tableName,
      RELAY_STAGE: "breaker-test",
      POWERTOOLS_METRICS_DISABLED: "false",
      POWERTOOLS_LOG_LEVEL: "INFO",
    })) {
      vi.stubEnv(name, value);
    }
    output = captureJsonOutput();
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
    await api.close();
  });

  const context = (): Context =>
    lambdaContext({ functionName: "imburse-relay-local-CircuitBreaker", timeoutMs: 30_000, region: REGION });
  /** A fresh handler, as a new Lambda container builds it: nothing carries over but the table. */
  const freshHandler = () => createCircuitBreakerHandler({ dynamoDb: dynamo, clock: () => clock.now });
  const alarmEvent = (current: AlarmState) =>
    alarmStateChangeEvent({
      alarmName: UNAVAILABLE,
      previous: current === "ALARM" ? "OK" : "ALARM",
      current,
      time: new Date(clock.now),
      region: REGION,
      account: "000000000000",
    });
  const storedState = async () => {
    const { Item } = await dynamo.send(
      new GetItemCommand({
        TableName: process.env.RELAY_LEDGER_TABLE,
        Key: { orderRef: { S: BREAKER_STATE_KEY.orderRef }, tenantId: { S: BREAKER_STATE_KEY.tenantId } },
        ConsistentRead: true,
      }),
    );
    return Item ? unmarshall(Item) : undefined;
  };
  const transitions = () => output.filter((line) => "_aws" in line && METRICS.breakerTransition in line);
  const mappingsShow = () =>
    [ORDERS_UUID, RETRY_UUID].map((uuid) => {
      const m = api.mapping(uuid)!;
      return [m.enabled, m.batchSize, m.maximumConcurrency];
    });

  it("opens on an alarm event; a second, fresh instance reads the persisted state and trials, then closes", async () => {
    alarms.unavailable = "ALARM";
    const event = alarmEvent("ALARM");
    const opened = await freshHandler()(event, context());
    expect(opened).toMatchObject({ trigger: { kind: "alarm" }, transition: true, state: { phase: "open" } });
    expect(mappingsShow()).toEqual([
      [false, 10, 5],
      [false, 10, 3],
    ]);
    expect(await storedState()).toMatchObject({
      phase: "open",
      since: new Date(T0).toISOString(),
      version: 1,
    });
    const logs = output.filter((line) => line.correlation_id === event.id);
    expect(logs).toContainEqual(
      expect.objectContaining({ message: "Circuit breaker open", alarm_state: "ALARM" }),
    );
    // Two blobs: the count, and the single metric dimensioned by state; both carry the stage.
    expect(transitions()).toHaveLength(2);
    expect(transitions()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ [METRICS.breakerTransition]: 1, stage: "breaker-test" }),
        expect.objectContaining({ [METRICS.breakerTransition]: 1, state: "open", stage: "breaker-test" }),
      ]),
    );

    // The alarm returns to OK and the event says so, but the minimum open time holds the breaker open.
    alarms.unavailable = "OK";
    clock.now = T0 + PERIOD_MS;
    output.length = 0;
    const held = await freshHandler()(alarmEvent("OK"), context());
    expect(held).toMatchObject({ transition: false, state: { phase: "open" } });
    expect(transitions()).toEqual([]);

    // Scheduled runs, each by a fresh instance: the trial at the minimum open time, then the close.
    clock.now = T0 + 2 * PERIOD_MS;
    expect((await freshHandler()({}, context())).state.phase).toBe("trial");
    expect(mappingsShow()).toEqual([
      [true, 1, 2],
      [true, 1, 2],
    ]);
    clock.now = T0 + 4 * PERIOD_MS;
    const closed = await freshHandler()({}, context());
    expect(closed).toMatchObject({
      trigger: { kind: "schedule" },
      transition: true,
      state: { phase: "closed" },
    });
    expect(mappingsShow()).toEqual([
      [true, 10, 5],
      [true, 10, 3],
    ]);
    expect(await storedState()).toMatchObject({ phase: "closed", version: 4 });
  });

  it("repairs a lost resume event on its next scheduled run", async () => {
    alarms.unavailable = "ALARM";
    await freshHandler()(alarmEvent("ALARM"), context());
    // Imburse recovers; the OK event is lost (Lambda dropped it after its retries). No event arrives.
    alarms.unavailable = "OK";
    clock.now = T0 + 0.2 * PERIOD_MS;
    await freshHandler()({}, context()); // the schedule notes the alarm healthy
    expect(mappingsShow().map(([enabled]) => enabled)).toEqual([false, false]);
    // One schedule period (a minute) after the hysteresis allows it, the schedule alone resumes.
    clock.now = T0 + 2 * PERIOD_MS + 60_000;
    const resumed = await freshHandler()({}, context());
    expect(resumed).toMatchObject({ trigger: { kind: "schedule" }, state: { phase: "trial" } });
    expect(mappingsShow().map(([enabled]) => enabled)).toEqual([true, true]);
  });

  it("a late ALARM event changes nothing when the alarms are OK: the breaker reads their state, not the event", async () => {
    const late = alarmEvent("ALARM");
    const outcome = await freshHandler()(late, context());
    expect(outcome).toMatchObject({
      trigger: { kind: "alarm", alarmState: "ALARM" },
      state: { phase: "closed" },
    });
    expect(api.calls.UpdateEventSourceMapping).toBeUndefined();
    // Nothing changed, so nothing was written: a closed breaker that never opened leaves no item behind.
    expect(await storedState()).toBeUndefined();
  });

  it("a closed breaker restores the configured values a person or a deploy changed, on its next run", async () => {
    const lambda = clientFor(api);
    await lambda.send(
      new UpdateEventSourceMappingCommand({
        UUID: RETRY_UUID,
        BatchSize: 1,
        ScalingConfig: { MaximumConcurrency: 2 },
      }),
    );
    lambda.destroy();
    const outcome = await freshHandler()({}, context());
    expect(outcome.results.filter((r) => r.changed).map((r) => r.uuid)).toEqual([RETRY_UUID]);
    expect(mappingsShow()).toEqual([
      [true, 10, 5],
      [true, 10, 3],
    ]);
  });

  it("a trial whose traffic fails opens again", async () => {
    alarms.unavailable = "ALARM";
    await freshHandler()({}, context());
    alarms.unavailable = "OK";
    clock.now = T0 + 0.5 * PERIOD_MS;
    await freshHandler()({}, context());
    clock.now = T0 + 2 * PERIOD_MS;
    await freshHandler()({}, context());
    expect(await storedState()).toMatchObject({ phase: "trial" });
    alarms.errorRate = "ALARM";
    clock.now = T0 + 2.4 * PERIOD_MS;
    const reopened = await freshHandler()({}, context());
    expect(reopened).toMatchObject({ transition: true, state: { phase: "open" } });
    expect(reopened.reason).toContain("the error rate");
    expect(mappingsShow().map(([enabled]) => enabled)).toEqual([false, false]);
  });

  it("fails the invocation naming the mapping it could not converge, after converging the others", async () => {
    vi.stubEnv(
      "RELAY_BREAKER_PLAN",
      JSON.stringify({ ...PLAN, mappings: [CONFIGURED[0], { ...CONFIGURED[1], uuid: UNKNOWN_UUID }] }),
    );
    alarms.unavailable = "ALARM";
    await expect(freshHandler()({}, context())).rejects.toThrow(UNKNOWN_UUID);
    expect(api.mapping(ORDERS_UUID)?.enabled).toBe(false);
    expect(output.find((line) => line.level === "ERROR")).toMatchObject({ failed: [UNKNOWN_UUID] });
    // The state was persisted before the mappings: the next run converges what is left.
    expect(await storedState()).toMatchObject({ phase: "open" });
  });

  it("two runs racing on the same state both end on one decision (optimistic locking on version)", async () => {
    alarms.unavailable = "ALARM";
    const [a, b] = await Promise.all([freshHandler()({}, context()), freshHandler()({}, context())]);
    expect([a.state.phase, b.state.phase]).toEqual(["open", "open"]);
    expect([a.transition, b.transition].filter(Boolean)).toHaveLength(1);
    const items = await dynamo.send(new ScanCommand({ TableName: process.env.RELAY_LEDGER_TABLE }));
    expect(items.Items).toHaveLength(1);
    expect(await storedState()).toMatchObject({ phase: "open", version: 1 });
  });
});
