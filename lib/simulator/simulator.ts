import { randomBytes } from "node:crypto";
import { DEMO_CREDENTIALS, type ExpiresFormat, HmacVerifier, type SimulatorCredentials } from "./auth.ts";
import {
  FaultController,
  type FaultInjector,
  type FaultRoute,
  type FaultRule,
  parseFaultSpec,
} from "./faults.ts";
import { type OrderResponse, OrderStore } from "./orders.ts";
import { mulberry32, randomSeed } from "./random.ts";
import { type RecordedRequest, RequestLog } from "./recording.ts";
import { SimulatorServer } from "./server.ts";
import { DEFAULT_VALIDATION_LIMITS, type ValidationLimits } from "./validation.ts";

/** How to start a simulator; every option has a default that suits tests and local mode. */
export interface SimulatorOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** The API keys accepted by the token exchange; default `[DEMO_CREDENTIALS]`. */
  credentials?: readonly SimulatorCredentials[];
  /** Default 3600. */
  tokenLifetimeSeconds?: number;
  /** How the token response reports `expires` (default `"seconds"`). */
  expiresFormat?: ExpiresFormat;
  /** Epoch milliseconds; default `Date.now`. Drives HMAC timestamps, token expiry and error timestamps. */
  clock?: () => number;
  /** Seed of the fault PRNG; default random (see {@link Simulator.seed}). */
  seed?: number;
  /** Fault rules, as a list or a spec string (see {@link parseFaultSpec}). */
  faults?: readonly FaultRule[] | string;
  /** Create-order validation limits; unset ones keep Imburse's documented values. */
  validation?: Partial<ValidationLimits>;
  /** Status of ORDER_NOT_FOUND: public evidence shows both 400 and 404 (default 404). */
  orderNotFoundStatus?: 400 | 404;
}

/** A running simulator of the Imburse endpoints the relay uses. */
export interface Simulator {
  /** Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  readonly url: string;
  readonly port: number;
  /** The fault seed in use: pass it back as `seed` to replay a run. */
  readonly seed: number;
  /** Programmatic faults: one-shot `enqueue`, `set` and `clear` rules. */
  readonly faults: FaultInjector;
  /** Every request so far, oldest first, with credentials redacted. */
  readonly requests: readonly RecordedRequest[];
  /** The requests that matched one route. */
  requestsTo(route: FaultRoute): RecordedRequest[];
  /** Stored orders, in the GET response shape: one tenant's, or every tenant's. */
  orders(tenantId?: string): OrderResponse[];
  /** Back to the state just after start: no requests, orders, nonces or queued faults; the
   * configured rules with fresh counters; the PRNG reseeded. Tokens already issued stay valid. */
  reset(): void;
  /** Stops the server and destroys every connection, including held timeouts. */
  close(): Promise<void>;
}

/** Thrown for simulator options that cannot work. */
export class SimulatorOptionsError extends Error {
  override readonly name = "SimulatorOptionsError";
}

function check(condition: boolean, problem: string): void {
  if (!condition) throw new SimulatorOptionsError(`Invalid simulator options: ${problem}`);
}

/** Starts a simulator of the Imburse token, create-order and get-order endpoints over node:http. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const {
    port = 0,
    host = "127.0.0.1",
    credentials = [DEMO_CREDENTIALS],
    tokenLifetimeSeconds = 3600,
    expiresFormat = "seconds",
    clock = Date.now,
    seed = randomSeed(),
    orderNotFoundStatus = 404,
  } = options;
  check(credentials.length > 0, "credentials must hold at least one key");
  check(
    Number.isSafeInteger(tokenLifetimeSeconds) && tokenLifetimeSeconds > 0,
    "tokenLifetimeSeconds must be a positive integer",
  );
  check(Number.isSafeInteger(seed), "seed must be an integer");
  const rules =
    typeof options.faults === "string" ? parseFaultSpec(options.faults) : [...(options.faults ?? [])];

  const hmac = new HmacVerifier(credentials);
  const store = new OrderStore();
  const log = new RequestLog();
  const faults = new FaultController(rules, mulberry32(seed));
  const server = new SimulatorServer({
    state: {
      hmac,
      store,
      token: { secret: randomBytes(32), lifetimeSeconds: tokenLifetimeSeconds, expiresFormat },
      limits: { ...DEFAULT_VALIDATION_LIMITS, ...options.validation },
      orderNotFoundStatus,
    },
    faults,
    log,
    clock,
  });
  const address = await server.listen(port, host);
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`;

  return {
    url,
    port: address.port,
    seed,
    faults,
    get requests() {
      return log.entries;
    },
    requestsTo: (route) => log.entries.filter((request) => request.route === route),
    orders: (tenantId) => store.list(tenantId),
    reset() {
      log.clear();
      store.clear();
      hmac.reset();
      faults.restore(rules, mulberry32(seed));
    },
    close: () => server.close(),
  };
}
