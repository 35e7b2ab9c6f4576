import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IMBURSE_CREDENTIAL_VARIABLES } from "../../lib/cli/local.ts";
import { DEMO_CREDENTIALS } from "../../lib/simulator/index.ts";
import { ordersFile, validOrder } from "../support/orders.ts";
import { runCli, runCliInProcess, runProcess, startCli } from "../support/run-cli.ts";

// What the CLI does as a process: exit statuses, signals, and the one line an error becomes.

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "imburse-relay-truth-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const lines = (text: string) => text.trim().split("\n");
const STACK = /\n\s+at /;
/** A local queue URL; the requests go to `--endpoint`. */
const QUEUE = "http://sqs.us-east-1.localhost/000000000000/q";
/** Fake AWS credentials, and no instance metadata lookups (nothing may leave 127.0.0.1). */
const AWS_ENV = {
  AWS_ACCESS_KEY_ID: "local",
  AWS_SECRET_ACCESS_KEY: "local",
  AWS_EC2_METADATA_DISABLED: "true",
};

async function writeOrders(name: string, content: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A TCP server on 127.0.0.1 that accepts connections and never answers: a request to it hangs. */
async function silentServer(): Promise<{ server: Server; port: number; connected: Promise<void> }> {
  const sockets: Socket[] = [];
  const { promise: connected, resolve } = Promise.withResolvers<void>();
  const server = createServer((socket) => {
    sockets.push(socket);
    resolve();
  });
  server.on("close", () => {
    for (const socket of sockets) socket.destroy();
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return { server, port: (server.address() as { port: number }).port, connected };
}

describe("exit statuses", () => {
  it("local --until-drained exits 0 when every line is submitted or already-existed", {
    timeout: 30_000,
  }, async () => {
    const orders = await writeOrders(
      "good.jsonl",
      ordersFile([{ body: validOrder("GOOD-1"), correlationId: "good-1" }, { body: validOrder("GOOD-1") }]),
    );
    const run = await runCli(["local", "--orders", orders, "--until-drained"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain("Exit status");
  });

  it("local --until-drained exits 130 on SIGINT, from the CLI itself, after its summary", {
    timeout: 30_000,
  }, async () => {
    const orders = await writeOrders("slow.jsonl", ordersFile([{ body: validOrder("DOWN-2") }]));
    const started = startCli([
      "local",
      "--orders",
      orders,
      "--until-drained",
      "--faults",
      "create:503",
      "--retry-base-seconds",
      "60",
    ]);
    await started.waitFor("stdout", /DOWN-2: server-error, attempt 2/);
    started.child.kill("SIGINT");
    const run = await started.finished;
    expect(run).toMatchObject({ code: 130, signal: null });
    expect(run.stdout).toContain("Interrupted: 1 line in");
  });

  it.each([
    ["publish", ["publish", "--allow-invalid", "--queue-url", QUEUE]],
    ["dlq peek", ["dlq", "peek", "--queue-url", QUEUE]],
    ["dlq redrive", ["dlq", "redrive", "--queue-url", QUEUE, "--to", QUEUE]],
  ])("%s exits 130 on SIGINT while SQS has not answered", { timeout: 20_000 }, async (_, args) => {
    const orders = await writeOrders("one.jsonl", ordersFile([{ body: validOrder("SIG-1") }]));
    const sqs = await silentServer();
    try {
      const started = startCli(
        [...args, "--endpoint", `http://127.0.0.1:${sqs.port}`, ...(args[0] === "publish" ? [orders] : [])],
        { env: AWS_ENV },
      );
      await sqs.connected;
      started.child.kill("SIGINT");
      const run = await started.finished;
      expect(run).toMatchObject({ code: 130, signal: null });
      expect(run.stderr).toBe("interrupted: stopped before the command finished\n");
    } finally {
      sqs.server.close();
    }
  });
});

describe("errors a person can act on", () => {
  it("a refused connection is one line naming the address and what to check; IMBURSE_RELAY_DEBUG=1 adds the stack", async () => {
    const port = await closedPort();
    const args = ["dlq", "peek", "--endpoint", `http://127.0.0.1:${port}`, "--queue-url", QUEUE];
    const run = await runCli(args, { env: AWS_ENV });
    expect(run.code).toBe(1);
    expect(lines(run.stderr)).toEqual([
      `error: cannot connect to 127.0.0.1:${port} (ECONNREFUSED): nothing is listening there; check the URL ` +
        "(--endpoint, --imburse-url) and that its server is running",
    ]);
    const debug = await runCliInProcess(args, { env: { ...AWS_ENV, IMBURSE_RELAY_DEBUG: "1" } });
    expect(debug.stderr).toMatch(STACK);
  });

  // The CLI's main in this process from here on: the one line is its own (the process is tested above).
  it("missing AWS credentials are one line saying which variables to set", async () => {
    const run = await runCliInProcess(
      ["dlq", "peek", "--endpoint", `http://127.0.0.1:${await closedPort()}`, "--queue-url", QUEUE],
      {
        env: {
          AWS_ACCESS_KEY_ID: undefined,
          AWS_SECRET_ACCESS_KEY: undefined,
          AWS_SESSION_TOKEN: undefined,
          AWS_PROFILE: undefined,
          AWS_CONFIG_FILE: join(dir, "no-config"),
          AWS_SHARED_CREDENTIALS_FILE: join(dir, "no-credentials"),
          AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
          AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
          AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
          AWS_EC2_METADATA_DISABLED: "true",
        },
      },
    );
    expect(run.code).toBe(1);
    expect(lines(run.stderr)).toEqual([
      "error: no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY " +
        "(a local SQS given with --endpoint accepts any, e.g. AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local)",
    ]);
  });

  it("a port in use is one line saying to choose another --port", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const { port } = taken.address() as { port: number };
    try {
      const run = await runCliInProcess(["simulator", "--port", String(port)]);
      expect(run.code).toBe(1);
      expect(lines(run.stderr)).toEqual([
        `error: 127.0.0.1:${port} is already in use (EADDRINUSE): stop what listens there, or choose ` +
          "another --port (0 picks a free one)",
      ]);
    } finally {
      taken.close();
    }
  });
});

describe("local mode as faithful as SQS", () => {
  it("relays an emoji in metadata, replaces an unusable correlation id with a warning, and fails an empty body at once", {
    timeout: 30_000,
  }, async () => {
    const orders = await writeOrders(
      "emoji.jsonl",
      ordersFile([
        {
          body: validOrder("EMOJI-1", "25.00", { metadata: { note: "paid in full 🧾" } }),
          correlationId: "till-🧾-7",
        },
        { body: "" },
      ]),
    );
    const reportPath = join(dir, "emoji-report.json");
    const run = await runCli([
      "local",
      "--orders",
      orders,
      "--until-drained",
      "--log-level",
      "warn",
      "--report",
      reportPath,
    ]);
    const report = JSON.parse(await readFile(reportPath, "utf8")) as {
      orders: Array<Record<string, unknown>>;
    };
    const [emoji, empty] = report.orders;
    expect(emoji).toMatchObject({ line: 1, orderRef: "EMOJI-1", outcome: "submitted", attempts: 1 });
    // The publisher's id is not printable ASCII: the message id replaces it, and the relay says so.
    expect(emoji?.correlationId).toBe(emoji?.messageId);
    const warnings = lines(`${run.stdout}\n${run.stderr}`)
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((log) => log.level === "WARN");
    expect(warnings).toEqual([
      expect.objectContaining({
        message: expect.stringContaining("correlation id is not 1 to 128 printable ASCII characters"),
        correlation_id: emoji?.messageId,
      }),
    ]);
    expect(empty).toMatchObject({
      line: 2,
      outcome: "unpublishable",
      attempts: 0,
      reason: '"body" is empty (SQS refuses a message without a body)',
    });
    expect(run.code).toBe(1);
  });
});

describe("the simulator's demo key", () => {
  it("prints export lines that make `local --imburse-url` work by copy and paste", {
    timeout: 30_000,
  }, async () => {
    const simulator = startCli(["simulator", "--port", "0"]);
    try {
      const [command = ""] = await simulator.waitFor("stdout", /^npx imburse-relay local .*$/m);
      const { stdout } = simulator.output();
      const exported = Object.fromEntries(
        [...stdout.matchAll(/^export (IMBURSE_[A-Z_]+)=(\S+)$/gm)].map(([, name, value]) => [name, value]),
      );
      expect(exported).toEqual(
        Object.fromEntries(
          Object.entries(IMBURSE_CREDENTIAL_VARIABLES).map(([field, variable]) => [
            variable,
            DEMO_CREDENTIALS[field as keyof typeof DEMO_CREDENTIALS],
          ]),
        ),
      );
      const url = /--imburse-url (\S+)/.exec(command)?.[1] ?? "";
      const orders = await writeOrders("to-simulator.jsonl", ordersFile([{ body: validOrder("PASTE-1") }]));
      const run = await runCli(["local", "--imburse-url", url, "--orders", orders, "--until-drained"], {
        env: exported,
      });
      expect(run.stdout).toContain(`Imburse ${url}`);
      expect(run.stdout).toMatch(/│ submitted\s+│\s+1 │/);
      expect(run.code).toBe(0);
    } finally {
      simulator.child.kill("SIGINT");
      expect((await simulator.finished).code).toBe(0);
    }
  });
});

describe("a quiet install", () => {
  it("npx imburse-relay on the system's Node prints no npm warnings", { timeout: 20_000 }, async () => {
    // npm scripts put Node 24 first on PATH; a person's shell has the system Node (20 on our machines).
    const path = (process.env.PATH ?? "")
      .split(delimiter)
      .filter((entry) => !entry.includes("node_modules"))
      .join(delimiter);
    // npx checks engines when it first links the project into its cache: a fresh cache, and offline.
    const run = await runProcess("npx", ["--no-install", "imburse-relay", "--version"], {
      env: { PATH: path, npm_config_cache: join(dir, "npm-cache"), npm_config_offline: "true" },
    });
    expect(run.stderr).toBe("");
    expect(run.stdout.trim()).toBe("0.1.0");
    expect(run.code).toBe(0);
  });
});
