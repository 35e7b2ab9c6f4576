import { Logger } from "@aws-lambda-powertools/logger";
import { afterEach, describe, expect, it, vi } from "vitest";
import { currentRecordScope, recordLogger, runInRecordScope } from "../../lib/relay/scope.ts";
import { captureJsonOutput } from "../support/json-output.ts";

afterEach(() => vi.restoreAllMocks());

describe("recordLogger", () => {
  it("puts the record's keys on every line it writes, with the call's attributes, at the logger's level", () => {
    const lines = captureJsonOutput();
    const logger = new Logger({ serviceName: "scope-test", logLevel: "INFO" });
    const log = recordLogger(logger, { correlation_id: "corr-1", order_ref: "ORDER-1", attempt: 2 });
    log.debug("not written at INFO");
    log.info("accepted", { outcome: "submitted" });
    log.warn("plain");
    log.error("failed", { reason: "x" });
    expect(lines.map((line) => [line.level, line.message])).toEqual([
      ["INFO", "accepted"],
      ["WARN", "plain"],
      ["ERROR", "failed"],
    ]);
    for (const line of lines) {
      expect(line).toMatchObject({ correlation_id: "corr-1", order_ref: "ORDER-1", attempt: 2 });
    }
    expect(lines[0]).toMatchObject({ outcome: "submitted" });
    expect(lines[2]).toMatchObject({ reason: "x" });
    // The wrapped logger itself is left as it was.
    logger.info("bare");
    expect(lines[3]).not.toHaveProperty("correlation_id");
  });
});

describe("runInRecordScope", () => {
  it("gives records in flight together each their own scope", async () => {
    const logger = new Logger({ serviceName: "scope-test" });
    const seen: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const record = (name: string) =>
      runInRecordScope({ logger: recordLogger(logger, { name }), imburseCorrelationId: name }, async () => {
        await gate;
        seen.push(currentRecordScope()!.imburseCorrelationId!);
      });
    const both = Promise.all([record("A"), record("B")]);
    release();
    await both;
    expect(seen).toEqual(["A", "B"]);
    expect(currentRecordScope()).toBeUndefined();
  });
});
