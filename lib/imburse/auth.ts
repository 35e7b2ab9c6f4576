import type { CredentialsProvider, ImburseCredentials } from "./credentials.ts";
import { ImburseApiError } from "./errors.ts";
import { hmacAuthorization, randomNonce } from "./signing.ts";
import { FALLBACK_TOKEN_LIFETIME_MS, normaliseExpiry, type TokenCache } from "./token.ts";
import {
  type CallOptions,
  type ImburseAnswer,
  type ImburseRequest,
  outOfTime,
  type Transport,
} from "./transport.ts";
import { TOKEN_PATH } from "./urls.ts";

/**
 * The rungs of the auth ladder, climbed on a 401, each tried once: the cached token, then a new token, then
 * new credentials (the key may have been rotated since the secret was read).
 */
export type Rung = "cached-token" | "new-token" | "new-credentials";

/** Which exchange Imburse answered 401: the HMAC token exchange (the key itself) or the call (its token). */
export type Refusal = "token-exchange" | "call";

/**
 * The rung to climb to after a 401, given the rungs already climbed, or undefined to give up: the ladder's
 * every retry decision. Each rung is climbed at most once, in the order the refusals ask for: a refused call
 * first tries a new token, then new credentials; a refused token exchange goes straight to new credentials,
 * since another token from the same key would fail alike. After new credentials, a refused call still gets
 * one new token if it has not had one (a rotated key's first token may not be honoured everywhere yet).
 */
export function nextRung(climbed: ReadonlySet<Rung>, refusal: Refusal): Rung | undefined {
  if (refusal === "call" && !climbed.has("new-token")) return "new-token";
  if (!climbed.has("new-credentials")) return "new-credentials";
  return undefined;
}

/** A request the ladder authenticates: the transport's request without its auth headers. */
export type UnauthenticatedRequest = Omit<ImburseRequest, "authHeaders">;

/** Options of {@link AuthLadder}. */
export interface AuthLadderOptions {
  /** The base URL the tokens are for: part of the token cache key. */
  baseUrl: string;
  credentials: CredentialsProvider;
  transport: Transport;
  tokens: TokenCache;
  /** Epoch milliseconds. */
  clock?: () => number;
  /** Nonce source for the HMAC exchange. */
  nonce?: () => string;
}

/** Authenticates requests to Imburse with a bearer token, climbing the {@link Rung}s on a 401. */
export class AuthLadder {
  readonly #baseUrl: string;
  readonly #credentials: CredentialsProvider;
  readonly #transport: Transport;
  readonly #tokens: TokenCache;
  readonly #clock: () => number;
  readonly #nonce: () => string;

  constructor(options: AuthLadderOptions) {
    this.#baseUrl = options.baseUrl;
    this.#credentials = options.credentials;
    this.#transport = options.transport;
    this.#tokens = options.tokens;
    this.#clock = options.clock ?? Date.now;
    this.#nonce = options.nonce ?? randomNonce;
  }

  /** Sends `request` with a bearer token and the account headers; on a 401, climbs the ladder. */
  async send(request: UnauthenticatedRequest, options: CallOptions): Promise<ImburseAnswer> {
    return this.#climb(request, options, await this.#credentials.get(), new Set(["cached-token"]));
  }

  /**
   * Tries `request` on the current rung (the last of `climbed`); on a 401, on the rung {@link nextRung}
   * names (at most three rungs in all).
   */
  async #climb(
    request: UnauthenticatedRequest,
    options: CallOptions,
    credentials: ImburseCredentials,
    climbed: ReadonlySet<Rung>,
  ): Promise<ImburseAnswer> {
    let token: string | undefined;
    try {
      token = await this.#token(credentials, options);
      return await this.#transport.send(
        { ...request, authHeaders: bearerHeaders(token, credentials) },
        options,
      );
    } catch (error) {
      if (!(error instanceof ImburseApiError && error.status === 401)) throw error;
      // A first try on a dead socket may have reached Imburse: the relay reads before it writes again.
      if (error.earlierTryMayHaveReached && request.method !== "GET") throw error;
      // A refused token is never offered again, whatever comes next.
      if (token !== undefined) this.#tokens.invalidate(this.#tokenKey(credentials), token);
      const next = nextRung(climbed, token === undefined ? "token-exchange" : "call");
      if (next === undefined) throw error;
      const fresh =
        next === "new-credentials"
          ? await this.#freshCredentials(credentials, options, request.method, request.path)
          : credentials;
      if (fresh === undefined) throw error;
      return this.#climb(request, options, fresh, new Set([...climbed, next]));
    }
  }

  /** A bearer token (cached; exchanged with HMAC when needed), with no retry. Used by the health probe. */
  async accessToken(options: CallOptions): Promise<string> {
    return this.#token(await this.#credentials.get(), options);
  }

  /**
   * New credentials if a refresh yields a different key; undefined when there is nothing new to try. Bounded
   * by the call's deadline like every exchange: a slow secret store ends the call as out of time.
   */
  async #freshCredentials(
    current: ImburseCredentials,
    options: CallOptions,
    method: string,
    path: string,
  ): Promise<ImburseCredentials | undefined> {
    if (!this.#credentials.refresh) return undefined;
    const refresh = this.#credentials.refresh();
    const fresh =
      options.deadline === undefined
        ? await refresh
        : await raceDeadline(refresh, options.deadline - this.#clock(), () => outOfTime(method, path));
    const changed = fresh.publicKey !== current.publicKey || fresh.privateKey !== current.privateKey;
    return changed ? fresh : undefined;
  }

  #tokenKey(credentials: ImburseCredentials): string {
    return `${this.#baseUrl}|${credentials.publicKey}`;
  }

  async #token(credentials: ImburseCredentials, options: CallOptions): Promise<string> {
    return this.#tokens.get(this.#tokenKey(credentials), this.#clock(), async () => {
      const obtainedAt = this.#clock();
      const answer = await this.#transport.send(
        {
          route: "token",
          method: "POST",
          path: TOKEN_PATH,
          authHeaders: () => ({
            authorization: hmacAuthorization({
              publicKey: credentials.publicKey,
              privateKey: credentials.privateKey,
              nonce: this.#nonce(),
              timestamp: Math.floor(this.#clock() / 1000),
            }),
          }),
        },
        options,
      );
      const payload = answer.body as { accessToken?: unknown; expires?: unknown } | undefined;
      if (typeof payload?.accessToken !== "string" || payload.accessToken === "") {
        throw new ImburseApiError({
          status: answer.status,
          method: "POST",
          path: TOKEN_PATH,
          errors: [{ errorCode: "TOKEN_RESPONSE_WITHOUT_ACCESS_TOKEN" }],
        });
      }
      const expiresAt =
        normaliseExpiry(payload.expires, payload.accessToken, obtainedAt) ??
        obtainedAt + FALLBACK_TOKEN_LIFETIME_MS;
      return { accessToken: payload.accessToken, expiresAt, obtainedAt };
    });
  }
}

function bearerHeaders(token: string, credentials: ImburseCredentials): () => Record<string, string> {
  return () => ({
    authorization: `Bearer ${token}`,
    "x-account-id": credentials.accountId,
    "x-tenant-id": credentials.tenantId,
  });
}

/** `promise`, or the error `late()` makes once `ms` have passed. */
async function raceDeadline<T>(promise: Promise<T>, ms: number, late: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(late()), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
