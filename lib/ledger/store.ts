import { setTimeout } from "node:timers/promises";
import { ConditionalCheckFailedException, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { LEDGER_TABLE } from "../config/index.ts";
import {
  type Claim,
  type ClaimVerdict,
  claimedItem,
  isStuck,
  judgeClaim,
  type LedgerItem,
  OPEN_SHARDS,
} from "./item.ts";

/** DynamoDB errors that waiting does not cure: a missing table, a refused role, a malformed request. */
const PERMANENT_ERRORS = new Set([
  "AccessDeniedException",
  "ResourceNotFoundException",
  "ValidationException",
  "UnrecognizedClientException",
]);

/** The ledger could not be read or written (throttling, an error, a timeout): nothing may be posted. */
export class LedgerUnavailableError extends Error {
  override readonly name = "LedgerUnavailableError";
  /** Waiting will not help: the table is missing, or the relay may not use it. */
  readonly permanent: boolean;
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
    this.permanent = options.cause instanceof Error && PERMANENT_ERRORS.has(options.cause.name);
  }
}

/** A claim that was granted: the item as it now stands, and whether to read the order before posting it. */
export type ClaimOutcome =
  | { kind: "claimed"; item: LedgerItem; readFirst: boolean }
  | Exclude<ClaimVerdict, { kind: "claimable" }>;

/** Per-call options: an AWS call is abandoned when `abortSignal` fires (the record's time is up). */
export interface LedgerCallOptions {
  abortSignal?: AbortSignal;
}

/** The order ledger: every operation the relay and the operator commands perform on it. */
export interface OrderLedger {
  /** Claims an order before any call to Imburse. Throws {@link LedgerUnavailableError} when it cannot tell. */
  claim(claim: Claim, options?: LedgerCallOptions): Promise<ClaimOutcome>;
  /** Writes an item while `owner` still holds its lease; false when another delivery has taken it over. */
  putIfOwner(item: LedgerItem, owner: string, options?: LedgerCallOptions): Promise<boolean>;
  /** Writes the items as plain puts (BatchWriteItem: no conditions); returns those it could not write. */
  putAll(items: LedgerItem[], options?: LedgerCallOptions): Promise<LedgerItem[]>;
  /** Writes an item if it is still at `version` (a settle by an operator); false when it moved on. */
  putIfVersion(item: LedgerItem, version: number, options?: LedgerCallOptions): Promise<boolean>;
  /**
   * Writes an item only if the stored one is still `previous`: the same version, state and last attempt.
   * State writes keep the version (only claims and settles move it), so the version alone cannot tell.
   */
  putIfUnchanged(item: LedgerItem, previous: LedgerItem, options?: LedgerCallOptions): Promise<boolean>;
  /** Every tenant's item for an orderRef (strongly consistent). */
  find(orderRef: string): Promise<LedgerItem[]>;
  /** Orders claimed with a lease that ended, or that may exist, for longer than `olderThanMs`. */
  stuck(now: number, olderThanMs: number): Promise<LedgerItem[]>;
  /** Items with outcome events due for longer than `olderThanMs` (the outbox index), oldest first, at most `limit`. */
  dueEvents(now: number, olderThanMs: number, limit: number): Promise<LedgerItem[]>;
}

/** BatchWriteItem's limit. */
const BATCH_WRITE_MAX = 25;
/** Rounds of BatchWriteItem for items DynamoDB left unprocessed (throttling) before giving up on them. */
const UNPROCESSED_ROUNDS = 3;
/** The base of the backoff between those rounds. */
const UNPROCESSED_BACKOFF_MS = 50;

/** How long a claim that kept racing another delivery waits before it is tried again. */
const RACE_BACKOFF_MS = 2_000;

/**
 * The claim's condition: exactly the `claimable` case of `judgeClaim`. Absent, expired, its own claim, or
 * neither complete nor claimed under another delivery's live lease.
 *
 * AND binds tighter than OR in DynamoDB's condition expressions, so the two AND pairs need no parentheses of
 * their own. Without them dynalite, local mode's DynamoDB, parses the same tree in a third of the time: it is
 * on every claim's path, ten claims in a row per batch.
 */
const CLAIMABLE =
  "attribute_not_exists(orderRef) OR expiresAt <= :nowSeconds OR #state = :claimed AND leaseOwner = :owner " +
  "OR NOT (#state IN (:submitted, :alreadyExisted) OR #state = :claimed AND leaseExpiresAt > :now)";

/** {@link OrderLedger} on one DynamoDB table (keys `orderRef`, `tenantId`; TTL on `expiresAt`). */
export function dynamoDbLedger(client: DynamoDBClient, tableName: string): OrderLedger {
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const key = (item: Pick<LedgerItem, "orderRef" | "tenantId">) => ({
    orderRef: item.orderRef,
    tenantId: item.tenantId,
  });

  const unavailable = (operation: string, error: unknown): LedgerUnavailableError => {
    const name = error instanceof Error ? error.name : "unknown error";
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    return new LedgerUnavailableError(
      `the order ledger could not ${operation} (${name}${status ? `, HTTP ${status}` : ""})`,
      { cause: error },
    );
  };

  /**
   * One conditional claim write: the claimed item, or the verdict on the item that refused it; `moved` when
   * that item changed between the refused write and the read (it is claimable again).
   */
  const tryClaim = async (claim: Claim, options: LedgerCallOptions): Promise<ClaimOutcome | "moved"> => {
    try {
      const written = await doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key(claim),
          UpdateExpression:
            "SET #state = :claimed, fingerprint = :fingerprint, correlationId = :correlationId, " +
            "attempts = :attempts, lastAttemptAt = :now, " +
            "leaseOwner = :owner, leaseExpiresAt = :leaseExpiresAt, expiresAt = :expiresAt, " +
            "firstReceivedAt = if_not_exists(firstReceivedAt, :firstReceivedAt), " +
            "openShard = :openShard, mayExist = if_not_exists(mayExist, :false), " +
            "version = if_not_exists(version, :zero) + :one REMOVE deadLetterKind",
          ConditionExpression: CLAIMABLE,
          ExpressionAttributeNames: { "#state": "state" },
          ExpressionAttributeValues: claimValues(claim),
          ReturnValues: "ALL_OLD",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
        options,
      );
      const previous = written.Attributes as LedgerItem | undefined;
      const verdict = judgeClaim(previous, claim);
      return {
        kind: "claimed",
        item: claimedItem(previous, claim),
        readFirst: verdict.kind === "claimable" && verdict.readFirst,
      };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw unavailable("claim the order", error);
      // DynamoDB returns the item that refused the write; stand-ins such as dynalite do not: read it.
      const current = error.Item
        ? (unmarshall(error.Item) as LedgerItem)
        : await getItem(claim, options).catch((cause: unknown) => {
            throw unavailable("read the order", cause);
          });
      const verdict = judgeClaim(current, claim);
      return verdict.kind === "claimable" ? "moved" : verdict;
    }
  };

  const getItem = async (
    claim: Pick<Claim, "orderRef" | "tenantId">,
    options: LedgerCallOptions,
  ): Promise<LedgerItem | undefined> => {
    const read = await doc.send(
      new GetCommand({ TableName: tableName, Key: key(claim), ConsistentRead: true }),
      options,
    );
    return read.Item as LedgerItem | undefined;
  };

  const conditionalPut = async (
    item: LedgerItem,
    condition: string,
    values: Record<string, unknown>,
    options: LedgerCallOptions = {},
    names?: Record<string, string>,
  ): Promise<boolean> => {
    try {
      await doc.send(
        new PutCommand({
          TableName: tableName,
          Item: item,
          ConditionExpression: condition,
          ExpressionAttributeValues: values,
          ...(names ? { ExpressionAttributeNames: names } : {}),
        }),
        options,
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw unavailable("record the order's state", error);
    }
  };

  /**
   * The items of a sparse index whose sort key is at most `cutoff`, over every shard (at most `perShard` of
   * each when given: the oldest, as the sort key orders them).
   */
  const queryShards = async (
    index: { name: string; partitionKey: string; sortKey: string },
    cutoff: number,
    operation: string,
    perShard = Number.POSITIVE_INFINITY,
  ): Promise<LedgerItem[]> => {
    const found: LedgerItem[] = [];
    try {
      for (let shard = 0; shard < OPEN_SHARDS; shard++) {
        let fromShard = 0;
        let startKey: Record<string, unknown> | undefined;
        do {
          const page = await doc.send(
            new QueryCommand({
              TableName: tableName,
              IndexName: index.name,
              KeyConditionExpression: "#shard = :shard AND #sortKey <= :cutoff",
              ExpressionAttributeNames: { "#shard": index.partitionKey, "#sortKey": index.sortKey },
              ExpressionAttributeValues: { ":shard": String(shard), ":cutoff": cutoff },
              ExclusiveStartKey: startKey,
              ...(Number.isFinite(perShard) ? { Limit: perShard } : {}),
            }),
          );
          const items = (page.Items ?? []) as LedgerItem[];
          found.push(...items);
          fromShard += items.length;
          startKey = fromShard < perShard ? page.LastEvaluatedKey : undefined;
        } while (startKey);
      }
    } catch (error) {
      throw unavailable(operation, error);
    }
    return found;
  };

  return {
    async claim(claim, options = {}) {
      const first = await tryClaim(claim, options);
      if (first !== "moved") return first;
      const second = await tryClaim(claim, options);
      // Still changing under us: another delivery is busy with it; look again shortly.
      return second !== "moved" ? second : { kind: "busy", until: claim.now + RACE_BACKOFF_MS };
    },

    putIfOwner: (item, owner, options) =>
      conditionalPut(item, "leaseOwner = :owner", { ":owner": owner }, options),

    putIfVersion: (item, version, options) =>
      conditionalPut(item, "version = :version", { ":version": version }, options),

    putIfUnchanged: (item, previous, options) =>
      conditionalPut(
        item,
        "version = :version AND #state = :state AND lastAttemptAt = :lastAttemptAt",
        { ":version": previous.version, ":state": previous.state, ":lastAttemptAt": previous.lastAttemptAt },
        options,
        { "#state": "state" },
      ),

    async putAll(items, options = {}) {
      let pending = items;
      const failed: LedgerItem[] = [];
      for (let round = 0; round < UNPROCESSED_ROUNDS && pending.length > 0; round++) {
        // DynamoDB leaves items unprocessed when it throttles: back off (jittered) before the next round.
        if (round > 0) {
          if (options.abortSignal?.aborted) break;
          await setTimeout(UNPROCESSED_BACKOFF_MS * 2 ** round * (0.5 + Math.random() / 2));
        }
        const next: LedgerItem[] = [];
        for (let start = 0; start < pending.length; start += BATCH_WRITE_MAX) {
          const chunk = pending.slice(start, start + BATCH_WRITE_MAX);
          try {
            const written = await doc.send(
              new BatchWriteCommand({
                RequestItems: { [tableName]: chunk.map((item) => ({ PutRequest: { Item: item } })) },
              }),
              options,
            );
            // Report the caller's own objects: it tells its items apart by identity.
            const byKey = new Map(chunk.map((item) => [itemKey(item), item]));
            for (const request of written.UnprocessedItems?.[tableName] ?? []) {
              const unprocessed = request.PutRequest?.Item as LedgerItem | undefined;
              if (unprocessed) next.push(byKey.get(itemKey(unprocessed)) ?? unprocessed);
            }
          } catch {
            failed.push(...chunk);
          }
        }
        pending = next;
      }
      return [...failed, ...pending];
    },

    async find(orderRef) {
      try {
        const read = await doc.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: "orderRef = :orderRef",
            ExpressionAttributeValues: { ":orderRef": orderRef },
            ConsistentRead: true,
          }),
        );
        return (read.Items ?? []) as LedgerItem[];
      } catch (error) {
        throw unavailable("read the order", error);
      }
    },

    async stuck(now, olderThanMs) {
      const found = await queryShards(LEDGER_TABLE.openIndex, now - olderThanMs, "list open orders");
      return found
        .filter((item) => isStuck(item, now, olderThanMs))
        .sort((a, b) => a.lastAttemptAt - b.lastAttemptAt);
    },

    async dueEvents(now, olderThanMs, limit) {
      const found = await queryShards(
        LEDGER_TABLE.outboxIndex,
        now - olderThanMs,
        "list the outcome events due",
        limit,
      );
      return found
        .filter((item) => (item.outbox?.length ?? 0) > 0)
        .sort((a, b) => (a.outboxDueAt ?? 0) - (b.outboxDueAt ?? 0))
        .slice(0, limit);
    },
  };
}

function itemKey(item: Pick<LedgerItem, "orderRef" | "tenantId">): string {
  return `${item.orderRef}\u0000${item.tenantId}`;
}

function claimValues(claim: Claim): Record<string, unknown> {
  const claimed = claimedItem(undefined, claim);
  return {
    ":claimed": "claimed",
    ":submitted": "submitted",
    ":alreadyExisted": "already-existed",
    ":fingerprint": claimed.fingerprint,
    ":correlationId": claimed.correlationId,
    ":attempts": claimed.attempts,
    ":firstReceivedAt": claimed.firstReceivedAt,
    ":now": claim.now,
    ":nowSeconds": Math.floor(claim.now / 1000),
    ":owner": claimed.leaseOwner,
    ":leaseExpiresAt": claimed.leaseExpiresAt,
    ":expiresAt": claimed.expiresAt,
    ":openShard": claimed.openShard,
    ":false": false,
    ":zero": 0,
    ":one": 1,
  };
}
