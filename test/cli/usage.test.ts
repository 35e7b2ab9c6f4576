import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { imburseCredentialsFromEnv } from "../../lib/cli/local.ts";
import { NODE, runCli, runCliInProcess, runProcess } from "../support/run-cli.ts";

/** Runs the CLI in-process with captured output. */
const cli = (...args: string[]) => runCliInProcess(args);

const oneLine = (text: string) => text.trim().split("\n");

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "imburse-relay-usage-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("imburse-relay usage", () => {
  it.each([
    [[], "Commands:"],
    [["local"], "--until-drained"],
    [["simulator"], "--faults <spec>"],
    [["publish"], "--allow-invalid"],
    [["dlq", "peek"], "--max <n>"],
    [["dlq", "redrive"], "--kind <kinds...>"],
  ])("prints help for %j with --help and exits 0", async (command, expected) => {
    const run = await cli(...command, "--help");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Usage: imburse-relay ${command.join(" ")}`.trim());
    expect(run.stdout).toContain(expected);
  });

  it.each([
    [["--bogus"], "error: unknown option '--bogus'"],
    [["nosuch"], "error: unknown command 'nosuch'"],
    [
      ["local", "--seed", "abc"],
      "error: option '--seed <n>' argument 'abc' is invalid. expected an integer ≥ 0.",
    ],
    [
      ["local", "--max-attempts", "0"],
      "error: option '--max-attempts <n>' argument '0' is invalid. expected an integer ≥ 1.",
    ],
    [["local", "--retry-base-seconds", "-1"], "expected a number of seconds greater than 0."],
    [
      ["local", "--faults", "create:999"],
      'error: --faults: Invalid fault rule "create:999": unknown fault kind "999"',
    ],
    [
      ["local", "--imburse-url", "https://imburse.invalid", "--seed", "1"],
      "error: --faults and --seed apply to the built-in simulator",
    ],
    [["local", "--imburse-url", "not a url"], "expected an https URL"],
    [
      ["local", "--imburse-url", "http://sandbox-api.imbursepayments.com", "--orders", "x.jsonl"],
      "error: option '--imburse-url <url>' argument 'http://sandbox-api.imbursepayments.com' is invalid. " +
        "expected an https URL (plain http only to a loopback simulator).",
    ],
    // The demo set (invalid orders, fault triggers) is never sent to a real Imburse.
    [
      ["local", "--imburse-url", "https://sandbox-api.imbursepayments.com"],
      "error: --imburse-url sends orders to a real Imburse: name them with --orders FILE",
    ],
    [["local", "--max-wait", "5"], "error: --max-wait applies only with --until-drained"],
    [["local", "--until-drained", "--max-wait", "0"], "expected a number of seconds greater than 0."],
    [
      ["local", "--report", "/no/such/dir/report.json"],
      "error: --report: directory /no/such/dir does not exist",
    ],
    [["publish", "x.jsonl"], "error: required option '--queue-url <url>' not specified"],
    [["publish", "--queue-url", "nope", "x.jsonl"], "expected a queue URL"],
    [
      [
        "dlq",
        "redrive",
        "--queue-url",
        "https://sqs.eu-west-1.amazonaws.com/1/d",
        "--to",
        "https://sqs.eu-west-1.amazonaws.com/1/o",
        "--kind",
        "lost",
      ],
      "Allowed choices are invalid, conflict, rejected, retries-exhausted, unknown",
    ],
  ])("rejects %j with one line and exit status 2", async (args, message) => {
    const run = await cli(...args);
    expect(run.code).toBe(2);
    expect(oneLine(run.stderr)).toHaveLength(1);
    expect(run.stderr).toContain(message);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it("names a missing IMBURSE_* variable and never prints the values", () => {
    expect(() =>
      imburseCredentialsFromEnv({
        IMBURSE_PUBLIC_KEY: "pk-visible",
        IMBURSE_PRIVATE_KEY: "c2VjcmV0",
        IMBURSE_ACCOUNT_ID: " ",
      }),
    ).toThrow(/^IMBURSE_ACCOUNT_ID is not set/);
    expect(
      imburseCredentialsFromEnv({
        IMBURSE_PUBLIC_KEY: "pk",
        IMBURSE_PRIVATE_KEY: "dGVzdC1wcml2YXRlLWtleQ==",
        IMBURSE_ACCOUNT_ID: "acc",
        IMBURSE_TENANT_ID: "ten",
      }),
    ).toEqual({ publicKey: "pk", privateKey: "dGVzdC1wcml2YXRlLWtleQ==", accountId: "acc", tenantId: "ten" });
  });

  describe("as a child process", () => {
    it.each([
      [
        ["abc"],
        "error: command-argument value 'abc' is invalid for argument 'orders'. expected an integer between 10 and 100000.",
      ],
      [
        ["100", "500"],
        "error: command-argument value '500' is invalid for argument 'runs'. expected an integer between 1 and 20.",
      ],
    ])("npm run bench -- %j exits 2 with one line, as the CLI does", async (args, message) => {
      const run = await runProcess(NODE, ["bench/suite.ts", ...args]);
      expect(run.code).toBe(2);
      expect(run.stderr).toBe(`${message}\n`);
      expect(run.stdout).toBe("");
    });

    it("exits 2 with one line for a missing orders file", async () => {
      const missing = join(dir, "missing.jsonl");
      const run = await runCli(["local", "--orders", missing, "--until-drained"]);
      expect(run.code).toBe(2);
      expect(run.stderr).toBe(`error: cannot read orders file ${missing}: no such file\n`);
      expect(run.stdout).toBe("");
    });

    it("exits 2 with the line number of a bad JSON line and sends nothing", async () => {
      const path = join(dir, "bad.jsonl");
      await writeFile(path, `${JSON.stringify({ body: { orderRef: "A" } })}\n{"body": \n`);
      // An unreachable endpoint: validation must refuse before any request is made.
      const run = await runCli([
        "publish",
        "--endpoint",
        "http://127.0.0.1:9",
        "--queue-url",
        "http://sqs.us-east-1.localhost/0/q",
        path,
      ]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('line 2: not valid JSON; expected {"body": …, "correlationId": "…"}');
      expect(run.stderr).toMatch(/^error: 1 of 2 lines are invalid; nothing was sent/m);
    });

    it("exits 2 naming the missing IMBURSE_* variable without printing any value", async () => {
      const run = await runCli(
        [
          "local",
          "--imburse-url",
          "https://sandbox-api.imbursepayments.com",
          "--orders",
          join(dir, "never-read.jsonl"),
          "--until-drained",
        ],
        {
          env: {
            IMBURSE_PUBLIC_KEY: "public-key-value",
            IMBURSE_PRIVATE_KEY: "dGVzdC1wcml2YXRlLWtleQ==",
            IMBURSE_ACCOUNT_ID: undefined,
            IMBURSE_TENANT_ID: "tenant-value",
          },
        },
      );
      expect(run.code).toBe(2);
      expect(oneLine(run.stderr)).toEqual([
        "error: IMBURSE_ACCOUNT_ID is not set; with --imburse-url the credentials come from IMBURSE_PUBLIC_KEY, " +
          "IMBURSE_PRIVATE_KEY, IMBURSE_ACCOUNT_ID, IMBURSE_TENANT_ID",
      ]);
      expect(run.stderr + run.stdout).not.toMatch(/public-key-value|dGVzdC1wcml2YXRlLWtleQ|tenant-value/);
    });
  });
});
