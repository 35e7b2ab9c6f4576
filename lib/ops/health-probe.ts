import type { ImburseClient } from "../imburse/index.ts";
import { failureKind, ImburseApiError, ImburseNetworkError } from "../imburse/index.ts";

/** The two steps of a probe: the HMAC token exchange, then an authenticated read. */
export type ProbeStep = "token" | "read";

/** Why a probe found Imburse unhealthy. */
export type ProbeFailureReason = "network" | "throttled" | "server-error" | "auth" | "unexpected";

/** What went wrong in an unhealthy probe. */
export interface ProbeFailure {
  step: ProbeStep;
  reason: ProbeFailureReason;
  /** The HTTP status, when Imburse answered. */
  status?: number;
  /** Imburse's error codes; for a network failure the socket error code; otherwise the error's name. */
  errorCodes?: string[];
  /** Imburse's correlation id from an error body: quote it to Imburse support. */
  imburseCorrelationId?: string;
}

/** The verdict of one probe run. */
export interface ProbeResult {
  healthy: boolean;
  /** From the start of the token exchange to the end of the read, or to the failure. */
  latencyMs: number;
  failure?: ProbeFailure;
}

/** How a probe run ended: both steps answered, or one step threw. */
export type ProbeOutcome = { ok: true } | { ok: false; step: ProbeStep; error: unknown };

/** Options of {@link probeImburse}. */
export interface ProbeOptions {
  /** The orderRef read; it should not exist, so Imburse answers ORDER_NOT_FOUND. */
  probeOrderRef: string;
  /** Sent as `X-Correlation-ID` on both calls. */
  correlationId: string;
  /** Epoch milliseconds, for the latency; default `Date.now`. */
  clock?: () => number;
}

/**
 * Decides whether Imburse is healthy from how a probe ended. A read answered 2xx, 404, or 400
 * ORDER_NOT_FOUND is healthy: the key was accepted and the order service answered. Any 404 of the read
 * counts: the token exchange on the same host has just succeeded, so it is not a wrong base URL. Network
 * failures and timeouts, 429, 5xx and 401/403 are unhealthy with their reason; anything else is
 * `unexpected`.
 */
export function probeVerdict(outcome: ProbeOutcome): Omit<ProbeResult, "latencyMs"> {
  if (outcome.ok) return { healthy: true };
  const { step, error } = outcome;
  if (error instanceof ImburseNetworkError) {
    return { healthy: false, failure: { step, reason: "network", errorCodes: [error.code] } };
  }
  if (!(error instanceof ImburseApiError)) {
    const name = error instanceof Error ? error.name : typeof error;
    return { healthy: false, failure: { step, reason: "unexpected", errorCodes: [name] } };
  }
  const kind = failureKind(error);
  if (step === "read" && kind === "not-found") return { healthy: true };
  const failure: ProbeFailure = {
    step,
    reason: kind === "throttled" || kind === "server-error" || kind === "auth" ? kind : "unexpected",
    status: error.status,
    errorCodes: error.errorCodes,
  };
  if (error.imburseCorrelationId) failure.imburseCorrelationId = error.imburseCorrelationId;
  return { healthy: false, failure };
}

/**
 * Probes Imburse: a token exchange, then a GET of `probeOrderRef`. Never throws; every failure becomes an
 * unhealthy {@link ProbeResult}. Give it a client with its own token cache so the exchange really happens.
 */
export async function probeImburse(
  client: Pick<ImburseClient, "accessToken" | "getOrder">,
  options: ProbeOptions,
): Promise<ProbeResult> {
  const clock = options.clock ?? Date.now;
  const call = { correlationId: options.correlationId };
  const started = clock();
  const outcome = await runSteps(client, options.probeOrderRef, call);
  return { ...probeVerdict(outcome), latencyMs: clock() - started };
}

async function runSteps(
  client: Pick<ImburseClient, "accessToken" | "getOrder">,
  orderRef: string,
  call: { correlationId: string },
): Promise<ProbeOutcome> {
  try {
    await client.accessToken(call);
  } catch (error) {
    return { ok: false, step: "token", error };
  }
  try {
    await client.getOrder(orderRef, call);
  } catch (error) {
    return { ok: false, step: "read", error };
  }
  return { ok: true };
}
