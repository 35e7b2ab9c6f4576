import {
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { type FauxqsServer, startFauxqs } from "fauxqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// fauxqs as patched at install (patches/fauxqs+2.4.1.patch): it must accept and refuse what SQS does.
let fauxqs: FauxqsServer;
let sqs: SQSClient;
let queueUrl: string;

beforeAll(async () => {
  fauxqs = await startFauxqs({ port: 0, host: "127.0.0.1", logger: false });
  queueUrl = fauxqs.createQueue("fidelity").queueUrl;
  sqs = new SQSClient({
    endpoint: `http://127.0.0.1:${fauxqs.port}`,
    region: "us-east-1",
    useQueueUrlAsEndpoint: false,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
});
afterAll(async () => {
  sqs.destroy();
  await fauxqs.stop();
});

describe("local SQS (fauxqs, patched) against what SQS accepts", () => {
  it("accepts characters above U+FFFF (an emoji) in SendMessage and SendMessageBatch, intact", async () => {
    const body = '{"metadata":{"note":"paid 🧾 in full 𝄞"}}';
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    const batch = await sqs.send(
      new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: [{ Id: "e0", MessageBody: body }] }),
    );
    expect(batch.Failed ?? []).toEqual([]);
    const received = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    expect(received.Messages?.map((message) => message.Body)).toEqual([body, body]);
  });

  it("still refuses a lone surrogate, as SQS does", async () => {
    const batch = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [{ Id: "e0", MessageBody: "half \ud83e" }],
      }),
    );
    expect(batch.Failed).toEqual([expect.objectContaining({ Id: "e0", Code: "InvalidMessageContents" })]);
  });

  it("refuses an empty body in SendMessageBatch, entry by entry", async () => {
    const batch = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          { Id: "empty", MessageBody: "" },
          { Id: "full", MessageBody: "x" },
        ],
      }),
    );
    expect(batch.Failed).toEqual([
      expect.objectContaining({ Id: "empty", Code: "MissingParameter", SenderFault: true }),
    ]);
    expect(batch.Successful?.map((entry) => entry.Id)).toEqual(["full"]);
  });
});
