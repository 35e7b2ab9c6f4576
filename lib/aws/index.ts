/**
 * TODO module doc for aws
 */
export {
  type AwsClients,
  type AwsService,
  type AwsTarget,
  awsClients,
  cloudWatchClient,
  dynamoDbClient,
  eventBridgeClient,
  lambdaClient,
  sqsClient,
} from "./clients.ts";
export { imburseCredentials, powertools, withPowertools } from "./powertools.ts";
export { CredentialsUnavailableError, secretCredentials } from "./secret-credentials.ts";
