import type { IssueCode } from "../../lib/orders/index.ts";

/**
 * Order messages that the zod schema and the JSON Schema (schema/order.schema.json) must judge alike,
 * except where `beyondJsonSchema` names a rule that JSON Schema cannot express: there the JSON Schema
 * accepts what the relay refuses, and docs/orders.md must say so.
 */
export interface CorpusCase {
  name: string;
  /** The message: a value sent as its JSON text, or raw JSON text (repeated keys, deep nesting). */
  body: unknown;
  /** Empty when the relay accepts the message; else codes its issues must include. */
  codes: IssueCode[];
  beyondJsonSchema?: string;
}

type Json = Record<string, unknown>;

// A fake scheme id shaped like Imburse's (32 upper-case hex characters).
const SCHEME = "0123456789ABCDEF0123456789ABCDEF";
/** A Luhn-valid test card number (Visa's public test PAN). */
const CARD = "4012888888881881";

function instruction(patch: Json = {}): Json {
  return {
    instructionRef: "ins-1",
    customerRef: "cust-1",
    direction: "DEBIT",
    amount: "210.00",
    currency: "EUR",
    country: "IE",
    settledByDate: "2030-01-31",
    schemeId: SCHEME,
    ...patch,
  };
}

function order(patch: Json = {}): Json {
  return {
    orderRef: "ORD-2030.0001_a",
    metadata: { source: "billing" },
    instructions: [instruction()],
    ...patch,
  };
}

function withInstruction(patch: Json): Json {
  return order({ instructions: [instruction(patch)] });
}

const keys = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, "v"]));
const valid = (name: string, body: unknown): CorpusCase => ({ name, body, codes: [] });
const invalid = (name: string, body: unknown, ...codes: IssueCode[]): CorpusCase => ({ name, body, codes });
const beyond = (rule: string, name: string, body: unknown, ...codes: IssueCode[]): CorpusCase => ({
  name,
  body,
  codes,
  beyondJsonSchema: rule,
});

export const ORDER_CORPUS: CorpusCase[] = [
  valid("a complete order", order()),
  valid("only an orderRef", { orderRef: "a" }),
  valid("an empty instruction list", { orderRef: "a", instructions: [] }),
  valid(
    "100 instructions",
    order({ instructions: Array.from({ length: 100 }, (_, i) => instruction({ instructionRef: `i${i}` })) }),
  ),
  valid("a 50-character ref of every allowed character", order({ orderRef: `aZ09._-${"x".repeat(43)}` })),
  valid("a number amount", withInstruction({ amount: 19.99 })),
  valid("an amount without fraction", withInstruction({ amount: "210" })),
  valid("the largest amount", withInstruction({ amount: "9999999999999.99" })),
  valid("the largest amount as a number", withInstruction({ amount: 9999999999999.99 })),
  valid("the smallest amount", withInstruction({ amount: "0.01" })),
  valid("an amount with leading zeros", withInstruction({ amount: "007.5" })),
  valid("a CREDIT", withInstruction({ direction: "CREDIT" })),
  valid("29 February of a leap year", withInstruction({ settledByDate: "2028-02-29" })),
  valid(
    "a schemeId from customerDefaults",
    order({
      customerDefaults: { "cust-1": { schemeId: SCHEME, financialInstrumentId: "fi-1", metadata: {} } },
      instructions: [instruction({ schemeId: undefined })],
    }),
  ),
  valid("metadata at the limits", order({ metadata: { ...keys(49), ["k".repeat(40)]: "v".repeat(500) } })),
  valid("a non-Luhn 16-digit ref", order({ orderRef: "4012888888881882" })),
  valid("an 12-digit ref", order({ orderRef: "401288888888" })),

  invalid("not an object", ["orderRef"], "invalid_type"),
  invalid("no orderRef", { instructions: [] }, "required"),
  invalid("an unknown field", order({ extra: 1 }), "unknown_field"),
  invalid("an unknown instruction field", withInstruction({ schemeID: SCHEME }), "unknown_field"),
  invalid("an empty orderRef", order({ orderRef: "" }), "too_short"),
  invalid("a 51-character orderRef", order({ orderRef: "r".repeat(51) }), "too_long"),
  invalid("a ref with a space", order({ orderRef: "a b" }), "invalid_characters"),
  invalid('an orderRef "."', order({ orderRef: "." }), "dot_segment"),
  invalid('an orderRef ".."', order({ orderRef: ".." }), "dot_segment"),
  valid('an orderRef "..." (not a dot-segment)', order({ orderRef: "..." })),
  invalid("an e-mail address as orderRef", order({ orderRef: "jo@example.com" }), "email_in_ref"),
  invalid("a number as orderRef", order({ orderRef: 7 }), "invalid_type"),
  invalid("a missing instruction field", withInstruction({ currency: undefined }), "required"),
  invalid("another direction", withInstruction({ direction: "debit" }), "invalid_value"),
  invalid(
    "101 instructions",
    order({ instructions: Array.from({ length: 101 }, (_, i) => instruction({ instructionRef: `i${i}` })) }),
    "too_many",
  ),
  invalid("a negative amount", withInstruction({ amount: "-3" }), "amount_not_positive"),
  invalid("a zero amount", withInstruction({ amount: "0.00" }), "amount_not_positive"),
  invalid("a zero number amount", withInstruction({ amount: 0 }), "amount_not_positive"),
  invalid("three fraction digits", withInstruction({ amount: "1.005" }), "amount_too_precise"),
  invalid("an amount over the largest", withInstruction({ amount: "10000000000000" }), "amount_too_large"),
  invalid(
    "a number amount over the largest",
    withInstruction({ amount: 10000000000000 }),
    "amount_too_large",
  ),
  invalid("an amount with a separator", withInstruction({ amount: "1,000.00" }), "invalid_amount"),
  invalid("an amount with a dot only", withInstruction({ amount: ".5" }), "invalid_amount"),
  invalid("an amount as a boolean", withInstruction({ amount: true }), "invalid_type"),
  invalid("a lower-case currency", withInstruction({ currency: "eur" }), "invalid_format"),
  invalid("a 3-letter country", withInstruction({ country: "IRL" }), "invalid_format"),
  invalid("a date with slashes", withInstruction({ settledByDate: "2030/01/31" }), "invalid_format"),
  invalid("month 13", withInstruction({ settledByDate: "2030-13-01" }), "invalid_date"),
  invalid("an empty schemeId", withInstruction({ schemeId: "" }), "too_short"),
  invalid("metadata with 51 keys", order({ metadata: keys(51) }), "too_many"),
  invalid("a 41-character metadata key", order({ metadata: { ["k".repeat(41)]: "v" } }), "too_long"),
  invalid("an empty metadata key", order({ metadata: { "": "v" } }), "too_short"),
  invalid("a 501-character metadata value", order({ metadata: { k: "v".repeat(501) } }), "too_long"),
  invalid("a number metadata value", order({ metadata: { k: 1 } }), "invalid_type"),
  invalid("a __proto__ metadata key", '{"orderRef":"a","metadata":{"__proto__":"x"}}', "reserved_key"),
  invalid(
    "a customerRef key with a space",
    order({ customerDefaults: { "a b": { schemeId: SCHEME } } }),
    "invalid_characters",
  ),
  invalid(
    "an unknown customerDefaults field",
    order({ customerDefaults: { c: { scheme: SCHEME } } }),
    "unknown_field",
  ),
  invalid("an object nested in metadata", order({ metadata: { k: { deeper: "x" } } }), "invalid_type"),
  invalid(
    "arrays nested 40 deep",
    `{"orderRef":"a","metadata":{"k":${"[".repeat(40)}${"]".repeat(40)}}}`,
    "too_deep",
  ),

  beyond("card numbers", "a card number as orderRef", order({ orderRef: CARD }), "card_number_in_ref"),
  beyond(
    "card numbers",
    "a card number as instructionRef",
    withInstruction({ instructionRef: `ins-${CARD}` }),
    "card_number_in_ref",
  ),
  beyond(
    "card numbers",
    "a card number as a customerDefaults key",
    order({ customerDefaults: { [CARD]: { schemeId: SCHEME } } }),
    "card_number_in_ref",
  ),
  beyond(
    "card numbers",
    "a card number in metadata",
    order({ metadata: { note: `card ${CARD}` } }),
    "card_number_in_metadata",
  ),
  beyond(
    "card numbers",
    "a card number as a metadata key",
    order({ metadata: { [CARD]: "x" } }),
    "card_number_in_metadata",
  ),
  beyond(
    "e-mail addresses",
    "an e-mail address in metadata",
    order({ metadata: { contact: "jo@example.com" } }),
    "email_in_metadata",
  ),
  beyond(
    "e-mail addresses",
    "an e-mail address as a metadata key",
    order({ metadata: { "jo@example.com": "x" } }),
    "email_in_metadata",
  ),
  beyond(
    "real calendar dates",
    "30 February",
    withInstruction({ settledByDate: "2030-02-30" }),
    "invalid_date",
  ),
  beyond(
    "real calendar dates",
    "29 February of a common year",
    withInstruction({ settledByDate: "2030-02-29" }),
    "invalid_date",
  ),
  beyond(
    "unique instructionRefs",
    "two instructions with one instructionRef",
    order({ instructions: [instruction(), instruction({ amount: "1.00" })] }),
    "duplicate_instruction_ref",
  ),
  beyond(
    "a schemeId on the instruction or in customerDefaults",
    "no schemeId anywhere",
    withInstruction({ schemeId: undefined }),
    "required",
  ),
  beyond(
    "two fraction digits on a number amount",
    "a number amount with three fraction digits",
    withInstruction({ amount: 0.125 }),
    "amount_too_precise",
  ),
  beyond(
    "lengths in UTF-16 code units",
    "a metadata value of 300 emoji (600 UTF-16 code units)",
    order({ metadata: { k: "😀".repeat(300) } }),
    "too_long",
  ),
  beyond(
    "repeated keys",
    "an amount given twice",
    `{"orderRef":"a","instructions":[${JSON.stringify(instruction()).replace('"amount":"210.00"', '"amount":"1.00","amount":"1000.00"')}]}`,
    "duplicate_key",
  ),
  beyond("repeated keys", "orderRef given twice", '{"orderRef":"a","orderRef":"b"}', "duplicate_key"),
];

/** Marks the raw-text cases: a string body in this corpus is always the message text itself. */
export function messageText(test: CorpusCase): string {
  return typeof test.body === "string" ? test.body : JSON.stringify(test.body);
}
