import { GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { FauxqsServer } from "fauxqs";
import type { LocalQueue } from "./environment.ts";

/** What decides whether a local run is drained. */
export interface DrainFacts {
  /** Lines are still being published. */
  publishing: boolean;
  /** Every line has its outcome, but for duplicates whose original is not a line of this run. */
  linesComplete: boolean;
  /** Messages in the orders and retry queues: ready, delayed or being processed. */
  messagesWaiting: number;
}

/** Drained: nothing left to publish, every line has its outcome, and nothing waits in the source queues. */
export function isDrained(facts: DrainFacts): boolean {
  return !facts.publishing && facts.linesComplete && facts.messagesWaiting === 0;
}

/** Messages waiting in `queues` on the embedded fauxqs, counted exactly from its state. */
export function fauxqsMessagesWaiting(fauxqs: FauxqsServer, queues: readonly LocalQueue[]): number {
  return queues.reduce((sum, queue) => {
    const state = fauxqs.inspectQueue(queue.name);
    return state
      ? sum + state.messages.ready.length + state.messages.delayed.length + state.messages.inflight.length
      : sum;
  }, 0);
}

/** Messages waiting in `queues` on any SQS, from its approximate counts (visible, in flight, delayed). */
export async function sqsMessagesWaiting(sqs: SQSClient, queues: readonly LocalQueue[]): Promise<number> {
  const counts = await Promise.all(
    queues.map(async (queue) => {
      const { Attributes = {} } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queue.url,
          AttributeNames: [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
          ],
        }),
      );
      return (
        Number(Attributes.ApproximateNumberOfMessages ?? 0) +
        Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) +
        Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0)
      );
    }),
  );
  return counts.reduce((sum, count) => sum + count, 0);
}
