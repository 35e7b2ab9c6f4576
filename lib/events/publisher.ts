import { type EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import type { OutboxEntry } from "../ledger/index.ts";
import { OUTCOME_EVENT_SOURCE } from "./outcome-event.ts";

/** PutEvents takes at most this many entries per call. */
const PUT_EVENTS_MAX_ENTRIES = 10;
/** PutEvents refuses a request whose entries total more than 256 KiB; keep a margin for the envelope. */
const PUT_EVENTS_MAX_BYTES = 250_000;
/** Rounds for entries that PutEvents answered with an error code (throttling, internal failure). */
const ENTRY_ROUNDS = 2;

/** What a publish achieved: the ids that reached the bus and those that did not. */
export interface PublishReport {
  published: string[];
  failed: string[];
}

/** Sends outcome events to the bus. Never throws: what it could not send is reported. */
export interface OutcomePublisher {
  publish(entries: readonly OutboxEntry[], options?: { abortSignal?: AbortSignal }): Promise<PublishReport>;
}

/**
 * {@link OutcomePublisher} on EventBridge PutEvents: as few calls as the API allows (10 entries and under
 * 256 KiB each), entries refused one by one sent again once, and a repeated id within one call sent once.
 */
export function eventBridgePublisher(client: EventBridgeClient, eventBusName: string): OutcomePublisher {
  return {
    async publish(entries, options = {}) {
      const report: PublishReport = { published: [], failed: [] };
      let pending = uniqueById(entries);
      for (let round = 0; round < ENTRY_ROUNDS && pending.length > 0; round++) {
        const again: OutboxEntry[] = [];
        for (const chunk of chunksOf(pending)) {
          try {
            const answer = await client.send(
              new PutEventsCommand({
                Entries: chunk.map((entry) => ({
                  EventBusName: eventBusName,
                  Source: OUTCOME_EVENT_SOURCE,
                  DetailType: entry.detailType,
                  Detail: entry.detail,
                })),
              }),
              options,
            );
            // Result entries are in request order; an entry with an ErrorCode was not accepted.
            chunk.forEach((entry, index) => {
              if (answer.Entries?.[index]?.EventId && !answer.Entries[index].ErrorCode) {
                report.published.push(entry.id);
              } else again.push(entry);
            });
          } catch {
            // The SDK has already retried the call; the outbox keeps these for the next try.
            report.failed.push(...chunk.map((entry) => entry.id));
          }
        }
        pending = again;
      }
      report.failed.push(...pending.map((entry) => entry.id));
      return report;
    },
  };
}

/** Splits entries into PutEvents calls: at most 10 entries and {@link PUT_EVENTS_MAX_BYTES} per call. */
export function chunksOf(entries: readonly OutboxEntry[]): OutboxEntry[][] {
  const chunks: OutboxEntry[][] = [];
  let current: OutboxEntry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = entrySize(entry);
    if (
      current.length === PUT_EVENTS_MAX_ENTRIES ||
      (current.length > 0 && bytes + size > PUT_EVENTS_MAX_BYTES)
    ) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** The size PutEvents counts for an entry: source, detail type and detail in UTF-8. */
function entrySize(entry: OutboxEntry): number {
  return Buffer.byteLength(OUTCOME_EVENT_SOURCE + entry.detailType + entry.detail);
}

function uniqueById(entries: readonly OutboxEntry[]): OutboxEntry[] {
  return [...new Map(entries.map((entry) => [entry.id, entry])).values()];
}
