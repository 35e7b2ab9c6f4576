/** lib/config/infrastructure.ts: stage overrides, the visibility rule, alarm e-mails, and AWS's limits. */
import { describe, expect, it } from "vitest";
import {
  ALARM_EMAIL_ENV,
  alarmEmails,
  BASE_CONFIG,
  infrastructureConfig,
  STAGE_OVERRIDES,
  visibilityTimeoutSeconds,
} from "../lib/config/infrastructure.ts";
import { SQS_MAX_BATCH_SIZE, SQS_MAX_RETENTION_SECONDS } from "../lib/config/names.ts";

describe("infrastructureConfig", () => {
  it("gives stages without overrides the base configuration", () => {
    expect(infrastructureConfig("pr-42")).toEqual(BASE_CONFIG);
  });

  it("merges a stage's overrides key by key, keeping the other keys of the section", () => {
    const config = infrastructureConfig("load", {
      load: { alarms: { retryQueueDepth: 1000 }, ordersSubscription: { maximumConcurrency: 50 } },
    });
    expect(config.alarms).toEqual({ ...BASE_CONFIG.alarms, retryQueueDepth: 1000 });
    expect(config.ordersSubscription).toEqual({ ...BASE_CONFIG.ordersSubscription, maximumConcurrency: 50 });
    expect(config.retrySubscription).toEqual(BASE_CONFIG.retrySubscription);
  });
});

describe("visibilityTimeoutSeconds", () => {
  it("is six times the function timeout plus the batching window", () => {
    expect(visibilityTimeoutSeconds(60, 2)).toBe(362);
    expect(visibilityTimeoutSeconds(30, 0)).toBe(180);
  });
});

describe("alarmEmails", () => {
  it("reads comma-separated addresses and ignores blanks", () => {
    expect(alarmEmails({ [ALARM_EMAIL_ENV]: " a@example.com, ,b@example.com " })).toEqual([
      "a@example.com",
      "b@example.com",
    ]);
  });

  it("is empty when unset or blank", () => {
    expect(alarmEmails({})).toEqual([]);
    expect(alarmEmails({ [ALARM_EMAIL_ENV]: " " })).toEqual([]);
  });
});

describe.each(["dev", ...Object.keys(STAGE_OVERRIDES)])("stage %s stays within AWS limits", (stage) => {
  const config = infrastructureConfig(stage);

  it.each([
    ["orders", config.ordersSubscription],
    ["retry", config.retrySubscription],
  ])("%s subscription", (_name, subscription) => {
    expect(subscription.batchSize).toBeGreaterThanOrEqual(1);
    expect(subscription.batchSize).toBeLessThanOrEqual(SQS_MAX_BATCH_SIZE);
    expect(subscription.batchingWindowSeconds).toBeGreaterThanOrEqual(0);
    expect(subscription.batchingWindowSeconds).toBeLessThanOrEqual(300);
    expect(subscription.maximumConcurrency).toBeGreaterThanOrEqual(2);
    expect(subscription.maximumConcurrency).toBeLessThanOrEqual(1000);
    // SQS caps the visibility timeout at 12 hours.
    expect(
      visibilityTimeoutSeconds(config.submitFunction.timeoutSeconds, subscription.batchingWindowSeconds),
    ).toBeLessThanOrEqual(12 * 3600);
  });

  it("queues and function", () => {
    expect(config.queues.maxReceiveCount).toBeGreaterThanOrEqual(1);
    expect(config.queues.deadLetterRetentionSeconds).toBeLessThanOrEqual(SQS_MAX_RETENTION_SECONDS);
    expect(config.queues.sourceRetentionSeconds).toBeGreaterThanOrEqual(60);
    expect(config.submitFunction.timeoutSeconds).toBeLessThanOrEqual(900);
    expect(config.submitFunction.memoryMb).toBeGreaterThanOrEqual(128);
    expect(config.submitFunction.memoryMb).toBeLessThanOrEqual(10_240);
    expect(config.alarms.periodSeconds % 60).toBe(0);
  });
});
