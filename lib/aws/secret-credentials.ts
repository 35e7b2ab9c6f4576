import type { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import {
  type CredentialsProvider,
  describeCredentialsProblem,
  type ImburseCredentials,
  imburseCredentialsSchema,
} from "../imburse/index.ts";

/** Raised when the credentials secret cannot be read or is not the expected JSON. Names no value. */
export class CredentialsUnavailableError extends Error {
  override readonly name = "CredentialsUnavailableError";
}

/** Options of {@link secretCredentials}. */
export interface SecretCredentialsOptions {
  provider: Pick<SecretsProvider, "get">;
  secretId: string;
  /** Cache lifetime in seconds (Powertools Parameters `maxAge`). */
  maxAgeSeconds: number;
  /** Told, with a description safe to log, when a refresh failed and the last good value is served instead. */
  onStale?: (problem: string) => void;
}

/**
 * Imburse credentials from one Secrets Manager JSON secret through Powertools Parameters, with what
 * Parameters lacks: one fetch in flight for all concurrent callers, and the last good value served
 * when a refresh fails (a Secrets Manager blip must not stop payments that have a working key).
 */
export function secretCredentials(options: SecretCredentialsOptions): CredentialsProvider {
  let lastGood: ImburseCredentials | undefined;
  const inFlight = new Map<boolean, Promise<ImburseCredentials>>();

  const fetchOnce = async (forceFetch: boolean): Promise<ImburseCredentials> => {
    let value: unknown;
    try {
      value = await options.provider.get(options.secretId, {
        maxAge: options.maxAgeSeconds,
        transform: "json",
        forceFetch,
      });
    } catch (error) {
      const problem = describeFetchError(error);
      if (lastGood) {
        options.onStale?.(problem);
        return lastGood;
      }
      // No `cause`: its message may quote the secret (a JSON parse error shows the text around the fault).
      throw new CredentialsUnavailableError(
        `could not read the Imburse credentials secret ${options.secretId}: ${problem}`,
      );
    }
    const parsed = imburseCredentialsSchema.safeParse(value);
    if (!parsed.success) throw new CredentialsUnavailableError(describeCredentialsProblem(value));
    lastGood = parsed.data;
    return parsed.data;
  };

  const load = (forceFetch: boolean): Promise<ImburseCredentials> => {
    let pending = inFlight.get(forceFetch);
    if (!pending) {
      pending = fetchOnce(forceFetch).finally(() => inFlight.delete(forceFetch));
      inFlight.set(forceFetch, pending);
    }
    return pending;
  };

  return { get: () => load(false), refresh: () => load(true) };
}

/**
 * What went wrong reading the secret, without any of its text: Powertools' JSON transform error embeds
 * V8's message, which quotes the characters around the syntax error (part of a private key).
 */
function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return "unknown error";
  const cause = error.cause instanceof Error ? error.cause : undefined;
  if (error.name === "TransformParameterError" || cause instanceof SyntaxError)
    return "the secret is not valid JSON";
  const status = (cause as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata
    ?.httpStatusCode;
  return `${cause?.name ?? error.name}${status ? ` (HTTP ${status})` : ""}`;
}
