import type { z } from "zod/mini";
import { addIssue } from "./issues.ts";
import { findPersonalData } from "./personal-data.ts";

/** A non-null, non-array object, as JSON objects parse. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Refinement options that run a check even after other issues (zod skips it by default), so that one pass
 * reports every problem of a message. The check still needs a value of the right shape, and must treat
 * nested values as unchecked: they may be the ones that failed.
 */
export const EVEN_AFTER_ISSUES = {
  object: { when: (payload: z.core.ParsePayload) => isRecord(payload.value) },
  array: { when: (payload: z.core.ParsePayload) => Array.isArray(payload.value) },
};

/**
 * Reports personal data in a ref or in a metadata key or value with its stable code
 * (`card_number_in_ref`, `email_in_metadata`, …). The message names the kind, never the text.
 *
 * @param subject what the text is, starting the message: "", "key ", "customerRef key ".
 */
export function refusePersonalData(
  ctx: Parameters<typeof addIssue>[0],
  text: string,
  place: "ref" | "metadata",
  subject = "",
  path: PropertyKey[] = [],
): void {
  const found = findPersonalData(text);
  if (!found) return;
  const card = found.kind === "card number";
  const where = place === "ref" ? "refs" : "metadata";
  addIssue(
    ctx,
    card ? `card_number_in_${place}` : `email_in_${place}`,
    card
      ? `${subject}looks like a card number; card data must not be sent in ${where}`
      : `${subject}looks like an e-mail address; personal data must not be sent in ${where}`,
    path,
  );
}
