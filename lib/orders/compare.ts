import { formatMinorUnits, minorUnits } from "./amount.ts";
import { isRecord } from "./guards.ts";
import type { Order } from "./schema.ts";

/** Whether an existing Imburse order matches the one the relay asked to create, and if not, how not. */
export type OrderComparison =
  | { equal: true }
  | {
      equal: false;
      differences: string[];
      /** Requested instructionRefs the existing order lacks: they may still be in Imburse's asynchronous processing. */
      missing: string[];
    };

/**
 * Reconciles a requested order with the one Imburse already holds under the same `orderRef`, after a
 * create answered 400 `ORDER_ALREADY_EXISTS`. `existing` is the body of
 * `GET /v1/order-management/{orderRef}`, untrusted.
 *
 * Compared: the orderRef (when the existing order states one), the set of instructionRefs, and per
 * instruction the amount (numerically in minor units, so 210 equals "210.00"), currency and direction.
 * Not compared: server-side fields (status, nested scheme and financialInstrument), schemeId and the
 * other fields Imburse may fill from customerDefaults, and metadata. Differences are sentences for a
 * person; they quote refs, amounts, currencies and directions and never metadata.
 *
 * Imburse processes instructions asynchronously after its 202, so an existing order that lacks some
 * requested instructions is reported as a difference; the caller decides whether to wait and look again.
 * An `existing` that is not an order at all is a difference too, never an exception.
 */
export function compareWithExisting(requested: Order, existing: unknown): OrderComparison {
  if (!isRecord(existing) || !Array.isArray(existing.instructions)) {
    return {
      equal: false,
      differences: ["the existing order is not recognisable: expected an object with an instructions array"],
      missing: [],
    };
  }
  const differences: string[] = [];
  if (typeof existing.orderRef === "string" && existing.orderRef !== requested.orderRef) {
    differences.push(
      `the existing order has orderRef ${describe(existing.orderRef)}, not "${requested.orderRef}"`,
    );
  }
  const existingByRef = new Map<string, Record<string, unknown>>();
  existing.instructions.forEach((instruction: unknown, index) => {
    if (!isRecord(instruction) || typeof instruction.instructionRef !== "string") {
      differences.push(`existing instructions[${index}] has no instructionRef`);
    } else if (existingByRef.has(instruction.instructionRef)) {
      differences.push(
        `instruction ${describe(instruction.instructionRef)} appears more than once in the existing order`,
      );
    } else existingByRef.set(instruction.instructionRef, instruction);
  });
  const missing: string[] = [];
  const requestedRefs = new Set<string>();
  for (const instruction of requested.instructions ?? []) {
    const ref = instruction.instructionRef;
    requestedRefs.add(ref);
    const found = existingByRef.get(ref);
    if (!found) {
      missing.push(ref);
      differences.push(
        `instruction "${ref}" is missing from the existing order (Imburse may not have processed it yet)`,
      );
      continue;
    }
    const amountDifference = compareAmount(instruction.amount, found.amount);
    if (amountDifference) differences.push(`instruction "${ref}": ${amountDifference}`);
    for (const field of ["currency", "direction"] as const) {
      if (found[field] !== instruction[field]) {
        differences.push(
          `instruction "${ref}": ${field} differs (requested ${instruction[field]}, existing ${describe(found[field])})`,
        );
      }
    }
  }
  for (const ref of existingByRef.keys()) {
    if (!requestedRefs.has(ref))
      differences.push(`the existing order has instruction ${describe(ref)}, which was not requested`);
  }
  return differences.length === 0 ? { equal: true } : { equal: false, differences, missing };
}

function compareAmount(requested: string, existing: unknown): string | undefined {
  if (existing === undefined) return "the existing instruction has no amount";
  const existingMinor = readMinorUnits(existing);
  if (existingMinor === undefined) {
    return `the existing amount ${describe(existing)} is not an amount in whole minor units`;
  }
  const requestedMinor = minorUnits(requested);
  if (existingMinor === requestedMinor) return undefined;
  return `amount differs (requested ${formatMinorUnits(requestedMinor)}, existing ${formatMinorUnits(existingMinor)})`;
}

function readMinorUnits(value: unknown): bigint | undefined {
  if (typeof value !== "string" && typeof value !== "number") return undefined;
  try {
    return minorUnits(value);
  } catch {
    return undefined;
  }
}

const MAX_QUOTED_LENGTH = 60;

/** A short, single-line rendering of an untrusted value for a difference message. */
function describe(value: unknown): string {
  if (value === undefined) return "none";
  if (typeof value === "string" && value.length > MAX_QUOTED_LENGTH)
    return `a string of ${value.length} characters`;
  if (typeof value === "object" && value !== null) return Array.isArray(value) ? "an array" : "an object";
  return JSON.stringify(value);
}
