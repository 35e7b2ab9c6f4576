import { defineConfig } from "vitest/config";

/** End-to-end runs that take seconds to minutes of real time: `npm run test:e2e`, not part of `npm test`. */
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.e2e.ts"],
    pool: "forks",
    // The runs mostly wait (outages, retry delays), and the outage run alone takes about a minute.
    maxWorkers: 2,
    testTimeout: 300_000,
    reporters: ["default"],
  },
});
