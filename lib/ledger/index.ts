/**
 * The order ledger: one durable DynamoDB item per tenant and orderRef that every delivery claims before it
 * calls Imburse, and that records where the order stands (claimed, waiting, may exist, submitted,
 * already-existed, dead-lettered).
 */
export { type FlushReport, LedgerBatchWriter } from "./batch-writer.ts";
export {
  type AttemptResult,
  type Claim,
  type ClaimVerdict,
  claimedItem,
  describeState,
  fingerprintOf,
  hasEventsDue,
  isComplete,
  isStuck,
  judgeClaim,
  type LastOutcome,
  type LedgerDeadLetterKind,
  type LedgerItem,
  type LedgerState,
  OPEN_SHARDS,
  type OutboxEntry,
  openShardOf,
  outboxOnlyItem,
  publishedItem,
  settledItem,
} from "./item.ts";
export {
  type ClaimOutcome,
  dynamoDbLedger,
  type LedgerCallOptions,
  LedgerUnavailableError,
  type OrderLedger,
} from "./store.ts";
