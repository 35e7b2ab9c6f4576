import type { Command } from "commander";
import { orderJsonSchema } from "../orders/json-schema.ts";
import type { CliIo } from "./io.ts";

/** The schema as `imburse-relay schema` prints it, which is also the text of `schema/order.schema.json`. */
export function orderJsonSchemaText(): string {
  return `${JSON.stringify(orderJsonSchema(), null, 2)}\n`;
}

/** `imburse-relay schema`: the order message as a JSON Schema, for publishers. */
export function registerSchemaCommand(program: Command, io: CliIo): void {
  program
    .command("schema")
    .description(
      "Print the order message as a JSON Schema (draft 2020-12) with the default limits: what publishers " +
        "may validate against before sending. The rules it cannot express are in docs/orders.md.",
    )
    .action(() => {
      io.stdout.write(orderJsonSchemaText());
    });
}
