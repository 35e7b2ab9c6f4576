/**
 * The per-order rows of the suite alone, for profiling the submit path: CPU per clean order and throughput
 * against the raw loop, and a batch of 10 with Imburse taking 100 ms per order, in the same run.
 *
 *   npx node bench/per-order.ts [orders per run, default 1000] [paired runs, default 3] [--tracing]
 *   npx node --cpu-prof --cpu-prof-dir=/tmp/prof bench/per-order.ts 2000 1 --profile
 *
 * Beside the raw loop it measures the floor: the raw loop plus the ledger's claim per order and one
 * BatchWriteItem per 10, the requests money safety makes inherent. `--tracing` forces Powertools tracing
 * on as in Lambda with Active tracing: the X-Ray SDK in Lambda mode, streaming its subsegments over UDP to
 * a sink on loopback in a process of its own. `--profile` runs only the handler, on records built in
 * memory (no SQS calls of the benchmark's own in a `--cpu-prof` profile; read it with
 * bench/profile-by-package.ts). The stand-ins run in a process of their own (bench/stand-ins.ts), so their
 * CPU is not counted. Loopback only.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { createInterface } from "node:readline";
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from "@aws-sdk/client-sqs";
import type { SQSRecord } from "aws-lambda";
import { dynamoDbClient, sqsClient } from "../lib/aws/clients.ts";
import { loadSettings } from "../lib/config/settings.ts";
import { dynamoDbLedger, fingerprintOf, type LedgerItem, settledItem } from "../lib/ledger/index.ts";
import { lambdaContext, toSqsRecord } from "../lib/local/lambda-event.ts";
import { DEMO_CREDENTIALS } from "../lib/simulator/index.ts";
import { rawClient } from "./raw-loop.ts";

const positional = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const ordersPerRun = Number(positional[0] ?? 1000);
const runs = Number(positional[1] ?? 3);
const tracing = process.argv.includes("--tracing");
const profileOnly = process.argv.includes("--profile");
const REGION = "us-east-1";

const standIns = spawn(process.execPath, [path.join(import.meta.dirname, "stand-ins.ts"), "{}"], {
  stdio: ["pipe", "pipe", "inherit"],
});
const replies = createInterface({ input: standIns.stdout })[Symbol.asyncIterator]();
const nextReply = async <T>(): Promise<T> => JSON.parse((await replies.next()).value as string) as T;
const ask = async <T>(command: string): Promise<T> => {
  standIns.stdin.write(`${command}\n`);
  return nextReply<T>();
};
const ready = await nextReply<{
  env: Record<string, string>;
  simulatorUrl: string;
  ordersQueue: { url: string; arn: string };
}>();
Object.assign(process.env, ready.env, {
  POWERTOOLS_LOG_LEVEL: "SILENT",
  POWERTOOLS_METRICS_DISABLED: "true",
});
// The X-Ray daemon's stand-in: a UDP sink in a process of its own, so receiving the segments costs the
// relay's process nothing (in Lambda the daemon runs beside the function, not in it).
const daemon = tracing
  ? spawn(
      process.execPath,
      [
        "-e",
        'const s = require("node:dgram").createSocket("udp4"); s.on("message", () => {}); s.bind(0, "127.0.0.1", () => console.log(s.address().port)); process.stdin.on("end", () => s.close()); process.stdin.resume();',
      ],
      { stdio: ["pipe", "pipe", "inherit"] },
    )
  : undefined;
if (daemon) {
  const port = (await createInterface({ input: daemon.stdout! })[Symbol.asyncIterator]().next())
    .value as string;
  Object.assign(process.env, {
    AWS_EXECUTION_ENV: "AWS_Lambda_nodejs24.x",
    LAMBDA_TASK_ROOT: process.cwd(),
    _HANDLER: "submit.handler",
    _X_AMZN_TRACE_ID: "Root=1-6740b1a0-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1",
    AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${port.trim()}`,
  });
}
const { createSubmitHandler } = await import("../lib/relay/submit-handler.ts");
const handler = createSubmitHandler();
const sqs = sqsClient();
const raw = await rawClient(ready.simulatorUrl, { ...DEMO_CREDENTIALS });
// The floor of the relay's per-order work: what money safety makes inherent on top of the raw loop.
const ledger = dynamoDbLedger(dynamoDbClient(), loadSettings(process.env).ledgerTable);

const settledByDate = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
let serial = 0;
const newOrder = () => {
  const ref = `PERF-${process.pid}-${serial++}`;
  return {
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
  };
};
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

async function recordBatches(count: number): Promise<SQSRecord[][]> {
  for (let start = 0; start < count; start += 10) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: ready.ordersQueue.url,
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
        QueueUrl: ready.ordersQueue.url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ["All"],
        MessageSystemAttributeNames: ["All"],
      }),
    );
    if (Messages.length === 0) break;
    received += Messages.length;
    batches.push(Messages.map((m) => toSqsRecord(m, ready.ordersQueue, REGION)));
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: ready.ordersQueue.url,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
  return batches;
}

async function handlerRun(batches: SQSRecord[][]) {
  let wallMs = 0;
  let cpu = 0;
  let orders = 0;
  const batchMs: number[] = [];
  for (const records of batches) {
    const context = lambdaContext({ functionName: "Submit", timeoutMs: 60_000, region: REGION });
    const cpu0 = cpuMs();
    const t0 = performance.now();
    const response = await handler({ Records: records }, context);
    const elapsed = performance.now() - t0;
    cpu += cpuMs() - cpu0;
    wallMs += elapsed;
    batchMs.push(elapsed);
    if (response.batchItemFailures.length > 0) throw new Error("per-order: the handler handed records back");
    orders += records.length;
  }
  return { cpuPerOrderMs: cpu / orders, ordersPerSecond: orders / (wallMs / 1000), batchMs };
}

async function rawRun(count: number) {
  const orders = Array.from({ length: count }, newOrder);
  const batchMs: number[] = [];
  const cpu0 = cpuMs();
  const t0 = performance.now();
  for (let start = 0; start < count; start += 10) {
    const b0 = performance.now();
    await raw.submit(orders.slice(start, start + 10), 10);
    batchMs.push(performance.now() - b0);
  }
  return {
    cpuPerOrderMs: (cpuMs() - cpu0) / count,
    ordersPerSecond: count / ((performance.now() - t0) / 1000),
    batchMs,
  };
}

if (profileOnly) {
  // Records as the event source would deliver them, without the benchmark's own SQS calls in the profile.
  const inMemory = (count: number) =>
    Array.from({ length: count / 10 }, () =>
      Array.from({ length: 10 }, () =>
        toSqsRecord(
          { MessageId: randomUUID(), ReceiptHandle: randomUUID(), Body: JSON.stringify(newOrder()) },
          ready.ordersQueue,
          REGION,
        ),
      ),
    );
  await handlerRun(inMemory(50));
  const relay = await handlerRun(inMemory(ordersPerRun));
  console.log(
    `per-order --profile: ${ordersPerRun} orders, tracing ${tracing ? "on" : "off"}: CPU ${relay.cpuPerOrderMs.toFixed(3)} ms per order, ${relay.ordersPerSecond.toFixed(0)} orders/s`,
  );
  sqs.destroy();
  daemon?.stdin?.end();
  standIns.stdin.end();
  await new Promise((resolve) => standIns.once("exit", resolve));
  process.exit(0);
}
/**
 * The floor: per order the ledger's claim (one conditional UpdateItem) then the raw POST, and per 10 the
 * completed states in one BatchWriteItem: the DynamoDB and HTTP requests the relay cannot do without.
 */
async function floorRun(count: number) {
  const orders = Array.from({ length: count }, newOrder);
  const cpu0 = cpuMs();
  const t0 = performance.now();
  for (let start = 0; start < count; start += 10) {
    const settled = await Promise.all(
      orders.slice(start, start + 10).map(async (order): Promise<LedgerItem> => {
        const now = Date.now();
        const claim = await ledger.claim({
          orderRef: order.orderRef,
          tenantId: DEMO_CREDENTIALS.tenantId,
          fingerprint: fingerprintOf(order as never),
          correlationId: order.orderRef,
          attempt: 1,
          firstReceivedAt: now,
          owner: randomUUID(),
          now,
          leaseMs: 60_000,
          ttlSeconds: 86_400,
        });
        if (claim.kind !== "claimed") throw new Error(`floor: claim ${claim.kind}`);
        await raw.submit([order], 1);
        return settledItem(
          claim.item,
          { state: "submitted", lastOutcome: { result: "submitted" } },
          false,
          now,
        );
      }),
    );
    await ledger.putAll(settled);
  }
  return {
    cpuPerOrderMs: (cpuMs() - cpu0) / count,
    ordersPerSecond: count / ((performance.now() - t0) / 1000),
  };
}

await handlerRun(await recordBatches(50));
await rawRun(50);
await floorRun(50);
const cpu = { relay: [] as number[], raw: [] as number[], floor: [] as number[] };
const throughput = { relay: [] as number[], raw: [] as number[] };
for (let run = 0; run < runs; run++) {
  const relay = await handlerRun(await recordBatches(ordersPerRun));
  const baseline = await rawRun(ordersPerRun);
  cpu.relay.push(relay.cpuPerOrderMs);
  cpu.raw.push(baseline.cpuPerOrderMs);
  cpu.floor.push((await floorRun(ordersPerRun)).cpuPerOrderMs);
  throughput.relay.push(relay.ordersPerSecond);
  throughput.raw.push(baseline.ordersPerSecond);
}
await ask("latency 100");
const slow = { relay: [] as number[], raw: [] as number[] };
for (let run = 0; run < runs; run++) {
  slow.relay.push(median((await handlerRun(await recordBatches(50))).batchMs) / 100);
  slow.raw.push(median((await rawRun(50)).batchMs) / 100);
}
await ask("reset");

const row = (what: string, values: { relay: number[]; raw: number[] }, digits: number) => {
  const relay = median(values.relay);
  const raw = median(values.raw);
  return `${what}: relay ${relay.toFixed(digits)} (${values.relay.map((v) => v.toFixed(digits)).join(", ")}), raw ${raw.toFixed(digits)}, ratio ${(relay / raw).toFixed(2)}`;
};
console.log(
  [
    `per-order: ${runs} paired runs of ${ordersPerRun} orders, tracing ${tracing ? "on" : "off"}`,
    row("CPU per clean order (ms)", cpu, 3),
    row("  floor: raw loop + claim + batch write (ms)", { relay: cpu.floor, raw: cpu.raw }, 3),
    row("throughput (orders/s)", throughput, 0),
    row("batch of 10 at 100 ms per order (x 100 ms)", slow, 2),
  ].join("\n"),
);
sqs.destroy();
daemon?.stdin?.end();
standIns.stdin.end();
await new Promise((resolve) => standIns.once("exit", resolve));
