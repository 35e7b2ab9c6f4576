import type { SQSRecord } from "aws-lambda";
import { describe, expect, it } from "vitest";
import {
  MESSAGE_ATTRIBUTES,
  RELAY_ATTRIBUTES_MAX_BYTES,
  SOURCE_QUEUE_MAX_MESSAGE_BYTES,
  SQS_MAX_MESSAGE_ATTRIBUTES,
  SQS_MAX_MESSAGE_BYTES,
} from "../../lib/config/index.ts";
import { attributeBytes, queueNameOf, readEnvelope, writeAttributes } from "../../lib/relay/envelope.ts";
import { type DeadLetterReason, deadLetterReasonRoom, fitDeadLetterReason } from "../../lib/relay/reasons.ts";

const retryQueue = { fromRetryQueue: true };
const ordersQueue = { fromRetryQueue: false };

describe("message attributes", () => {
  const record = (attributes: Record<string, string>): SQSRecord =>
    ({
      messageId: "m-1",
      body: "{}",
      messageAttributes: Object.fromEntries(
        Object.entries(attributes).map(([k, v]) => [
          k,
          { dataType: "String", stringValue: v, stringListValues: [], binaryListValues: [] },
        ]),
      ),
    }) as unknown as SQSRecord;
  const now = new Date("2026-11-21T00:00:00Z");

  it("reads the relay's attributes; without a correlation id the stable SQS message id becomes one", () => {
    const fresh = readEnvelope(record({}), now, retryQueue);
    expect(fresh).toMatchObject({
      correlationId: "m-1",
      rejectedCorrelationId: false,
      attempt: 1,
      originMessageId: "m-1",
      firstReceivedAt: now,
    });
    const retry = readEnvelope(
      record({
        [MESSAGE_ATTRIBUTES.correlationId]: "c-1",
        [MESSAGE_ATTRIBUTES.attempt]: "3",
        [MESSAGE_ATTRIBUTES.originMessageId]: "origin",
        [MESSAGE_ATTRIBUTES.firstReceivedAt]: "2026-11-20T00:00:00.000Z",
        [MESSAGE_ATTRIBUTES.unknownOutcome]: "true",
      }),
      now,
      retryQueue,
    );
    expect(retry).toMatchObject({
      correlationId: "c-1",
      attempt: 3,
      originMessageId: "origin",
      unknownOutcome: true,
    });
    expect(retry.firstReceivedAt.toISOString()).toBe("2026-11-20T00:00:00.000Z");
  });

  it("takes an SNS envelope's correlation id only when the message attribute is absent, under the same rule", () => {
    expect(
      readEnvelope(record({}), now, { ...ordersQueue, bodyCorrelationId: "corr-sns" }).correlationId,
    ).toBe("corr-sns");
    // A retry carries the attribute; it wins over the envelope the body still holds.
    expect(
      readEnvelope(record({ [MESSAGE_ATTRIBUTES.correlationId]: "c-1" }), now, {
        ...retryQueue,
        bodyCorrelationId: "corr-sns",
      }).correlationId,
    ).toBe("c-1");
    expect(readEnvelope(record({}), now, { ...ordersQueue, bodyCorrelationId: "has space" })).toMatchObject({
      correlationId: "m-1",
      rejectedCorrelationId: true,
    });
  });

  it("stays within SQS's 10 attributes, the relay's own first, and names what it dropped", () => {
    const publisher = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`x-pub-${i}`, `v${i}`]));
    const envelope = readEnvelope(
      record({ ...publisher, [MESSAGE_ATTRIBUTES.correlationId]: "c" }),
      now,
      ordersQueue,
    );
    const { attributes, dropped } = writeAttributes(envelope, { attempt: 2, unknownOutcome: true });
    expect(Object.keys(attributes)).toHaveLength(SQS_MAX_MESSAGE_ATTRIBUTES);
    expect(attributes[MESSAGE_ATTRIBUTES.attempt]).toEqual({ DataType: "Number", StringValue: "2" });
    expect(attributes[MESSAGE_ATTRIBUTES.correlationId]?.StringValue).toBe("c");
    expect(dropped).toEqual(["x-pub-5", "x-pub-6", "x-pub-7", "x-pub-8"]);
  });
});

describe("the publisher's correlation id", () => {
  const withId = (id: string): SQSRecord =>
    ({
      messageId: "m-2",
      body: "{}",
      messageAttributes: {
        [MESSAGE_ATTRIBUTES.correlationId]: {
          dataType: "String",
          stringValue: id,
          stringListValues: [],
          binaryListValues: [],
        },
      },
    }) as unknown as SQSRecord;
  const now = new Date();

  it.each([["a".repeat(129)], ["naïve-ü"], ["line\nbreak"]])(
    "is replaced by the message id when unusable: %j",
    (id) => {
      expect(readEnvelope(withId(id), now, ordersQueue)).toMatchObject({
        correlationId: "m-2",
        rejectedCorrelationId: true,
      });
    },
  );

  it("is kept when it is 1 to 128 printable ASCII characters", () => {
    expect(readEnvelope(withId("Order-42/α".slice(0, 8)), now, ordersQueue).correlationId).toBe("Order-42");
  });
});

describe("relay attributes on the orders queue", () => {
  const record = (attributes: Record<string, string>): SQSRecord =>
    ({
      messageId: "m-3",
      body: "{}",
      messageAttributes: Object.fromEntries(
        Object.entries(attributes).map(([k, v]) => [
          k,
          { dataType: "String", stringValue: v, stringListValues: [], binaryListValues: [] },
        ]),
      ),
    }) as unknown as SQSRecord;
  const now = new Date("2026-11-30T00:00:00Z");
  const steering = {
    [MESSAGE_ATTRIBUTES.attempt]: "7",
    [MESSAGE_ATTRIBUTES.notBefore]: "2026-12-01T00:00:00.000Z",
    [MESSAGE_ATTRIBUTES.firstReceivedAt]: "2026-01-01T00:00:00.000Z",
    [MESSAGE_ATTRIBUTES.unknownOutcome]: "true",
    [MESSAGE_ATTRIBUTES.originMessageId]: "origin-1",
  };

  it("ignores a publisher's attempt, wait, first receipt and read-first mark, and names them", () => {
    const envelope = readEnvelope(record(steering), now, ordersQueue);
    expect(envelope).toMatchObject({
      attempt: 1,
      notBefore: undefined,
      firstReceivedAt: now,
      unknownOutcome: false,
      // A label only, carried by the redrive: kept.
      originMessageId: "origin-1",
    });
    expect(envelope.ignoredAttributes.sort()).toEqual(
      [
        MESSAGE_ATTRIBUTES.attempt,
        MESSAGE_ATTRIBUTES.notBefore,
        MESSAGE_ATTRIBUTES.firstReceivedAt,
        MESSAGE_ATTRIBUTES.unknownOutcome,
      ].sort(),
    );
    expect(Object.keys(envelope.foreignAttributes)).toEqual([]);
  });

  it("keeps a publisher's origin message id only while it is a usable id (1 to 128 printable ASCII)", () => {
    const long = readEnvelope(
      record({ [MESSAGE_ATTRIBUTES.originMessageId]: "x".repeat(129) }),
      now,
      ordersQueue,
    );
    expect(long.originMessageId).toBe("m-3");
    const spaced = readEnvelope(record({ [MESSAGE_ATTRIBUTES.originMessageId]: "a b" }), now, ordersQueue);
    expect(spaced.originMessageId).toBe("m-3");
  });

  it("reads them on the retry queue, where only the relay writes", () => {
    const envelope = readEnvelope(record(steering), now, retryQueue);
    expect(envelope).toMatchObject({ attempt: 7, unknownOutcome: true, ignoredAttributes: [] });
    expect(envelope.notBefore?.toISOString()).toBe("2026-12-01T00:00:00.000Z");
  });

  it("tells a queue by name from its ARN or its URL", () => {
    expect(queueNameOf("arn:aws:sqs:eu-west-1:123456789012:imburse-relay-prod-Retry")).toBe(
      "imburse-relay-prod-Retry",
    );
    expect(queueNameOf("https://sqs.eu-west-1.amazonaws.com/123456789012/imburse-relay-prod-Retry")).toBe(
      "imburse-relay-prod-Retry",
    );
  });
});

describe("fitDeadLetterReason", () => {
  const base = {
    correlationId: "corr-1",
    orderRef: "ORD-1",
    attempts: 1,
    originMessageId: "m-1",
    firstReceivedAt: "2026-01-01T00:00:00.000Z",
    deadLetteredAt: "2026-01-01T00:00:01.000Z",
  };
  const issues = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      path: `instructions[${i}].amount`,
      code: "invalid_amount" as const,
      message: "x".repeat(200),
    }));
  const invalid = (n: number, truncatedErrors?: number): DeadLetterReason => ({
    ...base,
    kind: "invalid",
    errors: issues(n),
    ...(truncatedErrors ? { truncatedErrors } : {}),
  });

  it("keeps a reason that fits as it is", () => {
    expect(fitDeadLetterReason(invalid(3), 10_000)).toBe(JSON.stringify(invalid(3)));
  });

  it("cuts the list by size, not only by count, and counts what it dropped", () => {
    const text = fitDeadLetterReason(invalid(50, 7), 3_000);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(3_000);
    const fitted = JSON.parse(text) as DeadLetterReason & { kind: "invalid" };
    expect(fitted.errors.length).toBeGreaterThan(0);
    expect(fitted.errors.length + (fitted.truncatedErrors ?? 0)).toBe(57);
    expect(fitted).toMatchObject({ truncated: true, correlationId: "corr-1", orderRef: "ORD-1" });
  });

  it("keeps only what identifies the order when even an empty list does not fit", () => {
    const conflict: DeadLetterReason = {
      ...base,
      kind: "conflict",
      detail: "d".repeat(5_000),
      differences: [],
    };
    const text = fitDeadLetterReason(conflict, 400);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(400);
    expect(JSON.parse(text)).toEqual({ ...base, kind: "conflict", truncated: true });
  });

  it("leaves room for any body the orders queue takes: at least 12 KiB", () => {
    expect(deadLetterReasonRoom("x".repeat(SOURCE_QUEUE_MAX_MESSAGE_BYTES))).toBe(12_288);
    expect(deadLetterReasonRoom("é")).toBe(SQS_MAX_MESSAGE_BYTES - 2 - RELAY_ATTRIBUTES_MAX_BYTES);
  });
});

describe("reading an envelope: values the relay cannot use", () => {
  const attribute = (stringValue: string) => ({
    dataType: "String",
    stringValue,
    stringListValues: [],
    binaryListValues: [],
  });
  const record = (attributes: Record<string, string> | undefined): SQSRecord =>
    ({
      messageId: "m-4",
      body: "{}",
      ...(attributes
        ? {
            messageAttributes: Object.fromEntries(
              Object.entries(attributes).map(([k, v]) => [k, attribute(v)]),
            ),
          }
        : {}),
    }) as unknown as SQSRecord;
  const now = new Date("2026-11-30T12:00:00Z");

  it.each(["0", "-2", "2.5", "two", ""])("starts again at attempt 1 when the attempt reads %j", (value) => {
    expect(readEnvelope(record({ [MESSAGE_ATTRIBUTES.attempt]: value }), now, retryQueue).attempt).toBe(1);
  });

  it("treats unparsable times as absent: received now, due now", () => {
    const envelope = readEnvelope(
      record({ [MESSAGE_ATTRIBUTES.firstReceivedAt]: "yesterday", [MESSAGE_ATTRIBUTES.notBefore]: "soon" }),
      now,
      retryQueue,
    );
    expect(envelope.firstReceivedAt).toEqual(now);
    expect(envelope.notBefore).toBeUndefined();
  });

  it("reads a record without attributes as a first delivery", () => {
    expect(readEnvelope(record(undefined), now, retryQueue)).toEqual({
      correlationId: "m-4",
      rejectedCorrelationId: false,
      attempt: 1,
      firstReceivedAt: now,
      notBefore: undefined,
      originMessageId: "m-4",
      unknownOutcome: false,
      foreignAttributes: {},
      ignoredAttributes: [],
    });
  });

  it("trims a correlation id, and treats a blank one as absent rather than rejected", () => {
    expect(
      readEnvelope(record({ [MESSAGE_ATTRIBUTES.correlationId]: "  c-9 " }), now, ordersQueue),
    ).toMatchObject({ correlationId: "c-9", rejectedCorrelationId: false });
    expect(
      readEnvelope(record({ [MESSAGE_ATTRIBUTES.correlationId]: "   " }), now, ordersQueue),
    ).toMatchObject({
      correlationId: "m-4",
      rejectedCorrelationId: false,
    });
    expect(
      readEnvelope(record({}), now, { ...ordersQueue, bodyCorrelationId: "  corr-sns  " }).correlationId,
    ).toBe("corr-sns");
    expect(readEnvelope(record({}), now, { ...ordersQueue, bodyCorrelationId: "  " })).toMatchObject({
      correlationId: "m-4",
      rejectedCorrelationId: false,
    });
  });

  it("reads the read-first mark only when it says exactly true", () => {
    expect(
      readEnvelope(record({ [MESSAGE_ATTRIBUTES.unknownOutcome]: "false" }), now, retryQueue).unknownOutcome,
    ).toBe(false);
    expect(
      readEnvelope(record({ [MESSAGE_ATTRIBUTES.unknownOutcome]: " true " }), now, retryQueue).unknownOutcome,
    ).toBe(true);
  });

  it("ignores a dead-letter reason a publisher set on the orders queue, and names it", () => {
    const envelope = readEnvelope(
      record({ [MESSAGE_ATTRIBUTES.deadLetterReason]: '{"kind":"invalid"}', "x-pub": "kept" }),
      now,
      ordersQueue,
    );
    expect(envelope.ignoredAttributes).toEqual([MESSAGE_ATTRIBUTES.deadLetterReason]);
    expect(Object.keys(envelope.foreignAttributes)).toEqual(["x-pub"]);
  });

  it("ignores a relay attribute sent as binary rather than text", () => {
    const binary = {
      messageId: "m-6",
      body: "{}",
      messageAttributes: {
        [MESSAGE_ATTRIBUTES.correlationId]: {
          dataType: "Binary",
          binaryValue: Buffer.from("c-1").toString("base64"),
        },
      },
    } as unknown as SQSRecord;
    expect(readEnvelope(binary, now, retryQueue)).toMatchObject({
      correlationId: "m-6",
      rejectedCorrelationId: false,
    });
  });

  it("forwards a publisher's text attribute as it came, with no binary value", () => {
    const { foreignAttributes } = readEnvelope(record({ "x-pub": "kept" }), now, ordersQueue);
    expect(foreignAttributes).toStrictEqual({ "x-pub": { DataType: "String", StringValue: "kept" } });
  });

  it("forwards a publisher's binary attribute as bytes, and never the relay's own attributes", () => {
    const binary = {
      messageId: "m-5",
      body: "{}",
      messageAttributes: {
        "x-blob": { dataType: "Binary", binaryValue: Buffer.from([1, 2, 255]).toString("base64") },
        [MESSAGE_ATTRIBUTES.attempt]: attribute("2"),
      },
    } as unknown as SQSRecord;
    const { foreignAttributes } = readEnvelope(binary, now, retryQueue);
    expect(foreignAttributes).toEqual({
      "x-blob": { DataType: "Binary", BinaryValue: Buffer.from([1, 2, 255]) },
    });
  });
});

describe("writing attributes", () => {
  const envelope = {
    correlationId: "c-1",
    rejectedCorrelationId: false,
    attempt: 2,
    firstReceivedAt: new Date("2026-11-30T00:00:00Z"),
    notBefore: undefined,
    originMessageId: "o-1",
    unknownOutcome: false,
    foreignAttributes: {},
    ignoredAttributes: [],
  };
  const str = (value: string) => ({ DataType: "String", StringValue: value });

  it("writes the wait, the read-first mark and the dead-letter reason only when given", () => {
    const plain = writeAttributes(envelope, { attempt: 3 }).attributes;
    expect(plain).toEqual({
      [MESSAGE_ATTRIBUTES.correlationId]: str("c-1"),
      [MESSAGE_ATTRIBUTES.attempt]: { DataType: "Number", StringValue: "3" },
      [MESSAGE_ATTRIBUTES.firstReceivedAt]: str("2026-11-30T00:00:00.000Z"),
      [MESSAGE_ATTRIBUTES.originMessageId]: str("o-1"),
    });
    const full = writeAttributes(envelope, {
      attempt: 3,
      notBefore: new Date("2026-12-01T00:00:00Z"),
      unknownOutcome: true,
      deadLetterReason: '{"kind":"conflict"}',
    }).attributes;
    expect(full).toMatchObject({
      [MESSAGE_ATTRIBUTES.notBefore]: str("2026-12-01T00:00:00.000Z"),
      [MESSAGE_ATTRIBUTES.unknownOutcome]: str("true"),
      [MESSAGE_ATTRIBUTES.deadLetterReason]: str('{"kind":"conflict"}'),
    });
  });

  it("forwards publisher attributes in name order, whatever order they came in", () => {
    const names = ["x-e", "x-d", "x-c", "x-b", "x-a", "x-z", "x-y"];
    const many = {
      ...envelope,
      foreignAttributes: Object.fromEntries(names.map((name) => [name, str("v")])),
    };
    // 4 relay attributes leave room for 6 of the publisher's.
    expect(writeAttributes(many, { attempt: 2 }).dropped).toEqual(["x-z"]);
  });

  it("forwards publisher attributes only while they fit the bytes left, to the byte", () => {
    const withForeign = {
      ...envelope,
      foreignAttributes: { "x-a": str("é"), "x-b": { DataType: "Binary", BinaryValue: new Uint8Array(3) } },
    };
    const own = attributeBytes(writeAttributes(envelope, { attempt: 2 }).attributes);
    // "x-a" + "String" + "é" (2 bytes in UTF-8) = 11 bytes; "x-b" + "Binary" + 3 bytes = 12 bytes.
    expect(attributeBytes({ "x-a": str("é") })).toBe(11);
    expect(attributeBytes({ "x-b": withForeign.foreignAttributes["x-b"] })).toBe(12);
    expect(writeAttributes(withForeign, { attempt: 2 }, own + 23).dropped).toEqual([]);
    expect(writeAttributes(withForeign, { attempt: 2 }, own + 22)).toMatchObject({ dropped: ["x-b"] });
    expect(writeAttributes(withForeign, { attempt: 2 }, own + 10).dropped).toEqual(["x-a", "x-b"]);
    // One too large for the room does not stop a smaller one after it.
    const large = { ...withForeign.foreignAttributes, "x-a": str("é".repeat(10)) };
    expect(
      writeAttributes({ ...envelope, foreignAttributes: large }, { attempt: 2 }, own + 12),
    ).toMatchObject({
      dropped: ["x-a"],
      attributes: { "x-b": large["x-b"] },
    });
  });
});
