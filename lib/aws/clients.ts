import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SQSClient, type SQSClientConfig } from "@aws-sdk/client-sqs";

/**
 * Timeouts of every AWS call: the SDK sets none by default, and a hung connection would otherwise outlive
 * the record's time budget.
 */
const requestHandler = { connectionTimeout: 3_000, requestTimeout: 10_000 };

/**
 * Where and as whom a client talks. Every field left out comes from the SDK's own defaults (in Lambda: the
 * function's region and role, AWS's endpoints, or the standard `AWS_ENDPOINT_URL_*` variables); local mode
 * and tests set them to reach stand-ins without touching `process.env`.
 */
export interface AwsClientOptions {
  endpoint?: string | undefined;
  region?: string | undefined;
  credentials?: { accessKeyId: string; secretAccessKey: string } | undefined;
}

/**
 * The SDK's default logger, but without `info`. The SDK's logger middleware builds a redacted copy of every
 * request and response for `logger?.info?.(…)`, even when the logger is its no-op default: about 0.06 ms of
 * CPU per DynamoDB call. Without `info` it skips that; nothing is logged either way.
 */
const sdkLogger = {
  debug: () => undefined,
  warn: () => undefined,
  error: () => undefined,
} as unknown as NonNullable<SQSClientConfig["logger"]>;

function clientConfig(options: AwsClientOptions) {
  return {
    requestHandler,
    logger: sdkLogger,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.region ? { region: options.region } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  };
}

/**
 * The relay's SQS client. With an endpoint (given, or from `AWS_ENDPOINT_URL_SQS` in `env`) the queue URL's
 * host (sqs.<region>.localhost) must not become the endpoint.
 */
export function sqsClient(options: AwsClientOptions = {}, env: NodeJS.ProcessEnv = process.env): SQSClient {
  const endpointOverride = options.endpoint ?? env.AWS_ENDPOINT_URL_SQS ?? env.AWS_ENDPOINT_URL;
  return new SQSClient({
    ...clientConfig(options),
    ...(endpointOverride ? { useQueueUrlAsEndpoint: false } : {}),
  });
}

/** The order ledger's DynamoDB client. */
export function dynamoDbClient(options: AwsClientOptions = {}): DynamoDBClient {
  return new DynamoDBClient(clientConfig(options));
}

/** The credentials secret's client. */
export function secretsManagerClient(options: AwsClientOptions = {}): SecretsManagerClient {
  return new SecretsManagerClient(clientConfig(options));
}

/** The circuit breaker's client for the event source mappings. */
export function lambdaClient(options: AwsClientOptions = {}): LambdaClient {
  return new LambdaClient(clientConfig(options));
}

/** The outcome events' client. */
export function eventBridgeClient(options: AwsClientOptions = {}): EventBridgeClient {
  return new EventBridgeClient(clientConfig(options));
}

/** The circuit breaker's client for the alarms' states. */
export function cloudWatchClient(options: AwsClientOptions = {}): CloudWatchClient {
  return new CloudWatchClient(clientConfig(options));
}

/** The AWS services the relay and local mode talk to. */
export type AwsService = "sqs" | "dynamoDb" | "secretsManager" | "eventBridge" | "lambda" | "cloudWatch";

/** One region and set of credentials, and an endpoint per service (AWS's own where none is given). */
export interface AwsTarget {
  region?: string | undefined;
  credentials?: AwsClientOptions["credentials"];
  endpoints?: Partial<Record<AwsService, string>>;
}

/** One client of each service the relay uses. */
export interface AwsClients {
  sqs: SQSClient;
  dynamoDb: DynamoDBClient;
  secretsManager: SecretsManagerClient;
  eventBridge: EventBridgeClient;
  lambda: LambdaClient;
  cloudWatch: CloudWatchClient;
  /** Closes their connections. */
  destroy(): void;
}

/** Clients of every service for `target`, which is how local mode reaches its stand-ins. */
export function awsClients(target: AwsTarget): AwsClients {
  const options = (service: AwsService): AwsClientOptions => ({
    region: target.region,
    credentials: target.credentials,
    endpoint: target.endpoints?.[service],
  });
  const clients = {
    sqs: sqsClient(options("sqs")),
    dynamoDb: dynamoDbClient(options("dynamoDb")),
    secretsManager: secretsManagerClient(options("secretsManager")),
    eventBridge: eventBridgeClient(options("eventBridge")),
    lambda: lambdaClient(options("lambda")),
    cloudWatch: cloudWatchClient(options("cloudWatch")),
  };
  return {
    ...clients,
    destroy: () => {
      for (const client of Object.values(clients)) client.destroy();
    },
  };
}
