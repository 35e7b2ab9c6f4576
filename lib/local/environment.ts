import type { AddressInfo } from "node:net";
import { setTimeout } from "node:timers/promises";
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
} from "@aws-sdk/client-dynamodb";
import { CreateEventBusCommand, DeleteEventBusCommand } from "@aws-sdk/client-eventbridge";
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  type QueueAttributeName,
} from "@aws-sdk/client-sqs";
import dynalite from "dynalite";
import { type FauxqsServer, startFauxqs } from "fauxqs";
import { type AwsClients, type AwsTarget, awsClients } from "../aws/index.ts";
import {
  infrastructureConfig,
  LEDGER_TABLE,
  ledgerTableName,
  RESOURCE_NAMES,
  SERVICE_NAME,
  type SettingName,
  SOURCE_QUEUE_MAX_MESSAGE_BYTES,
  SQS_MAX_MESSAGE_BYTES,
  settingsToEnv,
  visibilityTimeoutSeconds,
} from "../config/index.ts";
import type { ImburseCredentials } from "../imburse/index.ts";
import { type EventBridgeStandIn, startEventBridgeStandIn } from "./eventbridge.ts";
import { type SecretsManagerStandIn, startSecretsManagerStandIn } from "./secrets-manager.ts";
import { Teardown } from "./teardown.ts";

/** One local queue. */
export interface LocalQueue {
  name: string;
  url: string;
  arn: string;
}

/** The relay's queues, table, secret and bus, created for a local run, wherever they live. */
export interface RelayResources {
  /**
   * The relay's settings as environment variables (with the AWS SDK's variables when the resources are on
   * stand-ins): what a function deployed against them would see. Local mode hands them to the handlers'
   * assembly as `env` (never to `process.env`); child processes may take them as their environment.
   */
  env: Record<string, string>;
  /** The region, credentials and endpoints of the services, for clients built in-process. */
  aws: AwsTarget;
  queues: { orders: LocalQueue; retry: LocalQueue; deadLetter: LocalQueue };
  /** The order ledger's table. */
  tableName: string;
  secretId: string;
  eventBusName: string;
  /** Visibility timeout of the orders and retry queues. */
  visibilityTimeoutSeconds: number;
  /** Deletes what was created (and stops what was started). */
  stop(): Promise<void>;
}

/** The stand-ins and the resources created on them. */
export interface LocalEnvironment extends RelayResources {
  dynamoEndpoint: string;
  /** HTTP requests that have reached the DynamoDB stand-in so far. */
  dynamoRequests(): number;
  secretId: string;
  sqsEndpoint: string;
  fauxqs: FauxqsServer;
  secretsManager: SecretsManagerStandIn;
  /** The EventBridge stand-in the outcome events' bus lives on. */
  eventBridge: EventBridgeStandIn;
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

/** The stacks' queue attributes for a local run whose function times out after `functionTimeoutSeconds`. */
function queueSettings(functionTimeoutSeconds: number) {
  const config = infrastructureConfig(LOCAL_STAGE);
  const visibility = visibilityTimeoutSeconds(
    functionTimeoutSeconds,
    config.ordersSubscription.batchingWindowSeconds,
  );
  return {
    visibility,
    deadLetter: {
      MessageRetentionPeriod: String(config.queues.deadLetterRetentionSeconds),
      // The stacks' sizes, not a stand-in's default (1 MiB everywhere), so local runs meet the deployed limits.
      MaximumMessageSize: String(SQS_MAX_MESSAGE_BYTES),
    },
    source: (deadLetterArn: string) => ({
      MaximumMessageSize: String(SOURCE_QUEUE_MAX_MESSAGE_BYTES),
      VisibilityTimeout: String(visibility),
      MessageRetentionPeriod: String(config.queues.sourceRetentionSeconds),
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: deadLetterArn,
        maxReceiveCount: config.queues.maxReceiveCount,
      }),
    }),
  };
}

/** The relay's settings for resources named as below, as environment variables. */
function relaySettingsEnv(
  options: LocalEnvironmentOptions,
  functionTimeoutSeconds: number,
  resources: Pick<RelayResources, "queues" | "tableName" | "secretId" | "eventBusName">,
): Record<string, string> {
  return settingsToEnv({
    // As the stacks do: a claim lasts the function timeout.
    leaseSeconds: functionTimeoutSeconds,
    ...options.settings,
    stage: LOCAL_STAGE,
    ordersQueueUrl: resources.queues.orders.url,
    retryQueueUrl: resources.queues.retry.url,
    deadLetterQueueUrl: resources.queues.deadLetter.url,
    ledgerTable: resources.tableName,
    secretId: resources.secretId,
    eventBusName: resources.eventBusName,
    imburseBaseUrl: options.imburseBaseUrl,
  });
}

/**
 * Boots fauxqs (SQS), dynalite (DynamoDB) and the Secrets Manager and EventBridge stand-ins on loopback, and
 * creates the queues, the order ledger table, the credentials secret and the outcome events' bus with the
 * names and redrive settings the stacks use. When a step fails, what was already started is stopped.
 */
export async function startLocalEnvironment(options: LocalEnvironmentOptions): Promise<LocalEnvironment> {
  const region = options.region ?? "us-east-1";
  const functionTimeoutSeconds = options.functionTimeoutSeconds ?? 5;
  const attributes = queueSettings(functionTimeoutSeconds);
  const teardown = new Teardown();
  return teardown.guard(async () => {
    const fauxqs = await startFauxqs({
      port: 0,
      host: "127.0.0.1",
      logger: false,
      messageSpies: true,
      defaultRegion: region,
    });
    teardown.add(() => fauxqs.stop());
    const sqsEndpoint = `http://127.0.0.1:${fauxqs.port}`;
    const deadLetter = fauxqs.createQueue(localResourceName(RESOURCE_NAMES.deadLetterQueue), {
      region,
      attributes: attributes.deadLetter,
    });
    const sourceAttributes = attributes.source(deadLetter.queueArn);
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
    teardown.add(() => new Promise<void>((resolve) => dynamo.close(() => resolve())));
    const dynamoEndpoint = `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`;
    let dynamoRequests = 0;
    dynamo.on("request", () => {
      dynamoRequests++;
    });
    const tableName = ledgerTableName(LOCAL_STAGE);
    const ddb = new DynamoDBClient({ endpoint: dynamoEndpoint, region, credentials: toSdkCredentials() });
    try {
      await createLedgerTable(ddb, tableName);
    } finally {
      ddb.destroy();
    }

    const secretsManager = await startSecretsManagerStandIn({ region });
    teardown.add(() => secretsManager.close());
    const secretId = localResourceName(RESOURCE_NAMES.credentialsSecret);
    const sm = new SecretsManagerClient({
      endpoint: secretsManager.url,
      region,
      credentials: toSdkCredentials(),
    });
    try {
      // Stored exactly as the deployed secret holds it: one JSON object.
      await sm.send(
        new CreateSecretCommand({ Name: secretId, SecretString: JSON.stringify(options.credentials) }),
      );
    } finally {
      sm.destroy();
    }

    const eventBusName = localResourceName(RESOURCE_NAMES.outcomeBus);
    const eventBridge = await startEventBridgeStandIn({ region, buses: [eventBusName] });
    teardown.add(() => eventBridge.close());

    const queue = (q: { queueName: string; queueUrl: string; queueArn: string }): LocalQueue => ({
      name: q.queueName,
      url: q.queueUrl,
      arn: q.queueArn,
    });
    const queues = { orders: queue(orders), retry: queue(retry), deadLetter: queue(deadLetter) };
    const env: Record<string, string> = {
      ...FAKE_AWS_CREDENTIALS,
      AWS_REGION: region,
      AWS_ENDPOINT_URL_SQS: sqsEndpoint,
      AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.url,
      AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.url,
      ...relaySettingsEnv(options, functionTimeoutSeconds, { queues, tableName, secretId, eventBusName }),
    };
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
      queues,
      tableName,
      dynamoEndpoint,
      dynamoRequests: () => dynamoRequests,
      secretId,
      sqsEndpoint,
      fauxqs,
      secretsManager,
      eventBusName,
      eventBridge,
      visibilityTimeoutSeconds: attributes.visibility,
      stop: () => teardown.run(),
    };
  });
}

/**
 * Creates the relay's queues, table, secret and bus on AWS-compatible services that are already running
 * (LocalStack, moto, a sandbox account, or stand-ins another process started), with the names and settings
 * the stacks use. `stop()` deletes exactly what this created, and so does a failure halfway through.
 */
export async function createRelayResources(
  target: AwsTarget,
  options: LocalEnvironmentOptions,
): Promise<RelayResources> {
  const region = target.region ?? options.region ?? "us-east-1";
  const functionTimeoutSeconds = options.functionTimeoutSeconds ?? 5;
  const attributes = queueSettings(functionTimeoutSeconds);
  const clients: AwsClients = awsClients({ ...target, region });
  const teardown = new Teardown();
  teardown.add(() => clients.destroy());
  return teardown.guard(async () => {
    const createQueue = async (
      logicalName: string,
      queueAttributes: Partial<Record<QueueAttributeName, string>>,
    ): Promise<LocalQueue> => {
      const name = localResourceName(logicalName);
      const { QueueUrl } = await clients.sqs.send(
        new CreateQueueCommand({ QueueName: name, Attributes: queueAttributes }),
      );
      if (!QueueUrl) throw new Error(`CreateQueue ${name} answered no QueueUrl`);
      teardown.add(() => clients.sqs.send(new DeleteQueueCommand({ QueueUrl })));
      const { Attributes } = await clients.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }),
      );
      return { name, url: QueueUrl, arn: Attributes?.QueueArn ?? "" };
    };
    const deadLetter = await createQueue(RESOURCE_NAMES.deadLetterQueue, attributes.deadLetter);
    const sourceAttributes = attributes.source(deadLetter.arn);
    const orders = await createQueue(RESOURCE_NAMES.ordersQueue, sourceAttributes);
    const retry = await createQueue(RESOURCE_NAMES.retryQueue, sourceAttributes);

    const tableName = ledgerTableName(LOCAL_STAGE);
    await createLedgerTable(clients.dynamoDb, tableName);
    teardown.add(() => clients.dynamoDb.send(new DeleteTableCommand({ TableName: tableName })));

    const secretId = localResourceName(RESOURCE_NAMES.credentialsSecret);
    await clients.secretsManager.send(
      new CreateSecretCommand({ Name: secretId, SecretString: JSON.stringify(options.credentials) }),
    );
    teardown.add(() =>
      clients.secretsManager.send(
        new DeleteSecretCommand({ SecretId: secretId, ForceDeleteWithoutRecovery: true }),
      ),
    );

    const eventBusName = localResourceName(RESOURCE_NAMES.outcomeBus);
    await clients.eventBridge.send(new CreateEventBusCommand({ Name: eventBusName }));
    teardown.add(() => clients.eventBridge.send(new DeleteEventBusCommand({ Name: eventBusName })));

    const queues = { orders, retry, deadLetter };
    return {
      env: {
        AWS_REGION: region,
        ...relaySettingsEnv(options, functionTimeoutSeconds, { queues, tableName, secretId, eventBusName }),
      },
      aws: { ...target, region },
      queues,
      tableName,
      secretId,
      eventBusName,
      visibilityTimeoutSeconds: attributes.visibility,
      stop: () => teardown.run(),
    };
  });
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
