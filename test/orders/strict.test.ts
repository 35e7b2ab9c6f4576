import { describe, expect, it } from "vitest";
import { ORDER_BODY_MAX_BYTES } from "../../lib/config/index.ts";
import {
  claimedOrderRef,
  displayOrderRef,
  findPersonalData,
  formatIssues,
  MAX_NESTING_DEPTH,
  type OrderParseResult,
  parseOrderMessage,
  scanJsonStructure,
} from "../../lib/orders/index.ts";
import { formatPath } from "../../lib/orders/issues.ts";

const CARD = "4012888888881881";
const instruction = {
  instructionRef: "ins-1",
  customerRef: "cust-1",
  direction: "DEBIT",
  amount: "1.00",
  currency: "EUR",
  country: "IE",
  settledByDate: "2030-01-31",
  schemeId: "S",
};
const order = (patch: Record<string, unknown> = {}) => ({
  orderRef: "ORD-1",
  instructions: [instruction],
  ...patch,
});

function issuesOf(result: OrderParseResult): [string, string][] {
  if (result.success) throw new Error("expected the message to be rejected");
  return result.errors.map((issue) => [issue.path, issue.code]);
}

function snsNotification(message: string, attributes?: Record<string, unknown>): string {
  return JSON.stringify({
    Type: "Notification",
    MessageId: "6b3c1c2e-0000-4000-8000-000000000001",
    TopicArn: "arn:aws:sns:eu-west-1:123456789012:orders",
    Message: message,
    Timestamp: "2030-01-01T00:00:00.000Z",
    SignatureVersion: "1",
    Signature: "EXAMPLE",
    ...(attributes ? { MessageAttributes: attributes } : {}),
  });
}

describe("repeated keys", () => {
  it("refuses an instruction that states its amount twice, naming the path, instead of paying the last", () => {
    const body = JSON.stringify(order()).replace('"amount":"1.00"', '"amount":"1.00","amount":"1000.00"');
    expect(issuesOf(parseOrderMessage(body))).toEqual([["instructions[0].amount", "duplicate_key"]]);
  });

  it("finds repeats at any depth, through escapes, and reports the other problems too", () => {
    const body =
      '{"orderRef":"a b","metadata":{"k":"1","\\u006b":"2"},"customerDefaults":{"c":{"schemeId":"S","schemeId":"T"}},"orderRef":"x"}';
    expect(issuesOf(parseOrderMessage(body))).toEqual([
      ["metadata.k", "duplicate_key"],
      ["customerDefaults.c.schemeId", "duplicate_key"],
      ["orderRef", "duplicate_key"],
    ]);
  });

  it("tells repeated keys from equal keys in different objects and from equal values", () => {
    const body = JSON.stringify({ ...order(), metadata: { orderRef: "ORD-1" } });
    expect(parseOrderMessage(body).success).toBe(true);
  });
});

describe("nesting depth", () => {
  it("refuses 5,000 levels as too_deep with a path, without a stack overflow", () => {
    const body = `{"orderRef":"DEEP-1","metadata":{"k":${"[".repeat(5000)}${"]".repeat(5000)}}}`;
    const result = parseOrderMessage(body);
    expect(issuesOf(result)).toEqual([[`metadata.k${"[0]".repeat(MAX_NESTING_DEPTH - 2)}`, "too_deep"]]);
    expect(result.success || result.claimedOrderRef).toBe("DEEP-1");
  });

  it("refuses half a million levels of bare arrays in linear time", () => {
    // A million bytes: just within the body size bound, so the depth scan is what refuses it.
    const body = `${"[".repeat(500_000)}${"]".repeat(500_000)}`;
    expect(issuesOf(parseOrderMessage(body))[0]?.[1]).toBe("too_deep");
  });

  it("accepts the deepest valid order shape", () => {
    const body = JSON.stringify(
      order({ customerDefaults: { "cust-1": { schemeId: "S", metadata: { a: "b" } } } }),
    );
    expect(parseOrderMessage(body).success).toBe(true);
    expect(scanJsonStructure(body).tooDeep).toBeUndefined();
  });
});

describe("SNS notification envelopes (subscriptions without raw message delivery)", () => {
  it("unwraps the order from Message and the correlation id from MessageAttributes", () => {
    const result = parseOrderMessage(
      snsNotification(JSON.stringify(order()), {
        "x-correlation-id": { Type: "String", Value: "corr-sns-1" },
        other: { Type: "String", Value: "x" },
      }),
    );
    expect(result).toEqual({ success: true, order: order(), correlationId: "corr-sns-1" });
  });

  it("reads no correlation id from an envelope without one, or with a non-string one", () => {
    const bare = parseOrderMessage(snsNotification(JSON.stringify(order())));
    expect(bare.success && bare.correlationId).toBeUndefined();
    const numeric = parseOrderMessage(
      snsNotification(JSON.stringify(order()), { "x-correlation-id": { Type: "Number", Value: "7" } }),
    );
    expect(numeric.success && numeric.correlationId).toBeUndefined();
  });

  it("validates the order inside strictly, with paths relative to the order, keeping the correlation id", () => {
    const inner = JSON.stringify(order()).replace('"currency":"EUR"', '"currency":"EUR","currency":"USD"');
    const result = parseOrderMessage(
      snsNotification(inner, { "x-correlation-id": { Type: "String", Value: "corr-sns-2" } }),
    );
    expect(issuesOf(result)).toEqual([["instructions[0].currency", "duplicate_key"]]);
    expect(result.correlationId).toBe("corr-sns-2");
    expect(!result.success && result.claimedOrderRef).toBe("ORD-1");
  });

  it("says when the Message is not JSON, and when the SNS message is no notification", () => {
    const broken = parseOrderMessage(snsNotification("{oops"));
    expect(!broken.success && formatIssues(broken.errors)).toContain(
      "the SNS notification's Message is not valid JSON",
    );
    const confirmation = JSON.stringify({
      Type: "SubscriptionConfirmation",
      TopicArn: "arn:aws:sns:eu-west-1:123456789012:orders",
      Token: "t",
      SubscribeURL: "https://sns.example/confirm",
      Message: "You have chosen to subscribe",
    });
    expect(issuesOf(parseOrderMessage(confirmation))).toEqual([["Type", "sns_envelope"]]);
    const noMessage = JSON.stringify({ Type: "Notification", TopicArn: "arn:x", Message: { orderRef: "a" } });
    expect(issuesOf(parseOrderMessage(noMessage))).toEqual([["Message", "sns_envelope"]]);
  });

  it("reads an order that merely has a Type field as an order", () => {
    expect(issuesOf(parseOrderMessage(JSON.stringify(order({ Type: "Notification" }))))).toEqual([
      ["Type", "unknown_field"],
    ]);
  });
});

describe("card numbers and e-mail addresses in refs and metadata keys", () => {
  it.each<[string, Record<string, unknown>, [string, string][]]>([
    ["a card number as orderRef", order({ orderRef: CARD }), [["orderRef", "card_number_in_ref"]]],
    [
      "a card number inside an instructionRef",
      order({ instructions: [{ ...instruction, instructionRef: `ins-${CARD}` }] }),
      [["instructions[0].instructionRef", "card_number_in_ref"]],
    ],
    [
      "a card number as customerRef",
      order({ instructions: [{ ...instruction, customerRef: CARD }] }),
      [["instructions[0].customerRef", "card_number_in_ref"]],
    ],
    [
      "a card number as a customerDefaults key",
      order({ customerDefaults: { [CARD]: { schemeId: "S" } } }),
      [['customerDefaults["4012…1881 (card number)"]', "card_number_in_ref"]],
    ],
    [
      "an e-mail address as orderRef",
      order({ orderRef: "jane.doe@example.com" }),
      [
        ["orderRef", "invalid_characters"],
        ["orderRef", "email_in_ref"],
      ],
    ],
    [
      "a card number as a metadata key",
      order({ metadata: { [CARD]: "x" } }),
      [['metadata["4012…1881 (card number)"]', "card_number_in_metadata"]],
    ],
    [
      "an e-mail address as an instruction's metadata key",
      order({ instructions: [{ ...instruction, metadata: { "jane.doe@example.com": "x" } }] }),
      [['instructions[0].metadata["j…@… (e-mail address)"]', "email_in_metadata"]],
    ],
  ])("refuses %s and never repeats it", (_, body, expected) => {
    const result = parseOrderMessage(JSON.stringify(body));
    expect(issuesOf(result)).toEqual(expected);
    const rendered = `${JSON.stringify(result)}\n${result.success ? "" : formatIssues(result.errors)}`;
    for (const fragment of ["888888", "jane", "example.com"]) expect(rendered).not.toContain(fragment);
  });

  it("claims a refused orderRef as its mask, a plausible one as itself, and junk as nothing", () => {
    const claimed = (orderRef: unknown) => {
      const result = parseOrderMessage(JSON.stringify({ orderRef, bad: 1 }));
      return result.success ? "accepted" : result.claimedOrderRef;
    };
    expect(claimed(CARD)).toBe("4012…1881 (card number)");
    expect(claimed("jane.doe@example.com")).toBe("j…@… (e-mail address)");
    expect(claimed("ORD-9")).toBe("ORD-9");
    expect(claimed("has space")).toBeUndefined();
    expect(claimed(42)).toBeUndefined();
    expect(displayOrderRef(`order 4111 1111 1111 1111`)).toBe("4111…1111 (card number)");
  });

  it("reads the orderRef a message body names loosely: any body, an SNS envelope unwrapped", () => {
    expect(claimedOrderRef(JSON.stringify({ orderRef: "X-1", junk: true }))).toBe("X-1");
    expect(
      claimedOrderRef(
        JSON.stringify({ Type: "Notification", TopicArn: "arn:t", Message: '{"orderRef":"S-1"}' }),
      ),
    ).toBe("S-1");
    expect(claimedOrderRef('{"orderRef": 7}')).toBeUndefined();
    expect(claimedOrderRef("not json")).toBeUndefined();
    expect(claimedOrderRef(JSON.stringify({ orderRef: "jane.doe@example.com" }))).toBe(
      "j…@… (e-mail address)",
    );
  });

  it("finds nothing in refs that only look long", () => {
    expect(findPersonalData("ORD-4012888888881882")).toBeUndefined();
    expect(findPersonalData("2030.11.30.000123")).toBeUndefined();
  });
});

describe("paths", () => {
  it("shorten long keys so that a dead-letter reason stays small", () => {
    const path = formatPath(["metadata", "k".repeat(10_000)]);
    expect(path).toBe(`metadata["${"k".repeat(32)}… (10000 characters)"]`);
  });
});

describe("body size", () => {
  it("accepts a body of exactly ORDER_BODY_MAX_BYTES and refuses one byte more as too_large, unread", () => {
    const valid = JSON.stringify(order());
    const atLimit = valid + " ".repeat(ORDER_BODY_MAX_BYTES - valid.length);
    expect(parseOrderMessage(atLimit).success).toBe(true);
    expect(issuesOf(parseOrderMessage(`${atLimit} `))).toEqual([["", "too_large"]]);
  });

  it("counts UTF-8 bytes, not characters: two-byte characters reach the bound at half the length", () => {
    const valid = JSON.stringify(order({ metadata: { note: "é" } }));
    const padding = ORDER_BODY_MAX_BYTES - Buffer.byteLength(valid);
    expect(parseOrderMessage(valid + " ".repeat(padding)).success).toBe(true);
    const over = JSON.stringify(order({ metadata: { note: "éé" } })) + " ".repeat(padding);
    expect(over.length).toBeLessThanOrEqual(ORDER_BODY_MAX_BYTES);
    expect(issuesOf(parseOrderMessage(over))).toEqual([["", "too_large"]]);
  });

  it("bounds what the schema alone would allow: 100 instructions of 50 full metadata entries", () => {
    const metadata = Object.fromEntries(
      Array.from({ length: 50 }, (_, i) => [`k${String(i).padStart(39, "0")}`, "v".repeat(500)]),
    );
    const body = JSON.stringify(
      order({
        instructions: Array.from({ length: 100 }, (_, i) => ({
          ...instruction,
          instructionRef: `i-${i}`,
          metadata,
        })),
      }),
    );
    expect(Buffer.byteLength(body)).toBeGreaterThan(2_000_000);
    expect(issuesOf(parseOrderMessage(body))).toEqual([["", "too_large"]]);
  });
});
