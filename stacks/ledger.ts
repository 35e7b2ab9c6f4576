/** The order ledger: the DynamoDB table the submit function claims every order in before calling Imburse. */
import { LEDGER_TABLE, ledgerTableName, RESOURCE_NAMES } from "../lib/config/index.ts";

/**
 * Creates the ledger table: on demand, point-in-time recovery on (the SST default), TTL on `expiresAt`, the
 * sparse indexes of open orders and of due outcome events, and deletion protection in stages that retain data. Its physical name is
 * set ({@link ledgerTableName}) rather than generated, so operator commands find it from the stage alone.
 */
export function createLedgerTable(): sst.aws.Dynamo {
  const { partitionKey, sortKey, ttl, openIndex, outboxIndex } = LEDGER_TABLE;
  return new sst.aws.Dynamo(RESOURCE_NAMES.ledgerTable, {
    fields: {
      [partitionKey]: "string",
      [sortKey]: "string",
      [openIndex.partitionKey]: "string",
      [openIndex.sortKey]: "number",
      [outboxIndex.partitionKey]: "string",
      [outboxIndex.sortKey]: "number",
    },
    primaryIndex: { hashKey: partitionKey, rangeKey: sortKey },
    globalIndexes: {
      [openIndex.name]: { hashKey: openIndex.partitionKey, rangeKey: openIndex.sortKey, projection: "all" },
      // Items with outcome events still due: what the outbox sweep publishes again.
      [outboxIndex.name]: {
        hashKey: outboxIndex.partitionKey,
        rangeKey: outboxIndex.sortKey,
        projection: "all",
      },
    },
    ttl,
    deletionProtection: $app.removal !== "remove",
    transform: {
      table: (args: aws.dynamodb.TableArgs) => {
        args.name = ledgerTableName($app.stage);
      },
    },
  });
}
