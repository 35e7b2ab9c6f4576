/**
 * Tracing as deployed, outside Lambda. The functions trace Active, but Powertools Tracer switches itself off
 * unless `AWS_EXECUTION_ENV` says it runs in Lambda, so the benchmark sets what Lambda's runtime sets: that,
 * `LAMBDA_TASK_ROOT` (the X-Ray SDK's Lambda mode: a facade segment from the trace header), the daemon's UDP
 * address (a loopback sink in the stand-ins process) and a sampled trace header per invocation. Every
 * invocation is sampled: the worst case (Lambda's default sampling traces fewer).
 */
import { randomBytes } from "node:crypto";

/** The variables that turn Powertools tracing on, with the first invocation's trace header. */
export function tracingEnv(daemonAddress: string, taskRoot: string): Record<string, string> {
  return {
    AWS_EXECUTION_ENV: "AWS_Lambda_nodejs24.x",
    LAMBDA_TASK_ROOT: taskRoot,
    AWS_XRAY_DAEMON_ADDRESS: daemonAddress,
    _X_AMZN_TRACE_ID: traceHeader(),
  };
}

/** A new sampled `_X_AMZN_TRACE_ID`, as Lambda sets one per invocation. */
export function traceHeader(): string {
  const epoch = Math.floor(Date.now() / 1000).toString(16);
  return `Root=1-${epoch}-${randomBytes(12).toString("hex")};Parent=${randomBytes(8).toString("hex")};Sampled=1`;
}
