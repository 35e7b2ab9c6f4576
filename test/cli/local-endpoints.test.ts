import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { CreateEventBusCommand, DeleteEventBusCommand, EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { DescribeSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { ListQueuesCommand, SQSClient } from "@aws-sdk/client-sqs";
import dynalite from "dynalite";
import { type FauxqsServer, startFauxqs } from "fauxqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReportEntry } from "../../lib/local/index.ts";
import {
  createRelayResources,
  type EventBridgeStandIn,
  externalAwsTarget,
  type SecretsManagerStandIn,
  startEventBridgeStandIn,
  startSecretsManagerStandIn,
} from "../../lib/local/index.ts";
import { validOrder as order } from "../support/orders.ts";
import { runCli } from "../support/run-cli.ts";

const REGION = "eu-west-1";
const CREDENTIALS = { accessKeyId: "outside", secretAccessKey: "outside" };

/**
 * A second set of stand-ins, started here and not by the CLI: bare services with nothing created on them,
 * as LocalStack or moto would be.
 */
let fauxqs: FauxqsServer;
let dynamo: ReturnType<typeof dynalite>;
let secretsManager: SecretsManagerStandIn;
let eventBridge: EventBridgeStandIn;
let endpoints: { sqs: string; dynamoDb: string; secretsManager: string; eventBridge: string };
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "imburse-relay-endpoints-"));
  fauxqs = await startFauxqs({ port: 0, host: "127.0.0.1", logger: false, defaultRegion: REGION });
  dynamo = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => dynamo.listen(0, "127.0.0.1", () => resolve()));
  secretsManager = await startSecretsManagerStandIn({ region: REGION });
  eventBridge = await startEventBridgeStandIn({ region: REGION });
  endpoints = {
    sqs: `http://127.0.0.1:${fauxqs.port}`,
    dynamoDb: `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`,
    secretsManager: secretsManager.url,
    eventBridge: eventBridge.url,
  };
});

afterAll(async () => {
  await Promise.all([
    fauxqs?.stop(),
    secretsManager?.close(),
    eventBridge?.close(),
    new Promise<void>((resolve) => (dynamo ? dynamo.close(() => resolve()) : resolve())),
  ]);
  await rm(dir, { recursive: true, force: true });
});

describe("imburse-relay local on AWS-compatible services it did not start", () => {
  it("creates its resources there from the SDK's endpoint variables, relays the orders, and deletes what it created", {
    timeout: 60_000,
  }, async () => {
    const ordersPath = join(dir, "orders.jsonl");
    const reportPath = join(dir, "report.json");
    const eventsPath = join(dir, "events.jsonl");
    await writeFile(
      ordersPath,
      [
        JSON.stringify({ body: order("EXT-1"), correlationId: "corr-ext-1" }),
        JSON.stringify({ body: order("EXT-2") }),
        JSON.stringify({ body: order("REJECT-3") }),
      ].join("\n"),
    );
    const run = await runCli(
      [
        "local",
        "--orders",
        ordersPath,
        "--faults",
        "create[ref^=REJECT-]:400:code=SCHEME_NOT_FOUND",
        "--until-drained",
        "--max-wait",
        "45",
        "--report",
        reportPath,
        "--events",
        eventsPath,
      ],
      {
        env: {
          AWS_ENDPOINT_URL_SQS: endpoints.sqs,
          AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamoDb,
          AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoints.secretsManager,
          AWS_ENDPOINT_URL_EVENTBRIDGE: endpoints.eventBridge,
          AWS_REGION: REGION,
          AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
        },
      },
    );
    expect(run.stderr).toBe("");
    expect(run.code).toBe(1); // the rejected order
    // The header names the services the run used, not embedded stand-ins.
    expect(run.stdout).toContain(`on ${endpoints.sqs}`);
    expect(run.stdout).toContain(`on ${endpoints.dynamoDb}`);
    const report = JSON.parse(await readFile(reportPath, "utf8")) as { orders: ReportEntry[] };
    expect(report.orders.map((entry) => [entry.orderRef, entry.outcome])).toEqual([
      ["EXT-1", "submitted"],
      ["EXT-2", "submitted"],
      ["REJECT-3", "rejected"],
    ]);
    const events = (await readFile(eventsPath, "utf8"))
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { "detail-type": string; detail: { orderRef: string } });
    expect(events.map((event) => [event.detail.orderRef, event["detail-type"]]).sort()).toEqual([
      ["EXT-1", "Order Submitted"],
      ["EXT-2", "Order Submitted"],
      ["REJECT-3", "Order Dead-Lettered"],
    ]);

    // Everything it created is gone; the services themselves still run.
    const client = { region: REGION, credentials: CREDENTIALS };
    const sqs = new SQSClient({ ...client, endpoint: endpoints.sqs });
    const ddb = new DynamoDBClient({ ...client, endpoint: endpoints.dynamoDb });
    const sm = new SecretsManagerClient({ ...client, endpoint: endpoints.secretsManager });
    try {
      expect((await sqs.send(new ListQueuesCommand({}))).QueueUrls ?? []).toEqual([]);
      expect((await ddb.send(new ListTablesCommand({}))).TableNames ?? []).toEqual([]);
      await expect(
        sm.send(new DescribeSecretCommand({ SecretId: "imburse-relay-local-ImburseCredentials" })),
      ).rejects.toThrow(/can't find/);
      expect(eventBridge.busNames()).toEqual([]);
    } finally {
      for (const c of [sqs, ddb, sm]) c.destroy();
    }
  });
});

describe("createRelayResources", () => {
  it("deletes what it had created when a later step fails", async () => {
    const client = { region: REGION, credentials: CREDENTIALS };
    const events = new EventBridgeClient({ ...client, endpoint: endpoints.eventBridge });
    const sqs = new SQSClient({ ...client, endpoint: endpoints.sqs });
    const ddb = new DynamoDBClient({ ...client, endpoint: endpoints.dynamoDb });
    // The bus is the last step: one that already exists fails it, after the queues, table and secret.
    const busName = "imburse-relay-local-Outcomes";
    await events.send(new CreateEventBusCommand({ Name: busName }));
    try {
      await expect(
        createRelayResources(
          { region: REGION, credentials: CREDENTIALS, endpoints },
          {
            credentials: { publicKey: "p", privateKey: "k", accountId: "a", tenantId: "t" },
            imburseBaseUrl: "http://127.0.0.1:9",
          },
        ),
      ).rejects.toThrow(/already exists/);
      expect((await sqs.send(new ListQueuesCommand({}))).QueueUrls ?? []).toEqual([]);
      expect((await ddb.send(new ListTablesCommand({}))).TableNames ?? []).toEqual([]);
      // Not ours: the bus that was there before stays.
      expect(eventBridge.busNames()).toEqual([busName]);
    } finally {
      await events.send(new DeleteEventBusCommand({ Name: busName }));
      for (const c of [events, sqs, ddb]) c.destroy();
    }
  });
});

describe("externalAwsTarget", () => {
  it("keeps the embedded stand-ins when no endpoint is given", () => {
    expect(externalAwsTarget({ AWS_REGION: "eu-west-1" })).toBeUndefined();
  });

  it("sends every service to --aws-endpoint", () => {
    const url = "http://localhost:4566";
    expect(externalAwsTarget({ AWS_REGION: "eu-west-1" }, url)).toEqual({
      region: "eu-west-1",
      endpoints: { sqs: url, dynamoDb: url, secretsManager: url, eventBridge: url },
    });
  });

  it("takes a service's own variable over AWS_ENDPOINT_URL, as the SDK does", () => {
    expect(
      externalAwsTarget({
        AWS_ENDPOINT_URL: "http://localhost:4566",
        AWS_ENDPOINT_URL_SQS: "http://localhost:9324",
      }),
    ).toEqual({
      region: "us-east-1",
      endpoints: {
        sqs: "http://localhost:9324",
        dynamoDb: "http://localhost:4566",
        secretsManager: "http://localhost:4566",
        eventBridge: "http://localhost:4566",
      },
    });
  });

  it("leaves services without a variable to AWS's endpoints", () => {
    expect(externalAwsTarget({ AWS_ENDPOINT_URL_SQS: "http://localhost:9324" })?.endpoints).toEqual({
      sqs: "http://localhost:9324",
    });
  });
});
