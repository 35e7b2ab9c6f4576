/**
 * Runs the real submit handler, in a process of its own, on the messages of one receive from the orders
 * queue: a test kills it mid-flight to play a Lambda that dies after its POST reached Imburse. It prints
 * one JSON line with the receipt handles before it calls the handler.
 *
 *   node test/support/submit-once.ts '<environment as JSON>'
 */
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { sqsClient } from "../../lib/aws/index.ts";
import { lambdaContext, toSqsRecord } from "../../lib/local/index.ts";

Object.assign(process.env, JSON.parse(process.argv[2] ?? "{}"), {
  POWERTOOLS_LOG_LEVEL: "SILENT",
  POWERTOOLS_METRICS_DISABLED: "true",
});
const { createSubmitHandler } = await import("../../lib/relay/index.ts");
const handler = createSubmitHandler();
const queueUrl = process.env.RELAY_ORDERS_QUEUE_URL ?? "";
const arn = `arn:aws:sqs:${process.env.AWS_REGION}:000000000000:${queueUrl.split("/").pop()}`;
const sqs = sqsClient();
const { Messages = [] } = await sqs.send(
  new ReceiveMessageCommand({
    QueueUrl: queueUrl,
    MaxNumberOfMessages: 10,
    WaitTimeSeconds: 1,
    MessageAttributeNames: ["All"],
    MessageSystemAttributeNames: ["All"],
  }),
);
process.stdout.write(`${JSON.stringify({ receiptHandles: Messages.map((m) => m.ReceiptHandle) })}\n`);
const records = Messages.map((m) => toSqsRecord(m, { arn }, process.env.AWS_REGION ?? "us-east-1"));
await handler(
  { Records: records },
  lambdaContext({ functionName: "Submit", timeoutMs: 60_000, region: process.env.AWS_REGION ?? "us-east-1" }),
);
