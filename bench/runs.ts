/**
 * What the benchmark's processes share: the orders it publishes, turning them into Lambda records, one
 * measured run of a submit handler over them, and a CPU profile of such a run. The suite (bench/suite.ts)
 * runs the handler with tracing off; bench/traced-handler.ts runs it with tracing on, in a process of its own.
 */
import { randomUUID } from "node:crypto";
import { Session } from "node:inspector/promises";
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { lambdaContext, toSqsRecord } from "../lib/local/index.ts";

export const REGION = "us-east-1";

/** What the stand-ins process prints first (bench/stand-ins.ts). */
export interface StandInsReady {
  env: Record<string, string>;
  simulatorUrl: string;
  ordersQueue: { url: string; arn: string };
  /** The loopback UDP address that stands in for the X-Ray daemon. */
  xrayDaemon: string;
}

/** What one measured run of a handler (or a loop) came to. */
export interface RunResult {
  cpuPerOrderMs: number;
  ordersPerSecond: number;
  batchMs: number[];
}

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** CPU time of this process so far, user and system, in milliseconds. */
export const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

const settledByDate = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
let serial = 0;

/** A clean order: one debit instruction, due in 30 days. */
export const cleanOrder = (ref: string) => ({
  orderRef: ref,
  instructions: [
    {
      instructionRef: `${ref}-1`,
      customerRef: "C-1",
      direction: "DEBIT",
      amount: "10.00",
      currency: "EUR",
      country: "IE",
      settledByDate,
      schemeId: "654EB81FA1B24B6C8B2E1C3D4E5F6A7B",
    },
  ],
});

/** A clean order with a reference unique to this process. */
export const newOrder = () => cleanOrder(`BENCH-${process.pid}-${serial++}`);

/** Publishes `count` orders and receives them back as Lambda records, in batches of 10. */
export async function recordBatches(
  sqs: SQSClient,
  queue: StandInsReady["ordersQueue"],
  count: number,
): Promise<SQSRecord[][]> {
  for (let start = 0; start < count; start += 10) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queue.url,
        Entries: Array.from({ length: Math.min(10, count - start) }, (_, i) => ({
          Id: String(i),
          MessageBody: JSON.stringify(newOrder()),
        })),
      }),
    );
  }
  const batches: SQSRecord[][] = [];
  let received = 0;
  while (received < count) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queue.url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ["All"],
        MessageSystemAttributeNames: ["All"],
      }),
    );
    if (Messages.length === 0) break;
    received += Messages.length;
    batches.push(Messages.map((m) => toSqsRecord(m, queue, REGION)));
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queue.url,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
  return batches;
}

/**
 * `count` orders as the event source would deliver them, in batches of 10, built in memory: no SQS requests
 * of the benchmark's own in a profile of the handler.
 */
export function inMemoryBatches(queue: StandInsReady["ordersQueue"], count: number): SQSRecord[][] {
  return Array.from({ length: Math.ceil(count / 10) }, (_, batch) =>
    Array.from({ length: Math.min(10, count - batch * 10) }, () =>
      toSqsRecord(
        { MessageId: randomUUID(), ReceiptHandle: randomUUID(), Body: JSON.stringify(newOrder()) },
        queue,
        REGION,
      ),
    ),
  );
}

/** A V8 CPU profile, as `node --cpu-prof` writes it (read by bench/profile-by-package.ts). */
export type CpuProfile = object;

/** Runs `work` under V8's sampling CPU profiler (the one `--cpu-prof` uses), in this process. */
export async function withCpuProfile<T>(work: () => Promise<T>): Promise<{ result: T; profile: CpuProfile }> {
  const session = new Session();
  session.connect();
  try {
    await session.post("Profiler.enable");
    await session.post("Profiler.start");
    const result = await work();
    const { profile } = await session.post("Profiler.stop");
    return { result, profile };
  } finally {
    session.disconnect();
  }
}

/**
 * Runs the handler over the batches, one invocation per batch: wall and CPU time spent inside it, per order.
 * `beforeInvocation` runs outside the measurement (Lambda's runtime sets the invocation's trace header).
 */
export async function handlerRun(
  handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>,
  batches: SQSRecord[][],
  beforeInvocation: () => void = () => {},
): Promise<RunResult> {
  let wallMs = 0;
  let cpu = 0;
  const batchMs: number[] = [];
  let orders = 0;
  for (const records of batches) {
    beforeInvocation();
    const context = lambdaContext({ functionName: "Submit", timeoutMs: 60_000, region: REGION });
    const cpu0 = cpuMs();
    const t0 = performance.now();
    const response = await handler({ Records: records }, context);
    const elapsed = performance.now() - t0;
    cpu += cpuMs() - cpu0;
    wallMs += elapsed;
    batchMs.push(elapsed);
    if (response.batchItemFailures.length > 0) throw new Error("bench: the handler handed records back");
    orders += records.length;
  }
  return { cpuPerOrderMs: cpu / orders, ordersPerSecond: orders / (wallMs / 1000), batchMs };
}

/** Runs a loop over `count` orders, 10 per batch as the handler gets them: CPU and wall time per order. */
export async function loopRun(
  count: number,
  submitBatch: (orders: ReturnType<typeof newOrder>[]) => Promise<void>,
): Promise<RunResult> {
  const orders = Array.from({ length: count }, newOrder);
  const batchMs: number[] = [];
  const cpu0 = cpuMs();
  const t0 = performance.now();
  for (let start = 0; start < count; start += 10) {
    const b0 = performance.now();
    await submitBatch(orders.slice(start, start + 10));
    batchMs.push(performance.now() - b0);
  }
  const wallMs = performance.now() - t0;
  return { cpuPerOrderMs: (cpuMs() - cpu0) / count, ordersPerSecond: count / (wallMs / 1000), batchMs };
}
