import path from "node:path";
import { configDefaults, defineConfig } from "vitest/config";

/** Offline infrastructure tests: they run sst.config.ts under Pulumi mocks (test/support/sst-harness.ts). */
const INFRA_TESTS = ["test/stacks/**/*.test.ts"];

// `sst install` puts SST's component sources and their Pulumi SDKs in .sst/platform. The infra tests must
// load the same @pulumi/pulumi instance as the components, or the mocks would not apply to them.
const platformModules = path.resolve(import.meta.dirname, ".sst/platform/node_modules");

export default defineConfig({
  test: {
    pool: "forks",
    testTimeout: 20_000,
    hookTimeout: 120_000,
    reporters: ["default"],
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, ...INFRA_TESTS],
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
          // One harness run takes 1-3 s and fails fast on a broken build or apply.
          hookTimeout: 30_000,
        },
      },
    ],
  },
});
