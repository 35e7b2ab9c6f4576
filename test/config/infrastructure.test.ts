/** lib/config/infrastructure.ts: stage overrides, the visibility rule, alarm e-mails, and AWS's limits. */
import { describe, expect, it } from "vitest";
import {
  ALARM_EMAIL_ENV,
  alarmEmails,
  assertRetryBudgetFits,
  BASE_CONFIG,
  InfrastructureConfigError,
  infrastructureConfig,
  type ScheduleExpression,
  STAGE_OVERRIDES,
  rateSeconds as scheduleRate,
  visibilityTimeoutSeconds,
} from "../../lib/config/infrastructure.ts";
import { SQS_MAX_BATCH_SIZE, SQS_MAX_RETENTION_SECONDS } from "../../lib/config/names.ts";
import { DEFAULTS } from "../../lib/config/settings.ts";

/** Seconds between runs of a rate schedule; the config uses no cron. */
function rateSeconds(expression: ScheduleExpression): number {
  const seconds = scheduleRate(expression);
  if (seconds === undefined) throw new Error(`not a rate expression: ${expression}`);
  return seconds;
}

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

  it("merges the breaker and the schedules key by key, and schedules.redrive one level deeper", () => {
    const config = infrastructureConfig("ops", {
      ops: {
        breaker: { minimumCalls: 100 },
        schedules: { healthProbe: "rate(1 minute)", redrive: { enabled: true } },
        healthProbeFunction: { memoryMb: 512 },
      },
    });
    expect(config.breaker).toEqual({ ...BASE_CONFIG.breaker, minimumCalls: 100 });
    expect(config.schedules).toEqual({
      healthProbe: "rate(1 minute)",
      ledgerCheck: BASE_CONFIG.schedules.ledgerCheck,
      outboxSweep: BASE_CONFIG.schedules.outboxSweep,
      circuitBreaker: BASE_CONFIG.schedules.circuitBreaker,
      redrive: { enabled: true, expression: BASE_CONFIG.schedules.redrive.expression },
    });
    expect(config.healthProbeFunction).toEqual({ ...BASE_CONFIG.healthProbeFunction, memoryMb: 512 });
  });

  it("switches the redrive off unless a stage turns it on", () => {
    expect(BASE_CONFIG.schedules.redrive.enabled).toBe(false);
    expect(
      infrastructureConfig("any", { any: { schedules: { healthProbe: "rate(10 minutes)" } } }).schedules
        .redrive,
    ).toEqual(BASE_CONFIG.schedules.redrive);
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

  it.each(["healthProbeFunction", "redriveFunction", "circuitBreakerFunction"] as const)(
    "%s size",
    (name) => {
      expect(config[name].timeoutSeconds).toBeGreaterThanOrEqual(1);
      expect(config[name].timeoutSeconds).toBeLessThanOrEqual(900);
      expect(config[name].memoryMb).toBeGreaterThanOrEqual(128);
      expect(config[name].memoryMb).toBeLessThanOrEqual(10_240);
    },
  );

  it("the probe fits a token exchange and a GET at the Imburse timeout", () => {
    const imburseTimeoutMs = Number(config.settings.imburseTimeoutMs ?? DEFAULTS.imburseTimeoutMs);
    expect(2 * imburseTimeoutMs).toBeLessThan(config.healthProbeFunction.timeoutSeconds * 1000);
  });

  it("breaker alarm rules", () => {
    const { breaker } = config;
    expect(breaker.periodSeconds % 60).toBe(0);
    // Every period holds at least one probe datapoint, so a missing one means a missed run.
    expect(rateSeconds(config.schedules.healthProbe)).toBeLessThanOrEqual(breaker.periodSeconds);
    expect(breaker.probeUnhealthyPeriods).toBeGreaterThanOrEqual(1);
    // CloudWatch evaluates at most one day of periods.
    expect(breaker.probeUnhealthyPeriods * breaker.periodSeconds).toBeLessThanOrEqual(86_400);
    expect(breaker.errorRateThreshold).toBeGreaterThan(0);
    expect(breaker.errorRateThreshold).toBeLessThanOrEqual(1);
    expect(Number.isInteger(breaker.minimumCalls) && breaker.minimumCalls >= 1).toBe(true);
    // The trial needs a whole period of its own traffic for the error-rate alarm to judge it.
    expect(breaker.trialPeriods).toBeGreaterThanOrEqual(2);
    expect(breaker.minimumOpenPeriods).toBeGreaterThanOrEqual(1);
    expect(breaker.healthyPeriodsToClose).toBeGreaterThanOrEqual(1);
    // A lost alarm event is repaired within one schedule run, well inside one alarm period.
    expect(rateSeconds(config.schedules.circuitBreaker)).toBeLessThan(breaker.periodSeconds);
  });

  it("schedules", () => {
    expect(rateSeconds(config.schedules.healthProbe)).toBeGreaterThanOrEqual(60);
    expect(config.schedules.redrive.expression).toMatch(/^(rate|cron)\(.+\)$/);
  });
});

describe("assertRetryBudgetFits", () => {
  it("accepts every stage's retry budget: it ends an hour before the source queues drop a message", () => {
    for (const stage of ["dev", ...Object.keys(STAGE_OVERRIDES)]) {
      expect(() => assertRetryBudgetFits(infrastructureConfig(stage)), stage).not.toThrow();
    }
  });

  it("refuses a budget the source queues' retention cannot hold", () => {
    const retention = BASE_CONFIG.queues.sourceRetentionSeconds;
    const config = (budget: number) =>
      infrastructureConfig("x", { x: { settings: { retryBudgetSeconds: budget } } });
    expect(() => assertRetryBudgetFits(config(retention - 3_600))).not.toThrow();
    expect(() => assertRetryBudgetFits(config(retention - 3_599))).toThrow(InfrastructureConfigError);
    expect(() => assertRetryBudgetFits(config(retention - 3_599))).toThrow(/RELAY_RETRY_BUDGET_SECONDS/);
  });
});
