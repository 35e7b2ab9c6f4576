/**
 * TODO module doc for cli
 */
export { integer } from "./options.ts";
export { main } from "./program.ts";
export { orderJsonSchemaText, outcomeDetailJsonSchemaText } from "./schema.ts";
