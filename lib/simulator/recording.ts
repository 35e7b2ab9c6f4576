import type { IncomingHttpHeaders } from "node:http";
import type { AppliedFault, FaultRoute } from "./faults.ts";

/** One request the simulator received, as tests and local mode inspect it. */
export interface RecordedRequest {
  /** 1-based arrival order; the simulator's correlation id of the request is `SIM:<seq>`. */
  seq: number;
  method: string;
  /** The request target as sent (path and query). */
  path: string;
  /** The route it matched; undefined for a 404. */
  route: FaultRoute | undefined;
  /** The request headers with credentials redacted (see {@link redactHeaders}). */
  headers: IncomingHttpHeaders;
  /** The body parsed as JSON, the raw text when it is not JSON, undefined when empty. */
  body: unknown;
  /** Simulator clock (epoch ms) on arrival. */
  timestamp: number;
  /** It came on a keep-alive socket that had already carried a request. */
  reusedSocket: boolean;
  /** Added latency in ms, when a latency fault applied. */
  latencyMs?: number;
  /** The fault applied, if any. */
  fault?: AppliedFault;
  /** The status answered; undefined while pending and when no response was sent (timeout, reset). */
  status?: number;
}

const CREDENTIAL_HEADERS = ["authorization", "proxy-authorization"];

/**
 * Copies the headers with each credential header cut to its scheme (`Hmac [redacted]`,
 * `Bearer [redacted]`), so records can be printed or snapshotted without leaking keys or tokens.
 */
export function redactHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const copy: IncomingHttpHeaders = { ...headers };
  for (const name of CREDENTIAL_HEADERS) {
    const value = copy[name];
    if (typeof value !== "string") continue;
    const scheme = /^\s*([A-Za-z][\w-]*)\s+\S/.exec(value)?.[1];
    copy[name] = scheme ? `${scheme} [redacted]` : "[redacted]";
  }
  return copy;
}

/** The simulator's request log: assigns each request its sequence number. */
export class RequestLog {
  #entries: RecordedRequest[] = [];
  #seq = 0;

  /** Appends a record and returns it; the server fills in the outcome later. */
  record(entry: Omit<RecordedRequest, "seq">): RecordedRequest {
    this.#seq += 1;
    const record: RecordedRequest = { seq: this.#seq, ...entry };
    this.#entries.push(record);
    return record;
  }

  /** The records so far, oldest first (a copy of the list; the records are live). */
  get entries(): RecordedRequest[] {
    return [...this.#entries];
  }

  /** Forgets every record and restarts the sequence at 1. */
  clear(): void {
    this.#entries = [];
    this.#seq = 0;
  }
}
