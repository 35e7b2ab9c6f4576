import http from "node:http";
import https from "node:https";
import { isIP } from "node:net";
import axios from "axios";
import {
  ImburseApiError,
  ImburseConfigError,
  ImburseNetworkError,
  parseErrorBody,
  parseRetryAfter,
} from "./errors.ts";

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

/** One request to Imburse, before the transport adds its common headers. */
export interface ImburseRequest {
  route: ImburseRoute;
  method: "GET" | "POST";
  path: string;
  /** Called for every try: a retried exchange signs afresh rather than reuse a nonce Imburse may have seen. */
  authHeaders: () => Record<string, string>;
  /** JSON text, sent as `application/json`. */
  body?: string;
}

/** A 2xx answer; `body` is parsed JSON, the raw text when not JSON, or undefined when empty. */
export interface ImburseAnswer {
  status: number;
  body: unknown;
}

/** Sends one request to Imburse: a 2xx answer, or a thrown {@link ImburseApiError} or {@link ImburseNetworkError}. */
export interface Transport {
  send(request: ImburseRequest, options: CallOptions): Promise<ImburseAnswer>;
}

/** What the transport asks of its HTTP library (axios by default; a fake in unit tests). */
export type HttpRequest = (config: {
  method: string;
  url: string;
  headers: Record<string, string>;
  data: string | undefined;
  timeout: number;
}) => Promise<{ status: number; data: string; headers: Record<string, unknown> }>;

/** Options of {@link HttpTransport}. */
export interface HttpTransportOptions {
  /** Checked with {@link validateBaseUrl}. */
  baseUrl: string;
  /** Per-request timeout when the call gives none; default 10 s. */
  timeoutMs?: number;
  /** Epoch milliseconds. */
  clock?: () => number;
  /** Called after every exchange with Imburse: latency and status telemetry. Must not throw. */
  onCall?: (event: ImburseCallEvent) => void;
  /** Replaces axios (tests). */
  request?: HttpRequest;
}

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
const TIMEOUT_CODES = new Set(["ETIMEDOUT", "ECONNABORTED"]);
const LOOPBACK_HOSTS = new Set(["localhost", "[::1]"]);

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

/** The error for an exchange the call's deadline left no time to start: nothing was sent. */
export function outOfTime(method: string, path: string): ImburseNetworkError {
  return new ImburseNetworkError({
    code: OUT_OF_TIME,
    method,
    path,
    timedOut: true,
    mayHaveReachedServer: false,
  });
}

/**
 * HTTP to Imburse over keep-alive agents. Its one retry: a reused keep-alive socket that died before any
 * response (a Lambda freeze) is tried once more at once. Every other failure is typed and thrown.
 */
export class HttpTransport implements Transport {
  readonly baseUrl: string;
  readonly #timeoutMs: number;
  readonly #clock: () => number;
  readonly #onCall: ((event: ImburseCallEvent) => void) | undefined;
  readonly #request: HttpRequest;

  constructor(options: HttpTransportOptions) {
    this.baseUrl = validateBaseUrl(options.baseUrl);
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#clock = options.clock ?? Date.now;
    this.#onCall = options.onCall;
    this.#request = options.request ?? axiosRequest(this.baseUrl);
  }

  async send(request: ImburseRequest, options: CallOptions): Promise<ImburseAnswer> {
    const { method, path } = request;
    let response: Exchanged;
    let retried = false;
    try {
      response = await this.#exchange(request, options);
    } catch (error) {
      if (!isDeadPooledSocket(error)) throw networkError(error, method, path, false);
      retried = true;
      try {
        response = await this.#exchange(request, options);
      } catch (retryError) {
        // The dead socket may have carried the first try to Imburse: keep "may have reached" set.
        throw networkError(retryError, method, path, true);
      }
    }
    const { status, body } = response;
    if (status >= 200 && status < 300) return { status, body };
    const { errors, correlationId } = parseErrorBody(body);
    const retryAfter = response.headers["retry-after"];
    throw new ImburseApiError({
      status,
      method,
      path,
      errors,
      imburseCorrelationId: correlationId,
      retryAfterSeconds: parseRetryAfter(
        typeof retryAfter === "string" ? retryAfter : undefined,
        this.#clock(),
      ),
      earlierTryMayHaveReached: retried,
    });
  }

  /** One try, bounded by the call's deadline, reported to `onCall` however it ends. */
  async #exchange(request: ImburseRequest, options: CallOptions): Promise<Exchanged> {
    const { route, method, path, body } = request;
    const started = this.#clock();
    const timeout = Math.min(options.timeoutMs ?? this.#timeoutMs, (options.deadline ?? Infinity) - started);
    if (timeout <= 0) throw outOfTime(method, path);
    const headers: Record<string, string> = { ...request.authHeaders(), accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (options.correlationId) headers["x-correlation-id"] = options.correlationId;
    let status: number | undefined;
    let imburseCorrelationId: string | undefined;
    try {
      const response = await this.#request({ method, url: path, headers, data: body, timeout });
      status = response.status;
      const parsed = parseJson(response.data);
      if (status >= 400) imburseCorrelationId = parseErrorBody(parsed).correlationId;
      return { status, body: parsed, headers: response.headers };
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
}

/** An answer with its body parsed, before the transport decides what it means. */
interface Exchanged extends ImburseAnswer {
  headers: Record<string, unknown>;
}

const agentOptions = { keepAlive: true, maxSockets: 50 };
const keepAliveHttpAgent = new http.Agent(agentOptions);
const keepAliveHttpsAgent = new https.Agent(agentOptions);

function axiosRequest(baseURL: string): HttpRequest {
  const instance = axios.create({
    baseURL,
    httpAgent: keepAliveHttpAgent,
    httpsAgent: keepAliveHttpsAgent,
    maxRedirects: 0,
    // No transforms: the body stays text, parsed by parseJson whatever its content type.
    transformResponse: [],
    validateStatus: () => true,
    transitional: { clarifyTimeoutError: true },
  });
  return async (config) => {
    const response = await instance.request<string>(config);
    return { status: response.status, data: response.data, headers: { ...response.headers } };
  };
}

/** JSON, the raw text when it is not JSON, or undefined when empty. */
export function parseJson(text: string | undefined): unknown {
  if (text === undefined || text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

interface RequestLike {
  reusedSocket?: boolean;
  writableFinished?: boolean;
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : "UNKNOWN";
}

/** The request of an axios error (axios sets it once a request was made). */
function failedRequest(error: unknown): RequestLike | undefined {
  return (error as { request?: RequestLike }).request;
}

/** A reused keep-alive socket that failed before any response: Node's documented case for one retry. */
export function isDeadPooledSocket(error: unknown): boolean {
  if (!axios.isAxiosError(error) || error.response) return false;
  return DEAD_SOCKET_CODES.has(errorCode(error)) && failedRequest(error)?.reusedSocket === true;
}

/**
 * Types a failed exchange. It may have reached Imburse unless it failed before sending (refused, DNS, no
 * route) or timed out before the request was fully written, and always when an earlier try may have.
 */
export function networkError(
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
  const timedOut = TIMEOUT_CODES.has(code);
  const mayHaveReachedServer =
    earlierTryMayHaveReached ||
    (timedOut ? failedRequest(error)?.writableFinished !== false : !NOT_SENT_CODES.has(code));
  return new ImburseNetworkError({ code, method, path, timedOut, mayHaveReachedServer });
}
