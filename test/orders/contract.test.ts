import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { orderJsonSchemaText } from "../../lib/cli/index.ts";
import { formatIssues, ISSUE_CODES, orderJsonSchema, parseOrderMessage } from "../../lib/orders/index.ts";
import { type CorpusCase, messageText, ORDER_CORPUS } from "../corpus/orders.ts";
import { runCli } from "../support/run-cli.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const read = (path: string) => readFile(resolve(ROOT, path), "utf8");

// Formats are annotations in draft 2020-12 unless a validator is asked to assert them; like most
// publishers' validators, this one is not, so `format: "date"` checks nothing here.
const validate = new Ajv2020({ allErrors: true, validateFormats: false }).compile(orderJsonSchema());

function relayVerdict(test: CorpusCase) {
  return parseOrderMessage(messageText(test));
}

describe("the order corpus shared by the zod schema and the JSON Schema", () => {
  it.each(ORDER_CORPUS.map((test) => [test.name, test] as const))("judges alike: %s", (_, test) => {
    const relay = relayVerdict(test);
    const jsonSchemaAccepts = validate(JSON.parse(messageText(test)));
    if (test.codes.length === 0) {
      expect(relay.success, relay.success ? "" : formatIssues(relay.errors)).toBe(true);
      expect(validate.errors ?? []).toEqual([]);
      return;
    }
    expect(relay.success).toBe(false);
    if (!relay.success)
      expect(relay.errors.map((issue) => issue.code)).toEqual(expect.arrayContaining(test.codes));
    // A rule JSON Schema cannot express: the schema lets the message through, and the docs must say so.
    expect(jsonSchemaAccepts).toBe(test.beyondJsonSchema !== undefined);
  });

  it("covers every issue code that a value can earn", () => {
    const covered = new Set(ORDER_CORPUS.flatMap((test) => test.codes));
    // Not earned by an order's content: a body that is not JSON or too large (strict.test.ts), an SNS
    // envelope problem, the catch-all.
    const uncovered = ISSUE_CODES.filter((code) => !covered.has(code));
    expect(uncovered).toEqual(["invalid_json", "too_large", "sns_envelope", "invalid"]);
  });
});

describe("schema/order.schema.json", () => {
  it("is exactly what `imburse-relay schema` prints (run `npm run schema` after changing the rules)", async () => {
    const printed = await runCli(["schema"]);
    expect(printed.code).toBe(0);
    expect(printed.stdout).toBe(orderJsonSchemaText());
    expect(await read("schema/order.schema.json")).toBe(printed.stdout);
  });

  it("is a valid draft 2020-12 schema under ajv's strict mode", () => {
    expect(() =>
      new Ajv2020({ strict: true, validateFormats: false }).compile(orderJsonSchema()),
    ).not.toThrow();
  });
});

describe("docs/orders.md", () => {
  it("has a complete example that both schemas accept", async () => {
    const doc = await read("docs/orders.md");
    const example = /```json\n([\s\S]*?)\n```/.exec(doc)?.[1];
    expect(example).toBeDefined();
    const relay = parseOrderMessage(example!);
    expect(relay.success, relay.success ? "" : formatIssues(relay.errors)).toBe(true);
    expect(validate(JSON.parse(example!))).toBe(true);
    // Complete: every field of an order and of an instruction appears in it.
    for (const field of [
      "orderRef",
      "instructions",
      "metadata",
      "customerDefaults",
      "schemeId",
      "financialInstrumentId",
    ]) {
      expect(example).toContain(`"${field}"`);
    }
  });

  it("explains every issue code and names every rule JSON Schema cannot express", async () => {
    const doc = await read("docs/orders.md");
    for (const code of ISSUE_CODES) expect(doc, code).toContain(`\`${code}\``);
    for (const rule of new Set(ORDER_CORPUS.flatMap((test) => test.beyondJsonSchema ?? []))) {
      expect(doc.toLowerCase(), rule).toContain(rule.toLowerCase());
    }
  });
});
