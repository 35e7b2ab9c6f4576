/** lib/ops/redrive.ts: which dead letters the scheduled redrive may move, and what a moved order carries. */
import type { MessageAttributeValue } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { MESSAGE_ATTRIBUTES } from "../../lib/config/index.ts";
import type { DeadLetterCause } from "../../lib/events/index.ts";
import {
  classifyDeadLetter,
  DEFAULT_REDRIVE_KINDS,
  type DeadLetterMessage,
  lastFailureWasTransient,
  planRedrive,
  REDRIVE_KINDS,
} from "../../lib/ops/redrive.ts";
import { exhausted, LETTERS, reason, str } from "../support/dead-letters.ts";

describe("lastFailureWasTransient", () => {
  it("accepts retries-exhausted letters whose last failure was throttling, a 5xx or the network", () => {
    const letter = (cause: DeadLetterCause) => ({ kind: cause.kind, reason: reason("R", cause) });
    expect(lastFailureWasTransient(letter(exhausted("throttled", 429)))).toBe(true);
    expect(lastFailureWasTransient(letter(exhausted("server-error", 500)))).toBe(true);
    expect(lastFailureWasTransient(letter(exhausted("network", undefined)))).toBe(true);
    expect(lastFailureWasTransient(letter(exhausted("server-error", 400)))).toBe(false);
    expect(lastFailureWasTransient(letter(exhausted("throttled", 404)))).toBe(false);
    const odd = { ...exhausted("network", undefined), lastReason: "rejected" } as unknown as DeadLetterCause;
    expect(lastFailureWasTransient(letter(odd))).toBe(false);
    expect(lastFailureWasTransient(letter(LETTERS["X-REJECTED"]!))).toBe(false);
    expect(lastFailureWasTransient({ kind: "unknown", reason: undefined })).toBe(false);
  });

  it("leaves a letter whose settledByDate passed, and one that arrived late, for a person", () => {
    const letter = (cause: DeadLetterCause) => ({ kind: cause.kind, reason: reason("R", cause) });
    const deadline = "2026-12-01T00:00:00.000Z";
    const exhaustedBy = (limit: "settled-by-date" | "retry-budget", lastReason = "server-error") =>
      ({
        ...exhausted("server-error", 503),
        lastReason,
        exhausted: { limit, deadline },
      }) as DeadLetterCause;
    expect(lastFailureWasTransient(letter(exhaustedBy("settled-by-date")))).toBe(false);
    expect(lastFailureWasTransient(letter(exhaustedBy("retry-budget")))).toBe(true);
    expect(lastFailureWasTransient(letter(exhaustedBy("retry-budget", "arrived-late")))).toBe(false);
  });
});

describe("lastFailureWasTransient: the statuses and reasons that agree", () => {
  const letter = (lastReason: string, lastStatus: number | null | undefined) => {
    const cause = {
      ...exhausted("server-error", undefined),
      lastReason,
      lastStatus,
    } as unknown as DeadLetterCause;
    return { kind: cause.kind, reason: reason("R", cause) };
  };

  it.each([
    [500, true],
    [599, true],
    [429, true],
    [null, true],
    [499, false],
    [600, false],
    [428, false],
  ])("with the last status %j: %j", (status, expected) => {
    expect(lastFailureWasTransient(letter("server-error", status))).toBe(expected);
  });

  it.each(["auth", "exists", "not-found", "rejected", "unexpected", "pending"])(
    "leaves a letter whose last reason was %s for a person",
    (lastReason) => {
      expect(lastFailureWasTransient(letter(lastReason, undefined))).toBe(false);
    },
  );
});

describe("planRedrive", () => {
  const relayAttributes = {
    [MESSAGE_ATTRIBUTES.attempt]: { DataType: "Number", StringValue: "4" },
    [MESSAGE_ATTRIBUTES.firstReceivedAt]: str("2026-01-01T00:00:00.000Z"),
    [MESSAGE_ATTRIBUTES.notBefore]: str("2026-01-01T00:10:00.000Z"),
    [MESSAGE_ATTRIBUTES.unknownOutcome]: str("true"),
  };
  const letter = (cause: DeadLetterCause, attributes: Record<string, MessageAttributeValue> = {}) => ({
    MessageId: "dlq-7",
    Body: '{"orderRef":"P-1"}',
    MessageAttributes: {
      [MESSAGE_ATTRIBUTES.deadLetterReason]: str(JSON.stringify(reason("P-1", cause))),
      ...relayAttributes,
      ...attributes,
    },
  });

  it("moves only retries-exhausted letters by default", () => {
    expect(DEFAULT_REDRIVE_KINDS).toEqual(["retries-exhausted"]);
    expect(planRedrive(letter(exhausted("throttled", 429)), DEFAULT_REDRIVE_KINDS).action).toBe("redrive");
    expect(planRedrive(letter(LETTERS["X-CONFLICT"]!), DEFAULT_REDRIVE_KINDS)).toMatchObject({
      action: "skip",
      kind: "conflict",
    });
  });

  it("of the chosen kinds, moves only what the filter accepts", () => {
    const transient = letter(exhausted("throttled", 429));
    const permanent = letter(exhausted("server-error", 400));
    expect(planRedrive(transient, ["retries-exhausted"], lastFailureWasTransient).action).toBe("redrive");
    expect(planRedrive(permanent, ["retries-exhausted"], lastFailureWasTransient)).toMatchObject({
      action: "skip",
      kind: "retries-exhausted",
      reason: { orderRef: "P-1" },
    });
  });

  it("sends the order as new: the relay's attempt, wait, first receipt, read-first mark and reason are dropped", () => {
    const plan = planRedrive(
      letter(exhausted("network", undefined), {
        "x-blob": {
          DataType: "Binary",
          BinaryValue: new Uint8Array([7]),
          StringListValues: [],
          BinaryListValues: [],
        },
      }),
      ["retries-exhausted"],
    );
    expect(plan.action === "redrive" && plan.message).toStrictEqual({
      body: '{"orderRef":"P-1"}',
      attributes: {
        // Not on the message: taken from the reason.
        [MESSAGE_ATTRIBUTES.correlationId]: str("corr-P-1"),
        [MESSAGE_ATTRIBUTES.originMessageId]: str("origin-P-1"),
        "x-blob": { DataType: "Binary", BinaryValue: new Uint8Array([7]) },
      },
    });
  });

  it("prefers the message's own ids to the reason's, and ignores blank ones", () => {
    const own = planRedrive(
      letter(exhausted("network", undefined), {
        [MESSAGE_ATTRIBUTES.correlationId]: str("corr-own"),
        [MESSAGE_ATTRIBUTES.originMessageId]: str("origin-own"),
      }),
      ["retries-exhausted"],
    );
    expect(own.action === "redrive" && own.message.attributes).toMatchObject({
      [MESSAGE_ATTRIBUTES.correlationId]: str("corr-own"),
      [MESSAGE_ATTRIBUTES.originMessageId]: str("origin-own"),
    });
    const blank = planRedrive(
      letter(exhausted("network", undefined), {
        [MESSAGE_ATTRIBUTES.correlationId]: str("  "),
        [MESSAGE_ATTRIBUTES.originMessageId]: str(""),
      }),
      ["retries-exhausted"],
    );
    expect(blank.action === "redrive" && blank.message.attributes).toMatchObject({
      [MESSAGE_ATTRIBUTES.correlationId]: str("corr-P-1"),
      [MESSAGE_ATTRIBUTES.originMessageId]: str("origin-P-1"),
    });
  });

  it("moves every letter when an operator chooses every kind, and none when they choose none", () => {
    const letters = Object.entries(LETTERS).map(
      ([ref, cause]): DeadLetterMessage => ({
        MessageId: `dlq-${ref}`,
        Body: "{}",
        MessageAttributes: cause
          ? { [MESSAGE_ATTRIBUTES.deadLetterReason]: str(JSON.stringify(reason(ref, cause))) }
          : {},
      }),
    );
    expect(letters.map((m) => planRedrive(m, REDRIVE_KINDS).action)).toEqual(letters.map(() => "redrive"));
    expect(new Set(letters.map((m) => classifyDeadLetter(m).kind))).toEqual(new Set(REDRIVE_KINDS));
    expect(letters.map((m) => planRedrive(m, []).action)).toEqual(letters.map(() => "skip"));
  });

  it("ignores ids sent as binary, and sends no origin id when there is none", () => {
    const plan = planRedrive(
      {
        MessageAttributes: {
          [MESSAGE_ATTRIBUTES.correlationId]: { DataType: "Binary", BinaryValue: new Uint8Array([1]) },
        },
      },
      ["unknown"],
    );
    expect(plan.action === "redrive" && plan.message.attributes).toStrictEqual({});
  });

  it("redrives a message without a body or a correlation id as an empty body under its own id", () => {
    const plan = planRedrive({ MessageId: "m-0" }, ["unknown"]);
    expect(plan).toEqual({
      action: "redrive",
      kind: "unknown",
      reason: undefined,
      message: { body: "", attributes: { [MESSAGE_ATTRIBUTES.originMessageId]: str("m-0") } },
    });
    expect(classifyDeadLetter({ MessageId: "m-0", MessageAttributes: {} }).kind).toBe("unknown");
  });
});
