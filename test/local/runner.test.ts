import { type Message, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { type FauxqsServer, startFauxqs } from "fauxqs";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { LocalQueue } from "../../lib/local/environment.ts";
import {
  type InvocationReport,
  messagesToDelete,
  type SqsBatchHandler,
  startEventSourceRunner,
} from "../../lib/local/runner.ts";
import { order, type RelayHarness, startRelayHarness } from "../support/relay-harness.ts";

const messages: Message[] = ["a", "b", "c"].map((id) => ({
  MessageId: id,
  ReceiptHandle: `rh-${id}`,
  Body: id,
}));
const localSqs = (fauxqs: FauxqsServer) =>
  new SQSClient({
    endpoint: `http://127.0.0.1:${fauxqs.port}`,
    region: "us-east-1",
    useQueueUrlAsEndpoint: false,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
const ids = (list: Message[]) => list.map((message) => message.MessageId);

describe("messagesToDelete", () => {
  it("deletes every record not reported as failed", () => {
    expect(
      ids(messagesToDelete(messages, { response: { batchItemFailures: [{ itemIdentifier: "b" }] } })),
    ).toEqual(["a", "c"]);
    expect(ids(messagesToDelete(messages, { response: { batchItemFailures: [] } }))).toEqual(["a", "b", "c"]);
    expect(ids(messagesToDelete(messages, { response: undefined }))).toEqual(["a", "b", "c"]);
  });

  it("deletes nothing when the handler threw or named a record that is not in the batch", () => {
    expect(messagesToDelete(messages, { error: new Error("boom") })).toEqual([]);
    expect(
      messagesToDelete(messages, { response: { batchItemFailures: [{ itemIdentifier: "zz" }] } }),
    ).toEqual([]);
    expect(messagesToDelete(messages, { response: { batchItemFailures: [{ itemIdentifier: "" }] } })).toEqual(
      [],
    );
  });
});

describe("the local event source runner against fauxqs", () => {
  let fauxqs: FauxqsServer;
  let sqs: SQSClient;
  let queue: LocalQueue;

  beforeAll(async () => {
    fauxqs = await startFauxqs({ port: 0, host: "127.0.0.1", logger: false, messageSpies: true });
    const dlq = fauxqs.createQueue("runner-dlq");
    const source = fauxqs.createQueue("runner-src", {
      attributes: {
        VisibilityTimeout: "1",
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.queueArn, maxReceiveCount: 2 }),
      },
    });
    queue = { name: source.queueName, url: source.queueUrl, arn: source.queueArn };
    sqs = localSqs(fauxqs);
  });
  afterAll(async () => {
    sqs?.destroy();
    await fauxqs?.stop();
  });

  it("invokes with Lambda-shaped events, deletes exactly the acknowledged records, and lets redrive dead-letter the rest", async () => {
    const events: SQSEvent[] = [];
    const contexts: Context[] = [];
    const reports: InvocationReport[] = [];
    let throwOnce = true;
    const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
      events.push(event);
      contexts.push(context);
      if (event.Records.some((record) => record.body === "flaky") && throwOnce) {
        throwOnce = false;
        throw new Error("the whole batch fails once");
      }
      return {
        batchItemFailures: event.Records.filter((record) => record.body === "poison").map((record) => ({
          itemIdentifier: record.messageId,
        })),
      };
    };
    const sent = new Map<string, string>();
    for (const body of ["ok", "poison", "flaky"]) {
      const { MessageId } = await sqs.send(
        new SendMessageCommand({
          QueueUrl: queue.url,
          MessageBody: body,
          MessageAttributes: { "x-correlation-id": { DataType: "String", StringValue: `corr-${body}` } },
        }),
      );
      sent.set(body, MessageId ?? "");
    }
    const runner = startEventSourceRunner({
      handler,
      sources: [{ queue, batchSize: 10, maximumConcurrency: 1 }],
      sqs,
      region: "us-east-1",
      functionName: "local-submit",
      functionTimeoutSeconds: 5,
      onInvocation: (report) => reports.push(report),
    });
    try {
      await fauxqs.spy.waitForMessage({ messageId: sent.get("poison") }, "dlq", 15_000);
      await fauxqs.spy.waitForMessage({ messageId: sent.get("flaky") }, "consumed", 15_000);
      await fauxqs.spy.waitForMessage({ messageId: sent.get("ok") }, "consumed", 15_000);
    } finally {
      const stopping = Date.now();
      await runner.stop();
      expect(Date.now() - stopping).toBeLessThan(2_000);
    }

    const deliveries = (body: string) =>
      events.flatMap((event) => event.Records).filter((record) => record.body === body);
    // All three arrive in the first batch, which throws: nothing is deleted and all come back.
    expect(events[0]?.Records.map((record) => record.body).sort()).toEqual(["flaky", "ok", "poison"]);
    expect(deliveries("ok")).toHaveLength(2);
    expect(deliveries("flaky")).toHaveLength(2);
    expect(deliveries("poison").map((record) => record.attributes.ApproximateReceiveCount)).toEqual([
      "1",
      "2",
    ]);
    const [first] = deliveries("poison");
    expect(first).toMatchObject({
      eventSource: "aws:sqs",
      eventSourceARN: queue.arn,
      awsRegion: "us-east-1",
      messageId: sent.get("poison"),
      messageAttributes: { "x-correlation-id": { dataType: "String", stringValue: "corr-poison" } },
    });
    expect(contexts[0]?.functionName).toBe("local-submit");
    expect(contexts[0]?.getRemainingTimeInMillis()).toBeLessThanOrEqual(5_000);
    expect(reports.some((report) => report.error instanceof Error)).toBe(true);
    expect(reports.flatMap((report) => report.failedMessageIds)).toContain(sent.get("poison"));
    const state = fauxqs.inspectQueue(queue.name);
    expect(
      [state?.messages.ready, state?.messages.delayed, state?.messages.inflight].map((list) => list?.length),
    ).toEqual([0, 0, 0]);
  });
});

describe("the local event source runner's concurrency, against fauxqs", () => {
  let fauxqs: FauxqsServer;
  let sqs: SQSClient;

  beforeAll(async () => {
    fauxqs = await startFauxqs({ port: 0, host: "127.0.0.1", logger: false, messageSpies: true });
    sqs = localSqs(fauxqs);
  });
  afterAll(async () => {
    sqs?.destroy();
    await fauxqs?.stop();
  });

  /** A handler whose invocations wait until released, one by one, counting how many run at once. */
  function heldHandler() {
    const started: Array<{ bodies: string[]; release: () => void }> = [];
    const waiters: Array<{ count: number; resolve: () => void }> = [];
    const state = { running: 0, peak: 0 };
    const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
      state.running++;
      state.peak = Math.max(state.peak, state.running);
      await new Promise<void>((release) => {
        started.push({ bodies: event.Records.map((record) => record.body), release });
        for (const waiter of waiters.filter((w) => started.length >= w.count)) waiter.resolve();
      });
      state.running--;
      return { batchItemFailures: [] };
    };
    /** Resolves once `count` invocations have started. */
    const startedAtLeast = (count: number) =>
      new Promise<void>((resolve) => {
        if (started.length >= count) resolve();
        else waiters.push({ count, resolve });
      });
    return { handler, started, state, startedAtLeast };
  }

  /**
   * An SQS client that counts the pollers busy at once: each one is either waiting for a receive or
   * running an invocation of `held`.
   */
  function countingPollers(held: ReturnType<typeof heldHandler>) {
    const busy = { receiving: 0, peak: 0 };
    const client = localSqs(fauxqs);
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== "ReceiveMessageCommand") return next(args);
        busy.receiving++;
        busy.peak = Math.max(busy.peak, busy.receiving + held.state.running);
        try {
          return await next(args);
        } finally {
          busy.receiving--;
        }
      },
      { step: "initialize" },
    );
    return { client, busy };
  }

  async function queueWith(name: string, bodies: string[]): Promise<LocalQueue> {
    const created = fauxqs.createQueue(name, { attributes: { VisibilityTimeout: "30" } });
    for (const body of bodies) {
      await sqs.send(new SendMessageCommand({ QueueUrl: created.queueUrl, MessageBody: body }));
    }
    return { name: created.queueName, url: created.queueUrl, arn: created.queueArn };
  }

  const runnerFor = (
    queue: LocalQueue,
    handler: SqsBatchHandler,
    maximumConcurrency: number,
    client: SQSClient = sqs,
  ) =>
    startEventSourceRunner({
      handler,
      sources: [{ queue, batchSize: 1, maximumConcurrency }],
      sqs: client,
      region: "us-east-1",
      functionName: "local-submit",
      functionTimeoutSeconds: 5,
    });

  it("keeps up to the maximum concurrency of batches in flight: a held one does not stall the queue, and no more start", async () => {
    const queue = await queueWith("concurrency-two", ["a", "b", "c", "d"]);
    const held = heldHandler();
    const { client, busy } = countingPollers(held);
    const runner = runnerFor(queue, held.handler, 2, client);
    try {
      // The first batch is held, and a second one starts beside it.
      await held.startedAtLeast(2);
      expect(held.state.running).toBe(2);
      // Each batch released lets exactly one more start, while the first stays held throughout.
      held.started[1]?.release();
      await held.startedAtLeast(3);
      expect(held.state.running).toBe(2);
      held.started[2]?.release();
      await held.startedAtLeast(4);
      held.started[3]?.release();
      held.started[0]?.release();
    } finally {
      await runner.stop();
      client.destroy();
    }
    expect(held.state.peak).toBe(2);
    expect(busy.peak).toBe(2);
    expect(held.started.flatMap((invocation) => invocation.bodies).sort()).toEqual(["a", "b", "c", "d"]);
    expect(fauxqs.inspectQueue(queue.name)?.messages.inflight).toHaveLength(0);
  });

  it("runs one batch at a time under a local ceiling of 1, whatever the mapping allows: one poller, receiving or invoking", async () => {
    const queue = await queueWith("concurrency-ceiling", ["a", "b", "c"]);
    const held = heldHandler();
    const { client: counted, busy } = countingPollers(held);
    const runner = startEventSourceRunner({
      handler: held.handler,
      sources: [{ queue, batchSize: 1, maximumConcurrency: 5 }],
      maxBatchesPerQueue: 1,
      sqs: counted,
      region: "us-east-1",
      functionName: "local-submit",
      functionTimeoutSeconds: 5,
    });
    try {
      for (const count of [1, 2, 3]) {
        await held.startedAtLeast(count);
        expect(held.state.running).toBe(1);
        held.started[count - 1]?.release();
      }
    } finally {
      await runner.stop();
      counted.destroy();
    }
    expect(held.state.peak).toBe(1);
    expect(busy.peak).toBe(1);
    expect(held.started.flatMap((invocation) => invocation.bodies).sort()).toEqual(["a", "b", "c"]);
  });

  it("follows the mapping's scaling: a raised maximum starts another batch beside the held ones, a lowered one lets them finish first", async () => {
    const queue = await queueWith("concurrency-scaled", ["a", "b", "c", "d", "e"]);
    const held = heldHandler();
    const runner = runnerFor(queue, held.handler, 2);
    try {
      await held.startedAtLeast(2);
      runner.setScaling(queue.arn, { batchSize: 1, maximumConcurrency: 3 });
      await held.startedAtLeast(3);
      expect(held.state.running).toBe(3);
      // Back to 1: the three in flight finish; only then does one more start, and it runs alone.
      runner.setScaling(queue.arn, { batchSize: 1, maximumConcurrency: 1 });
      for (const invocation of held.started) invocation.release();
      await held.startedAtLeast(4);
      expect(held.state.running).toBe(1);
      held.started[3]?.release();
      await held.startedAtLeast(5);
      expect(held.state.running).toBe(1);
      held.started[4]?.release();
    } finally {
      await runner.stop();
    }
    expect(held.started.flatMap((invocation) => invocation.bodies).sort()).toEqual(["a", "b", "c", "d", "e"]);
  });
});

describe("the local event source runner with the real submit handler", () => {
  let relay: RelayHarness;
  beforeAll(async () => {
    relay = await startRelayHarness();
  });
  afterAll(async () => relay?.stop());

  it("two batches with one orderRef in flight at once make exactly one POST: the ledger claim hands the other back", async () => {
    const orders = relay.local.queues.orders;
    await relay.publish(order("TWINS-LOCAL-1"), "corr-twin-a");
    await relay.publish(order("TWINS-LOCAL-1"), "corr-twin-b");
    // Imburse takes its time, so the second claim lands while the first delivery is posting.
    relay.simulator.faults.enqueue({
      route: "create",
      kind: "latency",
      latencyMs: 1_000,
      orderRef: "TWINS-LOCAL-1",
    });
    // Neither invocation reaches the handler before both are in flight.
    let arrived = 0;
    let bothArrived: () => void = () => undefined;
    const together = new Promise<void>((resolve) => {
      bothArrived = resolve;
    });
    const reports: InvocationReport[] = [];
    const runner = startEventSourceRunner({
      handler: async (event, context) => {
        if (++arrived === 2) bothArrived();
        await together;
        return relay.handler(event, context);
      },
      sources: [{ queue: orders, batchSize: 1, maximumConcurrency: 2 }],
      sqs: relay.sqs,
      region: "us-east-1",
      functionName: "local-submit",
      functionTimeoutSeconds: 60,
      onInvocation: (report) => reports.push(report),
    });
    try {
      await together;
      await vi.waitFor(() => expect(reports).toHaveLength(2), { timeout: 15_000, interval: 20 });
    } finally {
      await runner.stop();
    }
    expect(relay.creates("TWINS-LOCAL-1")).toHaveLength(1);
    expect(reports.flatMap((report) => report.failedMessageIds)).toHaveLength(1);
  });
});
