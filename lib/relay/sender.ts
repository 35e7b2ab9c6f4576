import { type MessageAttributeValue, SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";

/** One message the relay sends to its retry queue or DLQ. */
export interface OutgoingMessage {
  queueUrl: string;
  body: string;
  attributes: Record<string, MessageAttributeValue>;
  delaySeconds?: number;
}

/** Sends messages; the seam between the relay and SQS. */
export interface MessageSender {
  send(message: OutgoingMessage): Promise<void>;
}

/** A {@link MessageSender} on the AWS SDK's SQS client. */
export function sqsMessageSender(client: SQSClient): MessageSender {
  return {
    async send(message) {
      await client.send(
        new SendMessageCommand({
          QueueUrl: message.queueUrl,
          MessageBody: message.body,
          MessageAttributes: message.attributes,
          ...(message.delaySeconds ? { DelaySeconds: message.delaySeconds } : {}),
        }),
      );
    },
  };
}
