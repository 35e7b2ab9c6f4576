/**
 * The AWS infrastructure of a non-production stage, asserted on the resources sst.config.ts registers under
 * Pulumi mocks (no AWS, no network). Expectations read lib/config/infrastructure.ts, so tuning the config
 * needs no test edit, while a stack change that breaks a rule goes red. Production: infra.production.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALARM_EMAIL_ENV, infrastructureConfig } from "../lib/config/infrastructure.ts";
import { METRICS, RESOURCE_NAMES, SERVICE_NAME, SQS_MAX_RETENTION_SECONDS } from "../lib/config/names.ts";
import { DEFAULTS, loadSettings, settingsToEnv } from "../lib/config/settings.ts";
import { type RecordedResource, runSstConfig, type SstRun } from "./support/sst-harness.ts";

const STAGE = "dev";
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
  dashboard: "aws:cloudwatch/dashboard:Dashboard",
} as const;

interface Statement {
  effect: string;
  actions: string[];
  resources: string[];
}

let run: SstRun;
const state = (resource: RecordedResource, key: string) => resource.state[key] as string;
const queue = (name: string) => run.one(T.queue, `${name}Queue`);
const submitLambda = () => run.one(T.lambda);
/** The event source mapping polling a queue. */
const mappingOf = (queueName: string) => {
  const arn = state(queue(queueName), "arn");
  const found = run.all(T.mapping).filter((m) => m.inputs.eventSourceArn === arn);
  expect(found, `event source mappings on ${queueName}`).toHaveLength(1);
  return found[0]!;
};
const statements = (): Statement[] => {
  const role = run.one(T.role);
  const inline = role.inputs.inlinePolicies as { policy: string }[];
  return inline.flatMap((p) => (JSON.parse(p.policy) as { statements: Statement[] }).statements);
};
/** Resources granted an action, over every statement of the function's role. */
const resourcesFor = (action: string) =>
  statements()
    .filter((s) => s.actions.includes(action))
    .flatMap((s) => s.resources);

beforeAll(async () => {
  run = await runSstConfig({ stage: STAGE, env: { [ALARM_EMAIL_ENV]: undefined } });
});
afterAll(() => run?.dispose());

describe("stage rules", () => {
  it("production retains and is protected; other stages are removed", async () => {
    const { default: sstConfig } = await import("../sst.config.ts");
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
        deadLetterTargetArn: state(dlq, "arn"),
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

describe("submit function", () => {
  it("bundles every handler, and the handler exports what the function names", () => {
    const lambdas = run.all(T.lambda);
    expect(lambdas.map((l) => l.name)).toEqual([`${RESOURCE_NAMES.submitFunction}Function`]);
    expect(run.builds).toHaveLength(lambdas.length);
    for (const build of run.builds) {
      expect(build.errors, build.handler).toEqual([]);
      const [file, exportName] = build.handler.split(".");
      expect(build.entry).toBe(`${file}.ts`);
      expect(build.exports).toContain(exportName);
    }
    expect(submitLambda().inputs.handler).toBe("functions/submit.handler");
  });

  it("runs Node 24 with the configured timeout and memory, active tracing", () => {
    expect(submitLambda().inputs).toMatchObject({
      runtime: "nodejs24.x",
      timeout: config.submitFunction.timeoutSeconds,
      memorySize: config.submitFunction.memoryMb,
      tracingConfig: { mode: "Active" },
    });
  });

  it("gets Powertools and every relay setting from settingsToEnv, readable by loadSettings", () => {
    const variables = (submitLambda().inputs.environment as { variables: Record<string, string> }).variables;
    expect(variables).toMatchObject({
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRICS.namespace,
      ...settingsToEnv({
        ...DEFAULTS,
        ...config.settings,
        ordersQueueUrl: state(queue(RESOURCE_NAMES.ordersQueue), "url"),
        retryQueueUrl: state(queue(RESOURCE_NAMES.retryQueue), "url"),
        deadLetterQueueUrl: state(queue(RESOURCE_NAMES.deadLetterQueue), "url"),
        idempotencyTable: state(run.one(T.table), "name"),
        secretId: state(run.one(T.secret), "arn"),
      }),
    });
    const settings = loadSettings(variables);
    expect(settings.imburseBaseUrl).toBe(DEFAULTS.imburseBaseUrl);
    // The relay hands records back before Lambda's timeout: an Imburse call and the margin must fit.
    const timeoutMs = (submitLambda().inputs.timeout as number) * 1000;
    expect(settings.imburseTimeoutMs + settings.remainingTimeMarginMs).toBeLessThan(timeoutMs);
  });

  it.each([
    [RESOURCE_NAMES.ordersQueue, config.ordersSubscription],
    [RESOURCE_NAMES.retryQueue, config.retrySubscription],
  ])("consumes %s with partial batch responses, batching and maximum concurrency", (name, subscription) => {
    expect(mappingOf(name).inputs).toMatchObject({
      functionName: state(submitLambda(), "arn"),
      functionResponseTypes: ["ReportBatchItemFailures"],
      batchSize: subscription.batchSize,
      maximumBatchingWindowInSeconds: subscription.batchingWindowSeconds,
      scalingConfig: { maximumConcurrency: subscription.maximumConcurrency },
    });
    expect(run.all(T.mapping)).toHaveLength(2);
  });
});

describe("least privilege", () => {
  const arnOf = (resource: RecordedResource) => state(resource, "arn");

  it("sends only to the Retry queue and the DLQ", () => {
    expect(resourcesFor("sqs:SendMessage").sort()).toEqual(
      [queue(RESOURCE_NAMES.retryQueue), queue(RESOURCE_NAMES.deadLetterQueue)].map(arnOf).sort(),
    );
  });

  it.each([
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
  ])("%s only on Orders and Retry (what the event source mappings need)", (action) => {
    expect(resourcesFor(action).sort()).toEqual(
      [queue(RESOURCE_NAMES.ordersQueue), queue(RESOURCE_NAMES.retryQueue)].map(arnOf).sort(),
    );
  });

  it("reads only the credentials secret", () => {
    expect(resourcesFor("secretsmanager:GetSecretValue")).toEqual([arnOf(run.one(T.secret))]);
  });

  it.each(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"])(
    "%s only on the idempotency table",
    (action) => {
      expect(resourcesFor(action)).toEqual([arnOf(run.one(T.table))]);
    },
  );

  it("grants nothing else: no wildcard action, `*` resources only for X-Ray", () => {
    const granted = statements().flatMap((s) => s.actions);
    expect(new Set(granted)).toEqual(
      new Set([
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
        "sqs:SendMessage",
        "secretsmanager:GetSecretValue",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
      ]),
    );
    expect(statements().every((s) => s.effect === "Allow")).toBe(true);
    for (const s of statements().filter((s) => s.resources.includes("*"))) {
      expect(s.actions.every((a) => a.startsWith("xray:"))).toBe(true);
    }
    expect(run.one(T.role).inputs.managedPolicyArns).toEqual([
      "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    ]);
    expect(submitLambda().inputs.role).toBe(arnOf(run.one(T.role)));
  });

  it("lets only Lambda assume the function's role", () => {
    const trust = run.one(T.role).inputs.assumeRolePolicy;
    const policy = (typeof trust === "string" ? JSON.parse(trust) : trust) as {
      Statement: { Principal: Record<string, string>; Action: string }[];
    };
    expect(policy.Statement.map((s) => [s.Principal, s.Action])).toEqual([
      [{ Service: "lambda.amazonaws.com" }, "sts:AssumeRole"],
    ]);
  });
});

describe("idempotency table and credentials secret", () => {
  it("has the shape Powertools Idempotency expects, on demand, with TTL and PITR", () => {
    expect(run.one(T.table).inputs).toMatchObject({
      hashKey: "id",
      attributes: [{ name: "id", type: "S" }],
      billingMode: "PAY_PER_REQUEST",
      ttl: { attributeName: "expiration", enabled: true },
      pointInTimeRecovery: { enabled: true },
    });
    expect(run.one(T.table).inputs.rangeKey).toBeUndefined();
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
  const topicArn = () => state(run.one(T.topic), "arn");
  const { alarms } = config;

  it("all notify the one topic, on alarm and on recovery, and ignore missing data", () => {
    const all = run.all(T.alarm);
    expect(all).toHaveLength(7);
    for (const a of all) {
      expect(a.inputs).toMatchObject({
        alarmActions: [topicArn()],
        okActions: [topicArn()],
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        evaluationPeriods: alarms.evaluationPeriods,
        treatMissingData: "notBreaching",
      });
    }
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
    const queries = inputs.metricQueries as {
      id: string;
      expression?: string;
      returnData?: boolean;
      metric?: { metricName: string; dimensions: Record<string, string>; stat: string; period: number };
    }[];
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
    [METRICS.deadLettered, alarms.deadLetteredOrders],
    [METRICS.imburseError, alarms.imburseErrors],
  ])("watches the relay metric %s (Sum, service dimension) at %s", (metricName, threshold) => {
    const matching = run.all(T.alarm).filter((a) => a.inputs.metricName === metricName);
    expect(matching).toHaveLength(1);
    expect(matching[0]?.inputs).toMatchObject({
      namespace: METRICS.namespace,
      dimensions: { service: SERVICE_NAME },
      statistic: "Sum",
      period: alarms.periodSeconds,
      threshold,
    });
  });
});

describe("dashboard", () => {
  type Line = (string | Record<string, string>)[];
  const widgets = () =>
    (JSON.parse(run.one(T.dashboard).inputs.dashboardBody as string) as { widgets: { properties: object }[] })
      .widgets;
  const lines = (): Line[] =>
    widgets().flatMap((w) => ("metrics" in w.properties ? (w.properties.metrics as Line[]) : []));
  const has = (namespace: string, metricName: string, dimension: [string, string], stat: string) =>
    lines().some(
      (l) =>
        l[0] === namespace &&
        l[1] === metricName &&
        l[2] === dimension[0] &&
        l[3] === dimension[1] &&
        (l.at(-1) as Record<string, string>).stat === stat,
    );

  it.each([METRICS.received, METRICS.submitted, METRICS.retried, METRICS.deadLettered])(
    "shows the flow: %s",
    (metricName) => {
      expect(has(METRICS.namespace, metricName, ["service", SERVICE_NAME], "Sum")).toBe(true);
    },
  );

  it("shows Imburse latency p50 and p99", () => {
    for (const stat of ["p50", "p99"]) {
      expect(has(METRICS.namespace, METRICS.imburseLatency, ["service", SERVICE_NAME], stat)).toBe(true);
    }
  });

  it.each([RESOURCE_NAMES.ordersQueue, RESOURCE_NAMES.retryQueue, RESOURCE_NAMES.deadLetterQueue])(
    "shows %s depth and oldest-message age",
    (name) => {
      const dimension: [string, string] = ["QueueName", state(queue(name), "name")];
      expect(has("AWS/SQS", "ApproximateNumberOfMessagesVisible", dimension, "Maximum")).toBe(true);
      expect(has("AWS/SQS", "ApproximateAgeOfOldestMessage", dimension, "Maximum")).toBe(true);
    },
  );

  it("shows every alarm", () => {
    const alarmWidget = widgets().find((w) => "alarms" in w.properties)!;
    expect((alarmWidget.properties as { alarms: string[] }).alarms.sort()).toEqual(
      run
        .all(T.alarm)
        .map((a) => state(a, "arn"))
        .sort(),
    );
  });
});

it("exports the URLs, names and ARNs an operator needs", () => {
  const dashboard = run.one(T.dashboard);
  expect(run.outputs).toEqual({
    ordersQueueUrl: state(queue(RESOURCE_NAMES.ordersQueue), "url"),
    retryQueueUrl: state(queue(RESOURCE_NAMES.retryQueue), "url"),
    deadLetterQueueUrl: state(queue(RESOURCE_NAMES.deadLetterQueue), "url"),
    idempotencyTableName: state(run.one(T.table), "name"),
    credentialsSecretArn: state(run.one(T.secret), "arn"),
    alarmTopicArn: state(run.one(T.topic), "arn"),
    dashboardUrl: expect.stringMatching(
      new RegExp(
        `^https://[a-z0-9-]+\\.console\\.aws\\.amazon\\.com/cloudwatch/.*${dashboard.inputs.dashboardName}$`,
      ),
    ),
    _protect: false,
  });
});
