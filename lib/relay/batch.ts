import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { Tracer } from "@aws-lambda-powertools/tracer";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import pLimit from "p-limit";
import { processRecord, type RecordDependencies } from "./process-record.ts";

/** Raised for records left unstarted because the invocation is about to time out; SQS delivers them again. */
export class NotStartedError extends Error {
  override readonly name = "NotStartedError";
}

/** Options of {@link createBatchHandler}. */
export interface BatchHandlerOptions {
  /** Records processed at once (Powertools alone would start them all). */
  concurrency: number;
  /** Records not started while less than this remains are handed back. */
  remainingTimeMarginMs: number;
  /** Called once per invocation before any record, e.g. to register the context with Idempotency. */
  onInvocation?: (context: Context) => void;
  tracer?: Tracer;
}

/**
 * The SQS batch handler: Powertools batch processing with partial batch responses, at most
 * `concurrency` records in flight, and a remaining-time guard.
 */
export function createBatchHandler(
  deps: RecordDependencies,
  options: BatchHandlerOptions,
): (event: SQSEvent, context: Context) => Promise<SQSBatchResponse> {
  return async (event, context) => {
    options.onInvocation?.(context);
    const limit = pLimit(options.concurrency);
    const processor = new BatchProcessor(EventType.SQS);
    const recordHandler = (record: SQSRecord) =>
      limit(async () => {
        if (context.getRemainingTimeInMillis() < options.remainingTimeMarginMs) {
          deps.logger.warn("Record handed back unstarted: the invocation is about to time out", {
            message_id: record.messageId,
          });
          throw new NotStartedError(`record ${record.messageId} not started: too little time left`);
        }
        try {
          return await traced(options.tracer, (annotate) =>
            processRecord(record, deps, annotate, () => context.getRemainingTimeInMillis()),
          );
        } catch (error) {
          // Handed back to SQS: redelivered after the visibility timeout, dead-lettered by the queue after
          // maxReceiveCount. Say so, or such a record would bounce in silence.
          deps.logger.error("Record handed back to SQS for redelivery", {
            message_id: record.messageId,
            error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
          });
          throw error;
        }
      });
    // Report a batch where every record failed as item failures too: SQS redelivers them all the same, and
    // the function's Errors metric keeps meaning "the relay crashed" rather than "Imburse is down".
    return processPartialResponse(event, recordHandler, processor, {
      context,
      throwOnFullBatchFailure: false,
    });
  };
}

/** One X-Ray subsegment per record for its annotations (parallel-safe: the shared segment is never switched). */
async function traced<T>(
  tracer: Tracer | undefined,
  fn: (annotate: (key: string, value: string) => void) => Promise<T>,
): Promise<T> {
  const parent = tracer?.isTracingEnabled() ? tracer.getSegment() : undefined;
  if (!parent) return fn(() => undefined);
  const subsegment = parent.addNewSubsegment("## order");
  try {
    return await fn((key, value) => subsegment.addAnnotation(key, value));
  } catch (error) {
    subsegment.addError(error as Error);
    throw error;
  } finally {
    subsegment.close();
  }
}
