import { describe, expect, it } from "vitest";
import { infrastructureConfig, TRIAL_SCALING } from "../../lib/config/index.ts";
import { localSubscriptions } from "../../lib/local/run-local.ts";

describe("localSubscriptions", () => {
  const config = infrastructureConfig("local");

  it("keeps the mappings as the stacks deploy them unless a maximum concurrency is given", () => {
    expect(localSubscriptions(config)).toEqual({
      orders: config.ordersSubscription,
      retry: config.retrySubscription,
    });
    expect(localSubscriptions(config, 7)).toEqual({
      orders: { ...config.ordersSubscription, maximumConcurrency: 7 },
      retry: { ...config.retrySubscription, maximumConcurrency: 7 },
    });
  });

  it("never sets the mappings below AWS's floor: a lower one is the local runner's ceiling", () => {
    const { orders, retry } = localSubscriptions(config, 1);
    expect([orders.maximumConcurrency, retry.maximumConcurrency]).toEqual([
      TRIAL_SCALING.maximumConcurrency,
      TRIAL_SCALING.maximumConcurrency,
    ]);
    expect(orders.batchSize).toBe(config.ordersSubscription.batchSize);
  });
});
