import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import { errorBody, errorCodeForStatus, type RequestIds } from "./errors.ts";
import type { FaultController } from "./faults.ts";
import { type RecordedRequest, type RequestLog, redactHeaders } from "./recording.ts";
import {
  errorResponse,
  handleRoute,
  matchRoute,
  orderRefOf,
  type RouteRequest,
  type RouteState,
  type SimResponse,
} from "./routes.ts";

/** Larger bodies get a 413: a create order of 100 instructions is well under 100 KiB. */
const MAX_BODY_BYTES = 1_048_576;

/** What the HTTP layer needs from the simulator. */
export interface SimulatorServerDeps {
  state: RouteState;
  faults: FaultController;
  log: RequestLog;
  clock: () => number;
}

async function readBody(req: IncomingMessage): Promise<{ text: string; tooLarge: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  return { text: Buffer.concat(chunks).toString("utf8"), tooLarge: size > MAX_BODY_BYTES };
}

function parseJson(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return (Array.isArray(value) ? value[0] : value)?.trim() || undefined;
}

/**
 * The HTTP side of the simulator: reads and records each request, applies the fault the
 * {@link FaultController} picks, and otherwise answers what the route handlers say.
 */
export class SimulatorServer {
  readonly #deps: SimulatorServerDeps;
  readonly #server: Server;
  /** Aborts latency waits when the simulator closes, so close never waits on a timer. */
  readonly #closing = new AbortController();
  readonly #requestsPerSocket = new WeakMap<Socket, number>();
  #closed: Promise<void> | undefined;

  constructor(deps: SimulatorServerDeps) {
    this.#deps = deps;
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => this.#fail(res, error));
    });
  }

  /** Starts listening; resolves with the bound address. */
  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(port, host, () => {
        this.#server.off("error", reject);
        resolve(this.#server.address() as AddressInfo);
      });
    });
  }

  /** Stops listening and destroys every connection, held timeouts included. Safe to call twice. */
  close(): Promise<void> {
    this.#closed ??= new Promise((resolve) => {
      this.#closing.abort();
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    return this.#closed;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const socket = req.socket;
    const served = (this.#requestsPerSocket.get(socket) ?? 0) + 1;
    this.#requestsPerSocket.set(socket, served);
    const { text, tooLarge } = await readBody(req);
    const arrivedAt = this.#deps.clock();
    const path = req.url ?? "/";
    const matched = matchRoute(req.method ?? "", path.split("?")[0] ?? "");
    const body = parseJson(text);
    const record = this.#deps.log.record({
      method: req.method ?? "",
      path,
      route: matched?.route,
      headers: redactHeaders(req.headers),
      body: body ?? (text === "" ? undefined : text),
      timestamp: arrivedAt,
      reusedSocket: served > 1,
    });
    const ids: RequestIds = {
      simulatorId: `SIM:${record.seq}`,
      callerId: firstHeader(req.headers["x-correlation-id"]),
    };
    const at = { ids, nowMs: arrivedAt };
    if (tooLarge) {
      return this.#send(
        res,
        record,
        ids,
        errorResponse(
          413,
          [{ errorCode: "REQUEST_BODY_TOO_LARGE", params: { MaxBytes: MAX_BODY_BYTES } }],
          at,
        ),
      );
    }
    if (!matched) {
      const params = { Method: req.method ?? "", Path: path };
      return this.#send(res, record, ids, errorResponse(404, [{ errorCode: "ROUTE_NOT_FOUND", params }], at));
    }

    const orderRef = orderRefOf(matched, body);
    const { latencyMs, fault } = this.#deps.faults.decide({
      route: matched.route,
      orderRef,
      reusedSocket: served > 1,
    });
    if (fault) record.fault = fault;
    if (latencyMs > 0) {
      record.latencyMs = latencyMs;
      try {
        await delay(latencyMs, undefined, { signal: this.#closing.signal });
      } catch {
        return; // closing: close() destroys the connection
      }
    }
    if (fault?.kind === "reset" || fault?.kind === "reset-on-reused-socket") {
      socket.resetAndDestroy();
      return;
    }
    if (typeof fault?.kind === "number") {
      const headers =
        fault.retryAfter === undefined ? undefined : { "retry-after": String(fault.retryAfter) };
      const errors = [
        {
          errorCode: fault.errorCode ?? errorCodeForStatus(fault.kind),
          params: { Status: fault.kind, ...(orderRef === undefined ? {} : { OrderRef: orderRef }) },
        },
      ];
      return this.#send(res, record, ids, errorResponse(fault.kind, errors, at, headers));
    }
    const request: RouteRequest = {
      headers: req.headers,
      rawBody: text,
      body,
      ids,
      nowMs: this.#deps.clock(),
    };
    const response = handleRoute(matched, request, this.#deps.state);
    // A timeout: the work is done (a create stores its order) but the answer is never sent.
    if (fault?.kind === "timeout") return;
    this.#send(res, record, ids, response);
  }

  /** A bug in the simulator, or a client that went away mid-body: answer 500 if anyone still listens. */
  #fail(res: ServerResponse, error: unknown): void {
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    const reason = error instanceof Error ? error.message : String(error);
    const body = errorBody(
      [{ errorCode: "SIMULATOR_FAILURE", params: { Reason: reason } }],
      { simulatorId: "SIM:failure", callerId: undefined },
      this.#deps.clock(),
    );
    res.writeHead(500, { "content-type": "application/json; charset=utf-8" }).end(JSON.stringify(body));
  }

  #send(res: ServerResponse, record: RecordedRequest, ids: RequestIds, response: SimResponse): void {
    record.status = response.status;
    if (res.destroyed) return;
    const payload = response.body === undefined ? "" : JSON.stringify(response.body);
    res.writeHead(response.status, {
      "x-correlation-id": ids.callerId ?? ids.simulatorId,
      "content-length": Buffer.byteLength(payload),
      ...(payload === "" ? {} : { "content-type": "application/json; charset=utf-8" }),
      ...response.headers,
    });
    res.end(payload);
  }
}
