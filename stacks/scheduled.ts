/**
 * The pattern of the relay's scheduled functions (the health probe, the DLQ redrive): an `sst.aws.CronV2`
 * (EventBridge Scheduler; `sst.aws.Cron` is deprecated) invoking a relay function, built with
 * {@link relayFunctionArgs} like every other (Node 24, tracing, explicit permissions, settings as env).
 */
import type { ScheduleExpression } from "../lib/config/infrastructure.ts";
import { type RelayFunction, type RelayFunctionInputs, relayFunctionArgs } from "./relay-function.ts";

/** A scheduled relay function: the function and what it runs on. */
export interface ScheduledFunctionInputs<F extends RelayFunction> extends RelayFunctionInputs<F> {
  /** The function's logical name (`RESOURCE_NAMES`); its schedule is `<name>Cron`. */
  name: string;
  schedule: ScheduleExpression;
}

/** What {@link createScheduledFunction} creates. */
export interface ScheduledFunction {
  function: sst.aws.Function;
  cron: sst.aws.CronV2;
}

/**
 * Creates the function and its schedule, in UTC, without Scheduler retries: the next run is the retry, and
 * a retried run would only add work (a second probe datapoint, a second redrive batch) to the same period.
 */
export function createScheduledFunction<F extends RelayFunction>({
  name,
  schedule,
  ...functionInputs
}: ScheduledFunctionInputs<F>): ScheduledFunction {
  const fn = new sst.aws.Function(name, relayFunctionArgs(functionInputs));
  const cron = new sst.aws.CronV2(`${name}Cron`, {
    schedule,
    timezone: "UTC",
    retries: 0,
    function: fn,
  });
  return { function: fn, cron };
}
