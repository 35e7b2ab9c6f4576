import Table from "cli-table3";
import { describeDeadLetter } from "../tools/index.ts";
import { LINE_OUTCOMES, type ReportEntry } from "./outcomes.ts";

/** Runs with more lines than this get the totals table only (the report file has every line). */
const MAX_LINES_IN_SUMMARY = 50;

/** What the summary shows. */
export interface SummaryInput {
  heading: string;
  entries: readonly ReportEntry[];
  /** Final outcomes of messages that were none of the lines, by outcome. */
  externals?: Readonly<Record<string, number>>;
  /** A note per line number (the demo says what each order shows). */
  notes?: ReadonlyMap<number, string>;
}

/** Outcomes shown in the totals even at zero: the relay's own. Others appear only when they occur. */
const ALWAYS_SHOWN: ReadonlySet<string> = new Set(
  LINE_OUTCOMES.filter((o) => o !== "unpublishable" && o !== "relay-failed"),
);

// No colours: the summary is read in terminals, CI logs and files alike.
const PLAIN = { style: { head: [], border: [], compact: true } };

function detail(entry: ReportEntry, notes: ReadonlyMap<number, string> | undefined): string {
  const note = notes?.get(entry.line);
  if (note !== undefined) return note;
  if (entry.duplicateOf !== undefined) {
    return entry.duplicateOf === null ? "duplicate delivery" : `duplicate of line ${entry.duplicateOf}`;
  }
  if (typeof entry.reason === "string") return entry.reason;
  if (entry.reason) return describeDeadLetter(entry.reason)[0] ?? "";
  return "";
}

/** Truncates long cells so the table keeps to a terminal's width. */
function cell(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

/** The end-of-run summary: a totals table, and a per-line table for runs of up to {@link MAX_LINES_IN_SUMMARY} lines. */
export function renderSummary(input: SummaryInput): string {
  const totals = new Table({ ...PLAIN, head: ["outcome", "lines"], colAligns: ["left", "right"] });
  for (const outcome of [...LINE_OUTCOMES, "pending"]) {
    const count = input.entries.filter((entry) => entry.outcome === outcome).length;
    if (count > 0 || ALWAYS_SHOWN.has(outcome)) totals.push([outcome, count]);
  }
  totals.push(["total", input.entries.length]);
  const parts = [input.heading, totals.toString()];
  if (input.entries.length > 0 && input.entries.length <= MAX_LINES_IN_SUMMARY) {
    const lines = new Table({
      ...PLAIN,
      head: ["line", "orderRef", "outcome", "attempts", "correlation id", "detail"],
    });
    for (const entry of input.entries) {
      lines.push([
        entry.line,
        entry.orderRef ?? "-",
        entry.outcome,
        entry.attempts,
        cell(entry.correlationId ?? "-", 36),
        cell(detail(entry, input.notes), 60),
      ]);
    }
    parts.push(lines.toString());
  }
  const externals = Object.entries(input.externals ?? {});
  if (externals.length > 0) {
    parts.push(
      `Messages published by others: ${externals.map(([outcome, n]) => `${outcome} ${n}`).join(", ")}.`,
    );
  }
  return parts.join("\n");
}
