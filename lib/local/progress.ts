import cliProgress from "cli-progress";
import type { OutcomeDetail } from "../events/index.ts";
import type { BreakerState } from "../ops/index.ts";
import type { RecordEvent } from "../relay/index.ts";
import { describeDeadLetter } from "../tools/index.ts";
import type { DeliveredEvent } from "./eventbridge.ts";
import { type ExternalEvent, LINE_OUTCOMES, type ReportEntry, type TrackedLine } from "./outcomes.ts";

/** Live progress of a local run. */
export interface LocalProgress {
  /** Shows the bar (interactive) for `total` lines. */
  start(total: number): void;
  completed(entry: ReportEntry): void;
  retry(line: TrackedLine | undefined, event: Extract<RecordEvent, { type: "retry-scheduled" }>): void;
  external(event: ExternalEvent): void;
  /** An outcome event that reached the bus. */
  event(event: DeliveredEvent): void;
  /** Any other line (handed-back records, SQS errors, hints). */
  note(text: string): void;
  /** Removes the bar; later output is plain. */
  stop(): void;
}

/** Where progress goes. */
export interface ProgressOptions {
  stream: NodeJS.WritableStream;
  /** A bar with counts per outcome under the event lines; false for plain lines only (not a TTY, CI). */
  interactive: boolean;
  /** Epoch milliseconds; the run's start is the first reading. */
  clock?: () => number;
}

/** One line for a line that has its outcome. Quotes no order content (reasons never do). */
export function describeEntry(entry: ReportEntry): string {
  const label = `line ${entry.line}${entry.orderRef ? ` ${entry.orderRef}` : ""}`;
  if (entry.outcome === "unpublishable" || entry.outcome === "relay-failed") {
    return `${label}: ${entry.outcome}: ${String(entry.reason ?? "")}`;
  }
  if (entry.outcome === "pending") return `${label}: no outcome yet`;
  const attempts = `after ${entry.attempts} attempt${entry.attempts === 1 ? "" : "s"}`;
  if (entry.duplicateOf !== undefined) {
    const of = entry.duplicateOf === null ? "an earlier message" : `line ${entry.duplicateOf}`;
    return `${label}: ${entry.outcome} (duplicate delivery of ${of}; Imburse not called)`;
  }
  const why = typeof entry.reason === "object" ? `: ${describeDeadLetter(entry.reason)[0] ?? ""}` : "";
  return `${label}: ${entry.outcome} ${attempts}${why}`;
}

/** One line for an outcome event on the bus: its type, order, kind and id. */
function describeOutcomeEvent(event: DeliveredEvent): string {
  const detail = event.detail as Partial<OutcomeDetail>;
  const order = detail.orderRef ? ` ${detail.orderRef}` : ` message ${detail.originMessageId ?? "?"}`;
  const kind = detail.kind ? ` (${detail.kind})` : "";
  return `event: ${event["detail-type"]}${order}${kind} → bus, eventId ${detail.eventId ?? "?"}`;
}

/** `HH:MM:SS UTC` of an ISO time. */
function clockTime(iso: string): string {
  return `${new Date(iso).toISOString().slice(11, 19)} UTC`;
}

/**
 * What the circuit breaker's state means for the person watching a local run: why nothing moves while it is
 * open, the trial, the close. `waiting` is the messages in the orders and retry queues.
 */
export function breakerNote(state: BreakerState, waiting: number): string {
  const orders = `${waiting} order${waiting === 1 ? "" : "s"} waiting`;
  switch (state.phase) {
    case "open":
      return `paused: Imburse unavailable since ${clockTime(state.since)}, ${orders}`;
    case "trial":
      return `Circuit breaker half-open since ${clockTime(state.since)}: a trial at batch size 1 while the error rate is watched; ${orders}.`;
    case "closed":
      return "Circuit breaker closed: orders flow again at the configured batch size.";
  }
}

/** Progress as cli-progress bar plus event lines on a terminal, or as plain lines elsewhere. */
export function createProgress(options: ProgressOptions): LocalProgress {
  const clock = options.clock ?? Date.now;
  const startedAt = clock();
  const counts = new Map<string, number>();
  let done = 0;
  let bars: cliProgress.MultiBar | undefined;
  let bar: cliProgress.SingleBar | undefined;

  const stamp = (text: string) => `[${((clock() - startedAt) / 1000).toFixed(1).padStart(5)}s] ${text}`;
  const print = (text: string) => {
    if (bars) bars.log(`${stamp(text)}\n`);
    else options.stream.write(`${stamp(text)}\n`);
  };
  const summary = () =>
    LINE_OUTCOMES.filter((outcome) => counts.has(outcome))
      .map((outcome) => `${outcome} ${counts.get(outcome)}`)
      .join(" · ") || "waiting";

  return {
    start(total) {
      if (!options.interactive) return;
      bars = new cliProgress.MultiBar(
        {
          stream: options.stream,
          format: " {bar} {value}/{total} lines | {counts}",
          hideCursor: true,
          clearOnComplete: false,
          barsize: 24,
        },
        cliProgress.Presets.shades_classic,
      );
      bar = bars.create(total, done, { counts: summary() });
    },
    completed(entry) {
      done++;
      counts.set(entry.outcome, (counts.get(entry.outcome) ?? 0) + 1);
      print(describeEntry(entry));
      bar?.update(done, { counts: summary() });
    },
    retry(line, event) {
      const label = line
        ? `line ${line.line}${line.orderRef ? ` ${line.orderRef}` : ""}`
        : `message ${event.originMessageId}`;
      print(`${label}: ${event.reason}, attempt ${event.nextAttempt} in ${event.delaySeconds} s`);
    },
    external(event) {
      print(
        event.type === "duplicate"
          ? `message ${event.originMessageId}: duplicate delivery (Imburse not called)`
          : `message ${event.originMessageId}${event.orderRef ? ` ${event.orderRef}` : ""}: ${event.outcome} after ${event.attempts} attempt(s)`,
      );
    },
    event(event) {
      print(describeOutcomeEvent(event));
    },
    note(text) {
      print(text);
    },
    stop() {
      bars?.stop();
      bars = undefined;
      bar = undefined;
    },
  };
}
