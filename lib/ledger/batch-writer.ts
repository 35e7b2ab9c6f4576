import type { LedgerItem } from "./item.ts";
import type { LedgerCallOptions, OrderLedger } from "./store.ts";

/** What {@link LedgerBatchWriter.flush} could not record. */
export interface FlushReport {
  written: number;
  /** The items written, as queued (the same objects). */
  writtenItems: LedgerItem[];
  /** Another delivery took the order over after this one's lease ended: its write was dropped. */
  superseded: LedgerItem[];
  /** DynamoDB refused or failed: the items stay claimed, and a later delivery reads Imburse first. */
  failed: LedgerItem[];
}

/**
 * Collects the completed states of one batch and writes them together: one BatchWriteItem for the items
 * whose lease is still this delivery's, and a conditional write each for those whose lease has ended
 * (another delivery may have claimed them since). An item that is never written stays `claimed`, so every
 * later delivery reads the order from Imburse before posting: the safe default.
 */
export class LedgerBatchWriter {
  readonly #ledger: OrderLedger;
  readonly #clock: () => number;
  readonly #pending: { item: LedgerItem; lease: { owner: string; leaseExpiresAt: number } }[] = [];
  /** Complete items whose outcome events were published: written again without them, unconditionally. */
  readonly #published: LedgerItem[] = [];

  constructor(ledger: OrderLedger, clock: () => number) {
    this.#ledger = ledger;
    this.#clock = clock;
  }

  /** Queues the final state of an order whose lease `owner` held until `leaseExpiresAt`. */
  add(item: LedgerItem, lease: { owner: string; leaseExpiresAt: number }): void {
    this.#pending.push({ item, lease });
  }

  /**
   * Queues a complete order (submitted, already-existed) whose outcome events reached the bus, to be written
   * without them: the lazy record of the outbox. A plain put is safe only because a complete item never
   * changes again (a later delivery is a duplicate or a conflict, and `settle` refuses it); it rides in the
   * batch's BatchWriteItem at no extra request while the batch has room.
   */
  addPublished(item: LedgerItem): void {
    if (item.state !== "submitted" && item.state !== "already-existed") {
      throw new Error(`only a complete order may be rewritten unconditionally, not one ${item.state}`);
    }
    this.#published.push(item);
  }

  /** Whether anything is queued. */
  get isEmpty(): boolean {
    return this.#pending.length === 0 && this.#published.length === 0;
  }

  /** Writes what was queued, abandoning it when `abortSignal` fires. Never throws: what it could not write is reported. */
  async flush(options: LedgerCallOptions = {}): Promise<FlushReport> {
    const pending = this.#pending.splice(0);
    const published = this.#published.splice(0);
    const now = this.#clock();
    const leased = pending.filter(({ lease }) => lease.leaseExpiresAt > now).map(({ item }) => item);
    const lapsed = pending.filter(({ lease }) => lease.leaseExpiresAt <= now);
    const report: FlushReport = { written: 0, writtenItems: [], superseded: [], failed: [] };
    // One entry per key: DynamoDB refuses a BatchWriteItem that names an item twice, whole.
    const plain = [...new Map([...published, ...leased].map((item) => [keyOf(item), item])).values()];
    if (plain.length > 0) {
      // DynamoDB hands back what it left unprocessed as new objects: match them by key, not identity.
      const failed = new Set((await this.#ledger.putAll(plain, options)).map(keyOf));
      report.failed.push(...leased.filter((item) => failed.has(keyOf(item))));
      report.writtenItems.push(...leased.filter((item) => !failed.has(keyOf(item))));
    }
    for (const { item, lease } of lapsed) {
      try {
        if (await this.#ledger.putIfOwner(item, lease.owner, options)) report.writtenItems.push(item);
        else report.superseded.push(item);
      } catch {
        report.failed.push(item);
      }
    }
    report.written = report.writtenItems.length;
    return report;
  }
}

function keyOf(item: Pick<LedgerItem, "orderRef" | "tenantId">): string {
  return `${item.tenantId}#${item.orderRef}`;
}
