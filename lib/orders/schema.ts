// zod/mini: functions instead of methods, so the bundler drops what is unused; its default messages are
// never seen here (every rule reports its own, and issues.ts words the structural ones).
import * as z from "zod/mini";
import { parseAmount } from "./amount.ts";
import { EVEN_AFTER_ISSUES, isRecord, refusePersonalData } from "./guards.ts";
import { addIssue, addTransformIssue } from "./issues.ts";
import type { OrderLimits } from "./limits.ts";
import { keyedObject, metadataSchema } from "./metadata.ts";

/** Longest `orderRef`, `instructionRef` or `customerRef`. */
export const REF_MAX_LENGTH = 50;
/** The characters a ref may hold (JSON Schema `pattern` syntax too). */
export const REF_CHARACTERS = /^[A-Za-z0-9._-]*$/;

/** Refs that are URL path dot-segments: allowed characters, yet `GET /v1/order-management/..` is `/v1/`. */
export const DOT_SEGMENTS: readonly string[] = [".", ".."];

/**
 * Whether a ref keeps the character rule of {@link checkRef}: 1 to {@link REF_MAX_LENGTH} of `A-Z a-z 0-9 . _ -`,
 * and not a URL path dot-segment. (The order schema also refuses personal data in a ref.)
 */
export function isWellFormedRef(ref: string): boolean {
  return (
    ref.length > 0 && ref.length <= REF_MAX_LENGTH && REF_CHARACTERS.test(ref) && !DOT_SEGMENTS.includes(ref)
  );
}

type Ctx = Parameters<typeof addIssue>[0];

/**
 * The reference rule, for ref values and for the customerRef keys of `customerDefaults`: 1 to 50 of
 * `A-Z a-z 0-9 . _ -`, and no card number or e-mail address (refs travel to Imburse, logs and reports).
 */
function checkRef(ref: string, ctx: Ctx, subject = "", path: PropertyKey[] = []): void {
  if (ref.length === 0) addIssue(ctx, "too_short", `${subject}must not be empty`, path);
  if (ref.length > REF_MAX_LENGTH) {
    addIssue(
      ctx,
      "too_long",
      `${subject}must be at most ${REF_MAX_LENGTH} characters, got ${ref.length}`,
      path,
    );
  }
  if (!REF_CHARACTERS.test(ref)) {
    addIssue(ctx, "invalid_characters", `${subject}may contain only A-Z, a-z, 0-9, ".", "_" and "-"`, path);
  }
  // A URL path would normalise these away: a read of the order would go to another resource.
  if (DOT_SEGMENTS.includes(ref)) addIssue(ctx, "dot_segment", `${subject}must not be "." or ".."`, path);
  refusePersonalData(ctx, ref, "ref", subject, path);
}

const ref = z.string().check(z.superRefine((value, ctx) => checkRef(value, ctx)));

const nonEmpty = z.string().check(
  z.superRefine((value, ctx) => {
    if (value.length === 0) addIssue(ctx, "too_short", "must not be empty");
  }),
);

/** A string matching `pattern`, else an `invalid_format` issue with the given rule. */
function formatted(pattern: RegExp, rule: string) {
  return z.string().check(
    z.superRefine((value, ctx) => {
      if (!pattern.test(value)) addIssue(ctx, "invalid_format", rule);
    }),
  );
}

const currency = formatted(/^[A-Z]{3}$/, "must be an ISO 4217 code of 3 upper-case letters, such as EUR");
const country = formatted(
  /^[A-Z]{2}$/,
  "must be an ISO 3166-1 alpha-2 code of 2 upper-case letters, such as IE",
);

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function isCalendarDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
  return day <= days;
}

/** A real calendar date written `YYYY-MM-DD`. Whether it is in the future is Imburse's call. */
const calendarDate = z.string().check(
  z.superRefine((value, ctx) => {
    const match = DATE.exec(value);
    if (!match) addIssue(ctx, "invalid_format", "must be a date written YYYY-MM-DD");
    else if (!isCalendarDate(Number(match[1]), Number(match[2]), Number(match[3]))) {
      addIssue(ctx, "invalid_date", "is not a real calendar date");
    }
  }),
);

/** A string or JSON number, normalised to a string with two fraction digits (see {@link parseAmount}). */
const amount = z.pipe(
  z.unknown(),
  z.transform((value, ctx) => {
    if (value === undefined) {
      addTransformIssue(ctx, "required", "is required");
      return z.NEVER;
    }
    const check = parseAmount(value);
    if (check.ok) return check.amount;
    addTransformIssue(ctx, check.code, check.message);
    return z.NEVER;
  }),
);

function checkInstructionList(maxInstructions: number) {
  return (instructions: readonly unknown[], ctx: Ctx): void => {
    if (instructions.length > maxInstructions) {
      addIssue(
        ctx,
        "too_many",
        `must have at most ${maxInstructions} instructions, got ${instructions.length}`,
      );
    }
    const firstIndex = new Map<string, number>();
    instructions.forEach((instruction, index) => {
      if (!isRecord(instruction) || typeof instruction.instructionRef !== "string") return;
      const first = firstIndex.get(instruction.instructionRef);
      if (first === undefined) firstIndex.set(instruction.instructionRef, index);
      else {
        addIssue(
          ctx,
          "duplicate_instruction_ref",
          `repeats the instructionRef of instructions[${first}]; instructionRefs must be unique within an order`,
          [index, "instructionRef"],
        );
      }
    });
  };
}

/** An instruction without a schemeId needs one from `customerDefaults[customerRef]`, as Imburse applies it. */
function checkSchemeIds(order: Record<string, unknown>, ctx: Ctx): void {
  const defaults = order.customerDefaults ?? {};
  // A broken customerDefaults is reported as such, not as a missing schemeId on every instruction.
  if (!Array.isArray(order.instructions) || !isRecord(defaults)) return;
  order.instructions.forEach((instruction: unknown, index) => {
    if (!isRecord(instruction) || instruction.schemeId !== undefined) return;
    const customerRef = instruction.customerRef;
    if (typeof customerRef !== "string") return; // reported as the missing or invalid customerRef
    const customerDefault = defaults[customerRef];
    if (
      isRecord(customerDefault) &&
      typeof customerDefault.schemeId === "string" &&
      customerDefault.schemeId
    ) {
      return;
    }
    addIssue(
      ctx,
      "required",
      "is required: neither the instruction nor customerDefaults for its customerRef has a schemeId",
      ["instructions", index, "schemeId"],
    );
  });
}

/**
 * The schema of an Imburse create-order request body (`POST /v1/order-management`) as the relay accepts
 * it. Objects are strict: a field Imburse might not know is rejected with an `unknown_field` issue rather
 * than dropped, because Imburse's own validation is undocumented and silently dropping a field of a
 * payment (a misspelt `schemeId`, say) is worse than refusing the message. Checks that span fields
 * (unique instructionRefs, schemeId from customerDefaults) also run when fields have issues, so one
 * pass reports everything.
 */
export function createOrderSchema(limits: OrderLimits) {
  const metadata = z.optional(metadataSchema(limits));
  const instruction = z.strictObject({
    instructionRef: ref,
    customerRef: ref,
    direction: z.enum(["CREDIT", "DEBIT"]),
    amount,
    currency,
    country,
    settledByDate: calendarDate,
    schemeId: z.optional(nonEmpty),
    financialInstrumentId: z.optional(z.string()),
    metadata,
  });
  const customerDefault = z.strictObject({
    financialInstrumentId: z.optional(z.string()),
    schemeId: z.optional(nonEmpty),
    metadata,
  });
  const customerDefaults = keyedObject(customerDefault).check(
    z.superRefine((defaults, ctx) => {
      for (const key of Object.keys(defaults)) checkRef(key, ctx, "customerRef key ", [key]);
    }, EVEN_AFTER_ISSUES.object),
  );
  return z
    .strictObject({
      orderRef: ref,
      instructions: z.optional(
        z
          .array(instruction)
          .check(z.superRefine(checkInstructionList(limits.maxInstructions), EVEN_AFTER_ISSUES.array)),
      ),
      metadata,
      customerDefaults: z.optional(customerDefaults),
    })
    .check(z.superRefine(checkSchemeIds, EVEN_AFTER_ISSUES.object));
}

/** The zod schema of an order for some limits. */
export type OrderSchema = ReturnType<typeof createOrderSchema>;

/** A validated order in normalised form: `amount`s are strings with exactly two fraction digits. */
export type Order = z.output<OrderSchema>;
