import { createHash, createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  bodyHash,
  hmacAuthorization,
  parseHmacAuthorization,
  randomNonce,
  sign,
  stringToSign,
} from "../lib/imburse/signing.ts";

const privateKey = Buffer.from("test-private-key-bytes").toString("base64");

describe("HMAC signing (Imburse HMAC examples)", () => {
  it("signs publicKey:nonce:timestamp: with the base64-decoded private key when there is no body", () => {
    const expected = createHmac("sha256", Buffer.from("test-private-key-bytes"))
      .update("pub-1:abc123:1700000000:", "utf8")
      .digest("base64");
    expect(stringToSign({ publicKey: "pub-1", nonce: "abc123", timestamp: 1700000000 })).toBe(
      "pub-1:abc123:1700000000:",
    );
    expect(sign({ publicKey: "pub-1", privateKey, nonce: "abc123", timestamp: 1700000000 })).toBe(expected);
  });

  it("does not use the base64 text itself as the key", () => {
    const wrong = createHmac("sha256", privateKey).update("pub-1:n:1:", "utf8").digest("base64");
    expect(sign({ publicKey: "pub-1", privateKey, nonce: "n", timestamp: 1 })).not.toBe(wrong);
  });

  it("hashes a body with SHA-256 into the string to sign", () => {
    const body = '{"orderRef":"A-1"}';
    const hash = createHash("sha256").update(body, "utf8").digest("base64");
    expect(bodyHash(body)).toBe(hash);
    expect(bodyHash("")).toBe("");
    expect(stringToSign({ publicKey: "p", nonce: "n", timestamp: 2, body })).toBe(`p:n:2:${hash}`);
  });

  it("builds the Authorization header and parses it back, scheme case-insensitive", () => {
    const header = hmacAuthorization({ publicKey: "pub-1", privateKey, nonce: "n1", timestamp: 42 });
    expect(header).toMatch(/^Hmac pub-1:n1:42:[A-Za-z0-9+/=]+$/);
    const parsed = parseHmacAuthorization(header.replace("Hmac", "hmac"));
    expect(parsed).toEqual({
      publicKey: "pub-1",
      nonce: "n1",
      timestamp: "42",
      signature: sign({ publicKey: "pub-1", privateKey, nonce: "n1", timestamp: 42 }),
    });
    expect(parseHmacAuthorization("Bearer x")).toBeUndefined();
    expect(parseHmacAuthorization(undefined)).toBeUndefined();
  });

  it("makes a fresh 32-hex-character nonce each time", () => {
    const a = randomNonce();
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(randomNonce()).not.toBe(a);
  });
});
