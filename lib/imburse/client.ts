import http from "node:http";
import https from "node:https";
import { isIP } from "node:net";
import axios, { type AxiosInstance, type AxiosResponse } from "axios";
import type { CredentialsProvider, ImburseCredentials } from "./credentials.ts";
import {
  ImburseApiError,
  ImburseConfigError,
  ImburseNetworkError,
  parseErrorBody,
  parseRetryAfter,
} from "./errors.ts";
import { TOKEN_PATH } from "./failure.ts";
import { hmacAuthorization, randomNonce } from "./signing.ts";
import { FALLBACK_TOKEN_LIFETIME_MS, normaliseExpiry, sharedTokenCache, type TokenCache } from "./token.ts";
import { SANDBOX_BASE_URL } from "./urls.ts";

/** The calls the relay makes, used to label telemetry. */
export type ImburseRoute = "token" | "create-order" | "get-order";

/** What the client reports after every HTTP exchange (a response or a network failure). */
export interface ImburseCallEvent {
  route: ImburseRoute;
  method: string;
  path: string;
  /** Undefined when no response came. */
  status: number | undefined;
  durationMs: number;
  /** Imburse's correlation id, when an error body carried one. */
  imburseCorrelationId: string | undefined;
}

/** Options of {@link ImburseClient}. */
export interface ImburseClientOptions {
  credentials: CredentialsProvider;
  /** Sandbox by default. Must be https unless the host is loopback (the simulator). */
  baseUrl?: string;
  /** Per-request timeout; default 10 s. Keep it below the Lambda's remaining time. */
  timeoutMs?: number;
  /** Epoch milliseconds; injectable for tests. */
  clock?: () => number;
  /** Nonce source for the HMAC exchange; injectable for tests. */
  nonce?: () => string;
  /** Token cache; the module-scope one by default, so warm containers reuse the token. */
  tokenCache?: TokenCache;
  /** Called after every exchange with Imburse: latency and status telemetry. Must not throw. */
  onCall?: (event: ImburseCallEvent) => void;
}

/** Per-call options. */
export interface CallOptions {
  /** Sent as `X-Correlation-ID`. */
  correlationId?: string;
  /** Overrides the client timeout for this call (for example, to fit the Lambda's remaining time). */
  timeoutMs?: number;
  /**
   * When the call, with every exchange the client makes for it (a token refresh, a 401 cascade, a dead-socket
   * retry), must be over (epoch milliseconds). An exchange that would start with no time left is not sent.
   */
  deadline?: number;
}

/** A successful create-order answer. */
export interface CreateOrderResult {
  status: number;
  /** Imburse answers with an empty body or JSON; undefined when empty. */
  body: unknown;
}

const LOOPBACK_HOSTS = new Set(["localhost", "[::1]", "::1"]);
/** The code of the network error for a call whose deadline passed before an exchange could start. */
export const OUT_OF_TIME = "RELAY_OUT_OF_TIME";
/** Failures that happen before any byte of the request leaves this machine. */
const NOT_SENT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "ERR_INVALID_URL",
]);
/** A pooled keep-alive socket that died while the container was frozen fails with one of these. */
const DEAD_SOCKET_CODES = new Set(["ECONNRESET", "EPIPE"]);

/** Checks the base URL: https, or http only to a loopback host. Returns it without a trailing slash. */
export function validateBaseUrl(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new ImburseConfigError(`Imburse base URL is not a URL: ${JSON.stringify(baseUrl)}`);
  }
  // 127.0.0.0/8 as an address only: a host name such as "127.example.com" is not loopback.
  const loopback =
    LOOPBACK_HOSTS.has(url.hostname) || (isIP(url.hostname) === 4 && url.hostname.startsWith("127."));
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    throw new ImburseConfigError(
      `Imburse base URL must use https (plain http is allowed only for a loopback simulator): ${url.origin}`,
    );
  }
  return url.toString().replace(/\/+$/, "");
}

/**
 * The Imburse API client. Every retry decision it makes lives in {@link ImburseClient.send}: a 401 gets
 * one token refresh and then one credentials refresh; a keep-alive socket found dead before any response
 * gets one immediate retry. Everything else (429, 5xx, timeouts) is the caller's to schedule.
 */
export class ImburseClient {
  readonly baseUrl: string;
  readonly #credentials: CredentialsProvider;
  readonly #timeoutMs: number;
  readonly #clock: () => number;
  readonly #nonce: () => string;
  readonly #tokens: TokenCache;
  readonly #onCall: ((event: ImburseCallEvent) => void) | undefined;
  readonly #http: AxiosInstance;

  constructor(options: ImburseClientOptions) {
    this.baseUrl = validateBaseUrl(options.baseUrl ?? SANDBOX_BASE_URL);
    this.#credentials = options.credentials;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#clock = options.clock ?? Date.now;
    this.#nonce = options.nonce ?? randomNonce;
    this.#tokens = options.tokenCache ?? sharedTokenCache;
    this.#onCall = options.onCall;
    this.#http = axios.create({
      baseURL: this.baseUrl,
      httpAgent: keepAliveHttpAgent,
      httpsAgent: keepAliveHttpsAgent,
      maxRedirects: 0,
      responseType: "text",
      transformResponse: [(data: unknown) => data],
      validateStatus: () => true,
      transitional: { clarifyTimeoutError: true },
    });
  }

  /** `POST /v1/order-management`. Resolves on 201 or 202; throws {@link ImburseApiError} otherwise. */
  async createOrder(order: unknown, options: CallOptions = {}): Promise<CreateOrderResult> {
    const response = await this.#send(
      "create-order",
      "POST",
      "/v1/order-management",
      options,
      JSON.stringify(order),
    );
    return { status: response.status, body: parseJson(response.data) };
  }

  /** `GET /v1/order-management/{orderRef}`: the order as Imburse holds it. */
  async getOrder(orderRef: string, options: CallOptions = {}): Promise<unknown> {
    const path = `/v1/order-management/${encodeURIComponent(orderRef)}`;
    // A ref such as ".." would be normalised away on the wire: never send a request for another resource.
    if (new URL(path, this.baseUrl).pathname !== path) {
      throw new ImburseConfigError(
        `orderRef ${JSON.stringify(orderRef)} cannot be read: its path would be rewritten`,
      );
    }
    const response = await this.#send("get-order", "GET", path, options);
    return parseJson(response.data);
  }

  /** A bearer token (cached; exchanged with HMAC when needed). Used by the health probe. */
  async accessToken(options: CallOptions = {}): Promise<string> {
    return this.#token(await this.#credentials.get(), options);
  }

  /** Sends an authenticated request; the one place where the client decides to try again. */
  async #send(
    route: ImburseRoute,
    method: "GET" | "POST",
    path: string,
    options: CallOptions,
    body?: string,
  ): Promise<AxiosResponse<string>> {
    let credentials = await this.#credentials.get();
    let tokenRefreshed = false;
    let credentialsRefreshed = false;
    for (;;) {
      let token: string;
      try {
        token = await this.#token(credentials, options);
      } catch (error) {
        // The key itself was refused: it may have been rotated since we read the secret.
        if (isUnauthorized(error) && !credentialsRefreshed) {
          credentialsRefreshed = true;
          const fresh = await this.#refreshCredentials(credentials, options, method, path);
          if (fresh) {
            credentials = fresh;
            continue;
          }
        }
        throw error;
      }
      const current = credentials;
      const headers = (): Record<string, string> => ({
        authorization: `Bearer ${token}`,
        "x-account-id": current.accountId,
        "x-tenant-id": current.tenantId,
        accept: "application/json",
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...(options.correlationId ? { "x-correlation-id": options.correlationId } : {}),
      });
      const response = await this.#exchange(route, method, path, headers, options, body);
      if (response.status >= 200 && response.status < 300) return response;
      if (response.status === 401) {
        if (!tokenRefreshed) {
          tokenRefreshed = true;
          this.#tokens.invalidate(this.#tokenKey(credentials), token);
          continue;
        }
        if (!credentialsRefreshed) {
          credentialsRefreshed = true;
          const fresh = await this.#refreshCredentials(credentials, options, method, path);
          if (fresh) {
            this.#tokens.invalidate(this.#tokenKey(credentials), token);
            credentials = fresh;
            continue;
          }
        }
      }
      throw this.#apiError(response, method, path);
    }
  }

  /**
   * New credentials if a refresh yields a different key; undefined when there is nothing new to try. Bounded
   * by the call's deadline like every exchange: a slow secret store ends the call as out of time.
   */
  async #refreshCredentials(
    current: ImburseCredentials,
    options: CallOptions,
    method: string,
    path: string,
  ): Promise<ImburseCredentials | undefined> {
    if (!this.#credentials.refresh) return undefined;
    const refresh = this.#credentials.refresh();
    const left = options.deadline === undefined ? undefined : options.deadline - this.#clock();
    const fresh = left === undefined ? await refresh : await raceDeadline(refresh, left, method, path);
    const changed = fresh.publicKey !== current.publicKey || fresh.privateKey !== current.privateKey;
    return changed ? fresh : undefined;
  }

  #tokenKey(credentials: ImburseCredentials): string {
    return `${this.baseUrl}|${credentials.publicKey}`;
  }

  async #token(credentials: ImburseCredentials, options: CallOptions): Promise<string> {
    return this.#tokens.get(this.#tokenKey(credentials), this.#clock(), async () => {
      const path = TOKEN_PATH;
      const obtainedAt = this.#clock();
      // Signed afresh for every try: a retried exchange must not reuse a nonce Imburse may have seen.
      const headers = (): Record<string, string> => ({
        authorization: hmacAuthorization({
          publicKey: credentials.publicKey,
          privateKey: credentials.privateKey,
          nonce: this.#nonce(),
          timestamp: Math.floor(this.#clock() / 1000),
        }),
        accept: "application/json",
        ...(options.correlationId ? { "x-correlation-id": options.correlationId } : {}),
      });
      const response = await this.#exchange("token", "POST", path, headers, options);
      if (response.status < 200 || response.status >= 300) throw this.#apiError(response, "POST", path);
      const payload = parseJson(response.data) as { accessToken?: unknown; expires?: unknown } | undefined;
      if (typeof payload?.accessToken !== "string" || payload.accessToken === "") {
        throw new ImburseApiError({
          status: response.status,
          method: "POST",
          path,
          errors: [{ errorCode: "TOKEN_RESPONSE_WITHOUT_ACCESS_TOKEN" }],
        });
      }
      const expiresAt =
        normaliseExpiry(payload.expires, payload.accessToken, obtainedAt) ??
        obtainedAt + FALLBACK_TOKEN_LIFETIME_MS;
      return { accessToken: payload.accessToken, expiresAt, obtainedAt };
    });
  }

  /**
   * One HTTP exchange, with the client's only network retry: a reused keep-alive socket that died before
   * any response (a Lambda freeze) is tried once more at once, with freshly built headers.
   */
  async #exchange(
    route: ImburseRoute,
    method: string,
    path: string,
    headers: () => Record<string, string>,
    options: CallOptions,
    body?: string,
  ): Promise<AxiosResponse<string>> {
    try {
      return await this.#request(route, method, path, headers(), options, body);
    } catch (error) {
      if (!isDeadPooledSocket(error)) throw toNetworkError(error, method, path, false);
    }
    try {
      return await this.#request(route, method, path, headers(), options, body);
    } catch (error) {
      // The dead socket may have carried the first try to Imburse: keep "may have reached" set.
      throw toNetworkError(error, method, path, true);
    }
  }

  async #request(
    route: ImburseRoute,
    method: string,
    path: string,
    headers: Record<string, string>,
    options: CallOptions,
    body?: string,
  ): Promise<AxiosResponse<string>> {
    const started = this.#clock();
    const timeout = Math.min(
      options.timeoutMs ?? this.#timeoutMs,
      options.deadline === undefined ? Number.POSITIVE_INFINITY : options.deadline - started,
    );
    if (timeout <= 0) {
      throw new ImburseNetworkError({
        code: OUT_OF_TIME,
        method,
        path,
        timedOut: true,
        mayHaveReachedServer: false,
      });
    }
    let status: number | undefined;
    let imburseCorrelationId: string | undefined;
    try {
      const response = await this.#http.request<string>({
        method,
        url: path,
        headers,
        data: body,
        timeout,
      });
      status = response.status;
      if (status >= 400) imburseCorrelationId = parseErrorBody(parseJson(response.data)).correlationId;
      return response;
    } finally {
      this.#onCall?.({
        route,
        method,
        path,
        status,
        durationMs: this.#clock() - started,
        imburseCorrelationId,
      });
    }
  }

  #apiError(response: AxiosResponse<string>, method: string, path: string): ImburseApiError {
    const { errors, correlationId } = parseErrorBody(parseJson(response.data));
    const retryAfter = response.headers["retry-after"];
    return new ImburseApiError({
      status: response.status,
      method,
      path,
      errors,
      imburseCorrelationId: correlationId,
      retryAfterSeconds: parseRetryAfter(
        typeof retryAfter === "string" ? retryAfter : undefined,
        this.#clock(),
      ),
    });
  }
}

const keepAliveHttpAgent = new http.Agent({ keepAlive: true, maxSockets: 50 });
const keepAliveHttpsAgent = new https.Agent({ keepAlive: true, maxSockets: 50 });

function parseJson(text: string | undefined): unknown {
  if (text === undefined || text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function isUnauthorized(error: unknown): boolean {
  return error instanceof ImburseApiError && error.status === 401;
}

interface RequestLike {
  reusedSocket?: boolean;
  writableFinished?: boolean;
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  return typeof code === "string" ? code : "UNKNOWN";
}

function failedRequest(error: unknown): RequestLike | undefined {
  const request = (error as { request?: unknown })?.request;
  return typeof request === "object" && request !== null ? (request as RequestLike) : undefined;
}

/** A reused keep-alive socket that failed before any response: Node's documented case for one retry. */
function isDeadPooledSocket(error: unknown): boolean {
  if (!axios.isAxiosError(error) || error.response) return false;
  return DEAD_SOCKET_CODES.has(errorCode(error)) && failedRequest(error)?.reusedSocket === true;
}

/** `promise`, or an out-of-time network error (nothing was sent) once `ms` have passed. */
async function raceDeadline<T>(promise: Promise<T>, ms: number, method: string, path: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const outOfTime = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ImburseNetworkError({
            code: OUT_OF_TIME,
            method,
            path,
            timedOut: true,
            mayHaveReachedServer: false,
          }),
        ),
      Math.max(0, ms),
    );
  });
  try {
    return await Promise.race([promise, outOfTime]);
  } finally {
    clearTimeout(timer);
  }
}

function toNetworkError(
  error: unknown,
  method: string,
  path: string,
  earlierTryMayHaveReached: boolean,
): ImburseNetworkError {
  if (error instanceof ImburseNetworkError) {
    if (!earlierTryMayHaveReached || error.mayHaveReachedServer) return error;
    return new ImburseNetworkError({ ...error, mayHaveReachedServer: true });
  }
  const code = errorCode(error);
  const timedOut = code === "ETIMEDOUT" || code === "ECONNABORTED";
  const request = failedRequest(error);
  // A timeout before the request was fully written cannot have been acted on.
  const mayHaveReachedServer =
    earlierTryMayHaveReached || (timedOut ? request?.writableFinished !== false : !NOT_SENT_CODES.has(code));
  return new ImburseNetworkError({ code, method, path, timedOut, mayHaveReachedServer });
}
