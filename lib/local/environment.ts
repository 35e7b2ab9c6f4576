import type { AddressInfo } from "node:net";
import { setTimeout } from "node:timers/promises";
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import dynalite from "dynalite";
import { type FauxqsServer, startFauxqs } from "fauxqs";
import type { AwsTarget } from "../aws/clients.ts";
import { infrastructureConfig, visibilityTimeoutSeconds } from "../config/infrastructure.ts";
import {
  LEDGER_TABLE,
  ledgerTableName,
  RESOURCE_NAMES,
  SERVICE_NAME,
  SOURCE_QUEUE_MAX_MESSAGE_BYTES,
  SQS_MAX_MESSAGE_BYTES,
} from "../config/names.ts";
import { type SettingName, settingsToEnv } from "../config/settings.ts";
import type { ImburseCredentials } from "../imburse/credentials.ts";
import { type EventBridgeStandIn, startEventBridgeStandIn } from "./eventbridge.ts";
import { type SecretsManagerStandIn, startSecretsManagerStandIn } from "./secrets-manager.ts";

/** One local queue. */
export interface LocalQueue {
  name: string;
  url: string;
  arn: string;
}

/** The stand-ins and the resources created on them. */
export interface LocalEnvironment {
  /**
   * The relay's settings as environment variables, with the AWS SDK's variables for the stand-ins: what a
   * function deployed against them would see. Local mode hands them to the handlers' assembly as `env`
   * (never to `process.env`); child processes may take them as their environment.
   */
  env: Record<string, string>;
  /** The stand-ins' region, credentials and endpoints, for clients built in-process. */
  aws: AwsTarget;
  queues: { orders: LocalQueue; retry: LocalQueue; deadLetter: LocalQueue };
  /** The order ledger's table. */
  tableName: string;
  dynamoEndpoint: string;
  /** HTTP requests that have reached the DynamoDB stand-in so far. */
  dynamoRequests(): number;
  secretId: string;
  sqsEndpoint: string;
  fauxqs: FauxqsServer;
  secretsManager: SecretsManagerStandIn;
  /** The outcome events' bus and the EventBridge stand-in it lives on. */
  eventBusName: string;
  eventBridge: EventBridgeStandIn;
  /** Visibility timeout of the orders and retry queues. */
  visibilityTimeoutSeconds: number;
  stop(): Promise<void>;
}

/** Options of {@link startLocalEnvironment}. */
export interface LocalEnvironmentOptions {
  credentials: ImburseCredentials;
  imburseBaseUrl: string;
  /** Relay settings on top of the defaults (backoff, attempts, concurrency …). */
  settings?: Partial<Record<SettingName, string | number>>;
  /** The local function timeout; sets the visibility timeout by the same rule as the stacks. Default 5 s. */
  functionTimeoutSeconds?: number;
  region?: string;
}

const LOCAL_STAGE = "local";
const FAKE_AWS_CREDENTIALS = { AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local" };

/** Local resource names: the stacks' logical names under an app-and-stage prefix, as SST does. */
export function localResourceName(logicalName: string): string {
  return `${SERVICE_NAME}-${LOCAL_STAGE}-${logicalName}`;
}

/**
 * Boots fauxqs (SQS), dynalite (DynamoDB) and the Secrets Manager and EventBridge stand-ins on loopback, and
 * creates the queues, the order ledger table, the credentials secret and the outcome events' bus with the names and redrive settings
 * the stacks use.
 */
export async function startLocalEnvironment(options: LocalEnvironmentOptions): Promise<LocalEnvironment> {
  const region = options.region ?? "us-east-1";
  const config = infrastructureConfig(LOCAL_STAGE);
  const functionTimeoutSeconds = options.functionTimeoutSeconds ?? 5;
  const visibility = visibilityTimeoutSeconds(
    functionTimeoutSeconds,
    config.ordersSubscription.batchingWindowSeconds,
  );

  const fauxqs = await startFauxqs({
    port: 0,
    host: "127.0.0.1",
    logger: false,
    messageSpies: true,
    defaultRegion: region,
  });
  const sqsEndpoint = `http://127.0.0.1:${fauxqs.port}`;
  const deadLetter = fauxqs.createQueue(localResourceName(RESOURCE_NAMES.deadLetterQueue), {
    region,
    attributes: {
      MessageRetentionPeriod: String(config.queues.deadLetterRetentionSeconds),
      // The stacks' sizes, not fauxqs's default (1 MiB everywhere), so local runs meet the deployed limits.
      MaximumMessageSize: String(SQS_MAX_MESSAGE_BYTES),
    },
  });
  const sourceAttributes = {
    MaximumMessageSize: String(SOURCE_QUEUE_MAX_MESSAGE_BYTES),
    VisibilityTimeout: String(visibility),
    MessageRetentionPeriod: String(config.queues.sourceRetentionSeconds),
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: deadLetter.queueArn,
      maxReceiveCount: config.queues.maxReceiveCount,
    }),
  };
  const orders = fauxqs.createQueue(localResourceName(RESOURCE_NAMES.ordersQueue), {
    region,
    attributes: sourceAttributes,
  });
  const retry = fauxqs.createQueue(localResourceName(RESOURCE_NAMES.retryQueue), {
    region,
    attributes: sourceAttributes,
  });

  const dynamo = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => dynamo.listen(0, "127.0.0.1", () => resolve()));
  const dynamoEndpoint = `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`;
  let dynamoRequests = 0;
  dynamo.on("request", () => {
    dynamoRequests++;
  });
  const tableName = ledgerTableName(LOCAL_STAGE);
  const ddb = new DynamoDBClient({ endpoint: dynamoEndpoint, region, credentials: toSdkCredentials() });
  await createLedgerTable(ddb, tableName);
  ddb.destroy();

  const secretsManager = await startSecretsManagerStandIn({ region });
  const secretId = localResourceName(RESOURCE_NAMES.credentialsSecret);
  const sm = new SecretsManagerClient({
    endpoint: secretsManager.url,
    region,
    credentials: toSdkCredentials(),
  });
  // Stored exactly as the deployed secret holds it: one JSON object.
  await sm.send(
    new CreateSecretCommand({ Name: secretId, SecretString: JSON.stringify(options.credentials) }),
  );
  sm.destroy();

  const eventBusName = localResourceName(RESOURCE_NAMES.outcomeBus);
  const eventBridge = await startEventBridgeStandIn({ region, buses: [eventBusName] });

  const env: Record<string, string> = {
    ...FAKE_AWS_CREDENTIALS,
    AWS_REGION: region,
    AWS_ENDPOINT_URL_SQS: sqsEndpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.url,
    AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.url,
    ...settingsToEnv({
      // As the stacks do: a claim lasts the function timeout.
      leaseSeconds: functionTimeoutSeconds,
      ...options.settings,
      stage: LOCAL_STAGE,
      ordersQueueUrl: orders.queueUrl,
      retryQueueUrl: retry.queueUrl,
      deadLetterQueueUrl: deadLetter.queueUrl,
      ledgerTable: tableName,
      secretId,
      eventBusName,
      imburseBaseUrl: options.imburseBaseUrl,
    }),
  };
  const queue = (q: { queueName: string; queueUrl: string; queueArn: string }): LocalQueue => ({
    name: q.queueName,
    url: q.queueUrl,
    arn: q.queueArn,
  });
  return {
    env,
    aws: {
      region,
      credentials: toSdkCredentials(),
      endpoints: {
        sqs: sqsEndpoint,
        dynamoDb: dynamoEndpoint,
        secretsManager: secretsManager.url,
        eventBridge: eventBridge.url,
      },
    },
    queues: { orders: queue(orders), retry: queue(retry), deadLetter: queue(deadLetter) },
    tableName,
    dynamoEndpoint,
    dynamoRequests: () => dynamoRequests,
    secretId,
    sqsEndpoint,
    fauxqs,
    secretsManager,
    eventBusName,
    eventBridge,
    visibilityTimeoutSeconds: visibility,
    async stop() {
      await Promise.all([
        fauxqs.stop(),
        secretsManager.close(),
        eventBridge.close(),
        new Promise<void>((resolve) => dynamo.close(() => resolve())),
      ]);
    },
  };
}

/**
 * Creates the order ledger table with the stacks' key schema, open-orders index and outbox index. dynalite has no TTL
 * (UpdateTimeToLive), which is harmless: the ledger treats an item past its expiry as absent.
 */
export async function createLedgerTable(ddb: DynamoDBClient, tableName: string): Promise<void> {
  const { partitionKey, sortKey, openIndex, outboxIndex } = LEDGER_TABLE;
  await ddb.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [
        { AttributeName: partitionKey, AttributeType: "S" },
        { AttributeName: sortKey, AttributeType: "S" },
        { AttributeName: openIndex.partitionKey, AttributeType: "S" },
        { AttributeName: openIndex.sortKey, AttributeType: "N" },
        { AttributeName: outboxIndex.partitionKey, AttributeType: "S" },
        { AttributeName: outboxIndex.sortKey, AttributeType: "N" },
      ],
      KeySchema: [
        { AttributeName: partitionKey, KeyType: "HASH" },
        { AttributeName: sortKey, KeyType: "RANGE" },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: openIndex.name,
          KeySchema: [
            { AttributeName: openIndex.partitionKey, KeyType: "HASH" },
            { AttributeName: openIndex.sortKey, KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "ALL" },
        },
        {
          IndexName: outboxIndex.name,
          KeySchema: [
            { AttributeName: outboxIndex.partitionKey, KeyType: "HASH" },
            { AttributeName: outboxIndex.sortKey, KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "ALL" },
        },
      ],
      BillingMode: "PAY_PER_REQUEST",
    }),
  );
  // CreateTable answers while the table is still CREATING (dynalite too, for an instant). The SDK's waiter
  // polls every second at best; a local table is ready in milliseconds.
  for (let poll = 0; poll < TABLE_READY_POLLS; poll++) {
    const { Table } = await ddb.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === "ACTIVE") return;
    await setTimeout(TABLE_READY_POLL_MS);
  }
  throw new Error(`table ${tableName} did not become ACTIVE`);
}

const TABLE_READY_POLL_MS = 10;
const TABLE_READY_POLLS = 500;

function toSdkCredentials() {
  return {
    accessKeyId: FAKE_AWS_CREDENTIALS.AWS_ACCESS_KEY_ID,
    secretAccessKey: FAKE_AWS_CREDENTIALS.AWS_SECRET_ACCESS_KEY,
  };
}
