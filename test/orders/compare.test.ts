import { describe, expect, it } from "vitest";
import { compareWithExisting, type Order, parseOrder } from "../../lib/orders/index.ts";

type Json = Record<string, unknown>;

const SCHEME = "0123456789ABCDEF0123456789ABCDEF";
const SECRET_METADATA = "requested-metadata-value-7c1e";

function requestedOrder(): Order {
  const result = parseOrder({
    orderRef: "ORD-1",
    metadata: { note: SECRET_METADATA },
    instructions: [
      {
        instructionRef: "ins-1",
        customerRef: "cust-1",
        direction: "DEBIT",
        amount: "210.00",
        currency: "EUR",
        country: "IE",
        settledByDate: "2024-02-29",
        schemeId: SCHEME,
      },
      {
        instructionRef: "ins-2",
        customerRef: "cust-2",
        direction: "CREDIT",
        amount: 19.99,
        currency: "GBP",
        country: "GB",
        settledByDate: "2025-01-31",
        schemeId: SCHEME,
      },
    ],
  });
  if (!result.success) throw new Error("the fixture must be a valid order");
  return result.order;
}

/** The order as GET /v1/order-management/{orderRef} returns it: numbers for amounts, server-side fields. */
function existingOrder(): Json {
  return {
    orderRef: "ORD-1",
    metadata: { note: "server-metadata-value-93fa" },
    customerDefaults: {},
    instructions: [
      {
        instructionRef: "ins-1",
        customerRef: "cust-1",
        direction: "DEBIT",
        amount: 210,
        currency: "EUR",
        country: "IE",
        settledByDate: "2024-02-29",
        status: "READY",
        scheme: { schemeId: SCHEME, source: "CUSTOMER", canUpdate: true },
        financialInstrument: { financialInstrumentId: "", source: "NONE", canUpdate: true },
        metadata: { other: "server-metadata-value-93fa" },
      },
      {
        instructionRef: "ins-2",
        customerRef: "cust-2",
        direction: "CREDIT",
        amount: "19.99",
        currency: "GBP",
        country: "GB",
        settledByDate: "2025-01-31",
        status: "INCOMPLETE",
      },
    ],
  };
}

function withExistingInstruction(index: number, patch: Json): Json {
  const order = existingOrder();
  const list = order.instructions as Json[];
  list[index] = { ...list[index], ...patch };
  return order;
}

function differencesOf(existing: unknown): string[] {
  const result = compareWithExisting(requestedOrder(), existing);
  return result.equal ? [] : result.differences;
}

describe("compareWithExisting", () => {
  it("finds an order equal despite number amounts, server-side fields and other metadata", () => {
    expect(compareWithExisting(requestedOrder(), existingOrder())).toEqual({ equal: true });
  });

  it.each<[string, unknown]>([
    ["210.0000", "210.0000"],
    ["210.00", "210.00"],
    ["210", "210"],
    ["210.0 as a number", 210.0],
  ])("compares amounts numerically: %s", (_, amount) => {
    expect(differencesOf(withExistingInstruction(0, { amount }))).toEqual([]);
  });

  it("does not require the existing order to state its orderRef", () => {
    expect(differencesOf({ ...existingOrder(), orderRef: undefined })).toEqual([]);
  });

  it("finds an order without instructions equal to an existing one with none", () => {
    const requested = parseOrder({ orderRef: "ORD-1" });
    if (!requested.success) throw new Error("the fixture must be a valid order");
    expect(compareWithExisting(requested.order, { orderRef: "ORD-1", instructions: [] })).toEqual({
      equal: true,
    });
  });

  it.each<[string, unknown, string[]]>([
    [
      "a different amount",
      withExistingInstruction(0, { amount: 200 }),
      ['instruction "ins-1": amount differs (requested 210.00, existing 200.00)'],
    ],
    [
      "an amount one cent off",
      withExistingInstruction(1, { amount: 19.98 }),
      ['instruction "ins-2": amount differs (requested 19.99, existing 19.98)'],
    ],
    [
      "a negative amount",
      withExistingInstruction(0, { amount: -210 }),
      ['instruction "ins-1": amount differs (requested 210.00, existing -210.00)'],
    ],
    [
      "an amount with sub-cent digits",
      withExistingInstruction(0, { amount: "210.001" }),
      ['instruction "ins-1": the existing amount "210.001" is not an amount in whole minor units'],
    ],
    [
      "a missing amount",
      withExistingInstruction(0, { amount: undefined }),
      ['instruction "ins-1": the existing instruction has no amount'],
    ],
    [
      "an object amount",
      withExistingInstruction(0, { amount: { value: 210 } }),
      ['instruction "ins-1": the existing amount an object is not an amount in whole minor units'],
    ],
    [
      "a different currency",
      withExistingInstruction(0, { currency: "GBP" }),
      ['instruction "ins-1": currency differs (requested EUR, existing "GBP")'],
    ],
    [
      "a missing currency",
      withExistingInstruction(0, { currency: undefined }),
      ['instruction "ins-1": currency differs (requested EUR, existing none)'],
    ],
    [
      "a different direction",
      withExistingInstruction(1, { direction: "DEBIT" }),
      ['instruction "ins-2": direction differs (requested CREDIT, existing "DEBIT")'],
    ],
    [
      "a missing instruction (not yet processed by Imburse)",
      { ...existingOrder(), instructions: [(existingOrder().instructions as Json[])[0]] },
      ['instruction "ins-2" is missing from the existing order (Imburse may not have processed it yet)'],
    ],
    [
      "an extra instruction",
      {
        ...existingOrder(),
        instructions: [...(existingOrder().instructions as Json[]), { instructionRef: "ins-3", amount: 1 }],
      },
      ['the existing order has instruction "ins-3", which was not requested'],
    ],
    [
      "an instruction without an instructionRef",
      { ...existingOrder(), instructions: [...(existingOrder().instructions as Json[]), "garbage"] },
      ["existing instructions[2] has no instructionRef"],
    ],
    [
      "a repeated instructionRef",
      {
        ...existingOrder(),
        instructions: [...(existingOrder().instructions as Json[]), { instructionRef: "ins-1" }],
      },
      ['instruction "ins-1" appears more than once in the existing order'],
    ],
    [
      "a different orderRef",
      { ...existingOrder(), orderRef: "ORD-2" },
      ['the existing order has orderRef "ORD-2", not "ORD-1"'],
    ],
    [
      "an overlong orderRef, described rather than quoted",
      { ...existingOrder(), orderRef: "o".repeat(61) },
      ['the existing order has orderRef a string of 61 characters, not "ORD-1"'],
    ],
    [
      "an instruction that is null, and one whose instructionRef is a number",
      {
        ...existingOrder(),
        instructions: [...(existingOrder().instructions as Json[]), null, { instructionRef: 3 }],
      },
      ["existing instructions[2] has no instructionRef", "existing instructions[3] has no instructionRef"],
    ],
    [
      "a 60-character orderRef, quoted in full",
      { ...existingOrder(), orderRef: "o".repeat(60) },
      [`the existing order has orderRef "${"o".repeat(60)}", not "ORD-1"`],
    ],
    [
      "an array amount",
      withExistingInstruction(0, { amount: [210] }),
      ['instruction "ins-1": the existing amount an array is not an amount in whole minor units'],
    ],
    [
      "a null currency",
      withExistingInstruction(0, { currency: null }),
      ['instruction "ins-1": currency differs (requested EUR, existing null)'],
    ],
    [
      "a zero amount",
      withExistingInstruction(0, { amount: 0 }),
      ['instruction "ins-1": amount differs (requested 210.00, existing 0.00)'],
    ],
  ])("reports %s", (_, existing, expected) => {
    expect(differencesOf(existing)).toEqual(expected);
  });

  it.each([null, "ORD-1", [], { orderRef: "ORD-1" }, { instructions: {} }])(
    "finds %j unrecognisable: a conflict, not instructions still to come",
    (existing) => {
      expect(compareWithExisting(requestedOrder(), existing)).toEqual({
        equal: false,
        differences: [
          "the existing order is not recognisable: expected an object with an instructions array",
        ],
        missing: [],
      });
    },
  );

  it("lists the requested instructions the existing order lacks: they may still be processing", () => {
    const partial = { ...existingOrder(), instructions: [(existingOrder().instructions as Json[])[0]] };
    expect(compareWithExisting(requestedOrder(), partial)).toMatchObject({
      equal: false,
      missing: ["ins-2"],
    });
    expect(compareWithExisting(requestedOrder(), withExistingInstruction(0, { amount: 1 }))).toMatchObject({
      equal: false,
      missing: [],
    });
  });

  it("reports every difference at once", () => {
    const existing = {
      orderRef: "ORD-1",
      instructions: [{ instructionRef: "ins-1", amount: "1.00", currency: "USD", direction: "CREDIT" }],
    };
    expect(differencesOf(existing)).toEqual([
      'instruction "ins-1": amount differs (requested 210.00, existing 1.00)',
      'instruction "ins-1": currency differs (requested EUR, existing "USD")',
      'instruction "ins-1": direction differs (requested DEBIT, existing "CREDIT")',
      'instruction "ins-2" is missing from the existing order (Imburse may not have processed it yet)',
    ]);
  });

  it.each<[string, unknown]>([
    ["null", null],
    ["a string", "ORDER_ALREADY_EXISTS"],
    ["an array", []],
    ["an object without instructions", { orderRef: "ORD-1" }],
    ["instructions that are not an array", { orderRef: "ORD-1", instructions: { "ins-1": {} } }],
  ])("reports %s as an unrecognisable order without throwing", (_, existing) => {
    expect(differencesOf(existing)).toEqual([
      "the existing order is not recognisable: expected an object with an instructions array",
    ]);
  });

  it("quotes no metadata in its differences", () => {
    const existing = withExistingInstruction(0, {
      amount: 1,
      metadata: { note: "server-metadata-value-93fa" },
    });
    const rendered = JSON.stringify(compareWithExisting(requestedOrder(), existing));
    expect(rendered).toContain("amount differs");
    expect(rendered).not.toContain("metadata-value");
  });
});
