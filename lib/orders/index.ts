/**
 * Validation of inbound order messages (the Imburse create-order request body) and reconciliation with
 * an order Imburse already holds.
 */

export type { AmountCheck } from "./amount.ts";
export {
  formatMinorUnits,
  InvalidAmountError,
  MAX_AMOUNT_MINOR_UNITS,
  minorUnits,
  parseAmount,
} from "./amount.ts";
export { containsCardNumber, passesLuhn } from "./card-number.ts";
export { compareWithExisting, type OrderComparison } from "./compare.ts";
export { formatIssues, type IssueCode, type ValidationIssue } from "./issues.ts";
export { DEFAULT_ORDER_LIMITS, type OrderLimits, resolveOrderLimits } from "./limits.ts";
export { containsEmailAddress } from "./metadata.ts";
export { type OrderParseResult, parseOrder, parseOrderMessage } from "./parse.ts";
export {
  type CustomerDefault,
  createOrderSchema,
  type Instruction,
  type Order,
  type OrderSchema,
  REF_MAX_LENGTH,
} from "./schema.ts";
