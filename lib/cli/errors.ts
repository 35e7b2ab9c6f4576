/** The command cannot run as given (bad flag, missing file, missing variable): exit status 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** The command ran and failed (nothing to show beyond its message): exit status 1. */
export class CommandFailedError extends Error {
  override readonly name = "CommandFailedError";
}

/**
 * Exit statuses of the CLI: 0 every line or message done, 1 some failed (the output says which), 2 usage
 * error, 3 gave up waiting (`local --max-wait`), 130 interrupted (SIGINT or SIGTERM).
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, gaveUp: 3, interrupted: 130 } as const;

/** A Node system error's code, looked for on the error, its cause and the errors of an AggregateError. */
function errorCode(error: Error): string | undefined {
  const candidates: unknown[] = [error, error.cause, ...((error as Partial<AggregateError>).errors ?? [])];
  for (const candidate of candidates) {
    const code = (candidate as NodeJS.ErrnoException | undefined)?.code;
    if (typeof code === "string") return code;
  }
  return undefined;
}

/** `host:port` of a network error: from its fields, else from its message. */
function errorAddress(error: Error): string | undefined {
  const { address, port } = error as { address?: string; port?: number };
  if (address) return port === undefined ? address : `${address}:${port}`;
  return /\b(?:ECONNREFUSED|EADDRINUSE|ENOTFOUND|EAI_AGAIN|ETIMEDOUT)\s+(\S+)/.exec(error.message)?.[1];
}

/** What to do about the errors a person meets first; undefined for the others. */
function hint(error: Error): string | undefined {
  if (error.name === "CredentialsProviderError") {
    return (
      "no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY " +
      "(a local SQS given with --endpoint accepts any, e.g. AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local)"
    );
  }
  const code = errorCode(error);
  const address = errorAddress(error) ?? "the server";
  switch (code) {
    case "ECONNREFUSED":
      return `cannot connect to ${address} (ECONNREFUSED): nothing is listening there; check the URL (--endpoint, --imburse-url) and that its server is running`;
    case "EADDRINUSE":
      return `${address} is already in use (EADDRINUSE): stop what listens there, or choose another --port (0 picks a free one)`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `cannot resolve the host of ${address} (${code}): check the URL`;
    case "ETIMEDOUT":
      return `${address} did not answer in time (ETIMEDOUT): check the URL and the network`;
    default:
      return undefined;
  }
}

/**
 * One line for an error, without a stack: what to do for missing credentials, a refused connection or a
 * port in use; AWS SDK errors by name and message (e.g. `QueueDoesNotExist: The specified queue does not
 * exist.`); other errors by message and code.
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error instanceof UsageError || error instanceof CommandFailedError) return error.message;
  const known = hint(error);
  if (known) return known;
  const code = errorCode(error);
  const firstLine = error.message.split("\n")[0] ?? "";
  // A plain "Error" says nothing; an SDK error's name is its AWS error code.
  if ("$metadata" in error && error.name !== "Error") return `${error.name}: ${firstLine}`;
  return code && !firstLine.includes(code) ? `${firstLine} (${code})` : firstLine;
}
