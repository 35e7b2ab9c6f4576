/**
 * The AWS infrastructure of a non-production stage, asserted on the resources sst.config.ts registers under
 * Pulumi mocks (no AWS, no network). Expectations read lib/config/infrastructure.ts, so tuning the config
 * needs no test edit, while a stack change that breaks a rule goes red. Production: production.test.ts;
 * the scheduled redrive (off by default): redrive.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ALARM_EMAIL_ENV,
  BREAKER_STATE_KEY,
  DEFAULTS,
  type FunctionConfig,
  infrastructureConfig,
  loadSettings,
  METRICS,
  OUTCOME_EVENTS,
  REQUIRED_SETTINGS,
  RESOURCE_NAMES,
  relayMetricDimensions,
  SERVICE_NAME,
  SQS_MAX_MESSAGE_BYTES,
  SQS_MAX_RETENTION_SECONDS,
  settingsToEnv,
} from "../../lib/config/index.ts";
import { minimumRemainingTimeMarginMs } from "../../lib/relay/index.ts";
import { BREAKER_TARGET_RETRY } from "../../stacks/circuit-breaker.ts";
import { SECRET_CHANGING_ACTIONS } from "../../stacks/credentials.ts";
import { NOTIFICATION_TARGET_RETRY } from "../../stacks/outcomes.ts";
import { DEPLOY_ROLE_ARN, type RecordedResource, runSstConfig, type SstRun } from "../support/sst-harness.ts";
import { describeStageIsolation } from "../support/stage-isolation.ts";

const STAGE = "dev";
/** A stage sharing the account: its metrics must never reach this stage's alarms. */
const OTHER_STAGE = "production";
const config = infrastructureConfig(STAGE);

const T = {
  queue: "aws:sqs/queue:Queue",
  mapping: "aws:lambda/eventSourceMapping:EventSourceMapping",
  lambda: "aws:lambda/function:Function",
  role: "aws:iam/role:Role",
  table: "aws:dynamodb/table:Table",
  secret: "aws:secretsmanager/secret:Secret",
  secretVersion: "aws:secretsmanager/secretVersion:SecretVersion",
  topic: "aws:sns/topic:Topic",
  subscription: "aws:sns/topicSubscription:TopicSubscription",
  alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
  compositeAlarm: "aws:cloudwatch/compositeAlarm:CompositeAlarm",
  dashboard: "aws:cloudwatch/dashboard:Dashboard",
  schedule: "aws:scheduler/schedule:Schedule",
  rule: "aws:cloudwatch/eventRule:EventRule",
  target: "aws:cloudwatch/eventTarget:EventTarget",
  permission: "aws:lambda/permission:Permission",
  bus: "aws:cloudwatch/eventBus:EventBus",
  archive: "aws:cloudwatch/eventArchive:EventArchive",
  topicPolicy: "aws:sns/topicPolicy:TopicPolicy",
  invokeConfig: "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
  queuePolicy: "aws:sqs/queuePolicy:QueuePolicy",
  secretPolicy: "aws:secretsmanager/secretPolicy:SecretPolicy",
} as const;

/** The availability alarms (stacks/availability.ts), by logical name. */
const AVAILABILITY = {
  probe: "ImburseProbeUnhealthy",
  errorRate: "ImburseErrorRate",
  unavailable: "ImburseUnavailable",
} as const;

interface Statement {
  effect: string;
  actions: string[];
  resources: string[];
  conditions?: { test: string; variable: string; values: string[] }[];
}

interface MetricQuery {
  id: string;
  expression?: string;
  returnData?: boolean;
  metric?: {
    namespace: string;
    metricName: string;
    dimensions: Record<string, string>;
    stat: string;
    period: number;
  };
}

let run: SstRun;
const state = (resource: RecordedResource, key: string) => resource.state[key] as string;
const arnOf = (resource: RecordedResource) => state(resource, "arn");
const queue = (name: string) => run.one(T.queue, `${name}Queue`);
/** The Lambda function SST creates for the `sst.aws.Function` with this logical name. */
const lambda = (name: string) => run.one(T.lambda, `${name}Function`);
const submitLambda = () => lambda(RESOURCE_NAMES.submitFunction);
/** A function's environment without the variables SST adds for itself (`SST_*`). */
const variables = (name: string) =>
  Object.fromEntries(
    Object.entries(
      (lambda(name).inputs.environment as { variables: Record<string, string> }).variables,
    ).filter(([variable]) => !variable.startsWith("SST_")),
  );
/** The event source mapping polling a queue. */
const mappingOf = (queueName: string) => {
  const arn = arnOf(queue(queueName));
  const found = run.all(T.mapping).filter((m) => m.inputs.eventSourceArn === arn);
  expect(found, `event source mappings on ${queueName}`).toHaveLength(1);
  return found[0]!;
};
/** The execution role of a function. */
const roleOf = (name: string) => {
  const roleArn = lambda(name).inputs.role;
  const found = run.all(T.role).filter((r) => arnOf(r) === roleArn);
  expect(found, `role of ${name}`).toHaveLength(1);
  return found[0]!;
};
const policyStatements = (role: RecordedResource): Statement[] => {
  const inline = role.inputs.inlinePolicies as { policy: string }[];
  return inline.flatMap((p) => (JSON.parse(p.policy) as { statements: Statement[] }).statements);
};
const statements = (name: string) => policyStatements(roleOf(name));
/** Resources a function is granted an action on, over every statement of its role. */
const resourcesFor = (name: string, action: string) =>
  statements(name)
    .filter((s) => s.actions.includes(action))
    .flatMap((s) => s.resources);
const trustOf = (role: RecordedResource) => {
  const trust = role.inputs.assumeRolePolicy;
  const policy = (typeof trust === "string" ? JSON.parse(trust) : trust) as {
    Statement: { Principal: Record<string, string>; Action: string }[];
  };
  return policy.Statement.map((s) => [s.Principal, s.Action]);
};
/** The environment a function must get: Powertools, every setting, and exactly these resource ids. */
const expectedEnvironment = (resourceIds: Parameters<typeof settingsToEnv>[0]) => ({
  POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
  POWERTOOLS_METRICS_NAMESPACE: METRICS.namespace,
  ...settingsToEnv({ ...DEFAULTS, ...config.settings, stage: STAGE, ...resourceIds }),
});
const topicArn = () => arnOf(run.one(T.topic));
/** The outcome events' bus (stacks/outcomes.ts). */
const bus = () => run.one(T.bus, `${RESOURCE_NAMES.outcomeBus}Bus`);
const busName = () => state(bus(), "name");
/** What the breaker restores on closing: a subscription's batch size and concurrency. */
const scaling = ({ batchSize, maximumConcurrency }: { batchSize: number; maximumConcurrency: number }) => ({
  batchSize,
  maximumConcurrency,
});
const mappingUuids = () =>
  [RESOURCE_NAMES.ordersQueue, RESOURCE_NAMES.retryQueue].map((name) => state(mappingOf(name), "uuid"));

beforeAll(async () => {
  run = await runSstConfig({ stage: STAGE, env: { [ALARM_EMAIL_ENV]: undefined } });
});
afterAll(() => run?.dispose());

describe("stage rules", () => {
  it("production retains and is protected; other stages are removed", async () => {
    const { default: sstConfig } = await import("../../sst.config.ts");
    expect(await sstConfig.app({ stage: "production" })).toMatchObject({ removal: "retain", protect: true });
    expect(await sstConfig.app({ stage: STAGE })).toMatchObject({ removal: "remove", protect: false });
    expect(run.app).toMatchObject({ removal: "remove", protect: false });
    expect(run.outputs._protect).toBe(false);
  });

  it("retains nothing on removal and lets the secret go at once", () => {
    expect(run.resources.filter((r) => r.retainOnDelete).map((r) => r.name)).toEqual([]);
    expect(run.one(T.secret).inputs.recoveryWindowInDays).toBe(0);
    expect(run.one(T.table).inputs.deletionProtectionEnabled).toBe(false);
  });
});

describe("queues", () => {
  it("size the DLQ at SQS's 1 MiB and Orders and Retry 16 KiB below, for the relay's attributes and reason", () => {
    expect(queue(RESOURCE_NAMES.deadLetterQueue).inputs.maxMessageSize).toBe(SQS_MAX_MESSAGE_BYTES);
    for (const name of [RESOURCE_NAMES.ordersQueue, RESOURCE_NAMES.retryQueue]) {
      expect(queue(name).inputs.maxMessageSize, name).toBe(SQS_MAX_MESSAGE_BYTES - 16_384);
    }
  });

  it("keep dead letters for 14 days in an encrypted DLQ that redrives nowhere", () => {
    const dlq = queue(RESOURCE_NAMES.deadLetterQueue);
    expect(dlq.inputs.messageRetentionSeconds).toBe(SQS_MAX_RETENTION_SECONDS);
    expect(dlq.inputs.messageRetentionSeconds).toBe(config.queues.deadLetterRetentionSeconds);
    expect(dlq.inputs.sqsManagedSseEnabled).toBe(true);
    expect(dlq.inputs.redrivePolicy).toBeUndefined();
  });

  it.each([RESOURCE_NAMES.ordersQueue, RESOURCE_NAMES.retryQueue])(
    "%s is encrypted and redrives to the DLQ after maxReceiveCount receives",
    (name) => {
      const source = queue(name);
      const dlq = queue(RESOURCE_NAMES.deadLetterQueue);
      expect(JSON.parse(source.inputs.redrivePolicy as string)).toEqual({
        deadLetterTargetArn: arnOf(dlq),
        maxReceiveCount: config.queues.maxReceiveCount,
      });
      expect(source.inputs.sqsManagedSseEnabled).toBe(true);
      expect(source.inputs.fifoQueue).toBe(false);
      expect(source.inputs.messageRetentionSeconds).toBe(config.queues.sourceRetentionSeconds);
      // A redriven message keeps its enqueue time: the DLQ must outlive its sources.
      expect(source.inputs.messageRetentionSeconds as number).toBeLessThan(
        dlq.inputs.messageRetentionSeconds as number,
      );
    },
  );

  it.each([RESOURCE_NAMES.ordersQueue, RESOURCE_NAMES.retryQueue])(
    "%s visibility timeout is at least 6 × the function timeout + the batching window",
    (name) => {
      const timeout = submitLambda().inputs.timeout as number;
      const window = mappingOf(name).inputs.maximumBatchingWindowInSeconds as number;
      expect(queue(name).inputs.visibilityTimeoutSeconds as number).toBeGreaterThanOrEqual(
        6 * timeout + window,
      );
    },
  );
});

describe("functions", () => {
  const deployed = {
    [RESOURCE_NAMES.submitFunction]: "functions/submit.handler",
    [RESOURCE_NAMES.healthProbeFunction]: "functions/health-probe.handler",
    [RESOURCE_NAMES.circuitBreakerFunction]: "functions/circuit-breaker.handler",
    [RESOURCE_NAMES.ledgerCheckFunction]: "functions/ledger-check.handler",
    [RESOURCE_NAMES.outboxSweepFunction]: "functions/outbox-sweep.handler",
  };
  const sizes: Record<string, FunctionConfig> = {
    [RESOURCE_NAMES.submitFunction]: config.submitFunction,
    [RESOURCE_NAMES.healthProbeFunction]: config.healthProbeFunction,
    [RESOURCE_NAMES.circuitBreakerFunction]: config.circuitBreakerFunction,
    [RESOURCE_NAMES.ledgerCheckFunction]: config.ledgerCheckFunction,
    [RESOURCE_NAMES.outboxSweepFunction]: config.outboxSweepFunction,
  };

  it("bundles every handler, and each handler exports what its function names", () => {
    const lambdas = run.all(T.lambda);
    expect(lambdas.map((l) => l.name).sort()).toEqual(
      Object.keys(deployed)
        .map((n) => `${n}Function`)
        .sort(),
    );
    expect(run.builds).toHaveLength(lambdas.length);
    for (const build of run.builds) {
      expect(build.errors, build.handler).toEqual([]);
      const [file, exportName] = build.handler.split(".");
      expect(build.entry).toBe(`${file}.ts`);
      expect(build.exports).toContain(exportName);
    }
    for (const [name, handler] of Object.entries(deployed)) {
      expect(lambda(name).inputs.handler, name).toBe(handler);
    }
  });

  it("asks SST to minify every handler's bundle (its builder leaves an unset flag unminified)", () => {
    for (const build of run.builds) expect(build.properties.minify, build.handler).toBe(true);
  });

  it("deploys every handler at most 1 MiB, built with SST's own options, without form-data or mime-db", () => {
    for (const build of run.builds) {
      expect(build.bytes, build.handler).toBeGreaterThan(100 * 1024);
      expect(build.bytes, build.handler).toBeLessThanOrEqual(1024 * 1024);
      // axios gets Node's own FormData (overrides/form-data): multipart code has no place in a cold start.
      expect(build.packages, build.handler).not.toContain("mime-db");
      expect(build.packages, build.handler).not.toContain("mime-types");
    }
    expect(run.builds.find((b) => b.handler.startsWith("functions/submit."))?.packages).toContain("axios");
  });

  it("bundles zod/mini with zod's English messages only: neither zod classic nor its other locales", () => {
    for (const build of run.builds) {
      const zod = build.files.filter((file) => file.startsWith("node_modules/zod/"));
      expect(zod, build.handler).toContain("node_modules/zod/v4/mini/schemas.js");
      expect(
        zod.filter((file) => file.includes("/classic/") || /\/locales\/(?!en\.js$|index\.js$)/.test(file)),
        build.handler,
      ).toEqual([]);
    }
  });

  it.each(Object.keys(sizes))(
    "%s runs Node 24 with its configured timeout and memory, active tracing",
    (name) => {
      expect(lambda(name).inputs).toMatchObject({
        runtime: "nodejs24.x",
        timeout: sizes[name]?.timeoutSeconds,
        memorySize: sizes[name]?.memoryMb,
        tracingConfig: { mode: "Active" },
      });
    },
  );

  it("submit gets Powertools, every relay setting and its resource ids, readable by loadSettings", () => {
    const env = variables(RESOURCE_NAMES.submitFunction);
    expect(env).toEqual(
      expectedEnvironment({
        ordersQueueUrl: state(queue(RESOURCE_NAMES.ordersQueue), "url"),
        retryQueueUrl: state(queue(RESOURCE_NAMES.retryQueue), "url"),
        deadLetterQueueUrl: state(queue(RESOURCE_NAMES.deadLetterQueue), "url"),
        ledgerTable: state(run.one(T.table), "name"),
        secretId: arnOf(run.one(T.secret)),
        eventBusName: busName(),
        leaseSeconds: config.submitFunction.timeoutSeconds,
      }),
    );
    const settings = loadSettings(env);
    // A claim outlives any invocation that holds it.
    expect(settings.leaseSeconds).toBeGreaterThanOrEqual(submitLambda().inputs.timeout as number);
    expect(settings.imburseBaseUrl).toBe(DEFAULTS.imburseBaseUrl);
    // The relay hands records back before Lambda's timeout: an Imburse call and the margin must fit, and a
    // record started at the margin must have room for its reserve and two calls (a read, then the POST).
    const timeoutMs = (submitLambda().inputs.timeout as number) * 1000;
    expect(settings.imburseTimeoutMs + settings.remainingTimeMarginMs).toBeLessThan(timeoutMs);
    expect(settings.remainingTimeMarginMs).toBeGreaterThanOrEqual(
      minimumRemainingTimeMarginMs(settings.imburseTimeoutMs),
    );
  });

  it("the health probe gets the secret id only, and fits a token exchange and a GET in its timeout", () => {
    const env = variables(RESOURCE_NAMES.healthProbeFunction);
    expect(env).toEqual(expectedEnvironment({ secretId: arnOf(run.one(T.secret)) }));
    const settings = loadSettings(env, REQUIRED_SETTINGS.healthProbe);
    const timeoutMs = (lambda(RESOURCE_NAMES.healthProbeFunction).inputs.timeout as number) * 1000;
    expect(2 * settings.imburseTimeoutMs).toBeLessThan(timeoutMs);
  });

  it("the ledger check gets the ledger table only", () => {
    const env = variables(RESOURCE_NAMES.ledgerCheckFunction);
    expect(env).toEqual(expectedEnvironment({ ledgerTable: state(run.one(T.table), "name") }));
    expect(loadSettings(env, REQUIRED_SETTINGS.ledgerCheck).ledgerTable).toBe(
      `${SERVICE_NAME}-${STAGE}-Ledger`,
    );
  });

  it("the outbox sweep gets the ledger table and the outcome bus only", () => {
    const env = variables(RESOURCE_NAMES.outboxSweepFunction);
    expect(env).toEqual(
      expectedEnvironment({ ledgerTable: state(run.one(T.table), "name"), eventBusName: busName() }),
    );
    expect(loadSettings(env, REQUIRED_SETTINGS.outboxSweep).eventBusName).toBe(busName());
  });

  it("the circuit breaker gets its plan (alarms, both mappings with their configured values, rules) and the table", () => {
    const env = variables(RESOURCE_NAMES.circuitBreakerFunction);
    const settings = loadSettings(env, REQUIRED_SETTINGS.circuitBreaker);
    expect(env).toEqual(
      expectedEnvironment({
        breakerPlan: env.RELAY_BREAKER_PLAN!,
        ledgerTable: `${SERVICE_NAME}-${STAGE}-Ledger`,
      }),
    );
    expect(settings.breakerPlan).toEqual({
      periodSeconds: config.breaker.periodSeconds,
      minimumOpenPeriods: config.breaker.minimumOpenPeriods,
      healthyPeriodsToClose: config.breaker.healthyPeriodsToClose,
      trialPeriods: config.breaker.trialPeriods,
      alarms: {
        unavailable: state(run.one(T.compositeAlarm), "alarmName"),
        errorRate: state(run.one(T.alarm, AVAILABILITY.errorRate), "name"),
      },
      mappings: [
        { uuid: mappingUuids()[0], ...scaling(config.ordersSubscription) },
        { uuid: mappingUuids()[1], ...scaling(config.retrySubscription) },
      ],
    });
    expect(new Set(mappingUuids()).size).toBe(2);
  });

  it.each([
    [RESOURCE_NAMES.ordersQueue, config.ordersSubscription],
    [RESOURCE_NAMES.retryQueue, config.retrySubscription],
  ])(
    "submit consumes %s with partial batch responses, batching and maximum concurrency",
    (name, subscription) => {
      expect(mappingOf(name).inputs).toMatchObject({
        functionName: arnOf(submitLambda()),
        functionResponseTypes: ["ReportBatchItemFailures"],
        batchSize: subscription.batchSize,
        maximumBatchingWindowInSeconds: subscription.batchingWindowSeconds,
        scalingConfig: { maximumConcurrency: subscription.maximumConcurrency },
      });
      expect(run.all(T.mapping)).toHaveLength(2);
    },
  );

  it("leaves each mapping's enabled state, batch size and concurrency to the circuit breaker on later deploys", () => {
    for (const name of [RESOURCE_NAMES.ordersQueue, RESOURCE_NAMES.retryQueue]) {
      expect(mappingOf(name).ignoreChanges).toEqual(
        expect.arrayContaining(["enabled", "batchSize", "scalingConfig"]),
      );
    }
  });
});

describe("schedules", () => {
  it("runs the health probe on schedules.healthProbe, in UTC, without Scheduler retries", () => {
    const schedule = run.one(T.schedule, `${RESOURCE_NAMES.healthProbeFunction}CronSchedule`);
    expect(schedule.inputs).toMatchObject({
      scheduleExpression: config.schedules.healthProbe,
      scheduleExpressionTimezone: "UTC",
      state: "ENABLED",
      target: {
        arn: arnOf(lambda(RESOURCE_NAMES.healthProbeFunction)),
        retryPolicy: { maximumRetryAttempts: 0 },
      },
    });
    // The Scheduler's role may invoke the probe and nothing else.
    const role = run
      .all(T.role)
      .find((r) => arnOf(r) === (schedule.inputs.target as { roleArn: string }).roleArn);
    expect(trustOf(role!)).toEqual([[{ Service: "scheduler.amazonaws.com" }, "sts:AssumeRole"]]);
    expect(policyStatements(role!).map((s) => [s.actions, s.resources])).toEqual([
      [["lambda:InvokeFunction"], [arnOf(lambda(RESOURCE_NAMES.healthProbeFunction))]],
    ]);
  });

  it("runs the stuck-order check on schedules.ledgerCheck, in UTC, without Scheduler retries", () => {
    const schedule = run.one(T.schedule, `${RESOURCE_NAMES.ledgerCheckFunction}CronSchedule`);
    expect(schedule.inputs).toMatchObject({
      scheduleExpression: config.schedules.ledgerCheck,
      scheduleExpressionTimezone: "UTC",
      target: {
        arn: arnOf(lambda(RESOURCE_NAMES.ledgerCheckFunction)),
        retryPolicy: { maximumRetryAttempts: 0 },
      },
    });
  });

  it("runs the outbox sweep on schedules.outboxSweep, in UTC, without Scheduler retries", () => {
    const schedule = run.one(T.schedule, `${RESOURCE_NAMES.outboxSweepFunction}CronSchedule`);
    expect(schedule.inputs).toMatchObject({
      scheduleExpression: config.schedules.outboxSweep,
      scheduleExpressionTimezone: "UTC",
      target: {
        arn: arnOf(lambda(RESOURCE_NAMES.outboxSweepFunction)),
        retryPolicy: { maximumRetryAttempts: 0 },
      },
    });
  });

  it("runs the circuit breaker on schedules.circuitBreaker, in UTC, without Scheduler retries", () => {
    const schedule = run.one(T.schedule, `${RESOURCE_NAMES.circuitBreakerFunction}CronSchedule`);
    expect(schedule.inputs).toMatchObject({
      scheduleExpression: config.schedules.circuitBreaker,
      scheduleExpressionTimezone: "UTC",
      target: {
        arn: arnOf(lambda(RESOURCE_NAMES.circuitBreakerFunction)),
        retryPolicy: { maximumRetryAttempts: 0 },
      },
    });
  });

  it("every scheduled function turns off Lambda's own retries of its asynchronous invocations", () => {
    const configs = run.all(T.invokeConfig);
    expect(configs.map((c) => c.inputs.functionName).sort()).toEqual(
      [
        RESOURCE_NAMES.healthProbeFunction,
        RESOURCE_NAMES.ledgerCheckFunction,
        RESOURCE_NAMES.circuitBreakerFunction,
        RESOURCE_NAMES.outboxSweepFunction,
      ]
        .map((name) => state(lambda(name), "name"))
        .sort(),
    );
    for (const c of configs) expect(c.inputs.maximumRetryAttempts, c.name).toBe(0);
  });

  it("deploys no DLQ redrive by default (schedules.redrive.enabled is false)", () => {
    expect(config.schedules.redrive.enabled).toBe(false);
    expect(run.all(T.lambda, `${RESOURCE_NAMES.redriveFunction}Function`)).toEqual([]);
    expect(run.all(T.schedule)).toHaveLength(4);
    expect(run.builds.map((b) => b.handler)).not.toContain("functions/redrive.handler");
  });
});

describe("least privilege", () => {
  it("submit sends only to the Retry queue and the DLQ", () => {
    expect(resourcesFor(RESOURCE_NAMES.submitFunction, "sqs:SendMessage").sort()).toEqual(
      [queue(RESOURCE_NAMES.retryQueue), queue(RESOURCE_NAMES.deadLetterQueue)].map(arnOf).sort(),
    );
  });

  it.each([
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
  ])("submit: %s only on Orders and Retry (what the event source mappings need)", (action) => {
    expect(resourcesFor(RESOURCE_NAMES.submitFunction, action).sort()).toEqual(
      [queue(RESOURCE_NAMES.ordersQueue), queue(RESOURCE_NAMES.retryQueue)].map(arnOf).sort(),
    );
  });

  it("submit and the health probe read only the credentials secret", () => {
    for (const name of [RESOURCE_NAMES.submitFunction, RESOURCE_NAMES.healthProbeFunction]) {
      expect(resourcesFor(name, "secretsmanager:GetSecretValue"), name).toEqual([arnOf(run.one(T.secret))]);
    }
  });

  it.each(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"])(
    "submit: %s only on the ledger table",
    (action) => {
      expect(resourcesFor(RESOURCE_NAMES.submitFunction, action)).toEqual([arnOf(run.one(T.table))]);
    },
  );

  it("submit and the outbox sweep may put events on exactly the outcome bus", () => {
    for (const name of [RESOURCE_NAMES.submitFunction, RESOURCE_NAMES.outboxSweepFunction]) {
      expect(resourcesFor(name, "events:PutEvents"), name).toEqual([state(bus(), "arn")]);
    }
  });

  it("the outbox sweep queries only the outbox index and writes only the ledger table", () => {
    const table = arnOf(run.one(T.table));
    expect(resourcesFor(RESOURCE_NAMES.outboxSweepFunction, "dynamodb:Query")).toEqual([
      `${table}/index/Outbox`,
    ]);
    for (const action of ["dynamodb:PutItem", "dynamodb:BatchWriteItem"]) {
      expect(resourcesFor(RESOURCE_NAMES.outboxSweepFunction, action), action).toEqual([table]);
    }
  });

  it("the ledger check may only query the ledger's open-orders index", () => {
    expect(resourcesFor(RESOURCE_NAMES.ledgerCheckFunction, "dynamodb:Query")).toEqual([
      `${arnOf(run.one(T.table))}/index/Open`,
    ]);
  });

  it.each(["lambda:GetEventSourceMapping", "lambda:UpdateEventSourceMapping"])(
    "circuit breaker: %s only on the submit function's two mappings, by exact ARN",
    (action) => {
      const granted = resourcesFor(RESOURCE_NAMES.circuitBreakerFunction, action);
      expect(granted.sort()).toEqual(
        [RESOURCE_NAMES.ordersQueue, RESOURCE_NAMES.retryQueue].map((name) => arnOf(mappingOf(name))).sort(),
      );
      for (const uuid of mappingUuids()) {
        expect(granted).toContainEqual(
          expect.stringMatching(
            new RegExp(`^arn:aws:lambda:[a-z0-9-]+:\\d{12}:event-source-mapping:${uuid}$`),
          ),
        );
      }
    },
  );

  it("circuit breaker: cloudwatch:DescribeAlarms only on the composite and error-rate alarms, by exact ARN", () => {
    expect(resourcesFor(RESOURCE_NAMES.circuitBreakerFunction, "cloudwatch:DescribeAlarms").sort()).toEqual(
      [arnOf(run.one(T.compositeAlarm)), arnOf(run.one(T.alarm, AVAILABILITY.errorRate))].sort(),
    );
  });

  it("circuit breaker: reads and writes only its own item of the ledger table, and sends only to its failures queue", () => {
    const dynamo = statements(RESOURCE_NAMES.circuitBreakerFunction).filter((s) =>
      s.actions.some((a) => a.startsWith("dynamodb:")),
    );
    expect(dynamo).toEqual([
      expect.objectContaining({
        actions: ["dynamodb:GetItem", "dynamodb:PutItem"],
        resources: [arnOf(run.one(T.table))],
        conditions: [
          {
            test: "ForAllValues:StringEquals",
            variable: "dynamodb:LeadingKeys",
            values: [BREAKER_STATE_KEY.orderRef],
          },
        ],
      }),
    ]);
    expect(resourcesFor(RESOURCE_NAMES.circuitBreakerFunction, "sqs:SendMessage")).toEqual([
      arnOf(run.one(T.queue, `${RESOURCE_NAMES.circuitBreakerFunction}Failures`)),
    ]);
  });

  const XRAY = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"];
  it.each([
    [
      RESOURCE_NAMES.submitFunction,
      [
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
        "sqs:SendMessage",
        "secretsmanager:GetSecretValue",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "dynamodb:PutItem",
        "dynamodb:BatchWriteItem",
        "events:PutEvents",
        ...XRAY,
      ],
    ],
    [RESOURCE_NAMES.ledgerCheckFunction, ["dynamodb:Query", ...XRAY]],
    [
      RESOURCE_NAMES.outboxSweepFunction,
      ["dynamodb:Query", "dynamodb:PutItem", "dynamodb:BatchWriteItem", "events:PutEvents", ...XRAY],
    ],
    [RESOURCE_NAMES.healthProbeFunction, ["secretsmanager:GetSecretValue", ...XRAY]],
    [
      RESOURCE_NAMES.circuitBreakerFunction,
      [
        "cloudwatch:DescribeAlarms",
        "lambda:GetEventSourceMapping",
        "lambda:UpdateEventSourceMapping",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "sqs:SendMessage",
        ...XRAY,
      ],
    ],
  ])("%s is granted nothing else: no wildcard action, `*` resources only for X-Ray", (name, actions) => {
    expect(new Set(statements(name).flatMap((s) => s.actions))).toEqual(new Set(actions));
    expect(statements(name).every((s) => s.effect === "Allow")).toBe(true);
    for (const s of statements(name).filter((s) => s.resources.some((r) => r.includes("*")))) {
      expect(
        s.actions.every((a) => a.startsWith("xray:")),
        s.actions.join(),
      ).toBe(true);
    }
    expect(roleOf(name).inputs.managedPolicyArns).toEqual([
      "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    ]);
  });

  it.each([
    RESOURCE_NAMES.submitFunction,
    RESOURCE_NAMES.healthProbeFunction,
    RESOURCE_NAMES.circuitBreakerFunction,
    RESOURCE_NAMES.ledgerCheckFunction,
    RESOURCE_NAMES.outboxSweepFunction,
  ])("lets only Lambda assume the role of %s", (name) => {
    expect(trustOf(roleOf(name))).toEqual([[{ Service: "lambda.amazonaws.com" }, "sts:AssumeRole"]]);
  });
});

describe("order ledger table and credentials secret", () => {
  it("keys the ledger by orderRef and tenant, on demand, with TTL, PITR and a sparse index of open orders", () => {
    const { inputs } = run.one(T.table);
    expect(inputs).toMatchObject({
      name: `${SERVICE_NAME}-${STAGE}-Ledger`,
      hashKey: "orderRef",
      rangeKey: "tenantId",
      billingMode: "PAY_PER_REQUEST",
      ttl: { attributeName: "expiresAt", enabled: true },
      pointInTimeRecovery: { enabled: true },
      globalSecondaryIndexes: [
        { name: "Open", hashKey: "openShard", rangeKey: "lastAttemptAt", projectionType: "ALL" },
        { name: "Outbox", hashKey: "outboxShard", rangeKey: "outboxDueAt", projectionType: "ALL" },
      ],
    });
    expect(inputs.attributes).toEqual(
      expect.arrayContaining([
        { name: "orderRef", type: "S" },
        { name: "tenantId", type: "S" },
        { name: "openShard", type: "S" },
        { name: "lastAttemptAt", type: "N" },
        { name: "outboxShard", type: "S" },
        { name: "outboxDueAt", type: "N" },
      ]),
    );
  });

  it("creates the secret with no value: the operator puts it", () => {
    expect(run.one(T.secret).inputs.name).toBe(
      `${run.app.name}/${STAGE}/${RESOURCE_NAMES.credentialsSecret}`,
    );
    expect(run.all(T.secretVersion)).toEqual([]);
  });
});

describe("alarms", () => {
  const alarm = (name: string) => run.one(T.alarm, name);
  const { alarms, breaker } = config;
  const operatorAlarms = () =>
    run.all(T.alarm).filter((a) => !Object.values<string>(AVAILABILITY).includes(a.name));

  it("operator alarms all notify the one topic, on alarm and on recovery, and ignore missing data", () => {
    const all = operatorAlarms();
    expect(all).toHaveLength(13);
    for (const a of all) {
      expect(a.inputs).toMatchObject({
        alarmActions: [topicArn()],
        okActions: [topicArn()],
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        evaluationPeriods: alarms.evaluationPeriods,
        treatMissingData: a.name === METRICS.stuckOrders ? "missing" : "notBreaching",
      });
    }
  });

  it("tells the topic when the stuck-order check stops reporting (its alarm goes to INSUFFICIENT_DATA)", () => {
    expect(alarm(METRICS.stuckOrders).inputs).toMatchObject({
      treatMissingData: "missing",
      insufficientDataActions: [topicArn()],
    });
  });

  it("subscribes no e-mail when none is configured", () => {
    expect(run.all(T.subscription)).toEqual([]);
  });

  it.each([
    [
      `${RESOURCE_NAMES.deadLetterQueue}NotEmpty`,
      RESOURCE_NAMES.deadLetterQueue,
      "ApproximateNumberOfMessagesVisible",
      1,
    ],
    [
      `${RESOURCE_NAMES.ordersQueue}OldestMessageAge`,
      RESOURCE_NAMES.ordersQueue,
      "ApproximateAgeOfOldestMessage",
      alarms.ordersOldestMessageAgeSeconds,
    ],
  ])("%s watches %s %s (Maximum) at %s", (alarmName, queueName, metricName, threshold) => {
    expect(alarm(alarmName).inputs).toMatchObject({
      namespace: "AWS/SQS",
      metricName,
      dimensions: { QueueName: state(queue(queueName), "name") },
      statistic: "Maximum",
      period: alarms.periodSeconds,
      threshold,
    });
  });

  it("watches the Retry queue's waiting messages: visible plus delayed", () => {
    const { inputs } = alarm(`${RESOURCE_NAMES.retryQueue}Depth`);
    expect(inputs.threshold).toBe(alarms.retryQueueDepth);
    const queries = inputs.metricQueries as MetricQuery[];
    const metrics = Object.fromEntries(queries.filter((q) => q.metric).map((q) => [q.id, q.metric]));
    expect(
      Object.values(metrics)
        .map((m) => m?.metricName)
        .sort(),
    ).toEqual(["ApproximateNumberOfMessagesDelayed", "ApproximateNumberOfMessagesVisible"]);
    for (const m of Object.values(metrics)) {
      expect(m).toMatchObject({
        dimensions: { QueueName: state(queue(RESOURCE_NAMES.retryQueue), "name") },
        stat: "Maximum",
        period: alarms.periodSeconds,
      });
    }
    const returned = queries.filter((q) => q.returnData);
    expect(returned).toHaveLength(1);
    expect(
      returned[0]?.expression
        ?.split("+")
        .map((id) => id.trim())
        .sort(),
    ).toEqual(Object.keys(metrics).sort());
  });

  it.each([
    [`${RESOURCE_NAMES.submitFunction}Errors`, "Errors", alarms.functionErrors],
    [`${RESOURCE_NAMES.submitFunction}Throttles`, "Throttles", alarms.functionThrottles],
  ])("%s watches the submit function's %s (Sum) at %s", (alarmName, metricName, threshold) => {
    expect(alarm(alarmName).inputs).toMatchObject({
      namespace: "AWS/Lambda",
      metricName,
      dimensions: { FunctionName: state(submitLambda(), "name") },
      statistic: "Sum",
      period: alarms.periodSeconds,
      threshold,
    });
  });

  it.each([
    [METRICS.deadLettered, alarms.deadLetteredOrders, "Sum"],
    [METRICS.imburseError, alarms.imburseErrors, "Sum"],
    [METRICS.ledgerUnavailable, alarms.ledgerUnavailable, "Sum"],
    [METRICS.stuckOrders, alarms.stuckOrders, "Maximum"],
  ])(
    "watches the relay metric %s (service and stage dimensions) at %s, %s",
    (metricName, threshold, statistic) => {
      const matching = run.all(T.alarm).filter((a) => a.inputs.metricName === metricName);
      expect(matching).toHaveLength(1);
      expect(matching[0]?.inputs).toMatchObject({
        namespace: METRICS.namespace,
        dimensions: relayMetricDimensions(STAGE),
        statistic,
        period: alarms.periodSeconds,
        threshold,
      });
    },
  );

  it("the probe alarm fires when ProbeHealthy's Minimum is below 1 for probeUnhealthyPeriods periods", () => {
    expect(alarm(AVAILABILITY.probe).inputs).toMatchObject({
      namespace: METRICS.namespace,
      metricName: METRICS.probeHealthy,
      dimensions: relayMetricDimensions(STAGE),
      statistic: "Minimum",
      period: breaker.periodSeconds,
      comparisonOperator: "LessThanThreshold",
      threshold: 1,
      evaluationPeriods: breaker.probeUnhealthyPeriods,
    });
  });

  it("a probe that stops running is reported, without counting as unhealthy", () => {
    expect(alarm(AVAILABILITY.probe).inputs).toMatchObject({
      treatMissingData: "missing",
      insufficientDataActions: [topicArn()],
    });
  });

  it("the error-rate alarm divides ImburseError Sum by ImburseLatency SampleCount, 0 below minimumCalls", () => {
    const { inputs } = alarm(AVAILABILITY.errorRate);
    expect(inputs).toMatchObject({
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      threshold: breaker.errorRateThreshold,
      evaluationPeriods: 1,
      treatMissingData: "notBreaching",
    });
    expect(inputs.metricName).toBeUndefined();
    const queries = inputs.metricQueries as MetricQuery[];
    const idOf = (metricName: string, stat: string) => {
      const found = queries.filter((q) => q.metric?.metricName === metricName);
      expect(found, metricName).toHaveLength(1);
      expect(found[0]?.metric).toEqual({
        namespace: METRICS.namespace,
        metricName,
        dimensions: relayMetricDimensions(STAGE),
        stat,
        period: breaker.periodSeconds,
      });
      expect(found[0]?.returnData).toBe(false);
      return found[0]!.id;
    };
    const errors = idOf(METRICS.imburseError, "Sum");
    const calls = idOf(METRICS.imburseLatency, "SampleCount");
    const returned = queries.filter((q) => q.returnData !== false);
    expect(returned).toHaveLength(1);
    expect(returned[0]?.expression).toBe(
      `IF(${calls} >= ${breaker.minimumCalls}, FILL(${errors}, 0) / ${calls}, 0)`,
    );
  });

  it("the composite alarm is ALARM(probe) OR ALARM(error rate)", () => {
    const composite = run.one(T.compositeAlarm);
    const name = (logical: string) => state(alarm(logical), "name");
    expect(composite.inputs.alarmRule).toBe(
      `ALARM("${name(AVAILABILITY.probe)}") OR ALARM("${name(AVAILABILITY.errorRate)}")`,
    );
    expect(composite.inputs.alarmName).toBe(`${run.app.name}-${STAGE}-${AVAILABILITY.unavailable}`);
  });

  it("the availability alarms notify the topic too, on alarm and on recovery", () => {
    for (const a of [alarm(AVAILABILITY.probe), alarm(AVAILABILITY.errorRate), run.one(T.compositeAlarm)]) {
      expect(a.inputs, a.name).toMatchObject({ alarmActions: [topicArn()], okActions: [topicArn()] });
    }
  });
});

describe("circuit breaker trigger", () => {
  const rule = () => run.one(T.rule, `${RESOURCE_NAMES.circuitBreakerFunction}Rule`);

  it("matches exactly the composite alarm's state changes", () => {
    expect(JSON.parse(rule().inputs.eventPattern as string)).toEqual({
      source: ["aws.cloudwatch"],
      "detail-type": ["CloudWatch Alarm State Change"],
      resources: [arnOf(run.one(T.compositeAlarm))],
    });
  });

  const failures = () => run.one(T.queue, `${RESOURCE_NAMES.circuitBreakerFunction}Failures`);

  it("targets the breaker function, which only EventBridge from that rule may invoke", () => {
    const targets = run.all(T.target).filter((t) => t.inputs.rule === state(rule(), "name"));
    expect(targets).toHaveLength(1);
    expect(targets[0]?.inputs).toMatchObject({
      rule: state(rule(), "name"),
      arn: arnOf(lambda(RESOURCE_NAMES.circuitBreakerFunction)),
      retryPolicy: BREAKER_TARGET_RETRY,
      deadLetterConfig: { arn: arnOf(failures()) },
    });
    const permissions = run.all(T.permission);
    expect(permissions.map((p) => p.inputs)).toEqual([
      {
        action: "lambda:InvokeFunction",
        function: state(lambda(RESOURCE_NAMES.circuitBreakerFunction), "name"),
        principal: "events.amazonaws.com",
        sourceArn: arnOf(rule()),
      },
    ]);
  });
});

describe("circuit breaker failures are visible", () => {
  const failures = () => run.one(T.queue, `${RESOURCE_NAMES.circuitBreakerFunction}Failures`);

  it("an invocation that fails goes to the failures queue (on-failure destination), never retried by Lambda", () => {
    const breakerConfig = run
      .all(T.invokeConfig)
      .find((c) => c.inputs.functionName === state(lambda(RESOURCE_NAMES.circuitBreakerFunction), "name"));
    expect(breakerConfig?.inputs).toMatchObject({
      maximumRetryAttempts: 0,
      destinationConfig: { onFailure: { destination: arnOf(failures()) } },
    });
  });

  it("only EventBridge, from the breaker's rule, may dead-letter into the failures queue", () => {
    const queuePolicy = run.one(T.queuePolicy, `${RESOURCE_NAMES.circuitBreakerFunction}FailuresPolicy`);
    const policy = JSON.parse(queuePolicy.inputs.policy as string) as {
      Statement: Record<string, unknown>[];
    };
    expect(queuePolicy.inputs.queueUrl).toBe(state(failures(), "url"));
    expect(policy.Statement).toEqual([
      expect.objectContaining({
        Effect: "Allow",
        Principal: { Service: "events.amazonaws.com" },
        Action: "sqs:SendMessage",
        Resource: arnOf(failures()),
        Condition: {
          ArnEquals: {
            "aws:SourceArn": arnOf(run.one(T.rule, `${RESOURCE_NAMES.circuitBreakerFunction}Rule`)),
          },
        },
      }),
    ]);
  });

  it("alarms on the breaker's errors and on anything in its failures queue", () => {
    expect(run.one(T.alarm, `${RESOURCE_NAMES.circuitBreakerFunction}Errors`).inputs).toMatchObject({
      namespace: "AWS/Lambda",
      metricName: "Errors",
      dimensions: { FunctionName: state(lambda(RESOURCE_NAMES.circuitBreakerFunction), "name") },
      statistic: "Sum",
      threshold: 1,
      alarmActions: [topicArn()],
    });
    expect(run.one(T.alarm, `${RESOURCE_NAMES.circuitBreakerFunction}FailuresNotEmpty`).inputs).toMatchObject(
      {
        namespace: "AWS/SQS",
        metricName: "ApproximateNumberOfMessagesVisible",
        dimensions: { QueueName: state(failures(), "name") },
        threshold: 1,
        alarmActions: [topicArn()],
      },
    );
  });
});

describe("credentials secret policy", () => {
  type PolicyStatement = {
    Sid: string;
    Effect: string;
    Principal: string;
    Action: string | string[];
    Resource: string;
    Condition: { ArnNotEquals: { "aws:PrincipalArn": string[] } };
  };
  const policy = () => run.one(T.secretPolicy);
  const statementsOf = () =>
    (JSON.parse(policy().inputs.policy as string) as { Statement: PolicyStatement[] }).Statement;
  const roleArnOf = (name: string) => lambda(name).inputs.role as string;
  /** Whether the policy denies `action` to `principal`, as IAM evaluates an explicit Deny. */
  const denies = (action: string, principal: string) =>
    statementsOf().some(
      (s) =>
        s.Effect === "Deny" &&
        s.Principal === "*" &&
        [s.Action].flat().includes(action) &&
        !s.Condition.ArnNotEquals["aws:PrincipalArn"].includes(principal),
    );

  it("is attached to the credentials secret", () => {
    expect(policy().inputs.secretArn).toBe(arnOf(run.one(T.secret)));
  });

  it("denies reading the key to every principal but the submit and probe roles, the deploying role included", () => {
    const submit = roleArnOf(RESOURCE_NAMES.submitFunction);
    const probe = roleArnOf(RESOURCE_NAMES.healthProbeFunction);
    expect(denies("secretsmanager:GetSecretValue", submit)).toBe(false);
    expect(denies("secretsmanager:GetSecretValue", probe)).toBe(false);
    for (const other of [
      DEPLOY_ROLE_ARN,
      roleArnOf(RESOURCE_NAMES.circuitBreakerFunction),
      roleArnOf(RESOURCE_NAMES.ledgerCheckFunction),
      "arn:aws:iam::123456789012:role/ci-admin",
      "arn:aws:iam::123456789012:user/someone",
    ]) {
      expect(denies("secretsmanager:GetSecretValue", other), other).toBe(true);
    }
  });

  it.each([...SECRET_CHANGING_ACTIONS])(
    "denies %s (setting the key or its policy) to every principal but the operators and the deploying role",
    (action) => {
      expect(config.credentials.operatorPrincipalArns).toEqual([]);
      expect(denies(action, DEPLOY_ROLE_ARN)).toBe(false);
      expect(denies(action, roleArnOf(RESOURCE_NAMES.submitFunction))).toBe(true);
      expect(denies(action, "arn:aws:iam::123456789012:role/ci-admin")).toBe(true);
    },
  );

  it("denies nothing else, so `sst remove` and redeploys keep managing the secret", () => {
    expect(
      statementsOf()
        .flatMap((s) => [s.Action].flat())
        .sort(),
    ).toEqual(["secretsmanager:GetSecretValue", ...SECRET_CHANGING_ACTIONS].sort());
  });
});

describe("dashboard", () => {
  type Line = (string | Record<string, string>)[];
  const widgets = () =>
    (JSON.parse(run.one(T.dashboard).inputs.dashboardBody as string) as { widgets: { properties: object }[] })
      .widgets;
  const lines = (): Line[] =>
    widgets().flatMap((w) => ("metrics" in w.properties ? (w.properties.metrics as Line[]) : []));
  const has = (namespace: string, metricName: string, dimensions: [string, string][], stat: string) =>
    lines().some(
      (l) =>
        l[0] === namespace &&
        l[1] === metricName &&
        JSON.stringify(l.slice(2, -1)) === JSON.stringify(dimensions.flat()) &&
        (l.at(-1) as Record<string, string>).stat === stat,
    );
  const own: [string, string][] = Object.entries(relayMetricDimensions(STAGE));
  const alarmWidgets = () =>
    widgets().flatMap((w) => ("alarms" in w.properties ? [w.properties as { alarms: string[] }] : []));

  it.each([METRICS.received, METRICS.submitted, METRICS.retried, METRICS.deadLettered])(
    "shows the flow: %s",
    (metricName) => {
      expect(has(METRICS.namespace, metricName, own, "Sum")).toBe(true);
    },
  );

  it("shows Imburse latency p50 and p99", () => {
    for (const stat of ["p50", "p99"]) {
      expect(has(METRICS.namespace, METRICS.imburseLatency, own, stat)).toBe(true);
    }
  });

  it.each([RESOURCE_NAMES.ordersQueue, RESOURCE_NAMES.retryQueue, RESOURCE_NAMES.deadLetterQueue])(
    "shows %s depth and oldest-message age",
    (name) => {
      const dimension: [string, string] = ["QueueName", state(queue(name), "name")];
      expect(has("AWS/SQS", "ApproximateNumberOfMessagesVisible", [dimension], "Maximum")).toBe(true);
      expect(has("AWS/SQS", "ApproximateAgeOfOldestMessage", [dimension], "Maximum")).toBe(true);
    },
  );

  it("shows the probe's health (the alarm's statistic) and latency", () => {
    expect(has(METRICS.namespace, METRICS.probeHealthy, own, "Minimum")).toBe(true);
    expect(has(METRICS.namespace, METRICS.probeLatency, own, "Maximum")).toBe(true);
  });

  it("shows the breaker's transitions to open, to trial and to closed", () => {
    for (const breakerState of ["open", "trial", "closed"]) {
      expect(
        has(METRICS.namespace, METRICS.breakerTransition, [...own, ["state", breakerState]], "Sum"),
        breakerState,
      ).toBe(true);
    }
  });

  it("shows every alarm, and the composite alarm's state on its own", () => {
    const shown = alarmWidgets().flatMap((w) => w.alarms);
    expect(shown.sort()).toEqual([...run.all(T.alarm), run.one(T.compositeAlarm)].map(arnOf).sort());
    expect(alarmWidgets().map((w) => w.alarms)).toContainEqual([arnOf(run.one(T.compositeAlarm))]);
  });
});

it("exports the URLs, names and ARNs an operator needs", () => {
  const dashboard = run.one(T.dashboard);
  expect(run.outputs).toEqual({
    ordersQueueUrl: state(queue(RESOURCE_NAMES.ordersQueue), "url"),
    retryQueueUrl: state(queue(RESOURCE_NAMES.retryQueue), "url"),
    deadLetterQueueUrl: state(queue(RESOURCE_NAMES.deadLetterQueue), "url"),
    ledgerTableName: state(run.one(T.table), "name"),
    credentialsSecretArn: arnOf(run.one(T.secret)),
    alarmTopicArn: topicArn(),
    dashboardUrl: expect.stringMatching(
      new RegExp(
        `^https://[a-z0-9-]+\\.console\\.aws\\.amazon\\.com/cloudwatch/.*${dashboard.inputs.dashboardName}$`,
      ),
    ),
    imburseUnavailableAlarmName: run.one(T.compositeAlarm).inputs.alarmName,
    submitEventSourceMappingIds: mappingUuids().join(","),
    healthProbeFunctionName: state(lambda(RESOURCE_NAMES.healthProbeFunction), "name"),
    ledgerCheckFunctionName: state(lambda(RESOURCE_NAMES.ledgerCheckFunction), "name"),
    circuitBreakerFunctionName: state(lambda(RESOURCE_NAMES.circuitBreakerFunction), "name"),
    outcomeEventBusName: busName(),
    outcomeEventBusArn: state(bus(), "arn"),
    outcomeEventArchiveArn: arnOf(run.one(T.archive)),
    outboxSweepFunctionName: state(lambda(RESOURCE_NAMES.outboxSweepFunction), "name"),
    _protect: false,
  });
});

describe("outcome events", () => {
  const deadLetterRule = () => run.one(T.rule, `${RESOURCE_NAMES.outcomeBus}DeadLettered`);

  it("archives every event on the bus for archiveRetentionDays", () => {
    expect(run.all(T.bus)).toHaveLength(1);
    expect(run.one(T.archive).inputs).toMatchObject({
      eventSourceArn: state(bus(), "arn"),
      retentionDays: config.outcomes.archiveRetentionDays,
    });
    expect(run.one(T.archive).inputs.eventPattern).toBeUndefined();
  });

  it("sends every Order Dead-Lettered event of the bus to the alarm topic as a readable sentence", () => {
    expect(deadLetterRule().inputs.eventBusName).toBe(busName());
    expect(JSON.parse(deadLetterRule().inputs.eventPattern as string)).toEqual({
      source: [OUTCOME_EVENTS.source],
      "detail-type": [OUTCOME_EVENTS.detailTypes["dead-lettered"]],
    });
    const targets = run.all(T.target).filter((t) => t.inputs.rule === state(deadLetterRule(), "name"));
    expect(targets).toHaveLength(1);
    const { inputs } = targets[0]!;
    expect(inputs).toMatchObject({ arn: topicArn(), eventBusName: busName() });
    const transformer = inputs.inputTransformer as {
      inputPaths: Record<string, string>;
      inputTemplate: string;
    };
    expect(transformer.inputPaths).toMatchObject({
      kind: "$.detail.kind",
      orderRef: "$.detail.orderRef",
      reason: "$.detail.reason.text",
    });
    // A JSON string naming every placeholder it fills.
    const template = JSON.parse(transformer.inputTemplate) as string;
    for (const placeholder of Object.keys(transformer.inputPaths))
      expect(template).toContain(`<${placeholder}>`);
  });

  it("retries a notification the topic refuses for a day, then dead-letters it to an alarmed queue only that rule may use", () => {
    const name = `${RESOURCE_NAMES.outcomeBus}DeadLettered`;
    const failures = run.one(T.queue, `${name}Failures`);
    const target = run.all(T.target).find((t) => t.inputs.rule === state(deadLetterRule(), "name"));
    expect(target?.inputs).toMatchObject({
      retryPolicy: NOTIFICATION_TARGET_RETRY,
      deadLetterConfig: { arn: arnOf(failures) },
    });
    const queuePolicy = run.one(T.queuePolicy, `${name}FailuresPolicy`);
    expect(queuePolicy.inputs.queueUrl).toBe(state(failures, "url"));
    expect(JSON.parse(queuePolicy.inputs.policy as string).Statement).toEqual([
      expect.objectContaining({
        Principal: { Service: "events.amazonaws.com" },
        Action: "sqs:SendMessage",
        Resource: arnOf(failures),
        Condition: { ArnEquals: { "aws:SourceArn": arnOf(deadLetterRule()) } },
      }),
    ]);
    expect(run.one(T.alarm, `${name}FailuresNotEmpty`).inputs).toMatchObject({
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: state(failures, "name") },
      threshold: 1,
      alarmActions: [topicArn()],
    });
  });

  it("lets EventBridge publish to the alarm topic only from that rule", () => {
    const policy = JSON.parse(run.one(T.topicPolicy).inputs.policy as string) as {
      Statement: { Principal: Record<string, string>; Action: string | string[]; Condition: unknown }[];
    };
    const fromEvents = policy.Statement.filter((s) => s.Principal.Service === "events.amazonaws.com");
    expect(fromEvents).toEqual([
      expect.objectContaining({
        Action: "sns:Publish",
        Condition: { ArnEquals: { "aws:SourceArn": arnOf(deadLetterRule()) } },
      }),
    ]);
    expect(run.one(T.topicPolicy).inputs.arn).toBe(topicArn());
  });

  it("alarms on outcome events that failed to publish (OutcomeEventFailed, Sum)", () => {
    expect(run.one(T.alarm, METRICS.outcomeEventFailed).inputs).toMatchObject({
      namespace: METRICS.namespace,
      metricName: METRICS.outcomeEventFailed,
      dimensions: { service: SERVICE_NAME },
      statistic: "Sum",
      threshold: config.outcomes.failedEventsAlarmThreshold,
      alarmActions: [topicArn()],
    });
  });
});

describeStageIsolation(() => run, STAGE, OTHER_STAGE);
