import { AuthLadder } from "./auth.ts";
import type { CredentialsProvider } from "./credentials.ts";
import { ImburseConfigError } from "./errors.ts";
import { sharedTokenCache, type TokenCache } from "./token.ts";
import {
  type CallOptions,
  HttpTransport,
  type ImburseCallEvent,
  type Transport,
  validateBaseUrl,
} from "./transport.ts";
import { ORDERS_PATH, SANDBOX_BASE_URL } from "./urls.ts";

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
  /** Replaces the HTTP transport built from `baseUrl`, `timeoutMs` and `onCall` (unit tests). */
  transport?: Transport;
}

/** A successful create-order answer. */
export interface CreateOrderResult {
  status: number;
  /** Imburse answers with an empty body or JSON; undefined when empty. */
  body: unknown;
}

/**
 * The Imburse orders API. It makes two retry decisions, each in one place: the auth ladder's on a 401
 * (a new token, then new credentials, each once) and the transport's on a keep-alive socket
 * found dead before any response (one immediate retry). Everything else (429, 5xx, timeouts) is the caller's
 * to schedule.
 */
export class ImburseClient {
  readonly baseUrl: string;
  readonly #auth: AuthLadder;

  constructor(options: ImburseClientOptions) {
    this.baseUrl = validateBaseUrl(options.baseUrl ?? SANDBOX_BASE_URL);
    const transport = options.transport ?? new HttpTransport({ ...options, baseUrl: this.baseUrl });
    const tokens = options.tokenCache ?? sharedTokenCache;
    this.#auth = new AuthLadder({ ...options, baseUrl: this.baseUrl, transport, tokens });
  }

  /** `POST /v1/order-management`. Resolves on 201 or 202; throws {@link ImburseApiError} otherwise. */
  async createOrder(order: unknown, options: CallOptions = {}): Promise<CreateOrderResult> {
    return this.#auth.send(
      { route: "create-order", method: "POST", path: ORDERS_PATH, body: JSON.stringify(order) },
      options,
    );
  }

  /** `GET /v1/order-management/{orderRef}`: the order as Imburse holds it. */
  async getOrder(orderRef: string, options: CallOptions = {}): Promise<unknown> {
    const path = `${ORDERS_PATH}/${encodeURIComponent(orderRef)}`;
    // A ref such as ".." would be normalised away on the wire: never send a request for another resource.
    if (new URL(path, this.baseUrl).pathname !== path) {
      throw new ImburseConfigError(
        `orderRef ${JSON.stringify(orderRef)} cannot be read: its path would be rewritten`,
      );
    }
    return (await this.#auth.send({ route: "get-order", method: "GET", path }, options)).body;
  }

  /** A bearer token (cached; exchanged with HMAC when needed). Used by the health probe. */
  async accessToken(options: CallOptions = {}): Promise<string> {
    return this.#auth.accessToken(options);
  }
}
