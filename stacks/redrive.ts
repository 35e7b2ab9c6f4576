/**
 * The scheduled DLQ redrive: moves `retries-exhausted` dead letters whose last failure was transient back
 * to Orders, attempts reset, at most `RELAY_REDRIVE_MAX_MESSAGES` per run. Dead letters that need a person
 * (`invalid`, `rejected`, `conflict`) stay in the DLQ.
 */
import type { InfrastructureConfig } from "../lib/config/index.ts";
import { RESOURCE_NAMES } from "../lib/config/index.ts";
import { consumeQueues, sendToQueues, writeTraces } from "./permissions.ts";
import type { RelayQueues } from "./queues.ts";
import { createScheduledFunction, type ScheduledFunction } from "./scheduled.ts";

/** The handler, relative to the repository root (`file.export`). */
const REDRIVE_HANDLER = "functions/redrive.handler";

/** What {@link createRedrive} needs. */
export interface RedriveInputs {
  config: InfrastructureConfig;
  queues: RelayQueues;
}

/**
 * Creates the redrive on `schedules.redrive.expression` when `schedules.redrive.enabled`; otherwise
 * nothing (undefined). It reads, deletes and hides messages of the DLQ and sends to Orders only.
 */
export function createRedrive({ config, queues }: RedriveInputs): ScheduledFunction | undefined {
  const { redrive } = config.schedules;
  if (!redrive.enabled) return undefined;
  return createScheduledFunction({
    name: RESOURCE_NAMES.redriveFunction,
    schedule: redrive.expression,
    function: "redrive",
    description: "Moves transiently failed dead letters back to the Orders queue, attempts reset",
    handler: REDRIVE_HANDLER,
    size: config.redriveFunction,
    settings: config.settings,
    resources: { deadLetterQueueUrl: queues.deadLetter.url, ordersQueueUrl: queues.orders.url },
    permissions: [consumeQueues([queues.deadLetter.arn]), sendToQueues([queues.orders.arn]), writeTraces()],
  });
}
