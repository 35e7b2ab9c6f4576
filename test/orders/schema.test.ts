import { describe, expect, it } from "vitest";
import { DEFAULTS } from "../../lib/config/index.ts";
import {
  containsCardNumber,
  containsEmailAddress,
  DEFAULT_ORDER_LIMITS,
  formatIssues,
  isWellFormedRef,
  minorUnits,
  type OrderParseResult,
  parseAmount,
  parseOrder,
  parseOrderMessage,
} from "../../lib/orders/index.ts";

type Json = Record<string, unknown>;

// Fake scheme ids shaped like Imburse's (32 upper-case hex characters).
const SCHEME_A = "0123456789ABCDEF0123456789ABCDEF";
const SCHEME_B = "FEDCBA9876543210FEDCBA9876543210";

/** A valid order: instruction 0 takes its schemeId from customerDefaults, instruction 1 sets its own. */
function baseOrder(): Json {
  return {
    orderRef: "ORD-2024.0001_a",
    metadata: { source: "billing" },
    customerDefaults: { "cust-1": { schemeId: SCHEME_A, metadata: { tier: "gold" } } },
    instructions: [
      {
        instructionRef: "ins-1",
        customerRef: "cust-1",
        direction: "DEBIT",
        amount: "210.00",
        currency: "EUR",
        country: "IE",
        settledByDate: "2024-02-29",
      },
      {
        instructionRef: "ins-2",
        customerRef: "cust-2",
        direction: "CREDIT",
        amount: "19.99",
        currency: "GBP",
        country: "GB",
        settledByDate: "2025-01-31",
        schemeId: SCHEME_B,
        financialInstrumentId: "",
        metadata: { invoice: "INV-7" },
      },
    ],
  };
}

function instructions(order: Json): Json[] {
  return order.instructions as Json[];
}

/** The base order with top-level fields replaced; `undefined` removes a field (JSON drops it). */
function withOrder(patch: Json): Json {
  return { ...baseOrder(), ...patch };
}

/** The base order with fields of one instruction replaced; `undefined` removes a field. */
function withInstruction(index: number, patch: Json): Json {
  const order = baseOrder();
  const list = instructions(order);
  list[index] = { ...list[index], ...patch };
  return order;
}

function instruction(ref: string): Json {
  return { ...instructions(baseOrder())[1], instructionRef: ref };
}

function keys(count: number, value = "v"): Json {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, value]));
}

/** Parses like the relay does: the order as the JSON text of an SQS message body. */
function parse(order: Json | string, limits?: Parameters<typeof parseOrderMessage>[1]): OrderParseResult {
  return parseOrderMessage(typeof order === "string" ? order : JSON.stringify(order), limits);
}

function issuesOf(result: OrderParseResult): [string, string][] {
  if (result.success) throw new Error("expected the order to be rejected");
  return result.errors.map((issue) => [issue.path, issue.code]);
}

function orderOf(result: OrderParseResult) {
  if (!result.success) throw new Error(`expected a valid order:\n${formatIssues(result.errors)}`);
  return result.order;
}

describe("valid orders", () => {
  it.each<[string, Json]>([
    ["the base order", baseOrder()],
    ["only an orderRef", { orderRef: "a" }],
    ["an empty instruction list", { orderRef: "a", instructions: [] }],
    [
      "100 instructions",
      withOrder({ instructions: Array.from({ length: 100 }, (_, i) => instruction(`i${i}`)) }),
    ],
    [
      "a 50-character orderRef of every allowed character class",
      withOrder({ orderRef: `aZ09._-${"x".repeat(43)}` }),
    ],
    ["a 50-character instructionRef", withInstruction(0, { instructionRef: "r".repeat(50) })],
    [
      "a schemeId on the instruction and no customerDefaults",
      withOrder({ customerDefaults: undefined, instructions: [instruction("a")] }),
    ],
    [
      "empty metadata objects",
      withOrder({ metadata: {}, customerDefaults: { "cust-1": { schemeId: "S", metadata: {} } } }),
    ],
    [
      "metadata exactly at the default limits",
      withOrder({ metadata: { ...keys(49), ["k".repeat(40)]: "v".repeat(500) } }),
    ],
    [
      "customerDefaults with only a financialInstrumentId",
      withOrder({
        customerDefaults: { ...(baseOrder().customerDefaults as Json), c2: { financialInstrumentId: "fi" } },
      }),
    ],
    ["31 December", withInstruction(0, { settledByDate: "2024-12-31" })],
    ["the 1st of a month", withInstruction(0, { settledByDate: "2025-03-01" })],
    ["1 January", withInstruction(0, { settledByDate: "2026-01-01" })],
    ["31 January", withInstruction(0, { settledByDate: "2026-01-31" })],
    ["30 April", withInstruction(0, { settledByDate: "2026-04-30" })],
    ["28 February in a common year", withInstruction(0, { settledByDate: "2027-02-28" })],
    ["29 February 2000 (a leap century)", withInstruction(0, { settledByDate: "2000-02-29" })],
  ])("accepts %s", (_, order) => {
    expect(parse(order).success).toBe(true);
  });

  it("returns the order normalised, adding no fields", () => {
    const order = withInstruction(0, { amount: 210 });
    const expected = baseOrder();
    expect(orderOf(parse(order))).toStrictEqual(expected);
  });
});

describe("invalid orders", () => {
  const longKey = "k".repeat(41);
  it.each<[string, Json | string, [string, string][]]>([
    // orderRef
    ["a missing orderRef", withOrder({ orderRef: undefined }), [["orderRef", "required"]]],
    ["an empty orderRef", withOrder({ orderRef: "" }), [["orderRef", "too_short"]]],
    ["a 51-character orderRef", withOrder({ orderRef: "a".repeat(51) }), [["orderRef", "too_long"]]],
    ["a space in orderRef", withOrder({ orderRef: "a b" }), [["orderRef", "invalid_characters"]]],
    ["a non-ASCII letter in orderRef", withOrder({ orderRef: "café" }), [["orderRef", "invalid_characters"]]],
    ["a numeric orderRef", withOrder({ orderRef: 12 }), [["orderRef", "invalid_type"]]],
    ["an unknown top-level field", withOrder({ note: "x" }), [["note", "unknown_field"]]],
    ["an unknown field with a dash", withOrder({ "order-ref": "x" }), [['["order-ref"]', "unknown_field"]]],
    // instructions list
    ["instructions as an object", withOrder({ instructions: {} }), [["instructions", "invalid_type"]]],
    ["instructions null", withOrder({ instructions: null }), [["instructions", "invalid_type"]]],
    [
      "101 instructions",
      withOrder({ instructions: Array.from({ length: 101 }, (_, i) => instruction(`i${i}`)) }),
      [["instructions", "too_many"]],
    ],
    [
      "a repeated instructionRef",
      withOrder({ instructions: [instruction("a"), instruction("b"), instruction("a")] }),
      [["instructions[2].instructionRef", "duplicate_instruction_ref"]],
    ],
    [
      "an instruction that is not an object",
      withOrder({ instructions: ["x"] }),
      [["instructions[0]", "invalid_type"]],
    ],
    // instruction fields
    [
      "an unknown instruction field",
      withInstruction(1, { status: "READY" }),
      [["instructions[1].status", "unknown_field"]],
    ],
    [
      "a missing instructionRef",
      withInstruction(1, { instructionRef: undefined }),
      [["instructions[1].instructionRef", "required"]],
    ],
    [
      "a 51-character instructionRef",
      withInstruction(1, { instructionRef: "r".repeat(51) }),
      [["instructions[1].instructionRef", "too_long"]],
    ],
    [
      "a slash in instructionRef",
      withInstruction(1, { instructionRef: "a/b" }),
      [["instructions[1].instructionRef", "invalid_characters"]],
    ],
    [
      "a missing customerRef",
      withInstruction(1, { customerRef: undefined }),
      [["instructions[1].customerRef", "required"]],
    ],
    [
      "a 51-character customerRef",
      withInstruction(1, { customerRef: "c".repeat(51) }),
      [["instructions[1].customerRef", "too_long"]],
    ],
    [
      "a missing direction",
      withInstruction(1, { direction: undefined }),
      [["instructions[1].direction", "required"]],
    ],
    [
      "a lower-case direction",
      withInstruction(1, { direction: "credit" }),
      [["instructions[1].direction", "invalid_value"]],
    ],
    ["a missing amount", withInstruction(1, { amount: undefined }), [["instructions[1].amount", "required"]]],
    ["a null amount", withInstruction(1, { amount: null }), [["instructions[1].amount", "invalid_type"]]],
    ["a boolean amount", withInstruction(1, { amount: true }), [["instructions[1].amount", "invalid_type"]]],
    ["a zero amount", withInstruction(1, { amount: 0 }), [["instructions[1].amount", "amount_not_positive"]]],
    [
      'a "0.00" amount',
      withInstruction(1, { amount: "0.00" }),
      [["instructions[1].amount", "amount_not_positive"]],
    ],
    [
      "a negative number amount",
      withInstruction(1, { amount: -1.33 }),
      [["instructions[1].amount", "amount_not_positive"]],
    ],
    [
      "a negative string amount",
      withInstruction(1, { amount: "-5.00" }),
      [["instructions[1].amount", "amount_not_positive"]],
    ],
    [
      "3 fraction digits in a string",
      withInstruction(1, { amount: "1.001" }),
      [["instructions[1].amount", "amount_too_precise"]],
    ],
    [
      "3 fraction digits in a number",
      withInstruction(1, { amount: 1.005 }),
      [["instructions[1].amount", "amount_too_precise"]],
    ],
    [
      "a float artefact (0.1 + 0.2)",
      withInstruction(1, { amount: 0.1 + 0.2 }),
      [["instructions[1].amount", "amount_too_precise"]],
    ],
    ["the number 1e21", withInstruction(1, { amount: 1e21 }), [["instructions[1].amount", "invalid_amount"]]],
    ["the number 1e-7", withInstruction(1, { amount: 1e-7 }), [["instructions[1].amount", "invalid_amount"]]],
    ['"NaN"', withInstruction(1, { amount: "NaN" }), [["instructions[1].amount", "invalid_amount"]]],
    [
      '"Infinity"',
      withInstruction(1, { amount: "Infinity" }),
      [["instructions[1].amount", "invalid_amount"]],
    ],
    [
      "an exponent string",
      withInstruction(1, { amount: "1e5" }),
      [["instructions[1].amount", "invalid_amount"]],
    ],
    [
      "an empty amount string",
      withInstruction(1, { amount: "" }),
      [["instructions[1].amount", "invalid_amount"]],
    ],
    [
      "a padded amount string",
      withInstruction(1, { amount: " 1.00" }),
      [["instructions[1].amount", "invalid_amount"]],
    ],
    [
      "a thousands separator",
      withInstruction(1, { amount: "1,000.00" }),
      [["instructions[1].amount", "invalid_amount"]],
    ],
    ["a leading plus", withInstruction(1, { amount: "+5" }), [["instructions[1].amount", "invalid_amount"]]],
    ['".5"', withInstruction(1, { amount: ".5" }), [["instructions[1].amount", "invalid_amount"]]],
    ['"5."', withInstruction(1, { amount: "5." }), [["instructions[1].amount", "invalid_amount"]]],
    [
      "an amount over the maximum",
      withInstruction(1, { amount: "10000000000000.00" }),
      [["instructions[1].amount", "amount_too_large"]],
    ],
    [
      "the number 1e13",
      withInstruction(1, { amount: 1e13 }),
      [["instructions[1].amount", "amount_too_large"]],
    ],
    [
      "a lower-case currency",
      withInstruction(1, { currency: "eur" }),
      [["instructions[1].currency", "invalid_format"]],
    ],
    [
      "a 4-letter currency",
      withInstruction(1, { currency: "EURO" }),
      [["instructions[1].currency", "invalid_format"]],
    ],
    [
      "a missing currency",
      withInstruction(1, { currency: undefined }),
      [["instructions[1].currency", "required"]],
    ],
    [
      "a 3-letter country",
      withInstruction(1, { country: "GBR" }),
      [["instructions[1].country", "invalid_format"]],
    ],
    [
      "a lower-case country",
      withInstruction(1, { country: "gb" }),
      [["instructions[1].country", "invalid_format"]],
    ],
    [
      "a missing settledByDate",
      withInstruction(1, { settledByDate: undefined }),
      [["instructions[1].settledByDate", "required"]],
    ],
    [
      "29 February 2023",
      withInstruction(1, { settledByDate: "2023-02-29" }),
      [["instructions[1].settledByDate", "invalid_date"]],
    ],
    [
      "29 February 1900",
      withInstruction(1, { settledByDate: "1900-02-29" }),
      [["instructions[1].settledByDate", "invalid_date"]],
    ],
    [
      "31 April",
      withInstruction(1, { settledByDate: "2024-04-31" }),
      [["instructions[1].settledByDate", "invalid_date"]],
    ],
    [
      "month 13",
      withInstruction(1, { settledByDate: "2024-13-01" }),
      [["instructions[1].settledByDate", "invalid_date"]],
    ],
    [
      "month 00",
      withInstruction(1, { settledByDate: "2024-00-10" }),
      [["instructions[1].settledByDate", "invalid_date"]],
    ],
    [
      "day 00",
      withInstruction(1, { settledByDate: "2024-01-00" }),
      [["instructions[1].settledByDate", "invalid_date"]],
    ],
    [
      "a date without zero padding",
      withInstruction(1, { settledByDate: "2024-2-1" }),
      [["instructions[1].settledByDate", "invalid_format"]],
    ],
    [
      "a date-time",
      withInstruction(1, { settledByDate: "2024-02-01T00:00:00Z" }),
      [["instructions[1].settledByDate", "invalid_format"]],
    ],
    [
      "a day-first date",
      withInstruction(1, { settledByDate: "01/02/2024" }),
      [["instructions[1].settledByDate", "invalid_format"]],
    ],
    // schemeId and customerDefaults
    [
      "an instruction without any schemeId",
      withInstruction(1, { schemeId: undefined }),
      [["instructions[1].schemeId", "required"]],
    ],
    ["an empty schemeId", withInstruction(1, { schemeId: "" }), [["instructions[1].schemeId", "too_short"]]],
    [
      "customerDefaults without a schemeId for the instruction's customer",
      withOrder({ customerDefaults: { "cust-1": { financialInstrumentId: "fi" } } }),
      [["instructions[0].schemeId", "required"]],
    ],
    [
      "an empty default schemeId, which provides none",
      withOrder({ customerDefaults: { "cust-1": { schemeId: "" } } }),
      [
        ['customerDefaults["cust-1"].schemeId', "too_short"],
        ["instructions[0].schemeId", "required"],
      ],
    ],
    [
      "a financialInstrumentId that is not a string",
      withInstruction(1, { financialInstrumentId: 7 }),
      [["instructions[1].financialInstrumentId", "invalid_type"]],
    ],
    [
      "customerDefaults as an array",
      withOrder({ customerDefaults: [] }),
      [["customerDefaults", "invalid_type"]],
    ],
    [
      "a customerDefaults key that is not a ref",
      withOrder({ customerDefaults: { ...(baseOrder().customerDefaults as Json), "cust 2": {} } }),
      [['customerDefaults["cust 2"]', "invalid_characters"]],
    ],
    [
      "a customerDefaults key that is not a ref, with an invalid entry",
      withOrder({
        customerDefaults: { ...(baseOrder().customerDefaults as Json), "cust 2": { schemeId: 5 } },
      }),
      [
        ['customerDefaults["cust 2"].schemeId', "invalid_type"],
        ['customerDefaults["cust 2"]', "invalid_characters"],
      ],
    ],
    [
      "a 51-character customerDefaults key",
      withOrder({ customerDefaults: { ...(baseOrder().customerDefaults as Json), ["c".repeat(51)]: {} } }),
      [[`customerDefaults.${"c".repeat(51)}`, "too_long"]],
    ],
    [
      "an unknown customerDefaults field",
      withOrder({ customerDefaults: { "cust-1": { schemeId: "S", direction: "DEBIT" } } }),
      [['customerDefaults["cust-1"].direction', "unknown_field"]],
    ],
    [
      "a __proto__ customerDefaults key (which zod would drop)",
      JSON.stringify(baseOrder()).replace('"cust-1":', '"__proto__":{},"cust-1":'),
      [["customerDefaults.__proto__", "reserved_key"]],
    ],
    // metadata
    ["metadata as an array", withOrder({ metadata: [] }), [["metadata", "invalid_type"]]],
    [
      "a null value beside a card number in metadata",
      withOrder({ metadata: { note: null, pan: "4111111111111111" } }),
      [
        ["metadata.note", "invalid_type"],
        ["metadata.pan", "card_number_in_metadata"],
      ],
    ],
    ["metadata as a string", withOrder({ metadata: "x" }), [["metadata", "invalid_type"]]],
    ["51 metadata keys", withOrder({ metadata: keys(51) }), [["metadata", "too_many"]]],
    [
      "a 41-character metadata key",
      withOrder({ metadata: { [longKey]: "v" } }),
      [[`metadata.${longKey}`, "too_long"]],
    ],
    ["an empty metadata key", withOrder({ metadata: { "": "v" } }), [['metadata[""]', "too_short"]]],
    [
      "a 501-character metadata value",
      withOrder({ metadata: { note: "v".repeat(501) } }),
      [["metadata.note", "too_long"]],
    ],
    ["a null metadata value", withOrder({ metadata: { note: null } }), [["metadata.note", "invalid_type"]]],
    ["a number metadata value", withOrder({ metadata: { note: 5 } }), [["metadata.note", "invalid_type"]]],
    [
      "a __proto__ metadata key (which zod would drop)",
      '{"orderRef":"a","metadata":{"__proto__":"x","ok":"y"}}',
      [["metadata.__proto__", "reserved_key"]],
    ],
    [
      "51 keys in instruction metadata",
      withInstruction(1, { metadata: keys(51) }),
      [["instructions[1].metadata", "too_many"]],
    ],
    [
      "a too-long value in customerDefaults metadata",
      withOrder({ customerDefaults: { "cust-1": { schemeId: "S", metadata: { tier: "v".repeat(501) } } } }),
      [['customerDefaults["cust-1"].metadata.tier', "too_long"]],
    ],
    [
      "a card number in order metadata",
      withOrder({ metadata: { note: "4111 1111 1111 1111" } }),
      [["metadata.note", "card_number_in_metadata"]],
    ],
    [
      "a card number in instruction metadata",
      withInstruction(0, { metadata: { note: "paid with 4111-1111-1111-1111" } }),
      [["instructions[0].metadata.note", "card_number_in_metadata"]],
    ],
    [
      "an e-mail address in customerDefaults metadata",
      withOrder({
        customerDefaults: { "cust-1": { schemeId: "S", metadata: { contact: "jane.doe@example.com" } } },
      }),
      [['customerDefaults["cust-1"].metadata.contact', "email_in_metadata"]],
    ],
  ])("rejects %s", (_, order, expected) => {
    expect(issuesOf(parse(order))).toEqual(expected);
  });

  it("reports every problem of a message in one pass, cross-field checks included", () => {
    const order = withOrder({
      orderRef: "",
      instructions: [instruction("a"), { ...instruction("a"), amount: "0", schemeId: undefined }],
    });
    expect(issuesOf(parse(order))).toEqual([
      ["orderRef", "too_short"],
      ["instructions[1].amount", "amount_not_positive"],
      ["instructions[1].instructionRef", "duplicate_instruction_ref"],
      ["instructions[1].schemeId", "required"],
    ]);
  });

  it("names the rule in messages a person can read", () => {
    const result = parse(withInstruction(1, { amount: "1.001", direction: "credit" }));
    expect(result.success ? [] : result.errors).toEqual([
      {
        path: "instructions[1].direction",
        code: "invalid_value",
        message: 'must be one of "CREDIT", "DEBIT"',
      },
      {
        path: "instructions[1].amount",
        code: "amount_too_precise",
        message: "must have at most 2 fraction digits",
      },
    ]);
  });
});

describe("message bodies that are not orders", () => {
  it.each<[string, string, string]>([
    ["an unterminated object", "{", "invalid_json"],
    ["text", "not json", "invalid_json"],
    ["an empty body", "", "invalid_json"],
    ["a blank body", "  \n", "invalid_json"],
    ["an array", "[]", "invalid_type"],
    ["null", "null", "invalid_type"],
    ["a number", "42", "invalid_type"],
    ["a string", '"order"', "invalid_type"],
  ])("gives one issue for %s", (_, body, code) => {
    const result = parse(body);
    expect(issuesOf(result)).toEqual([["", code]]);
  });

  it("says where the JSON breaks", () => {
    const result = parse('{"orderRef":"a",}');
    expect(result.success ? "" : result.errors[0]?.message).toBe(
      "the message body is not valid JSON (syntax error at character 16)",
    );
  });

  it("names the type of a non-object body", () => {
    const result = parseOrder([1]);
    expect(result.success ? "" : result.errors[0]?.message).toBe(
      "the message must be a JSON object (an order), got an array",
    );
  });
});

describe("amount normalisation", () => {
  it.each<[string | number, string]>([
    [210, "210.00"],
    [0.1, "0.10"],
    [19.99, "19.99"],
    [1.5, "1.50"],
    [0.01, "0.01"],
    [9999999999999.99, "9999999999999.99"],
    ["210", "210.00"],
    ["210.5", "210.50"],
    ["210.00", "210.00"],
    ["007.10", "7.10"],
    ["9999999999999.99", "9999999999999.99"],
  ])("normalises %j to %j", (amount, expected) => {
    const order = orderOf(parse(withInstruction(0, { amount })));
    expect(order.instructions?.[0]?.amount).toBe(expected);
  });

  it("gives minor units with the amount", () => {
    expect(parseAmount(19.99)).toEqual({ ok: true, amount: "19.99", minorUnits: 1999n });
  });

  it("rejects non-finite numbers handed over by JavaScript callers", () => {
    expect(parseAmount(Number.NaN)).toMatchObject({ ok: false, code: "invalid_amount" });
    expect(parseAmount(Number.POSITIVE_INFINITY)).toMatchObject({ ok: false, code: "invalid_amount" });
  });

  it.each<[string | number, bigint]>([
    ["210.00", 21000n],
    [210, 21000n],
    ["210.0000", 21000n],
    ["0.5", 50n],
    ["-1.33", -133n],
  ])("reads %j as %d minor units", (amount, expected) => {
    expect(minorUnits(amount)).toBe(expected);
  });

  it.each<string | number>(["210.005", "abc", "1e3", 1e21, ""])("refuses %j as minor units", (amount) => {
    expect(() => minorUnits(amount)).toThrow(expect.objectContaining({ name: "InvalidAmountError" }));
  });
});

describe("card numbers and e-mail addresses", () => {
  it.each([
    "4111 1111 1111 1111",
    "4111-1111-1111-1111",
    "4111111111111111",
    "4111  1111  1111  1111",
    "card 4111 1111 1111 1111 exp 12/30",
    "ref4111111111111111x",
    "order 12 4111 1111 1111 1111",
    "4222222222222", // 13 digits
    "4000000000000000006", // 19 digits
  ])("detects a card number in %j", (text) => {
    expect(containsCardNumber(text)).toBe(true);
  });

  it.each([
    "4111 1111 1111 1112", // 16 digits, fails Luhn
    "123456789015", // 12 digits passing Luhn: too short for a card
    "12345678901234567894", // 20 digits passing Luhn: too long for a card
    "2024-02-29",
    "INV-7",
    "",
  ])("accepts %j", (text) => {
    expect(containsCardNumber(text)).toBe(false);
  });

  it.each(["jane.doe@example.com", "Contact: a+b@mail.example.co.uk please"])(
    "detects an e-mail address in %j",
    (text) => {
      expect(containsEmailAddress(text)).toBe(true);
    },
  );

  it.each(["@handle", "user@localhost", "a @ b.com", "50% @ 3.50"])("accepts %j", (text) => {
    expect(containsEmailAddress(text)).toBe(false);
  });

  it("accepts metadata with a non-Luhn 16-digit number and a 12-digit number", () => {
    expect(parse(withOrder({ metadata: { a: "4111 1111 1111 1112", b: "123456789015" } })).success).toBe(
      true,
    );
  });

  it("never repeats a metadata value anywhere in the result", () => {
    const secrets = {
      pan: "4111 1111 1111 1111",
      dashed: "5555-5555-5555-4444",
      mail: "jane.doe@example.com",
      long: `secret-${"x".repeat(600)}`,
    };
    const order = withOrder({
      metadata: { pan: secrets.pan, long: secrets.long },
      customerDefaults: { "cust-1": { schemeId: "S", metadata: { mail: secrets.mail } } },
      instructions: [{ ...instruction("a"), metadata: { dashed: secrets.dashed } }],
    });
    const result = parse(order);
    expect(issuesOf(result)).toEqual([
      ["instructions[0].metadata.dashed", "card_number_in_metadata"],
      ["metadata.pan", "card_number_in_metadata"],
      ["metadata.long", "too_long"],
      ['customerDefaults["cust-1"].metadata.mail', "email_in_metadata"],
    ]);
    const rendered = `${JSON.stringify(result)}\n${result.success ? "" : formatIssues(result.errors)}`;
    for (const fragment of ["4111", "5555", "4444", "jane", "example", "secret", "xxxx"]) {
      expect(rendered).not.toContain(fragment);
    }
  });

  it("does not quote a card number from a body that is not JSON", () => {
    const result = parse('{"orderRef":"a","metadata":{"pan":"4111 1111 1111 1111"');
    expect(issuesOf(result)).toEqual([["", "invalid_json"]]);
    expect(JSON.stringify(result)).not.toContain("4111");
  });
});

describe("limits", () => {
  it("defaults to the relay's settings defaults and 100 instructions", () => {
    expect(DEFAULT_ORDER_LIMITS).toEqual({
      metadataMaxKeys: DEFAULTS.metadataMaxKeys,
      metadataMaxKeyLength: DEFAULTS.metadataMaxKeyLength,
      metadataMaxValueLength: DEFAULTS.metadataMaxValueLength,
      maxInstructions: 100,
    });
  });

  it.each<[string, Json, Parameters<typeof parse>[1], [string, string][]]>([
    [
      "metadataMaxKeys",
      { orderRef: "a", metadata: keys(3) },
      { metadataMaxKeys: 2 },
      [["metadata", "too_many"]],
    ],
    [
      "metadataMaxKeys 0",
      { orderRef: "a", metadata: keys(1) },
      { metadataMaxKeys: 0 },
      [["metadata", "too_many"]],
    ],
    [
      "metadataMaxKeyLength",
      { orderRef: "a", metadata: { abcd: "v" } },
      { metadataMaxKeyLength: 3 },
      [["metadata.abcd", "too_long"]],
    ],
    [
      "metadataMaxValueLength",
      { orderRef: "a", metadata: { a: "vvvv" } },
      { metadataMaxValueLength: 3 },
      [["metadata.a", "too_long"]],
    ],
    ["maxInstructions", baseOrder(), { maxInstructions: 1 }, [["instructions", "too_many"]]],
  ])("applies an override of %s", (_, order, limits, expected) => {
    expect(issuesOf(parse(order, limits))).toEqual(expected);
    expect(parse(order).success).toBe(true);
  });

  it("raises limits as well as lowering them", () => {
    const order = withOrder({ metadata: { ["k".repeat(100)]: "v".repeat(100) } });
    expect(parse(order).success).toBe(false);
    expect(parse(order, { metadataMaxKeyLength: 100 }).success).toBe(true);
  });

  it("accepts the relay's settings object as limits", () => {
    const settings = { ...DEFAULTS, metadataMaxKeys: 1, retryQueueUrl: "http://127.0.0.1/q" };
    expect(issuesOf(parse({ orderRef: "a", metadata: keys(2) }, settings))).toEqual([
      ["metadata", "too_many"],
    ]);
  });

  it.each([{ maxInstructions: -1 }, { metadataMaxKeys: 1.5 }, { metadataMaxValueLength: Number.NaN }])(
    "refuses the nonsensical limits %j",
    (limits) => {
      expect(() => parseOrder({ orderRef: "a" }, limits)).toThrow(RangeError);
    },
  );
});

describe("formatIssues", () => {
  it("writes one line per issue", () => {
    const result = parse(withOrder({ orderRef: "", metadata: { note: "x@example.com" } }));
    expect(formatIssues(result.success ? [] : result.errors)).toBe(
      [
        "orderRef: must not be empty [too_short]",
        "metadata.note: value looks like an e-mail address; personal data must not be sent in metadata [email_in_metadata]",
      ].join("\n"),
    );
  });

  it("labels whole-message issues and keeps odd keys on one line", () => {
    expect(
      formatIssues([{ path: "", code: "invalid_json", message: "the message body is not valid JSON" }]),
    ).toBe("(message): the message body is not valid JSON [invalid_json]");
    expect(formatIssues(issuesFor({ metadata: { "a\nb": "v".repeat(501) } }))).toBe(
      'metadata["a\\nb"]: value must be at most 500 characters, got 501 [too_long]',
    );
  });
});

function issuesFor(patch: Json) {
  const result = parse(withOrder(patch));
  return result.success ? [] : result.errors;
}

describe("isWellFormedRef", () => {
  it.each([
    ["ORD-2024.0001_a", true],
    ["x".repeat(50), true],
    ["x".repeat(51), false],
    ["", false],
    [".", false],
    ["..", false],
    ["...", true],
    ["has space", false],
    ["ordér", false],
  ])("%j: %s, as the order schema judges an orderRef", (ref, wellFormed) => {
    expect(isWellFormedRef(ref)).toBe(wellFormed);
    expect(parseOrder({ ...baseOrder(), orderRef: ref }).success).toBe(wellFormed);
  });
});

describe("issues tell the publisher what to fix: the field, the rule and the limit", () => {
  const limits = {
    metadataMaxKeys: 2,
    metadataMaxKeyLength: 10,
    metadataMaxValueLength: 10,
    maxInstructions: 2,
  };
  const ins = (patch: Json): Json => ({
    instructionRef: "i-1",
    customerRef: "c-1",
    direction: "DEBIT",
    amount: "1.00",
    currency: "EUR",
    country: "IE",
    settledByDate: "2027-01-01",
    schemeId: "S",
    ...patch,
  });
  const REF_RULE = 'may contain only A-Z, a-z, 0-9, ".", "_" and "-"';
  const issue = (path: string, code: string, message: string) => ({ path, code, message });

  it.each<[string, Json, ReturnType<typeof issue>[]]>([
    [
      "a long ref",
      { orderRef: "a".repeat(51) },
      [issue("orderRef", "too_long", "must be at most 50 characters, got 51")],
    ],
    ["a ref with a space", { orderRef: "a b" }, [issue("orderRef", "invalid_characters", REF_RULE)]],
    // A URL path would normalise these away: GET /v1/order-management/.. would read another resource.
    ["the ref .", { orderRef: "." }, [issue("orderRef", "dot_segment", 'must not be "." or ".."')]],
    ["the ref ..", { orderRef: ".." }, [issue("orderRef", "dot_segment", 'must not be "." or ".."')]],
    [
      "a card number as a ref",
      { orderRef: "4111111111111111" },
      [
        issue(
          "orderRef",
          "card_number_in_ref",
          "looks like a card number; card data must not be sent in refs",
        ),
      ],
    ],
    [
      "an empty schemeId",
      { orderRef: "o", instructions: [ins({ schemeId: "" })] },
      [issue("instructions[0].schemeId", "too_short", "must not be empty")],
    ],
    [
      "a lower-case currency and a country name",
      { orderRef: "o", instructions: [ins({ currency: "eur", country: "Ireland" })] },
      [
        issue(
          "instructions[0].currency",
          "invalid_format",
          "must be an ISO 4217 code of 3 upper-case letters, such as EUR",
        ),
        issue(
          "instructions[0].country",
          "invalid_format",
          "must be an ISO 3166-1 alpha-2 code of 2 upper-case letters, such as IE",
        ),
      ],
    ],
    [
      "a five-digit year",
      { orderRef: "o", instructions: [ins({ settledByDate: "12027-01-01" })] },
      [issue("instructions[0].settledByDate", "invalid_format", "must be a date written YYYY-MM-DD")],
    ],
    [
      "30 February",
      { orderRef: "o", instructions: [ins({ settledByDate: "2027-02-30" })] },
      [issue("instructions[0].settledByDate", "invalid_date", "is not a real calendar date")],
    ],
    [
      "a missing amount",
      { orderRef: "o", instructions: [ins({ amount: undefined })] },
      [issue("instructions[0].amount", "required", "is required")],
    ],
    [
      "amounts of every wrong kind",
      {
        orderRef: "o",
        instructions: [
          ins({ amount: true }),
          ins({ instructionRef: "i-2", amount: "1,00" }),
          ins({ instructionRef: "i-3", amount: "-1" }),
          ins({ instructionRef: "i-4", amount: "0.00" }),
          ins({ instructionRef: "i-5", amount: "10000000000000.00" }),
        ],
      },
      [
        issue(
          "instructions[0].amount",
          "invalid_type",
          'must be a decimal string such as "210.00" or a number',
        ),
        issue(
          "instructions[1].amount",
          "invalid_amount",
          'must be a plain decimal such as "210.00": digits with an optional "." and fraction, without sign, exponent, spaces or separators',
        ),
        issue("instructions[2].amount", "amount_not_positive", "must be greater than 0"),
        issue("instructions[3].amount", "amount_not_positive", "must be greater than 0"),
        issue("instructions[4].amount", "amount_too_large", "must be at most 9999999999999.99"),
        issue("instructions", "too_many", "must have at most 2 instructions, got 5"),
      ],
    ],
    [
      "a repeated instructionRef",
      { orderRef: "o", instructions: [ins({}), ins({})] },
      [
        issue(
          "instructions[1].instructionRef",
          "duplicate_instruction_ref",
          "repeats the instructionRef of instructions[0]; instructionRefs must be unique within an order",
        ),
      ],
    ],
    [
      "a null instruction",
      { orderRef: "o", instructions: [null, ins({})] },
      [issue("instructions[0]", "invalid_type", "must be an object, got null")],
    ],
    [
      "the same numeric instructionRef twice: wrong type, not a repeat",
      { orderRef: "o", instructions: [ins({ instructionRef: 5 }), ins({ instructionRef: 5 })] },
      [
        issue("instructions[0].instructionRef", "invalid_type", "must be a string, got a number"),
        issue("instructions[1].instructionRef", "invalid_type", "must be a string, got a number"),
      ],
    ],
    [
      "a numeric customerRef without a schemeId: the customerRef is the problem",
      { orderRef: "o", instructions: [ins({ customerRef: 7, schemeId: undefined })] },
      [issue("instructions[0].customerRef", "invalid_type", "must be a string, got a number")],
    ],
    [
      "a numeric schemeId in customerDefaults: the instruction has no usable scheme either",
      {
        orderRef: "o",
        customerDefaults: { "c-1": { schemeId: 5 } },
        instructions: [ins({ schemeId: undefined })],
      },
      [
        issue('customerDefaults["c-1"].schemeId', "invalid_type", "must be a string, got a number"),
        issue(
          "instructions[0].schemeId",
          "required",
          "is required: neither the instruction nor customerDefaults for its customerRef has a schemeId",
        ),
      ],
    ],
    [
      "a customerDefaults key that is not a ref",
      { orderRef: "o", customerDefaults: { "c 1": { schemeId: "S" } } },
      [issue('customerDefaults["c 1"]', "invalid_characters", `customerRef key ${REF_RULE}`)],
    ],
    [
      "a __proto__ metadata key",
      { orderRef: "o", metadata: JSON.parse('{"__proto__": "x"}') },
      [issue("metadata.__proto__", "reserved_key", 'the key "__proto__" is not supported')],
    ],
    [
      "metadata past every limit, with a card number as a key and an e-mail address as a value",
      {
        orderRef: "o",
        metadata: {
          "": "1",
          abcdefghijk: "2",
          "4111111111111111": "3",
          x: "jane@example.com",
          y: "12345678901",
        },
      },
      [
        issue("metadata", "too_many", "must have at most 2 keys, got 5"),
        issue('metadata[""]', "too_short", "key must not be empty"),
        issue("metadata.abcdefghijk", "too_long", "key must be at most 10 characters, got 11"),
        issue('metadata["4111…1111 (card number)"]', "too_long", "key must be at most 10 characters, got 16"),
        issue(
          'metadata["4111…1111 (card number)"]',
          "card_number_in_metadata",
          "key looks like a card number; card data must not be sent in metadata",
        ),
        issue("metadata.x", "too_long", "value must be at most 10 characters, got 16"),
        issue(
          "metadata.x",
          "email_in_metadata",
          "value looks like an e-mail address; personal data must not be sent in metadata",
        ),
        issue("metadata.y", "too_long", "value must be at most 10 characters, got 11"),
      ],
    ],
  ])("%s", (_, order, expected) => {
    const result = parse(order, limits);
    expect(result.success ? [] : result.errors).toEqual(expected);
  });
});
