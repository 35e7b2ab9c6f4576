/** The command cannot run as given (bad flag, missing file, missing variable): exit status 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** The command ran and failed (nothing to show beyond its message): exit status 1. */
export class CommandFailedError extends Error {
  override readonly name = "CommandFailedError";
}

/** Exit statuses of the CLI. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/**
 * One line for an error, without a stack: AWS SDK errors by name and message (e.g.
 * `QueueDoesNotExist: The specified queue does not exist.`), network errors by code.
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error instanceof UsageError || error instanceof CommandFailedError) return error.message;
  const code = (error as NodeJS.ErrnoException).code;
  const isSdk = "$metadata" in error || error.name === "CredentialsProviderError";
  const firstLine = error.message.split("\n")[0] ?? "";
  if (isSdk) return `${error.name}: ${firstLine}`;
  return code && !firstLine.includes(code) ? `${firstLine} (${code})` : firstLine;
}
