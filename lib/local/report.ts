import type { BreakerState } from "../ops/index.ts";
import { failedLines, type LineOutcome, type ReportEntry, totals } from "./outcomes.ts";

/** The report file: one entry per input line, and the counts. */
export interface LocalReport {
  orders: ReportEntry[];
  totals: Record<string, number>;
  /** When the run gave up waiting while the circuit breaker was not closed: its state. */
  breaker?: BreakerState;
}

/** How a local run ended: every line done, stopped by SIGINT/SIGTERM, or `maxWaitSeconds` passed. */
export type LocalRunEnd = "drained" | "interrupted" | "gave-up";

/**
 * The report of a run: its entries and their counts, outcome events of orders that were not lines of the
 * run as `external`, and the breaker's state when the run gave up while the breaker held the lines back.
 */
export function localReport(
  entries: ReportEntry[],
  externals: number,
  ended: LocalRunEnd,
  breaker: BreakerState | undefined,
): LocalReport {
  const report: LocalReport = { orders: entries, totals: totals(entries) };
  if (externals > 0) report.totals.external = externals;
  if (ended === "gave-up" && breaker && breaker.phase !== "closed") report.breaker = breaker;
  return report;
}

/**
 * The exit status of a run: 3 gave up waiting; 130 interrupted before every line had its outcome; 1 some
 * line failed (see {@link failedLines}); else 0.
 */
export function localExitCode(
  ended: LocalRunEnd,
  entries: readonly ReportEntry[],
  expected?: ReadonlyMap<number, LineOutcome>,
): number {
  if (ended === "gave-up") return 3;
  const done = entries.every((entry) => entry.outcome !== "pending");
  if (ended === "interrupted" && !done) return 130;
  return failedLines(entries, expected).length > 0 ? 1 : 0;
}

/** Lines whose outcome is not the one `expected` of them (the demo). */
export function unexpectedOutcomes(
  entries: readonly ReportEntry[],
  expected: ReadonlyMap<number, LineOutcome>,
): ReportEntry[] {
  return entries.filter((entry) => {
    const wanted = expected.get(entry.line);
    return wanted !== undefined && entry.outcome !== wanted;
  });
}
