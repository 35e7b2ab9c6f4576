import os from "node:os";
import path from "node:path";
import { configDefaults, defineConfig } from "vitest/config";

/** Offline infrastructure tests: they run sst.config.ts under Pulumi mocks (test/support/sst-harness.ts). */
const INFRA_TESTS = ["test/stacks/**/*.test.ts"];

/**
 * Unit test files that must have a process of their own: they set Lambda's environment before the X-Ray SDK
 * loads, which would leak into the files sharing a worker (and the SDK, once loaded, keeps its mode).
 */
const OWN_PROCESS_TESTS = ["test/relay/batch.test.ts"];

// `sst install` puts SST's component sources and their Pulumi SDKs in .sst/platform. The infra tests must
// load the same @pulumi/pulumi instance as the components, or the mocks would not apply to them.
const platformModules = path.resolve(import.meta.dirname, ".sst/platform/node_modules");

// The CLI processes the unit tests spawn load the same modules (AWS SDK, commander, the CLI) dozens of
// times: Node's on-disk compile cache (keyed by file content) cuts a spawn's CPU by about 40%.
const NODE_COMPILE_CACHE = path.join(os.tmpdir(), "imburse-relay-node-compile-cache");

export default defineConfig({
  test: {
    pool: "forks",
    // Most test time is waiting (child processes, sockets, SQS long polls), not CPU: on a 2-core machine
    // vitest's default (cores - 1 = one worker) runs the files one after another.
    maxWorkers: 3,
    testTimeout: 20_000,
    hookTimeout: 120_000,
    reporters: ["default"],
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, ...INFRA_TESTS, ...OWN_PROCESS_TESTS],
          // Files share worker processes, so the AWS SDK and the stand-ins load once per worker, not once
          // per file (about 40% of the unit tests' CPU). A file must leave no global state behind: stub
          // environment variables with vi.stubEnv and undo them (vi.unstubAllEnvs), restore spies, and
          // put a file that needs vi.mock, or sets the environment before a module loads, in OWN_PROCESS_TESTS.
          isolate: false,
          env: { NODE_COMPILE_CACHE },
        },
      },
      {
        extends: true,
        test: {
          name: "unit-own-process",
          include: OWN_PROCESS_TESTS,
          isolate: true,
          env: { NODE_COMPILE_CACHE },
        },
      },
      {
        extends: true,
        resolve: {
          alias: {
            "@pulumi/pulumi": path.join(platformModules, "@pulumi/pulumi"),
            "@pulumi/aws": path.join(platformModules, "@pulumi/aws"),
          },
        },
        test: {
          name: "infra",
          include: INFRA_TESTS,
          // Installs .sst/platform when missing or stale, so a fresh clone needs only `npm ci`.
          globalSetup: ["test/support/sst-platform.ts"],
          // Pulumi mocks and SST's globals are per process: one fork per file.
          isolate: true,
          // One harness run takes 1-3 s of CPU and fails fast on a broken build or apply; the suite's
          // hookTimeout leaves room for the three runs in parallel with the unit files on a busy machine.
        },
      },
    ],
  },
});
