import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout } from "node:timers/promises";

/** An HTTP proxy in front of a local AWS stand-in that can play an outage of the service. */
export interface OutageProxy {
  url: string;
  /** While true, every request is answered 500 InternalServerError (as DynamoDB does when it fails). */
  down: boolean;
  /** Requests answered with the outage. */
  refused: number;
  /** Milliseconds each forwarded request waits before it is passed on (a slow service). */
  latencyMs: number;
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 that forwards to `target` (an http://127.0.0.1:PORT origin) unless it is down. */
export async function startOutageProxy(target: string): Promise<OutageProxy> {
  const upstream = new URL(target);
  const proxy: OutageProxy = {
    url: "",
    down: false,
    refused: 0,
    latencyMs: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const server = createServer(async (req, res) => {
    if (proxy.latencyMs > 0) await setTimeout(proxy.latencyMs);
    if (proxy.down) {
      proxy.refused++;
      req.resume();
      res.writeHead(500, { "content-type": "application/x-amz-json-1.0" });
      res.end(
        JSON.stringify({ __type: "com.amazonaws.dynamodb.v20120810#InternalServerError", message: "down" }),
      );
      return;
    }
    const forwarded = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forwarded.on("error", () => res.destroy());
    req.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
