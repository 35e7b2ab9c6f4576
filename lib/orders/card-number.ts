/** Card numbers (PANs) are 13 to 19 digits long (ISO/IEC 7812). */
const PAN_MIN_DIGITS = 13;
const PAN_MAX_DIGITS = 19;

/** Digit groups joined by spaces or dashes: "4111 1111 1111 1111", "4111-1111-1111-1111". */
const DIGIT_RUN = /\d+(?:[ -]+\d+)*/g;

/** The Luhn (mod 10) check that every card number passes. */
function passesLuhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

/**
 * Whether the text contains something that looks like a card number: 13 to 19 digits, optionally
 * grouped by spaces or dashes, passing the Luhn check. Within a run of groups every stretch of whole
 * groups is tried, so "order 12 4111 1111 1111 1111" is caught; a single unbroken run of more than 19
 * digits is some other identifier and is not split.
 */
export function containsCardNumber(text: string): boolean {
  return findCardNumber(text) !== undefined;
}

/** The digits of the first card number in the text (see {@link containsCardNumber}), if any. */
export function findCardNumber(text: string): string | undefined {
  for (const [run] of text.matchAll(DIGIT_RUN)) {
    const groups = run.split(/[ -]+/);
    for (let start = 0; start < groups.length; start++) {
      let digits = "";
      for (let end = start; end < groups.length; end++) {
        digits += groups[end];
        if (digits.length > PAN_MAX_DIGITS) break;
        if (digits.length >= PAN_MIN_DIGITS && passesLuhn(digits)) return digits;
      }
    }
  }
  return undefined;
}
