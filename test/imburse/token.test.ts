import { describe, expect, it } from "vitest";
import { jwtExpiry, normaliseExpiry, TokenCache } from "../../lib/imburse/token.ts";

const jwt = (claims: object) => `h.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.s`;
const now = 1_700_000_000_000;

describe("normaliseExpiry", () => {
  it.each([
    ["epoch milliseconds as a string (2019 docs)", "1700000600000", now + 600_000],
    ["epoch milliseconds as a number", 1_700_000_600_000, now + 600_000],
    ["epoch seconds as a number (v2)", 1_700_000_600, now + 600_000],
    ["epoch seconds as a string", "1700000600", now + 600_000],
    ["a lifetime in seconds", 3600, now + 3_600_000],
  ])("reads %s", (_label, expires, expected) => {
    expect(normaliseExpiry(expires, "not-a-jwt", now)).toBe(expected);
  });

  it("falls back to the JWT exp claim when expires is absent or unreadable", () => {
    expect(normaliseExpiry(undefined, jwt({ exp: 1_700_000_900 }), now)).toBe(now + 900_000);
    expect(normaliseExpiry("soon", jwt({ exp: 1_700_000_900 }), now)).toBe(now + 900_000);
    expect(normaliseExpiry(undefined, "garbage", now)).toBeUndefined();
    expect(jwtExpiry(jwt({ exp: "x" }))).toBeUndefined();
  });
});

describe("TokenCache", () => {
  const token = (accessToken: string, obtainedAt: number, lifetimeMs: number) => ({
    accessToken,
    obtainedAt,
    expiresAt: obtainedAt + lifetimeMs,
  });

  it("fetches once for all concurrent callers", async () => {
    const cache = new TokenCache();
    let fetches = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const fetchToken = async () => {
      fetches++;
      await gate;
      return token("t1", now, 3_600_000);
    };
    const callers = Array.from({ length: 20 }, () => cache.get("k", now, fetchToken));
    release();
    expect(await Promise.all(callers)).toEqual(Array(20).fill("t1"));
    expect(fetches).toBe(1);
    expect(await cache.get("k", now + 1000, fetchToken)).toBe("t1");
    expect(fetches).toBe(1);
  });

  it("refreshes 60 s before expiry, or at half-life for short-lived tokens", async () => {
    const cache = new TokenCache(60_000);
    let n = 0;
    const long = async () => token(`long-${++n}`, now, 3_600_000);
    expect(await cache.get("a", now, long)).toBe("long-1");
    expect(await cache.get("a", now + 3_540_000 - 1, long)).toBe("long-1");
    expect(await cache.get("a", now + 3_540_000, long)).toBe("long-2");

    const short = async () => token(`short-${++n}`, now, 20_000);
    expect(await cache.get("b", now, short)).toBe("short-3");
    expect(await cache.get("b", now + 9_999, short)).toBe("short-3");
    expect(await cache.get("b", now + 10_000, short)).toBe("short-4");
  });

  it("invalidates only the token that failed, and keeps no failed fetch", async () => {
    const cache = new TokenCache();
    await expect(cache.get("k", now, async () => Promise.reject(new Error("down")))).rejects.toThrow("down");
    expect(await cache.get("k", now, async () => token("t2", now, 3_600_000))).toBe("t2");
    cache.invalidate("k", "older-token");
    expect(await cache.get("k", now, async () => token("t3", now, 3_600_000))).toBe("t2");
    cache.invalidate("k", "t2");
    expect(await cache.get("k", now, async () => token("t3", now, 3_600_000))).toBe("t3");
  });
});

describe("TokenCache when a refresh fails", () => {
  it("keeps serving a token that has not expired yet, and fails once it has", async () => {
    const cache = new TokenCache(60_000);
    await cache.get("k", now, async () => ({ accessToken: "t1", obtainedAt: now, expiresAt: now + 120_000 }));
    const down = async () => Promise.reject(new Error("identity endpoint down"));
    expect(await cache.get("k", now + 90_000, down)).toBe("t1");
    await expect(cache.get("k", now + 120_000, down)).rejects.toThrow("identity endpoint down");
  });
});

describe("normaliseExpiry at its edges", () => {
  it.each([
    ["a lifetime as a string with spaces", " 600 ", now + 600_000],
    ["a fractional lifetime as a string", "1.5", now + 1_500],
    ["a lifetime with two decimals as a string", "1.25", now + 1_250],
    ["exactly 1e12: epoch seconds far ahead", 1e12, 1e15],
    ["just above 1e12: epoch milliseconds", 1e12 + 1, 1e12 + 1],
    ["exactly 1e9: a lifetime in seconds", 1e9, now + 1e12],
    ["just above 1e9: epoch seconds", 1e9 + 1, (1e9 + 1) * 1000],
  ])("reads %s", (_label, expires, expected) => {
    expect(normaliseExpiry(expires, "not-a-jwt", now)).toBe(expected);
  });

  it.each([
    ["zero", 0],
    ["a negative number", -5],
    ["a negative string", "-5"],
    ["infinity", Number.POSITIVE_INFINITY],
    ["a number followed by text", "600s"],
    ["text followed by a number", "in 600"],
    ["an exponent, which Number() alone would read", "1e3"],
    ["hexadecimal, which Number() alone would read", "0x10"],
    ["an empty string", ""],
    ["a boolean", true],
  ])("falls back to the JWT for %s", (_label, expires) => {
    expect(normaliseExpiry(expires, jwt({ exp: 1_700_000_900 }), now)).toBe(now + 900_000);
  });
});

describe("jwtExpiry", () => {
  const raw = (payload: string) => `h.${Buffer.from(payload).toString("base64url")}.s`;
  it.each([
    ["no payload part", "header-only"],
    ["an empty payload part", "h..s"],
    ["a payload that is not JSON", raw("not json")],
    ["an exp out of range", raw('{"exp":1e400}')],
    ["no exp", jwt({ sub: "x" })],
    ["a payload that is JSON null", raw("null")],
  ])("is undefined for %s", (_label, token) => {
    expect(jwtExpiry(token)).toBeUndefined();
  });

  it("reads exp from the second part", () => {
    expect(jwtExpiry(jwt({ exp: 1_700_000_900 }))).toBe(1_700_000_900);
  });
});

describe("TokenCache defaults", () => {
  it("invalidates nothing for a key it holds no token for", () => {
    expect(() => new TokenCache().invalidate("absent", "t")).not.toThrow();
  });

  it("refreshes 60 s before expiry by default", async () => {
    const cache = new TokenCache();
    const fetched = (accessToken: string) => async () => ({
      accessToken,
      obtainedAt: now,
      expiresAt: now + 600_000,
    });
    await cache.get("k", now, fetched("t1"));
    expect(await cache.get("k", now + 540_000 - 1, fetched("t2"))).toBe("t1");
    expect(await cache.get("k", now + 540_000, fetched("t2"))).toBe("t2");
  });
});
