import { STATUS_CODES } from "node:http";

const REQUIRED = "'{PropertyName}' is required.";
const LENGTH = "The length of '{PropertyName}' must be between {MinLength} and {MaxLength} characters.";
const CHARACTERS = "'{PropertyName}' may only contain letters, digits, '.', '_' and '-'.";

/**
 * Message templates by error code. The order codes are the ones Imburse's docs and test suites show
 * (see the API notes §4); the authentication, header, body and count codes are the simulator's own
 * names where Imburse documents none, so clients must treat every code as an open string.
 */
const ERROR_TEMPLATES = {
  // The HMAC token exchange (simulator names).
  AUTHORIZATION_IS_INVALID: "The Authorization header must be 'Hmac publicKey:nonce:timestamp:signature'.",
  PUBLIC_KEY_NOT_RECOGNISED: "The public key is not recognised.",
  SIGNATURE_IS_INVALID: "The HMAC signature does not match the request.",
  NONCE_ALREADY_USED: "The nonce has already been used.",
  TIMESTAMP_OUT_OF_RANGE: "The timestamp must be within {ToleranceSeconds} seconds of the server time.",
  // Bearer-protected routes.
  TOKEN_IS_INVALID: "The bearer access token is missing or invalid.",
  TOKEN_HAS_EXPIRED: "The bearer access token has expired.",
  TENANT_ID_IS_REQUIRED: "The 'x-tenant-id' header is required.",
  ACCOUNT_ID_IS_REQUIRED: "The 'x-account-id' header is required.",
  TENANT_ID_MISMATCH: "The 'x-tenant-id' header does not match the access token.",
  ACCOUNT_ID_MISMATCH: "The 'x-account-id' header does not match the access token.",
  // Requests.
  ROUTE_NOT_FOUND: "No route matches {Method} {Path}.",
  REQUEST_BODY_IS_INVALID: "The request body must be a JSON object.",
  PROPERTY_TYPE_IS_INVALID: "'{PropertyName}' must be {Expected}.",
  SIMULATOR_FAILURE: "The simulator failed: {Reason}.",
  REQUEST_BODY_TOO_LARGE: "The request body must be at most {MaxBytes} bytes.",
  // Orders and instructions.
  ORDER_REF_IS_REQUIRED: REQUIRED,
  ORDER_REF_LENGTH_OUT_OF_RANGE: LENGTH,
  ORDER_REF_CONTAINS_INVALID_CHARACTERS: CHARACTERS,
  ORDER_ALREADY_EXISTS: "An order with orderRef '{OrderRef}' already exists.",
  ORDER_NOT_FOUND: "No order with orderRef '{OrderRef}' was found.",
  INSTRUCTIONS_COUNT_OUT_OF_RANGE: "An order may hold at most {MaxCount} instructions.",
  INSTRUCTION_REF_IS_REQUIRED: REQUIRED,
  INSTRUCTION_REF_LENGTH_OUT_OF_RANGE: LENGTH,
  INSTRUCTION_REF_CONTAINS_INVALID_CHARACTERS: CHARACTERS,
  INSTRUCTION_ALREADY_EXISTS: "An instruction with instructionRef '{InstructionRef}' already exists.",
  CUSTOMER_REF_IS_REQUIRED: REQUIRED,
  CUSTOMER_REF_LENGTH_OUT_OF_RANGE: LENGTH,
  CUSTOMER_REF_CONTAINS_INVALID_CHARACTERS: CHARACTERS,
  DIRECTION_IS_REQUIRED: REQUIRED,
  DIRECTION_IS_NOT_RECOGNISED: "'{PropertyName}' must be CREDIT or DEBIT.",
  AMOUNT_IS_REQUIRED: REQUIRED,
  AMOUNT_IS_INVALID: "'{PropertyName}' must be a decimal number.",
  AMOUNT_OUT_OF_RANGE: "'{PropertyName}' must be greater than 0.",
  CURRENCY_IS_REQUIRED: REQUIRED,
  CURRENCY_LENGTH_OUT_OF_RANGE: "'{PropertyName}' must be 3 characters long.",
  CURRENCY_NOT_SUPPORTED: "'{PropertyName}' must be an ISO 4217 code of 3 uppercase letters.",
  COUNTRY_IS_REQUIRED: REQUIRED,
  COUNTRY_LENGTH_OUT_OF_RANGE: "'{PropertyName}' must be 2 characters long.",
  COUNTRY_NOT_SUPPORTED: "'{PropertyName}' must be an ISO 3166-1 alpha-2 code of 2 uppercase letters.",
  SETTLED_BY_DATE_IS_REQUIRED: REQUIRED,
  SETTLED_BY_DATE_IS_INVALID: "'{PropertyName}' must be a date formatted YYYY-MM-DD.",
  METADATA_KEY_COUNT_OUT_OF_RANGE: "'{PropertyName}' may hold at most {MaxCount} keys.",
  METADATA_KEY_SIZE_OUT_OF_RANGE: LENGTH,
  METADATA_VALUE_SIZE_OUT_OF_RANGE: "'{PropertyName}' must be a string of at most {MaxLength} characters.",
} as const;

/** One error to report: its code and the values its template refers to. */
export interface ApiErrorDetail {
  errorCode: string;
  params?: Record<string, string | number>;
}

/** One entry of the `errors` array, as Imburse documents it. */
export interface ErrorEntry {
  errorCode: string;
  message: string;
  messageTemplate: string;
  metadata: { correlationId: string };
}

/** The documented Imburse error body. */
export interface ErrorBody {
  /** Unix seconds. */
  timestamp: number;
  /** The simulator's own id of the request (Imburse's correlation id in the real API). */
  correlationId: string;
  errors: ErrorEntry[];
}

/** The correlation ids of one request. */
export interface RequestIds {
  /** The simulator's id of the request, `SIM:<n>`. */
  simulatorId: string;
  /** The caller's `X-Correlation-ID`, when it sent one. */
  callerId: string | undefined;
}

/** `TOO_MANY_REQUESTS` for 429 and so on: the code of a simulated status that names none. */
export function errorCodeForStatus(status: number): string {
  return (STATUS_CODES[status] ?? `HTTP ${status}`).toUpperCase().replace(/[^A-Z0-9]+/g, "_");
}

function templateOf(errorCode: string): string {
  return (ERROR_TEMPLATES as Record<string, string>)[errorCode] ?? "Simulated error {ErrorCode}.";
}

function fill(template: string, params: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    params[name] === undefined ? whole : String(params[name]),
  );
}

/**
 * Builds the error body: the top-level `correlationId` is the simulator's id, each entry's
 * `metadata.correlationId` is the caller's `X-Correlation-ID` or, without one, the simulator's id.
 */
export function errorBody(details: readonly ApiErrorDetail[], ids: RequestIds, nowMs: number): ErrorBody {
  return {
    timestamp: Math.floor(nowMs / 1000),
    correlationId: ids.simulatorId,
    errors: details.map(({ errorCode, params = {} }) => {
      const messageTemplate = templateOf(errorCode);
      return {
        errorCode,
        message: fill(messageTemplate, { ErrorCode: errorCode, ...params }),
        messageTemplate,
        metadata: { correlationId: ids.callerId ?? ids.simulatorId },
      };
    }),
  };
}
