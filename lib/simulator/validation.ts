import type { ApiErrorDetail } from "./errors.ts";

/** The limits the create-order validation enforces (Imburse's documented values by default). */
export interface ValidationLimits {
  /** orderRef, instructionRef and customerRef: at most this many characters. */
  maxRefLength: number;
  maxInstructions: number;
  metadataMaxKeys: number;
  metadataMaxKeyLength: number;
  metadataMaxValueLength: number;
}

/** 50-character refs, 100 instructions, and metadata of 50 keys of ≤ 40 characters with values ≤ 500 (notes §5). */
export const DEFAULT_VALIDATION_LIMITS: Readonly<ValidationLimits> = Object.freeze({
  maxRefLength: 50,
  maxInstructions: 100,
  metadataMaxKeys: 50,
  metadataMaxKeyLength: 40,
  metadataMaxValueLength: 500,
});

/** One instruction as the create-order request carries it (flat ids). */
export interface InstructionRequest {
  instructionRef: string;
  customerRef: string;
  direction: "CREDIT" | "DEBIT";
  amount: string | number;
  currency: string;
  country: string;
  settledByDate: string;
  schemeId?: string;
  financialInstrumentId?: string;
  metadata?: Record<string, string>;
}

/** A create-order request body that passed validation. */
export interface OrderRequest {
  orderRef: string;
  instructions?: InstructionRequest[];
  metadata?: Record<string, string>;
  customerDefaults?: Record<string, unknown>;
}

type Fields = Record<string, unknown>;

/**
 * The characters Imburse accepts in a ref, as the simulator models Imburse's server-side validation: written
 * here on purpose, apart from lib/orders' rule, so the simulator checks the relay rather than mirroring it.
 */
export const REF_CHARACTERS = /^[A-Za-z0-9._-]+$/;

const isObject = (value: unknown): value is Fields =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const isMissing = (value: unknown): boolean => value === undefined || value === null || value === "";

function error(
  errorCode: string,
  property: string,
  params: Record<string, string | number> = {},
): ApiErrorDetail {
  return { errorCode, params: { PropertyName: property, ...params } };
}

function checkRef(value: unknown, prefix: string, property: string, maxLength: number): ApiErrorDetail[] {
  if (isMissing(value)) return [error(`${prefix}_IS_REQUIRED`, property)];
  const ref = String(value);
  if (ref.length > maxLength) {
    return [error(`${prefix}_LENGTH_OUT_OF_RANGE`, property, { MinLength: 1, MaxLength: maxLength })];
  }
  if (typeof value !== "string" || !REF_CHARACTERS.test(ref)) {
    return [error(`${prefix}_CONTAINS_INVALID_CHARACTERS`, property)];
  }
  return [];
}

function checkCode(value: unknown, prefix: string, property: string, length: number): ApiErrorDetail[] {
  if (isMissing(value)) return [error(`${prefix}_IS_REQUIRED`, property)];
  if (typeof value === "string" && value.length !== length)
    return [error(`${prefix}_LENGTH_OUT_OF_RANGE`, property)];
  if (typeof value !== "string" || !new RegExp(`^[A-Z]{${length}}$`).test(value)) {
    return [error(`${prefix}_NOT_SUPPORTED`, property)];
  }
  return [];
}

function checkAmount(value: unknown, property: string): ApiErrorDetail[] {
  if (isMissing(value)) return [error("AMOUNT_IS_REQUIRED", property)];
  const amount =
    typeof value === "number"
      ? value
      : typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value)
        ? Number(value)
        : NaN;
  if (!Number.isFinite(amount)) return [error("AMOUNT_IS_INVALID", property)];
  return amount > 0 ? [] : [error("AMOUNT_OUT_OF_RANGE", property)];
}

function checkDate(value: unknown, property: string): ApiErrorDetail[] {
  if (isMissing(value)) return [error("SETTLED_BY_DATE_IS_REQUIRED", property)];
  const valid =
    typeof value === "string" &&
    /^\d{4}-\d{2}-\d{2}$/.test(value) &&
    !Number.isNaN(Date.parse(`${value}T00:00:00Z`)) &&
    new Date(`${value}T00:00:00Z`).toISOString().startsWith(value);
  return valid ? [] : [error("SETTLED_BY_DATE_IS_INVALID", property)];
}

function checkMetadata(value: unknown, property: string, limits: ValidationLimits): ApiErrorDetail[] {
  if (value === undefined) return [];
  if (!isObject(value))
    return [error("PROPERTY_TYPE_IS_INVALID", property, { Expected: "an object of strings" })];
  const entries = Object.entries(value);
  const errors: ApiErrorDetail[] = [];
  if (entries.length > limits.metadataMaxKeys) {
    errors.push(error("METADATA_KEY_COUNT_OUT_OF_RANGE", property, { MaxCount: limits.metadataMaxKeys }));
  }
  for (const [key, entry] of entries) {
    if (key.length === 0 || key.length > limits.metadataMaxKeyLength) {
      errors.push(
        error("METADATA_KEY_SIZE_OUT_OF_RANGE", `${property}.${key}`, {
          MinLength: 1,
          MaxLength: limits.metadataMaxKeyLength,
        }),
      );
    }
    if (typeof entry !== "string" || entry.length > limits.metadataMaxValueLength) {
      errors.push(
        error("METADATA_VALUE_SIZE_OUT_OF_RANGE", `${property}.${key}`, {
          MaxLength: limits.metadataMaxValueLength,
        }),
      );
    }
  }
  return errors;
}

function checkInstruction(value: unknown, property: string, limits: ValidationLimits): ApiErrorDetail[] {
  if (!isObject(value)) return [error("PROPERTY_TYPE_IS_INVALID", property, { Expected: "an object" })];
  const direction = value.direction;
  return [
    ...checkRef(value.instructionRef, "INSTRUCTION_REF", `${property}.instructionRef`, limits.maxRefLength),
    ...checkRef(value.customerRef, "CUSTOMER_REF", `${property}.customerRef`, limits.maxRefLength),
    ...(isMissing(direction)
      ? [error("DIRECTION_IS_REQUIRED", `${property}.direction`)]
      : direction === "CREDIT" || direction === "DEBIT"
        ? []
        : [error("DIRECTION_IS_NOT_RECOGNISED", `${property}.direction`)]),
    ...checkAmount(value.amount, `${property}.amount`),
    ...checkCode(value.currency, "CURRENCY", `${property}.currency`, 3),
    ...checkCode(value.country, "COUNTRY", `${property}.country`, 2),
    ...checkDate(value.settledByDate, `${property}.settledByDate`),
    ...checkMetadata(value.metadata, `${property}.metadata`, limits),
  ];
}

function checkInstructions(value: unknown, limits: ValidationLimits): ApiErrorDetail[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value))
    return [error("PROPERTY_TYPE_IS_INVALID", "instructions", { Expected: "an array" })];
  if (value.length > limits.maxInstructions) {
    return [error("INSTRUCTIONS_COUNT_OUT_OF_RANGE", "instructions", { MaxCount: limits.maxInstructions })];
  }
  const errors = value.flatMap((instruction, index) =>
    checkInstruction(instruction, `instructions[${index}]`, limits),
  );
  const seen = new Set<unknown>();
  value.forEach((instruction: unknown, index) => {
    const ref = isObject(instruction) ? instruction.instructionRef : undefined;
    if (typeof ref !== "string" || ref === "") return;
    if (seen.has(ref)) {
      errors.push(
        error("INSTRUCTION_ALREADY_EXISTS", `instructions[${index}].instructionRef`, { InstructionRef: ref }),
      );
    }
    seen.add(ref);
  });
  return errors;
}

/**
 * Validates a create-order body against the documented subset of Imburse's rules and reports every
 * problem found, as Imburse's `errors` array does.
 */
export function validateCreateOrder(
  body: unknown,
  limits: ValidationLimits,
): { ok: true; order: OrderRequest } | { ok: false; errors: ApiErrorDetail[] } {
  if (!isObject(body)) return { ok: false, errors: [{ errorCode: "REQUEST_BODY_IS_INVALID" }] };
  const errors = [
    ...checkRef(body.orderRef, "ORDER_REF", "orderRef", limits.maxRefLength),
    ...checkInstructions(body.instructions, limits),
    ...checkMetadata(body.metadata, "metadata", limits),
    ...(body.customerDefaults === undefined || isObject(body.customerDefaults)
      ? []
      : [error("PROPERTY_TYPE_IS_INVALID", "customerDefaults", { Expected: "an object" })]),
  ];
  return errors.length > 0 ? { ok: false, errors } : { ok: true, order: body as unknown as OrderRequest };
}
