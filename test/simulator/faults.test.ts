import { Agent, request } from "node:http";
import { afterEach, describe, expect, it, vi } from "vitest";
import { hmacAuthorization, randomNonce } from "../../lib/imburse/index.ts";
import {
  DEMO_CREDENTIALS,
  type ErrorBody,
  FaultSpecError,
  type Simulator,
  type SimulatorOptions,
  startSimulator,
} from "../../lib/simulator/index.ts";

// Fault injection over real HTTP on loopback.

const running: Simulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((simulator) => simulator.close()));
});

async function start(options: SimulatorOptions = {}): Promise<Simulator> {
  const simulator = await startSimulator({ seed: 1, ...options });
  running.push(simulator);
  return simulator;
}

function requestToken(simulator: Simulator, nonce = randomNonce()): Promise<Response> {
  const authorization = hmacAuthorization({
    ...DEMO_CREDENTIALS,
    nonce,
    timestamp: Math.floor(Date.now() / 1000),
  });
  return fetch(`${simulator.url}/v1/identity/hmac`, { method: "POST", headers: { authorization } });
}

async function orderHeaders(simulator: Simulator): Promise<Record<string, string>> {
  const response = await requestToken(simulator);
  expect(response.status).toBe(201);
  const { accessToken } = (await response.json()) as { accessToken: string };
  return {
    authorization: `Bearer ${accessToken}`,
    "x-account-id": DEMO_CREDENTIALS.accountId,
    "x-tenant-id": DEMO_CREDENTIALS.tenantId,
    "content-type": "application/json",
  };
}

function create(
  simulator: Simulator,
  headers: Record<string, string>,
  orderRef: string,
  init: RequestInit = {},
): Promise<Response> {
  return fetch(`${simulator.url}/v1/order-management`, {
    method: "POST",
    headers,
    body: JSON.stringify({ orderRef }),
    ...init,
  });
}

async function firstErrorCode(response: Response): Promise<string | undefined> {
  return ((await response.json()) as ErrorBody).errors[0]?.errorCode;
}

describe("seeded random faults", () => {
  // Faults apply before authentication, so unauthenticated creates are enough: 401 or the fault.
  async function statuses(simulator: Simulator, count = 32): Promise<number[]> {
    const result: number[] = [];
    for (let i = 0; i < count; i++) {
      result.push((await fetch(`${simulator.url}/v1/order-management`, { method: "POST" })).status);
    }
    return result;
  }

  it("gives the same fault sequence for the same seed, and another for another seed", async () => {
    const faults = "create:503=0.5,create:latency=0-3";
    const first = await start({ seed: 42, faults });
    const again = await start({ seed: 42, faults });
    const other = await start({ seed: 43, faults });
    const sequence = await statuses(first);
    expect(new Set(sequence)).toEqual(new Set([401, 503]));
    expect(await statuses(again)).toEqual(sequence);
    expect(await statuses(other)).not.toEqual(sequence);
    const latencies = (simulator: Simulator) => simulator.requests.map((r) => r.latencyMs ?? 0);
    expect(latencies(again)).toEqual(latencies(first));
    expect(first.requests.map((r) => r.fault?.kind)).toEqual(
      sequence.map((s) => (s === 503 ? 503 : undefined)),
    );
  });

  it("replays the same sequence after reset()", async () => {
    const simulator = await start({ seed: 9, faults: "create:429=0.3" });
    const sequence = await statuses(simulator, 20);
    expect(sequence).toContain(429);
    simulator.reset();
    expect(await statuses(simulator, 20)).toEqual(sequence);
  });

  it("applies rate 0 never and rate 1 always", async () => {
    const never = await start({ faults: "create:503=0" });
    const always = await start({ faults: "create:503=1" });
    expect(new Set(await statuses(never, 10))).toEqual(new Set([401]));
    expect(new Set(await statuses(always, 10))).toEqual(new Set([503]));
  });
});

describe("fault kinds", () => {
  it("answers 429 with Retry-After when asked, and creates nothing", async () => {
    const simulator = await start({ faults: "create:429:retry-after=3:times=1" });
    const headers = await orderHeaders(simulator);
    const throttled = await create(simulator, headers, "ORDER-1", {
      headers: { ...headers, "x-correlation-id": "c-429" },
    });
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get("retry-after")).toBe("3");
    expect(throttled.headers.get("x-correlation-id")).toBe("c-429");
    const body = (await throttled.json()) as ErrorBody;
    expect(body.errors).toMatchObject([
      { errorCode: "TOO_MANY_REQUESTS", metadata: { correlationId: "c-429" } },
    ]);
    expect(simulator.orders()).toEqual([]);
    expect(simulator.requestsTo("create")[0]?.fault).toEqual({
      kind: 429,
      retryAfter: 3,
      errorCode: "TOO_MANY_REQUESTS",
      from: "rules",
    });
    expect((await create(simulator, headers, "ORDER-1")).status).toBe(201);
  });

  it("answers 429 without Retry-After by default", async () => {
    const simulator = await start();
    simulator.faults.enqueue({ route: "create", kind: 429 });
    const response = await create(simulator, await orderHeaders(simulator), "ORDER-1");
    expect(response.status).toBe(429);
    expect(response.headers.has("retry-after")).toBe(false);
  });

  it.each([
    [500, "INTERNAL_SERVER_ERROR"],
    [502, "BAD_GATEWAY"],
    [503, "SERVICE_UNAVAILABLE"],
    [504, "GATEWAY_TIMEOUT"],
  ])("answers a token request %i %s without consuming its nonce", async (status, code) => {
    const simulator = await start({ faults: `token:${status}:times=1` });
    const nonce = randomNonce();
    const failed = await requestToken(simulator, nonce);
    expect(failed.status).toBe(status);
    expect(await firstErrorCode(failed)).toBe(code);
    expect((await requestToken(simulator, nonce)).status).toBe(201);
  });

  it("adds latency, fixed or drawn from a range, and combines it with another fault", async () => {
    const simulator = await start({ faults: "get:latency=60,create:latency=5-15" });
    const headers = await orderHeaders(simulator);
    const started = performance.now();
    expect((await fetch(`${simulator.url}/v1/order-management/ORDER-1`, { headers })).status).toBe(404);
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
    simulator.faults.enqueue({ route: "create", kind: 503 });
    expect((await create(simulator, headers, "ORDER-1")).status).toBe(503);
    const [token, get, create503] = simulator.requests;
    expect(token?.latencyMs).toBeUndefined();
    expect(get?.latencyMs).toBe(60);
    expect(create503?.latencyMs).toBeGreaterThanOrEqual(5);
    expect(create503?.latencyMs).toBeLessThanOrEqual(15);
    expect(create503?.fault).toMatchObject({ kind: 503, from: "queue" });
  });

  it("timeout: creates the order but answers nothing until the client aborts", async () => {
    const simulator = await start();
    const headers = await orderHeaders(simulator);
    simulator.faults.enqueue({ route: "create", kind: "timeout" });
    const abort = new AbortController();
    let settled = false;
    const pending = create(simulator, headers, "ORDER-1", { signal: abort.signal }).finally(() => {
      settled = true;
    });
    await vi.waitFor(() => expect(simulator.orders()).toHaveLength(1));
    expect(settled).toBe(false);
    abort.abort();
    await expect(pending).rejects.toThrow(/abort/i);
    const [record] = simulator.requestsTo("create");
    expect(record?.fault?.kind).toBe("timeout");
    expect(record?.status).toBeUndefined();
    // The client's retry learns the order exists.
    const retry = await create(simulator, headers, "ORDER-1");
    expect(retry.status).toBe(400);
    expect(await firstErrorCode(retry)).toBe("ORDER_ALREADY_EXISTS");
  });

  it("timeout: close() ends the held connection instead of hanging", async () => {
    const simulator = await start({ faults: "get:timeout" });
    const headers = await orderHeaders(simulator);
    const pending = fetch(`${simulator.url}/v1/order-management/ORDER-1`, { headers });
    await vi.waitFor(() => expect(simulator.requestsTo("get")).toHaveLength(1));
    await simulator.close();
    await expect(pending).rejects.toThrow();
  });

  it("close() does not wait for a pending latency", async () => {
    const simulator = await start({ faults: "create:latency=10000" });
    const pending = fetch(`${simulator.url}/v1/order-management`, { method: "POST" });
    await vi.waitFor(() => expect(simulator.requestsTo("create")).toHaveLength(1));
    const started = performance.now();
    await simulator.close();
    expect(performance.now() - started).toBeLessThan(1_000);
    await expect(pending).rejects.toThrow();
  });

  it("reset: destroys the connection and creates nothing", async () => {
    const simulator = await start();
    const headers = await orderHeaders(simulator);
    simulator.faults.enqueue({ route: "create", kind: "reset" });
    await expect(create(simulator, headers, "ORDER-1")).rejects.toThrow();
    expect(simulator.orders()).toEqual([]);
    const [record] = simulator.requestsTo("create");
    expect(record?.fault?.kind).toBe("reset");
    expect(record?.status).toBeUndefined();
    expect((await create(simulator, headers, "ORDER-1")).status).toBe(201);
  });
});

describe("orderRef-matched and queued faults", () => {
  it("throttles the first N creates of each matching orderRef, then lets it through", async () => {
    const simulator = await start({ faults: "create[ref^=THROTTLE-]:429:retry-after=1:times=2" });
    const headers = await orderHeaders(simulator);
    const attempts = async (orderRef: string, count: number) => {
      const result: number[] = [];
      for (let i = 0; i < count; i++) result.push((await create(simulator, headers, orderRef)).status);
      return result;
    };
    expect(await attempts("PLAIN-1", 1)).toEqual([201]);
    expect(await attempts("THROTTLE-1", 3)).toEqual([429, 429, 201]);
    expect(await attempts("THROTTLE-2", 3)).toEqual([429, 429, 201]);
    expect(await attempts("THROTTLE-1", 1)).toEqual([400]);
    expect((await fetch(`${simulator.url}/v1/order-management/THROTTLE-1`, { headers })).status).toBe(200);
  });

  it("matches an exact orderRef on get", async () => {
    const simulator = await start({ faults: "get[ref=ORDER-7]:400:code=ORDER_NOT_FOUND" });
    const headers = await orderHeaders(simulator);
    await create(simulator, headers, "ORDER-7");
    await create(simulator, headers, "ORDER-70");
    const get = (orderRef: string) => fetch(`${simulator.url}/v1/order-management/${orderRef}`, { headers });
    const missing = await get("ORDER-7");
    expect(missing.status).toBe(400);
    expect(await firstErrorCode(missing)).toBe("ORDER_NOT_FOUND");
    expect((await get("ORDER-70")).status).toBe(200);
  });

  it("answers an arbitrary status and error code once, before the rules", async () => {
    const simulator = await start({ faults: "create[ref=ALWAYS-503]:503" });
    const headers = await orderHeaders(simulator);
    simulator.faults.enqueue({ route: "create", kind: 402 });
    simulator.faults.enqueue({ route: "create", kind: 409, errorCode: "CONFLICT_SIMULATED" });
    simulator.faults.enqueue({ route: "create", kind: 400, errorCode: "ORDER_ALREADY_EXISTS" });
    const first = await create(simulator, headers, "ORDER-1");
    expect([first.status, await firstErrorCode(first)]).toEqual([402, "PAYMENT_REQUIRED"]);
    const second = await create(simulator, headers, "ALWAYS-503");
    expect([second.status, await firstErrorCode(second)]).toEqual([409, "CONFLICT_SIMULATED"]);
    const third = await create(simulator, headers, "ORDER-1");
    expect([third.status, await firstErrorCode(third)]).toEqual([400, "ORDER_ALREADY_EXISTS"]);
    expect(simulator.orders()).toEqual([]);
    expect((await create(simulator, headers, "ORDER-1")).status).toBe(201);
    expect((await create(simulator, headers, "ALWAYS-503")).status).toBe(503);
  });

  it("queues faults for one orderRef, several times, leaving other requests alone", async () => {
    const simulator = await start();
    const headers = await orderHeaders(simulator);
    simulator.faults.enqueue({ route: "create", kind: 503, orderRef: "ORDER-2", times: 2 });
    expect((await create(simulator, headers, "ORDER-1")).status).toBe(201);
    expect((await create(simulator, headers, "ORDER-2")).status).toBe(503);
    expect((await create(simulator, headers, "ORDER-2")).status).toBe(503);
    expect((await create(simulator, headers, "ORDER-2")).status).toBe(201);
  });

  it("set() replaces the rules and clear() removes rules and queue; bad faults are refused", async () => {
    const simulator = await start({ faults: "create:503" });
    const headers = await orderHeaders(simulator);
    simulator.faults.set([{ route: "create", kind: 500 }]);
    expect(simulator.faults.rules).toEqual([{ route: "create", kind: 500 }]);
    expect((await create(simulator, headers, "ORDER-1")).status).toBe(500);
    simulator.faults.set("create:502");
    expect((await create(simulator, headers, "ORDER-1")).status).toBe(502);
    simulator.faults.enqueue({ route: "create", kind: 504 });
    simulator.faults.clear();
    expect(simulator.faults.rules).toEqual([]);
    expect((await create(simulator, headers, "ORDER-1")).status).toBe(201);
    expect(() => simulator.faults.enqueue({ route: "create", kind: 700 })).toThrow(FaultSpecError);
    expect(() => simulator.faults.enqueue({ route: "create", kind: "timeout", retryAfter: 1 })).toThrow(
      /retry-after and code apply only to status faults/,
    );
    expect(() => simulator.faults.set([{ kind: "latency" }])).toThrow(/latency needs a duration/);
  });
});

describe("reset-on-reused-socket", () => {
  interface Outcome {
    status?: number;
    error?: string;
    reusedSocket: boolean;
  }

  function post(simulator: Simulator, agent: Agent): Promise<Outcome> {
    return new Promise((resolve) => {
      const req = request(`${simulator.url}/v1/order-management`, { method: "POST", agent }, (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0, reusedSocket: req.reusedSocket }));
      });
      req.on("error", (error: NodeJS.ErrnoException) =>
        resolve({ error: error.code ?? error.message, reusedSocket: req.reusedSocket }),
      );
      req.end();
    });
  }

  it("destroys a request on a kept-alive socket and serves the retry on a fresh one", async () => {
    const simulator = await start({ faults: "create:reset-on-reused-socket" });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect(await post(simulator, agent)).toEqual({ status: 401, reusedSocket: false });
      expect(await post(simulator, agent)).toEqual({ error: "ECONNRESET", reusedSocket: true });
      expect(await post(simulator, agent)).toEqual({ status: 401, reusedSocket: false });
    } finally {
      agent.destroy();
    }
    expect(simulator.requests.map((r) => [r.reusedSocket, r.fault?.kind, r.status])).toEqual([
      [false, undefined, 401],
      [true, "reset-on-reused-socket", undefined],
      [false, undefined, 401],
    ]);
  });

  it("a queued one is used only by a request that arrives on a reused socket", async () => {
    const simulator = await start();
    simulator.faults.enqueue({ route: "create", kind: "reset-on-reused-socket" });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect(await post(simulator, agent)).toMatchObject({ status: 401 });
      expect(await post(simulator, agent)).toMatchObject({ error: "ECONNRESET" });
      expect(await post(simulator, agent)).toMatchObject({ status: 401 });
      expect(await post(simulator, agent)).toEqual({ status: 401, reusedSocket: true });
    } finally {
      agent.destroy();
    }
  });
});
