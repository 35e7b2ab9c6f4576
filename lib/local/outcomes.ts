import type { FinalOutcome } from "../events/index.ts";
import type { DeadLetterReason, RecordEvent } from "../relay/index.ts";

/**
 * The outcome of one input line: the relay's final outcomes, plus
 * - `unpublishable`: the line was never sent (not an orders-file object, or SQS refused it);
 * - `relay-failed`: SQS moved the message to the DLQ after its receive limit because the relay failed on
 *   it every time (no outcome of the relay's own).
 */
export type LineOutcome = FinalOutcome | "unpublishable" | "relay-failed";

/** Every line outcome, in report order. */
export const LINE_OUTCOMES: readonly LineOutcome[] = [
  "submitted",
  "already-existed",
  "invalid",
  "conflict",
  "rejected",
  "retries-exhausted",
  "unpublishable",
  "relay-failed",
];

/** One line of the report. `pending` only when the run was interrupted before the line had an outcome. */
export interface ReportEntry {
  line: number;
  orderRef: string | null;
  messageId: string | null;
  outcome: LineOutcome | "pending";
  /** Attempts the relay made (1 + retries); 0 for a line never published. */
  attempts: number;
  correlationId: string | null;
  /**
   * The id of the order's outcome event (`detail.eventId` on the bus); for a duplicate delivery, that of the
   * order it repeats; null for a line that reached no outcome of the relay's own.
   */
  outcomeEventId: string | null;
  imburseCorrelationId?: string;
  /** The dead-letter reason for the relay's dead-letter outcomes; a sentence for unpublishable and relay-failed. */
  reason?: DeadLetterReason | string;
  /** For a duplicate delivery: the line whose outcome it repeats (null when that was not a line of this run). */
  duplicateOf?: number | null;
}

/** What a line needs to be tracked. */
export interface TrackedLine {
  line: number;
  /** The orderRef its body names, read loosely (see `claimedOrderRef` in lib/orders). */
  orderRef: string | undefined;
  correlationId: string | undefined;
}

type FinalEvent = Extract<RecordEvent, { type: "final" }>;
type RetryEvent = Extract<RecordEvent, { type: "retry-scheduled" }>;
type DuplicateEvent = Extract<RecordEvent, { type: "duplicate" }>;

/** How a message that is none of the lines ended: a final outcome, or a duplicate delivery acknowledged. */
export type ExternalEvent = FinalEvent | DuplicateEvent;

/** The outcome an external message is counted under: its final outcome, or `duplicate`. */
export function externalOutcome(event: ExternalEvent): FinalEvent["outcome"] | "duplicate" {
  return event.type === "duplicate" ? "duplicate" : event.outcome;
}

/** Everything seen for one origin message id. */
interface OriginState {
  final?: FinalEvent;
  duplicate?: DuplicateEvent;
  lastAttempt: number;
  correlationId?: string;
  relayFailed?: boolean;
}

/** Told when lines complete, retries are scheduled and messages outside the lines finish. */
export interface OutcomeObserver {
  completed?(entry: ReportEntry): void;
  retry?(line: TrackedLine | undefined, event: RetryEvent): void;
  /** How a message that is none of the lines (published by someone else) ended. */
  external?(event: ExternalEvent): void;
}

const SUCCESSES: ReadonlySet<string> = new Set<LineOutcome>(["submitted", "already-existed"]);

/**
 * Joins the relay's record events (keyed by origin message id) with the input lines (keyed by line number,
 * linked to a message id once published) into one report entry per line. Events may arrive before the
 * publish call that sent their message returns; they wait for the link. A duplicate delivery takes the
 * outcome of the line it repeats.
 */
export class OutcomeTracker {
  readonly #lines = new Map<number, TrackedLine & { messageId?: string }>();
  readonly #entries = new Map<number, ReportEntry>();
  readonly #lineByMessage = new Map<string, number>();
  readonly #origins = new Map<string, OriginState>();
  readonly #externalFinals: ExternalEvent[] = [];
  /** Origins with an end (final or duplicate) not (yet) linked to a line: early, or external once every line is sent. */
  readonly #unlinkedFinals = new Set<string>();
  /** Origins already counted as external (a redelivery must not count twice). */
  readonly #reportedExternals = new Set<string>();
  /** Lines with a duplicate delivery still waiting for the outcome of their original. */
  readonly #waitingDuplicates = new Set<number>();
  readonly #observer: OutcomeObserver;
  /** Lines neither published nor unpublishable yet. */
  #unsent: number;

  constructor(lines: readonly TrackedLine[], observer: OutcomeObserver = {}) {
    for (const line of lines) this.#lines.set(line.line, { ...line });
    this.#unsent = this.#lines.size;
    this.#observer = observer;
  }

  /** The line was not sent. */
  unpublishable(line: number, problem: string): void {
    const tracked = this.#lines.get(line);
    if (!tracked || tracked.messageId !== undefined || this.#entries.has(line)) return;
    this.#unsent--;
    this.#complete({
      line,
      orderRef: tracked.orderRef ?? null,
      messageId: null,
      outcome: "unpublishable",
      attempts: 0,
      correlationId: tracked.correlationId ?? null,
      outcomeEventId: null,
      reason: problem,
    });
    this.#reportExternals();
  }

  /** The line was sent as this SQS message. */
  published(line: number, messageId: string): void {
    const tracked = this.#lines.get(line);
    if (!tracked || tracked.messageId !== undefined || this.#entries.has(line)) return;
    this.#unsent--;
    tracked.messageId = messageId;
    this.#lineByMessage.set(messageId, line);
    this.#unlinkedFinals.delete(messageId);
    this.#settle(line);
    this.#reportExternals();
  }

  /** A record event of the relay. */
  record(event: RecordEvent): void {
    const state = this.#origin(event.originMessageId);
    state.correlationId = event.correlationId;
    if (event.type === "retry-scheduled") {
      state.lastAttempt = Math.max(state.lastAttempt, event.nextAttempt);
      const line = this.#lineByMessage.get(event.originMessageId);
      this.#observer.retry?.(line === undefined ? undefined : this.#lines.get(line), event);
      return;
    }
    if (event.type === "duplicate") state.duplicate ??= event;
    else if (state.final)
      return; // a redelivery after the outcome: the first one counts
    else state.final = event;
    const line = this.#lineByMessage.get(event.originMessageId);
    if (line !== undefined) this.#settle(line);
    else {
      this.#unlinkedFinals.add(event.originMessageId);
      this.#reportExternals();
    }
    // A final success may be the original that waiting duplicates repeat.
    if (event.type === "final" && SUCCESSES.has(event.outcome)) {
      for (const waiting of [...this.#waitingDuplicates]) this.#settle(waiting);
    }
  }

  /** SQS dead-lettered this message after its receive limit: the relay failed on it every time. */
  deadLetteredBySqs(originMessageId: string): void {
    this.#origin(originMessageId).relayFailed = true;
    const line = this.#lineByMessage.get(originMessageId);
    if (line !== undefined) this.#settle(line);
  }

  /** Whether every line has its outcome. */
  get complete(): boolean {
    return this.#entries.size === this.#lines.size;
  }

  /**
   * Whether every line that is not waiting for the original of its duplicate delivery has its outcome.
   * Once the queues are empty too, those originals are not lines of this run: {@link resolveOrphans}.
   */
  get completeButOrphans(): boolean {
    return this.#entries.size + this.#waitingDuplicates.size === this.#lines.size;
  }

  /**
   * Completes duplicate deliveries whose original is not a line of this run. The relay's idempotency store
   * keeps only successes, so the order was submitted before.
   */
  resolveOrphans(): void {
    for (const line of [...this.#waitingDuplicates]) this.#settle(line, true);
  }

  /** One entry per line, in line order; `pending` for lines without an outcome. */
  entries(): ReportEntry[] {
    return [...this.#lines.values()]
      .sort((a, b) => a.line - b.line)
      .map((line) => this.#entries.get(line.line) ?? this.#pending(line));
  }

  /** How the messages that are none of the lines ended, duplicate deliveries included. */
  externals(): ExternalEvent[] {
    return [...this.#externalFinals];
  }

  #origin(id: string): OriginState {
    let state = this.#origins.get(id);
    if (!state) {
      state = { lastAttempt: 1 };
      this.#origins.set(id, state);
    }
    return state;
  }

  #pending(line: TrackedLine & { messageId?: string }): ReportEntry {
    const state = line.messageId === undefined ? undefined : this.#origins.get(line.messageId);
    return inReportOrder({
      line: line.line,
      orderRef: line.orderRef ?? null,
      messageId: line.messageId ?? null,
      outcome: "pending",
      attempts: line.messageId === undefined ? 0 : (state?.lastAttempt ?? 1),
      correlationId: state?.correlationId ?? line.correlationId ?? null,
      outcomeEventId: null,
    });
  }

  #settle(lineNumber: number, orphansToo = false): void {
    if (this.#entries.has(lineNumber)) return;
    const line = this.#lines.get(lineNumber);
    const state = line?.messageId === undefined ? undefined : this.#origins.get(line.messageId);
    if (!line || !state) return;
    const base = {
      line: line.line,
      orderRef: state.final?.orderRef ?? line.orderRef ?? null,
      messageId: line.messageId ?? null,
      correlationId: state.correlationId ?? line.correlationId ?? null,
      outcomeEventId: null,
    };
    if (state.final) {
      const { final } = state;
      this.#complete({
        ...base,
        outcome: final.outcome,
        attempts: final.attempts,
        outcomeEventId: final.outcomeEventId ?? null,
        ...(final.imburseCorrelationId ? { imburseCorrelationId: final.imburseCorrelationId } : {}),
        ...(final.reason ? { reason: final.reason as DeadLetterReason } : {}),
      });
    } else if (state.relayFailed) {
      this.#complete({
        ...base,
        outcome: "relay-failed",
        attempts: state.lastAttempt,
        reason:
          "SQS moved the message to the dead-letter queue after its receive limit: the relay failed on every delivery",
      });
    } else if (state.duplicate) {
      const original = this.#originalOf(line);
      if (!original && !orphansToo) {
        this.#waitingDuplicates.add(line.line);
        return;
      }
      this.#complete({
        ...base,
        outcome: original?.outcome ?? "submitted",
        attempts: state.lastAttempt,
        outcomeEventId: state.duplicate.outcomeEventId ?? null,
        duplicateOf: original?.line ?? null,
      });
    }
  }

  /** The completed success this line repeats: an earlier line's, else a message outside the lines. */
  #originalOf(line: TrackedLine): { outcome: LineOutcome; line: number | null } | undefined {
    if (line.orderRef === undefined) return undefined;
    const candidates = [...this.#entries.values()]
      .filter(
        (entry) =>
          entry.orderRef === line.orderRef && SUCCESSES.has(entry.outcome) && entry.line !== line.line,
      )
      .sort((a, b) => a.line - b.line);
    const first = candidates.find((entry) => entry.duplicateOf === undefined) ?? candidates[0];
    if (first) return { outcome: first.outcome as LineOutcome, line: first.duplicateOf ?? first.line };
    const external = this.#externalFinals.find(
      (event): event is FinalEvent =>
        event.type === "final" && event.orderRef === line.orderRef && SUCCESSES.has(event.outcome),
    );
    return external ? { outcome: external.outcome, line: null } : undefined;
  }

  #complete(unordered: ReportEntry): void {
    const entry = inReportOrder(unordered);
    this.#waitingDuplicates.delete(entry.line);
    this.#entries.set(entry.line, entry);
    this.#observer.completed?.(entry);
  }

  /** Finals of unknown origins become external once every line is linked (before, they may be early). */
  #reportExternals(): void {
    if (this.#unlinkedFinals.size === 0 || this.#unsent > 0) return;
    for (const origin of this.#unlinkedFinals) {
      const state = this.#origins.get(origin);
      const event = state?.final ?? state?.duplicate;
      if (!event || this.#reportedExternals.has(origin)) continue;
      this.#reportedExternals.add(origin);
      this.#externalFinals.push(event);
      this.#observer.external?.(event);
    }
    this.#unlinkedFinals.clear();
  }
}

/** The entry with its keys in the documented order (JSON keeps insertion order). */
function inReportOrder(entry: ReportEntry): ReportEntry {
  const {
    line,
    orderRef,
    messageId,
    outcome,
    attempts,
    correlationId,
    outcomeEventId,
    imburseCorrelationId,
    reason,
    duplicateOf,
  } = entry;
  return {
    line,
    orderRef,
    messageId,
    outcome,
    attempts,
    correlationId,
    outcomeEventId,
    ...(imburseCorrelationId === undefined ? {} : { imburseCorrelationId }),
    ...(reason === undefined ? {} : { reason }),
    ...(duplicateOf === undefined ? {} : { duplicateOf }),
  };
}

/** Counts per outcome (every outcome present, zero or not), plus `lines` and, when any, `pending`. */
export function totals(entries: readonly ReportEntry[]): Record<string, number> {
  const counts: Record<string, number> = { lines: entries.length };
  for (const outcome of LINE_OUTCOMES) counts[outcome] = 0;
  for (const entry of entries) counts[entry.outcome] = (counts[entry.outcome] ?? 0) + 1;
  return counts;
}

/**
 * The lines that fail a run (exit status 1): with expected outcomes (the demo), those that got another;
 * otherwise every line that did not end `submitted` or `already-existed` (dead-lettered, unpublishable,
 * relay-failed, or still pending).
 */
export function failedLines(
  entries: readonly ReportEntry[],
  expected?: ReadonlyMap<number, LineOutcome>,
): ReportEntry[] {
  return entries.filter((entry) =>
    expected ? entry.outcome !== expected.get(entry.line) : !SUCCESSES.has(entry.outcome),
  );
}
