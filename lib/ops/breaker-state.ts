/**
 * Where the circuit breaker keeps its state: one item of the order ledger table, under a key no order can
 * have (an `orderRef` may only hold `[A-Za-z0-9._-]`), so the breaker needs no table of its own and its
 * state outlives every invocation. The item has no `expiresAt` (it never expires) and no `openShard` (the
 * stuck-order check never sees it).
 */
import { ConditionalCheckFailedException, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { BreakerPhase } from "../config/index.ts";
import { BREAKER_STATE_KEY, LEDGER_TABLE } from "../config/index.ts";
import type { BreakerState } from "./circuit-breaker.ts";

/** The breaker's state as stored, with the version its next write must find. */
export interface StoredBreakerState {
  state: BreakerState;
  /** 0 when no item exists yet. */
  version: number;
}

/** Reads and writes the breaker's state. */
export interface BreakerStateStore {
  /** The stored state, or undefined when the breaker never wrote one. */
  read(): Promise<StoredBreakerState | undefined>;
  /**
   * Writes `state` if the item is still at `version` (0: if there is none); false when another
   * invocation wrote first, so the caller decides again on what that one wrote.
   */
  write(state: BreakerState, version: number): Promise<boolean>;
}

const PHASES: ReadonlySet<string> = new Set<BreakerPhase>(["closed", "open", "trial"]);

/** The state in a stored item; an item the breaker cannot read fails loudly rather than guessing a phase. */
function fromItem(item: Record<string, unknown>): StoredBreakerState {
  const { phase, since, healthySince, version } = item;
  if (typeof phase !== "string" || !PHASES.has(phase) || typeof since !== "string") {
    throw new Error(`The circuit breaker's state item is not valid: ${JSON.stringify(item).slice(0, 200)}`);
  }
  return {
    state: {
      phase: phase as BreakerPhase,
      since,
      ...(typeof healthySince === "string" ? { healthySince } : {}),
    },
    version: typeof version === "number" ? version : 0,
  };
}

/** The breaker's state in the ledger table `tableName`, written with optimistic locking on `version`. */
export function dynamoDbBreakerStateStore(client: DynamoDBClient, tableName: string): BreakerStateStore {
  const documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  return {
    async read() {
      const { Item } = await documents.send(
        new GetCommand({ TableName: tableName, Key: BREAKER_STATE_KEY, ConsistentRead: true }),
      );
      return Item ? fromItem(Item) : undefined;
    },
    async write(state, version) {
      try {
        await documents.send(
          new PutCommand({
            TableName: tableName,
            Item: { ...BREAKER_STATE_KEY, ...state, version: version + 1 },
            ...(version === 0
              ? {
                  ConditionExpression: "attribute_not_exists(#key)",
                  ExpressionAttributeNames: { "#key": LEDGER_TABLE.partitionKey },
                }
              : {
                  ConditionExpression: "#version = :version",
                  ExpressionAttributeNames: { "#version": "version" },
                  ExpressionAttributeValues: { ":version": version },
                }),
          }),
        );
        return true;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return false;
        throw error;
      }
    },
  };
}
