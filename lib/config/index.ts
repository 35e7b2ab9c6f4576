/**
 * The one source of names, settings and infrastructure numbers: resource and metric names, the relay's
 * settings (environment variables, their defaults and documentation) and the per-stage infrastructure
 * configuration. The stacks import only this module, so it must never import runtime code (it reads
 * Imburse's hosts from lib/imburse/urls.ts, a constants-only file).
 */
export {
  ALARM_EMAIL_ENV,
  type AlarmsConfig,
  alarmEmails,
  assertRetryBudgetFits,
  type BreakerConfig,
  type FunctionConfig,
  type InfrastructureConfig,
  infrastructureConfig,
  PROBE_ALARM_MISSING_DATA,
  rateSeconds,
  type ScheduleExpression,
  STAGE_OVERRIDES,
  type StageOverrides,
  type SubscriptionConfig,
  TRIAL_SCALING,
  visibilityTimeoutSeconds,
} from "./infrastructure.ts";
export {
  AVAILABILITY_ALARMS,
  BREAKER_STATE_KEY,
  type BreakerPhase,
  credentialsSecretName,
  LEDGER_OPEN_INDEX,
  LEDGER_TABLE,
  ledgerTableName,
  MESSAGE_ATTRIBUTES,
  METRICS,
  ORDER_BODY_MAX_BYTES,
  OUTCOME_EVENTS,
  RELAY_ATTRIBUTE_NAMES,
  RELAY_ATTRIBUTES_MAX_BYTES,
  RESOURCE_NAMES,
  relayMetricDimensions,
  SERVICE_NAME,
  SOURCE_QUEUE_MAX_MESSAGE_BYTES,
  SQS_MAX_BATCH_REQUEST_BYTES,
  SQS_MAX_BATCH_SIZE,
  SQS_MAX_DELAY_SECONDS,
  SQS_MAX_MESSAGE_ATTRIBUTES,
  SQS_MAX_MESSAGE_BYTES,
  SQS_MAX_RETENTION_SECONDS,
} from "./names.ts";
export {
  type BreakerPlan,
  type CommonSettings,
  DEFAULTS,
  loadSettings,
  REQUIRED_SETTINGS,
  RESOURCE_SETTINGS,
  type RelaySettings,
  SETTINGS,
  type SettingName,
  SettingsError,
  settingsToEnv,
} from "./settings.ts";
