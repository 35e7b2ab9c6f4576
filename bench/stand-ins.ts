/**
 * The benchmark's stand-ins in a process of their own, so their CPU is not counted against the relay:
 * fauxqs, dynalite, the Secrets Manager stand-in and the Imburse simulator, on loopback.
 *
 * Prints one JSON line (`ready`: the relay's environment and the simulator's URL), then answers commands
 * read from stdin, one per line, each with one JSON line: `stats`, `latency MS` (every create order waits
 * MS), `reset`. Exits when stdin closes.
 */
import { createInterface } from "node:readline";
import { startLocalEnvironment } from "../lib/local/index.ts";
import { DEMO_CREDENTIALS, startSimulator } from "../lib/simulator/index.ts";

const settings = JSON.parse(process.argv[2] ?? "{}") as Record<string, number>;
const simulator = await startSimulator({ seed: 1 });
const local = await startLocalEnvironment({
  credentials: { ...DEMO_CREDENTIALS },
  imburseBaseUrl: simulator.url,
  settings,
});
const reply = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
reply({ ready: true, env: local.env, simulatorUrl: simulator.url, ordersQueue: local.queues.orders });

for await (const line of createInterface({ input: process.stdin })) {
  const [command, argument] = line.trim().split(/\s+/);
  if (command === "stats") {
    reply({
      ordersAtImburse: simulator.orders().length,
      creates: simulator.requestsTo("create").length,
      tokenExchanges: simulator.requestsTo("token").length,
      secretReads: local.secretsManager.calls.GetSecretValue ?? 0,
      dynamoRequests: local.dynamoRequests(),
    });
  } else if (command === "latency") {
    simulator.faults.clear();
    if (Number(argument) > 0) simulator.faults.set(`create:latency=${Number(argument)}`);
    reply({ latencyMs: Number(argument) });
  } else if (command === "reset") {
    simulator.faults.clear();
    reply({ reset: true });
  }
}
await local.stop();
await simulator.close();
