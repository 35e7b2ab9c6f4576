import { en } from "zod/locales";
import * as z from "zod/mini";
import { SANDBOX_BASE_URL } from "../imburse/urls.ts";

/**
 * Every tunable of the relay, with its environment variable and default. The stacks write these
 * variables onto the functions, local mode hands them to the handlers' assembly as `env`, and the
 * handlers read them with {@link loadSettings}. `doc` is the source of the README's configuration table:
 * test/readme.test.ts checks each row (variable, default and meaning) against this list.
 */
export const SETTINGS = {
  ordersQueueUrl: { env: "RELAY_ORDERS_QUEUE_URL", doc: "URL of the orders queue (publishers send here)." },
  retryQueueUrl: { env: "RELAY_RETRY_QUEUE_URL", doc: "URL of the delayed retry queue." },
  deadLetterQueueUrl: { env: "RELAY_DLQ_URL", doc: "URL of the dead-letter queue." },
  ledgerTable: {
    env: "RELAY_LEDGER_TABLE",
    doc: "DynamoDB table of the order ledger (one item per tenant and orderRef).",
  },
  secretId: {
    env: "RELAY_IMBURSE_SECRET_ID",
    doc: "Secrets Manager id or ARN of the Imburse credentials JSON.",
  },
  imburseBaseUrl: {
    env: "RELAY_IMBURSE_BASE_URL",
    doc: "Imburse API base URL; production uses `https://api.imbursepayments.com` or a dedicated host. Must be https (plain http only to loopback).",
  },
  imburseTimeoutMs: { env: "RELAY_IMBURSE_TIMEOUT_MS", doc: "Per-request timeout of Imburse calls." },
  retryBaseSeconds: { env: "RELAY_RETRY_BASE_SECONDS", doc: "Base of the full-jitter exponential backoff." },
  retryCapSeconds: { env: "RELAY_RETRY_CAP_SECONDS", doc: "Cap of the backoff (waits over 900 s hop)." },
  retryBudgetSeconds: {
    env: "RELAY_RETRY_BUDGET_SECONDS",
    doc: "How long after its first receipt an order is retried (full-jitter backoff) before it is dead-lettered as `retries-exhausted`; never past the end (UTC) of its earliest instruction's `settledByDate`. The stacks check it stays an hour below the source queues' retention.",
  },
  maxAttempts: {
    env: "RELAY_MAX_ATTEMPTS",
    doc: "An optional cap on attempts, on top of the retry budget.",
  },
  recordConcurrency: {
    env: "RELAY_RECORD_CONCURRENCY",
    doc: "Records of one batch processed at once: the batch size, so a batch's calls to Imburse overlap. Calls in flight to Imburse are at most (mappings' maximum concurrency, 5 + 2) × this = 70 with the defaults; Imburse publishes no rate limits, so lower it (or the mappings' `maximumConcurrency`) if it throttles.",
  },
  remainingTimeMarginMs: {
    env: "RELAY_REMAINING_TIME_MARGIN_MS",
    doc: "Records not started when less than this much Lambda time remains are handed back to SQS, visible again after 5 s (at least 3 s plus twice the Imburse timeout: a record may GET, then POST).",
  },
  secretMaxAgeSeconds: {
    env: "RELAY_SECRET_MAX_AGE_SECONDS",
    doc: "How long fetched credentials are cached.",
  },
  ledgerTtlSeconds: {
    env: "RELAY_LEDGER_TTL_SECONDS",
    doc: "How long the ledger remembers an order after its last write: 16 days, the DLQ's retention (14), the longest retry wait (1) and a day to spare, so a dead letter redriven on its last day still finds its item.",
  },
  leaseSeconds: {
    env: "RELAY_LEASE_SECONDS",
    doc: "How long a delivery's claim on an order lasts; the stacks set the submit function's timeout (never less).",
  },
  stuckAfterSeconds: {
    env: "RELAY_STUCK_AFTER_SECONDS",
    doc: "An order claimed with an ended lease, or that may exist in Imburse, this long counts as stuck (`StuckOrders`).",
  },
  metadataMaxKeys: { env: "RELAY_METADATA_MAX_KEYS", doc: "Metadata: most keys." },
  metadataMaxKeyLength: { env: "RELAY_METADATA_MAX_KEY_LENGTH", doc: "Metadata key length limit." },
  metadataMaxValueLength: { env: "RELAY_METADATA_MAX_VALUE_LENGTH", doc: "Metadata value length limit." },
  probeOrderRef: {
    env: "RELAY_PROBE_ORDER_REF",
    doc: "orderRef the health probe reads; it should not exist, so Imburse answers ORDER_NOT_FOUND.",
  },
  breakerPlan: {
    env: "RELAY_BREAKER_PLAN",
    doc: "JSON: the two alarms the circuit breaker reads (`ImburseUnavailable`, `ImburseErrorRate`), the submit function's event source mappings it converges with their configured batch size and maximum concurrency, and its rules in alarm periods (`breaker` in `lib/config/infrastructure.ts`).",
  },
  redriveMaxMessages: {
    env: "RELAY_REDRIVE_MAX_MESSAGES",
    doc: "Most dead letters one scheduled redrive run moves back.",
  },
  eventBusName: {
    env: "RELAY_EVENT_BUS_NAME",
    doc: "EventBridge bus of the outcome events (one per order on every terminal outcome; see [docs/publishers.md](docs/publishers.md#learn-what-became-of-an-order-outcome-events)).",
  },
  eventsRetryScheduled: {
    env: "RELAY_EVENTS_RETRY_SCHEDULED",
    doc: "`true` also publishes `Order Retry Scheduled` on every retry (noise for most publishers).",
  },
  eventsIncludeOrderDetails: {
    env: "RELAY_EVENTS_INCLUDE_ORDER_DETAILS",
    doc: "`true` adds each instruction's `instructionRef`, `customerRef`, `direction`, `amount` and `currency` to the outcome events. Off: events carry no amounts and no customer refs.",
  },
  outboxSweepAfterSeconds: {
    env: "RELAY_OUTBOX_SWEEP_AFTER_SECONDS",
    doc: "The outbox sweep republishes an outcome event still due this long after its outcome was recorded.",
  },
  outboxSweepMaxEvents: {
    env: "RELAY_OUTBOX_SWEEP_MAX_EVENTS",
    doc: "Most ledger items one outbox sweep run publishes.",
  },
  stage: {
    env: "RELAY_STAGE",
    doc: "The stage a function belongs to (the stacks set it): the `stage` dimension of every metric, beside `service`. Every alarm and dashboard widget reads its own stage only, so a test stage without credentials (its probe emits `ProbeHealthy = 0`) cannot open production's breaker.",
  },
} as const;

/** The name of a relay setting: its environment variable. */
export type SettingName = keyof typeof SETTINGS;

/** Defaults for the settings that have them: the stacks and local mode start from these. */
export const DEFAULTS = {
  imburseBaseUrl: SANDBOX_BASE_URL,
  imburseTimeoutMs: 10_000,
  retryBaseSeconds: 5,
  retryCapSeconds: 900,
  retryBudgetSeconds: 86_400,
  // The batch size of both mappings: a batch's calls to Imburse overlap instead of queueing behind each other.
  recordConcurrency: 10,
  remainingTimeMarginMs: 25_000,
  secretMaxAgeSeconds: 300,
  // The DLQ's retention (14 days), the longest retry wait (1 day) and a day to spare: a dead letter redriven
  // on its last day still finds its ledger item.
  ledgerTtlSeconds: 1_382_400,
  leaseSeconds: 60,
  stuckAfterSeconds: 900,
  metadataMaxKeys: 50,
  metadataMaxKeyLength: 40,
  metadataMaxValueLength: 500,
  probeOrderRef: "imburse-relay-health-probe",
  redriveMaxMessages: 50,
  eventsRetryScheduled: "false",
  eventsIncludeOrderDetails: "false",
  outboxSweepAfterSeconds: 120,
  outboxSweepMaxEvents: 500,
  stage: "local",
} as const;

const positiveInt = z.coerce.number().check(z.int(), z.positive());

const wholeCount = z.number().check(z.int(), z.positive());

const nonEmpty = z.string().check(z.minLength(1));

/** One event source mapping the circuit breaker converges, with the values it restores on closing. */
const mappingPlanSchema = z.object({
  uuid: nonEmpty,
  batchSize: z.number().check(z.int(), z.gte(1), z.lte(10_000)),
  maximumConcurrency: z.number().check(z.int(), z.gte(2), z.lte(1000)),
});

/**
 * What the circuit breaker reads and converges, and its rules, written by the stacks (and local mode) from
 * `breaker` in lib/config/infrastructure.ts. Every duration is in alarm periods, so local mode runs the
 * same rules at periods of seconds.
 */
const breakerPlanSchema = z.object({
  /** The alarms' period: the unit of every duration below. */
  periodSeconds: z.number().check(z.positive()),
  minimumOpenPeriods: wholeCount,
  healthyPeriodsToClose: wholeCount,
  trialPeriods: wholeCount,
  /** Names of the composite "Imburse unavailable" alarm and of the Imburse error-rate alarm. */
  alarms: z.object({ unavailable: nonEmpty, errorRate: nonEmpty }),
  mappings: z.array(mappingPlanSchema).check(z.minLength(1)),
});

/** The parsed {@link SETTINGS.breakerPlan}. */
export type BreakerPlan = z.infer<typeof breakerPlanSchema>;

const resourceId = nonEmpty;

/** `true` or `false`, as an environment variable spells it, with its default spelled the same way. */
const flag = (byDefault: "true" | "false") =>
  z.pipe(
    z._default(z.enum(["true", "false"]), byDefault),
    z.transform((value) => value === "true"),
  );

const settingsSchema = z.object({
  ordersQueueUrl: resourceId,
  retryQueueUrl: resourceId,
  deadLetterQueueUrl: resourceId,
  ledgerTable: resourceId,
  secretId: resourceId,
  breakerPlan: z.pipe(
    z.pipe(
      z.string(),
      z.transform((value, context) => {
        try {
          return JSON.parse(value) as unknown;
        } catch {
          context.issues.push({ code: "custom", message: "is not JSON", input: value });
          return z.NEVER;
        }
      }),
    ),
    breakerPlanSchema,
  ),
  imburseBaseUrl: z._default(z.string().check(z.url()), DEFAULTS.imburseBaseUrl),
  imburseTimeoutMs: z._default(positiveInt, DEFAULTS.imburseTimeoutMs),
  retryBaseSeconds: z._default(z.coerce.number().check(z.positive()), DEFAULTS.retryBaseSeconds),
  retryCapSeconds: z._default(z.coerce.number().check(z.positive()), DEFAULTS.retryCapSeconds),
  retryBudgetSeconds: z._default(positiveInt, DEFAULTS.retryBudgetSeconds),
  maxAttempts: z.optional(positiveInt),
  recordConcurrency: z._default(positiveInt.check(z.lte(100)), DEFAULTS.recordConcurrency),
  remainingTimeMarginMs: z._default(
    z.coerce.number().check(z.int(), z.nonnegative()),
    DEFAULTS.remainingTimeMarginMs,
  ),
  secretMaxAgeSeconds: z._default(z.coerce.number().check(z.nonnegative()), DEFAULTS.secretMaxAgeSeconds),
  ledgerTtlSeconds: z._default(positiveInt, DEFAULTS.ledgerTtlSeconds),
  leaseSeconds: z._default(positiveInt, DEFAULTS.leaseSeconds),
  stuckAfterSeconds: z._default(positiveInt, DEFAULTS.stuckAfterSeconds),
  metadataMaxKeys: z._default(positiveInt, DEFAULTS.metadataMaxKeys),
  metadataMaxKeyLength: z._default(positiveInt, DEFAULTS.metadataMaxKeyLength),
  metadataMaxValueLength: z._default(positiveInt, DEFAULTS.metadataMaxValueLength),
  // The orderRef rule is lib/orders' (which reads config): the probe's assembly applies it.
  probeOrderRef: z._default(nonEmpty, DEFAULTS.probeOrderRef),
  redriveMaxMessages: z._default(positiveInt, DEFAULTS.redriveMaxMessages),
  eventBusName: resourceId,
  eventsRetryScheduled: flag(DEFAULTS.eventsRetryScheduled),
  eventsIncludeOrderDetails: flag(DEFAULTS.eventsIncludeOrderDetails),
  outboxSweepAfterSeconds: z._default(positiveInt, DEFAULTS.outboxSweepAfterSeconds),
  outboxSweepMaxEvents: z._default(positiveInt, DEFAULTS.outboxSweepMaxEvents),
  stage: z._default(nonEmpty, DEFAULTS.stage),
});

/** Every setting, parsed and defaulted. */
type AllSettings = z.infer<typeof settingsSchema>;

/** The resource ids: each function requires the ones it uses; the rest have defaults or are optional. */
export const RESOURCE_SETTINGS = [
  "ordersQueueUrl",
  "retryQueueUrl",
  "deadLetterQueueUrl",
  "ledgerTable",
  "secretId",
  "breakerPlan",
  "eventBusName",
] as const;

type ResourceSetting = (typeof RESOURCE_SETTINGS)[number];

/** What every function needs: the tunables, with defaults. */
export type CommonSettings = Omit<AllSettings, ResourceSetting>;

/** Settings with the resource ids `R` present. */
export type SettingsWith<R extends ResourceSetting> = CommonSettings & Pick<AllSettings, R>;

/** The resource ids each function of the relay requires. */
export const REQUIRED_SETTINGS = {
  submit: [
    "ordersQueueUrl",
    "retryQueueUrl",
    "deadLetterQueueUrl",
    "ledgerTable",
    "secretId",
    "eventBusName",
  ],
  outboxSweep: ["ledgerTable", "eventBusName"],
  ledgerCheck: ["ledgerTable"],
  healthProbe: ["secretId"],
  circuitBreaker: ["breakerPlan", "ledgerTable"],
  redrive: ["deadLetterQueueUrl", "ordersQueueUrl"],
} as const satisfies Record<string, readonly ResourceSetting[]>;

/** The settings of the submit function. */
export type RelaySettings = SettingsWith<(typeof REQUIRED_SETTINGS.submit)[number]>;

/** Thrown when the environment does not describe a usable relay. Names the variable, never a value. */
export class SettingsError extends Error {
  override readonly name = "SettingsError";
}

/**
 * Reads and validates settings from environment variables; the resource ids in `required` must be set
 * (the submit function's by default).
 */
export function loadSettings(env?: NodeJS.ProcessEnv): RelaySettings;
export function loadSettings<R extends ResourceSetting>(
  env: NodeJS.ProcessEnv,
  required: readonly R[],
): SettingsWith<R>;
export function loadSettings(
  env: NodeJS.ProcessEnv = process.env,
  required: readonly ResourceSetting[] = REQUIRED_SETTINGS.submit,
): CommonSettings {
  const raw: Record<string, string | undefined> = {};
  for (const [name, { env: variable }] of Object.entries(SETTINGS)) {
    const value = env[variable];
    if (value !== undefined && value !== "") raw[name] = value;
  }
  const requested = new Set<string>(required);
  const schema = z.partial(
    settingsSchema,
    Object.fromEntries(
      (Object.keys(settingsSchema.shape) as Array<keyof AllSettings>)
        .filter((name) => !requested.has(name) && !(name in DEFAULTS))
        .map((name) => [name, true]),
    ) as { [K in keyof AllSettings]?: true },
  );
  // zod/mini sets no default messages: zod's English ones, for this parse only (imported by name, so the
  // bundles hold no other locale; `z.locales.en` would bring in all of them).
  const parsed = schema.safeParse(raw, { error: en().localeError });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]) as SettingName;
      return `${SETTINGS[name]?.env ?? name}: ${issue.message}`;
    });
    throw new SettingsError(`Invalid relay configuration: ${problems.join("; ")}`);
  }
  return parsed.data as CommonSettings;
}

/** The environment variables that express the given settings (used by the stacks and local mode). */
export function settingsToEnv(
  settings: Partial<Record<SettingName, string | number>>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(settings)) {
    if (value === undefined) continue;
    env[SETTINGS[name as SettingName].env] = String(value);
  }
  return env;
}
