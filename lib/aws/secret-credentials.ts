import type { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import {
  type CredentialsProvider,
  describeCredentialsProblem,
  type ImburseCredentials,
  imburseCredentialsSchema,
} from "../imburse/credentials.ts";

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
  /** Told when a refresh failed and the last good value is served instead. */
  onStale?: (error: unknown) => void;
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
      if (lastGood) {
        options.onStale?.(error);
        return lastGood;
      }
      throw new CredentialsUnavailableError(
        `could not read the Imburse credentials secret ${options.secretId}`,
        {
          cause: error,
        },
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
