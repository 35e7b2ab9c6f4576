/**
 * The baseline handler of the size and cold-start rows: an SQS batch handler that imports only
 * `@aws-sdk/client-sqs` and sends each record on. What any SQS-consuming Lambda pays at least.
 */
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { SQSEvent } from "aws-lambda";

const sqs = new SQSClient({});

export const handler = async (event: SQSEvent) => {
  for (const record of event.Records) {
    await sqs.send(
      new SendMessageCommand({ QueueUrl: process.env.TARGET_QUEUE_URL, MessageBody: record.body }),
    );
  }
  return { batchItemFailures: [] };
};
