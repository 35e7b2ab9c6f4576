import { describe, expect, it } from "vitest";
import * as z from "zod/mini";
import { addIssue, addTransformIssue, formatPath, fromZodIssues } from "../../lib/orders/issues.ts";

// How a rule violation travels through zod: what the schema's checks after it see.

describe("addIssue, from a refinement", () => {
  it("lets the checks after it run, so one pass reports every problem", () => {
    const schema = z.string().check(
      z.superRefine((_, ctx) => addIssue(ctx, "too_short", "first rule")),
      z.superRefine((_, ctx) => addIssue(ctx, "too_long", "second rule")),
    );
    const parsed = schema.safeParse("x");
    expect(fromZodIssues(parsed.error?.issues ?? [])).toEqual([
      { path: "", code: "too_short", message: "first rule" },
      { path: "", code: "too_long", message: "second rule" },
    ]);
  });

  it("gives each issue a path of its own, though the check passes the same array twice", () => {
    const shared = ["orderRef"];
    const schema = z.object({
      ref: z.string().check(
        z.superRefine((_, ctx) => {
          addIssue(ctx, "email_in_ref", "must not hold an e-mail address", shared);
          addIssue(ctx, "invalid_characters", "may contain only A-Z", shared);
        }),
      ),
    });
    const issues = fromZodIssues(schema.safeParse({ ref: "x" }).error?.issues ?? []);
    expect(issues.map((issue) => issue.path)).toEqual(["ref.orderRef", "ref.orderRef"]);
    expect(shared).toEqual(["orderRef"]);
  });
});

describe("addTransformIssue, from a transform", () => {
  it("stops the checks after it: the transform's output is no value to check", () => {
    let checkedAfter = false;
    const schema = z
      .pipe(
        z.unknown(),
        z.transform((_, ctx) => {
          addTransformIssue(ctx, "invalid_amount", "is not an amount");
          return z.NEVER;
        }),
      )
      .check(
        z.superRefine(() => {
          checkedAfter = true;
        }),
      );
    const parsed = schema.safeParse("12.3.4");
    expect(fromZodIssues(parsed.error?.issues ?? [])).toEqual([
      { path: "", code: "invalid_amount", message: "is not an amount" },
    ]);
    expect(checkedAfter).toBe(false);
  });
});

describe("fromZodIssues", () => {
  it("names a missing field as required", () => {
    const parsed = z.object({ orderRef: z.string() }).safeParse({}, { reportInput: true });
    expect(fromZodIssues(parsed.error?.issues ?? [])).toEqual([
      { path: "orderRef", code: "required", message: "is required" },
    ]);
  });

  it("gives a custom issue without a stable code, and any issue it does not know, the code `invalid`", () => {
    const schema = z.object({
      note: z.string().check(z.refine(() => false, "must say something")),
      count: z.number().check(z.gte(1)),
    });
    const parsed = schema.safeParse({ note: "x", count: 0 }, { reportInput: true });
    expect(fromZodIssues(parsed.error?.issues ?? [])).toEqual([
      { path: "note", code: "invalid", message: "must say something" },
      { path: "count", code: "invalid", message: "is invalid" },
    ]);
  });
});

describe("fromZodIssues: wrong types and unknown fields, named without the value", () => {
  it("says what was expected and the JSON type that came", () => {
    const schema = z.strictObject({
      instructions: z.array(z.string()),
      metadata: z.record(z.string(), z.string()),
      customer: z.object({ id: z.string() }),
    });
    const parsed = schema.safeParse(
      { instructions: { secret: "4012888888881881" }, metadata: ["x"], customer: [], extra: 1 },
      { reportInput: true },
    );
    expect(fromZodIssues(parsed.error?.issues ?? [])).toEqual([
      { path: "instructions", code: "invalid_type", message: "must be an array, got an object" },
      { path: "metadata", code: "invalid_type", message: "must be an object, got an array" },
      { path: "customer", code: "invalid_type", message: "must be an object, got an array" },
      {
        path: "extra",
        code: "unknown_field",
        message: "is not a known field (unknown fields are rejected, never dropped)",
      },
    ]);
  });
});

describe("formatPath", () => {
  const MAX = 64;

  it("shows a key of up to 64 characters whole, and a longer one cut, with its length", () => {
    const longest = "k".repeat(MAX);
    expect(formatPath(["metadata", longest])).toBe(`metadata.${longest}`);
    expect(formatPath(["metadata", "k".repeat(MAX + 1)])).toBe(
      `metadata["${"k".repeat(MAX / 2)}… (65 characters)"]`,
    );
  });

  it("masks a key holding personal data, however long, rather than cutting it", () => {
    const key = `${"x".repeat(60)}jane.doe@example.com`;
    expect(formatPath(["metadata", key])).toBe('metadata["x…@… (e-mail address)"]');
  });
});
