import { isRecord } from "./guards.ts";
import { describeType, fromZodIssues, type IssueCode, type ValidationIssue } from "./issues.ts";
import { type OrderLimits, resolveOrderLimits } from "./limits.ts";
import { createOrderSchema, type Order, type OrderSchema } from "./schema.ts";

/** An order ready to send, or every issue found in the message. */
export type OrderParseResult =
  | { success: true; order: Order }
  | { success: false; errors: ValidationIssue[] };

// Limits come from configuration and rarely change within a container: keep the last schema built.
let cached: { key: string; schema: OrderSchema } | undefined;

function schemaFor(limits: OrderLimits): OrderSchema {
  const key = JSON.stringify(limits);
  if (cached?.key !== key) cached = { key, schema: createOrderSchema(limits) };
  return cached.schema;
}

function failure(code: IssueCode, message: string): OrderParseResult {
  return { success: false, errors: [{ path: "", code, message }] };
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
    return failure(
      "invalid_type",
      `the message must be a JSON object (an order), got ${describeType(input)}`,
    );
  }
  const parsed = schemaFor(resolveOrderLimits(limits)).safeParse(input, { reportInput: true });
  if (parsed.success) return { success: true, order: parsed.data };
  return { success: false, errors: fromZodIssues(parsed.error.issues) };
}

/**
 * Validates an SQS message body: JSON text of an Imburse create-order request. A body that is not JSON
 * gives one `invalid_json` issue, which says where the syntax breaks but quotes nothing of the body (it
 * may hold card data).
 *
 * @param limits as for {@link parseOrder}.
 */
export function parseOrderMessage(body: string, limits?: Partial<OrderLimits>): OrderParseResult {
  let input: unknown;
  try {
    input = JSON.parse(body);
  } catch (error) {
    return failure("invalid_json", jsonErrorMessage(body, error));
  }
  return parseOrder(input, limits);
}

function jsonErrorMessage(body: string, error: unknown): string {
  if (body.trim() === "") return "the message body is empty; expected an order as a JSON object";
  // V8's messages quote part of the input, so only the position is kept.
  const position = /position (\d+)/.exec(error instanceof Error ? error.message : "")?.[1];
  return position === undefined
    ? "the message body is not valid JSON"
    : `the message body is not valid JSON (syntax error at character ${position})`;
}
