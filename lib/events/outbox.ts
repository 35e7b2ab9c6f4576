/**
 * The outbox of outcome events: an event is marked due in the ledger write that records the outcome, then
 * published, and its success recorded lazily. Publishing is therefore at least once; consumers drop repeats
 * by the detail's `eventId`.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { METRICS } from "../config/index.ts";
import {
  type LedgerItem,
  type OrderLedger,
  type OutboxEntry,
  outboxOnlyItem,
  publishedItem,
} from "../ledger/index.ts";
import type { OutcomePublisher } from "./publisher.ts";

/** The outcome events one invocation publishes once its ledger states are written. */
export class OutcomeOutbox {
  /** Ledger items whose outbox holds due events (written by this invocation, or met by it still due). */
  readonly #items: LedgerItem[] = [];
  /** Events with no ledger item to keep them (an invalid order has none). */
  readonly #loose: OutboxEntry[] = [];

  /**
   * An item whose outbox holds due events: published, then recorded as published. One item per order: two
   * deliveries of one order in a batch must not put the same key twice into a BatchWriteItem (DynamoDB
   * refuses the whole request), so the later copy replaces the earlier.
   */
  addItem(item: LedgerItem): void {
    if ((item.outbox?.length ?? 0) === 0) return;
    const same = this.#items.findIndex(
      (held) => held.orderRef === item.orderRef && held.tenantId === item.tenantId,
    );
    if (same >= 0) this.#items.splice(same, 1);
    this.#items.push(item);
  }

  /** An event no ledger item keeps: published with the rest; if that fails, it gets an item of its own. */
  addLoose(entry: OutboxEntry): void {
    this.#loose.push(entry);
  }

  /** Takes what was collected. */
  drain(): { items: LedgerItem[]; loose: OutboxEntry[] } {
    return { items: this.#items.splice(0), loose: this.#loose.splice(0) };
  }
}

/** The counts publishing emits (the relay's own metrics include them). */
export interface OutboxMetrics {
  /** Outcome events that reached the bus. */
  eventsPublished(count: number): void;
  /** Outcome events that could not be published (they stay due in the outbox, or are lost for an invalid order). */
  eventsFailed(count: number): void;
}

/** {@link OutboxMetrics} as CloudWatch EMF through Powertools Metrics. */
export function powertoolsOutboxMetrics(metrics: Metrics): OutboxMetrics {
  return {
    eventsPublished: (n) => metrics.addMetric(METRICS.outcomeEventPublished, MetricUnit.Count, n),
    eventsFailed: (n) => metrics.addMetric(METRICS.outcomeEventFailed, MetricUnit.Count, n),
  };
}

/** What one PutEvents round achieved, for in-process observers. */
export interface OutcomeEventsPublished {
  /** The entries that reached the bus. */
  published: OutboxEntry[];
  /** The ids that did not. */
  failed: string[];
}

/** Who watches publishing in-process (local mode); the relay's observer is one. Must not throw. */
export interface OutboxObserver {
  /** Outcome events as they reached the bus, and the ids that did not. */
  outcomeEvents?(event: OutcomeEventsPublished): void;
}

/** What {@link publishDue} needs. */
export interface PublishDueDependencies {
  publisher: OutcomePublisher;
  ledger: OrderLedger;
  metrics: OutboxMetrics;
  logger: Logger;
  clock: () => number;
  /** The ledger's TTL, for the item an unpublished loose event gets. */
  ledgerTtlSeconds: number;
  /** Told of each PutEvents round (local mode); none in Lambda. */
  observer?: OutboxObserver | undefined;
}

/** What {@link publishDue} leaves to record. */
export interface PublishDueReport {
  published: number;
  failed: number;
  /**
   * Complete items written again without their published events: the caller writes them with its next
   * batched write (a complete item never changes again, so a plain put is safe).
   */
  completeToRecord: LedgerItem[];
}

/**
 * Publishes the events of `items` and `loose` in as few PutEvents calls as the API allows. Items whose
 * events all reached the bus are recorded: a complete item is returned for the caller's next batched
 * write, any other (dead-lettered, waiting: a redrive may claim it again) is written at once, on the
 * condition that its version has not moved. Items `unwritten` (their state write failed) are published but
 * not recorded: nothing keeps their events, as nothing keeps a loose event. Such an event that was not
 * published is written to the ledger as an item of its own (one request, only on failure). Never throws: an event not published stays due, and the sweep or the order's
 * next delivery publishes it.
 */
export async function publishDue(
  items: readonly LedgerItem[],
  loose: readonly OutboxEntry[],
  deps: PublishDueDependencies,
  options: {
    unwritten?: ReadonlySet<LedgerItem>;
    /** Stops PutEvents and the recording writes. */
    abortSignal?: AbortSignal;
    /** Stops the write that keeps unpublished loose events: later than the publish, or they would be lost. */
    keepAbortSignal?: AbortSignal;
  } = {},
): Promise<PublishDueReport> {
  const entries = [...items.flatMap((item) => item.outbox ?? []), ...loose];
  const report: PublishDueReport = { published: 0, failed: 0, completeToRecord: [] };
  if (entries.length === 0) return report;
  const sent = await deps.publisher.publish(entries, { abortSignal: options.abortSignal });
  const published = new Set(sent.published);
  report.published = published.size;
  report.failed = sent.failed.length;
  if (report.published > 0) deps.metrics.eventsPublished(report.published);
  if (report.failed > 0) {
    deps.metrics.eventsFailed(report.failed);
    deps.logger.warn("Outcome events could not be published; they stay due in the ledger's outbox", {
      event_ids: sent.failed,
    });
  }
  deps.observer?.outcomeEvents?.({
    published: uniqueEntries(entries.filter((entry) => published.has(entry.id))),
    failed: sent.failed,
  });
  const unkept = [
    ...loose,
    ...items.filter((item) => options.unwritten?.has(item)).flatMap((i) => i.outbox ?? []),
  ];
  const unpublishedLoose = uniqueEntries(unkept.filter((entry) => !published.has(entry.id)));
  if (unpublishedLoose.length > 0) {
    const now = deps.clock();
    const kept = unpublishedLoose.map((entry) =>
      outboxOnlyItem(entry, tenantOf(entry), now, deps.ledgerTtlSeconds),
    );
    const notKept = await deps.ledger.putAll(kept, {
      abortSignal: options.keepAbortSignal ?? options.abortSignal,
    });
    if (notKept.length > 0) {
      deps.logger.error("Outcome events were neither published nor kept for the sweep: they are lost", {
        event_ids: notKept.map((item) => item.outbox?.[0]?.id),
      });
    }
  }
  for (const item of items) {
    if (options.unwritten?.has(item)) continue;
    const next = publishedItem(item, published);
    if (!next) continue;
    if (next.state === "submitted" || next.state === "already-existed") {
      report.completeToRecord.push(next);
      continue;
    }
    try {
      // Only if nothing wrote the item since it was read: a newer state, with newer events, must not be undone.
      await deps.ledger.putIfUnchanged(next, item, { abortSignal: options.abortSignal });
    } catch (error) {
      // Still due in the ledger: the sweep publishes it again, with the same id.
      deps.logger.warn("Could not record a published outcome event; it will be published again", {
        order_ref: item.orderRef,
        problem: error instanceof Error ? error.message : String(error),
      });
    }
  }
  return report;
}

/** The tenant an event names, for its own item's key. */
function tenantOf(entry: OutboxEntry): string {
  try {
    return (JSON.parse(entry.detail) as { tenant?: string | null }).tenant ?? "unknown";
  } catch {
    return "unknown";
  }
}

function uniqueEntries(entries: readonly OutboxEntry[]): OutboxEntry[] {
  return [...new Map(entries.map((entry) => [entry.id, entry])).values()];
}
