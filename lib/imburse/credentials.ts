import * as z from "zod/mini";

/**
 * The Imburse API key the relay uses, as the Secrets Manager secret holds it (JSON).
 * `privateKey` is base64 as issued by the portal.
 */
export const imburseCredentialsSchema = z.object({
  publicKey: z.string().check(z.minLength(1)),
  privateKey: z.string().check(z.minLength(1)),
  accountId: z.string().check(z.minLength(1)),
  tenantId: z.string().check(z.minLength(1)),
});

export type ImburseCredentials = z.infer<typeof imburseCredentialsSchema>;

/**
 * Where the client gets its credentials. `refresh` bypasses any cache: the client calls it once
 * when a 401 survives a token refresh, since the key may have been rotated.
 */
export interface CredentialsProvider {
  get(): Promise<ImburseCredentials>;
  refresh?(): Promise<ImburseCredentials>;
}

/** A provider for credentials that never change (tests, the simulator, a one-off CLI call). */
export function staticCredentials(credentials: ImburseCredentials): CredentialsProvider {
  return { get: async () => credentials };
}

/** Names the fields that are wrong, never their values. */
export function describeCredentialsProblem(value: unknown): string | undefined {
  const parsed = imburseCredentialsSchema.safeParse(value);
  if (parsed.success) return undefined;
  const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join(".") || "(root)"))];
  return `the Imburse credentials secret must be JSON with non-empty publicKey, privateKey, accountId and tenantId; check: ${fields.join(", ")}`;
}
