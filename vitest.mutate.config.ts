import { defineConfig } from "vitest/config";

/**
 * The unit tests of the core decisions, for StrykerJS (`npm run mutate`): fast; the Imburse client's also
 * speak HTTP to the in-process simulator, which kills the transport's axios-configuration mutants. The two test/ops
 * files also hold their handlers' tests over in-process stand-ins (a few seconds in all).
 */
export default defineConfig({
  test: {
    include: [
      "test/relay/decide.test.ts",
      "test/relay/envelope.test.ts",
      "test/ledger/item.test.ts",
      "test/imburse/client.test.ts",
      "test/imburse/transport.test.ts",
      "test/imburse/auth.test.ts",
      "test/imburse/token.test.ts",
      "test/imburse/errors.test.ts",
      "test/imburse/signing.test.ts",
      "test/imburse/failure.test.ts",
      "test/relay/process-record.test.ts",
      "test/ops/ledger.test.ts",
      "test/orders/schema.test.ts",
      "test/orders/strict.test.ts",
      "test/orders/issues.test.ts",
      "test/orders/compare.test.ts",
      "test/ops/circuit-breaker.test.ts",
      "test/ops/redrive.test.ts",
    ],
    pool: "forks",
  },
});
