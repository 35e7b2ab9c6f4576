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
  /**
   * Invocations in flight at once for this queue, as the mapping's `ScalingConfig.MaximumConcurrency`
   * caps them in AWS (2–1000).
   */
  maximumConcurrency: number;
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
  /**
   * A local ceiling on batches in flight per queue, below what the mappings allow (AWS's floor is 2):
   * 1 runs one batch at a time, as this runner did before it emulated concurrency. Default: none.
   */
  maxBatchesPerQueue?: number;
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
  /**
   * Records per invocation and invocations in flight from the next receive on, as
   * `UpdateEventSourceMapping({ BatchSize, ScalingConfig })` does. Lowering the concurrency lets the
   * invocations in flight finish; a receive that returns on a poller no longer allowed to run hands its
   * messages straight back.
   */
  setScaling(queueArn: string, scaling: { batchSize: number; maximumConcurrency: number }): void;
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
 * A local stand-in for Lambda's SQS event source mappings. Per queue, as many sqs-consumer pollers as the
 * mapping's maximum concurrency each long-poll for up to a batch, turn it into a Lambda-shaped SQS event
 * and context, invoke the handler and wait for it, then delete exactly the records it did not report as
 * failed, as Lambda's pollers do; so up to `maximumConcurrency` batches of one queue are in flight at once,
 * and a slow batch holds up only its own poller. Failed records wait out the queue's visibility timeout
 * (counted from their receive) and are received again, so the queue's redrive policy moves them to the DLQ
 * after `maxReceiveCount`, as in AWS. Not emulated: the batching window (a batch is what one receive
 * returns), the gradual scaling of pollers and its back-off after function errors (all pollers run from
 * the start), and killing an invocation at its timeout.
 */
export function startEventSourceRunner(options: EventSourceRunnerOptions): EventSourceRunner {
  const run = { stopping: false };
  const queues = options.sources.map((source) => startQueuePollers(source, options, run));
  const of = (queueArn: string) => queues.filter((queue) => queue.source.queue.arn === queueArn);
  return {
    async setEnabled(queueArn, enabled) {
      if (run.stopping) return;
      await Promise.all(of(queueArn).map((queue) => queue.setEnabled(enabled)));
    },
    setScaling(queueArn, scaling) {
      for (const queue of of(queueArn)) queue.setScaling(scaling);
    },
    async stop() {
      run.stopping = true;
      await Promise.all(queues.map((queue) => queue.idle()));
      for (const queue of queues) queue.abort();
    },
  };
}

/** What a queue's mapping currently allows; its pollers read it on every receive. */
interface MappingState {
  enabled: boolean;
  batchSize: number;
  maximumConcurrency: number;
}

/**
 * The pollers of one queue: poller `i` receives while the mapping is enabled and `i` is below its maximum
 * concurrency; otherwise it waits before its next receive (an invocation in flight finishes first).
 */
function startQueuePollers(
  source: EventSource,
  options: EventSourceRunnerOptions,
  run: { stopping: boolean },
) {
  const state: MappingState = {
    enabled: true,
    batchSize: source.batchSize,
    maximumConcurrency: source.maximumConcurrency,
  };
  const pollers: Poller[] = [];
  /** Pollers waiting for their turn to receive, by index. */
  const waiting = new Map<number, () => void>();
  const running = () =>
    Math.min(state.maximumConcurrency, options.maxBatchesPerQueue ?? Number.POSITIVE_INFINITY);
  const allowed = (index: number) => run.stopping || (state.enabled && index < running());
  /** Resolves when poller `index` may receive: at once, or once the mapping lets it. */
  const turn = (index: number) =>
    allowed(index) ? Promise.resolve() : new Promise<void>((resolve) => waiting.set(index, resolve));
  /** Adds the pollers a raised concurrency needs and lets the waiting ones now allowed receive. */
  const converge = () => {
    while (pollers.length < running() && !run.stopping) {
      const index = pollers.length;
      pollers.push(
        startPoller(source, state, options, {
          stopping: () => run.stopping,
          allowed: () => allowed(index),
          turn: () => turn(index),
        }),
      );
    }
    for (const [index, resolve] of waiting) {
      if (!allowed(index)) continue;
      waiting.delete(index);
      resolve();
    }
  };
  const idle = () => Promise.all(pollers.map((poller) => poller.idle())).then(() => undefined);
  converge();
  return {
    source,
    async setEnabled(enabled: boolean) {
      state.enabled = enabled;
      converge();
      if (!enabled) await idle();
    },
    setScaling(scaling: { batchSize: number; maximumConcurrency: number }) {
      state.batchSize = scaling.batchSize;
      state.maximumConcurrency = scaling.maximumConcurrency;
      for (const poller of pollers) poller.consumer.updateOption("batchSize", scaling.batchSize);
      converge();
    },
    idle,
    /** Stops every poller, aborting the long polls, and releases the waiting ones (their receive aborts). */
    abort() {
      for (const poller of pollers) poller.consumer.stop({ abort: true });
      converge();
    },
  };
}

interface Poller {
  consumer: Consumer;
  /** Resolves once no invocation of this poller is in flight (its deletes done). */
  idle(): Promise<void>;
}

/** One poller: receives a batch, invokes the handler and acknowledges, one batch at a time. */
function startPoller(
  source: EventSource,
  state: MappingState,
  options: EventSourceRunnerOptions,
  runs: { stopping: () => boolean; allowed: () => boolean; turn: () => Promise<void> },
): Poller {
  let settle: (() => void) | undefined;
  let inFlight: Promise<void> | undefined;
  let pending: InvocationReport | undefined;
  const consumer = Consumer.create({
    queueUrl: source.queue.url,
    sqs: options.sqs,
    batchSize: state.batchSize,
    waitTimeSeconds: options.waitTimeSeconds ?? 1,
    messageAttributeNames: ["All"],
    messageSystemAttributeNames: ["All"],
    // A poller the mapping does not run (disabled, or above its maximum concurrency) waits here.
    preReceiveMessageCallback: runs.turn,
    handleMessageBatch: async (messages) => {
      // A receive that completes while the runner stops is left alone: its messages come back after the
      // visibility timeout.
      if (runs.stopping()) return undefined;
      // One that completes after the mapping stopped running this poller (disabled, or scaled down) hands
      // them straight back.
      if (!runs.allowed()) {
        await handBack(messages);
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
  const handBack = (messages: Message[]) =>
    options.sqs
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
      .then(() => undefined)
      .catch((error: unknown) => options.onError?.(error as Error));
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
    if (!runs.stopping()) options.onError?.(error);
  });
  consumer.start();
  return { consumer, idle: () => inFlight ?? Promise.resolve() };
}
