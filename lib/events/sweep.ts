/**
 * The outbox sweep: publishes again the outcome events that stayed due in the ledger (the submit function
 * stopped between its ledger write and PutEvents, or PutEvents failed), and records them once published.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import type middy from "@middy/core";
import type { Context } from "aws-lambda";
import { dynamoDbClient, eventBridgeClient, powertools, withPowertools } from "../aws/index.ts";
import { loadSettings, REQUIRED_SETTINGS } from "../config/index.ts";
import { dynamoDbLedger, type OrderLedger } from "../ledger/index.ts";
import { type PublishDueDependencies, powertoolsOutboxMetrics, publishDue } from "./outbox.ts";
import { eventBridgePublisher, type OutcomePublisher } from "./publisher.ts";

/** What one sweep did. */
export interface SweepResult {
  /** Ledger items that held due events. */
  items: number;
  published: number;
  failed: number;
}

/** What {@link sweepOutbox} talks to. */
export type SweepDependencies = PublishDueDependencies;

/**
 * Publishes the events due for longer than `olderThanMs` (at most `maxItems` ledger items, oldest first) and
 * records what reached the bus: a complete item in one BatchWriteItem per 25, any other only if its version
 * has not moved. Throws only when the ledger cannot be read.
 */
export async function sweepOutbox(
  deps: SweepDependencies,
  options: { now: number; olderThanMs: number; maxItems: number },
): Promise<SweepResult> {
  // A claimed order's events go out with its delivery's own; the index is eventually consistent, and a
  // claimed item's next state is being written right now.
  const due = (await deps.ledger.dueEvents(options.now, options.olderThanMs, options.maxItems)).filter(
    (item) => item.state !== "claimed",
  );
  const report = await publishDue(due, [], deps);
  if (report.completeToRecord.length > 0) {
    const failed = await deps.ledger.putAll(report.completeToRecord);
    if (failed.length > 0) {
      deps.logger.warn("Could not record published outcome events; the next sweep publishes them again", {
        order_refs: failed.map((item) => item.orderRef),
      });
    }
  }
  return { items: due.length, published: report.published, failed: report.failed };
}

/** What a caller may replace when assembling the sweep handler (tests, local mode). */
export interface OutboxSweepHandlerOverrides {
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  metrics?: Metrics;
  ledger?: OrderLedger;
  publisher?: OutcomePublisher;
  clock?: () => number;
}

/** Assembles the scheduled outbox sweep. */
export function createOutboxSweepHandler(
  overrides: OutboxSweepHandlerOverrides = {},
): middy.MiddyfiedHandler<unknown, SweepResult, Error, Context> {
  const env = overrides.env ?? process.env;
  const settings = loadSettings(env, REQUIRED_SETTINGS.outboxSweep);
  const tools = powertools(overrides);
  const { logger, tracer, metrics } = tools;
  const clock = overrides.clock ?? Date.now;
  const ledger =
    overrides.ledger ?? dynamoDbLedger(tracer.captureAWSv3Client(dynamoDbClient()), settings.ledgerTable);
  const publisher =
    overrides.publisher ??
    eventBridgePublisher(tracer.captureAWSv3Client(eventBridgeClient()), settings.eventBusName);

  const run = async (): Promise<SweepResult> => {
    const result = await sweepOutbox(
      {
        ledger,
        publisher,
        logger,
        metrics: powertoolsOutboxMetrics(metrics),
        clock,
        ledgerTtlSeconds: settings.ledgerTtlSeconds,
      },
      {
        now: clock(),
        olderThanMs: settings.outboxSweepAfterSeconds * 1000,
        maxItems: settings.outboxSweepMaxEvents,
      },
    );
    if (result.items > 0) logger.info("Outcome events that were still due published again", { ...result });
    return result;
  };
  return withPowertools(run, tools);
}
