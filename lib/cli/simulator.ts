import type { Command } from "commander";
import { DEMO_CREDENTIALS, FaultSpecError, runSimulator } from "../simulator/index.ts";
import { UsageError } from "./errors.ts";
import { type CliIo, writeLine } from "./io.ts";
import { IMBURSE_CREDENTIAL_VARIABLES } from "./local.ts";
import { integer } from "./options.ts";

interface SimulatorFlags {
  port: number;
  host: string;
  faults?: string;
  seed?: number;
}

/** `imburse-relay simulator`: the Imburse simulator on its own, until SIGINT or SIGTERM. */
export function registerSimulatorCommand(program: Command, io: CliIo): void {
  program
    .command("simulator")
    .description(
      "Run the Imburse simulator (token exchange, create and get order) with the demo key, until Ctrl-C.",
    )
    .option("--port <n>", "port to listen on (0 picks a free one)", integer(0, 65_535), 0)
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option(
      "--faults <spec>",
      'fault rules, e.g. "create:429=0.1:retry-after=3,create[ref^=FLAKY-]:503:times=2"',
    )
    .option("--seed <n>", "fault seed (replays the same faults)", integer(0))
    .action(async (flags: SimulatorFlags) => {
      let running: Awaited<ReturnType<typeof runSimulator>>;
      try {
        running = await runSimulator({
          port: flags.port,
          host: flags.host,
          ...(flags.faults === undefined ? {} : { faults: flags.faults }),
          ...(flags.seed === undefined ? {} : { seed: flags.seed }),
          print: (line) => writeLine(io.stdout, line),
        });
      } catch (error) {
        if (error instanceof FaultSpecError) throw new UsageError(`--faults: ${error.message}`);
        throw error;
      }
      writeLine(io.stdout, demoKeyInstructions(running.simulator.url));
      await running.closed;
    });
}

/**
 * The shell lines that point `local --imburse-url` at the simulator with its demo key. The key is
 * obviously fake and public (only the simulator accepts it), so printing it whole is safe.
 */
function demoKeyInstructions(url: string): string {
  const exports = Object.entries(IMBURSE_CREDENTIAL_VARIABLES).map(
    ([field, variable]) => `export ${variable}=${DEMO_CREDENTIALS[field as keyof typeof DEMO_CREDENTIALS]}`,
  );
  return [
    "To relay orders to it from another shell, with its demo key (fake; only the simulator accepts it):",
    ...exports,
    `npx imburse-relay local --imburse-url ${url} --orders FILE --until-drained`,
  ].join("\n");
}
