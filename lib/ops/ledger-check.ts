import type { Logger } from "@aws-lambda-powertools/logger";
import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type middy from "@middy/core";
import type { Context } from "aws-lambda";
import { dynamoDbClient, powertools, withPowertools } from "../aws/index.ts";
import { loadSettings, METRICS, REQUIRED_SETTINGS } from "../config/index.ts";
import { describeState, dynamoDbLedger, type LedgerItem, type OrderLedger } from "../ledger/index.ts";

/** What one run of the stuck-order check found. */
export interface LedgerCheckResult {
  stuck: number;
  /** The oldest few, for the log and the caller. */
  oldest: Array<{ orderRef: string; tenantId: string; state: string; lastAttemptAt: string }>;
}

/** How many stuck orders a run names in its log line; the metric counts them all. */
const NAMED_STUCK_ORDERS = 20;

/**
 * Counts the stuck orders: claimed with a lease that ended, or that may exist in Imburse unconfirmed,
 * for longer than `olderThanMs`. Each needs `imburse-relay ledger settle` (or its next delivery) to
 * find out from Imburse.
 */
async function checkLedger(
  ledger: OrderLedger,
  now: number,
  olderThanMs: number,
): Promise<LedgerCheckResult> {
  const stuck = await ledger.stuck(now, olderThanMs);
  return {
    stuck: stuck.length,
    oldest: stuck.slice(0, NAMED_STUCK_ORDERS).map((item) => stuckOrderSummary(item, now)),
  };
}

/** A stuck order in a line: what a person needs to settle it. */
export function stuckOrderSummary(item: LedgerItem, now: number): LedgerCheckResult["oldest"][number] {
  return {
    orderRef: item.orderRef,
    tenantId: item.tenantId,
    state: describeState(item, now),
    lastAttemptAt: new Date(item.lastAttemptAt).toISOString(),
  };
}

/** What a caller may replace when assembling the ledger check handler (tests, local mode). */
export interface LedgerCheckHandlerOverrides {
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  metrics?: Metrics;
  ledger?: OrderLedger;
  clock?: () => number;
}

/**
 * Assembles the scheduled stuck-order check: it emits `StuckOrders` (the count; an alarm fires on one or
 * more) and logs the oldest. A failure to read the ledger throws, so the function's errors show it.
 */
export function createLedgerCheckHandler(
  overrides: LedgerCheckHandlerOverrides = {},
): middy.MiddyfiedHandler<unknown, LedgerCheckResult, Error, Context> {
  const env = overrides.env ?? process.env;
  const settings = loadSettings(env, REQUIRED_SETTINGS.ledgerCheck);
  const tools = powertools(overrides);
  const { logger, tracer, metrics } = tools;
  const clock = overrides.clock ?? Date.now;
  const ledger =
    overrides.ledger ?? dynamoDbLedger(tracer.captureAWSv3Client(dynamoDbClient()), settings.ledgerTable);

  const run = async (): Promise<LedgerCheckResult> => {
    const result = await checkLedger(ledger, clock(), settings.stuckAfterSeconds * 1000);
    metrics.addMetric(METRICS.stuckOrders, MetricUnit.Count, result.stuck);
    if (result.stuck > 0) {
      logger.warn("Orders are stuck: settle them with `imburse-relay ledger settle ORDER_REF`", {
        stuck: result.stuck,
        oldest: result.oldest,
      });
    } else {
      logger.info("No stuck orders");
    }
    return result;
  };
  return withPowertools(run, tools);
}
