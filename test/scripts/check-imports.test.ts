import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import {
  boundaryViolations,
  checkImports,
  type ImportEdge,
  importsOf,
  moduleCycles,
} from "../../scripts/check-imports.ts";

const MODULES = new Set(["config", "imburse", "relay", "events", "ledger"]);
const edge = (from: string, to: string): ImportEdge => ({ from, to, line: 1 });
const flagged = (from: string, to: string) => boundaryViolations([edge(from, to)], MODULES).length === 1;

describe("importsOf", () => {
  it("finds static, type-only, dynamic, typeof and re-export imports and vi.mock paths, resolved from the root", () => {
    const source = [
      'import { a } from "../imburse/client.ts";',
      'import type { B } from "./decide.ts";',
      'export { c } from "../events/index.ts";',
      'const d = await import("../ledger/store.ts");',
      'type E = typeof import("../config/names.ts");',
      'vi.mock("../config/settings.ts");',
      'import * as z from "zod/mini";',
    ].join("\n");
    expect(importsOf("lib/relay/x.ts", source).map((e) => [e.to, e.line])).toEqual([
      ["lib/imburse/client.ts", 1],
      ["lib/relay/decide.ts", 2],
      ["lib/events/index.ts", 3],
      ["lib/ledger/store.ts", 4],
      ["lib/config/names.ts", 5],
      ["lib/config/settings.ts", 6],
    ]);
  });
});

describe("boundaryViolations", () => {
  it("lets a module and its own tests import its internals", () => {
    expect(flagged("lib/relay/batch.ts", "lib/relay/decide.ts")).toBe(false);
    expect(flagged("test/relay/decide.test.ts", "lib/relay/decide.ts")).toBe(false);
  });

  it("lets anyone import a module's index.ts", () => {
    expect(flagged("lib/relay/batch.ts", "lib/imburse/index.ts")).toBe(false);
    expect(flagged("test/support/relay-harness.ts", "lib/relay/index.ts")).toBe(false);
    expect(flagged("functions/submit.ts", "lib/relay/index.ts")).toBe(false);
  });

  it("refuses another module's internals, to other modules and to other modules' tests", () => {
    expect(flagged("lib/relay/batch.ts", "lib/imburse/client.ts")).toBe(true);
    expect(flagged("test/relay/events.test.ts", "lib/events/outbox.ts")).toBe(true);
    expect(flagged("test/support/relay-harness.ts", "lib/relay/submit-handler.ts")).toBe(true);
    expect(flagged("test/readme.test.ts", "lib/config/settings.ts")).toBe(true);
    expect(flagged("functions/submit.ts", "lib/relay/submit-handler.ts")).toBe(true);
    expect(flagged("bench/suite.ts", "lib/relay/submit-handler.ts")).toBe(true);
  });

  it("says which file to import instead", () => {
    const [violation] = boundaryViolations([edge("lib/relay/batch.ts", "lib/imburse/client.ts")], MODULES);
    expect(violation).toEqual({
      file: "lib/relay/batch.ts",
      line: 1,
      message: expect.stringContaining("import it from lib/imburse/index.ts"),
    });
  });

  it("allows config to read Imburse's hosts from their constants-only file, and nothing else of lib/imburse", () => {
    expect(flagged("lib/config/settings.ts", "lib/imburse/urls.ts")).toBe(false);
    expect(flagged("lib/config/settings.ts", "lib/imburse/client.ts")).toBe(true);
    expect(flagged("lib/relay/batch.ts", "lib/imburse/urls.ts")).toBe(true);
  });

  it("lets the stacks import lib/config only, not even another module's index.ts", () => {
    expect(flagged("stacks/dashboard.ts", "lib/config/index.ts")).toBe(false);
    expect(flagged("stacks/dashboard.ts", "lib/ops/index.ts")).toBe(true);
    expect(flagged("sst.config.ts", "lib/relay/index.ts")).toBe(true);
    expect(flagged("stacks/queues.ts", "lib/config/names.ts")).toBe(true);
  });
});

describe("moduleCycles", () => {
  it("finds modules that import each other, directly or round a loop, once each", () => {
    const cycles = moduleCycles([
      edge("lib/events/outbox.ts", "lib/ledger/index.ts"),
      edge("lib/ledger/item.ts", "lib/events/index.ts"),
      edge("lib/relay/a.ts", "lib/events/index.ts"),
      edge("lib/events/b.ts", "lib/imburse/index.ts"),
      edge("lib/imburse/c.ts", "lib/relay/index.ts"),
    ]);
    expect(cycles.map((c) => c.message.split(" (")[0])).toEqual([
      "modules import each other: lib/events → lib/ledger → lib/events",
      "modules import each other: lib/events → lib/imburse → lib/relay → lib/events",
    ]);
  });

  it("finds none in layers", () => {
    expect(
      moduleCycles([
        edge("lib/relay/a.ts", "lib/events/index.ts"),
        edge("lib/relay/a.ts", "lib/ledger/index.ts"),
        edge("lib/events/b.ts", "lib/ledger/index.ts"),
        edge("lib/ledger/c.ts", "lib/config/index.ts"),
        edge("lib/relay/d.ts", "lib/relay/e.ts"),
      ]),
    ).toEqual([]);
  });
});

describe("checkImports", () => {
  let root: string | undefined;
  afterEach(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const repository = (files: Record<string, string>) => {
    root = mkdtempSync(path.join(tmpdir(), "check-imports-"));
    for (const folder of ["lib", "functions", "bin", "stacks", "bench", "test", "scripts"]) {
      mkdirSync(path.join(root, folder));
    }
    for (const [file, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      writeFileSync(path.join(root, file), text);
    }
    return root;
  };

  it("passes this repository", () => {
    expect(checkImports(path.resolve(import.meta.dirname, "../.."))).toEqual([]);
  });

  it("goes red, through the command `npm run lint` runs, on a test reaching into another module", async () => {
    const dir = repository({
      "lib/imburse/index.ts": 'export { sign } from "./signing.ts";\n',
      "lib/imburse/signing.ts": "export const sign = 1;\n",
      "test/imburse/signing.test.ts": 'import { sign } from "../../lib/imburse/signing.ts";\n',
      "test/simulator/auth.test.ts": 'import { sign } from "../../lib/imburse/signing.ts";\n',
    });
    const script = path.resolve(import.meta.dirname, "../../scripts/check-imports.ts");
    const run = promisify(execFile)(process.execPath, [script, dir]);
    await expect(run).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining(
        "test/simulator/auth.test.ts:1 imports lib/imburse/signing.ts, an internal file of lib/imburse: import it from lib/imburse/index.ts",
      ),
    });
    expect(checkImports(dir)).toHaveLength(1);
  });
});
