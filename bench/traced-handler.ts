/**
 * The submit handler with tracing on, in a process of its own: the X-Ray SDK patches Node's `http` globally
 * once tracing is on, which would tax the raw loop and the floor measured in the suite's process.
 *
 * Started by bench/suite.ts with the stand-ins' `ready` line as its argument. Reads `run N` lines on stdin
 * (publish N orders, run the handler over them in batches of 10) and answers each with one JSON line: the
 * run's {@link RunResult}. Exits when stdin closes.
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
const { handlerRun, recordBatches } = await import("./runs.ts");
const handler = createSubmitHandler();
const sqs = sqsClient();

for await (const line of createInterface({ input: process.stdin })) {
  const [command, count] = line.trim().split(/\s+/);
  if (command !== "run") continue;
  const batches = await recordBatches(sqs, ready.ordersQueue, Number(count));
  const result = await handlerRun(handler, batches, () => {
    process.env._X_AMZN_TRACE_ID = traceHeader();
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
sqs.destroy();
