/**
 * The benchmark suite: every row of the performance table with its baseline, measured in the same run.
 *
 *   npm run bench -- [orders per run, default 1000] [paired runs, default 3]
 *
 * - Bundle size of every handler as SST deploys it (esbuild, ESM, keepNames, `mainFields: module,main`, the
 *   AWS SDK bundled, minified as the stacks set it), against an SQS-only handler.
 * - Module init of the submit handler, against the SQS-only handler (a fresh Node process each).
 * - CPU per clean order, batch latency with Imburse taking 100 ms per order, and throughput of the submit
 *   handler, against a raw loop (one HMAC token exchange, then one axios POST per order).
 * - DynamoDB requests per clean order.
 *
 * The stand-ins (fauxqs, dynalite, Secrets Manager, the Imburse simulator) run in a process of their own
 * (bench/stand-ins.ts) so their CPU is not counted. Prints the table (medians, min–max, ratios, goals) and
 * writes it as JSON to bench/results/. Loopback only; it stops by itself. Not part of `npm test`: speed is
 * measured here, not in timed tests.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from "@aws-sdk/client-sqs";
import type { SQSRecord } from "aws-lambda";
import { Command, CommanderError } from "commander";
import { build } from "esbuild";
import { sqsClient } from "../lib/aws/index.ts";
import { integer } from "../lib/cli/index.ts";
import { DEFAULTS } from "../lib/config/index.ts";
import { lambdaContext, toSqsRecord } from "../lib/local/index.ts";
import { DEMO_CREDENTIALS } from "../lib/simulator/index.ts";
import { rawClient } from "./raw-loop.ts";

const args = new Command("npm run bench --")
  .description("The benchmark suite: every row with its baseline, measured in the same run (loopback only).")
  .argument("[orders]", "orders per run", integer(10, 100_000), 1000)
  .argument("[runs]", "paired runs per row", integer(1, 20), 3)
  .exitOverride();
try {
  args.parse(process.argv);
} catch (error) {
  // Commander has printed the message (or the help); 2 is the CLI's usage status.
  process.exit(error instanceof CommanderError && error.exitCode === 0 ? 0 : 2);
}
const [ordersPerRun, runs] = args.processedArgs as [number, number];
const ROOT = path.resolve(import.meta.dirname, "..");
const REGION = "us-east-1";
const IMBURSE_LATENCY_MS = 100;

// ---- the stand-ins, in their own process ----
const standIns = spawn(process.execPath, [path.join(ROOT, "bench/stand-ins.ts"), "{}"], {
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

const { createSubmitHandler } = await import("../lib/relay/index.ts");
const handler = createSubmitHandler();
const sqs = sqsClient();
const raw = await rawClient(ready.simulatorUrl, { ...DEMO_CREDENTIALS });

// ---- helpers ----
const settledByDate = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
let serial = 0;
const newOrder = () => {
  const ref = `BENCH-${process.pid}-${serial++}`;
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

/** Publishes `count` orders and receives them back as Lambda records, in batches of 10. */
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

/** Runs the handler over the batches: wall and CPU time spent inside it, per order. */
async function handlerRun(batches: SQSRecord[][]) {
  let wallMs = 0;
  let cpu = 0;
  const batchMs: number[] = [];
  let orders = 0;
  for (const records of batches) {
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

/** The raw loop over the same number of orders, 10 at a time. */
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
  const wallMs = performance.now() - t0;
  return { cpuPerOrderMs: (cpuMs() - cpu0) / count, ordersPerSecond: count / (wallMs / 1000), batchMs };
}

/** Bundles like SST does for Node functions. */
async function bundle(
  entry: string,
  outdir: string,
  minify: boolean,
): Promise<{ file: string; bytes: number }> {
  const name = path.basename(entry, ".ts");
  const outfile = path.join(outdir, `${name}${minify ? ".min" : ""}.mjs`);
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [path.join(ROOT, entry)],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node24",
    keepNames: true,
    mainFields: ["module", "main"],
    minify,
    metafile: true,
    logLevel: "silent",
    banner: {
      js: 'import { createRequire as topLevelCreateRequire } from "node:module"; const require = topLevelCreateRequire(import.meta.url);',
    },
  });
  const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
  return { file: outfile, bytes };
}

/** Milliseconds to import a bundle in a fresh Node process. */
function initMs(file: string): number {
  const run = spawnSync(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `const t = performance.now(); await import(${JSON.stringify(file)}); console.log(performance.now() - t);`,
    ],
    { env: { ...process.env }, encoding: "utf8" },
  );
  if (run.status !== 0) throw new Error(`bench: importing ${file} failed: ${run.stderr}`);
  return Number(run.stdout.trim());
}

// ---- the rows ----
const workDir = await mkdtemp(path.join(tmpdir(), "imburse-relay-bench-"));
const handlers = (await readdir(path.join(ROOT, "functions"))).filter((f) => f.endsWith(".ts"));
const sizes: Record<string, { bytes: number; minifiedBytes: number }> = {};
for (const entry of [...handlers.map((f) => `functions/${f}`), "bench/baselines/sqs-only.ts"]) {
  const plain = await bundle(entry, workDir, false);
  const minified = await bundle(entry, workDir, true);
  sizes[path.basename(entry, ".ts")] = { bytes: plain.bytes, minifiedBytes: minified.bytes };
}
const submitBundle = path.join(workDir, "submit.min.mjs");
const baselineBundle = path.join(workDir, "sqs-only.min.mjs");
const init = { submit: [] as number[], baseline: [] as number[] };
for (let run = 0; run < Math.max(5, runs); run++) {
  init.submit.push(initMs(submitBundle));
  init.baseline.push(initMs(baselineBundle));
}

const dynamoBefore = (await ask<{ dynamoRequests: number }>("stats")).dynamoRequests;
const clean = {
  handler: [] as Awaited<ReturnType<typeof handlerRun>>[],
  raw: [] as Awaited<ReturnType<typeof rawRun>>[],
};
// Warm both paths (token, sockets, credentials) before measuring.
await handlerRun(await recordBatches(20));
await rawRun(20);
const dynamoWarm = (await ask<{ dynamoRequests: number }>("stats")).dynamoRequests - dynamoBefore;
let cleanOrders = 0;
for (let run = 0; run < runs; run++) {
  const batches = await recordBatches(ordersPerRun);
  clean.handler.push(await handlerRun(batches));
  cleanOrders += batches.flat().length;
  clean.raw.push(await rawRun(ordersPerRun));
}
const dynamoPerOrder =
  ((await ask<{ dynamoRequests: number }>("stats")).dynamoRequests - dynamoBefore - dynamoWarm) / cleanOrders;

await ask(`latency ${IMBURSE_LATENCY_MS}`);
const slow = { handler: [] as number[], raw: [] as number[] };
for (let run = 0; run < runs; run++) {
  slow.handler.push(median((await handlerRun(await recordBatches(50))).batchMs) / IMBURSE_LATENCY_MS);
  slow.raw.push(median((await rawRun(50)).batchMs) / IMBURSE_LATENCY_MS);
}
await ask("reset");

// ---- the table ----
interface Row {
  what: string;
  relay: number[];
  baseline: number[];
  unit: string;
  goal: string;
  met: (ratio: number, relay: number) => boolean;
}
const perRun = <T>(values: T[], pick: (value: T) => number) => values.map(pick);
const rows: Row[] = [
  {
    what: "submit module init (minified bundle, fresh process)",
    relay: init.submit,
    baseline: init.baseline,
    unit: "ms",
    goal: "≤ 2x the SQS-only handler",
    met: (ratio) => ratio <= 2,
  },
  {
    what: "CPU per clean order",
    relay: perRun(clean.handler, (r) => r.cpuPerOrderMs),
    baseline: perRun(clean.raw, (r) => r.cpuPerOrderMs),
    unit: "ms",
    goal: "≤ 2.5x the raw loop",
    met: (ratio) => ratio <= 2.5,
  },
  {
    what: `a batch of 10, Imburse taking ${IMBURSE_LATENCY_MS} ms per order (x ${IMBURSE_LATENCY_MS} ms)`,
    relay: slow.handler,
    baseline: slow.raw,
    unit: "x",
    goal: "≤ 1.2x of 100 ms at the defaults",
    met: (_ratio, relay) => relay <= 1.2,
  },
  {
    what: "handler throughput",
    relay: perRun(clean.handler, (r) => r.ordersPerSecond),
    baseline: perRun(clean.raw, (r) => r.ordersPerSecond),
    unit: "orders/s",
    goal: "≥ 40% of the raw loop",
    met: (ratio) => ratio >= 0.4,
  },
];
const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const range = (values: number[]) =>
  `${fmt(median(values))} (${fmt(Math.min(...values))}–${fmt(Math.max(...values))})`;
const lines = [
  `imburse-relay benchmark: ${runs} paired runs of ${ordersPerRun} orders, record concurrency ${DEFAULTS.recordConcurrency}, Node ${process.version}`,
  "",
  "| what | relay | baseline | ratio | goal | met |",
  "|---|---|---|---|---|---|",
];
const results: Record<string, unknown>[] = [];
for (const row of rows) {
  const ratio = median(row.relay) / median(row.baseline);
  const met = row.met(ratio, median(row.relay));
  lines.push(
    `| ${row.what} | ${range(row.relay)} ${row.unit} | ${range(row.baseline)} ${row.unit} | ${ratio.toFixed(2)} | ${row.goal} | ${met ? "yes" : "NO"} |`,
  );
  results.push({
    what: row.what,
    unit: row.unit,
    relay: row.relay,
    baseline: row.baseline,
    ratio,
    goal: row.goal,
    met,
  });
}
const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
lines.push(
  `| DynamoDB requests per clean order (batches of 10) | ${dynamoPerOrder.toFixed(2)} | 2.00 (Powertools Idempotency) | ${(dynamoPerOrder / 2).toFixed(2)} | ≤ 1.2 | ${dynamoPerOrder <= 1.2 ? "yes" : "NO"} |`,
  "",
  "| bundle as deployed (minified) | size | unminified | goal | met |",
  "|---|---|---|---|---|",
);
for (const [name, size] of Object.entries(sizes)) {
  const baseline = name === "sqs-only";
  const met = baseline || size.minifiedBytes <= 1024 * 1024;
  lines.push(
    `| ${baseline ? "baseline: SQS-only handler" : `functions/${name}.ts`} | ${kib(size.minifiedBytes)} | ${kib(size.bytes)} | ${baseline ? "-" : "≤ 1 MiB"} | ${baseline ? "-" : met ? "yes" : "NO"} |`,
  );
}
console.log(lines.join("\n"));
const resultsDir = path.join(ROOT, "bench/results");
await mkdir(resultsDir, { recursive: true });
const written = path.join(resultsDir, `${new Date().toISOString().replaceAll(":", "-")}.json`);
await writeFile(
  written,
  `${JSON.stringify({ at: new Date().toISOString(), node: process.version, ordersPerRun, runs, rows: results, dynamoPerOrder, sizes }, null, 2)}\n`,
);
console.log(`\nJSON: ${path.relative(ROOT, written)}`);

sqs.destroy();
standIns.stdin.end();
await new Promise((resolve) => standIns.once("exit", resolve));
await rm(workDir, { recursive: true, force: true });
