import { EventEmitter } from "node:events";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { LOCAL_RELAY_DEFAULTS, type LocalRunResult, runLocal } from "../../lib/local/run-local.ts";
import { parseOrdersFile } from "../../lib/tools/index.ts";
import { validOrder as order } from "../support/orders.ts";

/** Two orders the simulator accepts and one it refuses: a run that drains in a second or two. */
const ORDERS = parseOrdersFile(
  [
    JSON.stringify({ body: order("TWICE-1"), correlationId: "corr-twice-1" }),
    JSON.stringify({ body: order("TWICE-2") }),
    JSON.stringify({ body: order("REJECT-3") }),
  ].join("\n"),
);

function runOnce(): Promise<LocalRunResult> {
  return runLocal({
    lines: ORDERS,
    source: "test",
    imburse: { simulator: { faults: "create[ref^=REJECT-]:400:code=SCHEME_NOT_FOUND", seed: 7 } },
    relay: { ...LOCAL_RELAY_DEFAULTS },
    logLevel: "silent",
    untilDrained: true,
    maxWaitSeconds: 30,
    stream: new PassThrough(),
    interactive: false,
    // Signals of its own: the test process's SIGINT handlers stay untouched.
    signals: new EventEmitter(),
  });
}

describe("runLocal in-process", () => {
  it("runs twice in one process with the same outcomes, and leaves process.env as it found it", {
    timeout: 60_000,
  }, async () => {
    const before = { ...process.env };
    const first = await runOnce();
    expect({ ...process.env }).toEqual(before);
    const second = await runOnce();
    expect({ ...process.env }).toEqual(before);

    for (const run of [first, second]) {
      expect(run.ended).toBe("drained");
      expect(run.exitCode).toBe(1); // the rejected order
      expect(run.report.orders.map((entry) => [entry.line, entry.outcome])).toEqual([
        [1, "submitted"],
        [2, "submitted"],
        [3, "rejected"],
      ]);
    }
  });
});

describe("local mode and the command line leave process.env alone", () => {
  /** Every TypeScript source under `dir`, recursively. */
  async function sources(dir: string): Promise<string[]> {
    const entries = await readdir(dir, { withFileTypes: true, recursive: true });
    return entries
      .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
      .map((entry) => join(entry.parentPath, entry.name));
  }

  it("no file in lib/local or lib/cli assigns to process.env", async () => {
    // Assignment, Object.assign, delete, or a property write through process.env.
    const write =
      /process\.env(\.\w+|\[[^\]]+\])?\s*=(?!=)|Object\.assign\(\s*process\.env|delete\s+process\.env|Reflect\.set\(\s*process\.env/;
    const offenders: string[] = [];
    for (const file of [...(await sources("lib/local")), ...(await sources("lib/cli"))]) {
      const text = await readFile(file, "utf8");
      text.split("\n").forEach((line, index) => {
        if (write.test(line)) offenders.push(`${file}:${index + 1}: ${line.trim()}`);
      });
    }
    expect(offenders).toEqual([]);
  });
});
