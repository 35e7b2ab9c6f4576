import { createHash, createHmac, randomBytes } from "node:crypto";

/** The inputs of one HMAC signature, as Imburse's HMAC examples define them. */
export interface HmacInputs {
  publicKey: string;
  /** Base64 as issued by the Imburse portal; decoded to bytes before it keys the HMAC. */
  privateKey: string;
  nonce: string;
  /** Unix epoch seconds (an integer). */
  timestamp: number;
  /** The exact body string sent, or undefined / "" when there is none (the token request has none). */
  body?: string;
}

/** base64(SHA-256(body)) or "" when there is no body. */
export function bodyHash(body: string | undefined): string {
  if (body === undefined || body === "") return "";
  return createHash("sha256").update(body).digest("base64");
}

/** `${publicKey}:${nonce}:${timestamp}:${bodyHash}`: with no body it ends in a trailing colon. */
export function stringToSign(inputs: Omit<HmacInputs, "privateKey">): string {
  return `${inputs.publicKey}:${inputs.nonce}:${inputs.timestamp}:${bodyHash(inputs.body)}`;
}

/** base64(HMAC-SHA256(key = base64Decode(privateKey), stringToSign)). */
export function sign(inputs: HmacInputs): string {
  return createHmac("sha256", Buffer.from(inputs.privateKey, "base64"))
    .update(stringToSign(inputs))
    .digest("base64");
}

/** The full `Authorization` header value: `Hmac publicKey:nonce:timestamp:signature`. */
export function hmacAuthorization(inputs: HmacInputs): string {
  return `Hmac ${inputs.publicKey}:${inputs.nonce}:${inputs.timestamp}:${sign(inputs)}`;
}

/** 32 random hex characters: a fresh nonce per token request. */
export function randomNonce(): string {
  return randomBytes(16).toString("hex");
}
