import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { ApiErrorDetail } from "./errors.ts";
import { signJwt, type TokenClaims, verifyJwt } from "./jwt.ts";

/** One API key the simulator accepts, with the account and tenant its tokens are for. */
export interface SimulatorCredentials {
  publicKey: string;
  /** Base64, as the Imburse portal issues private keys. */
  privateKey: string;
  accountId: string;
  tenantId: string;
}

/**
 * The simulator's default key: obviously fake and public, so anyone can try the relay without an
 * Imburse account. The private key is base64 of a plain ASCII sentence saying it is not a secret.
 */
export const DEMO_CREDENTIALS: Readonly<SimulatorCredentials> = Object.freeze({
  publicKey: "demo-public-key-imburse-relay-simulator",
  privateKey: Buffer.from("imburse-relay-simulator-demo-key-not-a-secret", "utf8").toString("base64"),
  accountId: "00000000-0000-4000-a000-00000000000a",
  tenantId: "00000000-0000-4000-a000-00000000000b",
});

/** How far an HMAC timestamp may be from the simulator clock: Imburse rejects requests over 5 minutes old. */
const TIMESTAMP_TOLERANCE_SECONDS = 300;

/** The `iss` claim of simulator tokens (Imburse's own is `https://openid.imbursepayments.com/`). */
export const SIMULATOR_ISSUER = "https://simulator.imburse-relay.invalid/";

/**
 * How the token response carries `expires`: epoch seconds as a number, epoch milliseconds as a
 * string (Imburse's 2019 docs), or not at all (the client must read the JWT `exp`).
 */
export type ExpiresFormat = "seconds" | "milliseconds-string" | "none";

/** A check that failed: the status and the error to answer with. */
export interface AuthFailure {
  ok: false;
  status: 400 | 401 | 403;
  errors: ApiErrorDetail[];
}

const unauthorized = (errorCode: string, params?: Record<string, number>): AuthFailure => ({
  ok: false,
  status: 401,
  errors: [params ? { errorCode, params } : { errorCode }],
});

/**
 * Verifies `Authorization: Hmac publicKey:nonce:timestamp:signature` headers against the accepted keys
 * and remembers the nonces it accepted, per public key, to refuse replays.
 */
export class HmacVerifier {
  readonly #keys: Map<string, SimulatorCredentials>;
  /** publicKey → nonce → the request's timestamp (seconds). */
  readonly #nonces = new Map<string, Map<string, number>>();

  constructor(credentials: readonly SimulatorCredentials[]) {
    this.#keys = new Map(credentials.map((c) => [c.publicKey, c]));
  }

  /** Checks the header in the order a server would: form, key, clock, signature, then replay. */
  verify(
    header: string | undefined,
    body: string,
    nowMs: number,
  ): { ok: true; credentials: SimulatorCredentials } | AuthFailure {
    const parsed = parseHmacAuthorization(header);
    if (!parsed || !/^(0|[1-9]\d*)$/.test(parsed.timestamp)) return unauthorized("AUTHORIZATION_IS_INVALID");
    const credentials = this.#keys.get(parsed.publicKey);
    if (!credentials) return unauthorized("PUBLIC_KEY_NOT_RECOGNISED");
    const timestamp = Number(parsed.timestamp);
    const nowSeconds = Math.floor(nowMs / 1000);
    if (Math.abs(nowSeconds - timestamp) > TIMESTAMP_TOLERANCE_SECONDS) {
      return unauthorized("TIMESTAMP_OUT_OF_RANGE", { ToleranceSeconds: TIMESTAMP_TOLERANCE_SECONDS });
    }
    const expected = Buffer.from(expectedSignature(credentials.privateKey, parsed, body));
    const given = Buffer.from(parsed.signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return unauthorized("SIGNATURE_IS_INVALID");
    }
    const seen = this.#seenNonces(parsed.publicKey, nowSeconds);
    if (seen.has(parsed.nonce)) return unauthorized("NONCE_ALREADY_USED");
    seen.set(parsed.nonce, timestamp);
    return { ok: true, credentials };
  }

  /** Forgets every nonce. */
  reset(): void {
    this.#nonces.clear();
  }

  /** A nonce whose timestamp left the window can only come back with a new signature, so it is dropped. */
  #seenNonces(publicKey: string, nowSeconds: number): Map<string, number> {
    let seen = this.#nonces.get(publicKey);
    if (!seen) {
      seen = new Map();
      this.#nonces.set(publicKey, seen);
    }
    for (const [nonce, timestamp] of seen) {
      if (nowSeconds - timestamp > TIMESTAMP_TOLERANCE_SECONDS) seen.delete(nonce);
    }
    return seen;
  }
}

/** The body of a successful token response. */
export interface TokenResponse {
  accessToken: string;
  expires?: number | string;
}

/** What a token is signed with and how it is reported. */
export interface TokenIssuerOptions {
  secret: Uint8Array;
  lifetimeSeconds: number;
  expiresFormat: ExpiresFormat;
}

/** Issues a tenant-admin access token for the key, valid for the configured lifetime from `nowMs`. */
export function issueToken(
  credentials: SimulatorCredentials,
  options: TokenIssuerOptions,
  nowMs: number,
): TokenResponse {
  const iat = Math.floor(nowMs / 1000);
  const exp = iat + options.lifetimeSeconds;
  const accessToken = signJwt(
    {
      accountId: credentials.accountId,
      tenantId: credentials.tenantId,
      role: "tenant-admin",
      aud: "management-api",
      iss: SIMULATOR_ISSUER,
      iat,
      exp,
    },
    options.secret,
  );
  switch (options.expiresFormat) {
    case "seconds":
      return { accessToken, expires: exp };
    case "milliseconds-string":
      return { accessToken, expires: String(exp * 1000) };
    case "none":
      return { accessToken };
  }
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  const text = Array.isArray(value) ? value[0] : value;
  return text?.trim() || undefined;
}

/**
 * Authorizes a bearer-protected request: a valid, unexpired token (401), both `x-account-id` and
 * `x-tenant-id` present (400) and equal to the token's (403).
 */
export function authorizeBearer(
  headers: IncomingHttpHeaders,
  secret: Uint8Array,
  nowMs: number,
): { ok: true; claims: TokenClaims } | AuthFailure {
  const token = /^bearer\s+(\S+)$/i.exec(headerValue(headers, "authorization") ?? "")?.[1];
  const verified = token ? verifyJwt(token, secret, Math.floor(nowMs / 1000)) : undefined;
  if (!verified?.ok) {
    return unauthorized(verified?.reason === "expired" ? "TOKEN_HAS_EXPIRED" : "TOKEN_IS_INVALID");
  }
  const accountId = headerValue(headers, "x-account-id");
  const tenantId = headerValue(headers, "x-tenant-id");
  const missing: ApiErrorDetail[] = [];
  if (!accountId) missing.push({ errorCode: "ACCOUNT_ID_IS_REQUIRED" });
  if (!tenantId) missing.push({ errorCode: "TENANT_ID_IS_REQUIRED" });
  if (missing.length > 0) return { ok: false, status: 400, errors: missing };
  const mismatched: ApiErrorDetail[] = [];
  if (accountId !== verified.claims.accountId) mismatched.push({ errorCode: "ACCOUNT_ID_MISMATCH" });
  if (tenantId !== verified.claims.tenantId) mismatched.push({ errorCode: "TENANT_ID_MISMATCH" });
  if (mismatched.length > 0) return { ok: false, status: 403, errors: mismatched };
  return { ok: true, claims: verified.claims };
}

/** The parts of an `Authorization: Hmac publicKey:nonce:timestamp:signature` header. */
export interface ParsedHmacHeader {
  publicKey: string;
  nonce: string;
  timestamp: string;
  signature: string;
}

/**
 * Parses an HMAC authorization header as the server reads it; the scheme name is case-insensitive.
 * Written here, apart from the client's signing code, so that a mistake in one is caught by the other.
 */
export function parseHmacAuthorization(header: string | undefined): ParsedHmacHeader | undefined {
  const match = /^hmac\s+([^:\s]+):([^:\s]+):([^:\s]+):(\S+)$/i.exec(header?.trim() ?? "");
  if (!match) return undefined;
  const [, publicKey = "", nonce = "", timestamp = "", signature = ""] = match;
  return { publicKey, nonce, timestamp, signature };
}

/**
 * The signature the server expects, from Imburse's HMAC examples (the C#, JavaScript and Postman samples
 * agree): HMAC-SHA256 keyed with the base64-decoded private key over `publicKey:nonce:timestamp:bodyHash`,
 * where bodyHash is base64(SHA-256(body)), empty without a body; base64 out. Independent of the client's
 * `lib/imburse/signing.ts` on purpose: the simulator is the check on it.
 */
function expectedSignature(privateKey: string, header: ParsedHmacHeader, body: string): string {
  const hash = body === "" ? "" : createHash("sha256").update(Buffer.from(body, "utf8")).digest("base64");
  const message = [header.publicKey, header.nonce, header.timestamp, hash].join(":");
  return createHmac("sha256", Buffer.from(privateKey, "base64"))
    .update(Buffer.from(message, "utf8"))
    .digest("base64");
}
