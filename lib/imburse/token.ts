/** A bearer token and when it stops being valid. */
export interface CachedToken {
  accessToken: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  /** Epoch milliseconds. */
  obtainedAt: number;
}

/** Used when neither `expires` nor the JWT `exp` says how long a token lives. */
export const FALLBACK_TOKEN_LIFETIME_MS = 5 * 60_000;

/**
 * Works out when a token expires, in epoch milliseconds. Imburse has sent `expires` as a string of
 * epoch milliseconds (2019 docs) and as a number (v2); values above 1e12 are milliseconds, above 1e9
 * seconds, and smaller positive values a lifetime in seconds. Falls back to the JWT `exp` claim.
 */
export function normaliseExpiry(expires: unknown, accessToken: string, nowMs: number): number | undefined {
  const numeric =
    typeof expires === "number"
      ? expires
      : typeof expires === "string" && /^\d+(\.\d+)?$/.test(expires.trim())
        ? Number(expires)
        : Number.NaN;
  if (Number.isFinite(numeric) && numeric > 0) {
    if (numeric > 1e12) return numeric;
    if (numeric > 1e9) return numeric * 1000;
    return nowMs + numeric * 1000;
  }
  const exp = jwtExpiry(accessToken);
  return exp === undefined ? undefined : exp * 1000;
}

/** The `exp` claim (epoch seconds) of a JWT, without verifying it. */
export function jwtExpiry(token: string): number | undefined {
  try {
    // No payload part throws here too: Buffer.from(undefined) does.
    const payload = token.split(".")[1] as string;
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as { exp?: unknown };
    return Number.isFinite(claims.exp) ? (claims.exp as number) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Bearer tokens per key, refreshed early, with one fetch in flight per key however many callers
 * ask at once. One instance lives in module scope so a warm Lambda container reuses its token.
 */
export class TokenCache {
  readonly #tokens = new Map<string, CachedToken>();
  readonly #inFlight = new Map<string, Promise<CachedToken>>();
  readonly #refreshEarlyMs: number;

  /** @param refreshEarlyMs refresh this long before expiry (at most half the token's lifetime). */
  constructor(refreshEarlyMs = 60_000) {
    this.#refreshEarlyMs = refreshEarlyMs;
  }

  /** A valid token for `key`, fetching one (once, for all concurrent callers) when needed. */
  async get(key: string, nowMs: number, fetchToken: () => Promise<CachedToken>): Promise<string> {
    const cached = this.#tokens.get(key);
    if (cached && nowMs < this.#refreshAt(cached)) return cached.accessToken;
    let pending = this.#inFlight.get(key);
    if (!pending) {
      pending = fetchToken()
        .then((token) => {
          this.#tokens.set(key, token);
          return token;
        })
        .finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, pending);
    }
    try {
      return (await pending).accessToken;
    } catch (error) {
      // An early refresh that fails must not discard a token that still works.
      if (cached && nowMs < cached.expiresAt) return cached.accessToken;
      throw error;
    }
  }

  /** Forgets `accessToken` for `key` (after a 401), unless a newer token has replaced it already. */
  invalidate(key: string, accessToken: string): void {
    if (this.#tokens.get(key)?.accessToken === accessToken) this.#tokens.delete(key);
  }

  #refreshAt(token: CachedToken): number {
    const margin = Math.min(this.#refreshEarlyMs, (token.expiresAt - token.obtainedAt) / 2);
    return token.expiresAt - margin;
  }
}

/** The module-scope cache shared by every client in this process (a warm Lambda container). */
export const sharedTokenCache = new TokenCache();
