import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

/** An error as an AWS JSON-protocol service answers it (`__type`, `message`, `x-amzn-errortype`). */
export class ServiceError extends Error {
  readonly type: string;
  readonly status: number;
  constructor(type: string, message: string, status = 400) {
    super(message);
    this.type = type;
    this.status = status;
  }
}

/** A running JSON-protocol stand-in. */
export interface JsonService {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** Calls received, per operation. */
  calls: Record<string, number>;
  /** Answer the next `count` calls with a 500 of type `outageType` (an outage). */
  failNext(count: number): void;
  close(): Promise<void>;
}

/** What {@link startJsonService} serves. */
export interface JsonServiceOptions {
  /** The `X-Amz-Target` prefix before the operation (`secretsmanager`, `AWSEvents`). */
  targetPrefix: string;
  /** One handler per operation: the input object in, the output object out; a {@link ServiceError} to refuse. */
  operations: Record<string, (input: Record<string, unknown>) => unknown>;
  /** The error type of an injected outage (`InternalServiceError`, `InternalException`). */
  outageType: string;
  port?: number;
}

/**
 * A loopback HTTP server speaking the AWS JSON 1.1 protocol (`POST /`, `X-Amz-Target: <prefix>.<Operation>`),
 * so the real AWS SDK clients run unchanged against the local stand-ins.
 */
export async function startJsonService(options: JsonServiceOptions): Promise<JsonService> {
  const calls: Record<string, number> = {};
  let failures = 0;
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const target = String(request.headers["x-amz-target"] ?? "");
      const operation = target.startsWith(`${options.targetPrefix}.`)
        ? target.slice(options.targetPrefix.length + 1)
        : target;
      calls[operation] = (calls[operation] ?? 0) + 1;
      const reply = (status: number, body: unknown, errorType?: string) => {
        response.writeHead(status, {
          "content-type": "application/x-amz-json-1.1",
          "x-amzn-requestid": randomUUID(),
          ...(errorType ? { "x-amzn-errortype": errorType } : {}),
        });
        response.end(JSON.stringify(body));
      };
      try {
        if (failures > 0) {
          failures--;
          throw new ServiceError(options.outageType, "Injected outage of the stand-in.", 500);
        }
        const handler = options.operations[operation];
        if (!handler)
          throw new ServiceError("UnknownOperationException", `Unsupported operation ${operation}`);
        const input = chunks.length
          ? (JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>)
          : {};
        reply(200, handler(input));
      } catch (error) {
        const failure =
          error instanceof ServiceError ? error : new ServiceError(options.outageType, String(error), 500);
        reply(failure.status, { __type: failure.type, message: failure.message }, failure.type);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    failNext: (count) => {
      failures = count;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
