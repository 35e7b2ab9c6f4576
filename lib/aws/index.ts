/**
 * The AWS edge shared by every Lambda and local mode: SDK clients aimed at AWS or at local stand-ins, the
 * Powertools logger, tracer and metrics with the handler wrapper, and the Imburse credentials read from
 * Secrets Manager.
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
