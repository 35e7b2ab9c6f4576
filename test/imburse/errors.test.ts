import { describe, expect, it } from "vitest";
import {
  ImburseApiError,
  ImburseConfigError,
  ImburseError,
  ImburseNetworkError,
  parseErrorBody,
  parseRetryAfter,
} from "../../lib/imburse/errors.ts";

const now = Date.parse("2026-11-21T10:00:00Z");

describe("parseRetryAfter", () => {
  it.each([
    ["3", 3],
    ["0", 0],
    [" 120 ", 120],
    ["1.5", 1.5],
    ["1.25", 1.25],
    ["Sat, 21 Nov 2026 10:00:30 GMT", 30],
    ["Sat, 21 Nov 2026 09:59:00 GMT", 0],
  ])("reads %j as %d seconds", (value, seconds) => {
    expect(parseRetryAfter(value, now)).toBe(seconds);
  });

  it.each([[undefined], [""], ["soon"], ["-5"]])("ignores %j", (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });
});

describe("parseErrorBody", () => {
  it("reads the documented error body", () => {
    const body = {
      timestamp: 1569248349,
      correlationId: "0HLPSRAQ7S0I6:00000002",
      errors: [
        {
          errorCode: "TENANT_ID_IS_REQUIRED",
          message: "Please reference [0HLPSRAQ7S0I6:00000002] when contacting support.",
          messageTemplate: "Please reference {correlationId} when contacting support.",
          metadata: { correlationId: "mine-1" },
        },
      ],
    };
    expect(parseErrorBody(body)).toEqual({
      correlationId: "0HLPSRAQ7S0I6:00000002",
      errors: [body.errors[0]],
    });
  });

  it("tolerates bodies that are not the documented shape", () => {
    expect(parseErrorBody(undefined)).toEqual({ errors: [] });
    expect(parseErrorBody("<html>502</html>")).toEqual({ errors: [] });
    expect(parseErrorBody({ errors: [null, { code: 1 }, { errorCode: "X" }] })).toEqual({
      errors: [{ errorCode: "X" }],
    });
  });
});

describe("typed errors", () => {
  it("carries status, codes, Imburse's correlation id and Retry-After", () => {
    const error = new ImburseApiError({
      status: 400,
      method: "POST",
      path: "/v1/order-management",
      errors: [{ errorCode: "ORDER_ALREADY_EXISTS" }],
      imburseCorrelationId: "SIM:9",
      retryAfterSeconds: undefined,
    });
    expect(error.message).toBe(
      "Imburse POST /v1/order-management answered 400 ORDER_ALREADY_EXISTS (Imburse correlation id SIM:9)",
    );
    expect(error.hasErrorCode("ORDER_ALREADY_EXISTS")).toBe(true);
    expect(error.errorCodes).toEqual(["ORDER_ALREADY_EXISTS"]);
  });

  it("says whether a network failure may have reached Imburse", () => {
    const sent = new ImburseNetworkError({
      code: "ETIMEDOUT",
      method: "POST",
      path: "/p",
      timedOut: true,
      mayHaveReachedServer: true,
    });
    expect(sent.message).toBe("Imburse POST /p timed out; it may have reached Imburse");
    const refused = new ImburseNetworkError({
      code: "ECONNREFUSED",
      method: "POST",
      path: "/p",
      timedOut: false,
      mayHaveReachedServer: false,
    });
    expect(refused.message).toBe("Imburse POST /p failed (ECONNREFUSED); it did not reach Imburse");
  });
});

describe("error names and plain messages", () => {
  it("names each error class", () => {
    expect(new ImburseError("x").name).toBe("ImburseError");
    expect(new ImburseConfigError("x").name).toBe("ImburseConfigError");
    const api = new ImburseApiError({ status: 404, method: "GET", path: "/p", errors: [] });
    expect(api.name).toBe("ImburseApiError");
    expect(api).toBeInstanceOf(ImburseError);
    const network = new ImburseNetworkError({
      code: "EPIPE",
      method: "GET",
      path: "/p",
      timedOut: false,
      mayHaveReachedServer: true,
    });
    expect(network.name).toBe("ImburseNetworkError");
    expect(network.message).toBe("Imburse GET /p failed (EPIPE); it may have reached Imburse");
  });

  it("says only the status when the body named no code and no correlation id", () => {
    const error = new ImburseApiError({
      status: 404,
      method: "GET",
      path: "/p",
      errors: [],
      imburseCorrelationId: "",
    });
    expect(error.message).toBe("Imburse GET /p answered 404");
    expect(error.errorCodes).toEqual([]);
    expect(error.hasErrorCode("ORDER_NOT_FOUND")).toBe(false);
    expect(error.retryAfterSeconds).toBeUndefined();
  });

  it("lists every code in order", () => {
    const error = new ImburseApiError({
      status: 400,
      method: "POST",
      path: "/p",
      errors: [{ errorCode: "A" }, { errorCode: "B" }],
      retryAfterSeconds: 3,
    });
    expect(error.message).toBe("Imburse POST /p answered 400 A, B");
    expect(error.hasErrorCode("B")).toBe(true);
    expect(error.hasErrorCode("C")).toBe(false);
    expect(error.retryAfterSeconds).toBe(3);
  });
});

describe("parseErrorBody keeps only well-typed fields", () => {
  it("drops fields of the wrong type and an empty correlation id", () => {
    expect(
      parseErrorBody({
        correlationId: "",
        errors: [{ errorCode: "X", message: 1, messageTemplate: null, metadata: null }, "text"],
      }),
    ).toEqual({ errors: [{ errorCode: "X" }] });
    expect(parseErrorBody({ correlationId: 7, errors: "nope" })).toEqual({ errors: [] });
    expect(parseErrorBody(null)).toEqual({ errors: [] });
    expect(parseErrorBody({ errors: [{ errorCode: "Y", metadata: "m" }] })).toEqual({
      errors: [{ errorCode: "Y" }],
    });
  });
});

describe("parseRetryAfter at its edges", () => {
  it("rounds a date up to whole seconds, and reads weekday and month in any case", () => {
    expect(parseRetryAfter("Sat, 21 Nov 2026 10:00:30 GMT", now + 500)).toBe(30);
    expect(parseRetryAfter("sat, 21 nov 2026 10:00:30 gmt", now)).toBe(30);
  });

  it.each([[null], ["   "], ["2026-11-21"], ["3 seconds"], ["1."], ["Not a date"], ["2026-11-21T10:00:30Z"]])(
    "ignores %j",
    (value) => {
      expect(parseRetryAfter(value, now)).toBeUndefined();
    },
  );
});
