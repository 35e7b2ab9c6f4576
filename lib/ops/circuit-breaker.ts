import {
  GetEventSourceMappingCommand,
  type LambdaClient,
  UpdateEventSourceMappingCommand,
} from "@aws-sdk/client-lambda";

/**
 * What the breaker does to the submit function's event source mappings: `pause` disables them (the
 * breaker opens), `resume` enables them again (the breaker closes).
 */
export type BreakerAction = "pause" | "resume";

/** The decision for one alarm state change event, with the reason (logged). */
export type BreakerDecision =
  | {
      action: BreakerAction;
      alarmName: string;
      state: "ALARM" | "OK";
      reason: string;
      /** When the alarm entered this state (`detail.state.timestamp`, else the event's `time`). */
      changedAt: Date | undefined;
    }
  | { action: "ignore"; reason: string; alarmName?: string; state?: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A short rendering of a value from an untrusted event, for a reason. */
function shown(value: unknown): string {
  return (JSON.stringify(value) ?? String(value)).slice(0, 100);
}

/**
 * Decides what an EventBridge "CloudWatch Alarm State Change" event means for the breaker: ALARM →
 * pause, OK → resume; INSUFFICIENT_DATA, any other state and anything that is not such an event →
 * ignore, with the reason. The alarm name is not checked: the EventBridge rule chooses the alarm.
 *
 * Pure: the handler and local mode share it.
 */
export function breakerAction(event: unknown): BreakerDecision {
  if (!isRecord(event)) return { action: "ignore", reason: "the event is not a JSON object" };
  if (event.source !== "aws.cloudwatch" || event["detail-type"] !== "CloudWatch Alarm State Change") {
    return {
      action: "ignore",
      reason: `not a CloudWatch alarm state change (source ${shown(event.source)}, detail-type ${shown(event["detail-type"])})`,
    };
  }
  const detail = isRecord(event.detail) ? event.detail : {};
  const alarmName =
    typeof detail.alarmName === "string" && detail.alarmName !== "" ? detail.alarmName : undefined;
  if (!alarmName) return { action: "ignore", reason: "detail.alarmName is missing" };
  const state = isRecord(detail.state) ? detail.state.value : undefined;
  const changedAt =
    parseTime(isRecord(detail.state) ? detail.state.timestamp : undefined) ?? parseTime(event.time);
  switch (state) {
    case "ALARM":
      return { action: "pause", alarmName, state, reason: `${alarmName} is in ALARM`, changedAt };
    case "OK":
      return { action: "resume", alarmName, state, reason: `${alarmName} is OK`, changedAt };
    case "INSUFFICIENT_DATA":
      return {
        action: "ignore",
        alarmName,
        state,
        reason: `${alarmName} has insufficient data, which says nothing about Imburse; the breaker stays as it is`,
      };
    default:
      return {
        action: "ignore",
        alarmName,
        reason: `${alarmName}: detail.state.value ${shown(state)} is not an alarm state`,
      };
  }
}

function parseTime(value: unknown): Date | undefined {
  if (typeof value !== "string") return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : new Date(time);
}

/** The breaker state a transition leads to, as the `state` dimension of `BreakerTransition`. */
export function breakerState(action: BreakerAction): "open" | "closed" {
  return action === "pause" ? "open" : "closed";
}

/** What the breaker found and did for one event source mapping. */
export interface MappingResult {
  uuid: string;
  /** The mapping's `State` before (Enabled, Disabling, …). */
  before: string | undefined;
  /** Its `State` after: the Update answer when changed (often Enabling/Disabling), else `before`. */
  after: string | undefined;
  changed: boolean;
  /** Left alone because the mapping changed after the alarm did: the event is older than what it acts on. */
  stale?: boolean;
}

/** One mapping the breaker could not read or update. */
export interface MappingFailure {
  uuid: string;
  error: unknown;
}

/**
 * Thrown by {@link applyBreaker} when some mappings failed, after every mapping was attempted. The
 * handler rethrows it so Lambda retries the event; mappings already in the desired state are then left
 * alone, so a retry only finishes the job.
 */
export class BreakerUpdateError extends Error {
  override readonly name = "BreakerUpdateError";
  readonly results: MappingResult[];
  readonly failures: MappingFailure[];
  constructor(action: BreakerAction, results: MappingResult[], failures: MappingFailure[]) {
    const described = failures.map(({ uuid, error }) => {
      const cause = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      return `${uuid} (${cause})`;
    });
    super(
      `Could not ${action} ${failures.length} of ${results.length + failures.length} event source mappings: ${described.join("; ")}`,
    );
    this.results = results;
    this.failures = failures;
  }
}

/**
 * States in which a mapping is, or is on its way to being, where the action wants it. `Updating` is in
 * neither: the API does not say which way an update in progress will settle, so the breaker asks again
 * rather than risk leaving a mapping paused (Lambda may refuse with ResourceInUseException while the
 * update runs; the event is then retried). `Creating` and `Deleting` are not expected on these mappings
 * and are treated the same way.
 */
const SETTLED: Record<BreakerAction, ReadonlySet<string>> = {
  pause: new Set(["Disabled", "Disabling"]),
  resume: new Set(["Enabled", "Enabling"]),
};

async function applyOne(
  lambda: LambdaClient,
  uuid: string,
  action: BreakerAction,
  changedAt: Date | undefined,
): Promise<MappingResult> {
  const { State: before, LastModified } = await lambda.send(new GetEventSourceMappingCommand({ UUID: uuid }));
  if (before !== undefined && SETTLED[action].has(before))
    return { uuid, before, after: before, changed: false };
  // EventBridge does not keep order: an ALARM retried or delayed past the OK that followed it must not
  // pause the relay again. A mapping changed after the alarm's change is newer than the event.
  if (changedAt && LastModified && LastModified.getTime() > changedAt.getTime()) {
    return { uuid, before, after: before, changed: false, stale: true };
  }
  const { State: after } = await lambda.send(
    new UpdateEventSourceMappingCommand({ UUID: uuid, Enabled: action === "resume" }),
  );
  return { uuid, before, after, changed: true };
}

/**
 * Pauses or resumes the given event source mappings: each is read, and updated (`Enabled` false or
 * true) only when it is not already in, or moving to, the desired state. So the breaker is idempotent:
 * EventBridge delivers at least once, and a repeated or duplicated event makes no further update.
 *
 * Nothing is lost: disabling a mapping only stops Lambda polling the queue. Messages stay in the orders
 * and retry queues (retention far exceeds an outage) and are delivered once the mapping is enabled
 * again. A batch already received when polling stops is processed, or becomes visible again after the
 * queue's visibility timeout, as with any Lambda failure.
 *
 * Every mapping is attempted even when one fails; then a {@link BreakerUpdateError} names the failed
 * ones (and carries the results of the others), so the invocation fails and the event is retried.
 * Two copies of an event handled at the very same moment may both update a mapping; the second update
 * is harmless.
 */
export async function applyBreaker(
  lambda: LambdaClient,
  mappingIds: readonly string[],
  action: BreakerAction,
  changedAt?: Date,
): Promise<MappingResult[]> {
  const settled = await Promise.allSettled(
    mappingIds.map((uuid) => applyOne(lambda, uuid, action, changedAt)),
  );
  const results: MappingResult[] = [];
  const failures: MappingFailure[] = [];
  settled.forEach((outcome, index) => {
    if (outcome.status === "fulfilled") results.push(outcome.value);
    else failures.push({ uuid: mappingIds[index] ?? "", error: outcome.reason });
  });
  if (failures.length > 0) throw new BreakerUpdateError(action, results, failures);
  return results;
}
