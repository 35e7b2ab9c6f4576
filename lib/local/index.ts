/**
 * Local mode (`npm start`, `imburse-relay local`): the relay's Lambdas run in-process against local
 * stand-ins for SQS, DynamoDB, Secrets Manager, EventBridge, CloudWatch and the Lambda API, with the
 * simulator for Imburse, the CloudWatch alarm emulator, progress and a report.
 */
export { alarmStateChangeEvent } from "./alarm-emulator.ts";
export { type CloudWatchStandIn, type LocalAlarm, startCloudWatchStandIn } from "./cloudwatch-api.ts";
export { DEMO_FAULTS, demoLines } from "./demo.ts";
export { externalAwsTarget } from "./endpoints.ts";
export {
  createLedgerTable,
  createRelayResources,
  type LocalEnvironment,
  type LocalQueue,
  startLocalEnvironment,
} from "./environment.ts";
export { type DeliveredEvent, type EventBridgeStandIn, startEventBridgeStandIn } from "./eventbridge.ts";
export { type LambdaApiStandIn, startLambdaApiStandIn } from "./lambda-api.ts";
export { lambdaContext, toSqsRecord } from "./lambda-event.ts";
export { LINE_OUTCOMES, type ReportEntry } from "./outcomes.ts";
export {
  LOCAL_OPERATIONS_DEFAULTS,
  LOCAL_RELAY_DEFAULTS,
  type LocalImburse,
  type LocalRunResult,
  runLocal,
} from "./run-local.ts";
export { type SecretsManagerStandIn, startSecretsManagerStandIn } from "./secrets-manager.ts";
