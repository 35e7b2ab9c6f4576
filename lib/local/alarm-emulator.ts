import { randomUUID } from "node:crypto";
import type { AlarmState } from "../ops/index.ts";

/** How a metric alarm compares a datapoint with its threshold (the CloudWatch names). */
export type ComparisonOperator =
  | "GreaterThanOrEqualToThreshold"
  | "GreaterThanThreshold"
  | "LessThanThreshold"
  | "LessThanOrEqualToThreshold";

/** How a metric alarm treats missing datapoints (the CloudWatch names). */
export type TreatMissingData = "breaching" | "notBreaching" | "missing" | "ignore";

/** The inputs of {@link evaluateMetricAlarm}. */
export interface MetricAlarmInput {
  /**
   * The evaluation range: one aggregated value per period, oldest first; `undefined` is a missing
   * datapoint. CloudWatch reads more periods than `evaluationPeriods` (5 for 3 in its documented
   * examples); give as many as the alarm should look back.
   */
  datapoints: ReadonlyArray<number | undefined>;
  threshold: number;
  comparison: ComparisonOperator;
  /** N: how many datapoints are evaluated. */
  evaluationPeriods: number;
  /** M: how many of the N must breach for ALARM. Default N. */
  datapointsToAlarm?: number;
  treatMissingData: TreatMissingData;
  /** The alarm's state before this evaluation, kept by `ignore` when data is lacking. Default INSUFFICIENT_DATA (a new alarm). */
  current?: AlarmState;
}

/** Thrown when an alarm definition is impossible (CloudWatch would refuse it). */
export class AlarmDefinitionError extends Error {
  override readonly name = "AlarmDefinitionError";
}

const COMPARE: Record<ComparisonOperator, (value: number, threshold: number) => boolean> = {
  GreaterThanOrEqualToThreshold: (value, threshold) => value >= threshold,
  GreaterThanThreshold: (value, threshold) => value > threshold,
  LessThanThreshold: (value, threshold) => value < threshold,
  LessThanOrEqualToThreshold: (value, threshold) => value <= threshold,
};

/**
 * Evaluates a CloudWatch metric alarm ("M out of N") over an evaluation range, following
 * "How alarm state is evaluated when data is missing" in the CloudWatch user guide:
 *
 * - With at least N real datapoints in the range, the N most recent real ones are evaluated and
 *   `treatMissingData` plays no part.
 * - With fewer, the real datapoints (all of them, however old) are completed to N with missing ones:
 *   `breaching` fills breaching points, `notBreaching` non-breaching ones.
 * - `missing` and `ignore` fill nothing: ALARM when the real datapoints alone have M breaching; OK
 *   when at least one real datapoint is not breaching; otherwise (none, or only breaching ones short
 *   of M) INSUFFICIENT_DATA for `missing` and the current state for `ignore`.
 *
 * ALARM when at least M of the evaluated datapoints breach, else OK.
 *
 * Simplifications: the last `missing`/`ignore` rule is inferred from the guide's two example tables
 * (it reproduces every row of both) rather than stated there; the datapoints are already the alarm's
 * statistic per period; the length of the evaluation range is the caller's choice (CloudWatch derives
 * it from the period and the metric's resolution); percentile low-sample handling and the AWS/DynamoDB
 * namespace exception (always `ignore`) are not modelled.
 */
export function evaluateMetricAlarm(input: MetricAlarmInput): AlarmState {
  const n = input.evaluationPeriods;
  const m = input.datapointsToAlarm ?? n;
  if (!Number.isInteger(n) || n < 1) {
    throw new AlarmDefinitionError(`evaluationPeriods must be a positive integer, not ${n}`);
  }
  if (!Number.isInteger(m) || m < 1 || m > n) {
    throw new AlarmDefinitionError(`datapointsToAlarm must be an integer from 1 to ${n}, not ${m}`);
  }
  const compare = COMPARE[input.comparison];
  const real = input.datapoints
    .filter((value): value is number => value !== undefined)
    .map((value) => compare(value, input.threshold));
  const evaluated = real.length >= n ? real.slice(-n) : real;
  const breaching = evaluated.filter(Boolean).length;
  const lacking = n - evaluated.length;

  switch (lacking === 0 ? "complete" : input.treatMissingData) {
    case "breaching":
      return breaching + lacking >= m ? "ALARM" : "OK";
    case "complete":
    case "notBreaching":
      return breaching >= m ? "ALARM" : "OK";
    default: {
      if (breaching >= m) return "ALARM";
      if (breaching < evaluated.length) return "OK";
      return input.treatMissingData === "ignore"
        ? (input.current ?? "INSUFFICIENT_DATA")
        : "INSUFFICIENT_DATA";
    }
  }
}

/**
 * The state of a composite alarm whose rule is `ALARM(a) OR ALARM(b) OR …`: ALARM when any child is in
 * ALARM, else OK. A child in INSUFFICIENT_DATA makes its `ALARM(…)` term false, exactly like OK: CloudWatch
 * documents that a composite alarm is in INSUFFICIENT_DATA only between its creation and its first
 * evaluation. This matters for the breaker: while the mappings are paused the relay makes no Imburse
 * calls, so the error-rate alarm may lack data; the composite must still return to OK once the probe does,
 * or the breaker would never close.
 */
export function evaluateCompositeAny(states: readonly AlarmState[]): "ALARM" | "OK" {
  return states.includes("ALARM") ? "ALARM" : "OK";
}

/**
 * The share of Imburse calls in a period that failed (0–1), or `undefined` (a missing datapoint) when the
 * period had fewer than `minimumCalls` calls or none, so a handful of calls never trips the alarm.
 */
export function errorRate(input: {
  errors: number;
  calls: number;
  minimumCalls: number;
}): number | undefined {
  if (input.calls === 0 || input.calls < input.minimumCalls) return undefined;
  return input.errors / input.calls;
}

/** A state in an alarm state change event. */
export interface AlarmStateDetail {
  value: string;
  reason?: string;
  /** e.g. `2024-05-01T12:00:00.000+0000`. */
  timestamp?: string;
}

/** The `detail` of an EventBridge "CloudWatch Alarm State Change" event (the fields the relay reads). */
export interface AlarmStateChangeDetail {
  alarmName: string;
  state: AlarmStateDetail;
  previousState?: AlarmStateDetail;
  configuration?: unknown;
}

/** The EventBridge event CloudWatch sends (source `aws.cloudwatch`) when an alarm changes state. */
export interface AlarmStateChangeEvent {
  version: string;
  id: string;
  "detail-type": "CloudWatch Alarm State Change";
  source: "aws.cloudwatch";
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: AlarmStateChangeDetail;
}

/** CloudWatch's state timestamp format: milliseconds and a `+0000` offset. */
function stateTimestamp(time: Date): string {
  return time.toISOString().replace("Z", "+0000");
}

/**
 * Builds the EventBridge event CloudWatch emits when an alarm moves from `previous` to `current`, so
 * local mode can feed its own alarm evaluations to the circuit breaker. Each call has a fresh `id`
 * (EventBridge's event id, which the breaker logs as its correlation id) unless one is given.
 */
export function alarmStateChangeEvent(input: {
  alarmName: string;
  previous: AlarmState;
  current: AlarmState;
  time: Date;
  region: string;
  account: string;
  reason?: string;
  id?: string;
}): AlarmStateChangeEvent {
  const timestamp = stateTimestamp(input.time);
  const reason = input.reason ?? `State changed from ${input.previous} to ${input.current}.`;
  return {
    version: "0",
    id: input.id ?? randomUUID(),
    "detail-type": "CloudWatch Alarm State Change",
    source: "aws.cloudwatch",
    account: input.account,
    // EventBridge's own time has second precision.
    time: `${input.time.toISOString().slice(0, 19)}Z`,
    region: input.region,
    resources: [`arn:aws:cloudwatch:${input.region}:${input.account}:alarm:${input.alarmName}`],
    detail: {
      alarmName: input.alarmName,
      state: { value: input.current, reason, timestamp },
      // When the previous state began is not known here, so it carries only its value.
      previousState: { value: input.previous },
    },
  };
}
