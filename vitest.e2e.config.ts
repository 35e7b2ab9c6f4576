import { defineConfig } from "vitest/config";

/** End-to-end runs that take minutes: `npm run test:e2e`, not part of `npm test`. */
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.e2e.ts"],
    pool: "forks",
    testTimeout: 300_000,
    reporters: ["default"],
  },
});
