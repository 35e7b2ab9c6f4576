import { AsyncLocalStorage } from "node:async_hooks";
import type { Logger } from "@aws-lambda-powertools/logger";

/** What belongs to the one record being processed: its logger, which carries its correlation id. */
export interface RecordScope {
  logger: Logger;
  /** Imburse's correlation id of the record's last exchange that carried one (for its outcome event). */
  imburseCorrelationId?: string;
}

const storage = new AsyncLocalStorage<RecordScope>();

/** Runs `fn` with `scope` as the current record scope; parallel records each see their own. */
export function runInRecordScope<T>(scope: RecordScope, fn: () => Promise<T>): Promise<T> {
  return storage.run(scope, fn);
}

/** The scope of the record being processed, if any. */
export function currentRecordScope(): RecordScope | undefined {
  return storage.getStore();
}
