import type { OrderLine } from "../tools/index.ts";
import type { LineOutcome } from "./outcomes.ts";

/** One order of the demo set: what it shows, and the outcome the relay must give it. */
export interface DemoLine extends OrderLine {
  note: string;
  expected: LineOutcome;
}

/**
 * The simulator faults of the demo, matched on orderRef prefixes (see `parseFaultSpec`): throttled twice
 * with `Retry-After: 1`, failed twice with 503, held without an answer once (the order is stored, the
 * relay's call times out and the retry finds it), refused with a 400, and down for good.
 */
export const DEMO_FAULTS = [
  "create[ref^=THROTTLE-]:429:retry-after=1:times=2",
  "create[ref^=FLAKY-]:503:times=2",
  "create[ref^=TIMEOUT-]:timeout:times=1",
  "create[ref^=REJECT-]:400:code=SCHEME_NOT_FOUND",
  "create[ref^=DOWN-]:503",
].join(",");

// A fake scheme id shaped like Imburse's (32 upper-case hex characters).
const DEMO_SCHEME_ID = "0123456789ABCDEF0123456789ABCDEF";

/** The demo's instructions settle 30 days after the run: fixtures must not age. */
const SETTLE_IN_DAYS = 30;

function instruction(
  orderRef: string,
  index: number,
  amount: string,
  settledByDate: string,
  extra: Record<string, unknown> = {},
) {
  return {
    instructionRef: `${orderRef}-${index}`,
    customerRef: `cust-${index}`,
    direction: "DEBIT",
    amount,
    currency: "EUR",
    country: "IE",
    settledByDate,
    schemeId: DEMO_SCHEME_ID,
    ...extra,
  };
}

function body(orderRef: string, instructions: ReturnType<typeof instruction>[]): string {
  return JSON.stringify({ orderRef, metadata: { source: "imburse-relay demo" }, instructions });
}

/**
 * The demo set `npm start` publishes: valid orders, invalid ones, a duplicate, a conflicting orderRef and
 * orders the simulator throttles, fails, times out, rejects or never accepts (with {@link DEMO_FAULTS}).
 * `maxAttempts` is the relay's optional cap: the expected outcomes of the faulted orders depend on it. `now`
 * (epoch milliseconds) dates the instructions.
 */
export function demoLines({
  maxAttempts,
  now,
}: {
  maxAttempts?: number | undefined;
  now: number;
}): DemoLine[] {
  const succeedsOn = (attempt: number, outcome: LineOutcome = "submitted"): LineOutcome =>
    maxAttempts === undefined || maxAttempts >= attempt ? outcome : "retries-exhausted";
  const settledByDate = new Date(now + SETTLE_IN_DAYS * 86_400_000).toISOString().slice(0, 10);
  const line = (orderRef: string, amount = "25.00") => instruction(orderRef, 1, amount, settledByDate);
  const order = (orderRef: string, instructions = [line(orderRef)]) => body(orderRef, instructions);
  const twoInstructions = [line("DEMO-1002", "10.00"), instruction("DEMO-1002", 2, "32.50", settledByDate)];
  const lines: Omit<DemoLine, "line" | "ok">[] = [
    { body: order("DEMO-1001"), correlationId: "demo-0001", note: "valid", expected: "submitted" },
    { body: order("DEMO-1002", twoInstructions), note: "valid, no correlation id", expected: "submitted" },
    { body: order("DEMO-1003"), correlationId: "demo-0003", note: "valid", expected: "submitted" },
    {
      body: '{"orderRef": "DEMO-1004", "instructions": [',
      correlationId: "demo-0004",
      note: "not JSON",
      expected: "invalid",
    },
    {
      body: JSON.stringify({
        orderRef: "DEMO-1005",
        metadata: { note: "paid with 4111 1111 1111 1111" },
        instructions: [line("DEMO-1005")],
      }),
      correlationId: "demo-0005",
      note: "card number in metadata",
      expected: "invalid",
    },
    {
      body: order("DEMO-1006", [line("DEMO-1006", "12.345")]),
      correlationId: "demo-0006",
      note: "amount with 3 decimals",
      expected: "invalid",
    },
    {
      body: order("DEMO-1001"),
      correlationId: "demo-0007",
      note: "duplicate of line 1",
      expected: "submitted",
    },
    {
      body: order("DEMO-1002", [line("DEMO-1002", "99.00")]),
      correlationId: "demo-0008",
      note: "orderRef of line 2, other content",
      expected: "conflict",
    },
    {
      body: order("THROTTLE-1009"),
      correlationId: "demo-0009",
      note: "429 twice (Retry-After 1 s)",
      expected: succeedsOn(3),
    },
    { body: order("FLAKY-1010"), correlationId: "demo-0010", note: "503 twice", expected: succeedsOn(3) },
    {
      body: order("TIMEOUT-1011"),
      correlationId: "demo-0011",
      note: "stored, but the answer times out",
      expected: succeedsOn(2, "already-existed"),
    },
    {
      body: order("REJECT-1012"),
      correlationId: "demo-0012",
      note: "refused with 400",
      expected: "rejected",
    },
    {
      body: order("DOWN-1013"),
      correlationId: "demo-0013",
      note:
        maxAttempts === undefined
          ? "503 until the retry budget runs out"
          : `503 on all ${maxAttempts} attempts`,
      expected: "retries-exhausted",
    },
  ];
  return lines.map((line, index) => ({ line: index + 1, ok: true, ...line }));
}
