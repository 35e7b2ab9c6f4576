import { afterEach, describe, expect, it, vi } from "vitest";
import { AuthLadder, nextRung, type Rung } from "../../lib/imburse/auth.ts";
import type { CredentialsProvider, ImburseCredentials } from "../../lib/imburse/credentials.ts";
import { ImburseApiError, ImburseNetworkError } from "../../lib/imburse/errors.ts";
import { hmacAuthorization } from "../../lib/imburse/signing.ts";
import { FALLBACK_TOKEN_LIFETIME_MS, TokenCache } from "../../lib/imburse/token.ts";
import {
  type CallOptions,
  type ImburseAnswer,
  type ImburseRequest,
  OUT_OF_TIME,
  type Transport,
} from "../../lib/imburse/transport.ts";
import { TOKEN_PATH } from "../../lib/imburse/urls.ts";

const NOW = 1_700_000_000_000;
const BASE = "https://imburse.test";
const key = (n: number): ImburseCredentials => ({
  publicKey: `pub-${n}`,
  privateKey: Buffer.from(`private-key-${n}`).toString("base64"),
  accountId: "acct-1",
  tenantId: "tenant-1",
});

const refused = (path: string, method = "POST") =>
  new ImburseApiError({ status: 401, method, path, errors: [{ errorCode: "UNAUTHORISED" }] });

/**
 * An in-memory Imburse behind the {@link Transport} interface: it issues a token for a correctly signed
 * exchange with the key it holds, refuses a revoked token, and can be told to refuse the next calls.
 */
class FakeImburse implements Transport {
  /** The keys it accepts. */
  keys: ImburseCredentials[] = [key(1)];
  /** Every exchange, oldest first: the route and the headers it carried. */
  readonly sent: { route: string; headers: Record<string, string> }[] = [];
  readonly revoked = new Set<string>();
  /** The next this many order calls answer 401 whatever their token. */
  refuseCalls = 0;
  /** Replaces the token exchange's body. */
  tokenBody: ((token: string) => unknown) | undefined;
  #issued = 0;

  readonly now: () => number;

  constructor(now: () => number = () => NOW) {
    this.now = now;
  }

  async send(request: ImburseRequest, _options: CallOptions): Promise<ImburseAnswer> {
    const headers = request.authHeaders();
    this.sent.push({ route: request.route, headers });
    if (request.route === "token") {
      const nonce = headers.authorization?.split(":")[1] ?? "";
      const timestamp = Math.floor(this.now() / 1000);
      const signed = this.keys.some(
        (k) => hmacAuthorization({ ...k, nonce, timestamp }) === headers.authorization,
      );
      if (!signed) throw refused(TOKEN_PATH);
      const token = `token-${++this.#issued}`;
      return {
        status: 200,
        body: this.tokenBody ? this.tokenBody(token) : { accessToken: token, expires: 3600 },
      };
    }
    const token = headers.authorization?.replace(/^Bearer /, "") ?? "";
    if (this.refuseCalls > 0 || this.revoked.has(token) || !token.startsWith("token-")) {
      this.refuseCalls = Math.max(0, this.refuseCalls - 1);
      throw refused(request.path, request.method);
    }
    return { status: 201, body: { token } };
  }

  routes(): string[] {
    return this.sent.map((s) => s.route);
  }
}

/** A secret store holding `stored`; `get` returns what was last read, `refresh` re-reads it. */
function secret(initial: ImburseCredentials, stored: () => ImburseCredentials = () => initial) {
  let read = initial;
  let refreshes = 0;
  const provider: Required<CredentialsProvider> = {
    get: async () => read,
    refresh: async () => {
      refreshes++;
      read = stored();
      return read;
    },
  };
  return { provider, refreshes: () => refreshes };
}

let nonces = 0;
function ladder(
  imburse: FakeImburse,
  credentials: CredentialsProvider,
  tokens = new TokenCache(),
  clock = () => NOW,
) {
  return new AuthLadder({
    baseUrl: BASE,
    credentials,
    transport: imburse,
    tokens,
    clock,
    nonce: () => `n${++nonces}`,
  });
}

const create = { route: "create-order", method: "POST", path: "/v1/order-management", body: "{}" } as const;
const caught = (promise: Promise<unknown>) =>
  promise.then(
    () => expect.unreachable("expected a failure"),
    (error: unknown) => error,
  );

afterEach(() => {
  vi.useRealTimers();
});

describe("nextRung: the ladder's every retry decision", () => {
  it.each<[Rung[], "token-exchange" | "call", Rung | undefined]>([
    [["cached-token"], "call", "new-token"],
    [["cached-token"], "token-exchange", "new-credentials"],
    [["cached-token", "new-token"], "call", "new-credentials"],
    [["cached-token", "new-token"], "token-exchange", "new-credentials"],
    [["cached-token", "new-token", "new-credentials"], "call", undefined],
    [["cached-token", "new-token", "new-credentials"], "token-exchange", undefined],
    // A rotated key: the exchange was refused first, so the call may still have its one new token.
    [["cached-token", "new-credentials"], "call", "new-token"],
    [["cached-token", "new-credentials"], "token-exchange", undefined],
  ])("after a 401 having climbed %j, from the %s: %s", (climbed, refusal, next) => {
    expect(nextRung(new Set(climbed), refusal)).toBe(next);
  });
});

describe("AuthLadder", () => {
  it("signs the token exchange with the key, the nonce and the clock, then calls with the bearer token", async () => {
    const imburse = new FakeImburse();
    const answer = await ladder(imburse, secret(key(1)).provider).send(create, {});
    expect(answer).toEqual({ status: 201, body: { token: "token-1" } });
    expect(imburse.sent).toEqual([
      {
        route: "token",
        headers: {
          authorization: hmacAuthorization({ ...key(1), nonce: `n${nonces}`, timestamp: NOW / 1000 }),
        },
      },
      {
        route: "create-order",
        headers: { authorization: "Bearer token-1", "x-account-id": "acct-1", "x-tenant-id": "tenant-1" },
      },
    ]);
  });

  it("reuses the cached token for later calls, per base URL and public key", async () => {
    const imburse = new FakeImburse();
    const tokens = new TokenCache();
    const first = ladder(imburse, secret(key(1)).provider, tokens);
    await first.send(create, {});
    await first.send(create, {});
    await ladder(imburse, secret(key(1)).provider, tokens).send(create, {});
    expect(imburse.routes()).toEqual(["token", "create-order", "create-order", "create-order"]);
    const elsewhere = new AuthLadder({
      baseUrl: "https://other.test",
      credentials: secret(key(1)).provider,
      transport: imburse,
      tokens,
      clock: () => NOW,
    });
    await elsewhere.send(create, {});
    expect(imburse.routes().filter((r) => r === "token")).toHaveLength(2);
  });

  it("on a call's 401 drops that token, fetches a new one and retries once", async () => {
    const imburse = new FakeImburse();
    const store = secret(key(1));
    const relay = ladder(imburse, store.provider);
    await relay.send(create, {});
    imburse.revoked.add("token-1");
    expect(await relay.send(create, {})).toEqual({ status: 201, body: { token: "token-2" } });
    expect(imburse.routes()).toEqual(["token", "create-order", "create-order", "token", "create-order"]);
    expect(store.refreshes()).toBe(0);
    // The new token is cached for the next call.
    await relay.send(create, {});
    expect(imburse.routes().filter((r) => r === "token")).toHaveLength(2);
  });

  it("when the key was rotated, re-reads the secret once and retries with the new key", async () => {
    const imburse = new FakeImburse();
    const store = secret(key(1), () => key(2));
    const relay = ladder(imburse, store.provider);
    await relay.send(create, {});
    // Imburse revokes the old key and its tokens.
    imburse.keys = [key(2)];
    imburse.revoked.add("token-1");
    expect(await relay.send(create, {})).toEqual({ status: 201, body: { token: "token-2" } });
    expect(store.refreshes()).toBe(1);
    // cached token refused, a new token with the old key refused, a new token with the new key used
    expect(imburse.routes()).toEqual([
      "token",
      "create-order",
      "create-order",
      "token",
      "token",
      "create-order",
    ]);
    expect(imburse.sent[4]?.headers.authorization).toMatch(/^Hmac pub-2:/);
  });

  it("on a second refused call re-reads the secret once, dropping the refused token of an unchanged public key", async () => {
    const imburse = new FakeImburse();
    const rotated = { ...key(1), privateKey: key(2).privateKey };
    const store = secret(key(1), () => rotated);
    imburse.keys = [key(1), rotated];
    imburse.refuseCalls = 2;
    expect(await ladder(imburse, store.provider).send(create, {})).toEqual({
      status: 201,
      body: { token: "token-3" },
    });
    expect(store.refreshes()).toBe(1);
    expect(imburse.routes()).toEqual([
      "token",
      "create-order",
      "token",
      "create-order",
      "token",
      "create-order",
    ]);
  });

  it("when the token exchange answers 401, re-reads the secret once and retries with the new key", async () => {
    const imburse = new FakeImburse();
    imburse.keys = [key(2)];
    const store = secret(key(1), () => key(2));
    expect(await ladder(imburse, store.provider).send(create, {})).toMatchObject({ status: 201 });
    expect(store.refreshes()).toBe(1);
    expect(imburse.routes()).toEqual(["token", "token", "create-order"]);
    expect(imburse.sent[1]?.headers.authorization).toMatch(/^Hmac pub-2:/);
  });

  it("after a rotated key's token is refused once, the call still gets its one new token", async () => {
    const imburse = new FakeImburse();
    imburse.keys = [key(2)];
    imburse.refuseCalls = 1;
    const store = secret(key(1), () => key(2));
    expect(await ladder(imburse, store.provider).send(create, {})).toEqual({
      status: 201,
      body: { token: "token-2" },
    });
    expect(store.refreshes()).toBe(1);
    // old key refused, new key's token refused by the call, one more token, accepted
    expect(imburse.routes()).toEqual(["token", "token", "create-order", "token", "create-order"]);
  });

  it("gives up once every rung was climbed: three calls at most, the secret read again once", async () => {
    const imburse = new FakeImburse();
    const store = secret(key(1), () => key(2));
    imburse.keys = [key(1), key(2)];
    imburse.refuseCalls = 10;
    const error = await caught(ladder(imburse, store.provider).send(create, {}));
    expect(error).toMatchObject({ status: 401, path: create.path });
    expect(store.refreshes()).toBe(1);
    expect(imburse.routes().filter((route) => route === "create-order")).toHaveLength(3);
  });

  it("does not send an order again on a 401 whose dead-socket first try may have reached Imburse", async () => {
    const imburse = new FakeImburse();
    const send = imburse.send.bind(imburse);
    imburse.send = async (request, options) => {
      if (request.route !== "create-order") return send(request, options);
      imburse.sent.push({ route: request.route, headers: request.authHeaders() });
      throw new ImburseApiError({
        status: 401,
        method: "POST",
        path: create.path,
        errors: [],
        earlierTryMayHaveReached: true,
      });
    };
    const store = secret(key(1), () => key(2));
    const error = await caught(ladder(imburse, store.provider).send(create, {}));
    expect(error).toMatchObject({ status: 401, earlierTryMayHaveReached: true });
    expect(imburse.routes()).toEqual(["token", "create-order"]);
    expect(store.refreshes()).toBe(0);
  });

  it("re-reads the secret only once: a key refused again ends the call with that 401", async () => {
    const imburse = new FakeImburse();
    imburse.keys = [key(3)];
    const store = secret(key(1), () => key(2));
    const error = await caught(ladder(imburse, store.provider).send(create, {}));
    expect(error).toBeInstanceOf(ImburseApiError);
    expect(error).toMatchObject({ status: 401, path: TOKEN_PATH });
    expect(store.refreshes()).toBe(1);
    expect(imburse.routes()).toEqual(["token", "token"]);
  });

  it("gives up after three refused calls: cached token, new token, new credentials", async () => {
    const imburse = new FakeImburse();
    const store = secret(key(1), () => key(2));
    imburse.keys = [key(1), key(2)];
    imburse.refuseCalls = 3;
    const error = await caught(ladder(imburse, store.provider).send(create, {}));
    expect(error).toMatchObject({ status: 401, path: "/v1/order-management" });
    expect(store.refreshes()).toBe(1);
    expect(imburse.routes()).toEqual([
      "token",
      "create-order",
      "token",
      "create-order",
      "token",
      "create-order",
    ]);
  });

  it("takes a new public key with the same private key as new credentials", async () => {
    const imburse = new FakeImburse();
    const renamed = { ...key(1), publicKey: "pub-9" };
    imburse.keys = [renamed];
    const store = secret(key(1), () => renamed);
    expect(await ladder(imburse, store.provider).send(create, {})).toMatchObject({ status: 201 });
    expect(imburse.sent[1]?.headers.authorization).toMatch(/^Hmac pub-9:/);
  });

  it("never offers a refused token again, even after giving up", async () => {
    const imburse = new FakeImburse();
    const relay = ladder(imburse, { get: async () => key(1) });
    imburse.refuseCalls = 2;
    await caught(relay.send(create, {}));
    expect(await relay.send(create, {})).toEqual({ status: 201, body: { token: "token-3" } });
  });

  it("gives up with the 401 when the re-read secret holds the same key", async () => {
    const imburse = new FakeImburse();
    const store = secret(key(1));
    imburse.refuseCalls = 2;
    const error = await caught(ladder(imburse, store.provider).send(create, {}));
    expect(error).toMatchObject({ status: 401, path: "/v1/order-management" });
    expect(store.refreshes()).toBe(1);
    expect(imburse.routes()).toEqual(["token", "create-order", "token", "create-order"]);
  });

  it("gives up with the 401 when the credentials cannot be refreshed", async () => {
    const imburse = new FakeImburse();
    imburse.keys = [key(2)];
    const error = await caught(ladder(imburse, { get: async () => key(1) }).send(create, {}));
    expect(error).toMatchObject({ status: 401, path: TOKEN_PATH });
    expect(imburse.routes()).toEqual(["token"]);
  });

  it("does not retry anything but a 401", async () => {
    const imburse = new FakeImburse();
    const store = secret(key(1), () => key(2));
    const throttled = new ImburseApiError({
      status: 429,
      method: "POST",
      path: "/v1/order-management",
      errors: [],
    });
    const network = new ImburseNetworkError({
      code: "ECONNRESET",
      method: "POST",
      path: "/v1/order-management",
      timedOut: false,
      mayHaveReachedServer: true,
    });
    for (const failure of [
      throttled,
      network,
      new ImburseApiError({ status: 403, method: "POST", path: "/", errors: [] }),
    ]) {
      const relay = ladder(imburse, store.provider);
      const before = imburse.sent.length;
      imburse.send = async (request) => {
        imburse.sent.push({ route: request.route, headers: request.authHeaders() });
        if (request.route === "token") return { status: 200, body: { accessToken: "t" } };
        throw failure;
      };
      expect(await caught(relay.send(create, {}))).toBe(failure);
      expect(imburse.sent.length - before).toBe(2);
    }
    expect(store.refreshes()).toBe(0);
  });
});

describe("the token exchange's answer", () => {
  it.each([
    ["no body", undefined],
    ["a text body", "ok"],
    ["no accessToken", { token: "t" }],
    ["an empty accessToken", { accessToken: "" }],
    ["an accessToken that is not a string", { accessToken: 42 }],
  ])("with %s is an API error naming it, not retried", async (_label, body) => {
    const imburse = new FakeImburse();
    imburse.tokenBody = () => body;
    const store = secret(key(1), () => key(2));
    const error = await caught(ladder(imburse, store.provider).send(create, {}));
    expect(error).toBeInstanceOf(ImburseApiError);
    expect(error).toMatchObject({
      status: 200,
      method: "POST",
      path: TOKEN_PATH,
      errorCodes: ["TOKEN_RESPONSE_WITHOUT_ACCESS_TOKEN"],
    });
    expect(imburse.routes()).toEqual(["token"]);
    expect(store.refreshes()).toBe(0);
  });

  it("sets the token's lifetime from expires, else the JWT, else a fallback", async () => {
    let now = NOW;
    const clock = () => now;
    const imburse = new FakeImburse(clock);
    const lifetimes: [unknown, number][] = [
      [{ accessToken: "a", expires: 600 }, 600_000],
      [
        {
          accessToken: `h.${Buffer.from(JSON.stringify({ exp: NOW / 1000 + 900 })).toString("base64url")}.s`,
        },
        900_000,
      ],
      [{ accessToken: "c" }, FALLBACK_TOKEN_LIFETIME_MS],
    ];
    for (const [body, lifetime] of lifetimes) {
      now = NOW;
      imburse.tokenBody = () => body;
      const tokens = new TokenCache(0);
      const relay = ladder(imburse, secret(key(1)).provider, tokens, clock);
      const token = await relay.accessToken({});
      now = NOW + lifetime - 1;
      expect(await relay.accessToken({})).toBe(token);
      imburse.tokenBody = () => ({ accessToken: "renewed" });
      now = NOW + lifetime;
      expect(await relay.accessToken({})).toBe("renewed");
    }
  });

  it("accessToken gives the cached token and climbs no ladder", async () => {
    const imburse = new FakeImburse();
    const store = secret(key(1), () => key(1));
    const relay = ladder(imburse, store.provider);
    expect(await relay.accessToken({})).toBe("token-1");
    expect(await relay.accessToken({})).toBe("token-1");
    imburse.keys = [key(2)];
    const stale = ladder(imburse, store.provider);
    await expect(stale.accessToken({})).rejects.toMatchObject({ status: 401 });
    expect(store.refreshes()).toBe(0);
  });
});

describe("AuthLadder and the call's deadline", () => {
  it("ends the call as out of time when the secret store is slower than the deadline", async () => {
    vi.useFakeTimers({ now: NOW });
    const imburse = new FakeImburse(Date.now);
    imburse.refuseCalls = 2;
    const store = {
      get: async () => key(1),
      refresh: () => new Promise<ImburseCredentials>(() => undefined),
    };
    const outcome = ladder(imburse, store, new TokenCache(), Date.now)
      .send(create, { deadline: NOW + 1_500 })
      .catch((error: unknown) => error);
    let settled = false;
    void outcome.then(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(1_499);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const error = await outcome;
    expect(error).toBeInstanceOf(ImburseNetworkError);
    expect(error).toMatchObject({
      code: OUT_OF_TIME,
      method: "POST",
      path: "/v1/order-management",
      timedOut: true,
      mayHaveReachedServer: false,
    });
    expect(imburse.routes()).toEqual(["token", "create-order", "token", "create-order"]);
  });

  it("uses a secret store that answers within the deadline, and clears its timer", async () => {
    vi.useFakeTimers({ now: NOW });
    const imburse = new FakeImburse(Date.now);
    imburse.keys = [key(2)];
    const store = {
      get: async () => key(1),
      refresh: () => new Promise<ImburseCredentials>((resolve) => setTimeout(() => resolve(key(2)), 1_000)),
    };
    const outcome = ladder(imburse, store, new TokenCache(), Date.now).send(create, {
      deadline: NOW + 1_500,
    });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await outcome).toMatchObject({ status: 201 });
    expect(vi.getTimerCount()).toBe(0);
  });

  it("without a deadline, waits for the secret store however long it takes", async () => {
    vi.useFakeTimers({ now: NOW });
    const imburse = new FakeImburse(Date.now);
    imburse.keys = [key(2)];
    const store = {
      get: async () => key(1),
      refresh: () => new Promise<ImburseCredentials>((resolve) => setTimeout(() => resolve(key(2)), 600_000)),
    };
    const outcome = ladder(imburse, store, new TokenCache(), Date.now).send(create, {});
    await vi.advanceTimersByTimeAsync(600_000);
    expect(await outcome).toMatchObject({ status: 201 });
  });

  it("with the deadline already past when the refresh starts, ends the call as out of time", async () => {
    vi.useFakeTimers({ now: NOW });
    const imburse = new FakeImburse(Date.now);
    imburse.keys = [key(2)];
    const store = {
      get: async () => key(1),
      refresh: () => new Promise<ImburseCredentials>(() => undefined),
    };
    const outcome = ladder(imburse, store, new TokenCache(), Date.now)
      .send(create, { deadline: NOW - 10 })
      .catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(0);
    expect(await outcome).toMatchObject({ code: OUT_OF_TIME });
  });
});
