import { createHmac, timingSafeEqual } from "node:crypto";

/** The claims of a simulator access token, modelled on the decoded sample in Imburse's 2019 docs. */
export interface TokenClaims {
  accountId: string;
  tenantId: string;
  role: string;
  aud: string;
  iss: string;
  /** Unix seconds. */
  iat: number;
  /** Unix seconds. */
  exp: number;
}

/** Why a token was refused. */
export type JwtVerification =
  | { ok: true; claims: TokenClaims }
  | { ok: false; reason: "invalid" | "expired" };

const HEADER = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url");

function signature(signingInput: string, secret: Uint8Array): Buffer {
  return createHmac("sha256", secret).update(signingInput, "utf8").digest();
}

/** Signs the claims as an HS256 JWT. */
export function signJwt(claims: TokenClaims, secret: Uint8Array): string {
  const signingInput = `${HEADER}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
  return `${signingInput}.${signature(signingInput, secret).toString("base64url")}`;
}

function isTokenClaims(value: unknown): value is TokenClaims {
  if (typeof value !== "object" || value === null) return false;
  const claims = value as Record<string, unknown>;
  return (
    ["accountId", "tenantId", "role", "aud", "iss"].every((name) => typeof claims[name] === "string") &&
    typeof claims.iat === "number" &&
    typeof claims.exp === "number"
  );
}

/** Checks an HS256 JWT's header, signature and `exp` (expired from `exp` on, as RFC 7519 says). */
export function verifyJwt(token: string, secret: Uint8Array, nowSeconds: number): JwtVerification {
  const [header, payload, sig, ...rest] = token.split(".");
  if (header !== HEADER || payload === undefined || sig === undefined || rest.length > 0) {
    return { ok: false, reason: "invalid" };
  }
  const expected = signature(`${header}.${payload}`, secret);
  const given = Buffer.from(sig, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, reason: "invalid" };
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  } catch {
    return { ok: false, reason: "invalid" };
  }
  if (!isTokenClaims(claims)) return { ok: false, reason: "invalid" };
  if (nowSeconds >= claims.exp) return { ok: false, reason: "expired" };
  return { ok: true, claims };
}
