import { Command, CommanderError } from "commander";
import packageJson from "../../package.json" with { type: "json" };
import { registerDlqCommands } from "./dlq.ts";
import { describeError, EXIT, UsageError } from "./errors.ts";
import { type CliIo, writeLine } from "./io.ts";
import { registerLedgerCommands } from "./ledger.ts";
import { registerLocalCommand } from "./local.ts";
import { registerPublishCommand } from "./publish.ts";
import { registerSchemaCommand } from "./schema.ts";
import { registerSimulatorCommand } from "./simulator.ts";

/** Commander's ways of ending that are not errors. */
const CLEAN_EXITS = new Set(["commander.helpDisplayed", "commander.version"]);

/** The `imburse-relay` program; `setExitCode` receives each command's exit status. */
function createProgram(io: CliIo, setExitCode: (code: number) => void): Command {
  const program = new Command("imburse-relay")
    .description("SQS → AWS Lambda → Imburse order relay: local mode and operator commands.")
    .version(packageJson.version)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .showSuggestionAfterError();
  registerLocalCommand(program, io, setExitCode);
  registerSimulatorCommand(program, io);
  registerPublishCommand(program, io, setExitCode);
  registerDlqCommands(program, io, setExitCode);
  registerLedgerCommands(program, io, setExitCode);
  registerSchemaCommand(program, io);
  return program;
}

/**
 * Runs the CLI and returns its exit status ({@link EXIT}): 0 done, 1 some line or message failed (or the
 * command did), 2 usage error (commander's own errors, bad flag values, missing files, missing variables),
 * 3 gave up waiting, 130 interrupted. Errors are one line without a stack trace, saying what to do about
 * the common ones (see `describeError`); `IMBURSE_RELAY_DEBUG=1` adds the stack of unexpected ones.
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = createProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...argv], { from: "node" });
    return exitCode;
  } catch (error) {
    // Commander has already printed its message (or the help).
    if (error instanceof CommanderError) return CLEAN_EXITS.has(error.code) ? EXIT.ok : EXIT.usage;
    writeLine(io.stderr, `error: ${describeError(error)}`);
    if (error instanceof UsageError) return EXIT.usage;
    if (io.env.IMBURSE_RELAY_DEBUG && error instanceof Error && error.stack)
      writeLine(io.stderr, error.stack);
    return EXIT.failed;
  }
}
