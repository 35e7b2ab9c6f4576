import { SQSClient } from "@aws-sdk/client-sqs";
import type { SignalSource } from "../simulator/index.ts";
import { EXIT, UsageError } from "./errors.ts";
import { regionOfQueueUrl } from "./options.ts";

/** What a command reads and writes: the process in `bin/`, streams in tests. */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** What delivers SIGINT and SIGTERM; default `process`. */
  signals?: SignalSource;
}

/**
 * Runs a command's work until it ends or SIGINT/SIGTERM arrives; then it says so on stderr and returns
 * exit status 130 at once (the process exits, abandoning the work: what SQS calls were made stay made).
 */
export async function untilInterrupted(io: CliIo, work: () => Promise<number>): Promise<number> {
  const signals = io.signals ?? process;
  const { promise: interrupted, resolve } = Promise.withResolvers<number>();
  const onSignal = () => {
    writeLine(io.stderr, "interrupted: stopped before the command finished");
    resolve(EXIT.interrupted);
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) signals.once(signal, onSignal);
  try {
    return await Promise.race([work(), interrupted]);
  } finally {
    for (const signal of ["SIGINT", "SIGTERM"] as const) signals.off(signal, onSignal);
  }
}

/** Whether to draw progress bars: a terminal, and not CI. */
export function isInteractive(io: CliIo, stream: "stdout" | "stderr" = "stdout"): boolean {
  return io[stream].isTTY === true && !io.env.CI;
}

/** Writes one line. */
export function writeLine(stream: NodeJS.WritableStream, text: string): void {
  stream.write(`${text}\n`);
}

/** The SQS options every operator command takes. */
export interface SqsTargetOptions {
  endpoint?: string;
  region?: string;
}

/**
 * An SQS client for an operator command: the region from `--region`, else the queue URL, else
 * `AWS_REGION`; credentials from the SDK's default chain. With `--endpoint` (fauxqs, LocalStack …) the
 * requests go there whatever host the queue URL names.
 */
export function operatorSqsClient(
  queueUrl: string,
  options: SqsTargetOptions,
  env: NodeJS.ProcessEnv,
): SQSClient {
  const region = options.region ?? regionOfQueueUrl(queueUrl) ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) throw new UsageError(`cannot tell the region of ${queueUrl}: pass --region`);
  return new SQSClient({
    region,
    ...(options.endpoint ? { endpoint: options.endpoint, useQueueUrlAsEndpoint: false } : {}),
  });
}
