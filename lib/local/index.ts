/**
 * TODO module doc for local
 */
export { type AlarmState, alarmStateChangeEvent } from "./alarm-emulator.ts";
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
export { LOCAL_OPERATIONS_DEFAULTS, LOCAL_RELAY_DEFAULTS, type LocalImburse, runLocal } from "./run-local.ts";
export { type SecretsManagerStandIn, startSecretsManagerStandIn } from "./secrets-manager.ts";
