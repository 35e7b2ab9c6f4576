import { formatMinorUnits, MAX_AMOUNT_MINOR_UNITS } from "./amount.ts";
import { DEFAULT_ORDER_LIMITS, type OrderLimits } from "./limits.ts";
import { DOT_SEGMENTS, REF_CHARACTERS, REF_MAX_LENGTH } from "./schema.ts";

/** A JSON Schema document, as plain JSON. */
export type JsonSchema = { [keyword: string]: unknown };

/** Integer digits of the largest amount (9,999,999,999,999.99 has 13). */
const AMOUNT_INTEGER_DIGITS = (MAX_AMOUNT_MINOR_UNITS / 100n).toString().length;

/**
 * A positive plain decimal with at most two fraction digits and at most {@link AMOUNT_INTEGER_DIGITS}
 * significant integer digits (leading zeros are allowed, as `parseAmount` allows them).
 */
const AMOUNT_PATTERN = `^(?:0*[1-9][0-9]{0,${AMOUNT_INTEGER_DIGITS - 1}}(?:\\.[0-9]{1,2})?|0+\\.(?:0[1-9]|[1-9][0-9]?))$`;

/** `YYYY-MM-DD` with a month of 01 to 12 and a day of 01 to 31; days past a month's end are not caught. */
const DATE_PATTERN = "^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$";

/**
 * The order message as a JSON Schema (draft 2020-12), for publishers in any language; `imburse-relay schema`
 * prints it and `schema/order.schema.json` is that output. It is written here rather than generated from
 * the zod schema because zod cannot emit the rules the relay checks in code (the amount is a transform,
 * most rules are refinements carrying stable issue codes), and it shares every number and pattern with the
 * zod schema. A test runs both over one corpus and asserts they accept and reject the same messages,
 * except for the rules that JSON Schema cannot express, listed in `docs/orders.md`: card numbers and
 * e-mail addresses, real calendar dates, unique instructionRefs, a schemeId from customerDefaults, two
 * fraction digits on a JSON number amount, lengths in UTF-16 code units, repeated keys and nesting depth.
 */
export function orderJsonSchema(limits: OrderLimits = DEFAULT_ORDER_LIMITS): JsonSchema {
  const maxAmount = formatMinorUnits(MAX_AMOUNT_MINOR_UNITS);
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: "imburse-relay order message",
    description:
      "The body of a message on the imburse-relay orders queue: an Imburse create-order request " +
      "(POST /v1/order-management). See docs/orders.md for the rules this schema cannot express.",
    type: "object",
    additionalProperties: false,
    required: ["orderRef"],
    properties: {
      orderRef: { $ref: "#/$defs/ref", description: "Your unique reference for the order." },
      instructions: {
        type: "array",
        maxItems: limits.maxInstructions,
        items: { $ref: "#/$defs/instruction" },
        description: "The payments of the order; instructionRefs must be unique within it.",
      },
      metadata: { $ref: "#/$defs/metadata" },
      customerDefaults: {
        type: "object",
        propertyNames: { $ref: "#/$defs/ref", not: { const: "__proto__" } },
        additionalProperties: { $ref: "#/$defs/customerDefault" },
        description: "Defaults per customerRef for the instructions of that customer.",
      },
    },
    $defs: {
      ref: {
        type: "string",
        minLength: 1,
        maxLength: REF_MAX_LENGTH,
        pattern: REF_CHARACTERS.source,
        not: { enum: [...DOT_SEGMENTS] },
        description: '1 to 50 of A-Z a-z 0-9 . _ -, not "." or "..", holding no card number.',
      },
      instruction: {
        type: "object",
        additionalProperties: false,
        required: [
          "instructionRef",
          "customerRef",
          "direction",
          "amount",
          "currency",
          "country",
          "settledByDate",
        ],
        properties: {
          instructionRef: { $ref: "#/$defs/ref" },
          customerRef: { $ref: "#/$defs/ref" },
          direction: { enum: ["CREDIT", "DEBIT"] },
          amount: { $ref: "#/$defs/amount" },
          currency: {
            type: "string",
            pattern: "^[A-Z]{3}$",
            description: "ISO 4217 code, such as EUR.",
          },
          country: {
            type: "string",
            pattern: "^[A-Z]{2}$",
            description: "ISO 3166-1 alpha-2 code, such as IE.",
          },
          settledByDate: {
            type: "string",
            format: "date",
            pattern: DATE_PATTERN,
            description: "A real calendar date, YYYY-MM-DD.",
          },
          schemeId: {
            type: "string",
            minLength: 1,
            description: "Required unless customerDefaults[customerRef].schemeId is set.",
          },
          financialInstrumentId: { type: "string" },
          metadata: { $ref: "#/$defs/metadata" },
        },
      },
      amount: {
        description: `Positive, at most 2 fraction digits, at most ${maxAmount}. Strings are preferred.`,
        anyOf: [
          { type: "string", pattern: AMOUNT_PATTERN },
          { type: "number", exclusiveMinimum: 0, maximum: Number(maxAmount) },
        ],
      },
      customerDefault: {
        type: "object",
        additionalProperties: false,
        properties: {
          financialInstrumentId: { type: "string" },
          schemeId: { type: "string", minLength: 1 },
          metadata: { $ref: "#/$defs/metadata" },
        },
      },
      metadata: {
        type: "object",
        maxProperties: limits.metadataMaxKeys,
        propertyNames: {
          minLength: 1,
          maxLength: limits.metadataMaxKeyLength,
          not: { const: "__proto__" },
        },
        additionalProperties: { type: "string", maxLength: limits.metadataMaxValueLength },
        description: "String values; no card numbers or e-mail addresses in keys or values.",
      },
    },
  };
}
