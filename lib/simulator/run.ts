import { DEMO_CREDENTIALS, type ExpiresFormat } from "./auth.ts";
import { type Simulator, startSimulator } from "./simulator.ts";

/** The part of `process` that delivers termination signals. */
export interface SignalSource {
  once(signal: "SIGINT" | "SIGTERM", listener: () => void): unknown;
  off(signal: "SIGINT" | "SIGTERM", listener: () => void): unknown;
}

/** Options of the `imburse-relay simulator` command. */
export interface RunSimulatorOptions {
  port?: number;
  host?: string;
  /** A fault spec, as the `--faults` flag takes it (see `parseFaultSpec`). */
  faults?: string;
  seed?: number;
  tokenLifetimeSeconds?: number;
  expiresFormat?: ExpiresFormat;
  orderNotFoundStatus?: 400 | 404;
  /** Where the start-up line goes; default `console.log`. */
  print?: (line: string) => void;
  /** What delivers SIGINT and SIGTERM; default `process`. */
  signals?: SignalSource;
}

/** A simulator started by {@link runSimulator}. */
export interface RunningSimulator {
  simulator: Simulator;
  /** Resolves once the simulator has closed, after SIGINT, SIGTERM or {@link RunningSimulator.close}. */
  closed: Promise<void>;
  /** Closes the simulator and stops listening for signals. */
  close(): Promise<void>;
}

const SIGNALS = ["SIGINT", "SIGTERM"] as const;

/**
 * Starts a simulator for the CLI with the demo key, prints one line with its URL and the demo
 * key's public parts (never the private key), and closes it on SIGINT or SIGTERM. The CLI awaits
 * `closed`.
 *
 * @throws FaultSpecError when `faults` is not a valid spec.
 */
export async function runSimulator(options: RunSimulatorOptions = {}): Promise<RunningSimulator> {
  const { print = console.log, signals = process, faults, ...rest } = options;
  const simulator = await startSimulator({ ...rest, ...(faults === undefined ? {} : { faults }) });
  const { promise: closed, resolve: resolveClosed } = Promise.withResolvers<void>();
  const close = async (): Promise<void> => {
    for (const signal of SIGNALS) signals.off(signal, onSignal);
    await simulator.close();
    resolveClosed();
  };
  const onSignal = (): void => void close();
  for (const signal of SIGNALS) signals.once(signal, onSignal);
  const { publicKey, accountId, tenantId } = DEMO_CREDENTIALS;
  print(
    `Imburse simulator listening on ${simulator.url} (seed ${simulator.seed}, faults: ${faults?.trim() || "none"}); ` +
      `demo key publicKey=${publicKey} accountId=${accountId} tenantId=${tenantId} ` +
      "(DEMO_CREDENTIALS in lib/simulator/auth.ts).",
  );
  return { simulator, closed, close };
}
