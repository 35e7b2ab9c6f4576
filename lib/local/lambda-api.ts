import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

/** The states of an event source mapping this stand-in reports (a subset of Lambda's). */
export type MappingState = "Enabled" | "Enabling" | "Disabled" | "Disabling" | "Updating";

/** An event source mapping held by the stand-in, as seen at one moment. */
export interface LocalEventSourceMapping {
  uuid: string;
  eventSourceArn: string;
  functionArn: string;
  /** Where the mapping is going: Lambda polls the queue when true (once settled). */
  enabled: boolean;
  state: MappingState;
  batchSize: number;
  maximumBatchingWindowInSeconds: number;
  /** `ScalingConfig.MaximumConcurrency`, when set. */
  maximumConcurrency: number | undefined;
  lastModified: Date;
}

/** A mapping to register with {@link LambdaApiStandIn.addMapping}. */
export interface NewEventSourceMapping {
  uuid?: string;
  eventSourceArn: string;
  functionArn: string;
  enabled: boolean;
  batchSize?: number;
  maximumConcurrency?: number;
}

/** A running Lambda API stand-in. */
export interface LambdaApiStandIn {
  /** `http://127.0.0.1:PORT`: give it to the SDK as `AWS_ENDPOINT_URL_LAMBDA`. */
  url: string;
  /** Calls received, per operation (GetEventSourceMapping, UpdateEventSourceMapping, …). */
  calls: Record<string, number>;
  addMapping(mapping: NewEventSourceMapping): LocalEventSourceMapping;
  mapping(uuid: string): LocalEventSourceMapping | undefined;
  /**
   * Called after every UpdateEventSourceMapping that changed something, with the mapping as it now is,
   * so local mode can stop or restart the runner that plays the mapping. Listeners run before the reply
   * and must not throw (the caller would get a 500). Returns an unsubscribe function.
   */
  onChange(listener: (mapping: LocalEventSourceMapping) => void): () => void;
  close(): Promise<void>;
}

/** Options of {@link startLambdaApiStandIn}. */
export interface LambdaApiStandInOptions {
  port?: number;
  /**
   * How long an update shows as Enabling, Disabling or Updating before the mapping settles. Default 0:
   * straight to Enabled or Disabled.
   */
  settleMs?: number;
  /** The clock the settle time is measured with. Default `Date.now`. */
  clock?: () => number;
}

interface Held {
  uuid: string;
  eventSourceArn: string;
  functionArn: string;
  enabled: boolean;
  batchSize: number;
  maximumBatchingWindowInSeconds: number;
  maximumConcurrency: number | undefined;
  lastModified: number;
  /** Shown until `settlesAt`. */
  transition: "Enabling" | "Disabling" | "Updating" | undefined;
  settlesAt: number;
}

class ServiceError extends Error {
  readonly type: string;
  readonly status: number;
  constructor(type: string, message: string, status = 400) {
    super(message);
    this.type = type;
    this.status = status;
  }
}

const API_PREFIX = "/2015-03-31/event-source-mappings";
const DEFAULT_BATCH_SIZE = 10;
const MAX_BATCH_SIZE = 10_000;
const MAX_BATCHING_WINDOW_SECONDS = 300;
const MAX_ITEMS = 100;
/** `ScalingConfig.MaximumConcurrency` of an SQS mapping: 2 to 1000. */
const MIN_CONCURRENCY = 2;
const MAX_CONCURRENCY = 1000;

/**
 * The Lambda function name an SDK caller may give: a name, a partial ARN (`123456789012:function:name`)
 * or a full ARN all match on the end of the mapping's function ARN.
 */
function functionMatches(functionArn: string, given: string): boolean {
  return functionArn === given || functionArn.endsWith(`:${given}`);
}

/**
 * A small in-memory Lambda API for event source mappings, speaking the service's REST-JSON protocol
 * (GetEventSourceMapping, UpdateEventSourceMapping, ListEventSourceMappings), so the real SDK client and
 * the circuit breaker run unchanged in local mode and tests. Mappings are registered in code; an update
 * applies `Enabled`, `BatchSize`, `MaximumBatchingWindowInSeconds` and `ScalingConfig.MaximumConcurrency`
 * (2 to 1000, as for SQS) and ignores the other fields.
 * Deterministic: with `settleMs` the transitional state ends at a time read from the injected clock.
 */
export async function startLambdaApiStandIn(
  options: LambdaApiStandInOptions = {},
): Promise<LambdaApiStandIn> {
  const settleMs = options.settleMs ?? 0;
  const clock = options.clock ?? Date.now;
  const mappings = new Map<string, Held>();
  const listeners = new Set<(mapping: LocalEventSourceMapping) => void>();
  const calls: Record<string, number> = {};

  const state = (held: Held): MappingState => {
    if (held.transition && clock() < held.settlesAt) return held.transition;
    return held.enabled ? "Enabled" : "Disabled";
  };
  const snapshot = (held: Held): LocalEventSourceMapping => ({
    uuid: held.uuid,
    eventSourceArn: held.eventSourceArn,
    functionArn: held.functionArn,
    enabled: held.enabled,
    state: state(held),
    batchSize: held.batchSize,
    maximumBatchingWindowInSeconds: held.maximumBatchingWindowInSeconds,
    maximumConcurrency: held.maximumConcurrency,
    lastModified: new Date(held.lastModified),
  });
  // The SDK reads timestamps in REST-JSON bodies as epoch seconds.
  const configuration = (held: Held) => ({
    UUID: held.uuid,
    EventSourceArn: held.eventSourceArn,
    FunctionArn: held.functionArn,
    State: state(held),
    StateTransitionReason: "USER_INITIATED",
    BatchSize: held.batchSize,
    MaximumBatchingWindowInSeconds: held.maximumBatchingWindowInSeconds,
    ...(held.maximumConcurrency !== undefined
      ? { ScalingConfig: { MaximumConcurrency: held.maximumConcurrency } }
      : {}),
    LastModified: held.lastModified / 1000,
  });
  const find = (uuid: string): Held => {
    const held = mappings.get(uuid);
    if (!held)
      throw new ServiceError("ResourceNotFoundException", "The resource you requested does not exist.", 404);
    return held;
  };

  const whole = (value: unknown, name: string, min: number, max: number): number | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      throw new ServiceError(
        "InvalidParameterValueException",
        `${name} must be an integer from ${min} to ${max}.`,
      );
    }
    return value;
  };

  const update = (held: Held, input: Record<string, unknown>): void => {
    if (input.Enabled !== undefined && typeof input.Enabled !== "boolean") {
      throw new ServiceError("InvalidParameterValueException", "Enabled must be a boolean.");
    }
    const enabled = input.Enabled ?? held.enabled;
    const batchSize = whole(input.BatchSize, "BatchSize", 1, MAX_BATCH_SIZE) ?? held.batchSize;
    const windowSeconds =
      whole(
        input.MaximumBatchingWindowInSeconds,
        "MaximumBatchingWindowInSeconds",
        0,
        MAX_BATCHING_WINDOW_SECONDS,
      ) ?? held.maximumBatchingWindowInSeconds;
    const scaling = input.ScalingConfig as { MaximumConcurrency?: unknown } | undefined;
    const maximumConcurrency =
      whole(scaling?.MaximumConcurrency, "MaximumConcurrency", MIN_CONCURRENCY, MAX_CONCURRENCY) ??
      held.maximumConcurrency;
    const enabledChanged = enabled !== held.enabled;
    if (
      !enabledChanged &&
      batchSize === held.batchSize &&
      windowSeconds === held.maximumBatchingWindowInSeconds &&
      maximumConcurrency === held.maximumConcurrency
    ) {
      return;
    }
    const now = clock();
    held.enabled = enabled;
    held.batchSize = batchSize;
    held.maximumBatchingWindowInSeconds = windowSeconds;
    held.maximumConcurrency = maximumConcurrency;
    held.lastModified = now;
    held.transition = enabledChanged ? (enabled ? "Enabling" : "Disabling") : "Updating";
    held.settlesAt = now + settleMs;
    const changed = snapshot(held);
    for (const listener of listeners) listener(changed);
  };

  const list = (query: URLSearchParams) => {
    const functionName = query.get("FunctionName");
    const eventSourceArn = query.get("EventSourceArn");
    const matching = [...mappings.values()].filter(
      (held) =>
        (!functionName || functionMatches(held.functionArn, functionName)) &&
        (!eventSourceArn || held.eventSourceArn === eventSourceArn),
    );
    const start = Number(query.get("Marker") ?? 0);
    const maxItems = Math.min(Number(query.get("MaxItems") ?? MAX_ITEMS), MAX_ITEMS);
    if (!Number.isInteger(start) || start < 0 || !Number.isInteger(maxItems) || maxItems < 1) {
      throw new ServiceError("InvalidParameterValueException", "Marker or MaxItems is not valid.");
    }
    const page = matching.slice(start, start + maxItems);
    const next = start + page.length;
    return {
      EventSourceMappings: page.map(configuration),
      ...(next < matching.length ? { NextMarker: String(next) } : {}),
    };
  };

  const route = (
    method: string,
    url: URL,
    body: string,
  ): { operation: string; run: () => { status: number; body: unknown } } => {
    const path = url.pathname;
    if (method === "GET" && (path === API_PREFIX || path === `${API_PREFIX}/`)) {
      return {
        operation: "ListEventSourceMappings",
        run: () => ({ status: 200, body: list(url.searchParams) }),
      };
    }
    const uuid = path.startsWith(`${API_PREFIX}/`)
      ? decodeURIComponent(path.slice(API_PREFIX.length + 1))
      : "";
    if (uuid && !uuid.includes("/") && method === "GET") {
      return {
        operation: "GetEventSourceMapping",
        run: () => ({ status: 200, body: configuration(find(uuid)) }),
      };
    }
    if (uuid && !uuid.includes("/") && method === "PUT") {
      return {
        operation: "UpdateEventSourceMapping",
        run: () => {
          const held = find(uuid);
          let input: unknown;
          try {
            input = body ? JSON.parse(body) : {};
          } catch {
            throw new ServiceError(
              "InvalidRequestContentException",
              "Could not parse request body into json.",
            );
          }
          if (typeof input !== "object" || input === null || Array.isArray(input)) {
            throw new ServiceError(
              "InvalidRequestContentException",
              "The request body must be a JSON object.",
            );
          }
          update(held, input as Record<string, unknown>);
          return { status: 202, body: configuration(held) };
        },
      };
    }
    return {
      operation: "Unknown",
      run: () => {
        throw new ServiceError("UnknownOperationException", `Unsupported operation ${method} ${path}`, 404);
      },
    };
  };

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const url = new URL(request.url ?? "/", "http://127.0.0.1");
      const { operation, run } = route(request.method ?? "GET", url, Buffer.concat(chunks).toString("utf8"));
      calls[operation] = (calls[operation] ?? 0) + 1;
      const reply = (status: number, body: unknown, errorType?: string) => {
        response.writeHead(status, {
          "content-type": "application/json",
          "x-amzn-requestid": randomUUID(),
          ...(errorType ? { "x-amzn-errortype": errorType } : {}),
        });
        response.end(JSON.stringify(body));
      };
      try {
        const result = run();
        reply(result.status, result.body);
      } catch (error) {
        const failure =
          error instanceof ServiceError ? error : new ServiceError("ServiceException", String(error), 500);
        // Lambda's error body: `Type` is User (the caller's fault) or Service.
        reply(
          failure.status,
          { Type: failure.status < 500 ? "User" : "Service", Message: failure.message },
          failure.type,
        );
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    addMapping(mapping) {
      const uuid = mapping.uuid ?? randomUUID();
      if (mappings.has(uuid)) throw new Error(`An event source mapping ${uuid} already exists`);
      const held: Held = {
        uuid,
        eventSourceArn: mapping.eventSourceArn,
        functionArn: mapping.functionArn,
        enabled: mapping.enabled,
        batchSize: mapping.batchSize ?? DEFAULT_BATCH_SIZE,
        maximumBatchingWindowInSeconds: 0,
        maximumConcurrency: mapping.maximumConcurrency,
        lastModified: clock(),
        transition: undefined,
        settlesAt: 0,
      };
      mappings.set(uuid, held);
      return snapshot(held);
    },
    mapping: (uuid) => {
      const held = mappings.get(uuid);
      return held ? snapshot(held) : undefined;
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
