import type { Context } from "aws-lambda";
import { awsClients } from "../aws/index.ts";
import type { BreakerConfig, BreakerPhase, SubscriptionConfig } from "../config/index.ts";
import {
  AVAILABILITY_ALARMS,
  type BreakerPlan,
  PROBE_ALARM_MISSING_DATA,
  RESOURCE_NAMES,
  settingsToEnv,
} from "../config/index.ts";
import type { ImburseCallEvent } from "../imburse/index.ts";
import type { AlarmState, BreakerState, ProbeResult } from "../ops/index.ts";
import {
  type CircuitBreakerOutcome,
  createCircuitBreakerHandler,
  createHealthProbeHandler,
  createRedriveHandler,
} from "../ops/index.ts";
import { isImburseFailure } from "../relay/index.ts";
import {
  alarmStateChangeEvent,
  errorRate,
  evaluateCompositeAny,
  evaluateMetricAlarm,
} from "./alarm-emulator.ts";
import { type CloudWatchStandIn, startCloudWatchStandIn } from "./cloudwatch-api.ts";
import { localResourceName, type RelayResources } from "./environment.ts";
import { type LambdaApiStandIn, startLambdaApiStandIn } from "./lambda-api.ts";
import { lambdaContext } from "./lambda-event.ts";
import { localPowertools } from "./powertools.ts";
import type { EventSourceRunner } from "./runner.ts";

/** What local operations report as they run. */
export interface OperationsObserver {
  probe?(result: ProbeResult): void;
  alarm?(alarmName: string, previous: AlarmState, current: AlarmState): void;
  /** After every breaker run: the state it persisted (`transition` when its phase changed). */
  breaker?(state: BreakerState, transition: boolean): void;
  redrive?(summary: unknown): void;
  error?(what: string, error: unknown): void;
}

/** Options of {@link startLocalOperations}. */
export interface LocalOperationsOptions {
  environment: RelayResources;
  runner: EventSourceRunner;
  region: string;
  /** The alarm rules of the stacks (infrastructure.ts), evaluated every `periodMs` instead of every period. */
  breaker: BreakerConfig;
  /**
   * The configured batch size and concurrency of the orders and retry mappings, which the breaker restores
   * after its trial (the local runner plays both).
   */
  subscriptions: { orders: SubscriptionConfig; retry: SubscriptionConfig };
  /** Run the breaker's schedule this often; undefined: only on alarm events and {@link LocalOperations.runBreaker}. */
  breakerIntervalMs?: number;
  /** The breaker's clock (epoch milliseconds), for its minimum open time and trial length. Default `Date.now`. */
  clock?: () => number;
  /** Length of one local alarm period; undefined: periods end only through {@link LocalOperations.endPeriod}. */
  periodMs?: number;
  /** Run the probe this often; undefined: only through {@link LocalOperations.probe}. */
  probeIntervalMs?: number;
  /** Run the scheduled redrive this often; undefined (the default, as in the stacks): never. */
  redriveIntervalMs?: number;
  observer?: OperationsObserver;
  /** The operations' Powertools log level (default `silent`). */
  logLevel?: string;
}

/** Scheduled and alarm-driven operations running beside the local relay. */
export interface LocalOperations {
  /** Runs the health probe once now; its result counts in the current period. */
  probe(): Promise<ProbeResult>;
  /** Ends the current period now: evaluates the alarms and drives the breaker on a state change. */
  endPeriod(): Promise<AlarmState>;
  /** Runs the scheduled redrive once now. */
  redrive(): Promise<unknown>;
  /**
   * Counts one of the relay's Imburse calls in the current period's error rate: wire it to the submit
   * handler's observer (`imburseCall`).
   */
  imburseCall(call: ImburseCallEvent): void;
  /** Runs the breaker once now, as its schedule does. */
  runBreaker(): Promise<CircuitBreakerOutcome>;
  /** The phase the breaker persisted on its last run (closed before its first). */
  breakerState(): BreakerPhase;
  /** The breaker's plan: the local alarms' names and the event source mappings it converges. */
  breakerPlan: BreakerPlan;
  /** The Lambda API stand-in holding the local event source mappings. */
  lambdaApi: LambdaApiStandIn;
  /** The CloudWatch stand-in the breaker reads the alarms from. */
  cloudWatch: CloudWatchStandIn;
  stop(): Promise<void>;
}

type Handler<R> = (event: unknown, context: Context) => Promise<R>;

/**
 * Runs the health probe and the DLQ redrive on timers, and the circuit breaker the way the stacks wire it:
 * the probe and error-rate alarms are evaluated over local metrics (the probe's results and the relay's
 * Imburse call events) with the stacks' rules, and served to the real breaker handler by a CloudWatch
 * stand-in (`DescribeAlarms`). A change of the combined "Imburse unavailable" state is handed to the
 * handler as an EventBridge alarm event, and the handler also runs on its own schedule; it keeps its state
 * in the local ledger table and converges the event source mappings through a Lambda API stand-in, which
 * enables, disables and resizes the local runner's pollers. Hysteresis and the half-open trial follow
 * `breaker`, in alarm periods. The handlers are assembled here with clients for the stand-ins; nothing is
 * read from or written to `process.env`.
 */
export async function startLocalOperations(options: LocalOperationsOptions): Promise<LocalOperations> {
  const { environment, runner, region, breaker, observer, subscriptions } = options;
  const alarmNames = {
    probe: localResourceName(AVAILABILITY_ALARMS.probe),
    errorRate: localResourceName(AVAILABILITY_ALARMS.errorRate),
    unavailable: localResourceName(AVAILABILITY_ALARMS.unavailable),
  };
  // One entry per period, oldest first: the probe's minimum (1 healthy, 0 not) and the Imburse call counts.
  const probeHistory: Array<number | undefined> = [];
  const rateHistory: Array<number | undefined> = [];
  let probeMinimum: number | undefined;
  let calls = 0;
  let errors = 0;
  const states = { probe: "INSUFFICIENT_DATA" as AlarmState, errorRate: "INSUFFICIENT_DATA" as AlarmState };
  let unavailable: AlarmState = "OK";

  const lambdaApi = await startLambdaApiStandIn();
  // A CloudWatch stand-in that fails to start must not leave the Lambda API one listening.
  const cloudWatch = await startCloudWatchStandIn(() => [
    { name: alarmNames.probe, type: "MetricAlarm", state: states.probe },
    { name: alarmNames.errorRate, type: "MetricAlarm", state: states.errorRate },
    { name: alarmNames.unavailable, type: "CompositeAlarm", state: unavailable },
  ]).catch(async (error: unknown) => {
    await lambdaApi.close();
    throw error;
  });
  const functionArn = `arn:aws:lambda:${region}:000000000000:function:${RESOURCE_NAMES.submitFunction}`;
  const configured = [
    { queue: environment.queues.orders, subscription: subscriptions.orders },
    { queue: environment.queues.retry, subscription: subscriptions.retry },
  ];
  const subscriptionOf = (eventSourceArn: string): SubscriptionConfig => {
    const found = configured.find(({ queue }) => queue.arn === eventSourceArn);
    if (!found) throw new Error(`local operations: no subscription configured for ${eventSourceArn}`);
    return found.subscription;
  };
  const mappings = configured.map(({ queue, subscription }) =>
    lambdaApi.addMapping({
      eventSourceArn: queue.arn,
      functionArn,
      enabled: true,
      batchSize: subscription.batchSize,
      maximumConcurrency: subscription.maximumConcurrency,
    }),
  );
  const toggles: Array<Promise<void>> = [];
  const unsubscribe = lambdaApi.onChange((mapping) => {
    runner.setScaling(mapping.eventSourceArn, {
      batchSize: mapping.batchSize,
      // A mapping without a cap scales to the account's concurrency in AWS: locally, the configured one.
      maximumConcurrency:
        mapping.maximumConcurrency ?? subscriptionOf(mapping.eventSourceArn).maximumConcurrency,
    });
    const enabled = mapping.state === "Enabled" || mapping.state === "Enabling";
    toggles.push(runner.setEnabled(mapping.eventSourceArn, enabled));
  });
  const plan: BreakerPlan = {
    periodSeconds: (options.periodMs ?? breaker.periodSeconds * 1000) / 1000,
    minimumOpenPeriods: breaker.minimumOpenPeriods,
    healthyPeriodsToClose: breaker.healthyPeriodsToClose,
    trialPeriods: breaker.trialPeriods,
    alarms: { unavailable: alarmNames.unavailable, errorRate: alarmNames.errorRate },
    mappings: mappings.map((mapping) => ({
      uuid: mapping.uuid,
      batchSize: mapping.batchSize,
      maximumConcurrency: subscriptionOf(mapping.eventSourceArn).maximumConcurrency,
    })),
  };
  const clients = awsClients({
    ...environment.aws,
    endpoints: { ...environment.aws.endpoints, lambda: lambdaApi.url, cloudWatch: cloudWatch.url },
  });
  const logLevel = options.logLevel ?? "silent";
  const probeHandler: Handler<ProbeResult> = createHealthProbeHandler({
    env: environment.env,
    ...localPowertools(logLevel),
    secretsManager: clients.secretsManager,
  });
  // The handler functions/circuit-breaker.ts exports, with the local plan, clients and clock.
  const breakerHandler = createCircuitBreakerHandler({
    env: { ...environment.env, ...settingsToEnv({ breakerPlan: JSON.stringify(plan) }) },
    ...localPowertools(logLevel),
    lambda: clients.lambda,
    cloudWatch: clients.cloudWatch,
    dynamoDb: clients.dynamoDb,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const redriveHandler: Handler<unknown> = createRedriveHandler({
    env: environment.env,
    ...localPowertools(logLevel),
    sqs: clients.sqs,
  });
  const context = (name: string) => lambdaContext({ functionName: name, timeoutMs: 30_000, region });

  const imburseCall = (call: ImburseCallEvent) => {
    if (call.route === "token") return;
    calls++;
    if (isImburseFailure(call)) errors++;
  };

  const probe = async (): Promise<ProbeResult> => {
    const result = await probeHandler({}, context(RESOURCE_NAMES.healthProbeFunction));
    probeMinimum = Math.min(probeMinimum ?? 1, result.healthy ? 1 : 0);
    observer?.probe?.(result);
    return result;
  };

  let phase: BreakerPhase = "closed";
  // One breaker invocation at a time, as its reserved state write would serialise them anyway.
  let breakerRuns: Promise<unknown> = Promise.resolve();
  const invokeBreaker = (event: unknown): Promise<CircuitBreakerOutcome> => {
    const run = breakerRuns.then(async () => {
      const outcome = await breakerHandler(event, context(RESOURCE_NAMES.circuitBreakerFunction));
      phase = outcome.state.phase;
      observer?.breaker?.(outcome.state, outcome.transition);
      // The run ends once the runner has followed the mappings (a paused queue has no invocation left).
      await Promise.all(toggles.splice(0));
      return outcome;
    });
    breakerRuns = run.catch(() => undefined);
    return run;
  };
  const runBreaker = () => invokeBreaker({});

  const transition = (name: keyof typeof states, next: AlarmState) => {
    if (states[name] === next) return;
    observer?.alarm?.(name, states[name], next);
    states[name] = next;
  };

  const endPeriod = async (): Promise<AlarmState> => {
    probeHistory.push(probeMinimum);
    rateHistory.push(errorRate({ errors, calls, minimumCalls: breaker.minimumCalls }));
    // Each alarm sees only its evaluation periods: a quiet period after the breaker paused the relay must
    // read as missing (OK for the error rate), not reach back to the failures that opened it.
    probeHistory.splice(0, Math.max(0, probeHistory.length - breaker.probeUnhealthyPeriods));
    rateHistory.splice(0, Math.max(0, rateHistory.length - 1));
    probeMinimum = undefined;
    calls = 0;
    errors = 0;
    transition(
      "probe",
      evaluateMetricAlarm({
        datapoints: probeHistory,
        threshold: 1,
        comparison: "LessThanThreshold",
        evaluationPeriods: breaker.probeUnhealthyPeriods,
        treatMissingData: PROBE_ALARM_MISSING_DATA,
        current: states.probe,
      }),
    );
    transition(
      "errorRate",
      evaluateMetricAlarm({
        datapoints: rateHistory,
        threshold: breaker.errorRateThreshold,
        comparison: "GreaterThanOrEqualToThreshold",
        evaluationPeriods: 1,
        treatMissingData: "notBreaching",
        current: states.errorRate,
      }),
    );
    const next = evaluateCompositeAny([states.probe, states.errorRate]);
    if (next !== unavailable) {
      const event = alarmStateChangeEvent({
        alarmName: alarmNames.unavailable,
        previous: unavailable,
        current: next,
        time: new Date(),
        region,
        account: "000000000000",
      });
      observer?.alarm?.(AVAILABILITY_ALARMS.unavailable, unavailable, next);
      unavailable = next;
      await invokeBreaker(event);
    }
    return unavailable;
  };

  const redrive = async (): Promise<unknown> => {
    const summary = await redriveHandler({}, context(RESOURCE_NAMES.redriveFunction));
    observer?.redrive?.(summary);
    return summary;
  };

  const timers: NodeJS.Timeout[] = [];
  const every = (ms: number | undefined, what: string, run: () => Promise<unknown>) => {
    if (!ms) return;
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      run()
        .catch((error: unknown) => observer?.error?.(what, error))
        .finally(() => {
          running = false;
        });
    }, ms);
    timer.unref();
    timers.push(timer);
  };
  every(options.probeIntervalMs, "health probe", probe);
  every(options.periodMs, "alarm evaluation", endPeriod);
  every(options.redriveIntervalMs, "redrive", redrive);
  every(options.breakerIntervalMs, "circuit breaker", runBreaker);

  return {
    probe,
    endPeriod,
    redrive,
    runBreaker,
    imburseCall,
    breakerPlan: plan,
    breakerState: () => phase,
    lambdaApi,
    cloudWatch,
    async stop() {
      for (const timer of timers) clearInterval(timer);
      unsubscribe();
      await breakerRuns;
      clients.destroy();
      await Promise.all([lambdaApi.close(), cloudWatch.close()]);
    },
  };
}
