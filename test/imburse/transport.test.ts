import { AxiosError } from "axios";
import { describe, expect, it } from "vitest";
import { ImburseApiError, ImburseConfigError, ImburseNetworkError } from "../../lib/imburse/errors.ts";
import {
  type HttpRequest,
  HttpTransport,
  type ImburseCallEvent,
  type ImburseRequest,
  isDeadPooledSocket,
  networkError,
  OUT_OF_TIME,
  parseJson,
  validateBaseUrl,
} from "../../lib/imburse/transport.ts";

const NOW = 1_700_000_000_000;
const BASE = "https://imburse.test";

/** An axios-shaped failure: what axios rejects with when no response came. */
const failure = (code: string, request: { reusedSocket?: boolean; writableFinished?: boolean } = {}) =>
  new AxiosError(`socket says ${code}`, code, undefined, request);

type Step = Awaited<ReturnType<HttpRequest>> | Error;

/** An HTTP library that plays back `steps`, one per try, recording what it was asked. */
function scripted(...steps: Step[]) {
  const calls: Parameters<HttpRequest>[0][] = [];
  const request: HttpRequest = async (config) => {
    calls.push(config);
    const step = steps.shift();
    if (step === undefined) throw new Error("no more scripted answers");
    if (step instanceof Error) throw step;
    return step;
  };
  return { calls, request };
}

const answer = (status: number, data = "", headers: Record<string, unknown> = {}) => ({
  status,
  data,
  headers,
});

function transport(request: HttpRequest, options: { clock?: () => number; timeoutMs?: number } = {}) {
  const events: ImburseCallEvent[] = [];
  const sender = new HttpTransport({
    baseUrl: BASE,
    request,
    clock: options.clock ?? (() => NOW),
    onCall: (event) => events.push(event),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  });
  return { sender, events };
}

let signed = 0;
const create: ImburseRequest = {
  route: "create-order",
  method: "POST",
  path: "/v1/order-management",
  authHeaders: () => ({ authorization: `Bearer t-${++signed}` }),
  body: '{"orderRef":"A-1"}',
};
const read: ImburseRequest = { route: "get-order", method: "GET", path: "/v1/x", authHeaders: () => ({}) };

const caught = (promise: Promise<unknown>) =>
  promise.then(
    () => expect.unreachable("expected a failure"),
    (error: unknown) => error,
  );

describe("validateBaseUrl", () => {
  it.each([
    ["https://api.imbursepayments.com/", "https://api.imbursepayments.com"],
    ["https://api.imbursepayments.com//", "https://api.imbursepayments.com"],
    ["http://127.0.0.1:8080", "http://127.0.0.1:8080"],
    ["http://127.9.9.9", "http://127.9.9.9"],
    ["http://localhost:3000/", "http://localhost:3000"],
    ["http://[::1]:3000", "http://[::1]:3000"],
  ])("accepts %s as %s", (url, expected) => {
    expect(validateBaseUrl(url)).toBe(expected);
  });

  it.each([
    "http://api.imbursepayments.com",
    "http://10.0.0.1",
    "http://192.168.1.20:8080",
    "http://128.0.0.1",
    "http://127.example.com",
    "http://[::2]",
    "ftp://127.0.0.1",
  ])("refuses plain %s: only https, or http to loopback", (url) => {
    expect(() => validateBaseUrl(url)).toThrow(ImburseConfigError);
    expect(() => validateBaseUrl(url)).toThrow(/must use https .*loopback/);
  });

  it("names a value that is not a URL", () => {
    expect(() => validateBaseUrl("not a url")).toThrow(
      new ImburseConfigError('Imburse base URL is not a URL: "not a url"'),
    );
  });
});

describe("parseJson", () => {
  it.each([
    [undefined, undefined],
    ["", undefined],
    ["  \n", undefined],
    ['{"a":1}', { a: 1 }],
    ["<html>502</html>", "<html>502</html>"],
  ])("reads %j as %j", (text, value) => {
    expect(parseJson(text)).toEqual(value);
  });
});

describe("networkError: whether a failure may have reached Imburse", () => {
  it.each(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ENETUNREACH", "EHOSTUNREACH", "ERR_INVALID_URL"])(
    "%s happens before sending: it did not reach Imburse",
    (code) => {
      expect(networkError(failure(code), "POST", "/p", false)).toMatchObject({
        code,
        method: "POST",
        path: "/p",
        timedOut: false,
        mayHaveReachedServer: false,
      });
    },
  );

  it.each(["ECONNRESET", "EPIPE", "ERR_BAD_RESPONSE", "EPROTO"])("%s may have reached Imburse", (code) => {
    expect(networkError(failure(code), "POST", "/p", false)).toMatchObject({
      code,
      timedOut: false,
      mayHaveReachedServer: true,
    });
  });

  it.each(["ETIMEDOUT", "ECONNABORTED"])(
    "%s is a timeout: it reached Imburse unless not fully written",
    (code) => {
      expect(networkError(failure(code, { writableFinished: true }), "POST", "/p", false)).toMatchObject({
        timedOut: true,
        mayHaveReachedServer: true,
      });
      expect(networkError(failure(code), "POST", "/p", false)).toMatchObject({ mayHaveReachedServer: true });
      expect(networkError(failure(code, { writableFinished: false }), "POST", "/p", false)).toMatchObject({
        timedOut: true,
        mayHaveReachedServer: false,
      });
    },
  );

  it("types a timeout of an axios error with no request as may-have-reached", () => {
    expect(networkError(new AxiosError("t", "ETIMEDOUT"), "POST", "/p", false)).toMatchObject({
      timedOut: true,
      mayHaveReachedServer: true,
    });
  });

  it("carries none of the failed request's headers: no token or signature reaches a log", () => {
    const failed = new AxiosError("socket hang up", "ECONNRESET", {
      headers: { authorization: "Bearer secret-token-1" },
    } as never);
    const error = networkError(failed, "POST", "/p", false);
    const text = `${error.message} ${JSON.stringify(error)} ${String(error.stack)} ${String(error.cause)}`;
    expect(text).not.toContain("secret-token-1");
  });

  it("types a failure with no code as UNKNOWN, which may have reached Imburse", () => {
    for (const error of [new Error("boom"), undefined, "text", { code: 42 }]) {
      expect(networkError(error, "GET", "/p", false)).toMatchObject({
        code: "UNKNOWN",
        timedOut: false,
        mayHaveReachedServer: true,
      });
    }
  });

  it("keeps 'may have reached' once an earlier try may have", () => {
    expect(networkError(failure("ECONNREFUSED"), "POST", "/p", true).mayHaveReachedServer).toBe(true);
    expect(networkError(failure("ETIMEDOUT", { writableFinished: false }), "POST", "/p", true)).toMatchObject(
      {
        timedOut: true,
        mayHaveReachedServer: true,
      },
    );
    const outOfTime = networkError(
      new ImburseNetworkError({
        code: OUT_OF_TIME,
        method: "POST",
        path: "/p",
        timedOut: true,
        mayHaveReachedServer: false,
      }),
      "POST",
      "/p",
      true,
    );
    expect(outOfTime).toBeInstanceOf(ImburseNetworkError);
    expect(outOfTime).toMatchObject({ code: OUT_OF_TIME, timedOut: true, mayHaveReachedServer: true });
  });

  it("passes a typed network error through unchanged when nothing earlier may have reached Imburse", () => {
    const typed = new ImburseNetworkError({
      code: "X",
      method: "GET",
      path: "/p",
      timedOut: false,
      mayHaveReachedServer: false,
    });
    expect(networkError(typed, "GET", "/p", false)).toBe(typed);
    const reached = new ImburseNetworkError({
      code: "X",
      method: "GET",
      path: "/p",
      timedOut: false,
      mayHaveReachedServer: true,
    });
    expect(networkError(reached, "GET", "/p", true)).toBe(reached);
  });
});

describe("isDeadPooledSocket", () => {
  it.each(["ECONNRESET", "EPIPE"])("is a %s on a reused socket with no response", (code) => {
    expect(isDeadPooledSocket(failure(code, { reusedSocket: true }))).toBe(true);
  });

  it("is nothing else", () => {
    expect(isDeadPooledSocket(new AxiosError("no request made", "ECONNRESET"))).toBe(false);
    expect(isDeadPooledSocket(failure("ECONNRESET"))).toBe(false);
    expect(isDeadPooledSocket(failure("ECONNRESET", { reusedSocket: false }))).toBe(false);
    expect(isDeadPooledSocket(failure("ECONNREFUSED", { reusedSocket: true }))).toBe(false);
    expect(isDeadPooledSocket(failure("ETIMEDOUT", { reusedSocket: true }))).toBe(false);
    expect(
      isDeadPooledSocket(
        Object.assign(new Error("x"), { code: "ECONNRESET", request: { reusedSocket: true } }),
      ),
    ).toBe(false);
    const answered = failure("ECONNRESET", { reusedSocket: true });
    answered.response = { status: 502, statusText: "", data: "", headers: {}, config: {} as never };
    expect(isDeadPooledSocket(answered)).toBe(false);
  });
});

describe("HttpTransport.send", () => {
  it("sends the common headers with the auth headers and answers a 2xx with its parsed body", async () => {
    const { calls, request } = scripted(answer(202, '{"ok":true}'));
    const { sender } = transport(request, { timeoutMs: 4_000 });
    expect(await sender.send(create, { correlationId: "corr-1" })).toEqual({
      status: 202,
      body: { ok: true },
    });
    expect(calls).toEqual([
      {
        method: "POST",
        url: "/v1/order-management",
        data: '{"orderRef":"A-1"}',
        timeout: 4_000,
        headers: {
          authorization: expect.stringMatching(/^Bearer t-\d+$/),
          accept: "application/json",
          "content-type": "application/json",
          "x-correlation-id": "corr-1",
        },
      },
    ]);
  });

  it("sends no content type without a body and no correlation id when none is given", async () => {
    const { calls, request } = scripted(answer(200, ""));
    expect(await transport(request).sender.send(read, { correlationId: "" })).toEqual({
      status: 200,
      body: undefined,
    });
    expect(calls[0]?.headers).toEqual({ accept: "application/json" });
    expect(calls[0]?.timeout).toBe(10_000);
  });

  it.each([199, 300, 301, 400, 401, 404, 500, 503])("throws a typed API error for %d", async (status) => {
    const { request } = scripted(answer(status, ""));
    const error = await caught(transport(request).sender.send(read, {}));
    expect(error).toBeInstanceOf(ImburseApiError);
    expect(error).toMatchObject({
      status,
      method: "GET",
      path: "/v1/x",
      errors: [],
      retryAfterSeconds: undefined,
    });
  });

  it("puts the error body, Imburse's correlation id and Retry-After (seconds or date) on the error", async () => {
    const body = JSON.stringify({ correlationId: "IMB:1", errors: [{ errorCode: "TOO_MANY_REQUESTS" }] });
    const { request } = scripted(
      answer(429, body, { "retry-after": "7" }),
      answer(503, "", { "retry-after": new Date(NOW + 30_000).toUTCString() }),
      answer(503, "", { "retry-after": ["7"] }),
    );
    const { sender, events } = transport(request);
    expect(await caught(sender.send(create, {}))).toMatchObject({
      status: 429,
      errors: [{ errorCode: "TOO_MANY_REQUESTS" }],
      imburseCorrelationId: "IMB:1",
      retryAfterSeconds: 7,
    });
    expect(await caught(sender.send(create, {}))).toMatchObject({ status: 503, retryAfterSeconds: 30 });
    expect(await caught(sender.send(create, {}))).toMatchObject({
      status: 503,
      retryAfterSeconds: undefined,
    });
    expect(events.map((e) => [e.status, e.imburseCorrelationId])).toEqual([
      [429, "IMB:1"],
      [503, undefined],
      [503, undefined],
    ]);
  });

  it("reports Imburse's correlation id only for an error answer", async () => {
    const { request } = scripted(answer(201, JSON.stringify({ correlationId: "IMB:3" })));
    const { sender, events } = transport(request);
    expect(await sender.send(create, {})).toEqual({ status: 201, body: { correlationId: "IMB:3" } });
    expect(events).toMatchObject([{ status: 201, imburseCorrelationId: undefined }]);
  });

  it("reports every exchange to onCall: route, status, duration, and no status when no answer came", async () => {
    let now = NOW;
    const slow: HttpRequest = async () => {
      now += 120;
      throw failure("ECONNREFUSED");
    };
    const ok: HttpRequest = async () => {
      now += 30;
      return answer(400, JSON.stringify({ correlationId: "IMB:2" }));
    };
    const first = transport(ok, { clock: () => now });
    await caught(first.sender.send(create, {}));
    expect(first.events).toEqual([
      {
        route: "create-order",
        method: "POST",
        path: "/v1/order-management",
        status: 400,
        durationMs: 30,
        imburseCorrelationId: "IMB:2",
      },
    ]);
    const second = transport(slow, { clock: () => now });
    await caught(second.sender.send(read, {}));
    expect(second.events).toEqual([
      {
        route: "get-order",
        method: "GET",
        path: "/v1/x",
        status: undefined,
        durationMs: 120,
        imburseCorrelationId: undefined,
      },
    ]);
  });

  it.each(["ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ECONNREFUSED"])(
    "types %s as a network error that did not reach Imburse, without retrying",
    async (code) => {
      const { calls, request } = scripted(failure(code, { reusedSocket: true }));
      const error = await caught(transport(request).sender.send(create, {}));
      expect(error).toBeInstanceOf(ImburseNetworkError);
      expect(error).toMatchObject({ code, timedOut: false, mayHaveReachedServer: false });
      expect(calls).toHaveLength(1);
    },
  );

  it.each(["ECONNRESET", "EPIPE"])(
    "types %s on a fresh socket as may-have-reached, without retrying",
    async (code) => {
      const { calls, request } = scripted(failure(code, { reusedSocket: false }));
      expect(await caught(transport(request).sender.send(create, {}))).toMatchObject({
        code,
        mayHaveReachedServer: true,
      });
      expect(calls).toHaveLength(1);
    },
  );

  it.each(["ECONNRESET", "EPIPE"])(
    "retries a reused socket dead with %s once, at once, with freshly built auth headers",
    async (code) => {
      const { calls, request } = scripted(failure(code, { reusedSocket: true }), answer(201, ""));
      expect(await transport(request).sender.send(create, {})).toEqual({ status: 201, body: undefined });
      expect(calls).toHaveLength(2);
      expect(calls[0]?.headers.authorization).not.toBe(calls[1]?.headers.authorization);
    },
  );

  it("retries a dead socket only once, and the second failure keeps 'may have reached'", async () => {
    const { calls, request } = scripted(
      failure("EPIPE", { reusedSocket: true }),
      failure("ECONNREFUSED", { reusedSocket: true }),
    );
    const error = await caught(transport(request).sender.send(create, {}));
    expect(error).toBeInstanceOf(ImburseNetworkError);
    expect(error).toMatchObject({ code: "ECONNREFUSED", mayHaveReachedServer: true });
    expect(calls).toHaveLength(2);
  });

  it.each([401, 503])(
    "an answer %d to the retry after a dead socket says the first try may have reached Imburse",
    async (status) => {
      const { request } = scripted(failure("ECONNRESET", { reusedSocket: true }), answer(status, ""));
      expect(await caught(transport(request).sender.send(create, {}))).toMatchObject({
        status,
        earlierTryMayHaveReached: true,
      });
      const once = scripted(answer(status, ""));
      expect(await caught(transport(once.request).sender.send(create, {}))).toMatchObject({
        status,
        earlierTryMayHaveReached: false,
      });
    },
  );

  it("types a timeout before the request was written as not having reached Imburse", async () => {
    const { request } = scripted(failure("ETIMEDOUT", { writableFinished: false }));
    expect(await caught(transport(request).sender.send(create, {}))).toMatchObject({
      code: "ETIMEDOUT",
      timedOut: true,
      mayHaveReachedServer: false,
    });
  });
});

describe("HttpTransport deadlines", () => {
  it("bounds the timeout by the time left before the deadline, and by the call's own timeout", async () => {
    const { calls, request } = scripted(answer(200), answer(200), answer(200));
    const { sender } = transport(request, { timeoutMs: 5_000 });
    await sender.send(read, { deadline: NOW + 1_234 });
    await sender.send(read, { deadline: NOW + 60_000 });
    await sender.send(read, { deadline: NOW + 60_000, timeoutMs: 800 });
    expect(calls.map((c) => c.timeout)).toEqual([1_234, 5_000, 800]);
  });

  it.each([0, -1])(
    "sends nothing once the deadline is %d ms away: out of time, not reached",
    async (left) => {
      const { calls, request } = scripted(answer(200));
      const { sender, events } = transport(request);
      const error = await caught(sender.send(create, { deadline: NOW + left }));
      expect(error).toBeInstanceOf(ImburseNetworkError);
      expect(error).toMatchObject({ code: OUT_OF_TIME, timedOut: true, mayHaveReachedServer: false });
      expect(calls).toHaveLength(0);
      expect(events).toHaveLength(0);
    },
  );

  it("does not start the dead-socket retry past the deadline, and says the first try may have reached", async () => {
    let now = NOW;
    const { calls, request } = scripted(failure("ECONNRESET", { reusedSocket: true }), answer(201));
    const slowFirst: HttpRequest = async (config) => {
      now += 1_000;
      return request(config);
    };
    const error = await caught(
      transport(slowFirst, { clock: () => now }).sender.send(create, { deadline: NOW + 1_000 }),
    );
    expect(error).toMatchObject({ code: OUT_OF_TIME, mayHaveReachedServer: true });
    expect(calls).toHaveLength(1);
  });
});
