/**
 * The benchmark suite: every row of the performance table with its baseline, measured in the same run.
 *
 *   npm run bench -- [orders per run, default 1000] [paired runs, default 3] [--only per-order|size]
 *   npm run bench -- 2000 --profile [--no-tracing | --floor]
 *
 * - Bundle size and module init of every handler, built with SST 4.17's own esbuild options and the stacks'
 *   `nodejs` settings (stacks/node-build.ts), against an SQS-only handler; init in a fresh Node process.
 * - CPU per clean order, batch latency with Imburse taking 100 ms per order, and throughput of the submit
 *   handler, against the raw loop (one HMAC token exchange, then one axios POST per order).
 * - The floor: the protocol requests the relay makes per clean order, issued in a loop (bench/floor.ts).
 * - DynamoDB requests per clean order.
 *
 * Every relay row is measured with tracing off and on (bench/tracing.ts); the goals are judged with it on,
 * as deployed. The traced handler runs in a process of its own (bench/traced-handler.ts), since tracing
 * patches Node's `http` for the whole process. The stand-ins (fauxqs, dynalite, Secrets Manager, EventBridge,
 * the Imburse simulator, the X-Ray daemon's UDP sink) run in another (bench/stand-ins.ts), so their CPU is
 * not counted. Prints the tables (medians, min–max, ratios, goals) and writes them as JSON to
 * bench/results/. `--only` measures one group of rows: `per-order` (CPU, latency, throughput, the floor,
 * DynamoDB requests) or `size` (bundles and init).
 *
 * `--profile` prints no table: it runs the submit handler alone (tracing on unless `--no-tracing`; with `--floor`,
 * the floor's loop instead) over
 * [orders] records built in memory, so the benchmark's own SQS calls are not in it, under V8's CPU profiler;
 * writes the profile to bench/results/ and prints its CPU by package (bench/profile-by-package.ts).
 *
 * Loopback only; it stops by itself. Not part of `npm test`: speed is measured here, not in timed tests.
 */
import { type ChildProcessByStdio, spawn, spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { Command, CommanderError, Option } from "commander";
import { build } from "esbuild";
import { sqsClient } from "../lib/aws/index.ts";
import { integer } from "../lib/cli/index.ts";
import { DEFAULTS, settingsToEnv } from "../lib/config/index.ts";
import { DEMO_CREDENTIALS } from "../lib/simulator/index.ts";
import { NODEJS_BUILD, sstBuildOptions } from "../stacks/node-build.ts";
import { floorClient } from "./floor.ts";
import { cpuByPackage } from "./profile-by-package.ts";
import { rawClient } from "./raw-loop.ts";
import {
  type CpuProfile,
  handlerRun,
  inMemoryBatches,
  loopRun,
  median,
  type RunResult,
  recordBatches,
  type StandInsReady,
  withCpuProfile,
} from "./runs.ts";
import { tracingEnv } from "./tracing.ts";

const args = new Command("npm run bench --")
  .description("The benchmark suite: every row with its baseline, measured in the same run (loopback only).")
  .argument("[orders]", "orders per run", integer(10, 100_000), 1000)
  .argument("[runs]", "paired runs per row", integer(1, 20), 3)
  .addOption(new Option("--only <rows>", "measure only these rows").choices(["per-order", "size"]))
  .option("--profile", "no table: a CPU profile of the submit handler alone over [orders] orders, by package")
  .option("--no-tracing", "with --profile: the handler with tracing off")
  .option("--floor", "with --profile: the floor's loop (bench/floor.ts) instead of the handler")
  .exitOverride();
try {
  args.parse(process.argv);
  const given = (name: string) => args.getOptionValueSource(name) === "cli";
  if (!given("profile") && (given("tracing") || given("floor"))) {
    args.error("error: --no-tracing and --floor go with --profile", { exitCode: 2 });
  }
  if (given("floor") && given("tracing"))
    args.error("error: the floor has no tracing to turn off", { exitCode: 2 });
  if (given("profile") && given("only"))
    args.error("error: --profile prints no table: drop --only", { exitCode: 2 });
} catch (error) {
  // Commander has printed the message (or the help); 2 is the CLI's usage status.
  process.exit(error instanceof CommanderError && error.exitCode === 0 ? 0 : 2);
}
const [ordersPerRun, runs] = args.processedArgs as [number, number];
const options = args.opts<{ only?: "per-order" | "size"; profile?: true; tracing: boolean; floor?: true }>();
const measures = (rows: "per-order" | "size") => !options.profile && (options.only ?? rows) === rows;
const ROOT = path.resolve(import.meta.dirname, "..");
const IMBURSE_LATENCY_MS = 100;
const QUIET = { POWERTOOLS_LOG_LEVEL: "SILENT", POWERTOOLS_METRICS_DISABLED: "true" };

/** A child process spoken to in lines: each command answered by one JSON line. */
function lineProcess(child: ChildProcessByStdio<Writable, Readable, null>) {
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async <T>(): Promise<T> => {
    const line = await lines.next();
    if (line.done) throw new Error("bench: a helper process ended early");
    return JSON.parse(line.value as string) as T;
  };
  return {
    next,
    ask: async <T>(command: string): Promise<T> => {
      child.stdin.write(`${command}\n`);
      return next<T>();
    },
    async stop() {
      child.stdin.end();
      if (child.exitCode === null) await new Promise((resolve) => child.once("exit", resolve));
    },
  };
}
const start = (script: string, argument: string) =>
  lineProcess(
    spawn(process.execPath, [path.join(ROOT, script), argument], { stdio: ["pipe", "pipe", "inherit"] }),
  );

// ---- the stand-ins, the relay with tracing off (here) and on (its own process) ----
const standIns = start("bench/stand-ins.ts", "{}");
const ready = await standIns.next<StandInsReady>();
Object.assign(process.env, ready.env, QUIET);
const stats = () => standIns.ask<{ dynamoRequests: number; xraySegments: number }>("stats");

const { createSubmitHandler } = await import("../lib/relay/index.ts");
const handler = createSubmitHandler();
const traced = start("bench/traced-handler.ts", JSON.stringify(ready));
const tracedRun = (count: number) => traced.ask<RunResult>(`run ${count}`);
const sqs = sqsClient();
const untracedRun = async (count: number) =>
  handlerRun(handler, await recordBatches(sqs, ready.ordersQueue, count));
const workDir = await mkdtemp(path.join(tmpdir(), "imburse-relay-bench-"));
const resultsDir = path.join(ROOT, "bench/results");
await mkdir(resultsDir, { recursive: true });
const stamp = new Date().toISOString().replaceAll(":", "-");
const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const range = (values: number[]) =>
  `${fmt(median(values))} (${fmt(Math.min(...values))}–${fmt(Math.max(...values))})`;
const ratioOf = (relay: number[], baseline: number[]) => median(relay) / median(baseline);
const pick = (values: RunResult[], field: "cpuPerOrderMs" | "ordersPerSecond") => values.map((v) => v[field]);

/** The floor's client (bench/floor.ts) against the stand-ins. */
const newFloor = () =>
  floorClient({
    baseUrl: ready.simulatorUrl,
    credentials: { ...DEMO_CREDENTIALS },
    ledgerTable: ready.env.RELAY_LEDGER_TABLE!,
    eventBusName: ready.env.RELAY_EVENT_BUS_NAME!,
  });

// ---- --profile: the submit handler alone (or the floor's loop), under the CPU profiler ----
/** The handler over `ordersPerRun` orders built in memory, warmed first, under V8's CPU profiler. */
async function profileHandler(): Promise<{ result: RunResult; profile: CpuProfile }> {
  if (options.tracing) {
    await tracedRun(50);
    return traced.ask(`profile ${ordersPerRun}`);
  }
  await untracedRun(50);
  const batches = inMemoryBatches(ready.ordersQueue, ordersPerRun);
  return withCpuProfile(() => handlerRun(handler, batches));
}
/** The floor's loop over `ordersPerRun` orders, warmed first, under V8's CPU profiler. */
async function profileFloor(): Promise<{ result: RunResult; profile: CpuProfile }> {
  const floor = await newFloor();
  try {
    await loopRun(50, (orders) => floor.submit(orders));
    return await withCpuProfile(() => loopRun(ordersPerRun, (orders) => floor.submit(orders)));
  } finally {
    floor.destroy();
  }
}
if (options.profile) {
  const { result, profile } = await (options.floor ? profileFloor() : profileHandler());
  const what = options.floor
    ? `the floor's loop, ${ordersPerRun} orders`
    : `submit handler alone, ${ordersPerRun} orders built in memory, tracing ${options.tracing ? "on" : "off"}`;
  const file = path.join(resultsDir, `${stamp}.cpuprofile`);
  await writeFile(file, JSON.stringify(profile));
  console.log(
    [
      `${what}: CPU ${result.cpuPerOrderMs.toFixed(3)} ms per order, ${result.ordersPerSecond.toFixed(0)} orders/s (under the profiler)`,
      "",
      cpuByPackage(profile as Parameters<typeof cpuByPackage>[0]),
      "",
      `Profile: ${path.relative(ROOT, file)} (npx node bench/profile-by-package.ts ${path.relative(ROOT, file)} --by-caller)`,
    ].join("\n"),
  );
}

// ---- bundles and init, every handler, tracing off and on ----
/** Bundles an entry as SST deploys it: bytes of the file that goes into the function's package. */
async function bundle(
  entry: string,
  outdir: string,
  minify: boolean,
): Promise<{ file: string; bytes: number }> {
  const file = path.join(outdir, `${path.basename(entry, ".ts")}${minify ? "" : ".unminified"}.mjs`);
  const result = await build({
    ...sstBuildOptions(path.join(ROOT, entry), file, { ...NODEJS_BUILD, minify }),
    absWorkingDir: ROOT,
  });
  return { file, bytes: result.metafile!.outputs[path.relative(ROOT, file)]!.bytes };
}

/**
 * Importing a bundle in a fresh Node process with the given environment: wall milliseconds, and the CPU
 * milliseconds the process spent on it (steadier than wall time on a loaded machine).
 */
function init(file: string, env: NodeJS.ProcessEnv): { wallMs: number; cpuMs: number } {
  const run = spawnSync(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `const c = process.cpuUsage(); const t = performance.now(); await import(${JSON.stringify(file)});
       const wallMs = performance.now() - t; const { user, system } = process.cpuUsage(c);
       console.log(JSON.stringify({ wallMs, cpuMs: (user + system) / 1000 }));`,
    ],
    { env, encoding: "utf8" },
  );
  if (run.status !== 0) throw new Error(`bench: importing ${file} failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as { wallMs: number; cpuMs: number };
}

const BASELINE = "sqs-only";
interface HandlerFigures {
  bytes: number;
  unminifiedBytes: number;
  initMs: { off: number[]; on: number[] };
  initCpuMs: { off: number[]; on: number[] };
}

/** Size and init of every handler and of the SQS-only baseline, init with tracing off and on. */
async function measureSize(): Promise<Record<string, HandlerFigures>> {
  // What the functions need at init that the stand-ins' environment lacks: the circuit breaker's plan.
  const breakerPlan = {
    periodSeconds: 300,
    minimumOpenPeriods: 2,
    healthyPeriodsToClose: 1,
    trialPeriods: 2,
    alarms: { unavailable: "bench-unavailable", errorRate: "bench-error-rate" },
    mappings: [{ uuid: "bench-mapping", batchSize: 10, maximumConcurrency: 5 }],
  };
  const initEnv = {
    off: { ...process.env, ...settingsToEnv({ breakerPlan: JSON.stringify(breakerPlan) }) },
    on: {
      ...process.env,
      ...settingsToEnv({ breakerPlan: JSON.stringify(breakerPlan) }),
      ...tracingEnv(ready.xrayDaemon, workDir),
    },
  };
  const entries = [
    ...(await readdir(path.join(ROOT, "functions")))
      .filter((f) => f.endsWith(".ts"))
      .map((f) => `functions/${f}`),
    "bench/baselines/sqs-only.ts",
  ];
  const handlers: Record<string, HandlerFigures> = {};
  const files: Record<string, string> = {};
  for (const entry of entries) {
    const name = path.basename(entry, ".ts");
    const deployed = await bundle(entry, workDir, true);
    const unminified = await bundle(entry, workDir, false);
    files[name] = deployed.file;
    handlers[name] = {
      bytes: deployed.bytes,
      unminifiedBytes: unminified.bytes,
      initMs: { off: [], on: [] },
      initCpuMs: { off: [], on: [] },
    };
  }
  // Interleaved, so a burst of load on the machine falls on every handler alike.
  for (let run = 0; run < Math.max(5, runs); run++) {
    for (const mode of ["off", "on"] as const) {
      for (const [name, file] of Object.entries(files)) {
        const { wallMs, cpuMs } = init(file, initEnv[mode]);
        handlers[name]!.initMs[mode].push(wallMs);
        handlers[name]!.initCpuMs[mode].push(cpuMs);
      }
    }
  }
  return handlers;
}

// ---- clean orders: handler (tracing off, on), raw loop, floor, paired ----
/** The per-order runs: clean orders and slow Imburse, handler with tracing off and on, raw loop, floor. */
async function measurePerOrder() {
  const raw = await rawClient(ready.simulatorUrl, { ...DEMO_CREDENTIALS });
  const rawRun = (count: number) => loopRun(count, (orders) => raw.submit(orders, orders.length));
  const floor = await newFloor();
  const floorRun = (count: number) => loopRun(count, (orders) => floor.submit(orders));
  // Warm every path (token, sockets, credentials) before measuring.
  await untracedRun(20);
  await tracedRun(20);
  await rawRun(20);
  await floorRun(20);
  const clean = {
    off: [] as RunResult[],
    on: [] as RunResult[],
    raw: [] as RunResult[],
    floor: [] as RunResult[],
  };
  let dynamoRequests = 0;
  let cleanOrders = 0;
  let xraySegments = 0;
  for (let run = 0; run < runs; run++) {
    const before = await stats();
    clean.off.push(await untracedRun(ordersPerRun));
    const between = await stats();
    clean.on.push(await tracedRun(ordersPerRun));
    const after = await stats();
    dynamoRequests += between.dynamoRequests - before.dynamoRequests;
    cleanOrders += ordersPerRun;
    xraySegments += after.xraySegments - between.xraySegments;
    clean.raw.push(await rawRun(ordersPerRun));
    clean.floor.push(await floorRun(ordersPerRun));
  }
  if (xraySegments === 0) throw new Error("bench: the traced handler sent no segments: tracing was not on");

  await standIns.ask(`latency ${IMBURSE_LATENCY_MS}`);
  const slow = { off: [] as number[], on: [] as number[], raw: [] as number[], floor: [] as number[] };
  for (let run = 0; run < runs; run++) {
    slow.off.push(median((await untracedRun(50)).batchMs) / IMBURSE_LATENCY_MS);
    slow.on.push(median((await tracedRun(50)).batchMs) / IMBURSE_LATENCY_MS);
    slow.raw.push(median((await rawRun(50)).batchMs) / IMBURSE_LATENCY_MS);
    slow.floor.push(median((await floorRun(50)).batchMs) / IMBURSE_LATENCY_MS);
  }
  await standIns.ask("reset");
  floor.destroy();
  return {
    clean,
    slow,
    dynamoPerOrder: dynamoRequests / cleanOrders,
    xraySegmentsPerOrder: xraySegments / cleanOrders,
  };
}

const handlers = measures("size") ? await measureSize() : undefined;
const perOrder = measures("per-order") ? await measurePerOrder() : undefined;

// ---- the tables ----
interface Row {
  what: string;
  on: number[];
  off: number[];
  baseline: number[];
  unit: string;
  goal: string;
  /** Judged on the figures with tracing on, as deployed. */
  met: (ratio: number, relay: number) => boolean;
}
const rows: Row[] = [];
if (handlers) {
  const initRow = (what: string, figure: "initMs" | "initCpuMs"): Row => ({
    what,
    on: handlers.submit![figure].on,
    off: handlers.submit![figure].off,
    baseline: handlers[BASELINE]![figure].on,
    unit: "ms",
    goal: "≤ 2x the SQS-only handler",
    met: (ratio) => ratio <= 2,
  });
  rows.push(
    initRow("submit module init (deployed bundle, fresh process)", "initMs"),
    initRow("submit module init, CPU time of it", "initCpuMs"),
  );
}
if (perOrder) {
  const { clean, slow } = perOrder;
  rows.push(
    {
      what: "CPU per clean order",
      on: pick(clean.on, "cpuPerOrderMs"),
      off: pick(clean.off, "cpuPerOrderMs"),
      baseline: pick(clean.raw, "cpuPerOrderMs"),
      unit: "ms",
      goal: "≤ 2.5x the raw loop",
      met: (ratio) => ratio <= 2.5,
    },
    {
      what: `a batch of 10, Imburse taking ${IMBURSE_LATENCY_MS} ms per order (x ${IMBURSE_LATENCY_MS} ms)`,
      on: slow.on,
      off: slow.off,
      baseline: slow.raw,
      unit: "x",
      goal: "≤ 1.2x of 100 ms at the defaults",
      met: (_ratio, relay) => relay <= 1.2,
    },
    {
      what: "handler throughput",
      on: pick(clean.on, "ordersPerSecond"),
      off: pick(clean.off, "ordersPerSecond"),
      baseline: pick(clean.raw, "ordersPerSecond"),
      unit: "orders/s",
      goal: "≥ 40% of the raw loop",
      met: (ratio) => ratio >= 0.4,
    },
  );
}
const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
const lines = [
  `imburse-relay benchmark: ${runs} paired runs of ${ordersPerRun} orders, record concurrency ${DEFAULTS.recordConcurrency}, Node ${process.version}`,
  "Medians (min–max). Goals are judged with tracing on, as deployed (every invocation sampled).",
  "",
  "| what | relay, tracing on | relay, tracing off | baseline | ratio on | ratio off | goal | met |",
  "|---|---|---|---|---|---|---|---|",
];
const results: Record<string, unknown>[] = [];
for (const row of rows) {
  const ratio = { on: ratioOf(row.on, row.baseline), off: ratioOf(row.off, row.baseline) };
  const met = row.met(ratio.on, median(row.on));
  lines.push(
    `| ${row.what} | ${range(row.on)} ${row.unit} | ${range(row.off)} ${row.unit} | ${range(row.baseline)} ${row.unit} | ${ratio.on.toFixed(2)} | ${ratio.off.toFixed(2)} | ${row.goal} | ${met ? "yes" : "NO"} |`,
  );
  results.push({ ...row, met, ratio });
}
const floorRows: Record<string, unknown>[] = [];
if (perOrder) {
  const { clean, dynamoPerOrder } = perOrder;
  lines.push(
    `| DynamoDB requests per clean order (batches of 10) | ${dynamoPerOrder.toFixed(2)} | | 2.00 (Powertools Idempotency) | ${(dynamoPerOrder / 2).toFixed(2)} | | ≤ 1.2 | ${dynamoPerOrder <= 1.2 ? "yes" : "NO"} |`,
    "",
    "The floor: per order the ledger claim (UpdateItem) and the POST, per batch of 10 one BatchWriteItem and one PutEvents, in a loop with no relay logic (bench/floor.ts).",
    "",
    "| what | floor | relay on / floor | relay off / floor | raw loop / floor |",
    "|---|---|---|---|---|",
  );
  for (const { what, unit, field } of [
    { what: "CPU per clean order", unit: "ms", field: "cpuPerOrderMs" as const },
    { what: "throughput", unit: "orders/s", field: "ordersPerSecond" as const },
  ]) {
    const floorValues = pick(clean.floor, field);
    const over = (values: RunResult[]) => ratioOf(pick(values, field), floorValues);
    const row = {
      what,
      unit,
      floor: floorValues,
      on: over(clean.on),
      off: over(clean.off),
      raw: over(clean.raw),
    };
    lines.push(
      `| ${what} | ${range(floorValues)} ${unit} | ${row.on.toFixed(2)} | ${row.off.toFixed(2)} | ${row.raw.toFixed(2)} |`,
    );
    floorRows.push(row);
  }
  // The slow batch's floor: the same requests with Imburse taking 100 ms, so the time a batch spends on
  // the claim, the ledger write and PutEvents (each a round trip to the stand-ins) shows apart from relay code.
  const slowFloor = {
    what: `a batch of 10, Imburse taking ${IMBURSE_LATENCY_MS} ms per order`,
    unit: `x ${IMBURSE_LATENCY_MS} ms`,
    floor: perOrder.slow.floor,
    on: ratioOf(perOrder.slow.on, perOrder.slow.floor),
    off: ratioOf(perOrder.slow.off, perOrder.slow.floor),
    raw: ratioOf(perOrder.slow.raw, perOrder.slow.floor),
  };
  lines.push(
    `| ${slowFloor.what} | ${range(slowFloor.floor)} ${slowFloor.unit} | ${slowFloor.on.toFixed(2)} | ${slowFloor.off.toFixed(2)} | ${slowFloor.raw.toFixed(2)} |`,
  );
  floorRows.push(slowFloor);
}
if (handlers) {
  lines.push(
    "",
    "| handler | bundle as deployed (minified) | unminified | init, tracing on | init, tracing off | init on / baseline on | init CPU, tracing on | CPU / baseline | ≤ 1 MiB |",
    "|---|---|---|---|---|---|---|---|---|",
  );
  for (const [name, figures] of Object.entries(handlers)) {
    const baseline = name === BASELINE;
    const initRatio = ratioOf(figures.initMs.on, handlers[BASELINE]!.initMs.on);
    const cpuRatio = ratioOf(figures.initCpuMs.on, handlers[BASELINE]!.initCpuMs.on);
    lines.push(
      `| ${baseline ? "baseline: SQS-only handler" : `functions/${name}.ts`} | ${kib(figures.bytes)} | ${kib(figures.unminifiedBytes)} | ${range(figures.initMs.on)} ms | ${range(figures.initMs.off)} ms | ${baseline ? "-" : initRatio.toFixed(2)} | ${range(figures.initCpuMs.on)} ms | ${baseline ? "-" : cpuRatio.toFixed(2)} | ${baseline ? "-" : figures.bytes <= 1024 * 1024 ? "yes" : "NO"} |`,
    );
  }
}
if (perOrder) {
  lines.push(
    "",
    `X-Ray segment documents sent per traced order: ${perOrder.xraySegmentsPerOrder.toFixed(2)}`,
  );
}
if (!options.profile) {
  console.log(lines.join("\n"));
  const written = path.join(resultsDir, `${stamp}.json`);
  await writeFile(
    written,
    `${JSON.stringify(
      {
        at: new Date().toISOString(),
        node: process.version,
        ordersPerRun,
        runs,
        only: options.only ?? "all",
        rows: results,
        dynamoPerOrder: perOrder?.dynamoPerOrder,
        floor: floorRows,
        handlers,
        xraySegmentsPerOrder: perOrder?.xraySegmentsPerOrder,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\nJSON: ${path.relative(ROOT, written)}`);
}

sqs.destroy();
await traced.stop();
await standIns.stop();
await rm(workDir, { recursive: true, force: true });
