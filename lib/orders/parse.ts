import { ORDER_BODY_MAX_BYTES } from "../config/index.ts";
import { isRecord } from "./guards.ts";
import { describeType, formatPath, fromZodIssues, type IssueCode, type ValidationIssue } from "./issues.ts";
import { type OrderLimits, resolveOrderLimits } from "./limits.ts";
import { findPersonalData } from "./personal-data.ts";
import { createOrderSchema, isWellFormedRef, type Order, type OrderSchema } from "./schema.ts";
import { readSnsEnvelope } from "./sns.ts";
import { MAX_NESTING_DEPTH, scanJsonStructure } from "./strict-json.ts";

/** An order ready to send, or every issue found in the message. */
export type OrderParseResult =
  | { success: true; order: Order; correlationId?: string }
  | {
      success: false;
      errors: ValidationIssue[];
      /** The orderRef the message names, for people to find it: see {@link displayOrderRef}. */
      claimedOrderRef?: string;
      correlationId?: string;
    };

// Limits come from configuration and rarely change within a container: keep the last schema built.
let cached: { key: string; schema: OrderSchema } | undefined;

function schemaFor(limits: OrderLimits): OrderSchema {
  const key = JSON.stringify(limits);
  if (cached?.key !== key) cached = { key, schema: createOrderSchema(limits) };
  return cached.schema;
}

function issue(code: IssueCode, message: string, path = ""): ValidationIssue {
  return { path, code, message };
}

/**
 * Validates and normalises a create-order request body that has already been parsed from JSON. Never
 * throws for any input.
 *
 * @param limits overrides of the default limits; the relay's settings object may be passed.
 * @throws RangeError only when `limits` holds a limit that is not a non-negative integer.
 */
export function parseOrder(input: unknown, limits?: Partial<OrderLimits>): OrderParseResult {
  if (!isRecord(input)) {
    return {
      success: false,
      errors: [
        issue("invalid_type", `the message must be a JSON object (an order), got ${describeType(input)}`),
      ],
    };
  }
  const parsed = schemaFor(resolveOrderLimits(limits)).safeParse(input, { reportInput: true });
  if (parsed.success) return { success: true, order: parsed.data };
  return { success: false, errors: fromZodIssues(parsed.error.issues) };
}

/**
 * JSON text read strictly: the value, or why it cannot be used. A value too deep to walk is kept only for
 * reading its top-level fields.
 */
type StrictJson =
  | { ok: true; value: unknown; duplicateKeys: ValidationIssue[] }
  | { ok: false; errors: ValidationIssue[]; tooDeepValue?: unknown };

/**
 * Parses JSON text strictly: not JSON is `invalid_json`, nesting beyond {@link MAX_NESTING_DEPTH} is
 * `too_deep` (and the value is dropped, so nothing recursive ever walks it), and each repeated key is a
 * `duplicate_key` issue with its path.
 *
 * @param what names the text in messages: "the message body", "the SNS notification's Message".
 */
function parseStrictJson(text: string, what = "the message body"): StrictJson {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, errors: [issue("invalid_json", jsonErrorMessage(text, error, what))] };
  }
  const structure = scanJsonStructure(text);
  if (structure.tooDeep) {
    return {
      ok: false,
      tooDeepValue: value,
      errors: [
        issue(
          "too_deep",
          `nests objects and arrays more than ${MAX_NESTING_DEPTH} levels deep`,
          formatPath(structure.tooDeep),
        ),
      ],
    };
  }
  const duplicateKeys = structure.duplicateKeys.map((path) =>
    issue(
      "duplicate_key",
      "repeats a key of the same object; a message with a repeated key is ambiguous and is refused",
      formatPath(path),
    ),
  );
  return { ok: true, value, duplicateKeys };
}

/**
 * Validates an SQS message body: the JSON text of an Imburse create-order request, or an SNS
 * notification envelope carrying one in `Message` (a subscription without raw message delivery), whose
 * `x-correlation-id` message attribute is returned as `correlationId`. The text is read strictly (see
 * {@link parseStrictJson}). Issues quote nothing of the body (it may hold card data); paths of keys that
 * hold personal data show a mask.
 *
 * @param limits as for {@link parseOrder}.
 */
export function parseOrderMessage(body: string, limits?: Partial<OrderLimits>): OrderParseResult {
  // A body the relay could not send on as a retry, or dead-letter with its reason, is refused unread.
  const bytes = Buffer.byteLength(body);
  if (bytes > ORDER_BODY_MAX_BYTES) {
    return {
      success: false,
      errors: [
        issue(
          "too_large",
          `the message body is ${bytes} bytes (UTF-8); the relay accepts at most ${ORDER_BODY_MAX_BYTES}`,
        ),
      ],
    };
  }
  const outer = parseStrictJson(body);
  if (!outer.ok) return failed(outer.errors, outer.tooDeepValue);
  const sns = readSnsEnvelope(outer.value);
  if (!sns) return parseStrictOrder(outer.value, outer.duplicateKeys, limits);
  if (!sns.ok) return { success: false, errors: [...outer.duplicateKeys, sns.issue] };
  const correlation = sns.correlationId === undefined ? {} : { correlationId: sns.correlationId };
  const inner = parseStrictJson(sns.message, "the SNS notification's Message");
  if (!inner.ok) return { ...failed(inner.errors, inner.tooDeepValue), ...correlation };
  // The envelope is SNS's own: a key repeated there says nothing about the order.
  return { ...parseStrictOrder(inner.value, inner.duplicateKeys, limits), ...correlation };
}

function parseStrictOrder(
  value: unknown,
  duplicateKeys: ValidationIssue[],
  limits: Partial<OrderLimits> | undefined,
): OrderParseResult {
  const parsed = parseOrder(value, limits);
  if (parsed.success && duplicateKeys.length === 0) return parsed;
  return failed([...duplicateKeys, ...(parsed.success ? [] : parsed.errors)], value);
}

/** A failed parse, with the orderRef the value claims when it names one worth showing. */
function failed(errors: ValidationIssue[], value: unknown): OrderParseResult {
  const claimed = isRecord(value) ? displayOrderRef(value.orderRef) : undefined;
  return { success: false, errors, ...(claimed === undefined ? {} : { claimedOrderRef: claimed }) };
}

/**
 * An orderRef as the relay may show it in logs, reports and dead-letter reasons: the mask when it holds
 * a card number or an e-mail address (`4012…1881 (card number)`), the ref itself when it is a plausible
 * ref, else undefined (nothing worth quoting).
 */
export function displayOrderRef(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const personal = findPersonalData(value);
  if (personal) return personal.mask;
  return isWellFormedRef(value) ? value : undefined;
}

/**
 * The orderRef a message body names, read loosely (the body need not be a valid order; an SNS envelope is
 * unwrapped), as {@link displayOrderRef} shows it.
 */
export function claimedOrderRef(body: string): string | undefined {
  try {
    let value: unknown = JSON.parse(body);
    const sns = readSnsEnvelope(value);
    if (sns?.ok) value = JSON.parse(sns.message);
    return isRecord(value) ? displayOrderRef(value.orderRef) : undefined;
  } catch {
    return undefined;
  }
}

function jsonErrorMessage(text: string, error: unknown, what: string): string {
  if (text.trim() === "") return `${what} is empty; expected an order as a JSON object`;
  // V8's messages quote part of the input, so only the position is kept.
  const position = /position (\d+)/.exec(error instanceof Error ? error.message : "")?.[1];
  return position === undefined
    ? `${what} is not valid JSON`
    : `${what} is not valid JSON (syntax error at character ${position})`;
}
