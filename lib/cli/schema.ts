import type { Command } from "commander";
import { outcomeDetailJsonSchema } from "../events/index.ts";
import { orderJsonSchema } from "../orders/index.ts";
import type { CliIo } from "./io.ts";

/** The schema as `imburse-relay schema` prints it, which is also the text of `schema/order.schema.json`. */
export function orderJsonSchemaText(): string {
  return `${JSON.stringify(orderJsonSchema(), null, 2)}\n`;
}

/** The outcome events' detail as `imburse-relay schema --outcome-event` prints it: `schema/outcome-event.schema.json`. */
export function outcomeDetailJsonSchemaText(): string {
  return `${JSON.stringify(outcomeDetailJsonSchema(), null, 2)}\n`;
}

/** `imburse-relay schema`: the order message (or the outcome events' detail) as a JSON Schema, for publishers. */
export function registerSchemaCommand(program: Command, io: CliIo): void {
  program
    .command("schema")
    .description(
      "Print the order message as a JSON Schema (draft 2020-12) with the default limits: what publishers " +
        "may validate against before sending. The rules it cannot express are in docs/orders.md.",
    )
    .option("--outcome-event", "print the detail of the outcome events on the bus instead (versioned)")
    .action((flags: { outcomeEvent?: boolean }) => {
      io.stdout.write(flags.outcomeEvent ? outcomeDetailJsonSchemaText() : orderJsonSchemaText());
    });
}
