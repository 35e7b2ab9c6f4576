import { createHash } from "node:crypto";
import canonicalize from "canonicalize";
import type { OUTCOME_EVENTS } from "../config/index.ts";

/**
 * Where an order stands. `claimed`: a delivery holds the lease and may be calling Imburse. `waiting`: an
 * attempt ended without a final answer and a retry is scheduled. `submitted` and `already-existed` are
 * complete (Imburse holds the order with this content). `dead-lettered`: in the DLQ, `deadLetterKind` says why.
 */
export type LedgerState = "claimed" | "waiting" | "submitted" | "already-existed" | "dead-lettered";

/** The dead-letter kinds the ledger records (invalid orders never reach a claim). */
export type LedgerDeadLetterKind = "rejected" | "conflict" | "retries-exhausted";

/** What the last attempt learned from Imburse, for a person reading the ledger. */
export interface LastOutcome {
  /** `submitted`, `already-existed`, a retry reason (`throttled`, `server-error`, `network`, …) or a dead-letter kind. */
  result: string;
  status?: number;
  errorCodes?: string[];
  imburseCorrelationId?: string;
}

/**
 * One PutEvents entry as the ledger keeps it in an item's outbox until it is published: the detail is stored
 * as the JSON it is sent as (lib/events builds it; the ledger only keeps it).
 */
export interface OutboxEntry {
  /** The detail's `eventId`. */
  id: string;
  detailType: (typeof OUTCOME_EVENTS.detailTypes)[keyof typeof OUTCOME_EVENTS.detailTypes];
  /** The detail as JSON. */
  detail: string;
}

/** One order's durable record: one item per tenant and orderRef. */
export interface LedgerItem {
  orderRef: string;
  tenantId: string;
  state: LedgerState;
  deadLetterKind?: LedgerDeadLetterKind;
  /**
   * A try may have reached Imburse without an answer: every later attempt reads the order before it posts.
   * Only a confirmed outcome (submitted, already-existed) clears it.
   */
  mayExist: boolean;
  /** SHA-256 of the normalised order in RFC 8785 canonical JSON. */
  fingerprint: string;
  correlationId: string;
  /** The attempt the last delivery made (1 for the first). */
  attempts: number;
  /** Epoch milliseconds. */
  firstReceivedAt: number;
  /** Epoch milliseconds. */
  lastAttemptAt: number;
  /** While `claimed`: the delivery holding the lease, and when the lease ends (epoch milliseconds). */
  leaseOwner?: string;
  leaseExpiresAt?: number;
  lastOutcome?: LastOutcome;
  /**
   * When an operator last asked Imburse about the order (`ledger settle`), epoch milliseconds. An order settled
   * since its last attempt is not stuck: its next delivery reads Imburse and decides.
   */
  settledAt?: number;
  /** Incremented by every claim and every settle. */
  version: number;
  /** Epoch seconds (the table's TTL attribute). Readers treat an item past it as absent. */
  expiresAt: number;
  /** Set while the order is not complete: the sparse index `ledger stuck` and the stuck check query. */
  openShard?: string;
  /**
   * Outcome events due for publishing (the outbox): written with the state they announce, removed once
   * EventBridge accepted them. Usually one; an older one stays until it is published.
   */
  outbox?: OutboxEntry[];
  /** Set while `outbox` holds events: the sparse index the outbox sweep queries. */
  outboxShard?: string;
  /** Epoch milliseconds: when the oldest event in `outbox` became due. */
  outboxDueAt?: number;
}

/** A delivery's request to work on an order. */
export interface Claim {
  orderRef: string;
  tenantId: string;
  fingerprint: string;
  correlationId: string;
  attempt: number;
  /** Epoch milliseconds. */
  firstReceivedAt: number;
  /** Unique per delivery of a record. */
  owner: string;
  /** Epoch milliseconds. */
  now: number;
  /** How long the lease lasts: at least the function timeout. */
  leaseMs: number;
  /** How long the item lives after its last write. */
  ttlSeconds: number;
}

/** What a claim meets in the ledger. */
export type ClaimVerdict =
  /** Free to work on. `readFirst`: a previous try may have reached Imburse, so GET before POST. */
  | { kind: "claimable"; readFirst: boolean }
  /** Complete with the same content: acknowledge without calling Imburse. */
  | { kind: "duplicate"; item: LedgerItem }
  /** Complete with other content: the same orderRef was submitted with different content. */
  | { kind: "conflict"; item: LedgerItem }
  /** Another delivery holds a live lease: try again when it ends. */
  | { kind: "busy"; until: number };

/** Sparse-index shards: spread the open orders over a few partitions of the index. */
export const OPEN_SHARDS = 4;

/** The shard of an order in the open-orders index. */
export function openShardOf(orderRef: string): string {
  let sum = 0;
  for (const char of orderRef) sum = (sum + (char.codePointAt(0) ?? 0)) % OPEN_SHARDS;
  return String(sum);
}

/** The fingerprint of a normalised order: SHA-256 (hex) of its RFC 8785 canonical JSON. */
export function fingerprintOf(order: unknown): string {
  return createHash("sha256")
    .update(canonicalize(order) ?? "")
    .digest("hex");
}

/** Whether an item is past its expiry (its TTL): readers treat it as absent. */
function isExpired(item: Pick<LedgerItem, "expiresAt">, now: number): boolean {
  return item.expiresAt <= Math.floor(now / 1000);
}

/** Whether the order is complete: Imburse holds it with this content. */
export function isComplete(item: Pick<LedgerItem, "state">): boolean {
  return item.state === "submitted" || item.state === "already-existed";
}

/**
 * What a claim by `claim.owner` on `existing` meets. The claim's conditional write in the store says the
 * same thing as the `claimable` case here (and a test runs these cases through it); when the write is
 * refused, this reads the item that refused it.
 */
export function judgeClaim(
  existing: LedgerItem | undefined,
  claim: Pick<Claim, "fingerprint" | "owner" | "now">,
): ClaimVerdict {
  if (!existing) return { kind: "claimable", readFirst: false };
  // An item past its expiry counts as absent, but its may-exist mark still costs one GET: that is cheap.
  const readFirst = existing.mayExist || existing.state === "claimed";
  if (isExpired(existing, claim.now)) return { kind: "claimable", readFirst };
  if (isComplete(existing)) {
    return existing.fingerprint === claim.fingerprint
      ? { kind: "duplicate", item: existing }
      : { kind: "conflict", item: existing };
  }
  // Its own claim, met again when a retried write had already been applied: it may have posted since.
  if (existing.state === "claimed" && existing.leaseOwner === claim.owner)
    return { kind: "claimable", readFirst };
  const leaseEnd = existing.leaseExpiresAt ?? 0;
  if (existing.state === "claimed" && leaseEnd > claim.now) return { kind: "busy", until: leaseEnd };
  return { kind: "claimable", readFirst };
}

/** The item as the claim's write leaves it, from the item it replaced (what DynamoDB returns as ALL_OLD). */
export function claimedItem(previous: LedgerItem | undefined, claim: Claim): LedgerItem {
  return {
    orderRef: claim.orderRef,
    tenantId: claim.tenantId,
    state: "claimed",
    mayExist: previous?.mayExist ?? false,
    fingerprint: claim.fingerprint,
    correlationId: claim.correlationId,
    attempts: claim.attempt,
    // The earliest receipt the ledger knows: a duplicate publication does not make the order younger.
    firstReceivedAt: previous?.firstReceivedAt ?? claim.firstReceivedAt,
    lastAttemptAt: claim.now,
    leaseOwner: claim.owner,
    leaseExpiresAt: claim.now + claim.leaseMs,
    ...(previous?.lastOutcome ? { lastOutcome: previous.lastOutcome } : {}),
    // The claim's write leaves the outbox alone: an event still due is published with the next one.
    ...outboxOf(previous),
    version: (previous?.version ?? 0) + 1,
    expiresAt: Math.floor(claim.now / 1000) + claim.ttlSeconds,
    openShard: openShardOf(claim.orderRef),
  };
}

/** How an attempt ended, as the ledger records it. */
export type AttemptResult =
  | { state: "submitted" | "already-existed"; lastOutcome: LastOutcome }
  | {
      state: "waiting";
      /** This attempt itself may have reached Imburse unanswered. */
      mayHaveReached: boolean;
      lastOutcome: LastOutcome;
    }
  | {
      state: "dead-lettered";
      kind: LedgerDeadLetterKind;
      mayHaveReached: boolean;
      lastOutcome: LastOutcome;
    };

/**
 * The item after an attempt that held the claim `claimed`. The lease is released; the may-exist mark
 * stays until a confirmed outcome: it is set when this attempt read first (a previous try may have
 * reached Imburse and nothing has confirmed it since) or may itself have reached Imburse unanswered.
 */
export function settledItem(
  claimed: LedgerItem,
  result: AttemptResult,
  readFirst: boolean,
  now: number,
  event?: OutboxEntry,
): LedgerItem {
  const {
    leaseOwner: _owner,
    leaseExpiresAt: _lease,
    openShard,
    deadLetterKind: _kind,
    settledAt: _settled,
    ...rest
  } = claimed;
  const complete = result.state === "submitted" || result.state === "already-existed";
  const mayHaveReached = "mayHaveReached" in result && result.mayHaveReached;
  return {
    ...rest,
    state: result.state,
    ...(result.state === "dead-lettered" ? { deadLetterKind: result.kind } : {}),
    mayExist: !complete && (claimed.mayExist || readFirst || mayHaveReached),
    lastOutcome: result.lastOutcome,
    lastAttemptAt: Math.max(claimed.lastAttemptAt, now),
    ...(complete ? {} : { openShard: openShard ?? openShardOf(claimed.orderRef) }),
    ...(event ? withOutboxEvent(claimed, event, now) : {}),
  };
}

/** Whether the item holds outcome events due for at least `olderThanMs`: the sweep's (and next delivery's) due. */
export function hasEventsDue(item: LedgerItem, now: number, olderThanMs: number): boolean {
  return (item.outbox?.length ?? 0) > 0 && (item.outboxDueAt ?? 0) + olderThanMs <= now;
}

/** The orderRef prefix of {@link outboxOnlyItem}s: `#` is no ref character, so no order can collide. */
const OUTBOX_ONLY_PREFIX = "event#";

/**
 * An item that holds nothing but an outcome event no order's item keeps (an invalid order, a conflict the
 * ledger found) and that could not be published: the sweep publishes it later like any other. It is never
 * claimed, counted open or stuck, and expires with the ledger's TTL.
 */
export function outboxOnlyItem(
  event: OutboxEntry,
  tenantId: string,
  now: number,
  ttlSeconds: number,
): LedgerItem {
  return {
    orderRef: `${OUTBOX_ONLY_PREFIX}${event.id}`,
    tenantId,
    state: "dead-lettered",
    mayExist: false,
    fingerprint: "",
    correlationId: "",
    attempts: 0,
    firstReceivedAt: now,
    lastAttemptAt: now,
    version: 0,
    expiresAt: Math.floor(now / 1000) + ttlSeconds,
    outbox: [event],
    outboxShard: openShardOf(event.id),
    outboxDueAt: now,
  };
}

/** The outbox fields of an item, if it has events due. */
function outboxOf(item: LedgerItem | undefined): Pick<LedgerItem, "outbox" | "outboxShard" | "outboxDueAt"> {
  if (!item?.outbox?.length) return {};
  return {
    outbox: item.outbox,
    outboxShard: item.outboxShard ?? openShardOf(item.orderRef),
    outboxDueAt: item.outboxDueAt ?? item.lastAttemptAt,
  };
}

/** The outbox fields with `event` added as due at `now` (an event already in it is not repeated). */
function withOutboxEvent(
  item: LedgerItem,
  event: OutboxEntry,
  now: number,
): Pick<LedgerItem, "outbox" | "outboxShard" | "outboxDueAt"> {
  const due = (item.outbox ?? []).filter((entry) => entry.id !== event.id);
  return {
    outbox: [...due, event],
    outboxShard: openShardOf(item.orderRef),
    outboxDueAt: due.length > 0 ? (item.outboxDueAt ?? now) : now,
  };
}

/**
 * The item once the events `publishedIds` reached the bus: they leave the outbox, and the outbox fields go
 * with the last of them (the item leaves the sweep's index). Undefined when none of them was in it.
 */
export function publishedItem(item: LedgerItem, publishedIds: ReadonlySet<string>): LedgerItem | undefined {
  const outbox = item.outbox ?? [];
  const left = outbox.filter((entry) => !publishedIds.has(entry.id));
  if (left.length === outbox.length) return undefined;
  const { outbox: _outbox, outboxShard: _shard, outboxDueAt: _due, ...rest } = item;
  return left.length > 0 ? { ...rest, ...outboxOf({ ...item, outbox: left }) } : rest;
}

/** A stuck order: claimed with a lease that ended, or may exist in Imburse unconfirmed. */
export function isStuck(item: LedgerItem, now: number, olderThanMs: number): boolean {
  if (isComplete(item) || isExpired(item, now)) return false;
  if (item.settledAt !== undefined && item.settledAt >= item.lastAttemptAt) return false;
  if (item.state === "claimed") return (item.leaseExpiresAt ?? 0) + olderThanMs <= now;
  return item.mayExist && item.lastAttemptAt + olderThanMs <= now;
}

/**
 * How a person reads an item's state: `may-exist` is an order waiting for a retry after a try that may
 * have reached Imburse; `claimed (lease ended)` one whose delivery ended without a word.
 */
export function describeState(item: LedgerItem, now: number): string {
  if (isExpired(item, now)) return `${item.state} (expired: treated as absent)`;
  switch (item.state) {
    case "claimed":
      return (item.leaseExpiresAt ?? 0) > now ? "claimed" : "claimed (lease ended: may exist in Imburse)";
    case "waiting":
      return item.mayExist ? "may-exist (retry scheduled)" : "retry-waiting";
    case "dead-lettered":
      return `dead-lettered (${item.deadLetterKind ?? "unknown"}${item.mayExist ? ", may exist in Imburse" : ""})`;
    default:
      return item.state;
  }
}
