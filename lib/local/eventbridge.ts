import { randomUUID } from "node:crypto";
import { type JsonService, ServiceError, startJsonService } from "./json-service.ts";

/** An event as EventBridge delivers it to a rule's target. */
export interface DeliveredEvent {
  version: "0";
  id: string;
  "detail-type": string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

/** A running EventBridge stand-in. */
export interface EventBridgeStandIn {
  /** `http://127.0.0.1:PORT`: give it to the SDK as `AWS_ENDPOINT_URL_EVENTBRIDGE`. */
  url: string;
  /** Calls received, per operation (PutEvents): lets tests count them. */
  calls: Record<string, number>;
  /** The names of the buses that exist now. */
  busNames(): string[];
  /** Every event accepted so far, in order, per bus name. */
  events(busName: string): DeliveredEvent[];
  /** Calls `listener` for every event accepted from now on. */
  onEvent(listener: (event: DeliveredEvent, busName: string) => void): void;
  /** Answer the next `count` calls with a 500 InternalException (an outage the SDK retries). */
  failNext(count: number): void;
  /** Refuse the next `count` entries one by one (`ErrorCode: InternalFailure`, the call itself succeeds). */
  failEntries(count: number): void;
  close(): Promise<void>;
}

/** PutEvents' limits that the stand-in enforces as EventBridge does. */
const MAX_ENTRIES = 10;

/**
 * A small in-memory EventBridge speaking the service's JSON 1.1 protocol (CreateEventBus, DeleteEventBus, PutEvents), so
 * the relay's real SDK client publishes its outcome events in local mode and tests. Events to a bus that
 * was not created are refused entry by entry, as EventBridge does.
 */
export async function startEventBridgeStandIn(
  options: { port?: number; region?: string; account?: string; buses?: string[] } = {},
): Promise<EventBridgeStandIn> {
  const region = options.region ?? "us-east-1";
  const account = options.account ?? "000000000000";
  const buses = new Map<string, DeliveredEvent[]>((options.buses ?? []).map((name) => [name, []]));
  const listeners: ((event: DeliveredEvent, busName: string) => void)[] = [];
  let entryFailures = 0;

  const busOf = (name: unknown): string => {
    const text = String(name ?? "default");
    // An ARN names the bus after `event-bus/`.
    return text.startsWith("arn:") ? text.slice(text.lastIndexOf("/") + 1) : text;
  };

  const service: JsonService = await startJsonService({
    targetPrefix: "AWSEvents",
    outageType: "InternalException",
    ...(options.port !== undefined ? { port: options.port } : {}),
    operations: {
      CreateEventBus(input) {
        const name = String(input.Name ?? "");
        if (!name) throw new ServiceError("ValidationException", "Name is required.");
        if (buses.has(name))
          throw new ServiceError("ResourceAlreadyExistsException", `Event bus ${name} already exists.`);
        buses.set(name, []);
        return { EventBusArn: `arn:aws:events:${region}:${account}:event-bus/${name}` };
      },
      DeleteEventBus(input) {
        buses.delete(String(input.Name ?? ""));
        return {};
      },
      PutEvents(input) {
        const entries = Array.isArray(input.Entries) ? (input.Entries as Record<string, unknown>[]) : [];
        if (entries.length < 1 || entries.length > MAX_ENTRIES) {
          throw new ServiceError(
            "ValidationException",
            `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${MAX_ENTRIES}`,
          );
        }
        let failed = 0;
        const results = entries.map((entry) => {
          if (entryFailures > 0) {
            entryFailures--;
            failed++;
            return { ErrorCode: "InternalFailure", ErrorMessage: "Injected failure of the stand-in." };
          }
          const busName = busOf(entry.EventBusName);
          const stored = buses.get(busName);
          if (!stored) {
            failed++;
            return { ErrorCode: "NotAuthorizedForDestination", ErrorMessage: `No event bus ${busName}.` };
          }
          let detail: Record<string, unknown>;
          try {
            detail = JSON.parse(String(entry.Detail ?? "")) as Record<string, unknown>;
          } catch {
            failed++;
            return { ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed." };
          }
          const event: DeliveredEvent = {
            version: "0",
            id: randomUUID(),
            "detail-type": String(entry.DetailType ?? ""),
            source: String(entry.Source ?? ""),
            account,
            time: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
            region,
            resources: Array.isArray(entry.Resources) ? (entry.Resources as string[]) : [],
            detail,
          };
          stored.push(event);
          for (const listener of listeners) listener(event, busName);
          return { EventId: event.id };
        });
        return { FailedEntryCount: failed, Entries: results };
      },
    },
  });

  return {
    url: service.url,
    calls: service.calls,
    busNames: () => [...buses.keys()],
    events: (busName) => [...(buses.get(busName) ?? [])],
    onEvent: (listener) => {
      listeners.push(listener);
    },
    failNext: (count) => service.failNext(count),
    failEntries: (count) => {
      entryFailures = count;
    },
    close: () => service.close(),
  };
}
