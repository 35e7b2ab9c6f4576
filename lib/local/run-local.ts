import { createWriteStream } from "node:fs";
import { writeFile } from "node:fs/promises";
import { type AwsClients, type AwsTarget, awsClients } from "../aws/index.ts";
import {
  DEFAULTS,
  type InfrastructureConfig,
  infrastructureConfig,
  MESSAGE_ATTRIBUTES,
  RESOURCE_NAMES,
  rateSeconds,
  type SettingName,
  type SubscriptionConfig,
  TRIAL_SCALING,
} from "../config/index.ts";
import { OUTCOME_EVENT_SOURCE } from "../events/index.ts";
import type { ImburseCredentials } from "../imburse/index.ts";
import type { OutboxEntry } from "../ledger/index.ts";
import type { BreakerState } from "../ops/index.ts";
import { claimedOrderRef } from "../orders/index.ts";
import { createSubmitHandler, minimumRemainingTimeMarginMs } from "../relay/index.ts";
import { DEMO_CREDENTIALS, type SignalSource, type Simulator, startSimulator } from "../simulator/index.ts";
import { type OrderLine, type OrdersFileLine, publishOrders } from "../tools/index.ts";
import { fauxqsMessagesWaiting, isDrained, sqsMessagesWaiting } from "./drained.ts";
import {
  createRelayResources,
  type LocalEnvironment,
  localResourceName,
  type RelayResources,
  startLocalEnvironment,
} from "./environment.ts";
import type { DeliveredEvent } from "./eventbridge.ts";
import { type LocalOperations, startLocalOperations } from "./operations.ts";
import {
  externalOutcome,
  failedLines,
  type LineOutcome,
  OutcomeTracker,
  type ReportEntry,
} from "./outcomes.ts";
import { localPowertools } from "./powertools.ts";
import { breakerNote, createProgress } from "./progress.ts";
import { SequencedPublisher } from "./publisher.ts";
import {
  type LocalReport,
  type LocalRunEnd,
  localExitCode,
  localReport,
  unexpectedOutcomes,
} from "./report.ts";
import { type InvocationReport, type SqsBatchHandler, startEventSourceRunner } from "./runner.ts";
import { renderSummary } from "./summary.ts";
import { Teardown } from "./teardown.ts";

export type { LocalReport, LocalRunEnd };

/** The relay settings a local run exposes as flags. */
export interface LocalRelayOptions {
  retryBaseSeconds: number;
  retryCapSeconds: number;
  /** `RELAY_RETRY_BUDGET_SECONDS`: how long an order is retried. */
  retryBudgetSeconds: number;
  /** `RELAY_MAX_ATTEMPTS`: an optional cap on attempts. */
  maxAttempts?: number | undefined;
  /** Records of one batch processed at once (`RELAY_RECORD_CONCURRENCY`). */
  concurrency: number;
  /** `RELAY_IMBURSE_TIMEOUT_MS`: default 2 s against the simulator, 8 s against a real Imburse. */
  imburseTimeoutMs?: number | undefined;
}

/**
 * Small backoff and a short retry budget, no attempt cap, so a local run with retries (and the demo's order
 * that always fails) drains in seconds, not the deployed hours.
 */
export const LOCAL_RELAY_DEFAULTS: Readonly<LocalRelayOptions> = Object.freeze({
  retryBaseSeconds: 1,
  retryCapSeconds: 5,
  retryBudgetSeconds: 10,
  concurrency: DEFAULTS.recordConcurrency,
});

/**
 * The relay settings and function timeout of a local run. Against the simulator on loopback, Imburse calls
 * time out after 2 s and the function after 10 s (so the visibility timeout, 6 × 10 + 2 s, stays short);
 * against a real Imburse URL after 8 s and 30 s. The remaining-time margin fits the record's reserve and two
 * Imburse calls, as the stacks' does, so a record is only started when its calls can finish.
 */
export function localRelayProfile(
  relay: LocalRelayOptions,
  remoteImburse: boolean,
): { settings: Partial<Record<SettingName, number>>; functionTimeoutSeconds: number } {
  const imburseTimeoutMs = relay.imburseTimeoutMs ?? (remoteImburse ? 8_000 : 2_000);
  return {
    settings: {
      retryBaseSeconds: relay.retryBaseSeconds,
      retryCapSeconds: relay.retryCapSeconds,
      retryBudgetSeconds: relay.retryBudgetSeconds,
      ...(relay.maxAttempts === undefined ? {} : { maxAttempts: relay.maxAttempts }),
      recordConcurrency: relay.concurrency,
      imburseTimeoutMs,
      remainingTimeMarginMs: minimumRemainingTimeMarginMs(imburseTimeoutMs) + (remoteImburse ? 1_000 : 500),
    },
    functionTimeoutSeconds: remoteImburse ? 30 : 10,
  };
}

/** How often local mode runs its operations (the stacks run them every few minutes). */
export interface LocalOperationsTiming {
  /** The health probe's interval. */
  probeEverySeconds: number;
  /** The alarm period: probe and error-rate alarms are evaluated, and the breaker driven, at its end. */
  alarmPeriodSeconds: number;
  /** The scheduled DLQ redrive's interval; off when undefined, as in the stacks. */
  redriveEverySeconds?: number;
}

/** Local operations every few seconds, so a demo shows the breaker act. */
export const LOCAL_OPERATIONS_DEFAULTS: Readonly<LocalOperationsTiming> = Object.freeze({
  probeEverySeconds: 5,
  alarmPeriodSeconds: 5,
});

/** Where the local relay sends orders: the built-in simulator, or a real Imburse API. */
export type LocalImburse =
  | { simulator: { faults: string; seed?: number } }
  | { url: string; credentials: ImburseCredentials };

/** Options of {@link runLocal}. */
export interface LocalRunOptions {
  /** The input lines (an orders file, or the demo set); unreadable lines are reported as `unpublishable`. */
  lines: readonly OrdersFileLine[];
  /** What each line shows (the demo). */
  notes?: ReadonlyMap<number, string>;
  /** The outcome each line must get (the demo): a different one fails the run. */
  expected?: ReadonlyMap<number, LineOutcome>;
  /** A name for the input in the first line of output. */
  source: string;
  imburse: LocalImburse;
  relay: LocalRelayOptions;
  /**
   * Batches in flight at once per queue, for both event source mappings; default their configured
   * `maximumConcurrency` (lib/config/infrastructure.ts), as deployed. 1 runs one batch at a time: the
   * mappings then hold AWS's floor, 2, and the local runner runs one.
   */
  maximumConcurrency?: number;
  operations?: LocalOperationsTiming;
  /** Powertools log level of the relay (`silent` keeps its JSON logs out of the progress). */
  logLevel: string;
  /** End once every line has its outcome and the queues are empty; otherwise run until SIGINT/SIGTERM. */
  untilDrained: boolean;
  /** With `untilDrained`: stop waiting after this many seconds from the start, report, and exit 3. */
  maxWaitSeconds?: number;
  reportPath?: string;
  /**
   * AWS-compatible services to create the relay's queues, table, secret and bus on (LocalStack, moto, a
   * sandbox account), instead of starting the embedded stand-ins. They are deleted when the run ends.
   */
  aws?: AwsTarget;
  /** Write every outcome event that reached the local bus here, as JSON lines. */
  eventsPath?: string;
  stream: NodeJS.WritableStream;
  interactive: boolean;
  signals?: SignalSource;
  clock?: () => number;
}

/** How a local run ended. */
export interface LocalRunResult {
  report: LocalReport;
  ended: LocalRunEnd;
  /**
   * 0 every line got a good outcome (see {@link failedLines}); 1 some did not; 3 gave up waiting
   * (`maxWaitSeconds`); 130 interrupted before every line had its outcome.
   */
  exitCode: number;
  /** The built-in simulator the run used, stopped: its recorded requests and stored orders stay readable. */
  simulator?: Simulator;
}

/**
 * Runs the relay locally: starts the simulator (unless a real Imburse URL is given), the AWS stand-ins and
 * the event source runner, assembles the real submit handler with clients for them and an observer that
 * feeds the progress and the report, publishes the lines, shows progress, and ends with a summary (and a
 * report file) once everything is drained. Leaves `process.env` alone, so it can run again in the same
 * process.
 */
export async function runLocal(options: LocalRunOptions): Promise<LocalRunResult> {
  const clock = options.clock ?? Date.now;
  const startedAt = clock();
  const signals = options.signals ?? process;
  const print = (text: string) => options.stream.write(`${text}\n`);
  const remote = "url" in options.imburse;
  const profile = localRelayProfile(options.relay, remote);

  /** Everything the run starts, stopped in reverse when it ends, also when its start-up fails halfway. */
  const session = new Teardown();
  let simulator: Simulator | undefined;
  /** The relay's resources, and the embedded stand-ins when they hold them (no `aws` given). */
  let local: RelayResources | undefined;
  let standIns: LocalEnvironment | undefined;
  let operations: LocalOperations | undefined;
  let clients: AwsClients | undefined;
  const progress = createProgress({ stream: options.stream, interactive: options.interactive, clock });
  let ended: (how: LocalRunEnd | Error) => void = () => undefined;
  const end = new Promise<LocalRunEnd | Error>((resolve) => {
    ended = resolve;
  });
  const onSignal = () => ended("interrupted");
  // From the start, so Ctrl-C during start-up also stops cleanly.
  for (const signal of ["SIGINT", "SIGTERM"] as const) signals.once(signal, onSignal);
  const giveUp =
    options.untilDrained && options.maxWaitSeconds !== undefined
      ? setTimeout(() => ended("gave-up"), options.maxWaitSeconds * 1000)
      : undefined;
  let finished = false;
  let publishing = true;
  let announced = false;

  const publishable = options.lines.filter((line): line is OrderLine => line.ok);
  let publisher: SequencedPublisher | undefined;
  const tracker = new OutcomeTracker(
    options.lines.map((line) => ({
      line: line.line,
      orderRef: line.ok ? claimedOrderRef(line.body) : undefined,
      correlationId: line.correlationId,
    })),
    {
      completed: (entry) => {
        progress.completed(entry);
        publisher?.completed(entry.line).catch((error: unknown) => ended(asError(error)));
        scheduleCheck();
      },
      retry: (line, event) => progress.retry(line, event),
      external: (event) => {
        progress.external(event);
        scheduleCheck();
      },
    },
  );

  let checkScheduled = false;
  const scheduleCheck = () => {
    if (checkScheduled || finished) return;
    checkScheduled = true;
    setImmediate(() => {
      checkScheduled = false;
      checkDrained().catch((error: unknown) => ended(asError(error)));
    });
  };
  const sourceQueues = () => (local ? [local.queues.orders, local.queues.retry] : []);
  /** On other services the count is asynchronous: the last one taken, for the breaker's notes. */
  let lastWaiting = 0;
  /** Messages in the orders and retry queues: ready, delayed or being processed. */
  const ordersWaiting = () =>
    standIns ? fauxqsMessagesWaiting(standIns.fauxqs, sourceQueues()) : lastWaiting;
  const countWaiting = async (): Promise<number> => {
    if (standIns || !clients) return ordersWaiting();
    lastWaiting = await sqsMessagesWaiting(clients.sqs, sourceQueues());
    return lastWaiting;
  };
  let lastPausedNote = 0;
  let lastBreaker: { state: BreakerState; waiting: number } | undefined;
  /** Every transition, and "paused" once an alarm period while the breaker stays open. */
  const breakerLine = (state: BreakerState, transition: boolean, waiting: number, now: number) => {
    lastBreaker = { state, waiting };
    const periodMs = (options.operations ?? LOCAL_OPERATIONS_DEFAULTS).alarmPeriodSeconds * 1000;
    const remind = state.phase === "open" && now - lastPausedNote >= periodMs;
    if (!transition && !remind) return undefined;
    if (state.phase === "open") lastPausedNote = now;
    return breakerNote(state, waiting);
  };
  const checkDrained = async () => {
    if (finished || publishing || !tracker.completeButOrphans) return;
    const messagesWaiting = await countWaiting();
    const facts = { publishing, linesComplete: tracker.completeButOrphans, messagesWaiting };
    if (finished || !isDrained(facts)) return;
    tracker.resolveOrphans();
    if (options.untilDrained) {
      ended("drained");
    } else if (!announced) {
      announced = true;
      progress.stop();
      print(summaryText("All lines done", tracker.entries()));
      print(stillRunningHint(local));
    }
  };
  const summaryText = (what: string, entries: ReportEntry[]) => {
    const seconds = ((clock() - startedAt) / 1000).toFixed(1);
    const externals: Record<string, number> = {};
    for (const event of tracker.externals()) {
      const outcome = externalOutcome(event);
      externals[outcome] = (externals[outcome] ?? 0) + 1;
    }
    return renderSummary({
      heading: `${what}: ${entries.length} line${entries.length === 1 ? "" : "s"} in ${seconds} s.`,
      entries,
      externals,
      ...(options.notes ? { notes: options.notes } : {}),
    });
  };

  let outcome: LocalRunEnd | Error;
  try {
    simulator =
      "simulator" in options.imburse
        ? await startSimulator({
            faults: options.imburse.simulator.faults,
            ...(options.imburse.simulator.seed === undefined ? {} : { seed: options.imburse.simulator.seed }),
          })
        : undefined;
    if (simulator) session.add(() => simulator?.close());
    const environmentOptions = {
      credentials: "credentials" in options.imburse ? options.imburse.credentials : { ...DEMO_CREDENTIALS },
      imburseBaseUrl: simulator?.url ?? ("url" in options.imburse ? options.imburse.url : ""),
      settings: profile.settings,
      functionTimeoutSeconds: profile.functionTimeoutSeconds,
    };
    if (options.aws) {
      local = await createRelayResources(options.aws, environmentOptions);
    } else {
      standIns = await startLocalEnvironment(environmentOptions);
      local = standIns;
    }
    const environment = local;
    session.add(() => environment.stop());
    const events = options.eventsPath ? createWriteStream(options.eventsPath) : undefined;
    if (events) session.add(() => new Promise<void>((resolve) => events.end(resolve)));
    const showEvent = (event: DeliveredEvent) => {
      progress.event(event);
      events?.write(`${JSON.stringify(event)}\n`);
    };
    // The embedded bus delivers events as a rule's target gets them; another service's bus is not ours to
    // subscribe to, so there the relay's own PutEvents rounds are shown instead.
    standIns?.eventBridge.onEvent(showEvent);
    const region = environment.aws.region ?? "us-east-1";
    const fromPutEvents = standIns
      ? undefined
      : (published: readonly OutboxEntry[]) => {
          for (const entry of published) showEvent(deliveredEvent(entry, region));
        };
    clients = awsClients(environment.aws);
    const { destroy } = clients;
    session.add(destroy);
    const handler: SqsBatchHandler = createSubmitHandler({
      env: environment.env,
      ...localPowertools(options.logLevel),
      sqs: clients.sqs,
      dynamoDb: clients.dynamoDb,
      secretsManager: clients.secretsManager,
      eventBridge: clients.eventBridge,
      observer: {
        record: (event) => tracker.record(event),
        imburseCall: (call) => operations?.imburseCall(call),
        ...(fromPutEvents ? { outcomeEvents: ({ published }) => fromPutEvents(published) } : {}),
      },
    });
    if (standIns) {
      void watchSqsRedrives(standIns, (origin) => {
        tracker.deadLetteredBySqs(origin);
        scheduleCheck();
      });
    } else {
      // Approximate counts on another SQS may lag the last delete: look again until drained.
      const recheck = setInterval(scheduleCheck, EXTERNAL_DRAIN_CHECK_MS);
      recheck.unref();
      session.add(() => clearInterval(recheck));
    }

    const { sqs } = clients;
    const config = infrastructureConfig("local");
    const subscriptions = localSubscriptions(config, options.maximumConcurrency);
    const runner = startEventSourceRunner({
      handler,
      sources: [
        { queue: environment.queues.orders, ...subscriptions.orders },
        { queue: environment.queues.retry, ...subscriptions.retry },
      ],
      sqs,
      ...(options.maximumConcurrency === undefined ? {} : { maxBatchesPerQueue: options.maximumConcurrency }),
      region,
      functionName: localResourceName(RESOURCE_NAMES.submitFunction),
      functionTimeoutSeconds: profile.functionTimeoutSeconds,
      onInvocation: (report) => {
        if (report.failedMessageIds.length > 0)
          progress.note(handedBack(report, environment.visibilityTimeoutSeconds));
        scheduleCheck();
      },
      onError: (error) => progress.note(`SQS error in the event source runner: ${error.message}`),
    });
    session.add(() => runner.stop());
    const timing = options.operations ?? LOCAL_OPERATIONS_DEFAULTS;
    operations = await startLocalOperations({
      environment,
      runner,
      region,
      logLevel: options.logLevel,
      breaker: config.breaker,
      subscriptions,
      periodMs: timing.alarmPeriodSeconds * 1000,
      probeIntervalMs: timing.probeEverySeconds * 1000,
      // As often, relative to the alarm period, as the stacks' schedule (one run a minute, 5-minute periods).
      breakerIntervalMs: breakerScheduleMs(config, timing.alarmPeriodSeconds),
      ...(timing.redriveEverySeconds ? { redriveIntervalMs: timing.redriveEverySeconds * 1000 } : {}),
      observer: {
        breaker: (state, transition) => {
          const line = breakerLine(state, transition, ordersWaiting(), clock());
          if (line) progress.note(line);
        },
        probe: (result) => {
          if (!result.healthy)
            progress.note(`Health probe: Imburse unhealthy (${result.failure?.reason ?? "unknown"}).`);
        },
        redrive: (summary) => progress.note(`Scheduled redrive: ${JSON.stringify(summary)}`),
        error: (what, error) =>
          progress.note(`${what} failed: ${error instanceof Error ? error.message : String(error)}`),
      },
    });
    const started = operations;
    session.add(() => started.stop());

    printHeader(print, options, environment, simulator, profile.functionTimeoutSeconds, subscriptions);
    progress.start(options.lines.length);
    for (const line of options.lines) if (!line.ok) tracker.unpublishable(line.line, line.problem);
    publisher = new SequencedPublisher(
      (lines, onResult) => publishOrders(sqs, environment.queues.orders.url, lines, onResult),
      (result) => {
        if (result.ok) tracker.published(result.line, result.messageId);
        else tracker.unpublishable(result.line, `SQS refused it: ${result.error}`);
      },
    );
    publisher
      .start(publishable)
      .then(() => {
        publishing = false;
        scheduleCheck();
      })
      .catch((error: unknown) => ended(asError(error)));
    outcome = await end;
  } finally {
    finished = true;
    clearTimeout(giveUp);
    for (const signal of ["SIGINT", "SIGTERM"] as const) signals.off(signal, onSignal);
    progress.stop();
    await session.run();
  }
  if (outcome instanceof Error) throw outcome;

  const entries = tracker.entries();
  const report = localReport(entries, tracker.externals().length, outcome, lastBreaker?.state);
  const heading = {
    drained: "Drained",
    interrupted: options.untilDrained ? "Interrupted" : "Stopped",
    "gave-up": `Gave up waiting after ${options.maxWaitSeconds} s (--max-wait)`,
  }[outcome];
  print(summaryText(heading, entries));
  // Why the lines still wait: the breaker held them back, and says since when.
  if (report.breaker && lastBreaker) {
    print(`Still waiting: ${breakerNote(lastBreaker.state, lastBreaker.waiting).replace(/\.$/, "")}.`);
  }
  if (options.expected) {
    const mismatches = unexpectedOutcomes(entries, options.expected);
    print(
      mismatches.length === 0
        ? `Demo: every line got its expected outcome.`
        : `Demo: unexpected outcome on ${mismatches.map((e) => `line ${e.line} (${e.outcome}, expected ${options.expected?.get(e.line)})`).join(", ")}.`,
    );
  }
  if (options.reportPath) {
    await writeFile(options.reportPath, `${JSON.stringify(report, null, 2)}\n`);
    print(`Report written to ${options.reportPath}.`);
  }
  if (options.eventsPath) print(`Outcome events written to ${options.eventsPath} (JSON lines).`);
  const exitCode = localExitCode(outcome, entries, options.expected);
  if (exitCode === 1 && !options.expected) {
    const failed = failedLines(entries, options.expected);
    const listed = failed.slice(0, 10).map((entry) => `line ${entry.line} (${entry.outcome})`);
    const more = failed.length > listed.length ? ` and ${failed.length - listed.length} more` : "";
    print(
      `Exit status 1: ${failed.length} line${failed.length === 1 ? "" : "s"} did not end submitted or already-existed: ${listed.join(", ")}${more}.`,
    );
  }
  return { report, ended: outcome, exitCode, ...(simulator ? { simulator } : {}) };
}

/**
 * How often local mode runs the breaker's schedule: the stacks' schedule as a share of their alarm period
 * (a minute of five), applied to the local period.
 */
export function breakerScheduleMs(config: InfrastructureConfig, alarmPeriodSeconds: number): number {
  const scheduleSeconds = rateSeconds(config.schedules.circuitBreaker) ?? config.breaker.periodSeconds;
  return (alarmPeriodSeconds * 1000 * scheduleSeconds) / config.breaker.periodSeconds;
}

/**
 * The stacks' event source mappings, with the maximum concurrency of both overridden when one is given
 * (at least AWS's floor, {@link TRIAL_SCALING}'s 2: the runner's own ceiling plays a lower one).
 */
export function localSubscriptions(
  config: InfrastructureConfig,
  maximumConcurrency?: number,
): { orders: SubscriptionConfig; retry: SubscriptionConfig } {
  const scaled = (subscription: SubscriptionConfig) =>
    maximumConcurrency === undefined
      ? subscription
      : {
          ...subscription,
          maximumConcurrency: Math.max(maximumConcurrency, TRIAL_SCALING.maximumConcurrency),
        };
  return { orders: scaled(config.ordersSubscription), retry: scaled(config.retrySubscription) };
}

/** How often a run on other services looks at the source queues' counts again. */
const EXTERNAL_DRAIN_CHECK_MS = 1_000;

/** An outcome event as the relay put it, shaped as a rule's target gets it (local mode's events file). */
function deliveredEvent(entry: OutboxEntry, region: string): DeliveredEvent {
  return {
    version: "0",
    id: entry.id,
    "detail-type": entry.detailType,
    source: OUTCOME_EVENT_SOURCE,
    account: "",
    time: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
    region,
    resources: [],
    detail: JSON.parse(entry.detail) as Record<string, unknown>,
  };
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function printHeader(
  print: (text: string) => void,
  options: LocalRunOptions,
  local: RelayResources,
  simulator: Simulator | undefined,
  functionTimeoutSeconds: number,
  subscriptions: { orders: SubscriptionConfig; retry: SubscriptionConfig },
): void {
  const { relay } = options;
  const inFlight = ({ maximumConcurrency }: SubscriptionConfig) =>
    Math.min(maximumConcurrency, options.maximumConcurrency ?? maximumConcurrency);
  const imburse =
    simulator && "simulator" in options.imburse
      ? `Imburse simulator ${simulator.url} (seed ${simulator.seed}, faults: ${options.imburse.simulator.faults || "none"})`
      : `Imburse ${"url" in options.imburse ? options.imburse.url : ""}`;
  print(
    [
      `imburse-relay local: ${options.lines.length} line${options.lines.length === 1 ? "" : "s"} from ${options.source}`,
      `  orders queue ${local.queues.orders.url} on ${servedBy(local, "sqs", "fauxqs")}; ledger ${local.tableName} on ${servedBy(local, "dynamoDb", "dynalite")}; ` +
        `${"fauxqs" in local ? "Secrets Manager stand-in" : `secret on ${servedBy(local, "secretsManager", "")}, bus on ${servedBy(local, "eventBridge", "")}`}`,
      `  ${imburse}`,
      `  retries: base ${relay.retryBaseSeconds} s, cap ${relay.retryCapSeconds} s, budget ${relay.retryBudgetSeconds} s` +
        `${relay.maxAttempts === undefined ? "" : `, at most ${relay.maxAttempts} attempts`}; ` +
        `batches of ${subscriptions.orders.batchSize}, up to ${inFlight(subscriptions.orders)} in flight (retries: ${inFlight(subscriptions.retry)}), ` +
        `${relay.concurrency} records of each at once; function timeout ${functionTimeoutSeconds} s, visibility timeout ${local.visibilityTimeoutSeconds} s`,
    ].join("\n"),
  );
}

/** Which service holds a resource: the embedded stand-in, or the endpoint given (AWS's own when none). */
function servedBy(
  local: RelayResources,
  service: "sqs" | "dynamoDb" | "secretsManager" | "eventBridge",
  standIn: string,
) {
  const endpoint = local.aws.endpoints?.[service];
  if ("fauxqs" in local) return `${standIn} ${endpoint}`;
  return endpoint ?? `AWS ${local.aws.region ?? ""}`.trim();
}

/** How to reach the local queues from another shell while the run goes on. */
function stillRunningHint(local: RelayResources | undefined): string {
  const credentials =
    local && "fauxqs" in local ? "AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local " : "";
  const sqs = `${credentials}npx imburse-relay`;
  const sqsEndpoint = local?.aws.endpoints?.sqs;
  const dynamoEndpoint = local?.aws.endpoints?.dynamoDb;
  const endpoint = sqsEndpoint ? `--endpoint ${sqsEndpoint}` : "";
  return [
    "Still running. From another shell:",
    `  publish more orders:   ${sqs} publish ${endpoint} --queue-url ${local?.queues.orders.url} FILE`,
    `  see the dead letters:  ${sqs} dlq peek ${endpoint} --queue-url ${local?.queues.deadLetter.url}`,
    `  ask the ledger:        ${sqs} status ORDER_REF${dynamoEndpoint ? ` --endpoint ${dynamoEndpoint}` : ""} --table ${local?.tableName}`,
    "Ctrl-C prints the final summary and stops.",
  ].join("\n");
}

/** A note for records the handler handed back to SQS. */
function handedBack(report: InvocationReport, visibilityTimeoutSeconds: number): string {
  const count = `${report.failedMessageIds.length} of ${report.records} record(s) from ${report.queue.name}`;
  const cause =
    report.error === undefined ? " (--log-level error shows why)" : `: ${failureMessage(report.error)}`;
  return `${count} handed back to SQS${cause}; redelivered after the ${visibilityTimeoutSeconds} s visibility timeout`;
}

/** The first record error of a Powertools FullBatchFailureError, else the error's message. */
function failureMessage(error: unknown): string {
  const first = (error as { recordErrors?: unknown[] }).recordErrors?.[0];
  const chosen = first ?? error;
  return chosen instanceof Error ? `${chosen.name}: ${chosen.message}` : String(chosen);
}

/**
 * Reports messages SQS moves from the orders or retry queue to the DLQ after their receive limit (fauxqs
 * message spy), by origin message id. Runs until the environment stops.
 */
async function watchSqsRedrives(
  local: LocalEnvironment,
  onRedrive: (originMessageId: string) => void,
): Promise<void> {
  const sources = new Set([local.queues.orders.name, local.queues.retry.name]);
  const seen = new Set<string>();
  try {
    for (;;) {
      const message = await local.fauxqs.spy.waitForMessage(
        (m) =>
          m.service === "sqs" && m.status === "dlq" && sources.has(m.queueName) && !seen.has(m.messageId),
      );
      if (message.service !== "sqs") continue;
      seen.add(message.messageId);
      onRedrive(
        message.messageAttributes[MESSAGE_ATTRIBUTES.originMessageId]?.StringValue ?? message.messageId,
      );
    }
  } catch {
    // The spy was cleared as the environment stopped.
  }
}
