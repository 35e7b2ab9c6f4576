/**
 * The submit handler with tracing on, in a process of its own: the X-Ray SDK patches Node's `http` globally
 * once tracing is on, which would tax the raw loop and the floor measured in the suite's process.
 *
 * Started by bench/suite.ts with the stand-ins' `ready` line as its argument. Reads commands on stdin, one
 * per line, and answers each with one JSON line: `run N` (publish N orders, run the handler over them in
 * batches of 10: the run's {@link RunResult}) and `profile N` (N orders built in memory, the handler run
 * over them under the CPU profiler: `{ result, profile }`). Exits when stdin closes.
 */
import path from "node:path";
import { createInterface } from "node:readline";
import type { StandInsReady } from "./runs.ts";
import { traceHeader, tracingEnv } from "./tracing.ts";

const ready = JSON.parse(process.argv[2] ?? "{}") as StandInsReady;
Object.assign(process.env, ready.env, {
  POWERTOOLS_LOG_LEVEL: "SILENT",
  POWERTOOLS_METRICS_DISABLED: "true",
  ...tracingEnv(ready.xrayDaemon, path.resolve(import.meta.dirname, "..")),
});
// Everything that may load the X-Ray SDK is imported only now: it reads its mode and daemon address when it
// loads (lib/aws's index loads Powertools Tracer).
const { sqsClient } = await import("../lib/aws/index.ts");
const { createSubmitHandler } = await import("../lib/relay/index.ts");
const { handlerRun, inMemoryBatches, recordBatches, withCpuProfile } = await import("./runs.ts");
const handler = createSubmitHandler();
const sqs = sqsClient();

const newTraceHeader = () => {
  process.env._X_AMZN_TRACE_ID = traceHeader();
};

for await (const line of createInterface({ input: process.stdin })) {
  const [command, count] = line.trim().split(/\s+/);
  if (command === "run") {
    const batches = await recordBatches(sqs, ready.ordersQueue, Number(count));
    const result = await handlerRun(handler, batches, newTraceHeader);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } else if (command === "profile") {
    const batches = inMemoryBatches(ready.ordersQueue, Number(count));
    const profiled = await withCpuProfile(() => handlerRun(handler, batches, newTraceHeader));
    process.stdout.write(`${JSON.stringify(profiled)}\n`);
  }
}
sqs.destroy();
