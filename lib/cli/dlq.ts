import { type Command, Option } from "commander";
import { MESSAGE_ATTRIBUTES } from "../config/index.ts";
import {
  DEFAULT_REDRIVE_KINDS,
  type DeadLetter,
  peekDeadLetters,
  REDRIVE_KINDS,
  type RedriveKind,
  redriveDeadLetters,
} from "../ops/index.ts";
import { describeDeadLetter } from "../tools/index.ts";
import { EXIT } from "./errors.ts";
import { type CliIo, operatorSqsClient, type SqsTargetOptions, untilInterrupted, writeLine } from "./io.ts";
import { httpUrl, integer, queueUrl } from "./options.ts";

interface PeekFlags extends SqsTargetOptions {
  queueUrl: string;
  max: number;
  json?: boolean;
}

interface RedriveFlags extends SqsTargetOptions {
  queueUrl: string;
  to: string;
  kind: RedriveKind[];
  max?: number;
}

const sqsOptions = (command: Command) =>
  command
    .option("--endpoint <url>", "SQS endpoint for a non-AWS SQS (fauxqs, LocalStack)", httpUrl)
    .option("--region <region>", "AWS region (default: from the queue URL, else AWS_REGION)");

/** The facts of a dead letter worth a line. */
function facts(letter: DeadLetter) {
  const attribute = (name: string) => letter.attributes[name]?.StringValue;
  return {
    messageId: letter.messageId,
    kind: letter.kind,
    orderRef: letter.reason?.orderRef ?? null,
    correlationId: letter.reason?.correlationId ?? attribute(MESSAGE_ATTRIBUTES.correlationId) ?? null,
    attempts: letter.reason?.attempts ?? (Number(attribute(MESSAGE_ATTRIBUTES.attempt)) || null),
    firstReceivedAt: letter.reason?.firstReceivedAt ?? null,
    deadLetteredAt: letter.reason?.deadLetteredAt ?? null,
    receiveCount: letter.receiveCount ?? null,
    details: describeDeadLetter(letter.reason),
  };
}

/** `imburse-relay dlq peek` and `dlq redrive`. */
export function registerDlqCommands(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  const dlq = program
    .command("dlq")
    .description("Inspect the dead-letter queue and move chosen messages back.");

  sqsOptions(
    dlq
      .command("peek")
      .description(
        "Show dead-lettered messages with their reasons, without consuming them (each is hidden while the " +
          "queue is read, then made visible again). Bodies are not shown: invalid orders may hold card data.",
      )
      .requiredOption("--queue-url <url>", "URL of the dead-letter queue", queueUrl)
      .option("--max <n>", "most messages to show", integer(1), 10)
      .option("--json", "one JSON object a line instead of text"),
  ).action(async (flags: PeekFlags) => {
    setExitCode(await untilInterrupted(io, () => peek(flags, io)));
  });

  sqsOptions(
    dlq
      .command("redrive")
      .description(
        "Move dead-lettered messages of the chosen kinds back to the orders queue, attempts reset (the original " +
          "body, its correlation id and origin message id). Each is deleted from the DLQ only after its send succeeded.",
      )
      .requiredOption("--queue-url <url>", "URL of the dead-letter queue", queueUrl)
      .requiredOption("--to <url>", "URL of the orders queue", queueUrl)
      .addOption(
        new Option("--kind <kinds...>", "kinds to move (unknown: no relay reason)")
          .choices(REDRIVE_KINDS)
          .default([...DEFAULT_REDRIVE_KINDS]),
      )
      .option("--max <n>", "most messages to move (default: all)", integer(1)),
  ).action(async (flags: RedriveFlags) => {
    setExitCode(await untilInterrupted(io, () => redrive(flags, io)));
  });
}

/** `dlq peek`: exit status 0 once the messages are shown (none consumed). */
async function peek(flags: PeekFlags, io: CliIo): Promise<number> {
  const sqs = operatorSqsClient(flags.queueUrl, flags, io.env);
  try {
    const letters = await peekDeadLetters(sqs, flags.queueUrl, { max: flags.max });
    letters.forEach((letter, index) => {
      const fact = facts(letter);
      if (flags.json) {
        writeLine(io.stdout, JSON.stringify(fact));
        return;
      }
      writeLine(
        io.stdout,
        `${index + 1}. ${fact.kind}  orderRef ${fact.orderRef ?? "-"}  correlation ${fact.correlationId ?? "-"}  ` +
          `attempts ${fact.attempts ?? "-"}  message ${fact.messageId}`,
      );
      if (fact.deadLetteredAt)
        writeLine(
          io.stdout,
          `   dead-lettered ${fact.deadLetteredAt} (first received ${fact.firstReceivedAt})`,
        );
      for (const detail of fact.details) writeLine(io.stdout, `   ${detail}`);
    });
    if (!flags.json) {
      writeLine(
        io.stdout,
        letters.length === 0
          ? "The dead-letter queue is empty."
          : `${letters.length} dead-lettered message${letters.length === 1 ? "" : "s"} shown${letters.length === flags.max ? ` (--max ${flags.max}; there may be more)` : ""}; none consumed.`,
      );
    }
  } finally {
    sqs.destroy();
  }
  return EXIT.ok;
}

/** `dlq redrive`: exit status 1 when a message could not be moved. */
async function redrive(flags: RedriveFlags, io: CliIo): Promise<number> {
  const sqs = operatorSqsClient(flags.queueUrl, flags, io.env);
  try {
    const summary = await redriveDeadLetters(sqs, {
      from: flags.queueUrl,
      to: flags.to,
      kinds: flags.kind,
      ...(flags.max === undefined ? {} : { max: flags.max }),
      onMoved: (moved) =>
        writeLine(
          io.stdout,
          `moved ${moved.messageId} (${moved.kind}, orderRef ${moved.orderRef ?? "-"}, correlation ${moved.correlationId ?? "-"}) as ${moved.newMessageId}`,
        ),
    });
    for (const failure of summary.failed) {
      writeLine(io.stderr, `not moved ${failure.messageId} (${failure.kind}): ${failure.error}`);
    }
    const left = Object.entries(summary.left).map(([kind, count]) => `${kind} ${count}`);
    writeLine(
      io.stdout,
      `Moved ${summary.moved.length} message${summary.moved.length === 1 ? "" : "s"} (${flags.kind.join(", ")}) to ${flags.to}` +
        `${left.length > 0 ? `; left in the DLQ: ${left.join(", ")}` : ""}${summary.failed.length > 0 ? `; ${summary.failed.length} failed` : ""}.`,
    );
    return summary.failed.length > 0 ? EXIT.failed : EXIT.ok;
  } finally {
    sqs.destroy();
  }
}
