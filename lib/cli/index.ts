/**
 * The `imburse-relay` command (bin/imburse-relay.ts runs {@link main}): local mode, the simulator,
 * publishing, the DLQ, the ledger and the JSON Schemas, each a subcommand over lib/tools, lib/local and
 * lib/ops.
 */
export { integer, positiveSeconds } from "./options.ts";
export { main } from "./program.ts";
export { orderJsonSchemaText, outcomeDetailJsonSchemaText } from "./schema.ts";
