/**
 * The stuck-order check: on its schedule, counts the ledger's orders that are claimed with a lease that
 * ended, or that may exist in Imburse, for longer than `RELAY_STUCK_AFTER_SECONDS`, and emits `StuckOrders`
 * (the stuck-orders alarm in alarms.ts watches it).
 */
import type { InfrastructureConfig } from "../lib/config/index.ts";
import { RESOURCE_NAMES } from "../lib/config/index.ts";
import { queryOpenOrders, writeTraces } from "./permissions.ts";
import { createScheduledFunction, type ScheduledFunction } from "./scheduled.ts";

/** The handler, relative to the repository root (`file.export`). */
const LEDGER_CHECK_HANDLER = "functions/ledger-check.handler";

/** What {@link createLedgerCheck} needs. */
export interface LedgerCheckInputs {
  config: InfrastructureConfig;
  table: sst.aws.Dynamo;
}

/** Creates the check on `schedules.ledgerCheck`. It queries the ledger's open-orders index and nothing else. */
export function createLedgerCheck({ config, table }: LedgerCheckInputs): ScheduledFunction {
  return createScheduledFunction({
    name: RESOURCE_NAMES.ledgerCheckFunction,
    schedule: config.schedules.ledgerCheck,
    function: "ledgerCheck",
    description: "Counts orders stuck in the ledger and emits StuckOrders",
    handler: LEDGER_CHECK_HANDLER,
    size: config.ledgerCheckFunction,
    settings: config.settings,
    resources: { ledgerTable: table.name },
    permissions: [queryOpenOrders(table.arn), writeTraces()],
  });
}
