import type { LedgerItem } from "./item.ts";
import type { LedgerCallOptions, OrderLedger } from "./store.ts";

/** What {@link LedgerBatchWriter.flush} could not record. */
export interface FlushReport {
  written: number;
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

  constructor(ledger: OrderLedger, clock: () => number) {
    this.#ledger = ledger;
    this.#clock = clock;
  }

  /** Queues the final state of an order whose lease `owner` held until `leaseExpiresAt`. */
  add(item: LedgerItem, lease: { owner: string; leaseExpiresAt: number }): void {
    this.#pending.push({ item, lease });
  }

  /** Writes what was queued, abandoning it when `abortSignal` fires. Never throws: what it could not write is reported. */
  async flush(options: LedgerCallOptions = {}): Promise<FlushReport> {
    const pending = this.#pending.splice(0);
    const now = this.#clock();
    const leased = pending.filter(({ lease }) => lease.leaseExpiresAt > now).map(({ item }) => item);
    const lapsed = pending.filter(({ lease }) => lease.leaseExpiresAt <= now);
    const report: FlushReport = { written: 0, superseded: [], failed: [] };
    if (leased.length > 0) {
      const failed = await this.#ledger.putAll(leased, options);
      report.failed.push(...failed);
      report.written += leased.length - failed.length;
    }
    for (const { item, lease } of lapsed) {
      try {
        if (await this.#ledger.putIfOwner(item, lease.owner, options)) report.written++;
        else report.superseded.push(item);
      } catch {
        report.failed.push(item);
      }
    }
    return report;
  }
}
