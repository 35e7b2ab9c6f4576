import { readFile } from "node:fs/promises";
import { maskPersonalData, scanJsonStructure } from "../orders/index.ts";

/** One line of an orders file that can be published: the message body, sent verbatim. */
export interface OrderLine {
  /** 1-based line number in the file (or position in the demo set). */
  line: number;
  ok: true;
  body: string;
  correlationId?: string;
}

/** A non-blank line that is not `{"body": …, "correlationId"?: …}`: reported, never published. */
export interface UnreadableLine {
  line: number;
  ok: false;
  problem: string;
  /** The correlation id, when the line was an object that carried a valid one. */
  correlationId?: string;
}

/** One non-blank line of an orders file. */
export type OrdersFileLine = OrderLine | UnreadableLine;

/** Raised when an orders file cannot be read at all (missing, a directory, unreadable). */
export class OrdersFileError extends Error {
  override readonly name = "OrdersFileError";
}

const FIELDS = new Set(["body", "correlationId"]);

/**
 * Reads one line: `{"body": <an order object, or a non-empty string sent verbatim>, "correlationId": "<optional>"}`.
 * An object body is sent as it is written in the line, byte for byte: re-serialising it would drop a
 * repeated key (and hide it from the relay) and overflow the stack on deep nesting. Whether the body is a
 * valid order is the relay's call, not this parser's, so invalid orders can be published on purpose.
 */
export function parseOrdersLine(text: string, line: number): OrdersFileLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { line, ok: false, problem: 'not valid JSON; expected {"body": …, "correlationId": "…"}' };
  }
  // No depth bound here: the scan keeps its own stack, and the body's depth is the relay's to judge.
  const structure = scanJsonStructure(text, Number.POSITIVE_INFINITY);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { line, ok: false, problem: 'not a JSON object; expected {"body": …, "correlationId": "…"}' };
  }
  const record = value as Record<string, unknown>;
  const unknown = Object.keys(record).filter((key) => !FIELDS.has(key));
  const correlationId = record.correlationId;
  const validCorrelationId = typeof correlationId === "string" && correlationId.trim() !== "";
  const withCorrelation = validCorrelationId ? { correlationId } : {};
  const fail = (problem: string): UnreadableLine => ({ line, ok: false, problem, ...withCorrelation });
  if (unknown.length > 0) {
    return fail(
      `unknown field ${unknown.map((key) => JSON.stringify(maskPersonalData(key))).join(", ")} (only "body" and "correlationId")`,
    );
  }
  const repeated = structure.duplicateKeys.filter((path) => path.length === 1).map((path) => path[0]);
  if (repeated.length > 0) {
    return fail(`field ${repeated.map((key) => JSON.stringify(key)).join(", ")} appears more than once`);
  }
  if (correlationId !== undefined && !validCorrelationId)
    return fail("correlationId must be a non-empty string");
  const body = record.body;
  if (body === undefined) return fail('"body" is missing');
  // SQS refuses a message without a body: say so now rather than send it.
  if (body === "") return fail('"body" is empty (SQS refuses a message without a body)');
  if (typeof body === "string") return { line, ok: true, body, ...withCorrelation };
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return fail('"body" must be an order object or a string sent verbatim');
  }
  return { line, ok: true, body: structure.rootMembers.get("body") ?? "", ...withCorrelation };
}

/** Parses orders-file text: one JSON object per line; blank lines are skipped and get no entry. */
export function parseOrdersFile(text: string): OrdersFileLine[] {
  const lines: OrdersFileLine[] = [];
  text.split(/\r?\n/).forEach((content, index) => {
    if (content.trim() !== "") lines.push(parseOrdersLine(content, index + 1));
  });
  return lines;
}

/**
 * Reads and parses an orders file.
 *
 * @throws OrdersFileError when the file cannot be read; bad lines are returned, not thrown.
 */
export async function readOrdersFile(path: string): Promise<OrdersFileLine[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : (code ?? "unreadable");
    throw new OrdersFileError(`cannot read orders file ${path}: ${why}`);
  }
  return parseOrdersFile(text);
}
