import {
  ChangeMessageVisibilityCommand,
  type MessageAttributeValue,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";

/** One message the relay sends to its retry queue or DLQ. */
export interface OutgoingMessage {
  queueUrl: string;
  body: string;
  attributes: Record<string, MessageAttributeValue>;
  delaySeconds?: number;
}

/** Sends messages and hands received ones back; the seam between the relay and SQS. */
export interface MessageSender {
  /** Sends one message; abandoned when `abortSignal` fires. */
  send(message: OutgoingMessage, options?: { abortSignal?: AbortSignal }): Promise<void>;
  /** Makes a received message visible again after `seconds` (0–43,200); abandoned when `abortSignal` fires. */
  changeVisibility(
    queueUrl: string,
    receiptHandle: string,
    seconds: number,
    options?: { abortSignal?: AbortSignal },
  ): Promise<void>;
}

/** A {@link MessageSender} on the AWS SDK's SQS client. */
export function sqsMessageSender(client: SQSClient): MessageSender {
  return {
    async send(message, options) {
      await client.send(
        new SendMessageCommand({
          QueueUrl: message.queueUrl,
          MessageBody: message.body,
          MessageAttributes: message.attributes,
          ...(message.delaySeconds ? { DelaySeconds: message.delaySeconds } : {}),
        }),
        options,
      );
    },
    async changeVisibility(queueUrl, receiptHandle, seconds, options) {
      await client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queueUrl,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: seconds,
        }),
        options,
      );
    },
  };
}
