import {
  GetEventSourceMappingCommand,
  type LambdaClient,
  UpdateEventSourceMappingCommand,
  type UpdateEventSourceMappingCommandInput,
} from "@aws-sdk/client-lambda";
import type { BreakerPhase, BreakerPlan } from "../config/index.ts";
import { TRIAL_SCALING } from "../config/index.ts";
import type { AlarmState } from "./alarm-states.ts";

/** The breaker's persisted state: everything it decides on besides the alarms and the clock. */
export interface BreakerState {
  phase: BreakerPhase;
  /** When the current phase began (ISO-8601): the open time and the trial length count from it. */
  since: string;
  /** While open: since when the "Imburse unavailable" alarm has been out of ALARM, without a break. */
  healthySince?: string;
}

/** The alarms the breaker decides on, as CloudWatch reports them now. */
export interface AlarmReading {
  /** The composite "Imburse unavailable" alarm (probe or error rate). */
  unavailable: AlarmState;
  /** The Imburse error-rate alarm: it judges the trial. */
  errorRate: AlarmState;
}

/** The rules of {@link nextBreakerState}: every duration in alarm periods. */
export type BreakerRules = Pick<
  BreakerPlan,
  "periodSeconds" | "minimumOpenPeriods" | "healthyPeriodsToClose" | "trialPeriods"
>;

/** The state of a breaker that never ran: closed since the epoch (it has always been closed). */
export const INITIAL_BREAKER_STATE: BreakerState = { phase: "closed", since: new Date(0).toISOString() };

/** A decision of {@link nextBreakerState}: the state to persist, and why. */
export interface BreakerDecision {
  state: BreakerState;
  /** True when the phase changed (a transition to count and log). */
  transition: boolean;
  reason: string;
}

/** Whole alarm periods between two instants. */
function periodsBetween(from: string, now: Date, periodSeconds: number): number {
  return Math.floor((now.getTime() - Date.parse(from)) / (periodSeconds * 1000));
}

/**
 * The breaker's next state from its current state, the alarms' current states and the time: a level
 * decision, so any invocation (an alarm event, a scheduled run, a retry, a late or repeated event) reaches
 * the same answer for the same inputs, and a lost event is repaired by the next run.
 *
 * - closed → open when "Imburse unavailable" is in ALARM.
 * - open → trial once it has been open `minimumOpenPeriods` and the alarm has been out of ALARM for
 *   `healthyPeriodsToClose` whole periods (an ALARM in between starts that count again).
 * - trial → open when either alarm is in ALARM (the trial's traffic failed, or the probe did);
 *   trial → closed once `trialPeriods` have passed with neither in ALARM.
 *
 * INSUFFICIENT_DATA counts as not ALARM, as in the composite alarm's own rule: it says nothing about
 * Imburse. Pure: the handler and local mode share it.
 */
export function nextBreakerState(
  current: BreakerState,
  alarms: AlarmReading,
  now: Date,
  rules: BreakerRules,
): BreakerDecision {
  const at = now.toISOString();
  const unavailable = alarms.unavailable === "ALARM";
  const periods = (from: string) => periodsBetween(from, now, rules.periodSeconds);
  switch (current.phase) {
    case "closed":
      return unavailable
        ? { state: { phase: "open", since: at }, transition: true, reason: "Imburse unavailable is in ALARM" }
        : { state: current, transition: false, reason: "Imburse unavailable is not in ALARM" };
    case "open": {
      if (unavailable) {
        const { healthySince: _, ...stillOpen } = current;
        return { state: stillOpen, transition: false, reason: "Imburse unavailable is still in ALARM" };
      }
      const healthySince = current.healthySince ?? at;
      const open = periods(current.since);
      const healthy = periods(healthySince);
      if (open >= rules.minimumOpenPeriods && healthy >= rules.healthyPeriodsToClose) {
        return {
          state: { phase: "trial", since: at },
          transition: true,
          reason: `open ${open} periods, Imburse unavailable out of ALARM for ${healthy}: trial at the least traffic`,
        };
      }
      return {
        state: { ...current, healthySince },
        transition: false,
        reason: `open ${open} of at least ${rules.minimumOpenPeriods} periods, healthy ${healthy} of ${rules.healthyPeriodsToClose}`,
      };
    }
    case "trial": {
      if (unavailable || alarms.errorRate === "ALARM") {
        return {
          state: { phase: "open", since: at },
          transition: true,
          reason: `the trial failed: ${unavailable ? "Imburse unavailable" : "the error rate"} is in ALARM`,
        };
      }
      const trial = periods(current.since);
      if (trial >= rules.trialPeriods) {
        return {
          state: { phase: "closed", since: at },
          transition: true,
          reason: `the error rate stayed out of ALARM through ${trial} trial periods: configured traffic again`,
        };
      }
      return {
        state: current,
        transition: false,
        reason: `trial ${trial} of ${rules.trialPeriods} periods, the error rate out of ALARM`,
      };
    }
  }
}

/** What one mapping should look like in a phase. */
export interface MappingTarget {
  uuid: string;
  enabled: boolean;
  /** Undefined when disabled: a paused mapping keeps whatever it had. */
  batchSize?: number;
  maximumConcurrency?: number;
}

/** Each mapping's target in a phase: disabled when open, the trial's values, or its configured values. */
export function mappingTargets(phase: BreakerPhase, mappings: BreakerPlan["mappings"]): MappingTarget[] {
  return mappings.map(({ uuid, batchSize, maximumConcurrency }) => {
    if (phase === "open") return { uuid, enabled: false };
    if (phase === "trial") return { uuid, enabled: true, ...TRIAL_SCALING };
    return { uuid, enabled: true, batchSize, maximumConcurrency };
  });
}

/** What the breaker found and did for one event source mapping. */
export interface MappingResult {
  uuid: string;
  /** The mapping's `State` before (Enabled, Disabling, …). */
  before: string | undefined;
  /** Its `State` after: the Update answer when changed (often Enabling/Disabling), else `before`. */
  after: string | undefined;
  changed: boolean;
  /** The fields the update set, when it changed something. */
  update?: Omit<UpdateEventSourceMappingCommandInput, "UUID">;
}

/** One mapping the breaker could not read or update. */
export interface MappingFailure {
  uuid: string;
  error: unknown;
}

/**
 * Thrown by {@link convergeMappings} when some mappings failed, after every mapping was attempted. The
 * invocation fails (and is seen: the breaker's errors alarm, its on-failure destination); the next
 * scheduled run converges again.
 */
export class BreakerUpdateError extends Error {
  override readonly name = "BreakerUpdateError";
  readonly results: MappingResult[];
  readonly failures: MappingFailure[];
  constructor(phase: BreakerPhase, results: MappingResult[], failures: MappingFailure[]) {
    const described = failures.map(({ uuid, error }) => {
      const cause = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      return `${uuid} (${cause})`;
    });
    super(
      `Could not converge ${failures.length} of ${results.length + failures.length} event source mappings to ${phase}: ${described.join("; ")}`,
    );
    this.results = results;
    this.failures = failures;
  }
}

/**
 * States in which a mapping is, or is on its way to being, enabled or disabled. `Updating` is in neither:
 * the API does not say which way an update in progress will settle, so the breaker asks again rather
 * than risk leaving a mapping paused (Lambda may refuse with ResourceInUseException while the update runs;
 * the next run converges). `Creating` and `Deleting` are not expected on these mappings and are treated
 * the same way.
 */
const SETTLED: Record<"enabled" | "disabled", ReadonlySet<string>> = {
  enabled: new Set(["Enabled", "Enabling"]),
  disabled: new Set(["Disabled", "Disabling"]),
};

async function convergeOne(lambda: LambdaClient, target: MappingTarget): Promise<MappingResult> {
  const mapping = await lambda.send(new GetEventSourceMappingCommand({ UUID: target.uuid }));
  const before = mapping.State;
  const update: Omit<UpdateEventSourceMappingCommandInput, "UUID"> = {};
  if (before === undefined || !SETTLED[target.enabled ? "enabled" : "disabled"].has(before)) {
    update.Enabled = target.enabled;
  }
  if (target.batchSize !== undefined && mapping.BatchSize !== target.batchSize) {
    update.BatchSize = target.batchSize;
  }
  if (
    target.maximumConcurrency !== undefined &&
    mapping.ScalingConfig?.MaximumConcurrency !== target.maximumConcurrency
  ) {
    update.ScalingConfig = { MaximumConcurrency: target.maximumConcurrency };
  }
  if (Object.keys(update).length === 0) return { uuid: target.uuid, before, after: before, changed: false };
  const { State: after } = await lambda.send(
    new UpdateEventSourceMappingCommand({ UUID: target.uuid, ...update }),
  );
  return { uuid: target.uuid, before, after, changed: true, update };
}

/**
 * Converges each event source mapping to its target: each is read, and updated only in what differs
 * (enabled, batch size, maximum concurrency). Idempotent: a repeated run makes no further update.
 *
 * Nothing is lost: disabling a mapping only stops Lambda polling the queue. Messages stay in the orders
 * and retry queues (retention far exceeds an outage) and are delivered once the mapping is enabled
 * again. A batch already received when polling stops is processed, or becomes visible again after the
 * queue's visibility timeout, as with any Lambda failure.
 *
 * Every mapping is attempted even when one fails; then a {@link BreakerUpdateError} names the failed
 * ones (and carries the results of the others).
 */
export async function convergeMappings(
  lambda: LambdaClient,
  phase: BreakerPhase,
  targets: readonly MappingTarget[],
): Promise<MappingResult[]> {
  const settled = await Promise.allSettled(targets.map((target) => convergeOne(lambda, target)));
  const results: MappingResult[] = [];
  const failures: MappingFailure[] = [];
  settled.forEach((outcome, index) => {
    if (outcome.status === "fulfilled") results.push(outcome.value);
    else failures.push({ uuid: targets[index]?.uuid ?? "", error: outcome.reason });
  });
  if (failures.length > 0) throw new BreakerUpdateError(phase, results, failures);
  return results;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** What invoked the breaker, for its logs: the event only says when to look, never what to do. */
export interface BreakerTrigger {
  kind: "alarm" | "schedule" | "other";
  /** For an alarm event: the alarm's name and the state it reported. */
  alarmName?: string;
  alarmState?: string;
}

/**
 * Describes an invocation's event: an EventBridge "CloudWatch Alarm State Change" (`alarm`), a
 * Scheduler run (`schedule`: the scheduled functions get an empty or `aws.scheduler` event) or anything
 * else. The breaker acts the same on each: it reads the alarms' current states, so a stale, repeated or
 * reordered event cannot make it act on an old state.
 */
export function breakerTrigger(event: unknown): BreakerTrigger {
  if (!isRecord(event)) return { kind: "other" };
  if (event.source === "aws.cloudwatch" && event["detail-type"] === "CloudWatch Alarm State Change") {
    const detail = isRecord(event.detail) ? event.detail : {};
    const state = isRecord(detail.state) ? detail.state.value : undefined;
    return {
      kind: "alarm",
      ...(typeof detail.alarmName === "string" ? { alarmName: detail.alarmName } : {}),
      ...(typeof state === "string" ? { alarmState: state } : {}),
    };
  }
  if (Object.keys(event).length === 0 || event.source === "aws.scheduler") return { kind: "schedule" };
  return { kind: "other" };
}
