import { SQSClient } from "@aws-sdk/client-sqs";
import { UsageError } from "./errors.ts";
import { regionOfQueueUrl } from "./options.ts";

/** What a command reads and writes: the process in `bin/`, streams in tests. */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
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
