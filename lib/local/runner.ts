import { ChangeMessageVisibilityBatchCommand, type Message, type SQSClient } from "@aws-sdk/client-sqs";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { Consumer } from "sqs-consumer";
import type { LocalQueue } from "./environment.ts";
import { lambdaContext, toSqsRecord } from "./lambda-event.ts";

/** A Lambda handler for SQS events with partial batch responses. */
export type SqsBatchHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

/** One queue the runner feeds to the handler, like one event source mapping. */
export interface EventSource {
  queue: LocalQueue;
  /** Records per invocation (1–10). */
  batchSize: number;
}

/** What one invocation did, reported after SQS has been told (deletes done). */
export interface InvocationReport {
  queue: LocalQueue;
  records: number;
  /** Message ids handed back to SQS: redelivered after the visibility timeout, or dead-lettered by redrive. */
  failedMessageIds: string[];
  /** Set when the invocation threw: the whole batch goes back to the queue, as with Lambda. */
  error?: unknown;
}

/** Options of {@link startEventSourceRunner}. */
export interface EventSourceRunnerOptions {
  handler: SqsBatchHandler;
  sources: readonly EventSource[];
  sqs: SQSClient;
  region: string;
  functionName: string;
  /** The function timeout: each invocation's context deadline. Not enforced (the handler is not killed). */
  functionTimeoutSeconds: number;
  /** Long-poll wait; small so that stopping is quick. Default 1 s. */
  waitTimeSeconds?: number;
  onInvocation?: (report: InvocationReport) => void;
  /** Errors talking to SQS (receive, delete) while running. */
  onError?: (error: Error) => void;
}

/** A running local event source. */
export interface EventSourceRunner {
  /**
   * Enables or disables the mapping of one queue, as `UpdateEventSourceMapping({ Enabled })` does: a
   * disabled mapping stops receiving and its messages wait in the queue. Resolves once the change holds:
   * for a disable, when the invocation in flight (if any) has finished and been acknowledged.
   */
  setEnabled(queueArn: string, enabled: boolean): Promise<void>;
  /** Records per invocation from the next receive on, as `UpdateEventSourceMapping({ BatchSize })` does. */
  setBatchSize(queueArn: string, batchSize: number): void;
  /** Stops polling, waits for invocations in flight (and their deletes), then aborts the idle long polls. */
  stop(): Promise<void>;
}

/**
 * The messages to delete after an invocation, as Lambda's event source mapping decides: every message not
 * listed in `batchItemFailures`; none when the handler threw; none when a failure names no message of the
 * batch (Lambda treats an unusable response as a failure of the whole batch).
 */
export function messagesToDelete(
  messages: readonly Message[],
  outcome: { response: SQSBatchResponse | undefined } | { error: unknown },
): Message[] {
  if ("error" in outcome) return [];
  const failures = outcome.response?.batchItemFailures ?? [];
  const ids = new Set(messages.map((message) => message.MessageId));
  if (failures.some((failure) => !failure.itemIdentifier || !ids.has(failure.itemIdentifier))) return [];
  const failed = new Set(failures.map((failure) => failure.itemIdentifier));
  return messages.filter((message) => !failed.has(message.MessageId ?? ""));
}

/**
 * A local stand-in for Lambda's SQS event source mappings: one sqs-consumer poller per queue turns
 * received messages into Lambda-shaped SQS events and contexts, invokes the handler, and deletes exactly
 * the records it did not report as failed. Failed records wait out the queue's visibility timeout and are
 * received again, so the queue's redrive policy moves them to the DLQ after `maxReceiveCount`, as in AWS.
 * Not emulated: the batching window, scaling to several concurrent invocations per queue, and killing an
 * invocation at its timeout.
 */
export function startEventSourceRunner(options: EventSourceRunnerOptions): EventSourceRunner {
  let stopping = false;
  const pollers = options.sources.map((source) => {
    const state = { enabled: true };
    let settle: (() => void) | undefined;
    let inFlight: Promise<void> | undefined;
    let pending: InvocationReport | undefined;
    const consumer = Consumer.create({
      queueUrl: source.queue.url,
      sqs: options.sqs,
      batchSize: source.batchSize,
      waitTimeSeconds: options.waitTimeSeconds ?? 1,
      messageAttributeNames: ["All"],
      messageSystemAttributeNames: ["All"],
      handleMessageBatch: async (messages) => {
        // A receive that completes while stopping is left alone: its messages come back after the timeout.
        if (stopping) return undefined;
        // One that completes after the mapping was disabled hands its messages straight back to the queue.
        if (!state.enabled) {
          await options.sqs
            .send(
              new ChangeMessageVisibilityBatchCommand({
                QueueUrl: source.queue.url,
                Entries: messages.map((m, i) => ({
                  Id: String(i),
                  ReceiptHandle: m.ReceiptHandle,
                  VisibilityTimeout: 0,
                })),
              }),
            )
            .catch((error: unknown) => options.onError?.(error as Error));
          return [];
        }
        inFlight = new Promise<void>((resolve) => {
          settle = resolve;
        });
        const event: SQSEvent = {
          Records: messages.map((message) => toSqsRecord(message, source.queue, options.region)),
        };
        const context = lambdaContext({
          functionName: options.functionName,
          timeoutMs: options.functionTimeoutSeconds * 1000,
          region: options.region,
        });
        let outcome: { response: SQSBatchResponse | undefined } | { error: unknown };
        try {
          outcome = { response: await options.handler(event, context) };
        } catch (error) {
          outcome = { error };
        }
        const acknowledged = messagesToDelete(messages, outcome);
        const kept = new Set(acknowledged.map((message) => message.MessageId));
        pending = {
          queue: source.queue,
          records: messages.length,
          failedMessageIds: messages.map((m) => m.MessageId ?? "").filter((id) => !kept.has(id)),
          ...("error" in outcome ? { error: outcome.error } : {}),
        };
        return acknowledged;
      },
    });
    // 'response_processed' follows every batch handed to the handler, after its deletes.
    consumer.on("response_processed", () => {
      const report = pending;
      pending = undefined;
      if (report) options.onInvocation?.(report);
      settle?.();
      settle = undefined;
      inFlight = undefined;
    });
    consumer.on("error", (error) => {
      if (!stopping) options.onError?.(error);
    });
    consumer.start();
    return { source, state, consumer, idle: () => inFlight ?? Promise.resolve() };
  });

  return {
    async setEnabled(queueArn, enabled) {
      await Promise.all(
        pollers
          .filter((poller) => poller.source.queue.arn === queueArn && !stopping)
          .map(async ({ state, consumer, idle }) => {
            state.enabled = enabled;
            if (enabled) {
              if (!consumer.status.isRunning) consumer.start();
              return;
            }
            // Not aborted: a long poll that returns messages now hands them back (above) rather than leaving
            // them invisible; an invocation in flight finishes and acknowledges its records.
            consumer.stop();
            await idle();
          }),
      );
    },
    setBatchSize(queueArn, batchSize) {
      for (const { source, consumer } of pollers) {
        if (source.queue.arn === queueArn) consumer.updateOption("batchSize", batchSize);
      }
    },
    async stop() {
      stopping = true;
      await Promise.all(pollers.map((poller) => poller.idle()));
      for (const { consumer } of pollers) consumer.stop({ abort: true });
    },
  };
}
