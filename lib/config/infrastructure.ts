/**
 * Tunables of the AWS infrastructure (`stacks/`): batching, concurrency, redrive, function size and alarm
 * thresholds. Names live in `names.ts` and relay settings in `settings.ts`; this module holds the numbers
 * the stacks need, typed, with the stage-specific overrides in {@link STAGE_OVERRIDES} (the one place).
 */
import { SQS_MAX_RETENTION_SECONDS } from "./names.ts";
import type { SettingName } from "./settings.ts";

/**
 * AWS guidance for Lambda-consumed queues: the visibility timeout is at least six times the function
 * timeout plus the batching window, so a message is not redelivered while a retried invocation of its
 * batch still runs.
 */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

/** Deploy-time environment variable: comma-separated e-mail addresses subscribed to the alarm topic. */
export const ALARM_EMAIL_ENV = "RELAY_ALARM_EMAIL";

/** How one queue feeds the submit function (its Lambda event source mapping). */
export interface SubscriptionConfig {
  /** Records per invocation, 1–10 (more would need a longer window and a longer function timeout). */
  batchSize: number;
  /** Seconds the mapping waits to fill a batch, 0–300. Adds to the latency of a quiet queue. */
  batchingWindowSeconds: number;
  /**
   * Most concurrent invocations this mapping starts, 2–1000 (`ScalingConfig.MaximumConcurrency`). Caps the
   * load on Imburse without the throttling that reserved concurrency would cause on the queue.
   */
  maximumConcurrency: number;
}

/** The SQS queues. */
export interface QueuesConfig {
  /** Receives of one message on Orders or Retry before SQS moves it to the DLQ. */
  maxReceiveCount: number;
  /**
   * Retention of Orders and Retry. Kept below the DLQ's: a redriven message keeps its original enqueue
   * time, so a DLQ that retains no longer than its sources would drop it early.
   */
  sourceRetentionSeconds: number;
  /** Retention of the DLQ: dead letters wait for an operator, so as long as SQS allows. */
  deadLetterRetentionSeconds: number;
}

/** The submit Lambda function. */
export interface SubmitFunctionConfig {
  /** Function timeout. Must fit the Imburse timeout plus the remaining-time margin of the relay. */
  timeoutSeconds: number;
  /** Memory, which also sets the CPU share. */
  memoryMb: number;
}

/**
 * Alarm thresholds. Every alarm fires when its statistic over one period is greater than or equal to
 * its threshold, and treats missing data as not breaching (no traffic is not an incident). The DLQ alarm
 * has no threshold to tune: it fires on the first dead letter.
 */
export interface AlarmsConfig {
  /** Period of every alarm, in seconds (a multiple of 60). */
  periodSeconds: number;
  /** Periods that must breach before the alarm fires. */
  evaluationPeriods: number;
  /** Orders `ApproximateAgeOfOldestMessage` (Maximum), in seconds: the relay falls behind. */
  ordersOldestMessageAgeSeconds: number;
  /** Retry queue messages waiting (visible plus delayed, Maximum): Imburse keeps failing. */
  retryQueueDepth: number;
  /** Submit function `Errors` (Sum): invocations that crashed or timed out, not per-record failures. */
  functionErrors: number;
  /** Submit function `Throttles` (Sum). */
  functionThrottles: number;
  /** Relay metric `OrderDeadLettered` (Sum). */
  deadLetteredOrders: number;
  /** Relay metric `ImburseError` (Sum). */
  imburseErrors: number;
}

/** Everything the stacks read. */
export interface InfrastructureConfig {
  queues: QueuesConfig;
  ordersSubscription: SubscriptionConfig;
  retrySubscription: SubscriptionConfig;
  submitFunction: SubmitFunctionConfig;
  alarms: AlarmsConfig;
  /**
   * Relay settings written onto the submit function on top of `DEFAULTS` (settings.ts). Resource ids
   * (queue URLs, table, secret) are added by the stacks and cannot be set here.
   */
  settings: Partial<Record<SettingName, string | number>>;
}

/** Per-stage overrides: each section is merged key by key over {@link BASE_CONFIG}. */
export type StageOverrides = {
  [Section in keyof InfrastructureConfig]?: Partial<InfrastructureConfig[Section]>;
};

/** The configuration of every stage without an override. */
export const BASE_CONFIG: InfrastructureConfig = {
  queues: {
    maxReceiveCount: 5,
    sourceRetentionSeconds: 4 * 24 * 3600,
    deadLetterRetentionSeconds: SQS_MAX_RETENTION_SECONDS,
  },
  ordersSubscription: { batchSize: 10, batchingWindowSeconds: 2, maximumConcurrency: 5 },
  // Retries are the orders Imburse already failed: fewer at a time so a struggling Imburse recovers.
  retrySubscription: { batchSize: 10, batchingWindowSeconds: 2, maximumConcurrency: 2 },
  submitFunction: { timeoutSeconds: 60, memoryMb: 512 },
  alarms: {
    periodSeconds: 300,
    evaluationPeriods: 1,
    ordersOldestMessageAgeSeconds: 300,
    retryQueueDepth: 100,
    functionErrors: 1,
    functionThrottles: 1,
    deadLetteredOrders: 5,
    imburseErrors: 10,
  },
  settings: {},
};

/** The one place for stage-specific values. Stages not listed run {@link BASE_CONFIG}. */
export const STAGE_OVERRIDES: Readonly<Record<string, StageOverrides>> = {
  // Every other stage talks to the Imburse sandbox (the settings default).
  production: { settings: { imburseBaseUrl: "https://api.imbursepayments.com" } },
};

/** The configuration of a stage: {@link BASE_CONFIG} with that stage's {@link STAGE_OVERRIDES}. */
export function infrastructureConfig(
  stage: string,
  overrides: Readonly<Record<string, StageOverrides>> = STAGE_OVERRIDES,
): InfrastructureConfig {
  const override = overrides[stage] ?? {};
  return {
    queues: { ...BASE_CONFIG.queues, ...override.queues },
    ordersSubscription: { ...BASE_CONFIG.ordersSubscription, ...override.ordersSubscription },
    retrySubscription: { ...BASE_CONFIG.retrySubscription, ...override.retrySubscription },
    submitFunction: { ...BASE_CONFIG.submitFunction, ...override.submitFunction },
    alarms: { ...BASE_CONFIG.alarms, ...override.alarms },
    settings: { ...BASE_CONFIG.settings, ...override.settings },
  };
}

/** Visibility timeout of a queue consumed by a function: {@link VISIBILITY_TIMEOUT_FACTOR} × timeout + window. */
export function visibilityTimeoutSeconds(
  functionTimeoutSeconds: number,
  batchingWindowSeconds: number,
): number {
  return VISIBILITY_TIMEOUT_FACTOR * functionTimeoutSeconds + batchingWindowSeconds;
}

/** The alarm e-mail addresses from {@link ALARM_EMAIL_ENV}; none when unset or blank. */
export function alarmEmails(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env[ALARM_EMAIL_ENV] ?? "")
    .split(",")
    .map((address) => address.trim())
    .filter((address) => address !== "");
}
