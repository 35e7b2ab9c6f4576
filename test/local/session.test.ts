import { describe, expect, it } from "vitest";
import { isDrained } from "../../lib/local/drained.ts";
import type { ReportEntry } from "../../lib/local/outcomes.ts";
import { localExitCode, localReport } from "../../lib/local/report.ts";
import { Teardown } from "../../lib/local/teardown.ts";

describe("Teardown", () => {
  it("undoes the steps last first, each even when an earlier one fails, then reports the failures", async () => {
    const undone: string[] = [];
    const teardown = new Teardown();
    teardown.add(() => undone.push("first"));
    teardown.add(() => {
      throw new Error("cannot stop the second");
    });
    teardown.add(async () => undone.push("third"));
    await expect(teardown.run()).rejects.toThrow(AggregateError);
    expect(undone).toEqual(["third", "first"]);
    // Nothing is undone twice.
    await teardown.run();
    expect(undone).toEqual(["third", "first"]);
  });

  it("undoes what a start-up had started when it fails halfway, and rethrows its error", async () => {
    const undone: string[] = [];
    const teardown = new Teardown();
    const failure = new Error("the third service did not start");
    await expect(
      teardown.guard(async () => {
        teardown.add(() => undone.push("queues"));
        teardown.add(() => undone.push("table"));
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(undone).toEqual(["table", "queues"]);
  });
});

describe("isDrained", () => {
  it("holds only when nothing is left to publish, every line is complete and the queues are empty", () => {
    const drained = { publishing: false, linesComplete: true, messagesWaiting: 0 };
    expect(isDrained(drained)).toBe(true);
    expect(isDrained({ ...drained, publishing: true })).toBe(false);
    expect(isDrained({ ...drained, linesComplete: false })).toBe(false);
    expect(isDrained({ ...drained, messagesWaiting: 1 })).toBe(false);
  });
});

describe("the local report", () => {
  const entry = (line: number, outcome: ReportEntry["outcome"]): ReportEntry => ({
    line,
    orderRef: `REF-${line}`,
    messageId: null,
    outcome,
    attempts: 1,
    correlationId: null,
    outcomeEventId: null,
  });

  it("exits 0 when every line went through, 1 when one did not, 3 on giving up, 130 when interrupted early", () => {
    expect(localExitCode("drained", [entry(1, "submitted"), entry(2, "already-existed")])).toBe(0);
    expect(localExitCode("drained", [entry(1, "submitted"), entry(2, "rejected")])).toBe(1);
    expect(localExitCode("gave-up", [entry(1, "submitted")])).toBe(3);
    expect(localExitCode("interrupted", [entry(1, "pending")])).toBe(130);
    expect(localExitCode("interrupted", [entry(1, "submitted")])).toBe(0);
    // The demo: a line is good when it got its expected outcome.
    expect(localExitCode("drained", [entry(1, "rejected")], new Map([[1, "rejected"]]))).toBe(0);
  });

  it("counts the outcomes and keeps the breaker's state only when the run gave up while it was not closed", () => {
    const open = { phase: "open", since: "2026-01-01T00:00:00Z" } as never;
    const report = localReport([entry(1, "submitted"), entry(2, "pending")], 2, "gave-up", open);
    expect(report.totals).toMatchObject({ submitted: 1, pending: 1, external: 2 });
    expect(report.breaker).toBe(open);
    expect(localReport([entry(1, "submitted")], 0, "drained", open).breaker).toBeUndefined();
  });
});
