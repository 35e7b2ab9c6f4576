import { EventEmitter } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { type HmacInputs, hmacAuthorization, randomNonce } from "../../lib/imburse/index.ts";
import {
  DEMO_CREDENTIALS,
  type ErrorBody,
  FaultSpecError,
  runSimulator,
  SIMULATOR_ISSUER,
  type Simulator,
  type SimulatorCredentials,
  type SimulatorOptions,
  SimulatorOptionsError,
  startSimulator,
} from "../../lib/simulator/index.ts";
import { redactHeaders } from "../../lib/simulator/recording.ts";

// Simulator tests over real HTTP on loopback, with an injected clock.

const START = Date.UTC(2025, 0, 15, 12, 0, 0);
let now = START;
const clock = () => now;
const nowSeconds = () => Math.floor(now / 1000);

const OTHER_TENANT: SimulatorCredentials = {
  publicKey: "test-public-key-other-tenant",
  privateKey: Buffer.from("test-private-key-other-tenant").toString("base64"),
  accountId: "00000000-0000-4000-a000-0000000000c1",
  tenantId: "00000000-0000-4000-a000-0000000000c2",
};

const running: Simulator[] = [];
afterEach(async () => {
  now = START;
  await Promise.all(running.splice(0).map((simulator) => simulator.close()));
});

async function start(options: SimulatorOptions = {}): Promise<Simulator> {
  const simulator = await startSimulator({ clock, seed: 1, ...options });
  running.push(simulator);
  return simulator;
}

function hmac(
  credentials: SimulatorCredentials = DEMO_CREDENTIALS,
  overrides: Partial<HmacInputs> = {},
): string {
  return hmacAuthorization({ ...credentials, nonce: randomNonce(), timestamp: nowSeconds(), ...overrides });
}

function requestToken(
  simulator: Simulator,
  authorization: string,
  init: RequestInit = {},
): Promise<Response> {
  return fetch(`${simulator.url}/v1/identity/hmac`, { method: "POST", headers: { authorization }, ...init });
}

async function token(
  simulator: Simulator,
  credentials: SimulatorCredentials = DEMO_CREDENTIALS,
): Promise<string> {
  const response = await requestToken(simulator, hmac(credentials));
  expect(response.status).toBe(201);
  return ((await response.json()) as { accessToken: string }).accessToken;
}

function orderHeaders(
  accessToken: string,
  credentials: SimulatorCredentials = DEMO_CREDENTIALS,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    authorization: `Bearer ${accessToken}`,
    "x-account-id": credentials.accountId,
    "x-tenant-id": credentials.tenantId,
    "content-type": "application/json",
    ...extra,
  };
}

function create(simulator: Simulator, headers: Record<string, string>, body: unknown): Promise<Response> {
  return fetch(`${simulator.url}/v1/order-management`, {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

function getOrder(
  simulator: Simulator,
  headers: Record<string, string>,
  orderRef: string,
): Promise<Response> {
  return fetch(`${simulator.url}/v1/order-management/${encodeURIComponent(orderRef)}`, { headers });
}

const instruction = (ref = "INS-1", overrides: Record<string, unknown> = {}) => ({
  instructionRef: ref,
  customerRef: "CUST-1",
  direction: "DEBIT",
  amount: "210.00",
  currency: "EUR",
  country: "IE",
  settledByDate: "2025-02-28",
  schemeId: "654EB81F00000000000000000000ABCD",
  ...overrides,
});

async function errorCodes(response: Response): Promise<string[]> {
  const body = (await response.json()) as ErrorBody;
  return body.errors.map((error) => error.errorCode);
}

function decodeClaims(jwt: string): Record<string, unknown> {
  const [header, payload] = jwt.split(".");
  expect(JSON.parse(Buffer.from(header ?? "", "base64url").toString())).toEqual({ alg: "HS256", typ: "JWT" });
  return JSON.parse(Buffer.from(payload ?? "", "base64url").toString()) as Record<string, unknown>;
}

describe("token exchange", () => {
  it("answers a valid HMAC signature with 201 and a decodable JWT for the key's account and tenant", async () => {
    const simulator = await start({ tokenLifetimeSeconds: 600 });
    const response = await requestToken(simulator, hmac());
    expect(response.status).toBe(201);
    const body = (await response.json()) as { accessToken: string; expires: unknown };
    expect(decodeClaims(body.accessToken)).toEqual({
      accountId: DEMO_CREDENTIALS.accountId,
      tenantId: DEMO_CREDENTIALS.tenantId,
      role: "tenant-admin",
      aud: "management-api",
      iss: SIMULATOR_ISSUER,
      iat: nowSeconds(),
      exp: nowSeconds() + 600,
    });
    expect(body.expires).toBe(nowSeconds() + 600);
  });

  it("accepts a lowercase scheme name and signs a request body into the hash", async () => {
    const simulator = await start();
    const lower = hmac().replace(/^Hmac/, "hmac");
    expect((await requestToken(simulator, lower)).status).toBe(201);
    const withBody = await requestToken(simulator, hmac(DEMO_CREDENTIALS, { body: "{}" }), { body: "{}" });
    expect(withBody.status).toBe(201);
    const bodyNotSigned = await requestToken(simulator, hmac(), { body: "{}" });
    expect(await errorCodes(bodyNotSigned)).toEqual(["SIGNATURE_IS_INVALID"]);
  });

  it.each([
    ["milliseconds-string", (exp: number) => String(exp * 1000)],
    ["none", () => undefined],
  ] as const)("reports expires as %s", async (expiresFormat, expected) => {
    const simulator = await start({ expiresFormat });
    const body = (await (await requestToken(simulator, hmac())).json()) as {
      accessToken: string;
      expires?: unknown;
    };
    const exp = decodeClaims(body.accessToken).exp as number;
    expect(exp).toBe(nowSeconds() + 3600);
    expect(body.expires).toEqual(expected(exp));
  });

  it("refuses a wrong signature with 401 and the documented error body", async () => {
    const simulator = await start();
    const forged = hmac({
      ...DEMO_CREDENTIALS,
      privateKey: Buffer.from("test-private-key").toString("base64"),
    });
    const response = await requestToken(simulator, forged, {
      headers: { authorization: forged, "x-correlation-id": "c-1" },
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      timestamp: nowSeconds(),
      correlationId: "SIM:1",
      errors: [
        {
          errorCode: "SIGNATURE_IS_INVALID",
          message: "The HMAC signature does not match the request.",
          messageTemplate: "The HMAC signature does not match the request.",
          metadata: { correlationId: "c-1" },
        },
      ],
    });
  });

  it("refuses a nonce already used by the same key, but not the same nonce from another key", async () => {
    const simulator = await start({ credentials: [DEMO_CREDENTIALS, OTHER_TENANT] });
    const nonce = randomNonce();
    expect((await requestToken(simulator, hmac(DEMO_CREDENTIALS, { nonce }))).status).toBe(201);
    const replay = await requestToken(simulator, hmac(DEMO_CREDENTIALS, { nonce }));
    expect(replay.status).toBe(401);
    expect(await errorCodes(replay)).toEqual(["NONCE_ALREADY_USED"]);
    expect((await requestToken(simulator, hmac(OTHER_TENANT, { nonce }))).status).toBe(201);
  });

  it("forgets a nonce once its timestamp has left the 5-minute window", async () => {
    const simulator = await start();
    const nonce = randomNonce();
    expect((await requestToken(simulator, hmac(DEMO_CREDENTIALS, { nonce }))).status).toBe(201);
    now += 301_000;
    expect((await requestToken(simulator, hmac(DEMO_CREDENTIALS, { nonce }))).status).toBe(201);
    expect((await requestToken(simulator, hmac(DEMO_CREDENTIALS, { nonce }))).status).toBe(401);
  });

  it("does not burn a nonce on a request whose signature failed", async () => {
    const simulator = await start();
    const nonce = randomNonce();
    const forged = hmac(
      { ...DEMO_CREDENTIALS, privateKey: Buffer.from("test-private-key").toString("base64") },
      { nonce },
    );
    expect((await requestToken(simulator, forged)).status).toBe(401);
    expect((await requestToken(simulator, hmac(DEMO_CREDENTIALS, { nonce }))).status).toBe(201);
  });

  it.each([-301, 301])("refuses a timestamp %i s off the simulator clock, accepts 300 s", async (offset) => {
    const simulator = await start();
    const late = await requestToken(simulator, hmac(DEMO_CREDENTIALS, { timestamp: nowSeconds() + offset }));
    expect(late.status).toBe(401);
    expect(await errorCodes(late)).toEqual(["TIMESTAMP_OUT_OF_RANGE"]);
    const edge = Math.sign(offset) * 300;
    expect(
      (await requestToken(simulator, hmac(DEMO_CREDENTIALS, { timestamp: nowSeconds() + edge }))).status,
    ).toBe(201);
  });

  it("refuses an unknown public key", async () => {
    const simulator = await start();
    const response = await requestToken(simulator, hmac(OTHER_TENANT));
    expect(response.status).toBe(401);
    expect(await errorCodes(response)).toEqual(["PUBLIC_KEY_NOT_RECOGNISED"]);
  });

  it.each([
    ["missing parts", `Hmac ${DEMO_CREDENTIALS.publicKey}:nonce:${Math.floor(START / 1000)}`],
    ["a fractional timestamp", `Hmac ${DEMO_CREDENTIALS.publicKey}:nonce:${START / 1000 + 0.5}:c2ln`],
    ["another scheme", "Basic dXNlcjpwYXNz"],
    ["no header", undefined],
  ])("refuses a header with %s", async (_, authorization) => {
    const simulator = await start();
    const response = await fetch(`${simulator.url}/v1/identity/hmac`, {
      method: "POST",
      headers: authorization === undefined ? {} : { authorization },
    });
    expect(response.status).toBe(401);
    expect(await errorCodes(response)).toEqual(["AUTHORIZATION_IS_INVALID"]);
  });
});

describe("bearer-protected routes", () => {
  it("refuses an expired token (from exp on), a tampered one, another simulator's and none", async () => {
    const simulator = await start({ tokenLifetimeSeconds: 60 });
    const other = await start();
    const accessToken = await token(simulator);
    now += 59_999;
    expect((await getOrder(simulator, orderHeaders(accessToken), "X")).status).toBe(404);
    now += 1;
    const expired = await getOrder(simulator, orderHeaders(accessToken), "X");
    expect(expired.status).toBe(401);
    expect(await errorCodes(expired)).toEqual(["TOKEN_HAS_EXPIRED"]);

    const fresh = await token(simulator);
    const [header, payload, signature] = fresh.split(".");
    const claims = { ...decodeClaims(fresh), tenantId: OTHER_TENANT.tenantId };
    const tampered = `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${signature}`;
    const foreign = await token(other);
    for (const authorization of [`Bearer ${tampered}`, `Bearer ${foreign}`, `Basic ${payload}`]) {
      const response = await getOrder(simulator, { ...orderHeaders(fresh), authorization }, "X");
      expect(response.status).toBe(401);
      expect(await errorCodes(response)).toEqual(["TOKEN_IS_INVALID"]);
    }
    const { authorization: _, ...withoutToken } = orderHeaders(fresh);
    expect((await getOrder(simulator, withoutToken, "X")).status).toBe(401);
    expect(
      (await getOrder(simulator, { ...orderHeaders(fresh), authorization: `bearer ${fresh}` }, "X")).status,
    ).toBe(404);
  });

  it("needs x-tenant-id and x-account-id (400) matching the token (403)", async () => {
    const simulator = await start();
    const accessToken = await token(simulator);
    const { "x-tenant-id": _t, ...noTenant } = orderHeaders(accessToken);
    const { "x-account-id": _a, ...noAccount } = orderHeaders(accessToken);
    const cases: [Record<string, string>, number, string[]][] = [
      [noTenant, 400, ["TENANT_ID_IS_REQUIRED"]],
      [noAccount, 400, ["ACCOUNT_ID_IS_REQUIRED"]],
      [
        orderHeaders(accessToken, { ...DEMO_CREDENTIALS, tenantId: OTHER_TENANT.tenantId }),
        403,
        ["TENANT_ID_MISMATCH"],
      ],
      [
        orderHeaders(accessToken, { ...DEMO_CREDENTIALS, accountId: OTHER_TENANT.accountId }),
        403,
        ["ACCOUNT_ID_MISMATCH"],
      ],
    ];
    for (const [headers, status, codes] of cases) {
      const response = await create(simulator, headers, { orderRef: "ORDER-1" });
      expect(response.status).toBe(status);
      expect(await errorCodes(response)).toEqual(codes);
    }
    expect(simulator.orders()).toEqual([]);
  });
});

describe("orders", () => {
  it("answers 201 without instructions and 202 with them, with empty bodies", async () => {
    const simulator = await start();
    const headers = orderHeaders(await token(simulator));
    for (const [body, status] of [
      [{ orderRef: "NO-INSTRUCTIONS" }, 201],
      [{ orderRef: "EMPTY-INSTRUCTIONS", instructions: [] }, 201],
      [{ orderRef: "WITH-INSTRUCTIONS", instructions: [instruction()] }, 202],
    ] as const) {
      const response = await create(simulator, headers, body);
      expect(response.status).toBe(status);
      expect(await response.text()).toBe("");
    }
    expect(simulator.orders().map((order) => order.orderRef)).toEqual([
      "NO-INSTRUCTIONS",
      "EMPTY-INSTRUCTIONS",
      "WITH-INSTRUCTIONS",
    ]);
  });

  it("refuses a repeated orderRef with 400 ORDER_ALREADY_EXISTS and keeps the first order", async () => {
    const simulator = await start();
    const headers = orderHeaders(await token(simulator));
    expect(
      (await create(simulator, headers, { orderRef: "ORDER-1", metadata: { first: "yes" } })).status,
    ).toBe(201);
    const again = await create(simulator, headers, { orderRef: "ORDER-1", instructions: [instruction()] });
    expect(again.status).toBe(400);
    expect(await errorCodes(again)).toEqual(["ORDER_ALREADY_EXISTS"]);
    expect(simulator.orders()).toMatchObject([
      { orderRef: "ORDER-1", metadata: { first: "yes" }, instructions: [] },
    ]);
  });

  it.each([
    ["no orderRef", { orderRef: undefined }, "ORDER_REF_IS_REQUIRED"],
    ["an empty orderRef", { orderRef: "" }, "ORDER_REF_IS_REQUIRED"],
    ["a 51-character orderRef", { orderRef: "A".repeat(51) }, "ORDER_REF_LENGTH_OUT_OF_RANGE"],
    ["a space in the orderRef", { orderRef: "ORDER 1" }, "ORDER_REF_CONTAINS_INVALID_CHARACTERS"],
    ["a slash in the orderRef", { orderRef: "ORDER/1" }, "ORDER_REF_CONTAINS_INVALID_CHARACTERS"],
    ["a zero amount", { instructions: [instruction("I", { amount: "0.00" })] }, "AMOUNT_OUT_OF_RANGE"],
    ["a negative amount", { instructions: [instruction("I", { amount: -1.33 })] }, "AMOUNT_OUT_OF_RANGE"],
    ["a non-numeric amount", { instructions: [instruction("I", { amount: "ten" })] }, "AMOUNT_IS_INVALID"],
    [
      "a 51-character instructionRef",
      { instructions: [instruction("I".repeat(51))] },
      "INSTRUCTION_REF_LENGTH_OUT_OF_RANGE",
    ],
    [
      "a customerRef with a colon",
      { instructions: [instruction("I", { customerRef: "C:1" })] },
      "CUSTOMER_REF_CONTAINS_INVALID_CHARACTERS",
    ],
    ["instructions that are not an array", { instructions: "I-1" }, "PROPERTY_TYPE_IS_INVALID"],
    ["an instruction that is not an object", { instructions: ["I-1"] }, "PROPERTY_TYPE_IS_INVALID"],
    ["metadata that is an array", { metadata: ["v"] }, "PROPERTY_TYPE_IS_INVALID"],
    ["customerDefaults that are a string", { customerDefaults: "C-1" }, "PROPERTY_TYPE_IS_INVALID"],
    ["no amount", { instructions: [instruction("I", { amount: undefined })] }, "AMOUNT_IS_REQUIRED"],
    [
      "a 4-letter currency",
      { instructions: [instruction("I", { currency: "EURO" })] },
      "CURRENCY_LENGTH_OUT_OF_RANGE",
    ],
    [
      "a lowercase currency",
      { instructions: [instruction("I", { currency: "eur" })] },
      "CURRENCY_NOT_SUPPORTED",
    ],
    ["no currency", { instructions: [instruction("I", { currency: undefined })] }, "CURRENCY_IS_REQUIRED"],
    [
      "a 3-letter country",
      { instructions: [instruction("I", { country: "IRL" })] },
      "COUNTRY_LENGTH_OUT_OF_RANGE",
    ],
    [
      "a country with a digit",
      { instructions: [instruction("I", { country: "i1" })] },
      "COUNTRY_NOT_SUPPORTED",
    ],
    [
      "no settledByDate",
      { instructions: [instruction("I", { settledByDate: undefined })] },
      "SETTLED_BY_DATE_IS_REQUIRED",
    ],
    [
      "an impossible settledByDate",
      { instructions: [instruction("I", { settledByDate: "2025-02-30" })] },
      "SETTLED_BY_DATE_IS_INVALID",
    ],
    [
      "a settledByDate not in ISO form",
      { instructions: [instruction("I", { settledByDate: "28/02/2025" })] },
      "SETTLED_BY_DATE_IS_INVALID",
    ],
    [
      "an unknown direction",
      { instructions: [instruction("I", { direction: "SIDEWAYS" })] },
      "DIRECTION_IS_NOT_RECOGNISED",
    ],
    [
      "an empty customerRef",
      { instructions: [instruction("I", { customerRef: "" })] },
      "CUSTOMER_REF_IS_REQUIRED",
    ],
    [
      "a repeated instructionRef",
      { instructions: [instruction("I"), instruction("I")] },
      "INSTRUCTION_ALREADY_EXISTS",
    ],
    [
      "101 instructions",
      { instructions: Array.from({ length: 101 }, (_, i) => instruction(`I${i}`)) },
      "INSTRUCTIONS_COUNT_OUT_OF_RANGE",
    ],
    [
      "a 41-character metadata key",
      { metadata: { ["k".repeat(41)]: "v" } },
      "METADATA_KEY_SIZE_OUT_OF_RANGE",
    ],
    [
      "a 501-character metadata value",
      { metadata: { key: "v".repeat(501) } },
      "METADATA_VALUE_SIZE_OUT_OF_RANGE",
    ],
    ["a null metadata value", { metadata: { key: null } }, "METADATA_VALUE_SIZE_OUT_OF_RANGE"],
    [
      "51 metadata keys",
      { metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, "v"])) },
      "METADATA_KEY_COUNT_OUT_OF_RANGE",
    ],
  ] as const)("refuses %s with 400 and its code, and stores nothing", async (_, overrides, code) => {
    const simulator = await start();
    const response = await create(simulator, orderHeaders(await token(simulator)), {
      orderRef: "ORDER-1",
      ...overrides,
    });
    expect(response.status).toBe(400);
    expect(await errorCodes(response)).toEqual([code]);
    expect(simulator.orders()).toEqual([]);
  });

  it("accepts the limits themselves: 50-character refs, 100 instructions, 50 metadata keys of 40 characters", async () => {
    const simulator = await start();
    const response = await create(simulator, orderHeaders(await token(simulator)), {
      orderRef: `${"A".repeat(47)}._-`,
      instructions: Array.from({ length: 100 }, (_, i) => instruction(`I${i}`)),
      metadata: Object.fromEntries(
        Array.from({ length: 50 }, (_, i) => [`${i}`.padEnd(40, "k"), "v".repeat(500)]),
      ),
    });
    expect(response.status).toBe(202);
  });

  it("reports every problem at once and applies configured limits", async () => {
    const simulator = await start({ validation: { maxRefLength: 5, maxInstructions: 1 } });
    const headers = orderHeaders(await token(simulator));
    const response = await create(simulator, headers, { orderRef: "ORDER-1", metadata: { "": "v" } });
    expect(await errorCodes(response)).toEqual([
      "ORDER_REF_LENGTH_OUT_OF_RANGE",
      "METADATA_KEY_SIZE_OUT_OF_RANGE",
    ]);
    const two = await create(simulator, headers, {
      orderRef: "O-2",
      instructions: [instruction("A"), instruction("B")],
    });
    expect(await errorCodes(two)).toEqual(["INSTRUCTIONS_COUNT_OUT_OF_RANGE"]);
  });

  it("refuses a body that is not a JSON object", async () => {
    const simulator = await start();
    const headers = orderHeaders(await token(simulator));
    for (const body of ["{not json", "[]", ""]) {
      const response = await create(simulator, headers, body);
      expect(response.status).toBe(400);
      expect(await errorCodes(response)).toEqual(["REQUEST_BODY_IS_INVALID"]);
    }
  });

  it("refuses a body over 1 MiB with 413", async () => {
    const simulator = await start();
    const response = await create(simulator, orderHeaders(await token(simulator)), {
      orderRef: "BIG",
      metadata: { big: "x".repeat(1_048_576) },
    });
    expect(response.status).toBe(413);
    expect(await errorCodes(response)).toEqual(["REQUEST_BODY_TOO_LARGE"]);
  });

  it("returns the stored order in Imburse's response shape", async () => {
    const simulator = await start();
    const headers = orderHeaders(await token(simulator));
    await create(simulator, headers, {
      orderRef: "ORDER.1_a",
      metadata: { source: "test" },
      instructions: [
        instruction("INS-1", { metadata: { line: "1" }, financialInstrumentId: "FI-1" }),
        instruction("INS-2", {
          amount: 5,
          direction: "CREDIT",
          schemeId: undefined,
          financialInstrumentId: "",
        }),
      ],
    });
    const response = await getOrder(simulator, headers, "ORDER.1_a");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    const expected = {
      orderRef: "ORDER.1_a",
      metadata: { source: "test" },
      customerDefaults: {},
      instructions: [
        {
          instructionRef: "INS-1",
          customerRef: "CUST-1",
          direction: "DEBIT",
          amount: 210,
          currency: "EUR",
          country: "IE",
          settledByDate: "2025-02-28",
          status: "READY",
          scheme: { schemeId: "654EB81F00000000000000000000ABCD", source: "MANUALLY_SET", canUpdate: true },
          financialInstrument: { financialInstrumentId: "FI-1", source: "MANUALLY_SET", canUpdate: true },
          metadata: { line: "1" },
        },
        {
          instructionRef: "INS-2",
          customerRef: "CUST-1",
          direction: "CREDIT",
          amount: 5,
          currency: "EUR",
          country: "IE",
          settledByDate: "2025-02-28",
          status: "READY",
          scheme: { schemeId: null, source: "NONE", canUpdate: true },
          financialInstrument: { financialInstrumentId: null, source: "NONE", canUpdate: true },
          metadata: {},
        },
      ],
    };
    expect(await response.json()).toEqual(expected);
    expect(simulator.orders()).toEqual([expected]);
    const [copy] = simulator.orders();
    if (copy) copy.metadata.source = "changed";
    expect(simulator.orders()).toEqual([expected]);
  });

  it("answers ORDER_NOT_FOUND with 404, or 400 when configured", async () => {
    for (const [orderNotFoundStatus, status] of [
      [undefined, 404],
      [400, 400],
    ] as const) {
      const simulator = await start(orderNotFoundStatus ? { orderNotFoundStatus } : {});
      const response = await getOrder(simulator, orderHeaders(await token(simulator)), "MISSING-1");
      expect(response.status).toBe(status);
      const body = (await response.json()) as ErrorBody;
      expect(body.errors).toMatchObject([
        { errorCode: "ORDER_NOT_FOUND", message: "No order with orderRef 'MISSING-1' was found." },
      ]);
    }
  });

  it("keeps tenants apart", async () => {
    const simulator = await start({ credentials: [DEMO_CREDENTIALS, OTHER_TENANT] });
    const demo = orderHeaders(await token(simulator, DEMO_CREDENTIALS));
    const other = orderHeaders(await token(simulator, OTHER_TENANT), OTHER_TENANT);
    expect((await create(simulator, demo, { orderRef: "SHARED-REF" })).status).toBe(201);
    expect((await getOrder(simulator, other, "SHARED-REF")).status).toBe(404);
    expect(
      (await create(simulator, other, { orderRef: "SHARED-REF", metadata: { tenant: "other" } })).status,
    ).toBe(201);
    expect((await create(simulator, other, { orderRef: "OTHER-ONLY" })).status).toBe(201);
    expect(simulator.orders(DEMO_CREDENTIALS.tenantId).map((order) => order.orderRef)).toEqual([
      "SHARED-REF",
    ]);
    expect(simulator.orders(OTHER_TENANT.tenantId).map((order) => order.metadata)).toEqual([
      { tenant: "other" },
      {},
    ]);
    expect(simulator.orders()).toHaveLength(3);
  });
});

describe("correlation ids and routes", () => {
  it("echoes X-Correlation-ID as a header and in the error metadata; the body carries the simulator's id", async () => {
    const simulator = await start();
    const headers = orderHeaders(await token(simulator), DEMO_CREDENTIALS, {
      "X-Correlation-ID": "relay-123",
    });
    const ok = await create(simulator, headers, { orderRef: "ORDER-1" });
    expect(ok.headers.get("x-correlation-id")).toBe("relay-123");
    const failed = await create(simulator, headers, { orderRef: "ORDER-1" });
    expect(failed.headers.get("x-correlation-id")).toBe("relay-123");
    const body = (await failed.json()) as ErrorBody;
    expect(body.correlationId).toBe("SIM:3");
    expect(body.errors[0]?.metadata).toEqual({ correlationId: "relay-123" });
  });

  it("uses its own id everywhere when the caller sends none", async () => {
    const simulator = await start();
    const response = await getOrder(simulator, {}, "X");
    expect(response.headers.get("x-correlation-id")).toBe("SIM:1");
    const body = (await response.json()) as ErrorBody;
    expect(body.correlationId).toBe("SIM:1");
    expect(body.errors[0]?.metadata.correlationId).toBe("SIM:1");
  });

  it.each([
    ["GET", "/v1/identity/hmac"],
    ["DELETE", "/v1/order-management/ORDER-1"],
    ["GET", "/v1/order-management/ORDER-1/instruction/I-1"],
    ["POST", "/v2/order-management"],
    ["GET", "/v1/order-management/%E0%A4%A"],
  ])("answers 404 ROUTE_NOT_FOUND to %s %s", async (method, path) => {
    const simulator = await start();
    const response = await fetch(`${simulator.url}${path}`, {
      method,
      headers: { "x-correlation-id": "c-9" },
    });
    expect(response.status).toBe(404);
    expect(response.headers.get("x-correlation-id")).toBe("c-9");
    expect(await errorCodes(response)).toEqual(["ROUTE_NOT_FOUND"]);
    expect(simulator.requests[0]?.route).toBeUndefined();
  });

  it("ignores the query string when routing", async () => {
    const simulator = await start();
    const headers = orderHeaders(await token(simulator));
    const created = await fetch(`${simulator.url}/v1/order-management?trace=1`, {
      method: "POST",
      headers,
      body: JSON.stringify({ orderRef: "ORDER-1" }),
    });
    expect(created.status).toBe(201);
    expect((await fetch(`${simulator.url}/v1/order-management/ORDER-1?x=1`, { headers })).status).toBe(200);
  });
});

describe("recording", () => {
  it("records every request with redacted credentials, parsed body, clock time and status", async () => {
    const simulator = await start();
    const authorization = hmac();
    const tokenResponse = await requestToken(simulator, authorization);
    const { accessToken } = (await tokenResponse.json()) as { accessToken: string };
    now += 1_000;
    await create(simulator, orderHeaders(accessToken), {
      orderRef: "ORDER-1",
      instructions: [instruction()],
    });
    await getOrder(simulator, orderHeaders(accessToken), "ORDER-1?x=1");

    const [tokenRecord, createRecord, getRecord] = simulator.requests;
    expect(tokenRecord).toMatchObject({
      seq: 1,
      method: "POST",
      path: "/v1/identity/hmac",
      route: "token",
      timestamp: START,
      reusedSocket: expect.any(Boolean),
      status: 201,
    });
    expect(tokenRecord?.headers.authorization).toBe("Hmac [redacted]");
    expect(tokenRecord?.body).toBeUndefined();
    expect(tokenRecord?.fault).toBeUndefined();
    expect(createRecord).toMatchObject({
      seq: 2,
      route: "create",
      timestamp: START + 1_000,
      body: { orderRef: "ORDER-1", instructions: [instruction()] },
      status: 202,
    });
    expect(createRecord?.headers.authorization).toBe("Bearer [redacted]");
    expect(createRecord?.headers["x-tenant-id"]).toBe(DEMO_CREDENTIALS.tenantId);
    expect(getRecord).toMatchObject({
      route: "get",
      path: "/v1/order-management/ORDER-1%3Fx%3D1",
      status: 404,
    });
    expect(simulator.requestsTo("create")).toEqual([createRecord]);

    const recorded = JSON.stringify(simulator.requests);
    const signature = authorization.split(":").at(-1) ?? "";
    for (const secret of [accessToken, ...accessToken.split("."), signature, DEMO_CREDENTIALS.privateKey]) {
      expect(recorded).not.toContain(secret);
    }
  });

  it("redacts credential headers to their scheme", () => {
    expect(
      redactHeaders({
        authorization: "Hmac pk:nonce:1:c2lnbmF0dXJl",
        "proxy-authorization": "Basic dXNlcjpwYXNz",
        "x-tenant-id": "t",
      }),
    ).toEqual({
      authorization: "Hmac [redacted]",
      "proxy-authorization": "Basic [redacted]",
      "x-tenant-id": "t",
    });
    expect(redactHeaders({ authorization: "bare-token" })).toEqual({ authorization: "[redacted]" });
  });

  it("reset() forgets requests, orders and nonces and restarts the correlation sequence", async () => {
    const simulator = await start();
    const nonce = randomNonce();
    const headers = orderHeaders(await token(simulator));
    expect((await requestToken(simulator, hmac(DEMO_CREDENTIALS, { nonce }))).status).toBe(201);
    await create(simulator, headers, { orderRef: "ORDER-1" });
    simulator.reset();
    expect(simulator.requests).toEqual([]);
    expect(simulator.orders()).toEqual([]);
    expect((await requestToken(simulator, hmac(DEMO_CREDENTIALS, { nonce }))).status).toBe(201);
    const response = await create(simulator, headers, { orderRef: "ORDER-1" });
    expect(response.status).toBe(201);
    expect(response.headers.get("x-correlation-id")).toBe("SIM:2");
  });
});

describe("options and the CLI entry", () => {
  it("refuses unusable options", async () => {
    await expect(startSimulator({ tokenLifetimeSeconds: 0 })).rejects.toThrow(SimulatorOptionsError);
    await expect(startSimulator({ credentials: [] })).rejects.toThrow(SimulatorOptionsError);
    await expect(startSimulator({ seed: 1.5 })).rejects.toThrow(SimulatorOptionsError);
    await expect(startSimulator({ faults: "create:42x" })).rejects.toThrow(FaultSpecError);
  });

  it("runSimulator prints the URL and the demo key's public parts only, and closes on SIGTERM", async () => {
    const signals = new EventEmitter();
    const lines: string[] = [];
    const run = await runSimulator({
      port: 0,
      seed: 7,
      faults: "create:503=0.5",
      signals,
      print: (l) => lines.push(l),
    });
    expect(lines).toHaveLength(1);
    const [line = ""] = lines;
    for (const part of [
      run.simulator.url,
      DEMO_CREDENTIALS.publicKey,
      DEMO_CREDENTIALS.accountId,
      "seed 7",
    ]) {
      expect(line).toContain(part);
    }
    expect(line).toContain(DEMO_CREDENTIALS.tenantId);
    expect(line).toContain("DEMO_CREDENTIALS");
    expect(line).not.toContain(DEMO_CREDENTIALS.privateKey);
    expect(run.simulator.faults.rules).toEqual([{ route: "create", kind: 503, rate: 0.5 }]);
    expect(signals.listenerCount("SIGINT")).toBe(1);

    signals.emit("SIGTERM");
    await run.closed;
    expect(signals.listenerCount("SIGINT")).toBe(0);
    await expect(fetch(`${run.simulator.url}/v1/identity/hmac`, { method: "POST" })).rejects.toThrow();
  });

  it("runSimulator rejects a bad fault spec before listening", async () => {
    const signals = new EventEmitter();
    await expect(runSimulator({ faults: "create:timeout=2", signals, print: () => {} })).rejects.toThrow(
      /Invalid fault rule "create:timeout=2"/,
    );
    expect(signals.listenerCount("SIGINT")).toBe(0);
  });
});
