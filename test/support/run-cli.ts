import { type ChildProcess, spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { resolve } from "node:path";
import { Writable } from "node:stream";
import { main } from "../../lib/cli/index.ts";

const ROOT = resolve(import.meta.dirname, "../..");
/** Node 24 from the `node` devDependency (the system node may be older). */
export const NODE = resolve(ROOT, "node_modules/.bin/node");
export const CLI = resolve(ROOT, "bin/imburse-relay.ts");

/** What a finished child process left. */
export interface CliRun {
  code: number | null;
  /** The signal that killed it, when one did (a CLI that handles SIGINT exits with a code instead). */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A child process still running, with its output so far. */
export interface StartedProcess {
  child: ChildProcess;
  /** Resolves with the first match of `pattern` in the output of `stream` so far or to come. */
  waitFor(stream: "stdout" | "stderr", pattern: RegExp): Promise<RegExpMatchArray>;
  /** The output so far. */
  output(): { stdout: string; stderr: string };
  finished: Promise<CliRun>;
}

type ProcessOptions = { env?: Record<string, string | undefined>; timeoutMs?: number };

/**
 * The test process's environment without the AWS SDK's endpoint variables: a child would otherwise run
 * `local` on whatever services a harness pointed the SDK at. A test that means them passes them in `env`.
 */
function withoutEndpointVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith("AWS_ENDPOINT_URL")));
}

/** Starts a command with CI=true (plain output) and the given extra environment. */
export function startProcess(
  command: string,
  args: readonly string[],
  options: ProcessOptions = {},
): StartedProcess {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...withoutEndpointVariables(process.env), CI: "true", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = { stdout: "", stderr: "" };
  const waiters: Array<() => void> = [];
  for (const stream of ["stdout", "stderr"] as const) {
    child[stream]?.on("data", (chunk: Buffer) => {
      output[stream] += chunk.toString("utf8");
      for (const check of [...waiters]) check();
    });
  }
  const finished = new Promise<CliRun>((done, fail) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 45_000);
    child.on("error", fail);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      for (const check of [...waiters]) check();
      done({ code, signal, ...output });
    });
  });
  const waitFor = (stream: "stdout" | "stderr", pattern: RegExp) =>
    new Promise<RegExpMatchArray>((found, fail) => {
      const check = () => {
        const match = output[stream].match(pattern);
        const index = waiters.indexOf(check);
        if (match) {
          waiters.splice(index, 1);
          found(match);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          waiters.splice(index, 1);
          fail(new Error(`exited before ${stream} matched ${pattern}:\n${output.stdout}\n${output.stderr}`));
        }
      };
      waiters.push(check);
      check();
    });
  return { child, waitFor, output: () => ({ ...output }), finished };
}

/** Runs a command to completion with CI=true (plain output) and the given extra environment. */
export function runProcess(
  command: string,
  args: readonly string[],
  options: ProcessOptions = {},
): Promise<CliRun> {
  return startProcess(command, args, options).finished;
}

/** Starts `imburse-relay ARGS` on Node 24. */
export function startCli(args: readonly string[], options?: ProcessOptions): StartedProcess {
  return startProcess(NODE, [CLI, ...args], options);
}

/** Runs `imburse-relay ARGS` on Node 24. */
export function runCli(args: readonly string[], options?: ProcessOptions): Promise<CliRun> {
  return runProcess(NODE, [CLI, ...args], options);
}

/** A stream that keeps what is written to it. */
function collector(): Writable & { text: string } {
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer | string, _encoding, done) {
        stream.text += chunk.toString();
        done();
      },
    }),
    { text: "" },
  );
  return stream;
}

/**
 * Runs `imburse-relay ARGS` in this process through the CLI's own `main`, with what {@link runCli} gives
 * a child: CI=true, the test's environment without the SDK's endpoint variables, `env` over it. For tests
 * of what a command does; what only a process shows (signals, exit, startup) needs {@link runCli}, which
 * costs half a second of CPU a spawn. The AWS SDK reads credentials from `process.env`, so the variables
 * are set there for the run and put back after; SIGINT and SIGTERM are not listened to.
 */
export async function runCliInProcess(
  args: readonly string[],
  options: ProcessOptions = {},
): Promise<CliRun> {
  const env = { ...withoutEndpointVariables(process.env), CI: "true", ...options.env };
  const saved = { ...process.env };
  const apply = (values: NodeJS.ProcessEnv) => {
    for (const name of Object.keys(process.env)) if (!(name in values)) delete process.env[name];
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  const stdout = collector();
  const stderr = collector();
  apply(env);
  try {
    const code = await main(["node", CLI, ...args], {
      stdout,
      stderr,
      env: process.env,
      signals: new EventEmitter(),
    });
    return { code, signal: null, stdout: stdout.text, stderr: stderr.text };
  } finally {
    apply(saved);
  }
}
