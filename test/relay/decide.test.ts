/**
 * The decision point: every row of the README's outcome table, from Imburse's answer through `submitOrder`
 * to the step `decide` chooses, with an injected clock and random draw; then the retry budget in time.
 */
import { describe, expect, it } from "vitest";
import {
  countsAgainstAvailability,
  type FailureKind,
  failureKind,
  ImburseApiError,
  ImburseNetworkError,
  kindOfAnswer,
} from "../../lib/imburse/index.ts";
import { type Order, parseOrder } from "../../lib/orders/index.ts";
import {
  type DecisionContext,
  decide,
  fullJitterBackoffSeconds,
  isDue,
  MAX_RETRY_WAIT_SECONDS,
  type NextStep,
  NOT_STARTED_VISIBLE_IN_SECONDS,
  type RecordOutcome,
  retryDeadline,
} from "../../lib/relay/decide.ts";
import { type OrderApi, type SubmitOutcome, submitOrder } from "../../lib/relay/submit-order.ts";

const NOW = Date.parse("2026-11-30T12:00:00Z");
const DAY_MS = 86_400_000;

const apiError = (
  status: number,
  codes: string[] = [],
  extra: { method?: string; path?: string; retryAfter?: number } = {},
) =>
  new ImburseApiError({
    status,
    method: extra.method ?? "POST",
    path: extra.path ?? "/v1/order-management",
    errors: codes.map((errorCode) => ({ errorCode })),
    imburseCorrelationId: "IMB-1",
    retryAfterSeconds: extra.retryAfter,
  });
const getError = (status: number, codes: string[] = []) =>
  apiError(status, codes, { method: "GET", path: "/v1/order-management/ORDER-1" });
const networkError = (code: string, mayHaveReachedServer: boolean) =>
  new ImburseNetworkError({
    code,
    method: "POST",
    path: "/v1/order-management",
    timedOut: code === "ETIMEDOUT",
    mayHaveReachedServer,
  });

const parsed = parseOrder({
  orderRef: "ORDER-1",
  instructions: [
    {
      instructionRef: "ORDER-1-1",
      customerRef: "CUST-1",
      direction: "DEBIT",
      amount: "10.00",
      currency: "EUR",
      country: "IE",
      settledByDate: "2027-03-31",
      schemeId: "0123456789ABCDEF0123456789ABCDEF",
    },
  ],
});
if (!parsed.success) throw new Error("fixture order is invalid");
const order: Order = parsed.order;
const other = { ...order, instructions: [{ ...order.instructions![0]!, amount: "99.00" }] };

const context = (overrides: Partial<DecisionContext> = {}): DecisionContext => ({
  attempt: 1,
  firstReceivedAt: NOW,
  deadline: { at: NOW + DAY_MS, from: "retry-budget" },
  mayExist: false,
  settings: { retryBaseSeconds: 5, retryCapSeconds: 900, maxAttempts: undefined },
  now: NOW,
  random: 0.5,
  ...overrides,
});

/** A fake Imburse: each call answers with the next value, or throws it when it is an Error. */
function fakeApi(create: unknown[], get: unknown[] = []): OrderApi & { calls: string[] } {
  const calls: string[] = [];
  const answer = async (queue: unknown[], route: string) => {
    calls.push(route);
    const next = queue.shift();
    if (next instanceof Error) throw next;
    return next;
  };
  return {
    calls,
    createOrder: async () => ({ status: (await answer(create, "create")) as number, body: undefined }),
    getOrder: (_ref: string) => answer(get, "get"),
  };
}

describe("the README's outcome table: Imburse's answer → submitOrder → decide", () => {
  const rows: Array<{
    row: string;
    create?: unknown[];
    get?: unknown[];
    readFirst?: boolean;
    outcome: SubmitOutcome["kind"];
    step: Partial<NextStep> & { kind: NextStep["kind"] };
    calls: string[];
  }> = [
    {
      row: "201 → submitted",
      create: [201],
      outcome: "submitted",
      step: { kind: "acknowledge", outcome: "submitted" },
      calls: ["create"],
    },
    {
      row: "202 → submitted",
      create: [202],
      outcome: "submitted",
      step: { kind: "acknowledge" },
      calls: ["create"],
    },
    {
      row: "400 ORDER_ALREADY_EXISTS, same content → already-existed",
      create: [apiError(400, ["ORDER_ALREADY_EXISTS"])],
      get: [order],
      outcome: "already-existed",
      step: { kind: "acknowledge", outcome: "already-existed" },
      calls: ["create", "get"],
    },
    {
      row: "409, other content → conflict (DLQ)",
      create: [apiError(409)],
      get: [other],
      outcome: "conflict",
      step: { kind: "dead-letter" },
      calls: ["create", "get"],
    },
    {
      row: "ORDER_ALREADY_EXISTS that GET cannot show → retried (pending)",
      create: [apiError(400, ["ORDER_ALREADY_EXISTS"])],
      get: [getError(400, ["ORDER_NOT_FOUND"])],
      outcome: "failed",
      step: { kind: "retry" },
      calls: ["create", "get"],
    },
    {
      row: "ORDER_ALREADY_EXISTS whose GET answers 409 → retried (unexpected), never a raw error",
      create: [apiError(409)],
      get: [getError(409)],
      outcome: "failed",
      step: { kind: "retry" },
      calls: ["create", "get"],
    },
    {
      row: "429 → retry",
      create: [apiError(429, [], { retryAfter: 30 })],
      outcome: "failed",
      step: { kind: "retry", waitSeconds: 30 },
      calls: ["create"],
    },
    {
      row: "503 → retry",
      create: [apiError(503)],
      outcome: "failed",
      step: { kind: "retry" },
      calls: ["create"],
    },
    {
      row: "408 → retry",
      create: [apiError(408)],
      outcome: "failed",
      step: { kind: "retry" },
      calls: ["create"],
    },
    {
      row: "401 → retry (auth)",
      create: [apiError(401)],
      outcome: "failed",
      step: { kind: "retry" },
      calls: ["create"],
    },
    {
      row: "refused token exchange → retry (auth)",
      create: [apiError(400, ["SIGNATURE_IS_INVALID"], { path: "/v1/identity/hmac" })],
      outcome: "failed",
      step: { kind: "retry" },
      calls: ["create"],
    },
    {
      row: "network, not sent → retry",
      create: [networkError("ECONNREFUSED", false)],
      outcome: "failed",
      step: { kind: "retry" },
      calls: ["create"],
    },
    {
      row: "timeout after sending → retry, may exist",
      create: [networkError("ETIMEDOUT", true)],
      outcome: "failed",
      step: { kind: "retry" },
      calls: ["create"],
    },
    {
      row: "400 validation → rejected",
      create: [apiError(400, ["AMOUNT_OUT_OF_RANGE"])],
      outcome: "rejected",
      step: { kind: "dead-letter" },
      calls: ["create"],
    },
    {
      row: "402 → rejected",
      create: [apiError(402)],
      outcome: "rejected",
      step: { kind: "dead-letter" },
      calls: ["create"],
    },
    {
      row: "404 on create → rejected",
      create: [apiError(404)],
      outcome: "rejected",
      step: { kind: "dead-letter" },
      calls: ["create"],
    },
    {
      row: "422 → rejected",
      create: [apiError(422)],
      outcome: "rejected",
      step: { kind: "dead-letter" },
      calls: ["create"],
    },
    {
      row: "may exist: read first, found with the same content → already-existed, no POST",
      readFirst: true,
      get: [order],
      outcome: "already-existed",
      step: { kind: "acknowledge" },
      calls: ["get"],
    },
    {
      row: "may exist: read first, not found → POST",
      readFirst: true,
      get: [getError(404)],
      create: [201],
      outcome: "submitted",
      step: { kind: "acknowledge" },
      calls: ["get", "create"],
    },
    {
      row: "may exist: the read fails → retry, no POST",
      readFirst: true,
      get: [getError(503)],
      outcome: "failed",
      step: { kind: "retry" },
      calls: ["get"],
    },
    {
      row: "may exist: the read is refused (400) → retry (unexpected), not a rejection of the order",
      readFirst: true,
      get: [getError(400, ["BAD_REQUEST"])],
      outcome: "failed",
      step: { kind: "retry" },
      calls: ["get"],
    },
  ];

  it.each(rows)("$row", async ({ create = [], get = [], readFirst = false, outcome, step, calls }) => {
    const api = fakeApi([...create], [...get]);
    const result = await submitOrder(api, order, { correlationId: "c", readFirst });
    expect(result.kind).toBe(outcome);
    expect(api.calls).toEqual(calls);
    expect(decide(result, context({ random: 0 }))).toMatchObject(step);
  });

  it("marks what may have reached Imburse: a timeout after sending and every failed read, not a plain 5xx", async () => {
    const mayHaveReached = async (create: unknown[], get: unknown[] = [], readFirst = false) => {
      const result = await submitOrder(fakeApi(create, get), order, { correlationId: "c", readFirst });
      return result.kind === "failed" && result.failure.mayHaveReached;
    };
    expect(await mayHaveReached([networkError("ETIMEDOUT", true)])).toBe(true);
    expect(await mayHaveReached([networkError("ECONNREFUSED", false)])).toBe(false);
    expect(await mayHaveReached([apiError(503)])).toBe(false);
    // ... unless it answered the retry after a dead socket, whose first try may have created the order
    const afterDeadSocket = (status: number) =>
      new ImburseApiError({
        status,
        method: "POST",
        path: "/v1/order-management",
        errors: [],
        earlierTryMayHaveReached: true,
      });
    expect(await mayHaveReached([afterDeadSocket(503)])).toBe(true);
    expect(await mayHaveReached([afterDeadSocket(401)])).toBe(true);
    expect(await mayHaveReached([], [getError(503)], true)).toBe(true);
    expect(await mayHaveReached([apiError(409)], [getError(409)])).toBe(true);
  });

  it("throws only what is not Imburse's (a bug), so the record is handed back loudly", async () => {
    const bug = new TypeError("bug");
    await expect(submitOrder(fakeApi([bug]), order, { correlationId: "c", readFirst: false })).rejects.toBe(
      bug,
    );
  });

  it("starts no call with less than a second of the attempt left, and says whether one was posted", async () => {
    let now = NOW;
    const api = fakeApi([apiError(409)], [order]);
    const slowCreate = api.createOrder;
    api.createOrder = async (...args) => {
      now += 9_500;
      return slowCreate(...args);
    };
    const result = await submitOrder(api, order, {
      correlationId: "c",
      readFirst: false,
      deadline: NOW + 10_000,
      clock: () => now,
    });
    expect(result).toMatchObject({
      kind: "failed",
      failure: { errorCodes: ["RELAY_OUT_OF_TIME"], mayHaveReached: true },
    });
    expect(api.calls).toEqual(["create"]);
  });
});

describe("submitOrder: what it sends and what a failure carries", () => {
  /** A fake Imburse that records the options of every call. */
  const recording = (create: unknown[], get: unknown[] = []) => {
    const options: Array<[string, unknown]> = [];
    const api = fakeApi(create, get);
    const createOrder = api.createOrder;
    const getOrder = api.getOrder;
    api.createOrder = (body, callOptions) => {
      options.push(["create", callOptions]);
      return createOrder(body, callOptions);
    };
    api.getOrder = (ref, callOptions) => {
      options.push(["get", callOptions]);
      return getOrder(ref, callOptions);
    };
    return { api, options };
  };

  it("gives each call the correlation id and what is left of the deadline, at most the timeout setting", async () => {
    let now = NOW;
    const { api, options } = recording([201], [getError(404)]);
    const slowGet = api.getOrder;
    api.getOrder = async (ref, callOptions) => {
      now += 4_000;
      return slowGet(ref, callOptions);
    };
    await submitOrder(api, order, {
      correlationId: "c-9",
      readFirst: true,
      deadline: NOW + 10_000,
      timeoutMs: 8_000,
      clock: () => now,
    });
    expect(options).toEqual([
      ["get", { correlationId: "c-9", timeoutMs: 8_000, deadline: NOW + 10_000 }],
      ["create", { correlationId: "c-9", timeoutMs: 6_000, deadline: NOW + 10_000 }],
    ]);
  });

  it("without a deadline, passes the timeout setting alone", async () => {
    const { api, options } = recording([201]);
    await submitOrder(api, order, { correlationId: "c-1", readFirst: false, timeoutMs: 5_000 });
    expect(options).toEqual([["create", { correlationId: "c-1", timeoutMs: 5_000 }]]);
  });

  it("carries Imburse's status, codes, Retry-After and correlation id in a failure", async () => {
    const result = await submitOrder(
      fakeApi([apiError(429, ["TOO_MANY_REQUESTS"], { retryAfter: 7 })]),
      order,
      {
        correlationId: "c",
        readFirst: false,
      },
    );
    expect(result).toEqual({
      kind: "failed",
      failure: {
        reason: "throttled",
        status: 429,
        errorCodes: ["TOO_MANY_REQUESTS"],
        retryAfterSeconds: 7,
        imburseCorrelationId: "IMB-1",
        mayHaveReached: false,
      },
    });
  });

  it("carries a network failure's code, and whether it may have reached Imburse", async () => {
    const result = await submitOrder(fakeApi([networkError("ETIMEDOUT", true)]), order, {
      correlationId: "c",
      readFirst: false,
    });
    expect(result).toEqual({
      kind: "failed",
      failure: {
        reason: "network",
        status: undefined,
        errorCodes: ["ETIMEDOUT"],
        retryAfterSeconds: undefined,
        imburseCorrelationId: undefined,
        mayHaveReached: true,
      },
    });
  });

  it("carries a rejection's status, errors and correlation id", async () => {
    const result = await submitOrder(fakeApi([apiError(422, ["SCHEME_NOT_FOUND"])]), order, {
      correlationId: "c",
      readFirst: false,
    });
    expect(result).toEqual({
      kind: "rejected",
      status: 422,
      errors: [{ errorCode: "SCHEME_NOT_FOUND" }],
      imburseCorrelationId: "IMB-1",
    });
  });

  it("names why an existing order is pending: not shown yet, or instructions still missing", async () => {
    const notShown = await submitOrder(fakeApi([apiError(409)], [getError(404)]), order, {
      correlationId: "c",
      readFirst: false,
    });
    expect(notShown).toMatchObject({
      kind: "failed",
      failure: { reason: "pending", errorCodes: ["ORDER_NOT_FOUND_AFTER_EXISTS"], mayHaveReached: true },
    });
    const partial = { ...order, instructions: [] };
    const missing = await submitOrder(fakeApi([apiError(409)], [partial]), order, {
      correlationId: "c",
      readFirst: false,
    });
    expect(missing).toMatchObject({
      kind: "failed",
      failure: { reason: "pending", errorCodes: ["INSTRUCTIONS_NOT_SHOWN_YET"] },
    });
  });

  it("keeps a read's throttling as throttling, with what Imburse said", async () => {
    const result = await submitOrder(fakeApi([], [getError(429, ["TOO_MANY_REQUESTS"])]), order, {
      correlationId: "c",
      readFirst: true,
    });
    expect(result).toMatchObject({
      kind: "failed",
      failure: { reason: "throttled", status: 429, errorCodes: ["TOO_MANY_REQUESTS"], mayHaveReached: true },
    });
  });
});

describe("submitOrder: time, reads and reconciliation", () => {
  const optionsOf = (api: OrderApi) => {
    const seen: unknown[] = [];
    const createOrder = api.createOrder;
    api.createOrder = (body, options) => {
      seen.push(options);
      return createOrder(body, options);
    };
    return seen;
  };

  it("gives a call all the time left when no timeout is set, and still starts one with exactly a second left", async () => {
    const api = fakeApi([201]);
    const seen = optionsOf(api);
    const result = await submitOrder(api, order, {
      correlationId: "c",
      readFirst: false,
      deadline: NOW + 1_000,
      clock: () => NOW,
    });
    expect(result).toEqual({ kind: "submitted", status: 201 });
    expect(seen).toEqual([{ correlationId: "c", timeoutMs: 1_000, deadline: NOW + 1_000 }]);
  });

  it("without a deadline or a timeout, passes the correlation id alone", async () => {
    const api = fakeApi([201]);
    const seen = optionsOf(api);
    await submitOrder(api, order, { correlationId: "c", readFirst: false });
    expect(seen).toEqual([{ correlationId: "c" }]);
  });

  it.each([
    [false, false],
    [true, true],
  ])(
    "with under a second left (read first: %s), calls nothing; may have reached Imburse: %s",
    async (readFirst, mayHaveReached) => {
      const api = fakeApi([201], [order]);
      const result = await submitOrder(api, order, {
        correlationId: "c",
        readFirst,
        deadline: NOW + 999,
        clock: () => NOW,
      });
      expect(result).toEqual({
        kind: "failed",
        failure: {
          reason: "network",
          status: undefined,
          errorCodes: ["RELAY_OUT_OF_TIME"],
          retryAfterSeconds: undefined,
          imburseCorrelationId: undefined,
          mayHaveReached,
        },
      });
      expect(api.calls).toEqual([]);
    },
  );

  it("counts a read that failed on the network as possibly reached: the order may exist whatever happened", async () => {
    const result = await submitOrder(fakeApi([], [networkError("ECONNREFUSED", false)]), order, {
      correlationId: "c",
      readFirst: true,
    });
    expect(result).toMatchObject({
      kind: "failed",
      failure: { reason: "network", errorCodes: ["ECONNREFUSED"], mayHaveReached: true },
    });
  });

  it("retries a read Imburse refused as unexpected, not as a rejection of the order, marking it may exist", async () => {
    const result = await submitOrder(fakeApi([], [getError(400, ["BAD_REQUEST"])]), order, {
      correlationId: "c",
      readFirst: true,
    });
    expect(result).toMatchObject({
      kind: "failed",
      failure: { reason: "unexpected", status: 400, errorCodes: ["BAD_REQUEST"], mayHaveReached: true },
    });
  });

  it("throws what is not Imburse's from a read too", async () => {
    const bug = new TypeError("bug");
    await expect(
      submitOrder(fakeApi([], [bug]), order, { correlationId: "c", readFirst: true }),
    ).rejects.toBe(bug);
  });

  it("takes an existing order that lacks instructions and differs otherwise as a conflict, not as still processing", async () => {
    const existing = { orderRef: "ORDER-OTHER", instructions: [] };
    const result = await submitOrder(fakeApi([apiError(409)], [existing]), order, {
      correlationId: "c",
      readFirst: false,
    });
    expect(result).toEqual({
      kind: "conflict",
      differences: [
        'the existing order has orderRef "ORDER-OTHER", not "ORDER-1"',
        'instruction "ORDER-1-1" is missing from the existing order (Imburse may not have processed it yet)',
      ],
    });
  });

  it("retries an answer Imburse gives that means nothing for the order (a redirect), marking it may exist", async () => {
    const result = await submitOrder(fakeApi([apiError(302)]), order, {
      correlationId: "c",
      readFirst: false,
    });
    expect(result).toMatchObject({
      kind: "failed",
      failure: { reason: "unexpected", status: 302, mayHaveReached: true },
    });
  });
});

describe("decide: what the ledger and the envelope say", () => {
  const cases: Array<[string, RecordOutcome, Partial<NextStep>]> = [
    ["a duplicate is acknowledged", { kind: "duplicate" }, { kind: "acknowledge", outcome: "duplicate" }],
    ["a ledger conflict is dead-lettered", { kind: "ledger-conflict" }, { kind: "dead-letter" }],
    [
      "an order another delivery holds comes back when its lease ends",
      { kind: "busy", until: NOW + 41_500 },
      { kind: "hand-back", why: "busy", seconds: 42 },
    ],
    [
      "a record not started comes back in seconds",
      { kind: "out-of-time" },
      { kind: "hand-back", seconds: NOT_STARTED_VISIBLE_IN_SECONDS },
    ],
    [
      "a ledger outage at first receipt waits half to all of a retry base, same attempt",
      { kind: "ledger-unavailable" },
      { kind: "delay", why: "ledger-unavailable", delaySeconds: 4 },
    ],
    [
      "a retry not due yet is delayed again",
      { kind: "not-due", notBefore: new Date(NOW + 2_000_000) },
      { kind: "delay", why: "not-due", delaySeconds: 900, notBefore: new Date(NOW + 2_000_000) },
    ],
    [
      "the last hop of a long wait is the rest of it",
      { kind: "not-due", notBefore: new Date(NOW + 200_000) },
      { kind: "delay", delaySeconds: 200, notBefore: undefined },
    ],
    [
      "an invalid order is dead-lettered",
      { kind: "invalid", errors: [] },
      { kind: "dead-letter", cause: { kind: "invalid", errors: [] } },
    ],
  ];
  it.each(cases)("%s", (_name, outcome, step) => {
    expect(decide(outcome, context())).toMatchObject(step);
  });

  it("waits longer the older the order is in a ledger outage, up to the retry cap", () => {
    const wait = (ageSeconds: number, random: number) => {
      const step = decide(
        { kind: "ledger-unavailable" },
        context({ firstReceivedAt: NOW - ageSeconds * 1000, random }),
      );
      return step.kind === "delay" ? step.delaySeconds : undefined;
    };
    expect(wait(0, 0)).toBe(3);
    expect(wait(120, 0)).toBe(60);
    expect(wait(120, 0.99)).toBe(120);
    expect(wait(86_400, 1)).toBe(900);
  });

  it("never hands back for less than a second", () => {
    expect(decide({ kind: "busy", until: NOW - 5 }, context())).toMatchObject({ seconds: 1 });
  });

  it("dead-letters with the whole cause: conflicts and rejections as Imburse gave them", () => {
    expect(decide({ kind: "ledger-conflict" }, context())).toEqual({
      kind: "dead-letter",
      cause: {
        kind: "conflict",
        detail: "this orderRef was already submitted by the relay with different content",
        differences: [],
      },
    });
    expect(decide({ kind: "conflict", differences: ["amount"] }, context())).toEqual({
      kind: "dead-letter",
      cause: {
        kind: "conflict",
        detail: "Imburse already holds this orderRef with different content",
        differences: ["amount"],
      },
    });
    expect(
      decide(
        { kind: "rejected", status: 422, errors: [{ errorCode: "X" }], imburseCorrelationId: "IMB-2" },
        context(),
      ),
    ).toEqual({
      kind: "dead-letter",
      cause: { kind: "rejected", status: 422, errors: [{ errorCode: "X" }], imburseCorrelationId: "IMB-2" },
    });
    expect(decide({ kind: "invalid", errors: [], truncatedErrors: 3 }, context())).toEqual({
      kind: "dead-letter",
      cause: { kind: "invalid", errors: [], truncatedErrors: 3 },
    });
  });

  it("caps the differences and errors a reason lists", () => {
    const many = Array.from({ length: 80 }, (_, i) => `d${i}`);
    const step = decide({ kind: "conflict", differences: many }, context());
    expect(
      step.kind === "dead-letter" && step.cause.kind === "conflict" && step.cause.differences,
    ).toHaveLength(50);
  });
});

describe("the retry budget in time", () => {
  const failed = (
    retryAfterSeconds?: number,
    reason: "server-error" | "throttled" = "server-error",
  ): RecordOutcome => ({
    kind: "failed",
    failure: {
      reason,
      status: 503,
      errorCodes: [],
      retryAfterSeconds,
      imburseCorrelationId: "IMB-9",
      mayHaveReached: false,
    },
  });

  it("is full jitter: random × min(cap, base · 2^(attempt-1)), the larger of it and Retry-After", () => {
    expect(fullJitterBackoffSeconds(1, 5, 900, 0.5)).toBe(2.5);
    expect(fullJitterBackoffSeconds(4, 5, 900, 1)).toBe(40);
    expect(fullJitterBackoffSeconds(20, 5, 900, 0.5)).toBe(450);
    expect(decide(failed(), context({ attempt: 4, random: 1 }))).toMatchObject({
      kind: "retry",
      nextAttempt: 5,
      waitSeconds: 40,
      delaySeconds: 40,
    });
    expect(decide(failed(3), context({ random: 0 }))).toMatchObject({ waitSeconds: 3 });
    expect(decide(failed(3), context({ attempt: 3, random: 0.99 }))).toMatchObject({ waitSeconds: 20 });
  });

  it("keeps retrying past any number of attempts while the budget lasts: no attempt cap by default", () => {
    expect(decide(failed(), context({ attempt: 500 }))).toMatchObject({ kind: "retry", nextAttempt: 501 });
  });

  it("hops a wait longer than 900 s through not-before, and waits at most 24 hours", () => {
    const long = decide(
      failed(2_000),
      context({ deadline: { at: NOW + 10 * DAY_MS, from: "retry-budget" } }),
    );
    expect(long).toMatchObject({
      kind: "retry",
      waitSeconds: 2_000,
      delaySeconds: 900,
      notBefore: new Date(NOW + 2_000_000),
    });
    const capped = decide(
      failed(30 * 86_400),
      context({ deadline: { at: NOW + 90 * DAY_MS, from: "retry-budget" } }),
    );
    expect(capped).toMatchObject({ waitSeconds: MAX_RETRY_WAIT_SECONDS });
  });

  it("cuts the last backoff to the deadline, then dead-letters as retries-exhausted naming it", () => {
    const deadline = { at: NOW + 10_000, from: "retry-budget" as const };
    expect(decide(failed(), context({ attempt: 9, random: 1, deadline }))).toMatchObject({
      kind: "retry",
      waitSeconds: 10,
    });
    const exhausted = decide(failed(), context({ attempt: 10, now: NOW + 10_000, deadline, mayExist: true }));
    expect(exhausted).toEqual({
      kind: "dead-letter",
      cause: {
        kind: "retries-exhausted",
        lastReason: "server-error",
        lastStatus: 503,
        lastErrorCodes: [],
        imburseCorrelationId: "IMB-9",
        mayExistInImburse: true,
        exhausted: { limit: "retry-budget", deadline: new Date(NOW + 10_000).toISOString() },
      },
    });
  });

  it("honours a Retry-After that passes the deadline by stopping now, not by retrying early", () => {
    const deadline = { at: NOW + 60_000, from: "settled-by-date" as const };
    expect(decide(failed(120, "throttled"), context({ deadline }))).toMatchObject({
      kind: "dead-letter",
      cause: { kind: "retries-exhausted", lastReason: "throttled", exhausted: { limit: "settled-by-date" } },
    });
  });

  it("retries when Retry-After is exactly the time left, and hops nothing at exactly 900 s", () => {
    const deadline = { at: NOW + 60_000, from: "retry-budget" as const };
    expect(decide(failed(60), context({ deadline }))).toMatchObject({ kind: "retry", waitSeconds: 60 });
    expect(
      decide(failed(900), context({ deadline: { at: NOW + DAY_MS, from: "retry-budget" } })),
    ).toMatchObject({
      kind: "retry",
      delaySeconds: 900,
      notBefore: undefined,
    });
    expect(decide({ kind: "not-due", notBefore: new Date(NOW + 900_000) }, context())).toMatchObject({
      delaySeconds: 900,
      notBefore: undefined,
    });
  });

  it("dead-letters a retry that arrived after its deadline as retries-exhausted, not tried", () => {
    expect(decide({ kind: "deadline-passed" }, context({ now: NOW + DAY_MS, mayExist: true }))).toMatchObject(
      {
        kind: "dead-letter",
        cause: { kind: "retries-exhausted", lastReason: "arrived-late", mayExistInImburse: true },
      },
    );
  });

  it("applies RELAY_MAX_ATTEMPTS as an extra cap when set", () => {
    const settings = { retryBaseSeconds: 5, retryCapSeconds: 900, maxAttempts: 3 };
    expect(decide(failed(), context({ attempt: 2, settings }))).toMatchObject({ kind: "retry" });
    expect(decide(failed(), context({ attempt: 3, settings }))).toMatchObject({
      cause: { exhausted: { limit: "max-attempts", maxAttempts: 3 } },
    });
  });

  it("ignores a date it cannot read, and takes the earliest of several", () => {
    expect(retryDeadline(NOW, 86_400, ["not a date"])).toEqual({ at: NOW + DAY_MS, from: "retry-budget" });
    expect(retryDeadline(NOW, 864_000, ["2026-12-03", "2026-12-02", "2026-12-05"])).toEqual({
      at: Date.parse("2026-12-03T00:00:00Z"),
      from: "settled-by-date",
    });
    // The end of the date equal to the budget's end: the budget is named.
    expect(retryDeadline(Date.parse("2026-12-01T00:00:00Z") - 3_600_000, 3_600, ["2026-11-30"])).toEqual({
      at: Date.parse("2026-12-01T00:00:00Z"),
      from: "retry-budget",
    });
  });

  it("ends at the budget or at the end (UTC) of the earliest settledByDate, whichever is first", () => {
    expect(retryDeadline(NOW, 86_400)).toEqual({ at: NOW + DAY_MS, from: "retry-budget" });
    expect(retryDeadline(NOW, 86_400, ["2026-11-30", "2027-01-01"])).toEqual({
      at: Date.parse("2026-12-01T00:00:00Z"),
      from: "settled-by-date",
    });
    expect(retryDeadline(NOW, 3_600, ["2026-12-25"])).toEqual({ at: NOW + 3_600_000, from: "retry-budget" });
    // A date already past: the first attempt still happens, and no retry.
    expect(decide(failed(), context({ deadline: retryDeadline(NOW, 86_400, ["2026-11-01"]) }))).toMatchObject(
      {
        kind: "dead-letter",
      },
    );
  });

  it("treats a message as due at or after its not-before, or when the not-before is beyond any wait the relay sets", () => {
    expect(isDue(undefined, NOW)).toBe(true);
    expect(isDue(new Date(NOW), NOW)).toBe(true);
    expect(isDue(new Date(NOW + 1_000), NOW)).toBe(false);
    expect(isDue(new Date(NOW + (MAX_RETRY_WAIT_SECONDS + 60) * 1000), NOW)).toBe(true);
  });
});

describe("one failure kind for the relay, the probe, the redrive and the breaker", () => {
  it.each<[unknown, FailureKind]>([
    [apiError(429), "throttled"],
    [apiError(500), "server-error"],
    [apiError(503), "server-error"],
    [apiError(408), "server-error"],
    [apiError(401), "auth"],
    [apiError(403), "auth"],
    [apiError(400, ["SIGNATURE_IS_INVALID"], { path: "/v1/identity/hmac" }), "auth"],
    [apiError(429, [], { path: "/v1/identity/hmac" }), "throttled"],
    [apiError(400, ["ORDER_ALREADY_EXISTS"]), "exists"],
    [apiError(409), "exists"],
    [getError(409), "unexpected"],
    [getError(404), "not-found"],
    [getError(400, ["ORDER_NOT_FOUND"]), "not-found"],
    [apiError(400, ["AMOUNT_OUT_OF_RANGE"]), "rejected"],
    [apiError(422), "rejected"],
    [networkError("ECONNRESET", true), "network"],
    [new TypeError("bug"), "unexpected"],
  ])("%s → %s", (error, kind) => {
    expect(failureKind(error)).toBe(kind);
  });

  it.each([
    [undefined, true],
    [401, true],
    [403, true],
    [408, true],
    [429, true],
    [503, true],
    [400, false],
    [404, false],
    [409, false],
    [201, false],
  ])("status %s counts against Imburse's availability: %s", (status, counts) => {
    expect(countsAgainstAvailability(kindOfAnswer({ status, path: "/v1/order-management" }))).toBe(counts);
  });
});
