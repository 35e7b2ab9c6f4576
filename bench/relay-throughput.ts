/**
 * Throughput of the submit handler on the local stand-ins: N orders published to fauxqs, received in
 * batches of 10 and run through the real handler (validation, the order ledger on dynalite, credentials from
 * the Secrets Manager stand-in, HMAC token and POST to the simulator, all over loopback HTTP).
 *
 *   npm run bench -- [orders, default 1000] [concurrency, 1 to 100, default 5]
 *
 * Arguments are checked as the CLI checks its flags: a bad one is one line on stderr and exit status 2.
 * Prints orders per second, the per-batch latency percentiles and the DynamoDB requests per order.
 * Loopback only; it stops by itself.
 */
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from "@aws-sdk/client-sqs";
import { Command, CommanderError } from "commander";
import { sqsClient } from "../lib/aws/clients.ts";
import { integer } from "../lib/cli/options.ts";
import { startLocalEnvironment } from "../lib/local/environment.ts";
import { lambdaContext, toSqsRecord } from "../lib/local/lambda-event.ts";
import { DEMO_CREDENTIALS, startSimulator } from "../lib/simulator/index.ts";

const args = new Command("npm run bench --")
  .description("Throughput of the submit handler on the local stand-ins (loopback only).")
  .argument("[orders]", "orders to publish and process", integer(1, 1_000_000), 1000)
  .argument("[concurrency]", "records of one batch processed at once", integer(1, 100), 5)
  .exitOverride();
try {
  args.parse(process.argv);
} catch (error) {
  // Commander has printed the message (or the help); 2 is the CLI's usage status.
  process.exit(error instanceof CommanderError && error.exitCode === 0 ? 0 : 2);
}
const [total, concurrency] = args.processedArgs as [number, number];
const region = "us-east-1";

const simulator = await startSimulator({ seed: 1 });
const local = await startLocalEnvironment({
  credentials: { ...DEMO_CREDENTIALS },
  imburseBaseUrl: simulator.url,
  settings: { recordConcurrency: concurrency },
});
Object.assign(process.env, local.env, {
  POWERTOOLS_LOG_LEVEL: "SILENT",
  POWERTOOLS_METRICS_DISABLED: "true",
});
const { createSubmitHandler } = await import("../lib/relay/runtime.ts");
const handler = createSubmitHandler();
const sqs = sqsClient(process.env);
const queue = local.queues.orders;

// Instructions settle a month from the run: the benchmark's orders must not age.
const settledByDate = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
for (let start = 0; start < total; start += 10) {
  await sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: queue.url,
      Entries: Array.from({ length: Math.min(10, total - start) }, (_, i) => {
        const ref = `BENCH-${start + i}`;
        return {
          Id: String(i),
          MessageBody: JSON.stringify({
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
          }),
          MessageAttributes: {
            "x-correlation-id": { DataType: "String", StringValue: `bench-${start + i}` },
          },
        };
      }),
    }),
  );
}

const batchMs: number[] = [];
let done = 0;
// Table creation is behind us: from here on, every request to dynalite is the relay's.
const dynamoRequestsBefore = local.dynamoRequests();
const started = performance.now();
while (done < total) {
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
  const t0 = performance.now();
  const response = await handler(
    { Records: Messages.map((m) => toSqsRecord(m, queue, region)) },
    lambdaContext({ functionName: "Submit", timeoutMs: 60_000, region }),
  );
  batchMs.push(performance.now() - t0);
  const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
  const acked = Messages.filter((m) => !failed.has(m.MessageId ?? ""));
  await sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: queue.url,
      Entries: acked.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
    }),
  );
  done += acked.length;
}
const seconds = (performance.now() - started) / 1000;
const sorted = [...batchMs].sort((a, b) => a - b);
const pct = (p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]?.toFixed(1);
console.log(
  JSON.stringify({
    orders: done,
    submittedAtSimulator: simulator.orders().length,
    recordConcurrency: concurrency,
    seconds: Number(seconds.toFixed(2)),
    ordersPerSecond: Number((done / seconds).toFixed(1)),
    batchLatencyMs: { p50: Number(pct(50)), p90: Number(pct(90)), p99: Number(pct(99)) },
    // HTTP requests that reached DynamoDB (a BatchWriteItem counts once, a fallback GetItem too).
    dynamoRequestsPerOrder: Number(((local.dynamoRequests() - dynamoRequestsBefore) / done).toFixed(3)),
    tokenExchanges: simulator.requestsTo("token").length,
    secretReads: local.secretsManager.calls.GetSecretValue ?? 0,
    // One outcome event per order, in one PutEvents call per batch of ten.
    outcomeEvents: local.eventBridge.events(local.eventBusName).length,
    putEventsCalls: local.eventBridge.calls.PutEvents ?? 0,
  }),
);
sqs.destroy();
await local.stop();
await simulator.close();
