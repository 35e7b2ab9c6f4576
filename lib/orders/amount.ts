import type { IssueCode } from "./issues.ts";

/**
 * The largest amount accepted: 9,999,999,999,999.99. With at most 15 significant digits every accepted
 * amount survives a round trip through a JSON number (an IEEE double) unchanged, so it means the same
 * whether Imburse or a publisher reads it as a string or as a number.
 */
export const MAX_AMOUNT_MINOR_UNITS = 999_999_999_999_999n;

/** The outcome of {@link parseAmount}: the canonical amount, or why the value is not one. */
export type AmountCheck =
  | { ok: true; amount: string; minorUnits: bigint }
  | {
      ok: false;
      code: Extract<
        IssueCode,
        "invalid_type" | "invalid_amount" | "amount_not_positive" | "amount_too_precise" | "amount_too_large"
      >;
      message: string;
    };

/** Thrown by {@link minorUnits} for a value that is not a plain decimal amount in whole minor units. */
export class InvalidAmountError extends Error {
  override readonly name = "InvalidAmountError";
}

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

interface Decimal {
  negative: boolean;
  integer: string;
  fraction: string;
}

/**
 * Splits a plain decimal (`210`, `210.5`, `-1.33`). A number is read through `String()`, the shortest
 * text that round-trips, so `0.1` reads as "0.1" and not as its binary expansion; exponents (`1e21`),
 * NaN and infinities are not plain decimals.
 */
function splitDecimal(value: string | number): Decimal | undefined {
  const match = DECIMAL.exec(String(value));
  if (!match) return undefined;
  return { negative: match[1] === "-", integer: match[2] ?? "", fraction: match[3] ?? "" };
}

/** `12345n` → `"123.45"`: the canonical form, exactly two fraction digits and no leading zeros. */
export function formatMinorUnits(minor: bigint): string {
  const sign = minor < 0n ? "-" : "";
  const magnitude = minor < 0n ? -minor : minor;
  return `${sign}${magnitude / 100n}.${(magnitude % 100n).toString().padStart(2, "0")}`;
}

/**
 * Validates a requested instruction amount and normalises it. Accepted: a string such as "210.00" or a
 * JSON number such as 210 or 19.99, positive, with at most two fraction digits, at most
 * {@link MAX_AMOUNT_MINOR_UNITS}. Both forms normalise to a string with exactly two fraction digits
 * ("210" and 210 → "210.00", 0.1 → "0.10"), so that comparisons and idempotency hashes do not depend on
 * how a publisher wrote the amount. A number whose shortest form has more digits (0.1 + 0.2) is
 * rejected rather than rounded: rounding a payment amount silently is worse than refusing it.
 */
export function parseAmount(value: unknown): AmountCheck {
  if (typeof value !== "string" && typeof value !== "number") {
    return {
      ok: false,
      code: "invalid_type",
      message: 'must be a decimal string such as "210.00" or a number',
    };
  }
  const decimal = splitDecimal(value);
  if (!decimal) {
    return {
      ok: false,
      code: "invalid_amount",
      message:
        'must be a plain decimal such as "210.00": digits with an optional "." and fraction, without sign, exponent, spaces or separators',
    };
  }
  if (decimal.negative) return { ok: false, code: "amount_not_positive", message: "must be greater than 0" };
  if (decimal.fraction.length > 2) {
    return { ok: false, code: "amount_too_precise", message: "must have at most 2 fraction digits" };
  }
  const minor = BigInt(decimal.integer + decimal.fraction.padEnd(2, "0"));
  if (minor === 0n) return { ok: false, code: "amount_not_positive", message: "must be greater than 0" };
  if (minor > MAX_AMOUNT_MINOR_UNITS) {
    return {
      ok: false,
      code: "amount_too_large",
      message: `must be at most ${formatMinorUnits(MAX_AMOUNT_MINOR_UNITS)}`,
    };
  }
  return { ok: true, amount: formatMinorUnits(minor), minorUnits: minor };
}

/**
 * The amount in minor units (cents): "210.00", "210" and 210 all give 21000n. Lenient on purpose, for
 * reading amounts that Imburse returns: any sign, and fraction digits beyond the second are accepted when
 * they are zeros ("210.0000").
 *
 * @throws InvalidAmountError when the value is not a plain decimal or has non-zero digits beyond cents.
 */
export function minorUnits(amount: string | number): bigint {
  const decimal = splitDecimal(amount);
  if (!decimal || /[^0]/.test(decimal.fraction.slice(2))) {
    throw new InvalidAmountError("Not a plain decimal amount in whole minor units");
  }
  const minor = BigInt(decimal.integer + decimal.fraction.slice(0, 2).padEnd(2, "0"));
  return decimal.negative ? -minor : minor;
}
