/**
 * Tunables of the AWS infrastructure (`stacks/`): batching, concurrency, redrive, function sizes, alarm
 * thresholds, the circuit breaker's alarm rules and the schedules. Names live in `names.ts` and relay
 * settings in `settings.ts`; this module holds the numbers the stacks need, typed, with the stage-specific
 * overrides in {@link STAGE_OVERRIDES} (the one place).
 */
import { PRODUCTION_BASE_URL } from "../imburse/urls.ts";
import { SQS_MAX_RETENTION_SECONDS } from "./names.ts";
import { DEFAULTS, type SettingName } from "./settings.ts";

/**
 * AWS guidance for Lambda-consumed queues: the visibility timeout is at least six times the function
 * timeout plus the batching window, so a message is not redelivered while a retried invocation of its
 * batch still runs.
 */
const VISIBILITY_TIMEOUT_FACTOR = 6;

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

/** Size of one Lambda function. */
export interface FunctionConfig {
  /** Function timeout, at most 900. */
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
  /** Relay metric `LedgerUnavailable` (Sum): records that met a ledger it could not read or write. */
  ledgerUnavailable: number;
  /** Relay metric `StuckOrders` (Maximum), from the scheduled ledger check. */
  stuckOrders: number;
}

/**
 * When Imburse counts as unavailable, the condition the circuit breaker reacts to. Two alarms, combined by
 * the composite alarm "Imburse unavailable" (ALARM when either is in ALARM), whose ALARM pauses the submit
 * function's event source mappings and whose OK resumes them. Local mode evaluates the same rules over its
 * local metrics with these numbers.
 *
 * Once the breaker has paused the mappings, the submit function makes no calls, so the error-rate alarm
 * returns to OK after a period and the breaker closes again: a trial of live traffic every period, unless
 * the probe still fails (the probe keeps the breaker open until Imburse answers).
 */
export interface BreakerConfig {
  /** Period of both alarms, in seconds (a multiple of 60, and at least the probe's interval). */
  periodSeconds: number;
  /**
   * Consecutive periods whose probe failed (`ProbeHealthy` Minimum < 1) before the probe alarm fires.
   * Missing probe datapoints: see {@link PROBE_ALARM_MISSING_DATA}.
   */
  probeUnhealthyPeriods: number;
  /**
   * Fraction (0–1) of Imburse calls of one period that failed (`ImburseError` Sum / `ImburseLatency`
   * SampleCount) at which the error-rate alarm fires.
   */
  errorRateThreshold: number;
  /** Periods with fewer Imburse calls never trip the error-rate alarm: two failures of three are noise. */
  minimumCalls: number;
  /**
   * Hysteresis: periods the breaker stays open at least, however soon the alarm returns to OK, so a
   * flapping Imburse costs one trial per this many periods rather than one per period.
   */
  minimumOpenPeriods: number;
  /** Hysteresis: whole periods the "Imburse unavailable" alarm must have been OK before the trial starts. */
  healthyPeriodsToClose: number;
  /**
   * Half-open: periods the trial runs at {@link TRIAL_SCALING}; the configured batch size and concurrency
   * return only if the error-rate alarm stayed out of ALARM throughout. At least 2: the error-rate alarm
   * needs a full period of trial traffic to judge it.
   */
  trialPeriods: number;
}

/**
 * The least traffic AWS allows an SQS event source mapping (MaximumConcurrency is 2 to 1000; BatchSize
 * at least 1): what the breaker's trial runs at before it restores the configured values.
 */
export const TRIAL_SCALING = { batchSize: 1, maximumConcurrency: 2 } as const;

/** An EventBridge Scheduler expression for a recurring schedule (times are UTC). */
export type ScheduleExpression = `rate(${string})` | `cron(${string})`;

/** The scheduled DLQ redrive. */
export interface RedriveScheduleConfig {
  /**
   * Off by default: moving dead letters back is an operator's decision until the relay's transient
   * failures are understood. When off, the redrive function is not deployed at all.
   */
  enabled: boolean;
  /** How often it runs; each run moves at most `RELAY_REDRIVE_MAX_MESSAGES` (settings.ts). */
  expression: ScheduleExpression;
}

/** The outcome events' bus (stacks/outcomes.ts). */
export interface OutcomesConfig {
  /** Days the bus's archive keeps every event, for replays to a new consumer (0 keeps them for ever). */
  archiveRetentionDays: number;
  /** Relay metric `OutcomeEventFailed` (Sum) at which the failed-publish alarm fires. */
  failedEventsAlarmThreshold: number;
}

/** The scheduled functions. */
export interface SchedulesConfig {
  /** How often the health probe runs. Keep it at most {@link BreakerConfig.periodSeconds}. */
  healthProbe: ScheduleExpression;
  /** How often the stuck-order check runs. */
  ledgerCheck: ScheduleExpression;
  /** How often the outbox sweep republishes outcome events still due. */
  outboxSweep: ScheduleExpression;
  /**
   * How often the circuit breaker reads the alarms and converges the mappings, besides every alarm event:
   * a lost or late event is repaired within this long.
   */
  circuitBreaker: ScheduleExpression;
  redrive: RedriveScheduleConfig;
}

/** Who may touch the Imburse credentials secret, besides the functions that read it. */
export interface CredentialsConfig {
  /**
   * IAM principal ARNs (`arn:aws:iam::<account>:role/<name>` or `…:user/<name>`) allowed to put the
   * secret's value. The secret's resource policy denies `PutSecretValue` to every other principal except
   * the role that deploys the stage (which must be able to update and remove the secret).
   */
  operatorPrincipalArns: string[];
}

/** Everything the stacks read. */
export interface InfrastructureConfig {
  queues: QueuesConfig;
  ordersSubscription: SubscriptionConfig;
  retrySubscription: SubscriptionConfig;
  /** Must fit the Imburse timeout plus the remaining-time margin of the relay. */
  submitFunction: FunctionConfig;
  /** Must fit a token exchange and a GET, each up to the Imburse timeout. */
  healthProbeFunction: FunctionConfig;
  /** Must fit one run: up to `RELAY_REDRIVE_MAX_MESSAGES` dead letters received, sent and deleted. */
  redriveFunction: FunctionConfig;
  /** Must fit one DescribeAlarms, a read and a write of its state, a Get and an Update of each mapping. */
  circuitBreakerFunction: FunctionConfig;
  /** Must fit one query of every shard of the ledger's open-orders index. */
  ledgerCheckFunction: FunctionConfig;
  /** Must fit one run: up to `RELAY_OUTBOX_SWEEP_MAX_EVENTS` items read, published and recorded. */
  outboxSweepFunction: FunctionConfig;
  outcomes: OutcomesConfig;
  alarms: AlarmsConfig;
  breaker: BreakerConfig;
  schedules: SchedulesConfig;
  credentials: CredentialsConfig;
  /**
   * Relay settings written onto every function on top of `DEFAULTS` (settings.ts). Resource ids (queue
   * URLs, table, secret, mapping ids) are added by the stacks, each function only its own, and cannot be
   * set here.
   */
  settings: Partial<Record<SettingName, string | number>>;
}

/**
 * Per-stage overrides: each section is merged key by key over {@link BASE_CONFIG}, and `schedules.redrive`
 * one level deeper (a stage may switch the redrive on and keep the base expression).
 */
export type StageOverrides = {
  [Section in Exclude<keyof InfrastructureConfig, "schedules">]?: Partial<InfrastructureConfig[Section]>;
} & {
  schedules?: Partial<Omit<SchedulesConfig, "redrive">> & { redrive?: Partial<RedriveScheduleConfig> };
};

/**
 * How the probe alarm treats a period without a `ProbeHealthy` datapoint: as `missing`, with the alarm
 * topic also notified on INSUFFICIENT_DATA (stacks/availability.ts).
 *
 * - Not `breaching`: a missed run (a Scheduler hiccup, a cold start past the period) is no evidence that
 *   Imburse is down, and would open the breaker by itself, holding every order back.
 * - Not `notBreaching` or `ignore`: a probe that stops running (deleted schedule, crashing handler) would
 *   then look healthy, or keep its last state, silently. With `missing`, an evaluation range without any
 *   datapoint moves the alarm to INSUFFICIENT_DATA, which tells the operator; the composite alarm counts
 *   only ALARM, so the breaker stays closed (or closes): without a probe, orders keep flowing and the
 *   error-rate alarm still guards them.
 */
export const PROBE_ALARM_MISSING_DATA = "missing";

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
  // Token exchange + GET at the 10 s Imburse timeout each, plus a margin.
  healthProbeFunction: { timeoutSeconds: 30, memoryMb: 256 },
  // 50 dead letters per run with room to spare; a run short of time stops and leaves the rest for the next.
  redriveFunction: { timeoutSeconds: 300, memoryMb: 256 },
  circuitBreakerFunction: { timeoutSeconds: 30, memoryMb: 256 },
  ledgerCheckFunction: { timeoutSeconds: 60, memoryMb: 256 },
  outboxSweepFunction: { timeoutSeconds: 120, memoryMb: 256 },
  // A month to replay from after a consumer's bug; an event is a few hundred bytes.
  outcomes: { archiveRetentionDays: 30, failedEventsAlarmThreshold: 1 },
  alarms: {
    periodSeconds: 300,
    evaluationPeriods: 1,
    ordersOldestMessageAgeSeconds: 300,
    retryQueueDepth: 100,
    functionErrors: 1,
    functionThrottles: 1,
    deadLetteredOrders: 5,
    imburseErrors: 10,
    ledgerUnavailable: 1,
    stuckOrders: 1,
  },
  // Open after 10 minutes of failed probes, or one 5-minute period with half of at least 20 calls failing;
  // open for at least 10 minutes and until the alarm was OK for 5; then a 10-minute trial at 1 × 2.
  breaker: {
    periodSeconds: 300,
    probeUnhealthyPeriods: 2,
    errorRateThreshold: 0.5,
    minimumCalls: 20,
    minimumOpenPeriods: 2,
    healthyPeriodsToClose: 1,
    trialPeriods: 2,
  },
  schedules: {
    healthProbe: "rate(5 minutes)",
    ledgerCheck: "rate(5 minutes)",
    outboxSweep: "rate(5 minutes)",
    circuitBreaker: "rate(1 minute)",
    redrive: { enabled: false, expression: "rate(1 hour)" },
  },
  credentials: { operatorPrincipalArns: [] },
  settings: {},
};

/** The one place for stage-specific values. Stages not listed run {@link BASE_CONFIG}. */
export const STAGE_OVERRIDES: Readonly<Record<string, StageOverrides>> = {
  // Every other stage talks to the Imburse sandbox (the settings default).
  production: { settings: { imburseBaseUrl: PRODUCTION_BASE_URL } },
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
    healthProbeFunction: { ...BASE_CONFIG.healthProbeFunction, ...override.healthProbeFunction },
    redriveFunction: { ...BASE_CONFIG.redriveFunction, ...override.redriveFunction },
    circuitBreakerFunction: { ...BASE_CONFIG.circuitBreakerFunction, ...override.circuitBreakerFunction },
    ledgerCheckFunction: { ...BASE_CONFIG.ledgerCheckFunction, ...override.ledgerCheckFunction },
    outboxSweepFunction: { ...BASE_CONFIG.outboxSweepFunction, ...override.outboxSweepFunction },
    outcomes: { ...BASE_CONFIG.outcomes, ...override.outcomes },
    alarms: { ...BASE_CONFIG.alarms, ...override.alarms },
    breaker: { ...BASE_CONFIG.breaker, ...override.breaker },
    schedules: {
      ...BASE_CONFIG.schedules,
      ...override.schedules,
      redrive: { ...BASE_CONFIG.schedules.redrive, ...override.schedules?.redrive },
    },
    credentials: { ...BASE_CONFIG.credentials, ...override.credentials },
    settings: { ...BASE_CONFIG.settings, ...override.settings },
  };
}

const RATE_UNITS: Readonly<Record<string, number>> = {
  minute: 60,
  minutes: 60,
  hour: 3600,
  hours: 3600,
  day: 86_400,
  days: 86_400,
};

/**
 * Seconds between two runs of a `rate(…)` schedule; undefined for a `cron(…)` one. Local mode uses it to
 * run the breaker's schedule as often, relative to the alarm period, as the stacks do.
 */
export function rateSeconds(expression: ScheduleExpression): number | undefined {
  const match = /^rate\((\d+) (\w+)\)$/.exec(expression);
  const unit = match ? RATE_UNITS[match[2] ?? ""] : undefined;
  return match && unit ? Number(match[1]) * unit : undefined;
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

/**
 * How far the retry budget must stay below the source queues' retention: an order that waits out a paused
 * breaker, then a last hop of its backoff, must still be in a queue when its last attempt is due.
 */
const RETRY_BUDGET_RETENTION_MARGIN_SECONDS = 3_600;

/** Raised by {@link assertRetryBudgetFits} for a configuration that would let SQS drop orders. */
export class InfrastructureConfigError extends Error {
  override readonly name = "InfrastructureConfigError";
}

/**
 * Checks that an order's retries end (`RELAY_RETRY_BUDGET_SECONDS`) an hour before the source queues would
 * drop its message (`queues.sourceRetentionSeconds`). The stacks call it before creating anything.
 */
export function assertRetryBudgetFits(config: InfrastructureConfig): void {
  const budget = Number(config.settings.retryBudgetSeconds ?? DEFAULTS.retryBudgetSeconds);
  const limit = config.queues.sourceRetentionSeconds - RETRY_BUDGET_RETENTION_MARGIN_SECONDS;
  if (!(budget > 0 && budget <= limit)) {
    throw new InfrastructureConfigError(
      `RELAY_RETRY_BUDGET_SECONDS (${budget}) must be at most the source queues' retention ` +
        `(${config.queues.sourceRetentionSeconds} s) less ${RETRY_BUDGET_RETENTION_MARGIN_SECONDS} s`,
    );
  }
}
