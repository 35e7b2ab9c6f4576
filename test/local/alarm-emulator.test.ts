import { describe, expect, it } from "vitest";
import {
  AlarmDefinitionError,
  alarmStateChangeEvent,
  errorRate,
  evaluateCompositeAny,
  evaluateMetricAlarm,
  type TreatMissingData,
} from "../../lib/local/alarm-emulator.ts";
import type { AlarmState } from "../../lib/ops/index.ts";
import { breakerTrigger } from "../../lib/ops/index.ts";

/** The CloudWatch guide's notation, oldest first: 0 not breaching, X breaching, - missing. */
function datapoints(notation: string): Array<number | undefined> {
  return notation.split(" ").map((point) => (point === "X" ? 100 : point === "0" ? 1 : undefined));
}

const RETAIN = "retain";
type Expected = AlarmState | typeof RETAIN;

/**
 * The two tables of "How alarm state is evaluated when data is missing" (CloudWatch user guide): 5 datapoints
 * retrieved; columns MISSING, IGNORE, BREACHING, NOT BREACHING.
 */
const DOCUMENTED: Array<{ m: number; points: string; expected: [Expected, Expected, Expected, Expected] }> = [
  { m: 3, points: "0 - X - X", expected: ["OK", "OK", "OK", "OK"] },
  { m: 3, points: "0 - - - -", expected: ["OK", "OK", "OK", "OK"] },
  { m: 3, points: "- - - - -", expected: ["INSUFFICIENT_DATA", RETAIN, "ALARM", "OK"] },
  { m: 3, points: "0 X X - X", expected: ["ALARM", "ALARM", "ALARM", "ALARM"] },
  { m: 3, points: "- - - - X", expected: ["INSUFFICIENT_DATA", RETAIN, "ALARM", "OK"] },
  { m: 2, points: "0 - X - X", expected: ["ALARM", "ALARM", "ALARM", "ALARM"] },
  { m: 2, points: "0 0 X 0 X", expected: ["ALARM", "ALARM", "ALARM", "ALARM"] },
  { m: 2, points: "0 - X - -", expected: ["OK", "OK", "ALARM", "OK"] },
  { m: 2, points: "- - - - 0", expected: ["OK", "OK", "ALARM", "OK"] },
  { m: 2, points: "- - - - X", expected: ["INSUFFICIENT_DATA", RETAIN, "ALARM", "OK"] },
];
const COLUMNS: TreatMissingData[] = ["missing", "ignore", "breaching", "notBreaching"];

describe("evaluateMetricAlarm", () => {
  const cases = DOCUMENTED.flatMap(({ m, points, expected }) =>
    COLUMNS.map((treatMissingData, column) => ({ m, points, treatMissingData, expected: expected[column]! })),
  );

  it.each(cases)(
    "$m of 3, [$points], $treatMissingData → $expected",
    ({ m, points, treatMissingData, expected }) => {
      for (const current of ["ALARM", "OK", "INSUFFICIENT_DATA"] as const) {
        const state = evaluateMetricAlarm({
          datapoints: datapoints(points),
          threshold: 10,
          comparison: "GreaterThanThreshold",
          evaluationPeriods: 3,
          datapointsToAlarm: m,
          treatMissingData,
          current,
        });
        expect(state).toBe(expected === RETAIN ? current : expected);
      }
    },
  );

  it("keeps a new alarm in INSUFFICIENT_DATA when ignoring missing data and no state is given", () => {
    expect(
      evaluateMetricAlarm({
        datapoints: [undefined, undefined],
        threshold: 1,
        comparison: "GreaterThanThreshold",
        evaluationPeriods: 2,
        treatMissingData: "ignore",
      }),
    ).toBe("INSUFFICIENT_DATA");
  });

  it("needs N of N breaching by default and counts only the N most recent datapoints", () => {
    const alarm = (values: number[]) =>
      evaluateMetricAlarm({
        datapoints: values,
        threshold: 0.5,
        comparison: "GreaterThanOrEqualToThreshold",
        evaluationPeriods: 2,
        treatMissingData: "missing",
      });
    expect(alarm([0.1, 0.5, 0.9])).toBe("ALARM");
    expect(alarm([0.9, 0.9, 0.1])).toBe("OK");
    expect(alarm([0.9, 0.1, 0.9])).toBe("OK");
  });

  it.each([
    ["GreaterThanOrEqualToThreshold", 5, "ALARM"],
    ["GreaterThanOrEqualToThreshold", 4.9, "OK"],
    ["GreaterThanThreshold", 5, "OK"],
    ["GreaterThanThreshold", 5.1, "ALARM"],
    ["LessThanThreshold", 5, "OK"],
    ["LessThanThreshold", 4.9, "ALARM"],
    ["LessThanOrEqualToThreshold", 5, "ALARM"],
    ["LessThanOrEqualToThreshold", 5.1, "OK"],
  ] as const)("%s with %d against 5 → %s", (comparison, value, expected) => {
    expect(
      evaluateMetricAlarm({
        datapoints: [value],
        threshold: 5,
        comparison,
        evaluationPeriods: 1,
        treatMissingData: "missing",
      }),
    ).toBe(expected);
  });

  it("alarms on the probe: ProbeHealthy below 1 for 2 periods, missing probes breaching", () => {
    const probe = (values: Array<number | undefined>) =>
      evaluateMetricAlarm({
        datapoints: values,
        threshold: 1,
        comparison: "LessThanThreshold",
        evaluationPeriods: 2,
        treatMissingData: "breaching",
      });
    expect(probe([1, 0])).toBe("OK");
    expect(probe([0, 0])).toBe("ALARM");
    expect(probe([0, undefined])).toBe("ALARM");
    expect(probe([1, 0, 1])).toBe("OK");
  });

  it.each([
    { evaluationPeriods: 0, datapointsToAlarm: undefined },
    { evaluationPeriods: 1.5, datapointsToAlarm: undefined },
    { evaluationPeriods: 3, datapointsToAlarm: 4 },
    { evaluationPeriods: 3, datapointsToAlarm: 0 },
  ])("refuses N=$evaluationPeriods, M=$datapointsToAlarm", (definition) => {
    expect(() =>
      evaluateMetricAlarm({
        datapoints: [1],
        threshold: 1,
        comparison: "GreaterThanThreshold",
        treatMissingData: "missing",
        ...definition,
      }),
    ).toThrow(AlarmDefinitionError);
  });
});

describe("evaluateCompositeAny", () => {
  it.each([
    [["ALARM", "OK"], "ALARM"],
    [["OK", "ALARM"], "ALARM"],
    [["INSUFFICIENT_DATA", "ALARM"], "ALARM"],
    [["OK", "OK"], "OK"],
    // ALARM(child) is false for a child lacking data: the breaker can close while the relay makes no calls.
    [["INSUFFICIENT_DATA", "OK"], "OK"],
    [["INSUFFICIENT_DATA", "INSUFFICIENT_DATA"], "OK"],
  ] as const)("%j → %s", (states, expected) => {
    expect(evaluateCompositeAny(states)).toBe(expected);
  });
});

describe("errorRate", () => {
  it("is the failed share of the calls", () => {
    expect(errorRate({ errors: 3, calls: 12, minimumCalls: 10 })).toBe(0.25);
    expect(errorRate({ errors: 0, calls: 10, minimumCalls: 10 })).toBe(0);
  });

  it("is missing data below the minimum number of calls, or without calls", () => {
    expect(errorRate({ errors: 9, calls: 9, minimumCalls: 10 })).toBeUndefined();
    expect(errorRate({ errors: 0, calls: 0, minimumCalls: 0 })).toBeUndefined();
  });

  it("never trips the alarm when a period has too few calls", () => {
    const periods = [
      { errors: 5, calls: 5 },
      { errors: 4, calls: 4 },
    ].map((period) => errorRate({ ...period, minimumCalls: 10 }));
    expect(
      evaluateMetricAlarm({
        datapoints: periods,
        threshold: 0.5,
        comparison: "GreaterThanOrEqualToThreshold",
        evaluationPeriods: 2,
        treatMissingData: "notBreaching",
      }),
    ).toBe("OK");
  });
});

describe("alarmStateChangeEvent", () => {
  const time = new Date("2024-05-01T12:34:56.789Z");
  const event = (previous: AlarmState, current: AlarmState) =>
    alarmStateChangeEvent({
      alarmName: "imburse-relay-local-ImburseUnavailable",
      previous,
      current,
      time,
      region: "eu-west-1",
      account: "000000000000",
    });

  it("has the shape CloudWatch sends to EventBridge", () => {
    const sent = event("OK", "ALARM");
    expect(sent).toMatchObject({
      version: "0",
      "detail-type": "CloudWatch Alarm State Change",
      source: "aws.cloudwatch",
      account: "000000000000",
      region: "eu-west-1",
      time: "2024-05-01T12:34:56Z",
      resources: ["arn:aws:cloudwatch:eu-west-1:000000000000:alarm:imburse-relay-local-ImburseUnavailable"],
      detail: {
        alarmName: "imburse-relay-local-ImburseUnavailable",
        state: { value: "ALARM", timestamp: "2024-05-01T12:34:56.789+0000" },
        previousState: { value: "OK" },
      },
    });
    expect(sent.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(event("OK", "ALARM").id).not.toBe(sent.id);
  });

  it("takes a given id", () => {
    expect(
      alarmStateChangeEvent({
        alarmName: "a",
        previous: "OK",
        current: "ALARM",
        time,
        region: "us-east-1",
        account: "000000000000",
        id: "event-1",
      }).id,
    ).toBe("event-1");
  });

  it("round-trips through the breaker's reading of its trigger, survives JSON", () => {
    const trigger = breakerTrigger(JSON.parse(JSON.stringify(event("OK", "ALARM"))));
    expect(trigger).toMatchObject({ kind: "alarm", alarmState: "ALARM" });
    expect(trigger.alarmName).toBeTruthy();
  });
});
