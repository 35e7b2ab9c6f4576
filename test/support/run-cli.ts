import { spawn } from "node:child_process";
import { resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");
/** Node 24 from the `node` devDependency (the system node may be older). */
export const NODE = resolve(ROOT, "node_modules/.bin/node");
export const CLI = resolve(ROOT, "bin/imburse-relay.ts");

/** What a finished child process left. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion with CI=true (plain output) and the given extra environment. */
export function runProcess(
  command: string,
  args: readonly string[],
  options: { env?: Record<string, string | undefined>; timeoutMs?: number } = {},
): Promise<CliRun> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, CI: "true", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 45_000);
    child.on("error", fail);
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

/** Runs `imburse-relay ARGS` on Node 24. */
export function runCli(args: readonly string[], options?: Parameters<typeof runProcess>[2]): Promise<CliRun> {
  return runProcess(NODE, [CLI, ...args], options);
}
