import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { bodyHash, hmacAuthorization, randomNonce, sign, stringToSign } from "../../lib/imburse/signing.ts";
import { parseHmacAuthorization } from "../../lib/simulator/index.ts";

const privateKey = Buffer.from("test-private-key-bytes").toString("base64");

describe("HMAC signing (Imburse HMAC examples)", () => {
  // Known answers computed by another implementation, not by this code:
  //   printf 'pub-1:abc123:1700000000:' | openssl dgst -sha256 -mac HMAC -macopt key:test-private-key-bytes -binary | base64
  //   printf '{"orderRef":"A-1"}' | openssl dgst -sha256 -binary | base64
  //   printf 'pub-1:n-2:1700000001:<that hash>' | openssl dgst -sha256 -mac HMAC -macopt key:test-private-key-bytes -binary | base64
  it("matches openssl's answers: publicKey:nonce:timestamp: keyed with the decoded private key", () => {
    expect(stringToSign({ publicKey: "pub-1", nonce: "abc123", timestamp: 1700000000 })).toBe(
      "pub-1:abc123:1700000000:",
    );
    expect(sign({ publicKey: "pub-1", privateKey, nonce: "abc123", timestamp: 1700000000 })).toBe(
      "Uf5Ls5aaSjVh4jC4/5zCCHGrc2k4JYpjJr9Lyv8/Gv8=",
    );
  });

  it("matches openssl's answer for a signed body: the body's SHA-256 (base64) ends the string to sign", () => {
    const body = '{"orderRef":"A-1"}';
    expect(bodyHash(body)).toBe("fKTaMQAMnaiHQU3F21bnJPD/MX9E9e9kDDjp6LZ+/ek=");
    expect(sign({ publicKey: "pub-1", privateKey, nonce: "n-2", timestamp: 1700000001, body })).toBe(
      "1bE5vQTLR+bn85bOTZGQxwIZgZ14gjnMCAw2Pdok8x8=",
    );
  });

  it("does not use the base64 text itself as the key", () => {
    const wrong = createHmac("sha256", privateKey).update("pub-1:n:1:", "utf8").digest("base64");
    expect(sign({ publicKey: "pub-1", privateKey, nonce: "n", timestamp: 1 })).not.toBe(wrong);
  });

  it("leaves the body hash empty without a body", () => {
    expect(bodyHash("")).toBe("");
    expect(bodyHash(undefined)).toBe("");
  });

  it("builds the Authorization header the simulator parses back, scheme case-insensitive", () => {
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
