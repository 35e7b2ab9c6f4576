import type { Context } from "aws-lambda";
import type { BreakerConfig } from "../config/infrastructure.ts";
import { PROBE_ALARM_MISSING_DATA } from "../config/infrastructure.ts";
import { RESOURCE_NAMES } from "../config/names.ts";
import { settingsToEnv } from "../config/settings.ts";
import type { ImburseCallEvent } from "../imburse/client.ts";
import {
  type AlarmState,
  alarmStateChangeEvent,
  errorRate,
  evaluateCompositeAny,
  evaluateMetricAlarm,
} from "../ops/alarm.ts";
import type { ProbeResult } from "../ops/health-probe.ts";
import { isImburseFailure, recordEvents } from "../relay/telemetry.ts";
import type { LocalEnvironment } from "./environment.ts";
import { type LambdaApiStandIn, startLambdaApiStandIn } from "./lambda-api.ts";
import { lambdaContext } from "./lambda-event.ts";
import type { EventSourceRunner } from "./runner.ts";

/** The state of the local circuit breaker, as the mappings show it. */
export type BreakerState = "closed" | "open";

/** What local operations report as they run. */
export interface OperationsObserver {
  probe?(result: ProbeResult): void;
  alarm?(alarmName: string, previous: AlarmState, current: AlarmState): void;
  breaker?(state: BreakerState): void;
  redrive?(summary: unknown): void;
  error?(what: string, error: unknown): void;
}

/** Options of {@link startLocalOperations}. */
export interface LocalOperationsOptions {
  environment: LocalEnvironment;
  runner: EventSourceRunner;
  region: string;
  /** The alarm rules of the stacks (infrastructure.ts), evaluated every `periodMs` instead of every period. */
  breaker: BreakerConfig;
  /** Length of one local alarm period; undefined: periods end only through {@link LocalOperations.endPeriod}. */
  periodMs?: number;
  /** Run the probe this often; undefined: only through {@link LocalOperations.probe}. */
  probeIntervalMs?: number;
  /** Run the scheduled redrive this often; undefined (the default, as in the stacks): never. */
  redriveIntervalMs?: number;
  observer?: OperationsObserver;
}

/** Scheduled and alarm-driven operations running beside the local relay. */
export interface LocalOperations {
  /** Runs the health probe once now; its result counts in the current period. */
  probe(): Promise<ProbeResult>;
  /** Ends the current period now: evaluates the alarms and drives the breaker on a state change. */
  endPeriod(): Promise<AlarmState>;
  /** Runs the scheduled redrive once now. */
  redrive(): Promise<unknown>;
  breakerState(): BreakerState;
  /** The Lambda API stand-in holding the local event source mappings. */
  lambdaApi: LambdaApiStandIn;
  stop(): Promise<void>;
}

type Handler<R> = (event: unknown, context: Context) => Promise<R>;

/**
 * Runs the health probe and the DLQ redrive on timers, and the circuit breaker the way the stacks wire it:
 * the probe and error-rate alarms are evaluated over local metrics (the probe's results and the relay's
 * Imburse call events) with the stacks' rules, and a change of the combined "Imburse unavailable" state is
 * handed to the real breaker handler as an EventBridge alarm event. The handler pauses or resumes the
 * event source mappings through a Lambda API stand-in, which enables or disables the local runner's pollers.
 * Call it after the local environment's variables are in `process.env`.
 */
export async function startLocalOperations(options: LocalOperationsOptions): Promise<LocalOperations> {
  const { environment, runner, region, breaker, observer } = options;
  const lambdaApi = await startLambdaApiStandIn();
  const functionArn = `arn:aws:lambda:${region}:000000000000:function:${RESOURCE_NAMES.submitFunction}`;
  const mappings = [environment.queues.orders, environment.queues.retry].map((queue) =>
    lambdaApi.addMapping({ eventSourceArn: queue.arn, functionArn, enabled: true }),
  );
  let state: BreakerState = "closed";
  const toggles: Array<Promise<void>> = [];
  const unsubscribe = lambdaApi.onChange((mapping) => {
    const enabled = mapping.state === "Enabled" || mapping.state === "Enabling";
    toggles.push(runner.setEnabled(mapping.eventSourceArn, enabled));
    const next: BreakerState = mappings.every((m) => lambdaApi.mapping(m.uuid)?.enabled === false)
      ? "open"
      : "closed";
    if (next !== state) {
      state = next;
      observer?.breaker?.(state);
    }
  });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_LAMBDA: lambdaApi.url,
    ...settingsToEnv({ eventSourceMappingIds: mappings.map((m) => m.uuid).join(",") }),
  });
  const load = async <R>(path: string): Promise<Handler<R>> =>
    ((await import(path)) as { handler: Handler<R> }).handler;
  const probeHandler = await load<ProbeResult>("../../functions/health-probe.ts");
  const breakerHandler = await load<unknown>("../../functions/circuit-breaker.ts");
  const redriveHandler = await load<unknown>("../../functions/redrive.ts");
  const context = (name: string) => lambdaContext({ functionName: name, timeoutMs: 30_000, region });

  // One entry per period, oldest first: the probe's minimum (1 healthy, 0 not) and the Imburse call counts.
  const probeHistory: Array<number | undefined> = [];
  const rateHistory: Array<number | undefined> = [];
  let probeMinimum: number | undefined;
  let calls = 0;
  let errors = 0;
  const states = { probe: "INSUFFICIENT_DATA" as AlarmState, errorRate: "INSUFFICIENT_DATA" as AlarmState };
  let unavailable: AlarmState = "OK";

  const onCall = (call: ImburseCallEvent) => {
    if (call.route === "token") return;
    calls++;
    if (isImburseFailure(call)) errors++;
  };
  recordEvents.on("imburse-call", onCall);

  const probe = async (): Promise<ProbeResult> => {
    const result = await probeHandler({}, context(RESOURCE_NAMES.healthProbeFunction));
    probeMinimum = Math.min(probeMinimum ?? 1, result.healthy ? 1 : 0);
    observer?.probe?.(result);
    return result;
  };

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
        alarmName: "ImburseUnavailable",
        previous: unavailable,
        current: next,
        time: new Date(),
        region,
        account: "000000000000",
      });
      observer?.alarm?.("ImburseUnavailable", unavailable, next);
      unavailable = next;
      await breakerHandler(event, context(RESOURCE_NAMES.circuitBreakerFunction));
      // The period ends once the runner has followed the mappings (a paused queue has no invocation left).
      await Promise.all(toggles.splice(0));
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

  return {
    probe,
    endPeriod,
    redrive,
    breakerState: () => state,
    lambdaApi,
    async stop() {
      for (const timer of timers) clearInterval(timer);
      recordEvents.off("imburse-call", onCall);
      unsubscribe();
      await lambdaApi.close();
    },
  };
}
