import { stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { type Command, Option } from "commander";
import { infrastructureConfig } from "../config/index.ts";
import type { ImburseCredentials } from "../imburse/index.ts";
import {
  DEMO_FAULTS,
  demoLines,
  externalAwsTarget,
  LOCAL_OPERATIONS_DEFAULTS,
  LOCAL_RELAY_DEFAULTS,
  type LocalImburse,
  runLocal,
} from "../local/index.ts";
import { FaultSpecError, parseFaultSpec } from "../simulator/index.ts";
import { OrdersFileError, readOrdersFile } from "../tools/index.ts";
import { UsageError } from "./errors.ts";
import { type CliIo, isInteractive } from "./io.ts";
import { imburseUrl, integer, positiveSeconds } from "./options.ts";

/** The variables that hold the Imburse credentials for `local --imburse-url`, by secret field. */
export const IMBURSE_CREDENTIAL_VARIABLES = {
  publicKey: "IMBURSE_PUBLIC_KEY",
  privateKey: "IMBURSE_PRIVATE_KEY",
  accountId: "IMBURSE_ACCOUNT_ID",
  tenantId: "IMBURSE_TENANT_ID",
} as const satisfies Record<keyof ImburseCredentials, string>;

/**
 * The Imburse credentials from the environment, shaped as the deployed secret holds them.
 *
 * @throws UsageError naming the first missing variable (never a value).
 */
export function imburseCredentialsFromEnv(env: NodeJS.ProcessEnv): ImburseCredentials {
  const credentials: Partial<ImburseCredentials> = {};
  for (const [field, variable] of Object.entries(IMBURSE_CREDENTIAL_VARIABLES)) {
    const value = env[variable]?.trim();
    if (!value) {
      const all = Object.values(IMBURSE_CREDENTIAL_VARIABLES).join(", ");
      throw new UsageError(`${variable} is not set; with --imburse-url the credentials come from ${all}`);
    }
    credentials[field as keyof ImburseCredentials] = value;
  }
  return credentials as ImburseCredentials;
}

const LOG_LEVELS = ["silent", "critical", "error", "warn", "info", "debug"];

interface LocalFlags {
  orders?: string;
  imburseUrl?: string;
  untilDrained?: boolean;
  maxWait?: number;
  report?: string;
  events?: string;
  faults?: string;
  seed?: number;
  retryBaseSeconds: number;
  retryCapSeconds: number;
  retryBudgetSeconds: number;
  maxAttempts?: number;
  concurrency: number;
  maxConcurrency?: number;
  logLevel: string;
  probeEvery: number;
  alarmPeriod: number;
  redriveEvery?: number;
  awsEndpoint?: string;
}

/** `imburse-relay local`: the relay on local stand-ins (what `npm start` runs). */
export function registerLocalCommand(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  const { ordersSubscription, retrySubscription } = infrastructureConfig("local");
  program
    .command("local")
    .description(
      "Run the relay locally: fauxqs (SQS), dynalite (DynamoDB), a Secrets Manager stand-in and the Imburse " +
        "simulator, with the real submit handler fed by a local event source. Publishes the demo set, or --orders.",
    )
    .option(
      "--orders <file>",
      'orders to publish, one JSON object a line: {"body": <order or string>, "correlationId": "…"}',
    )
    .option(
      "--imburse-url <url>",
      "a real Imburse API instead of the simulator (https; credentials from IMBURSE_* variables; needs --orders)",
      imburseUrl,
    )
    .option(
      "--aws-endpoint <url>",
      "create the queues, table, secret and bus on this AWS-compatible endpoint (LocalStack, moto, …) instead of " +
        "the embedded stand-ins, and delete them at the end (also: the AWS_ENDPOINT_URL[_<SERVICE>] variables)",
    )
    .option("--until-drained", "exit once every line has its outcome and the queues are empty")
    .option(
      "--max-wait <seconds>",
      "with --until-drained: stop waiting after this long, report the lines still pending, exit 3",
      positiveSeconds,
    )
    .option("--report <file>", "write a JSON report: one entry per line and the totals")
    .option("--events <file>", "write every outcome event that reached the local bus, as JSON lines")
    .option(
      "--faults <spec>",
      "simulator fault rules (default: the demo's for the demo set, none for --orders)",
    )
    .option("--seed <n>", "simulator fault seed (replays the same faults)", integer(0))
    .option(
      "--retry-base-seconds <n>",
      "base of the retry backoff",
      positiveSeconds,
      LOCAL_RELAY_DEFAULTS.retryBaseSeconds,
    )
    .option(
      "--retry-cap-seconds <n>",
      "cap of the retry backoff",
      positiveSeconds,
      LOCAL_RELAY_DEFAULTS.retryCapSeconds,
    )
    .option(
      "--retry-budget-seconds <n>",
      "how long an order is retried before retries-exhausted",
      positiveSeconds,
      LOCAL_RELAY_DEFAULTS.retryBudgetSeconds,
    )
    .option(
      "--max-attempts <n>",
      "an optional cap on attempts (default: none, the budget decides)",
      integer(1),
    )
    .option(
      "--concurrency <n>",
      "records of one batch processed at once",
      integer(1, 100),
      LOCAL_RELAY_DEFAULTS.concurrency,
    )
    .option(
      "--max-concurrency <n>",
      "batches in flight at once per queue, for both event source mappings (default: their maximum " +
        `concurrency as deployed, ${ordersSubscription.maximumConcurrency} orders and ${retrySubscription.maximumConcurrency} retries; 1 runs one batch at a time)`,
      integer(1, 1000),
    )
    .option(
      "--probe-every <seconds>",
      "run the health probe this often",
      positiveSeconds,
      LOCAL_OPERATIONS_DEFAULTS.probeEverySeconds,
    )
    .option(
      "--alarm-period <seconds>",
      "evaluate the breaker's alarms over periods this long",
      positiveSeconds,
      LOCAL_OPERATIONS_DEFAULTS.alarmPeriodSeconds,
    )
    .option(
      "--redrive-every <seconds>",
      "run the scheduled DLQ redrive this often (default: off)",
      positiveSeconds,
    )
    .addOption(
      new Option("--log-level <level>", "relay log level (Powertools JSON on stdout)")
        .choices(LOG_LEVELS)
        .default("silent"),
    )
    .addHelpText(
      "after",
      "\nOutcomes in the report: submitted, already-existed, invalid, conflict, rejected, retries-exhausted,\n" +
        "unpublishable (the line was never sent) and relay-failed (SQS dead-lettered it after the relay failed on\n" +
        "every delivery).\n" +
        "Exit status: 0 every line submitted or already-existed (the demo set: every line its expected outcome);\n" +
        "1 some line not; 2 usage error; 3 gave up waiting (--max-wait); 130 interrupted before every line had its\n" +
        "outcome. See docs/local-mode.md.",
    )
    .action(async (flags: LocalFlags) => {
      setExitCode(await local(flags, io));
    });
}

async function local(flags: LocalFlags, io: CliIo): Promise<number> {
  if (flags.imburseUrl && (flags.faults !== undefined || flags.seed !== undefined)) {
    throw new UsageError("--faults and --seed apply to the built-in simulator, not to --imburse-url");
  }
  // The demo set holds invalid, conflicting and fault-trigger orders made for the simulator: a real Imburse
  // gets only the orders a person wrote.
  if (flags.imburseUrl && flags.orders === undefined) {
    throw new UsageError(
      "--imburse-url sends orders to a real Imburse: name them with --orders FILE (the demo set is for the simulator only)",
    );
  }
  if (flags.maxWait !== undefined && !flags.untilDrained) {
    throw new UsageError("--max-wait applies only with --until-drained");
  }
  const demo =
    flags.orders === undefined ? demoLines({ maxAttempts: flags.maxAttempts, now: Date.now() }) : undefined;
  const faults = flags.faults ?? (demo ? DEMO_FAULTS : "");
  try {
    parseFaultSpec(faults);
  } catch (error) {
    if (error instanceof FaultSpecError) throw new UsageError(`--faults: ${error.message}`);
    throw error;
  }
  if (flags.report) await checkWritableDirectory(flags.report, "--report");
  if (flags.events) await checkWritableDirectory(flags.events, "--events");
  const imburse: LocalImburse = flags.imburseUrl
    ? { url: flags.imburseUrl, credentials: imburseCredentialsFromEnv(io.env) }
    : { simulator: { faults, ...(flags.seed === undefined ? {} : { seed: flags.seed }) } };
  let lines: Awaited<ReturnType<typeof readOrdersFile>>;
  try {
    lines = demo ?? (await readOrdersFile(flags.orders ?? ""));
  } catch (error) {
    if (error instanceof OrdersFileError) throw new UsageError(error.message);
    throw error;
  }
  const aws = externalAwsTarget(io.env, flags.awsEndpoint);
  const result = await runLocal({
    lines,
    ...(aws ? { aws } : {}),
    source: demo ? "the demo set" : (flags.orders ?? ""),
    ...(demo
      ? {
          notes: new Map(demo.map((line) => [line.line, line.note])),
          // Other faults make other outcomes: the demo's are checked only with its own.
          ...(flags.faults === undefined
            ? { expected: new Map(demo.map((line) => [line.line, line.expected])) }
            : {}),
        }
      : {}),
    imburse,
    relay: {
      retryBaseSeconds: flags.retryBaseSeconds,
      retryCapSeconds: flags.retryCapSeconds,
      retryBudgetSeconds: flags.retryBudgetSeconds,
      maxAttempts: flags.maxAttempts,
      concurrency: flags.concurrency,
    },
    ...(flags.maxConcurrency === undefined ? {} : { maximumConcurrency: flags.maxConcurrency }),
    operations: {
      probeEverySeconds: flags.probeEvery,
      alarmPeriodSeconds: flags.alarmPeriod,
      ...(flags.redriveEvery ? { redriveEverySeconds: flags.redriveEvery } : {}),
    },
    logLevel: flags.logLevel,
    untilDrained: flags.untilDrained === true,
    ...(flags.maxWait === undefined ? {} : { maxWaitSeconds: flags.maxWait }),
    ...(flags.report ? { reportPath: flags.report } : {}),
    ...(flags.events ? { eventsPath: flags.events } : {}),
    stream: io.stdout,
    interactive: isInteractive(io),
  });
  return result.exitCode;
}

async function checkWritableDirectory(file: string, flag: string): Promise<void> {
  const directory = dirname(resolve(file));
  const info = await stat(directory).catch(() => undefined);
  if (!info?.isDirectory()) throw new UsageError(`${flag}: directory ${directory} does not exist`);
}
