import { describe, expect, it } from "vitest";
import {
  ImburseApiError,
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
