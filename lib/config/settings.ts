import { z } from "zod";

/**
 * Every tunable of the relay, with its environment variable and default. The stacks write these
 * variables onto the functions, local mode writes them into the in-process environment, and the
 * handlers read them with {@link loadSettings}. The README's configuration table mirrors this list.
 */
export const SETTINGS = {
  ordersQueueUrl: { env: "RELAY_ORDERS_QUEUE_URL", doc: "URL of the orders queue (publishers send here)." },
  retryQueueUrl: { env: "RELAY_RETRY_QUEUE_URL", doc: "URL of the delayed retry queue." },
  deadLetterQueueUrl: { env: "RELAY_DLQ_URL", doc: "URL of the dead-letter queue." },
  idempotencyTable: { env: "RELAY_IDEMPOTENCY_TABLE", doc: "DynamoDB table for Powertools Idempotency." },
  secretId: {
    env: "RELAY_IMBURSE_SECRET_ID",
    doc: "Secrets Manager id or ARN of the Imburse credentials JSON.",
  },
  imburseBaseUrl: {
    env: "RELAY_IMBURSE_BASE_URL",
    doc: "Imburse API base URL (sandbox by default; https://api.imbursepayments.com or a dedicated host in production).",
  },
  imburseTimeoutMs: { env: "RELAY_IMBURSE_TIMEOUT_MS", doc: "Per-request timeout of Imburse calls." },
  retryBaseSeconds: { env: "RELAY_RETRY_BASE_SECONDS", doc: "Base of the full-jitter exponential backoff." },
  retryCapSeconds: { env: "RELAY_RETRY_CAP_SECONDS", doc: "Cap of the backoff (waits over 900 s hop)." },
  maxAttempts: {
    env: "RELAY_MAX_ATTEMPTS",
    doc: "Attempts before an order is dead-lettered as retries-exhausted.",
  },
  recordConcurrency: { env: "RELAY_RECORD_CONCURRENCY", doc: "Records of one batch processed at once." },
  remainingTimeMarginMs: {
    env: "RELAY_REMAINING_TIME_MARGIN_MS",
    doc: "Records not started when less than this much Lambda time remains are handed back to SQS (keep it above twice the Imburse timeout: a record may GET then POST).",
  },
  secretMaxAgeSeconds: {
    env: "RELAY_SECRET_MAX_AGE_SECONDS",
    doc: "How long fetched credentials are cached.",
  },
  idempotencyTtlSeconds: {
    env: "RELAY_IDEMPOTENCY_TTL_SECONDS",
    doc: "How long a completed order is remembered.",
  },
  metadataMaxKeys: { env: "RELAY_METADATA_MAX_KEYS", doc: "Order/instruction metadata: most keys." },
  metadataMaxKeyLength: { env: "RELAY_METADATA_MAX_KEY_LENGTH", doc: "Metadata key length limit." },
  metadataMaxValueLength: { env: "RELAY_METADATA_MAX_VALUE_LENGTH", doc: "Metadata value length limit." },
} as const;

export type SettingName = keyof typeof SETTINGS;

/** Defaults for the settings that have them: the stacks and local mode start from these. */
export const DEFAULTS = {
  imburseBaseUrl: "https://sandbox-api.imbursepayments.com",
  imburseTimeoutMs: 10_000,
  retryBaseSeconds: 5,
  retryCapSeconds: 900,
  maxAttempts: 8,
  recordConcurrency: 5,
  remainingTimeMarginMs: 25_000,
  secretMaxAgeSeconds: 300,
  idempotencyTtlSeconds: 1_209_600,
  metadataMaxKeys: 50,
  metadataMaxKeyLength: 40,
  metadataMaxValueLength: 500,
} as const;

const positiveInt = z.coerce.number().int().positive();

const settingsSchema = z.object({
  ordersQueueUrl: z.string().min(1).optional(),
  retryQueueUrl: z.string().min(1),
  deadLetterQueueUrl: z.string().min(1),
  idempotencyTable: z.string().min(1),
  secretId: z.string().min(1),
  imburseBaseUrl: z.string().url().default(DEFAULTS.imburseBaseUrl),
  imburseTimeoutMs: positiveInt.default(DEFAULTS.imburseTimeoutMs),
  retryBaseSeconds: z.coerce.number().positive().default(DEFAULTS.retryBaseSeconds),
  retryCapSeconds: z.coerce.number().positive().default(DEFAULTS.retryCapSeconds),
  maxAttempts: positiveInt.default(DEFAULTS.maxAttempts),
  recordConcurrency: positiveInt.max(100).default(DEFAULTS.recordConcurrency),
  remainingTimeMarginMs: z.coerce.number().int().nonnegative().default(DEFAULTS.remainingTimeMarginMs),
  secretMaxAgeSeconds: z.coerce.number().nonnegative().default(DEFAULTS.secretMaxAgeSeconds),
  idempotencyTtlSeconds: positiveInt.default(DEFAULTS.idempotencyTtlSeconds),
  metadataMaxKeys: positiveInt.default(DEFAULTS.metadataMaxKeys),
  metadataMaxKeyLength: positiveInt.default(DEFAULTS.metadataMaxKeyLength),
  metadataMaxValueLength: positiveInt.default(DEFAULTS.metadataMaxValueLength),
});

/** The relay's settings, parsed and defaulted. */
export type RelaySettings = z.infer<typeof settingsSchema>;

/** Thrown when the environment does not describe a usable relay. Names the variable, never a value. */
export class SettingsError extends Error {
  override readonly name = "SettingsError";
}

/** Reads and validates the relay settings from environment variables. */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): RelaySettings {
  const raw: Record<string, string | undefined> = {};
  for (const [name, { env: variable }] of Object.entries(SETTINGS)) {
    const value = env[variable];
    if (value !== undefined && value !== "") raw[name] = value;
  }
  const parsed = settingsSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]) as SettingName;
      return `${SETTINGS[name]?.env ?? name}: ${issue.message}`;
    });
    throw new SettingsError(`Invalid relay configuration: ${problems.join("; ")}`);
  }
  return parsed.data;
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
