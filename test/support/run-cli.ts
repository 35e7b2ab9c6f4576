import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";

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
