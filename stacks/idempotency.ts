/** The DynamoDB table behind Powertools Idempotency in the submit function. */
import { RESOURCE_NAMES } from "../lib/config/names.ts";

/** Powertools' `DynamoDBPersistenceLayer` defaults: partition key `id`, expiry epoch seconds in `expiration`. */
const IDEMPOTENCY_TABLE_KEYS = { partitionKey: "id", expiry: "expiration" } as const;

/**
 * Creates the idempotency table: on demand, TTL on the expiry attribute, point-in-time recovery (both SST
 * defaults for `Dynamo`), and deletion protection in stages that retain data.
 */
export function createIdempotencyTable(): sst.aws.Dynamo {
  return new sst.aws.Dynamo(RESOURCE_NAMES.idempotencyTable, {
    fields: { [IDEMPOTENCY_TABLE_KEYS.partitionKey]: "string" },
    primaryIndex: { hashKey: IDEMPOTENCY_TABLE_KEYS.partitionKey },
    ttl: IDEMPOTENCY_TABLE_KEYS.expiry,
    deletionProtection: $app.removal !== "remove",
  });
}
