import { describe, expect, it } from "vitest";
import {
  DEFAULTS,
  loadSettings,
  REQUIRED_SETTINGS,
  SettingsError,
  settingsToEnv,
} from "../../lib/config/settings.ts";

const submitEnv = settingsToEnv({
  ordersQueueUrl: "https://sqs/orders",
  retryQueueUrl: "https://sqs/retry",
  deadLetterQueueUrl: "https://sqs/dlq",
  ledgerTable: "table",
  secretId: "secret",
  eventBusName: "bus",
});

describe("loadSettings", () => {
  it("applies the defaults and reads overrides", () => {
    const settings = loadSettings({ ...submitEnv, RELAY_MAX_ATTEMPTS: "3" });
    expect(settings).toMatchObject({
      ...DEFAULTS,
      // Flags are spelled in the environment and read as booleans: off unless asked for.
      eventsRetryScheduled: false,
      eventsIncludeOrderDetails: false,
      maxAttempts: 3,
      retryQueueUrl: "https://sqs/retry",
    });
  });

  it("reads the outcome-event flags as true or false only, and requires the bus for the submit function", () => {
    const on = loadSettings({
      ...submitEnv,
      RELAY_EVENTS_RETRY_SCHEDULED: "true",
      RELAY_EVENTS_INCLUDE_ORDER_DETAILS: "true",
    });
    expect(on).toMatchObject({
      eventsRetryScheduled: true,
      eventsIncludeOrderDetails: true,
      eventBusName: "bus",
    });
    expect(() => loadSettings({ ...submitEnv, RELAY_EVENTS_RETRY_SCHEDULED: "yes" })).toThrow(
      /RELAY_EVENTS_RETRY_SCHEDULED/,
    );
    const { RELAY_EVENT_BUS_NAME: _bus, ...withoutBus } = submitEnv;
    expect(() => loadSettings(withoutBus)).toThrow(/RELAY_EVENT_BUS_NAME/);
  });

  it("names every missing or invalid variable, never a value", () => {
    const error = (() => {
      try {
        loadSettings({ RELAY_IMBURSE_BASE_URL: "secret-looking-value", RELAY_MAX_ATTEMPTS: "0" });
      } catch (e) {
        return e as SettingsError;
      }
    })();
    expect(error).toBeInstanceOf(SettingsError);
    for (const variable of [
      "RELAY_RETRY_QUEUE_URL",
      "RELAY_DLQ_URL",
      "RELAY_ORDERS_QUEUE_URL",
      "RELAY_LEDGER_TABLE",
      "RELAY_IMBURSE_SECRET_ID",
      "RELAY_IMBURSE_BASE_URL",
      "RELAY_MAX_ATTEMPTS",
    ]) {
      expect(error?.message).toContain(variable);
    }
    expect(error?.message).not.toContain("secret-looking-value");
  });

  it("says in words what is wrong with a value (zod's English messages, not a bare 'Invalid input')", () => {
    const problem = (env: Record<string, string>) => {
      try {
        loadSettings({ ...submitEnv, ...env });
      } catch (e) {
        return (e as SettingsError).message;
      }
    };
    expect(problem({ RELAY_IMBURSE_TIMEOUT_MS: "ten" })).toBe(
      "Invalid relay configuration: RELAY_IMBURSE_TIMEOUT_MS: Invalid input: expected number, received NaN",
    );
    expect(problem({ RELAY_LEASE_SECONDS: "-5" })).toBe(
      "Invalid relay configuration: RELAY_LEASE_SECONDS: Too small: expected number to be >0",
    );
    expect(problem({ RELAY_RECORD_CONCURRENCY: "101", RELAY_EVENTS_RETRY_SCHEDULED: "yes" })).toBe(
      "Invalid relay configuration: RELAY_RECORD_CONCURRENCY: Too big: expected number to be <=100; " +
        'RELAY_EVENTS_RETRY_SCHEDULED: Invalid option: expected one of "true"|"false"',
    );
  });

  it("requires only what each function uses", () => {
    expect(loadSettings({ RELAY_IMBURSE_SECRET_ID: "s" }, REQUIRED_SETTINGS.healthProbe).secretId).toBe("s");
    const plan = {
      periodSeconds: 300,
      minimumOpenPeriods: 2,
      healthyPeriodsToClose: 1,
      trialPeriods: 2,
      alarms: { unavailable: "u", errorRate: "e" },
      mappings: [{ uuid: "a-1", batchSize: 10, maximumConcurrency: 5 }],
    };
    const breaker = loadSettings(
      { RELAY_BREAKER_PLAN: JSON.stringify(plan), RELAY_LEDGER_TABLE: "t" },
      REQUIRED_SETTINGS.circuitBreaker,
    );
    expect(breaker.breakerPlan).toEqual(plan);
    expect(() =>
      loadSettings({ RELAY_BREAKER_PLAN: "{", RELAY_LEDGER_TABLE: "t" }, REQUIRED_SETTINGS.circuitBreaker),
    ).toThrow(/RELAY_BREAKER_PLAN: is not JSON/);
    // AWS refuses a MaximumConcurrency below 2: a plan that would be refused at run time fails at start.
    const refused = { ...plan, mappings: [{ uuid: "a-1", batchSize: 10, maximumConcurrency: 1 }] };
    expect(() =>
      loadSettings(
        { RELAY_BREAKER_PLAN: JSON.stringify(refused), RELAY_LEDGER_TABLE: "t" },
        REQUIRED_SETTINGS.circuitBreaker,
      ),
    ).toThrow(/RELAY_BREAKER_PLAN/);
    expect(() => loadSettings({}, REQUIRED_SETTINGS.redrive)).toThrow(/RELAY_ORDERS_QUEUE_URL/);
    expect(loadSettings({ RELAY_LEDGER_TABLE: "t" }, REQUIRED_SETTINGS.ledgerCheck).ledgerTable).toBe("t");
    expect(() => loadSettings({}, REQUIRED_SETTINGS.ledgerCheck)).toThrow(/RELAY_LEDGER_TABLE/);
  });
});
