/**
 * The baseline of the CPU, latency and throughput rows: what submitting orders costs with nothing around
 * it. One HMAC token exchange, then one axios POST per order, `concurrency` at a time, on keep-alive
 * sockets: no validation, no ledger, no SQS, no telemetry.
 */
import http from "node:http";
import axios from "axios";
import type { ImburseCredentials } from "../lib/imburse/index.ts";
import { hmacAuthorization, ORDERS_PATH, randomNonce, TOKEN_PATH } from "../lib/imburse/index.ts";

/** A client for the raw loop: token once, then POSTs. */
export async function rawClient(baseUrl: string, credentials: ImburseCredentials) {
  const http$ = axios.create({
    baseURL: baseUrl,
    httpAgent: new http.Agent({ keepAlive: true }),
    validateStatus: () => true,
  });
  const token = await http$.post<{ accessToken: string }>(TOKEN_PATH, undefined, {
    headers: {
      authorization: hmacAuthorization({
        publicKey: credentials.publicKey,
        privateKey: credentials.privateKey,
        nonce: randomNonce(),
        timestamp: Math.floor(Date.now() / 1000),
      }),
    },
  });
  const headers = {
    authorization: `Bearer ${token.data.accessToken}`,
    "x-account-id": credentials.accountId,
    "x-tenant-id": credentials.tenantId,
    "content-type": "application/json",
  };
  return {
    /** POSTs the orders, `concurrency` at a time; throws unless every one was created. */
    async submit(orders: readonly unknown[], concurrency: number): Promise<void> {
      for (let start = 0; start < orders.length; start += concurrency) {
        const answers = await Promise.all(
          orders
            .slice(start, start + concurrency)
            .map((order) => http$.post(ORDERS_PATH, JSON.stringify(order), { headers })),
        );
        const failed = answers.find((answer) => answer.status >= 300);
        if (failed) throw new Error(`raw loop: Imburse answered ${failed.status}`);
      }
    },
  };
}
