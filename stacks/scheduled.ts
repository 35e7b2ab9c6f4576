/**
 * The pattern of the relay's scheduled functions (the health probe, the DLQ redrive): an `sst.aws.CronV2`
 * (EventBridge Scheduler; `sst.aws.Cron` is deprecated) invoking a relay function, built with
 * {@link relayFunctionArgs} like every other (Node 24, tracing, explicit permissions, settings as env).
 */
import type { ScheduleExpression } from "../lib/config/index.ts";
import { type RelayFunction, type RelayFunctionInputs, relayFunctionArgs } from "./relay-function.ts";

/** A scheduled relay function: the function and what it runs on. */
export interface ScheduledFunctionInputs<F extends RelayFunction> extends RelayFunctionInputs<F> {
  /** The function's logical name (`RESOURCE_NAMES`); its schedule is `<name>Cron`. */
  name: string;
  schedule: ScheduleExpression;
}

/** What {@link createScheduledFunction} creates. */
export interface ScheduledFunction extends FunctionSchedule {
  function: sst.aws.Function;
}

/**
 * Creates the function and its schedule (see {@link scheduleFunction}).
 */
export function createScheduledFunction<F extends RelayFunction>({
  name,
  schedule,
  ...functionInputs
}: ScheduledFunctionInputs<F>): ScheduledFunction {
  const fn = new sst.aws.Function(name, relayFunctionArgs(functionInputs));
  return { function: fn, ...scheduleFunction(name, fn, schedule) };
}

/** What {@link scheduleFunction} creates. */
export interface FunctionSchedule {
  cron: sst.aws.CronV2;
  /** The function's asynchronous-invoke settings: no Lambda retries. */
  invokeConfig: aws.lambda.FunctionEventInvokeConfig;
}

/**
 * Runs an existing function on a schedule, in UTC, with no retries at either level: the next run is the
 * retry, and a retried run would only add work (a second probe datapoint, a second redrive batch) to the
 * same period. EventBridge Scheduler invokes asynchronously, so its own `retries: 0` does not stop Lambda
 * from retrying a failed run twice more; the function's event invoke config does. That config applies to
 * every asynchronous invocation of the function (`onFailure`, when given, is where a failed one goes).
 */
export function scheduleFunction(
  name: string,
  fn: sst.aws.Function,
  schedule: ScheduleExpression,
  onFailure?: $util.Input<string>,
): FunctionSchedule {
  const cron = new sst.aws.CronV2(`${name}Cron`, {
    schedule,
    timezone: "UTC",
    retries: 0,
    function: fn,
  });
  const invokeConfig = new aws.lambda.FunctionEventInvokeConfig(`${name}InvokeConfig`, {
    functionName: fn.name,
    maximumRetryAttempts: 0,
    ...(onFailure ? { destinationConfig: { onFailure: { destination: onFailure } } } : {}),
  });
  return { cron, invokeConfig };
}
