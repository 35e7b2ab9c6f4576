import type { SQSRecord } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { MESSAGE_ATTRIBUTES, SQS_MAX_MESSAGE_ATTRIBUTES } from "../lib/config/names.ts";
import { ImburseApiError, ImburseNetworkError } from "../lib/imburse/errors.ts";
import { readEnvelope, writeAttributes } from "../lib/relay/envelope.ts";
import {
  classifyFailure,
  fullJitterBackoffSeconds,
  isImburseFailure,
  MAX_RETRY_WAIT_SECONDS,
  planHop,
  planRetry,
} from "../lib/relay/policy.ts";
import { callTimeoutMs } from "../lib/relay/process-record.ts";

const api = (status: number, codes: string[] = [], retryAfterSeconds?: number) =>
  new ImburseApiError({
    status,
    method: "POST",
    path: "/v1/order-management",
    errors: codes.map((errorCode) => ({ errorCode })),
    imburseCorrelationId: "IMB-1",
    retryAfterSeconds,
  });
const token = (status: number, codes: string[] = []) =>
  new ImburseApiError({
    status,
    method: "POST",
    path: "/v1/identity/hmac",
    errors: codes.map((errorCode) => ({ errorCode })),
  });
const network = (code: string, mayHaveReachedServer: boolean) =>
  new ImburseNetworkError({
    code,
    method: "POST",
    path: "/p",
    timedOut: code === "ETIMEDOUT",
    mayHaveReachedServer,
  });

describe("classifyFailure", () => {
  it.each([
    [api(400, ["ORDER_ALREADY_EXISTS"]), { action: "reconcile" }],
    [api(409), { action: "reconcile" }],
    [
      api(429, ["TOO_MANY_REQUESTS"], 3),
      { action: "retry", reason: "throttled", status: 429, retryAfterSeconds: 3, unknownOutcome: false },
    ],
    [api(500), { action: "retry", reason: "server-error", status: 500 }],
    [api(502), { action: "retry", reason: "server-error", status: 502 }],
    [api(503), { action: "retry", reason: "server-error", status: 503 }],
    [api(504), { action: "retry", reason: "server-error", status: 504 }],
    [
      network("ETIMEDOUT", true),
      { action: "retry", reason: "network", unknownOutcome: true, errorCodes: ["ETIMEDOUT"] },
    ],
    [network("ECONNREFUSED", false), { action: "retry", reason: "network", unknownOutcome: false }],
    [api(505), { action: "retry", reason: "server-error", status: 505 }],
    [api(522), { action: "retry", reason: "server-error", status: 522 }],
    [api(408), { action: "retry", reason: "server-error", status: 408 }],
    [api(401), { action: "retry", reason: "auth", status: 401 }],
    [api(403), { action: "retry", reason: "auth", status: 403 }],
    [token(400, ["SIGNATURE_IS_INVALID"]), { action: "retry", reason: "auth", status: 400 }],
    [token(429), { action: "retry", reason: "throttled", status: 429 }],
    [token(503), { action: "retry", reason: "server-error", status: 503 }],
    [api(400, ["AMOUNT_OUT_OF_RANGE"]), { action: "reject", status: 400, imburseCorrelationId: "IMB-1" }],
    [api(402), { action: "reject", status: 402 }],
    [api(404), { action: "reject", status: 404 }],
    [api(422), { action: "reject", status: 422 }],
  ])("%s → %o", (error, expected) => {
    expect(classifyFailure(error)).toMatchObject(expected);
  });

  it("rethrows anything that is not an Imburse error", () => {
    const bug = new TypeError("bug");
    expect(() => classifyFailure(bug)).toThrow(bug);
  });
});

describe("backoff", () => {
  it("is full jitter: random × min(cap, base · 2^(attempt-1))", () => {
    expect(fullJitterBackoffSeconds(1, 5, 900, 0.5)).toBe(2.5);
    expect(fullJitterBackoffSeconds(4, 5, 900, 1)).toBe(40);
    expect(fullJitterBackoffSeconds(20, 5, 900, 0.5)).toBe(450);
    expect(fullJitterBackoffSeconds(3, 5, 900, 0)).toBe(0);
  });

  const now = Date.parse("2026-11-21T00:00:00Z");
  const base = { maxAttempts: 8, baseSeconds: 5, capSeconds: 900, now };

  it("waits the larger of Retry-After and the backoff, in whole seconds", () => {
    expect(planRetry({ ...base, attempt: 1, retryAfterSeconds: 3, random: 0 })).toEqual({
      kind: "retry",
      nextAttempt: 2,
      waitSeconds: 3,
      delaySeconds: 3,
      notBefore: undefined,
    });
    expect(planRetry({ ...base, attempt: 3, retryAfterSeconds: 3, random: 0.99 })).toMatchObject({
      waitSeconds: 20,
    });
    expect(planRetry({ ...base, attempt: 1, retryAfterSeconds: undefined, random: 0.1 })).toMatchObject({
      waitSeconds: 1,
    });
  });

  it("hops a wait longer than SQS's 900 s through not-before", () => {
    const plan = planRetry({ ...base, capSeconds: 3600, attempt: 7, retryAfterSeconds: 2000, random: 0 });
    expect(plan).toEqual({
      kind: "retry",
      nextAttempt: 8,
      waitSeconds: 2000,
      delaySeconds: 900,
      notBefore: new Date(now + 2_000_000),
    });
    expect(planHop(new Date(now + 2_000_000), now + 900_000)).toEqual({
      delaySeconds: 900,
      notBefore: new Date(now + 2_000_000),
    });
    expect(planHop(new Date(now + 2_000_000), now + 1_800_000)).toEqual({
      delaySeconds: 200,
      notBefore: undefined,
    });
    expect(planHop(new Date(now + 2_000_000), now + 2_000_000)).toBeUndefined();
    expect(planHop(undefined, now)).toBeUndefined();
  });

  it("waits at most 24 hours, whatever Retry-After says, and treats a far not-before as due", () => {
    const plan = planRetry({ ...base, attempt: 1, retryAfterSeconds: 365 * 86_400, random: 0 });
    expect(plan).toMatchObject({ kind: "retry", waitSeconds: MAX_RETRY_WAIT_SECONDS, delaySeconds: 900 });
    expect(planHop(new Date(now + (MAX_RETRY_WAIT_SECONDS + 60) * 1000), now)).toBeUndefined();
  });

  it("stops at the maximum attempts", () => {
    expect(planRetry({ ...base, attempt: 8, retryAfterSeconds: undefined, random: 0 })).toEqual({
      kind: "exhausted",
    });
    expect(planRetry({ ...base, attempt: 7, retryAfterSeconds: undefined, random: 0 }).kind).toBe("retry");
  });
});

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
    const fresh = readEnvelope(record({}), now);
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
    expect(readEnvelope(record({}), now, "corr-sns").correlationId).toBe("corr-sns");
    // A retry carries the attribute; it wins over the envelope the body still holds.
    expect(
      readEnvelope(record({ [MESSAGE_ATTRIBUTES.correlationId]: "c-1" }), now, "corr-sns").correlationId,
    ).toBe("c-1");
    expect(readEnvelope(record({}), now, "has space")).toMatchObject({
      correlationId: "m-1",
      rejectedCorrelationId: true,
    });
  });

  it("stays within SQS's 10 attributes, the relay's own first, and names what it dropped", () => {
    const publisher = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`x-pub-${i}`, `v${i}`]));
    const envelope = readEnvelope(record({ ...publisher, [MESSAGE_ATTRIBUTES.correlationId]: "c" }), now);
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
      expect(readEnvelope(withId(id), now)).toMatchObject({
        correlationId: "m-2",
        rejectedCorrelationId: true,
      });
    },
  );

  it("is kept when it is 1 to 128 printable ASCII characters", () => {
    expect(readEnvelope(withId("Order-42/α".slice(0, 8)), now).correlationId).toBe("Order-42");
  });
});

describe("Imburse failure and time budget", () => {
  it.each([
    [undefined, true],
    [401, true],
    [403, true],
    [408, true],
    [429, true],
    [500, true],
    [503, true],
    [400, false],
    [404, false],
    [201, false],
  ])("status %s counts as an Imburse failure: %s", (status, expected) => {
    expect(isImburseFailure(status)).toBe(expected);
  });

  it("gives each call the setting or what is left after keeping time to send the outcome", () => {
    expect(callTimeoutMs(10_000, 60_000)).toBe(10_000);
    expect(callTimeoutMs(10_000, 8_000)).toBe(5_000);
    expect(callTimeoutMs(10_000, 4_000)).toBe(1_000);
    expect(callTimeoutMs(10_000, 3_999)).toBeUndefined();
  });
});
