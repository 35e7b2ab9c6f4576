import type { z } from "zod";

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
