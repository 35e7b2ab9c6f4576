import { describe, expect, it } from "vitest";
import * as z from "zod/mini";
import { addIssue, addTransformIssue, fromZodIssues } from "../../lib/orders/issues.ts";

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
