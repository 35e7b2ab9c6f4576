import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { Tracer } from "@aws-lambda-powertools/tracer";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import pLimit from "p-limit";
import type { OutcomePublisher } from "../events/index.ts";
import { OutcomeOutbox, publishDue } from "../events/index.ts";
import { LedgerBatchWriter, type LedgerItem } from "../ledger/index.ts";
import { queueNameOf } from "./envelope.ts";
import { HandBackError } from "./errors.ts";
import { processRecord, type RecordDependencies } from "./process-record.ts";

/** Options of {@link createBatchHandler}. */
export interface BatchHandlerOptions {
  /** Records processed at once (Powertools alone would start them all). */
  concurrency: number;
  /** The URLs of the queues the function consumes, to hand a record back to the queue it came from. */
  sourceQueueUrls: readonly string[];
  tracer?: Tracer;
  /** Publishes the outcome events; without one, no events are built. */
  publisher?: OutcomePublisher;
}

/**
 * The end of the batch, counted back from the invocation's: the ledger write stops 600 ms before it, PutEvents
 * and its records 300 ms before, and the write that keeps events PutEvents did not take 100 ms before (so a
 * slow PutEvents cannot take their last chance). Hand-backs, made while records run, stop 200 ms before.
 */
const END_OF_BATCH_MS = { flush: 600, publish: 300, keep: 100, handBack: 200 } as const;

/**
 * The SQS batch handler: Powertools batch processing with partial batch responses, at most
 * `concurrency` records in flight, a remaining-time guard, hand-backs timed to when a record is worth
 * trying again, and the batch's completed ledger states written together at the end.
 */
export function createBatchHandler(
  deps: RecordDependencies,
  options: BatchHandlerOptions,
): (event: SQSEvent, context: Context) => Promise<SQSBatchResponse> {
  const handBack = async (record: SQSRecord, seconds: number, why: string, abortSignal: AbortSignal) => {
    deps.metrics.handedBack();
    deps.logger.info("Record handed back to SQS: it comes back later", {
      message_id: record.messageId,
      why,
      visible_in_seconds: seconds,
    });
    const queueUrl = queueUrlOf(record.eventSourceARN, options.sourceQueueUrls);
    if (!queueUrl) {
      deps.logger.warn(
        "The handed-back record's queue is not one the relay knows; it comes back after the visibility timeout",
        {
          message_id: record.messageId,
          event_source_arn: record.eventSourceARN,
        },
      );
      return;
    }
    try {
      await deps.sender.changeVisibility(queueUrl, record.receiptHandle, seconds, { abortSignal });
    } catch (error) {
      // It still comes back, after the queue's visibility timeout.
      deps.logger.warn("Could not shorten the handed-back record's visibility timeout", {
        message_id: record.messageId,
        error: error instanceof Error ? error.name : String(error),
      });
    }
  };

  // Complete orders whose outcome events reached the bus: recorded in the next invocation's batched write
  // (or by the sweep, if this container ends first). Lambda runs one invocation at a time per container.
  const publishedToRecord: LedgerItem[] = [];

  return async (event, context) => {
    const limit = pLimit(options.concurrency);
    const processor = new BatchProcessor(EventType.SQS);
    const ledgerWrites = new LedgerBatchWriter(deps.ledger, deps.clock);
    for (const item of publishedToRecord.splice(0)) ledgerWrites.addPublished(item);
    const outbox = options.publisher ? new OutcomeOutbox() : undefined;
    const remainingMs = () => context.getRemainingTimeInMillis();
    // The last calls of the invocation (hand-backs, the batch's ledger write) stop just before it ends.
    const endsBefore = (ms: number) => AbortSignal.timeout(Math.max(1, remainingMs() - ms));
    const recordHandler = (record: SQSRecord) =>
      limit(async () => {
        try {
          return await traced(options.tracer, (annotate) =>
            processRecord(record, deps, {
              ledgerWrites,
              remainingMs,
              annotate,
              ...(outbox ? { outbox } : {}),
            }),
          );
        } catch (error) {
          if (error instanceof HandBackError) {
            await handBack(
              record,
              error.visibleInSeconds,
              error.message,
              endsBefore(END_OF_BATCH_MS.handBack),
            );
            throw error;
          }
          // Redelivered after the visibility timeout, dead-lettered by the queue after maxReceiveCount. Say
          // so, or such a record would bounce in silence.
          deps.logger.error("Record handed back to SQS for redelivery", {
            message_id: record.messageId,
            error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
          });
          throw error;
        }
      });
    // Report a batch where every record failed as item failures too: SQS redelivers them all the same, and
    // the function's Errors metric keeps meaning "the relay crashed" rather than "Imburse is down".
    const response = await processPartialResponse(event, recordHandler, processor, {
      context,
      throwOnFullBatchFailure: false,
    });
    const flushed = await ledgerWrites.flush({ abortSignal: endsBefore(END_OF_BATCH_MS.flush) });
    if (flushed.failed.length > 0) {
      for (const _ of flushed.failed) deps.metrics.ledgerUnavailable();
      deps.logger.error("Could not record completed orders in the ledger; their claims stand", {
        order_refs: flushed.failed.map((item) => item.orderRef),
      });
    }
    if (flushed.superseded.length > 0) {
      deps.logger.warn("Completed orders were taken over by another delivery after their lease ended", {
        order_refs: flushed.superseded.map((item) => item.orderRef),
      });
    }
    if (outbox && options.publisher) {
      // After the ledger write that marked them due: a crash from here on leaves them due, never lost.
      const { items, loose } = outbox.drain();
      const published = await publishDue(
        items,
        loose,
        {
          publisher: options.publisher,
          ledger: deps.ledger,
          metrics: deps.metrics,
          logger: deps.logger,
          clock: deps.clock,
          ledgerTtlSeconds: deps.settings.ledgerTtlSeconds,
          observer: deps.observer,
        },
        {
          unwritten: new Set([...flushed.failed, ...flushed.superseded]),
          abortSignal: endsBefore(END_OF_BATCH_MS.publish),
          keepAbortSignal: endsBefore(END_OF_BATCH_MS.keep),
        },
      );
      publishedToRecord.push(...published.completeToRecord);
    }
    return response;
  };
}

/** The URL of the queue an event source ARN names (`arn:aws:sqs:region:account:name`), by queue name. */
export function queueUrlOf(eventSourceArn: string, queueUrls: readonly string[]): string | undefined {
  const name = queueNameOf(eventSourceArn);
  return name ? queueUrls.find((url) => queueNameOf(url) === name) : undefined;
}

/**
 * Runs one record inside an X-Ray subsegment of its own, `## order`, made the current segment of the record's
 * async context: the AWS SDK and HTTP subsegments of its calls become its children, so a trace shows each
 * order whole. The SDK's `captureAsyncFunc` runs `fn` in a new context of its CLS namespace, so records in
 * flight together each keep their own (setting the segment of the shared context would mix them up).
 */
async function traced<T>(
  tracer: Tracer | undefined,
  fn: (annotate: (key: string, value: string) => void) => Promise<T>,
): Promise<T> {
  if (!tracer?.isTracingEnabled() || !tracer.getSegment()) return fn(() => undefined);
  return tracer.provider.captureAsyncFunc("## order", async (subsegment) => {
    try {
      return await fn((key, value) => subsegment?.addAnnotation(key, value));
    } catch (error) {
      // A hand-back is an expected way to end, not an error of the order's trace.
      if (!(error instanceof HandBackError)) subsegment?.addError(error as Error);
      throw error;
    } finally {
      subsegment?.close();
    }
  }) as Promise<T>;
}
