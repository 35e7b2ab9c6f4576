/**
 * The floor of the CPU and throughput rows: the protocol requests the relay makes for a batch of 10 clean
 * orders, issued in a loop with no relay logic around them, through the same clients (lib/aws/clients.ts, axios). Per order, the ledger claim (a conditional
 * UpdateItem through the SDK's DynamoDB document client) and the POST (axios), 10 at a time; per batch, one
 * BatchWriteItem of the 10 completed items and one PutEvents of their 10 outcome events. No validation, no
 * leases, no telemetry, no retries: what the relay would cost if its own code were free.
 */
import http from "node:http";
import { PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { BatchWriteCommand, DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import axios from "axios";
import { dynamoDbClient, eventBridgeClient } from "../lib/aws/index.ts";
import {
  hmacAuthorization,
  type ImburseCredentials,
  ORDERS_PATH,
  randomNonce,
  TOKEN_PATH,
} from "../lib/imburse/index.ts";

/** What the floor needs: the stand-ins' Imburse, ledger table and event bus. */
export interface FloorTarget {
  baseUrl: string;
  credentials: ImburseCredentials;
  ledgerTable: string;
  eventBusName: string;
}

/** A client for the floor: token once, then batches of protocol requests. */
export async function floorClient(target: FloorTarget) {
  const http$ = axios.create({
    baseURL: target.baseUrl,
    httpAgent: new http.Agent({ keepAlive: true }),
    // As the relay's transport sends them: no redirects, so axios skips follow-redirects' wrapper.
    maxRedirects: 0,
    validateStatus: () => true,
  });
  const token = await http$.post<{ accessToken: string }>(TOKEN_PATH, undefined, {
    headers: {
      authorization: hmacAuthorization({
        publicKey: target.credentials.publicKey,
        privateKey: target.credentials.privateKey,
        nonce: randomNonce(),
        timestamp: Math.floor(Date.now() / 1000),
      }),
    },
  });
  const headers = {
    authorization: `Bearer ${token.data.accessToken}`,
    "x-account-id": target.credentials.accountId,
    "x-tenant-id": target.credentials.tenantId,
    "content-type": "application/json",
  };
  const dynamoDb = dynamoDbClient();
  const ledger = DynamoDBDocumentClient.from(dynamoDb, { marshallOptions: { removeUndefinedValues: true } });
  const events = eventBridgeClient();
  const { tenantId } = target.credentials;
  return {
    /** Claims, POSTs and records a batch of orders (all at once), then publishes their outcome events. */
    async submit(orders: readonly { orderRef: string }[]): Promise<void> {
      const now = Date.now();
      await Promise.all(
        orders.map(async (order) => {
          await ledger.send(
            new UpdateCommand({
              TableName: target.ledgerTable,
              Key: { orderRef: order.orderRef, tenantId },
              UpdateExpression: "SET #state = :claimed, leaseExpiresAt = :lease",
              ConditionExpression: "attribute_not_exists(#state)",
              ExpressionAttributeNames: { "#state": "state" },
              ExpressionAttributeValues: { ":claimed": "claimed", ":lease": now + 30_000 },
              ReturnValues: "ALL_OLD",
            }),
          );
          const answer = await http$.post(ORDERS_PATH, JSON.stringify(order), { headers });
          if (answer.status >= 300) throw new Error(`floor: Imburse answered ${answer.status}`);
        }),
      );
      await ledger.send(
        new BatchWriteCommand({
          RequestItems: {
            [target.ledgerTable]: orders.map((order) => ({
              PutRequest: {
                Item: { orderRef: order.orderRef, tenantId, state: "created", completedAt: now },
              },
            })),
          },
        }),
      );
      await events.send(
        new PutEventsCommand({
          Entries: orders.map((order) => ({
            EventBusName: target.eventBusName,
            Source: "bench.floor",
            DetailType: "OrderCreated",
            Detail: JSON.stringify({ orderRef: order.orderRef, outcome: "created" }),
          })),
        }),
      );
    },
    destroy(): void {
      dynamoDb.destroy();
      events.destroy();
    },
  };
}
