import { settledByDateIn } from "./dates.ts";
/** A fake scheme id shaped like Imburse's (32 upper-case hex characters). */
export const SCHEME_ID = "0123456789ABCDEF0123456789ABCDEF";

/** A valid create-order body with one instruction; `extra` adds or replaces top-level fields. */
export function validOrder(orderRef: string, amount = "25.00", extra: Record<string, unknown> = {}) {
  return {
    orderRef,
    instructions: [
      {
        instructionRef: `${orderRef}-1`,
        customerRef: "cust-1",
        direction: "DEBIT",
        amount,
        currency: "EUR",
        country: "IE",
        settledByDate: settledByDateIn(60),
        schemeId: SCHEME_ID,
      },
    ],
    ...extra,
  };
}

/** An orders file: one `{"body", "correlationId"}` object a line. */
export function ordersFile(lines: ReadonlyArray<{ body: unknown; correlationId?: string }>): string {
  return `${lines.map((line) => JSON.stringify(line)).join("\n")}\n`;
}
