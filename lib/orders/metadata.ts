import * as z from "zod/mini";
import { EVEN_AFTER_ISSUES, isRecord, refusePersonalData } from "./guards.ts";
import { addIssue } from "./issues.ts";
import type { OrderLimits } from "./limits.ts";

/** The metadata limits, a subset of {@link OrderLimits}. */
export type MetadataLimits = Pick<
  OrderLimits,
  "metadataMaxKeys" | "metadataMaxKeyLength" | "metadataMaxValueLength"
>;

/**
 * An object keyed by free-form strings. zod drops an own `__proto__` key without a word (assigning it
 * would replace the prototype), so such a key is reported instead of being silently lost.
 */
export function keyedObject<T extends z.ZodMiniType>(valueSchema: T) {
  return z.pipe(
    z.unknown().check(
      z.superRefine((value, ctx) => {
        if (isRecord(value) && Object.hasOwn(value, "__proto__")) {
          addIssue(ctx, "reserved_key", 'the key "__proto__" is not supported', ["__proto__"]);
        }
      }),
    ),
    z.record(z.string(), valueSchema),
  );
}

/**
 * Metadata: an object of string values within the given limits. Imburse forbids personal and card data
 * in metadata, so a key or value that contains a card number or an e-mail address is rejected. Issues
 * name the key (masked when it is the key that holds the data) and never the value.
 */
export function metadataSchema(limits: MetadataLimits) {
  return keyedObject(z.string()).check(
    z.superRefine((metadata, ctx) => {
      const keys = Object.keys(metadata);
      if (keys.length > limits.metadataMaxKeys) {
        addIssue(ctx, "too_many", `must have at most ${limits.metadataMaxKeys} keys, got ${keys.length}`);
      }
      const refuseLonger = (what: "key" | "value", text: string, max: number, key: string) => {
        if (text.length > max) {
          addIssue(ctx, "too_long", `${what} must be at most ${max} characters, got ${text.length}`, [key]);
        }
      };
      for (const key of keys) {
        if (key.length === 0) addIssue(ctx, "too_short", "key must not be empty", [key]);
        refuseLonger("key", key, limits.metadataMaxKeyLength, key);
        refusePersonalData(ctx, key, "metadata", "key ", [key]);
        const value: unknown = metadata[key];
        if (typeof value !== "string") continue; // already reported by the record's value schema
        refuseLonger("value", value, limits.metadataMaxValueLength, key);
        refusePersonalData(ctx, value, "metadata", "value ", [key]);
      }
    }, EVEN_AFTER_ISSUES.object),
  );
}
