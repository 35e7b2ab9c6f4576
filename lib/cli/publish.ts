import cliProgress from "cli-progress";
import type { Command } from "commander";
import { formatIssues, parseOrderMessage } from "../orders/index.ts";
import { type OrderLine, OrdersFileError, publishOrders, readOrdersFile } from "../tools/index.ts";
import { EXIT, UsageError } from "./errors.ts";
import { type CliIo, isInteractive, operatorSqsClient, untilInterrupted, writeLine } from "./io.ts";
import { httpUrl, queueUrl } from "./options.ts";

interface PublishFlags {
  queueUrl: string;
  endpoint?: string;
  region?: string;
  allowInvalid?: boolean;
}

/** On a terminal, files with more lines than this get a progress bar instead of a "sent" line per line. */
const BAR_THRESHOLD = 50;

/** `imburse-relay publish`: validated orders onto an orders queue, in batches of 10. */
export function registerPublishCommand(
  program: Command,
  io: CliIo,
  setExitCode: (code: number) => void,
): void {
  program
    .command("publish")
    .description(
      "Validate every line of an orders file, then send them to the orders queue (SendMessageBatch, 10 at a " +
        "time) with the x-correlation-id attribute when a line gives one. Nothing is sent if a line is invalid.",
    )
    .argument(
      "<file>",
      'orders file: one JSON object a line, {"body": <order or string>, "correlationId": "…"}',
    )
    .requiredOption("--queue-url <url>", "URL of the orders queue", queueUrl)
    .option("--endpoint <url>", "SQS endpoint for a non-AWS SQS (fauxqs, LocalStack)", httpUrl)
    .option("--region <region>", "AWS region (default: from the queue URL, else AWS_REGION)")
    .option(
      "--allow-invalid",
      "send orders the relay will dead-letter as invalid (lines that are not JSON objects are still skipped)",
    )
    .action(async (file: string, flags: PublishFlags) => {
      setExitCode(await untilInterrupted(io, () => publish(file, flags, io)));
    });
}

async function publish(file: string, flags: PublishFlags, io: CliIo): Promise<number> {
  let lines: Awaited<ReturnType<typeof readOrdersFile>>;
  try {
    lines = await readOrdersFile(file);
  } catch (error) {
    if (error instanceof OrdersFileError) throw new UsageError(error.message);
    throw error;
  }
  const unreadable = lines.filter((line) => !line.ok);
  const invalid = lines.flatMap((line) => {
    if (!line.ok) return [];
    const parsed = parseOrderMessage(line.body);
    return parsed.success ? [] : [{ line: line.line, issues: parsed.errors }];
  });
  for (const line of unreadable) writeLine(io.stderr, `line ${line.line}: ${line.problem}`);
  for (const { line, issues } of invalid) {
    writeLine(io.stderr, `line ${line}: invalid order: ${formatIssues(issues).split("\n").join("; ")}`);
  }
  if (!flags.allowInvalid && unreadable.length + invalid.length > 0) {
    throw new UsageError(
      `${unreadable.length + invalid.length} of ${lines.length} lines are invalid; nothing was sent ` +
        "(fix them, or send the orders anyway with --allow-invalid)",
    );
  }
  const sendable = lines.filter((line): line is OrderLine => line.ok);
  const sqs = operatorSqsClient(flags.queueUrl, flags, io.env);
  const bar =
    isInteractive(io) && sendable.length > BAR_THRESHOLD
      ? new cliProgress.SingleBar(
          { stream: io.stdout, format: " {bar} {value}/{total} sent" },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  bar?.start(sendable.length, 0);
  let failed = 0;
  try {
    await publishOrders(sqs, flags.queueUrl, sendable, (result) => {
      bar?.increment();
      if (result.ok) {
        if (!bar) writeLine(io.stdout, `line ${result.line}: sent ${result.messageId}`);
      } else {
        failed++;
        writeLine(io.stderr, `line ${result.line}: not sent: ${result.error}`);
      }
    });
  } finally {
    bar?.stop();
    sqs.destroy();
  }
  const skipped = unreadable.length > 0 ? `, ${unreadable.length} skipped (not order lines)` : "";
  writeLine(
    io.stdout,
    `Sent ${sendable.length - failed} of ${lines.length} lines to ${flags.queueUrl}${failed ? `, ${failed} failed` : ""}${skipped}.`,
  );
  // Every line sent, or the ones that were not (refused, or skipped as not order lines) fail the command.
  return failed + unreadable.length > 0 ? EXIT.failed : EXIT.ok;
}
