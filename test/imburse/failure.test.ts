import { describe, expect, it } from "vitest";
import { ImburseApiError, ImburseError, ImburseNetworkError } from "../../lib/imburse/errors.ts";
import {
  type AnswerFacts,
  countsAgainstAvailability,
  type FailureKind,
  failureKind,
  isOrderNotFound,
  isTransient,
  kindOfAnswer,
} from "../../lib/imburse/failure.ts";
import { ORDERS_PATH, TOKEN_PATH } from "../../lib/imburse/urls.ts";

describe("kindOfAnswer", () => {
  it.each<[AnswerFacts, FailureKind | undefined]>([
    [{ status: undefined }, "network"],
    [{ status: 200 }, undefined],
    [{ status: 202 }, undefined],
    [{ status: 399 }, undefined],
    [{ status: 400 }, "rejected"],
    [{ status: 429, path: TOKEN_PATH }, "throttled"],
    [{ status: 408 }, "server-error"],
    [{ status: 499 }, "rejected"],
    [{ status: 500 }, "server-error"],
    [{ status: 599, path: TOKEN_PATH }, "server-error"],
    [{ status: 401, path: ORDERS_PATH }, "auth"],
    [{ status: 403, path: ORDERS_PATH }, "auth"],
    [{ status: 400, path: TOKEN_PATH, errorCodes: ["SIGNATURE_IS_INVALID"] }, "auth"],
    [{ status: 404, path: TOKEN_PATH }, "auth"],
    [{ status: 404, method: "GET", path: `${ORDERS_PATH}/A` }, "not-found"],
    [{ status: 400, method: "GET", errorCodes: ["X", "ORDER_NOT_FOUND"] }, "not-found"],
    [{ status: 422, errorCodes: ["ORDER_NOT_FOUND"] }, "rejected"],
    [{ status: 409, method: "POST" }, "exists"],
    [{ status: 409 }, "exists"],
    [{ status: 409, method: "GET" }, "unexpected"],
    [{ status: 400, method: "POST", errorCodes: ["ORDER_ALREADY_EXISTS"] }, "exists"],
    [{ status: 400, method: "GET", errorCodes: ["ORDER_ALREADY_EXISTS"] }, "unexpected"],
    [{ status: 422, method: "POST", errorCodes: ["ORDER_ALREADY_EXISTS"] }, "rejected"],
    [{ status: 400, method: "POST", errorCodes: ["AMOUNT_OUT_OF_RANGE"] }, "rejected"],
  ])("%j → %s", (facts, kind) => {
    expect(kindOfAnswer(facts)).toBe(kind);
  });
});

describe("failureKind", () => {
  const api = (status: number, init: { method?: string; path?: string; errors?: string[] } = {}) =>
    new ImburseApiError({
      status,
      method: init.method ?? "POST",
      path: init.path ?? ORDERS_PATH,
      errors: (init.errors ?? []).map((errorCode) => ({ errorCode })),
    });
  const network = new ImburseNetworkError({
    code: "ECONNRESET",
    method: "POST",
    path: ORDERS_PATH,
    timedOut: false,
    mayHaveReachedServer: true,
  });

  it.each<[unknown, FailureKind]>([
    [network, "network"],
    [api(429), "throttled"],
    [api(503), "server-error"],
    [api(401), "auth"],
    [api(400, { path: TOKEN_PATH }), "auth"],
    [api(400, { errors: ["ORDER_ALREADY_EXISTS"] }), "exists"],
    [api(409, { method: "GET" }), "unexpected"],
    [api(400, { method: "GET", errors: ["ORDER_NOT_FOUND"] }), "not-found"],
    [api(422), "rejected"],
    // A 2xx is no failure: thrown as one, it makes no sense.
    [api(200), "unexpected"],
    [new ImburseError("other"), "unexpected"],
    [new TypeError("bug"), "unexpected"],
    [undefined, "unexpected"],
  ])("%s → %s", (error, kind) => {
    expect(failureKind(error)).toBe(kind);
  });

  it("isOrderNotFound is a not-found failure and nothing else", () => {
    expect(isOrderNotFound(api(404, { method: "GET" }))).toBe(true);
    expect(isOrderNotFound(api(400, { method: "GET", errors: ["ORDER_NOT_FOUND"] }))).toBe(true);
    expect(isOrderNotFound(api(400, { method: "GET" }))).toBe(false);
    expect(isOrderNotFound(network)).toBe(false);
  });
});

describe("what a kind means for the relay", () => {
  it.each<[FailureKind | undefined, boolean, boolean]>([
    ["throttled", true, true],
    ["server-error", true, true],
    ["network", true, true],
    ["auth", false, true],
    ["exists", false, false],
    ["not-found", false, false],
    ["rejected", false, false],
    ["unexpected", false, false],
    [undefined, false, false],
  ])("%s: transient %s, counts against availability %s", (kind, transient, counts) => {
    if (kind !== undefined) expect(isTransient(kind)).toBe(transient);
    expect(countsAgainstAvailability(kind)).toBe(counts);
  });
});
