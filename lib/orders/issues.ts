import type { z } from "zod/mini";
import { maskPersonalData } from "./personal-data.ts";

/** Stable machine codes of {@link ValidationIssue}, each explained in docs/orders.md. Publishers and dashboards may match on them. */
export const ISSUE_CODES = [
  "invalid_json",
  "invalid_type",
  "required",
  "unknown_field",
  "reserved_key",
  "too_short",
  "too_long",
  "too_many",
  "invalid_characters",
  "dot_segment",
  "invalid_value",
  "invalid_format",
  "invalid_date",
  "invalid_amount",
  "amount_not_positive",
  "amount_too_precise",
  "amount_too_large",
  "duplicate_instruction_ref",
  "card_number_in_metadata",
  "email_in_metadata",
  "card_number_in_ref",
  "email_in_ref",
  "duplicate_key",
  "too_deep",
  "too_large",
  "sns_envelope",
  "invalid",
] as const;

/** One of {@link ISSUE_CODES}. */
export type IssueCode = (typeof ISSUE_CODES)[number];

/**
 * One problem with an order message. `path` locates the field (`instructions[2].amount`,
 * `metadata.note`, `customerDefaults["cust-1"].schemeId`; `""` is the whole message). `message`
 * states the rule that was broken and never repeats the offending value, so issues can be logged,
 * dead-lettered and returned to publishers without leaking what was sent.
 */
export interface ValidationIssue {
  path: string;
  code: IssueCode;
  message: string;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Keys longer than this are shortened in paths: a path must fit in a dead-letter reason. */
const MAX_KEY_IN_PATH = 64;

/** A key as a path shows it: masked when it holds personal data, shortened when it is long. */
function keyInPath(key: string): string {
  const masked = maskPersonalData(key);
  if (masked !== key || key.length <= MAX_KEY_IN_PATH) return masked;
  return `${key.slice(0, MAX_KEY_IN_PATH / 2)}… (${key.length} characters)`;
}

/**
 * Renders a path as JavaScript-like accessors: dots for plain names, brackets for indexes and other keys.
 * A key that holds a card number or an e-mail address appears as its mask (`["4012…1881 (card number)"]`).
 */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else {
      const key = keyInPath(String(segment));
      if (!IDENTIFIER.test(key)) text += `[${JSON.stringify(key)}]`;
      else text += text === "" ? key : `.${key}`;
    }
  }
  return text;
}

/** One line per issue, `path: message [code]`, for logs and the CLI. */
export function formatIssues(issues: readonly ValidationIssue[]): string {
  return issues.map((issue) => `${issue.path || "(message)"}: ${issue.message} [${issue.code}]`).join("\n");
}

/** A rule violation as zod carries it: a custom issue with its stable code. */
function customIssue(code: IssueCode, message: string, path: readonly PropertyKey[]): z.core.$ZodRawIssue {
  // `path` is copied: zod prefixes each issue's path in place as it leaves a field, and one check may pass the
  // same path twice.
  return { code: "custom", message, params: { code }, path: [...path], input: undefined };
}

/**
 * Reports a rule violation from inside a zod refinement, with its stable code. The checks after it still run
 * (`continue`), as zod's own refinements do: one pass reports every problem.
 */
export function addIssue(
  ctx: { issues: z.core.$ZodRawIssue[] },
  code: IssueCode,
  message: string,
  path: readonly PropertyKey[] = [],
): void {
  ctx.issues.push({ ...customIssue(code, message, path), continue: true });
}

/**
 * Reports a rule violation from inside a zod transform, with its stable code. The checks after it do not run,
 * as after zod's own transforms: the transform's output (`z.NEVER`) is no value to check.
 */
export function addTransformIssue(
  ctx: { issues: z.core.$ZodRawIssue[] },
  code: IssueCode,
  message: string,
): void {
  ctx.issues.push(customIssue(code, message, []));
}

/**
 * Translates zod issues into {@link ValidationIssue}s. The schema reports every rule through
 * {@link addIssue}; zod itself reports only structure (types, missing and unknown fields, enums), and
 * these are given messages here that name no input value.
 * The issues must come from a parse with `reportInput: true`, which tells a missing field from a wrong type.
 */
export function fromZodIssues(issues: readonly z.core.$ZodIssue[]): ValidationIssue[] {
  return issues.flatMap((issue): ValidationIssue[] => {
    const path = formatPath(issue.path);
    // A missing field fails its type or enum check with no input.
    if ((issue.code === "invalid_type" || issue.code === "invalid_value") && issue.input === undefined) {
      return [{ path, code: "required", message: "is required" }];
    }
    switch (issue.code) {
      case "custom":
        return [{ path, code: issue.params?.code ?? "invalid", message: issue.message }];
      case "invalid_type":
        return [
          {
            path,
            code: "invalid_type",
            message: `must be ${describeExpected(issue.expected)}, got ${describeType(issue.input)}`,
          },
        ];
      case "unrecognized_keys":
        return issue.keys.map((key) => ({
          path: formatPath([...issue.path, key]),
          code: "unknown_field",
          message: "is not a known field (unknown fields are rejected, never dropped)",
        }));
      case "invalid_value":
        return [
          {
            path,
            code: "invalid_value",
            message: `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`,
          },
        ];
      default:
        return [{ path, code: "invalid", message: "is invalid" }];
    }
  });
}

function describeExpected(expected: string): string {
  if (expected === "record" || expected === "object") return "an object";
  if (expected === "array") return "an array";
  return `a ${expected}`;
}

/** The JSON type of a value, never the value itself. */
export function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return `a ${typeof value}`;
}
