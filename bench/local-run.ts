/**
 * The local-mode benchmark: a whole `imburse-relay local --until-drained` run (in this process, as `npm
 * start` runs it) of orders with a realistic fault mix, once with one batch at a time per queue (the runner
 * before event source concurrency) and once with the mappings' maximum concurrency as deployed, in the
 * same run.
 *
 *   npm run bench:local -- [--orders 2000] [--seed 2026] [--hold-seconds 2.5] [--no-baseline]
 *
 * The fault mix ({@link FAULTS}, seeded): 3 % of orders have their create reply lost after the order was
 * stored, held until the relay's Imburse timeout (`--hold-seconds`) gives up; about 20 % are throttled
 * (429, `Retry-After: 1`) or failed (503) once; 5 % of the lines repeat an earlier line. Every rule applies
 * at most once per orderRef. Which orders draw a fault depends on the order requests reach the simulator,
 * so concurrent runs with one seed draw the same rates, not the same orders.
 *
 * Checks, per run: every line ends `submitted` or `already-existed` (none dead-lettered, none pending);
 * the simulator stores every distinct order exactly once; and no create reaches the simulator for an
 * orderRef after the one that stored it (the relay read before it wrote). Exits 1 when a check fails.
 * Loopback only; not part of `npm test`.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { Writable } from "node:stream";
import { Command, CommanderError, Option } from "commander";
import { integer, positiveSeconds } from "../lib/cli/index.ts";
import { infrastructureConfig } from "../lib/config/index.ts";
import { LOCAL_RELAY_DEFAULTS, type LocalRunResult, runLocal } from "../lib/local/index.ts";
import type { OrderLine } from "../lib/tools/index.ts";
import { createsForHeldOrders } from "./checks.ts";
import { cleanOrder } from "./runs.ts";

/** Every bench order's ref starts with this, so `times=1` counts per orderRef. */
const REF_PREFIX = "LOCAL-";
/** The fault spec (`--faults` grammar): held replies, then throttles and failures, each once per order. */
export const FAULTS = [
  `create[ref^=${REF_PREFIX}]:timeout=0.03:times=1`,
  `create[ref^=${REF_PREFIX}]:429=0.1:retry-after=1:times=1`,
  `create[ref^=${REF_PREFIX}]:503=0.11:times=1`,
].join(",");
/** Lines that repeat an earlier line (same body, another correlation id). */
const DUPLICATE_SHARE = 0.05;
/** Long enough that no order's retries run out while the queues are busy: the bench measures speed. */
const RETRY_BUDGET_SECONDS = 300;
const MAX_WAIT_SECONDS = 900;

const args = new Command("npm run bench:local --")
  .description("A local-mode run with a realistic fault mix, one batch at a time and as deployed.")
  .addOption(new Option("--orders <n>", "lines per run").argParser(integer(20, 100_000)).default(2000))
  .addOption(new Option("--seed <n>", "simulator fault seed").argParser(integer(0)).default(2026))
  .addOption(
    new Option("--hold-seconds <s>", "how long a lost reply holds its call (the relay's Imburse timeout)")
      .argParser(positiveSeconds)
      .default(2.5),
  )
  .option("--no-baseline", "skip the run with one batch at a time per queue")
  .exitOverride();
try {
  args.parse(process.argv);
} catch (error) {
  process.exit(error instanceof CommanderError && error.exitCode === 0 ? 0 : 2);
}
const flags = args.opts<{ orders: number; seed: number; holdSeconds: number; baseline: boolean }>();

/** `count` lines: distinct orders, and every twentieth line a repeat of an earlier one. */
function benchLines(count: number): OrderLine[] {
  const lines: OrderLine[] = [];
  const every = Math.round(1 / DUPLICATE_SHARE);
  for (let line = 1; line <= count; line++) {
    const repeat = line % every === 0 ? lines[line - every] : undefined;
    const orderRef = `${REF_PREFIX}${line}`;
    const body = repeat?.body ?? JSON.stringify(cleanOrder(orderRef));
    lines.push({ line, ok: true, body, correlationId: `bench-${line}` });
  }
  return lines;
}

interface RunFigures {
  mode: string;
  maximumConcurrency: { orders: number; retry: number };
  seconds: number;
  /** CPU of this process (the relay and the stand-ins) over the run, in seconds. */
  cpuSeconds: number;
  ordersPerSecond: number;
  outcomes: Record<string, number>;
  createRequests: number;
  heldReplies: number;
  throttledOrFailed: number;
  problems: string[];
}

/** What the run must have done: see the module comment. */
function check(lines: readonly OrderLine[], result: LocalRunResult): string[] {
  const problems: string[] = [];
  const bad = result.report.orders.filter(
    (e) => e.outcome !== "submitted" && e.outcome !== "already-existed",
  );
  if (bad.length > 0) {
    problems.push(
      `${bad.length} line(s) not submitted or already-existed: ${JSON.stringify(bad.slice(0, 3))}`,
    );
  }
  const simulator = result.simulator;
  if (!simulator) return [...problems, "no simulator to check"];
  const distinct = new Set(lines.map((line) => (JSON.parse(line.body) as { orderRef: string }).orderRef));
  const stored = simulator.orders().map((order) => order.orderRef);
  if (stored.length !== distinct.size || !stored.every((ref) => distinct.has(ref))) {
    problems.push(`the simulator stored ${stored.length} orders for ${distinct.size} distinct orderRefs`);
  }
  const postedAgain = createsForHeldOrders(simulator.requestsTo("create"));
  if (postedAgain > 0) problems.push(`${postedAgain} create(s) sent for an order Imburse already held`);
  return problems;
}

async function run(mode: string, maximumConcurrency: number | undefined): Promise<RunFigures> {
  const lines = benchLines(flags.orders);
  const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
  const started = performance.now();
  const cpu = process.cpuUsage();
  const result = await runLocal({
    lines,
    source: "bench",
    imburse: { simulator: { faults: FAULTS, seed: flags.seed } },
    relay: {
      ...LOCAL_RELAY_DEFAULTS,
      retryBudgetSeconds: RETRY_BUDGET_SECONDS,
      imburseTimeoutMs: flags.holdSeconds * 1000,
    },
    ...(maximumConcurrency === undefined ? {} : { maximumConcurrency }),
    logLevel: "silent",
    untilDrained: true,
    maxWaitSeconds: MAX_WAIT_SECONDS,
    stream: discard,
    interactive: false,
  });
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  const outcomes: Record<string, number> = {};
  for (const entry of result.report.orders) outcomes[entry.outcome] = (outcomes[entry.outcome] ?? 0) + 1;
  const creates = result.simulator?.requestsTo("create") ?? [];
  const config = infrastructureConfig("local");
  return {
    mode,
    maximumConcurrency: {
      orders: maximumConcurrency ?? config.ordersSubscription.maximumConcurrency,
      retry: maximumConcurrency ?? config.retrySubscription.maximumConcurrency,
    },
    seconds,
    cpuSeconds,
    ordersPerSecond: lines.length / seconds,
    outcomes,
    createRequests: creates.length,
    heldReplies: creates.filter((request) => request.fault?.kind === "timeout").length,
    throttledOrFailed: creates.filter((request) => typeof request.fault?.kind === "number").length,
    problems: check(lines, result),
  };
}

console.log(
  `Local run: ${flags.orders} lines (${Math.round(DUPLICATE_SHARE * 100)} % repeat an earlier line), ` +
    `faults ${JSON.stringify(FAULTS)}, seed ${flags.seed}, lost replies held ${flags.holdSeconds} s ` +
    `(the relay's Imburse timeout), retry budget ${RETRY_BUDGET_SECONDS} s, record concurrency ${LOCAL_RELAY_DEFAULTS.concurrency}.`,
);
const figures: RunFigures[] = [];
if (flags.baseline) figures.push(await run("one batch at a time per queue", 1));
figures.push(await run("maximum concurrency as deployed", undefined));

const baseline = flags.baseline ? figures[0] : undefined;
for (const f of figures) {
  const ratio =
    baseline && f !== baseline
      ? ` (${(f.ordersPerSecond / baseline.ordersPerSecond).toFixed(2)}x the baseline)`
      : "";
  console.log(
    `${f.mode} (orders ${f.maximumConcurrency.orders}, retry ${f.maximumConcurrency.retry}): ` +
      `${f.seconds.toFixed(1)} s (CPU ${f.cpuSeconds.toFixed(1)} s), ${f.ordersPerSecond.toFixed(1)} orders/s${ratio}; ` +
      `outcomes ${JSON.stringify(f.outcomes)}; ${f.createRequests} creates, ${f.heldReplies} held, ` +
      `${f.throttledOrFailed} throttled or failed; ${f.problems.length === 0 ? "checks passed" : `CHECKS FAILED: ${f.problems.join("; ")}`}`,
  );
}
const resultsDir = path.resolve(import.meta.dirname, "results");
await mkdir(resultsDir, { recursive: true });
const written = path.join(resultsDir, `local-run-${new Date().toISOString().replaceAll(":", "-")}.json`);
await writeFile(
  written,
  `${JSON.stringify({ at: new Date().toISOString(), node: process.version, faults: FAULTS, seed: flags.seed, holdSeconds: flags.holdSeconds, orders: flags.orders, runs: figures }, null, 2)}\n`,
);
console.log(`Written to ${path.relative(process.cwd(), written)}.`);
process.exitCode = figures.some((f) => f.problems.length > 0) ? 1 : 0;
