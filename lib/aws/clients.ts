import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SQSClient } from "@aws-sdk/client-sqs";

/**
 * The AWS SDK clients the relay uses. Endpoints come from the SDK's own `AWS_ENDPOINT_URL_*`
 * variables, which is how local mode points them at the stand-ins.
 */
export function sqsClient(env: NodeJS.ProcessEnv = process.env): SQSClient {
  // With an endpoint override the queue URL's host (sqs.<region>.localhost) must not become the endpoint.
  return new SQSClient(env.AWS_ENDPOINT_URL_SQS ? { useQueueUrlAsEndpoint: false } : {});
}

export function dynamoDbClient(): DynamoDBClient {
  return new DynamoDBClient({});
}

export function secretsManagerClient(): SecretsManagerClient {
  return new SecretsManagerClient({});
}

export function lambdaClient(): LambdaClient {
  return new LambdaClient({});
}
