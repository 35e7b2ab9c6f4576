import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validOrder as order } from "../support/orders.ts";
import { runCli } from "../support/run-cli.ts";

// A whole local run through the CLI process. The longer runs (a mixed file with real retry waits, the
// `npm start` demo, giving up with --max-wait) are in test/e2e/local.e2e.ts (`npm run test:e2e`).

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "imburse-relay-local-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("imburse-relay local", () => {
  // A child process that boots the whole local stack: allow for a loaded machine.
  it("judges hostile lines one by one: deep nesting, repeated keys and personal data in refs, never echoed", {
    timeout: 60_000,
  }, async () => {
    const card = "4012888888881881";
    const deep = `${"[".repeat(5000)}${"]".repeat(5000)}`;
    const lines = [
      JSON.stringify({ body: order("FINE-1"), correlationId: "corr-fine" }), // 1
      `{"body":{"orderRef":"DEEP-2","metadata":{"k":${deep}}},"correlationId":"corr-deep"}`, // 2
      JSON.stringify({ body: order("TWICE-3") }).replace(
        '"amount":"25.00"',
        '"amount":"1.00","amount":"1000.00"',
      ), // 3
      JSON.stringify({ body: order("jane.doe@example.com") }), // 4
      JSON.stringify({ body: order(card) }), // 5
      JSON.stringify({ body: order("FINE-6") }), // 6
    ];
    const ordersPath = join(dir, "hostile.jsonl");
    const reportPath = join(dir, "hostile-report.json");
    await writeFile(ordersPath, lines.join("\n"));
    const run = await runCli(["local", "--orders", ordersPath, "--until-drained", "--report", reportPath]);
    expect(run.stderr).toBe("");
    // Four lines were dead-lettered: the run says so.
    expect(run.code).toBe(1);
    const reportText = await readFile(reportPath, "utf8");
    const report = JSON.parse(reportText) as { orders: Array<Record<string, unknown>> };
    expect(report.orders.map(({ line, orderRef, outcome }) => ({ line, orderRef, outcome }))).toEqual([
      { line: 1, orderRef: "FINE-1", outcome: "submitted" },
      { line: 2, orderRef: "DEEP-2", outcome: "invalid" },
      { line: 3, orderRef: "TWICE-3", outcome: "invalid" },
      { line: 4, orderRef: "j…@… (e-mail address)", outcome: "invalid" },
      { line: 5, orderRef: "4012…1881 (card number)", outcome: "invalid" },
      { line: 6, orderRef: "FINE-6", outcome: "submitted" },
    ]);
    const codes = (line: number) =>
      (report.orders[line - 1]!.reason as { errors: { path: string; code: string }[] }).errors;
    expect(codes(2)).toEqual([
      expect.objectContaining({ path: `metadata.k${"[0]".repeat(30)}`, code: "too_deep" }),
    ]);
    expect(codes(3)).toEqual([
      expect.objectContaining({ path: "instructions[0].amount", code: "duplicate_key" }),
    ]);
    expect(codes(5).map((issue) => issue.code)).toEqual(["card_number_in_ref", "card_number_in_ref"]);
    for (const text of [reportText, run.stdout]) {
      expect(text).not.toContain("jane");
      expect(text).not.toContain("888888");
    }
    expect(run.stdout).toContain("line 5 4012…1881 (card number): invalid");
  });
});
