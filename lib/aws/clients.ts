import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SQSClient } from "@aws-sdk/client-sqs";

/**
 * Timeouts of every AWS call: the SDK sets none by default, and a hung connection would otherwise outlive
 * the record's time budget.
 */
const requestHandler = { connectionTimeout: 3_000, requestTimeout: 10_000 };

/**
 * The AWS SDK clients the relay uses. Endpoints come from the SDK's own `AWS_ENDPOINT_URL_*`
 * variables, which is how local mode points them at the stand-ins.
 */
export function sqsClient(env: NodeJS.ProcessEnv = process.env): SQSClient {
  // With an endpoint override the queue URL's host (sqs.<region>.localhost) must not become the endpoint.
  return new SQSClient({
    requestHandler,
    ...(env.AWS_ENDPOINT_URL_SQS ? { useQueueUrlAsEndpoint: false } : {}),
  });
}

export function dynamoDbClient(): DynamoDBClient {
  return new DynamoDBClient({ requestHandler });
}

export function secretsManagerClient(): SecretsManagerClient {
  return new SecretsManagerClient({ requestHandler });
}

export function lambdaClient(): LambdaClient {
  return new LambdaClient({ requestHandler });
}

/** The outcome events' client; local mode points it at its stand-in with `AWS_ENDPOINT_URL_EVENTBRIDGE`. */
export function eventBridgeClient(): EventBridgeClient {
  return new EventBridgeClient({ requestHandler });
}

export function cloudWatchClient(): CloudWatchClient {
  return new CloudWatchClient({ requestHandler });
}
