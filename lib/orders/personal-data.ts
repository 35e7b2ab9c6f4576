import { findCardNumber } from "./card-number.ts";

// The lookbehind makes a match start only at the beginning of a local part, which keeps the scan linear.
const EMAIL =
  /(?<![A-Za-z0-9.!#$%&'*+/=?^_`{|}~-])[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/;

/** Whether the text contains something shaped like an e-mail address (`local@domain.tld`). */
export function containsEmailAddress(text: string): boolean {
  return EMAIL.test(text);
}

/** Personal data found in a text: what it looks like, and a mask that may be shown in its place. */
export interface PersonalData {
  kind: "card number" | "e-mail address";
  /** `4012…1881 (card number)`, `j…@… (e-mail address)`: enough to recognise it, not to use it. */
  mask: string;
}

/**
 * The card number (13 to 19 digits passing the Luhn check, see `containsCardNumber`) or e-mail address a
 * text contains, if any. Imburse forbids both outside its own card and customer fields, and the relay
 * never repeats them: in refs, metadata keys and values it refuses them, and wherever it shows such a
 * text it shows the mask instead.
 */
export function findPersonalData(text: string): PersonalData | undefined {
  const card = findCardNumber(text);
  if (card !== undefined) {
    return { kind: "card number", mask: `${card.slice(0, 4)}…${card.slice(-4)} (card number)` };
  }
  const email = EMAIL.exec(text)?.[0];
  if (email !== undefined) return { kind: "e-mail address", mask: `${email[0]}…@… (e-mail address)` };
  return undefined;
}

/** The text, or its mask when it holds personal data (see {@link findPersonalData}). */
export function maskPersonalData(text: string): string {
  return findPersonalData(text)?.mask ?? text;
}
