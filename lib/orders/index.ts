/**
 * Validation of inbound order messages (the Imburse create-order request body, strictly parsed, possibly
 * in an SNS envelope), the personal-data guards and masks, and reconciliation with an order Imburse
 * already holds.
 */

export type { AmountCheck } from "./amount.ts";
export {
  formatMinorUnits,
  InvalidAmountError,
  MAX_AMOUNT_MINOR_UNITS,
  minorUnits,
  parseAmount,
} from "./amount.ts";
export { containsCardNumber, findCardNumber } from "./card-number.ts";
export { compareWithExisting, type OrderComparison } from "./compare.ts";
export { isRecord } from "./guards.ts";
export { formatIssues, ISSUE_CODES, type IssueCode, type ValidationIssue } from "./issues.ts";
export { type JsonSchema, orderJsonSchema } from "./json-schema.ts";
export { DEFAULT_ORDER_LIMITS, type OrderLimits, resolveOrderLimits } from "./limits.ts";
export { type MetadataLimits, metadataSchema } from "./metadata.ts";
export {
  claimedOrderRef,
  displayOrderRef,
  type OrderParseResult,
  parseOrder,
  parseOrderMessage,
} from "./parse.ts";
export {
  containsEmailAddress,
  findPersonalData,
  maskPersonalData,
  type PersonalData,
} from "./personal-data.ts";
export {
  createOrderSchema,
  isWellFormedRef,
  type Order,
  type OrderSchema,
  REF_MAX_LENGTH,
} from "./schema.ts";
export { readSnsEnvelope, type SnsEnvelope } from "./sns.ts";
export { MAX_NESTING_DEPTH, scanJsonStructure } from "./strict-json.ts";
