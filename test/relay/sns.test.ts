import {
  CreateTopicCommand,
  PublishCommand,
  SetSubscriptionAttributesCommand,
  SNSClient,
  SubscribeCommand,
} from "@aws-sdk/client-sns";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { MESSAGE_ATTRIBUTES } from "../../lib/config/index.ts";
import { order, type RelayHarness, startRelayHarness } from "../support/relay-harness.ts";

let relay: RelayHarness;
let sns: SNSClient;
let topicArn: string;
let subscriptionArn: string;
const queue = (name: "orders" | "retry" | "deadLetter") => relay.local.queues[name];
const CARD = "4012888888881881";

beforeAll(async () => {
  relay = await startRelayHarness();
  // SNS over its own HTTP protocol on fauxqs, fanning out to the relay's real orders queue.
  sns = new SNSClient({ region: "us-east-1", endpoint: relay.local.sqsEndpoint });
  topicArn = (await sns.send(new CreateTopicCommand({ Name: "orders-fan-in" }))).TopicArn!;
  subscriptionArn = (
    await sns.send(
      new SubscribeCommand({ TopicArn: topicArn, Protocol: "sqs", Endpoint: queue("orders").arn }),
    )
  ).SubscriptionArn!;
});
afterAll(async () => {
  sns?.destroy();
  await relay?.stop();
});
afterEach(() => {
  relay.local.fauxqs.reset();
  relay.simulator.faults.clear();
});

async function deliveryMode(raw: boolean): Promise<void> {
  await sns.send(
    new SetSubscriptionAttributesCommand({
      SubscriptionArn: subscriptionArn,
      AttributeName: "RawMessageDelivery",
      AttributeValue: String(raw),
    }),
  );
}

async function publishToTopic(body: string, correlationId?: string): Promise<void> {
  await sns.send(
    new PublishCommand({
      TopicArn: topicArn,
      Message: body,
      ...(correlationId
        ? {
            MessageAttributes: {
              [MESSAGE_ATTRIBUTES.correlationId]: { DataType: "String", StringValue: correlationId },
            },
          }
        : {}),
    }),
  );
}

const creates = (orderRef: string) => relay.creates(orderRef);

describe.each([
  ["raw message delivery", true],
  ["SNS envelopes (raw delivery off)", false],
])("orders fanned in through SNS with %s", (_, raw) => {
  const ref = raw ? "SNS-RAW" : "SNS-ENV";

  it("submits the order once with the publisher's correlation id", async () => {
    await deliveryMode(raw);
    await publishToTopic(JSON.stringify(order(`${ref}-1`)), `corr-${ref}-1`);
    const { records, response } = await relay.deliver(queue("orders"));
    // The shape under test really reached the handler.
    expect(records[0]?.body.startsWith('{"Type":"Notification"')).toBe(!raw);
    expect(response.batchItemFailures).toEqual([]);
    expect(creates(`${ref}-1`)).toHaveLength(1);
    expect(creates(`${ref}-1`)[0]!.body).toEqual(order(`${ref}-1`));
    expect(creates(`${ref}-1`)[0]!.headers["x-correlation-id"]).toBe(`corr-${ref}-1`);
    expect(relay.queued(queue("deadLetter"))).toEqual([]);
  });

  it("keeps the correlation id on the retry message, and the retry submits under it", async () => {
    await deliveryMode(raw);
    relay.simulator.faults.enqueue({ route: "create", kind: 503 });
    await publishToTopic(JSON.stringify(order(`${ref}-2`)), `corr-${ref}-2`);
    await relay.deliver(queue("orders"));
    const [retried] = relay.queued(queue("retry"));
    expect(retried?.attributes[MESSAGE_ATTRIBUTES.correlationId]).toBe(`corr-${ref}-2`);
    await relay.deliverQueued(queue("retry"));
    expect(creates(`${ref}-2`).map((r) => r.headers["x-correlation-id"])).toEqual([
      `corr-${ref}-2`,
      `corr-${ref}-2`,
    ]);
    expect(relay.simulator.orders().filter((o) => o.orderRef === `${ref}-2`)).toHaveLength(1);
  });

  it("dead-letters a repeated key as invalid with its path, the body as delivered and the correlation id", async () => {
    await deliveryMode(raw);
    const body = JSON.stringify(order(`${ref}-3`)).replace(
      '"amount":"210.00"',
      '"amount":"1.00","amount":"1000.00"',
    );
    await publishToTopic(body, `corr-${ref}-3`);
    const { records, response } = await relay.deliver(queue("orders"));
    expect(response.batchItemFailures).toEqual([]);
    expect(creates(`${ref}-3`)).toEqual([]);
    const [dead] = relay.queued(queue("deadLetter"));
    expect(dead?.body).toBe(records[0]?.body);
    expect(dead?.reason).toMatchObject({
      kind: "invalid",
      orderRef: `${ref}-3`,
      correlationId: `corr-${ref}-3`,
      errors: [{ path: "instructions[0].amount", code: "duplicate_key" }],
    });
  });
});

describe("what the relay shows of a refused order", () => {
  it("masks a card-number orderRef in the dead-letter reason, the outcome and every log line", async () => {
    await deliveryMode(false);
    await publishToTopic(JSON.stringify(order(CARD)), "corr-card");
    const logsBefore = relay.logs().length;
    const { response } = await relay.deliver(queue("orders"));
    expect(response.batchItemFailures).toEqual([]);
    expect(relay.simulator.requestsTo("create").filter((r) => JSON.stringify(r.body).includes(CARD))).toEqual(
      [],
    );
    const [dead] = relay.queued(queue("deadLetter"));
    expect(dead?.reason).toMatchObject({
      kind: "invalid",
      orderRef: "4012…1881 (card number)",
      correlationId: "corr-card",
      errors: [
        { path: "orderRef", code: "card_number_in_ref" },
        { path: "instructions[0].instructionRef", code: "card_number_in_ref" },
      ],
    });
    const logs = JSON.stringify(relay.logs().slice(logsBefore));
    expect(logs).toContain("4012…1881 (card number)");
    expect(logs).not.toContain("888888");
    expect(JSON.stringify(dead?.reason)).not.toContain("888888");
  });

  it("dead-letters a body nested 5,000 deep as too_deep without failing the batch", async () => {
    const deep = `{"orderRef":"DEEP-1","metadata":{"k":${"[".repeat(5000)}${"]".repeat(5000)}}}`;
    await relay.publish(deep, "corr-deep");
    await relay.publish(order("DEEP-NEIGHBOUR"), "corr-neighbour");
    const { response } = await relay.deliver(queue("orders"));
    expect(response.batchItemFailures).toEqual([]);
    expect(creates("DEEP-NEIGHBOUR")).toHaveLength(1);
    const [dead] = relay.queued(queue("deadLetter"));
    expect(dead?.body).toBe(deep);
    expect(dead?.reason).toMatchObject({ kind: "invalid", orderRef: "DEEP-1", correlationId: "corr-deep" });
    expect(dead?.reason?.kind === "invalid" && dead.reason.errors.map((e) => e.code)).toEqual(["too_deep"]);
  });
});
