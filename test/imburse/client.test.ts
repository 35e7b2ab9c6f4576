import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ImburseClient, type ImburseClientOptions } from "../../lib/imburse/client.ts";
import { staticCredentials } from "../../lib/imburse/credentials.ts";
import { ImburseApiError, ImburseConfigError, ImburseNetworkError } from "../../lib/imburse/errors.ts";
import { TokenCache } from "../../lib/imburse/token.ts";
import type { CallOptions, ImburseRequest, Transport } from "../../lib/imburse/transport.ts";
import { SANDBOX_BASE_URL } from "../../lib/imburse/urls.ts";
import { DEMO_CREDENTIALS, type Simulator, startSimulator } from "../../lib/simulator/index.ts";
import { order } from "../support/relay-harness.ts";

let simulator: Simulator;
beforeAll(async () => {
  simulator = await startSimulator({ seed: 7 });
});
afterAll(async () => simulator?.close());
afterEach(() => simulator.reset());

const client = (options: Partial<ConstructorParameters<typeof ImburseClient>[0]> = {}) =>
  new ImburseClient({
    baseUrl: simulator.url,
    credentials: staticCredentials({ ...DEMO_CREDENTIALS }),
    tokenCache: new TokenCache(),
    timeoutMs: 500,
    ...options,
  });

describe("ImburseClient against the simulator over HTTP", () => {
  it("exchanges HMAC for a token once, then creates (202) and reads an order with every header", async () => {
    const imburse = client();
    const created = await imburse.createOrder(order("CLI-1"), { correlationId: "corr-cli-1" });
    expect(created).toEqual({ status: 202, body: undefined });
    const fetched = (await imburse.getOrder("CLI-1", { correlationId: "corr-cli-1" })) as {
      orderRef: string;
    };
    expect(fetched.orderRef).toBe("CLI-1");
    expect(simulator.requestsTo("token")).toHaveLength(1);
    const [create] = simulator.requestsTo("create");
    expect(create?.headers).toMatchObject({
      authorization: "Bearer [redacted]",
      "x-account-id": DEMO_CREDENTIALS.accountId,
      "x-tenant-id": DEMO_CREDENTIALS.tenantId,
      "x-correlation-id": "corr-cli-1",
      "content-type": "application/json",
    });
  });

  it("answers 201 for an order without instructions", async () => {
    expect((await client().createOrder({ orderRef: "CLI-EMPTY" })).status).toBe(201);
  });

  it.each(["seconds", "milliseconds-string", "none"] as const)(
    "reads a token whose expires is %s",
    async (expiresFormat) => {
      const other = await startSimulator({ seed: 1, expiresFormat, tokenLifetimeSeconds: 600 });
      try {
        const imburse = client({ baseUrl: other.url });
        await imburse.createOrder({ orderRef: `EXP-${expiresFormat}` });
        await imburse.createOrder({ orderRef: `EXP2-${expiresFormat}` });
        expect(other.requestsTo("token")).toHaveLength(1);
      } finally {
        await other.close();
      }
    },
  );

  it("refreshes the token early, before it expires", async () => {
    let now = Date.now();
    const short = await startSimulator({ seed: 1, tokenLifetimeSeconds: 120, clock: () => now });
    try {
      const imburse = client({ baseUrl: short.url, clock: () => now });
      await imburse.createOrder({ orderRef: "EARLY-1" });
      now += 59_000;
      await imburse.createOrder({ orderRef: "EARLY-2" });
      expect(short.requestsTo("token")).toHaveLength(1);
      now += 2_000; // 61 s into a 120 s token: inside the 60 s early-refresh margin
      await imburse.createOrder({ orderRef: "EARLY-3" });
      expect(short.requestsTo("token")).toHaveLength(2);
    } finally {
      await short.close();
    }
  });

  it("on a 401 refreshes the token once and retries once", async () => {
    const imburse = client();
    await imburse.createOrder({ orderRef: "R401-0" });
    simulator.faults.enqueue({ route: "create", kind: 401 });
    await imburse.createOrder({ orderRef: "R401-1" });
    expect(simulator.requestsTo("token")).toHaveLength(2);
    expect(simulator.requestsTo("create").map((r) => r.status)).toEqual([201, 401, 201]);
  });

  it("bounds a 401 cascade by the call's deadline: no exchange starts once it has passed", async () => {
    let offset = 0;
    const imburse = client({
      clock: () => Date.now() + offset,
      // The 401 comes back just as the call's time runs out.
      onCall: (call) => {
        if (call.status === 401) offset += 20_000;
      },
    });
    await imburse.createOrder({ orderRef: "R401-D0" });
    simulator.faults.enqueue({ route: "create", kind: 401 });
    const error = await imburse
      .createOrder({ orderRef: "R401-D1" }, { deadline: Date.now() + 10_000 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImburseNetworkError);
    expect(error).toMatchObject({ code: "RELAY_OUT_OF_TIME", mayHaveReachedServer: false });
    // The refreshed token exchange and the second POST were never sent.
    expect(simulator.requestsTo("token")).toHaveLength(1);
    expect(simulator.requestsTo("create").map((r) => r.status)).toEqual([201, 401]);
  });

  it("after a key rotation, re-reads the secret once when the token exchange answers 401, and carries on", async () => {
    const stale = { ...DEMO_CREDENTIALS, privateKey: Buffer.from("rotated-away").toString("base64") };
    let refreshes = 0;
    const imburse = client({
      credentials: {
        get: async () => stale,
        refresh: async () => {
          refreshes++;
          return { ...DEMO_CREDENTIALS };
        },
      },
    });
    expect(await imburse.createOrder({ orderRef: "ROT-1" })).toEqual({ status: 201, body: undefined });
    expect(refreshes).toBe(1);
    expect(simulator.requestsTo("token").map((r) => r.status)).toEqual([401, 201]);
    expect(simulator.requestsTo("create").map((r) => r.status)).toEqual([201]);
  });

  it("refuses to read a ref that a URL path would rewrite, sending nothing", async () => {
    for (const ref of [".", ".."]) {
      await expect(client().getOrder(ref)).rejects.toBeInstanceOf(ImburseConfigError);
    }
    expect(simulator.requests).toHaveLength(0);
  });

  it("gives up after the second 401 when the credentials have not changed", async () => {
    simulator.faults.enqueue({ route: "create", kind: 401, times: 2 });
    const error = await client()
      .createOrder({ orderRef: "R401-2" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImburseApiError);
    expect((error as ImburseApiError).status).toBe(401);
    expect(simulator.requestsTo("create")).toHaveLength(2);
  });

  it("types a 429 with its Retry-After, Imburse's correlation id and error codes", async () => {
    simulator.faults.enqueue({ route: "create", kind: 429, retryAfter: 7 });
    const error = (await client()
      .createOrder({ orderRef: "T429" }, { correlationId: "mine" })
      .catch((e: unknown) => e)) as ImburseApiError;
    expect(error).toBeInstanceOf(ImburseApiError);
    expect(error.status).toBe(429);
    expect(error.retryAfterSeconds).toBe(7);
    expect(error.imburseCorrelationId).toMatch(/^SIM:/);
    expect(error.errors[0]?.metadata?.correlationId).toBe("mine");
  });

  it("types ORDER_ALREADY_EXISTS", async () => {
    const imburse = client();
    await imburse.createOrder({ orderRef: "DUP-1" });
    const error = (await imburse
      .createOrder({ orderRef: "DUP-1" })
      .catch((e: unknown) => e)) as ImburseApiError;
    expect(error.status).toBe(400);
    expect(error.hasErrorCode("ORDER_ALREADY_EXISTS")).toBe(true);
  });

  it("types a timeout after sending as may-have-reached-server (the order exists)", async () => {
    const imburse = client();
    await imburse.accessToken();
    simulator.faults.enqueue({ route: "create", kind: "timeout" });
    const error = (await imburse
      .createOrder({ orderRef: "TO-1" }, { timeoutMs: 200 })
      .catch((e: unknown) => e)) as ImburseNetworkError;
    expect(error).toBeInstanceOf(ImburseNetworkError);
    expect(error).toMatchObject({ code: "ETIMEDOUT", timedOut: true, mayHaveReachedServer: true });
    expect(simulator.orders().map((o) => o.orderRef)).toContain("TO-1");
  });

  it("types a connection reset as a network error, retrying a pooled socket only once, and creates nothing", async () => {
    const imburse = client();
    // The token exchange leaves a kept-alive socket; a reset on it earns the one immediate retry, which is reset too.
    simulator.faults.enqueue({ route: "create", kind: "reset", times: 2 });
    const error = (await imburse
      .createOrder({ orderRef: "RST-1" })
      .catch((e: unknown) => e)) as ImburseNetworkError;
    expect(error).toBeInstanceOf(ImburseNetworkError);
    expect(error.timedOut).toBe(false);
    expect(simulator.requestsTo("create")).toHaveLength(2);
    expect(simulator.orders().map((o) => o.orderRef)).not.toContain("RST-1");
  });

  it("retries once, at once, when a pooled keep-alive socket turns out dead", async () => {
    const imburse = client();
    await imburse.createOrder({ orderRef: "POOL-0" });
    simulator.faults.enqueue({ route: "create", kind: "reset-on-reused-socket" });
    await imburse.createOrder({ orderRef: "POOL-1" });
    expect(simulator.orders().map((o) => o.orderRef)).toContain("POOL-1");
    expect(
      simulator.requestsTo("create").filter((r) => (r.body as { orderRef?: string }).orderRef === "POOL-1"),
    ).toHaveLength(2);
  });

  it("says a refused connection did not reach Imburse", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = (await client({ baseUrl: `http://127.0.0.1:${port}` })
      .accessToken()
      .catch((e: unknown) => e)) as ImburseNetworkError;
    expect(error).toBeInstanceOf(ImburseNetworkError);
    expect(error).toMatchObject({ code: "ECONNREFUSED", mayHaveReachedServer: false });
  });

  it("follows no redirect: a 3xx is an answer, and nothing is sent elsewhere", async () => {
    const paths: string[] = [];
    const redirecting = http.createServer((request, response) => {
      paths.push(request.url ?? "");
      response.writeHead(302, { location: "/elsewhere" }).end();
    });
    await new Promise<void>((resolve) => redirecting.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = redirecting.address() as AddressInfo;
      const error = await client({ baseUrl: `http://127.0.0.1:${port}` })
        .accessToken()
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ImburseApiError);
      expect(error).toMatchObject({ status: 302, path: "/v1/identity/hmac" });
      expect(paths).toEqual(["/v1/identity/hmac"]);
    } finally {
      await new Promise<void>((resolve) => redirecting.close(() => resolve()));
    }
  });

  it("refuses a plain-http base URL that is not loopback", () => {
    expect(() => client({ baseUrl: "http://api.imbursepayments.com" })).toThrow(ImburseConfigError);
    expect(() => client({ baseUrl: "http://10.1.2.3:8080" })).toThrow(ImburseConfigError);
    expect(() => client({ baseUrl: "http://127.example.com" })).toThrow(ImburseConfigError);
    expect(client({ baseUrl: "http://127.0.0.2:8080" }).baseUrl).toBe("http://127.0.0.2:8080");
    expect(() => client({ baseUrl: "not a url" })).toThrow(/not a URL/);
    expect(client({ baseUrl: "https://api.imbursepayments.com/" }).baseUrl).toBe(
      "https://api.imbursepayments.com",
    );
  });

  it("keeps the private key, the token and the signature out of errors", async () => {
    const wrongKey = { ...DEMO_CREDENTIALS, privateKey: Buffer.from("wrong-test-key").toString("base64") };
    const error = (await client({ credentials: staticCredentials(wrongKey) })
      .accessToken()
      .catch((e: unknown) => e)) as ImburseApiError;
    expect(error.status).toBe(401);
    const text = `${error.message} ${JSON.stringify(error)} ${String(error.stack)}`;
    expect(text).not.toContain(wrongKey.privateKey);
    expect(text).not.toMatch(/Hmac /);
  });
});

/** An in-memory Imburse behind the transport interface: a token for any exchange, orders kept in a map. */
function memoryImburse() {
  const sent: { request: ImburseRequest; headers: Record<string, string>; options: CallOptions }[] = [];
  const orders = new Map<string, unknown>();
  const transport: Transport = {
    async send(request, options) {
      sent.push({ request, headers: request.authHeaders(), options });
      if (request.route === "token") return { status: 200, body: { accessToken: `t${sent.length}` } };
      if (request.method === "POST") {
        const order = JSON.parse(request.body ?? "{}") as { orderRef: string };
        orders.set(`${ORDERS}/${encodeURIComponent(order.orderRef)}`, order);
        return { status: 202, body: undefined };
      }
      return { status: 200, body: orders.get(request.path) };
    },
  };
  return { sent, transport };
}

const ORDERS = "/v1/order-management";

describe("ImburseClient over an in-memory transport", () => {
  const unit = (transport: Transport, options: Partial<ImburseClientOptions> = {}) =>
    new ImburseClient({
      credentials: staticCredentials({ ...DEMO_CREDENTIALS }),
      tokenCache: new TokenCache(),
      transport,
      ...options,
    });

  it("creates an order as JSON and reads it back by its encoded ref, passing the call's options on", async () => {
    const { sent, transport } = memoryImburse();
    const imburse = unit(transport);
    const options = { correlationId: "c-1", deadline: 123, timeoutMs: 45 };
    expect(await imburse.createOrder({ orderRef: "A 1/x" }, options)).toEqual({
      status: 202,
      body: undefined,
    });
    expect(await imburse.getOrder("A 1/x", options)).toEqual({ orderRef: "A 1/x" });
    expect(sent.map(({ request: { route, method, path, body } }) => ({ route, method, path, body }))).toEqual(
      [
        { route: "token", method: "POST", path: "/v1/identity/hmac", body: undefined },
        { route: "create-order", method: "POST", path: ORDERS, body: '{"orderRef":"A 1/x"}' },
        { route: "get-order", method: "GET", path: `${ORDERS}/A%201%2Fx`, body: undefined },
      ],
    );
    expect(sent.map((s) => s.options)).toEqual([options, options, options]);
    expect(sent[1]?.headers).toEqual({
      authorization: "Bearer t1",
      "x-account-id": DEMO_CREDENTIALS.accountId,
      "x-tenant-id": DEMO_CREDENTIALS.tenantId,
    });
  });

  it("defaults to the sandbox, with no options per call", async () => {
    const { sent, transport } = memoryImburse();
    const imburse = unit(transport);
    expect(imburse.baseUrl).toBe(SANDBOX_BASE_URL);
    await imburse.createOrder({ orderRef: "B-1" });
    expect(await imburse.getOrder("B-1")).toEqual({ orderRef: "B-1" });
    expect(await imburse.accessToken()).toBe("t1");
    expect(sent.map((s) => s.options)).toEqual([{}, {}, {}]);
  });

  it.each([".", ".."])("refuses to read %j, whose path a URL would rewrite, sending nothing", async (ref) => {
    const { sent, transport } = memoryImburse();
    await expect(unit(transport).getOrder(ref)).rejects.toThrow(
      new ImburseConfigError(`orderRef ${JSON.stringify(ref)} cannot be read: its path would be rewritten`),
    );
    expect(sent).toHaveLength(0);
  });

  it.each([
    ["a/../b", "a%2F..%2Fb"],
    ["...", "..."],
    ["%2e", "%252e"],
  ])("reads %j as itself: encoded, it cannot climb", async (ref, encoded) => {
    const { sent, transport } = memoryImburse();
    expect(await unit(transport).getOrder(ref)).toBeUndefined();
    expect(sent.at(-1)?.request.path).toBe(`${ORDERS}/${encoded}`);
  });

  it("uses the signing clock and nonce it is given for the token exchange", async () => {
    const { sent, transport } = memoryImburse();
    await unit(transport, { clock: () => 1_700_000_000_999, nonce: () => "fixed-nonce" }).accessToken();
    expect(sent[0]?.headers.authorization).toMatch(/^Hmac demo-[^:]*:fixed-nonce:1700000000:/);
  });

  it("shares the process's token cache when given none, so warm containers reuse a token", async () => {
    const { sent, transport } = memoryImburse();
    const credentials = staticCredentials({ ...DEMO_CREDENTIALS, publicKey: `shared-${Date.now()}` });
    const first = new ImburseClient({ credentials, transport });
    const second = new ImburseClient({ credentials, transport });
    expect(await first.accessToken()).toBe(await second.accessToken());
    expect(sent).toHaveLength(1);
  });

  it("validates the base URL even with its own transport", () => {
    expect(() => unit(memoryImburse().transport, { baseUrl: "http://10.0.0.1" })).toThrow(ImburseConfigError);
    expect(unit(memoryImburse().transport, { baseUrl: "https://x.test/" }).baseUrl).toBe("https://x.test");
  });
});
