/**
 * The scheduled DLQ redrive, off by default (stacks.test.ts shows it absent): here a stage override switches
 * it on with its own expression, and sst.config.ts deploys the function, its schedule and its permissions.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  DEFAULTS,
  infrastructureConfig,
  loadSettings,
  METRICS,
  REQUIRED_SETTINGS,
  RESOURCE_NAMES,
  SERVICE_NAME,
  type StageOverrides,
  settingsToEnv,
} from "../../lib/config/index.ts";
import { type RecordedResource, runSstConfig, type SstRun } from "../support/sst-harness.ts";

const { STAGE, OVERRIDE } = vi.hoisted(() => ({
  STAGE: "redrive-on",
  OVERRIDE: { schedules: { redrive: { enabled: true, expression: "rate(30 minutes)" } } } as const,
}));

// sst.config.ts reads `infrastructureConfig($app.stage)`: give it the stage overrides plus this stage's.
vi.mock("../../lib/config/index.ts", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../lib/config/index.ts")>();
  const overrides: Record<string, StageOverrides> = { ...original.STAGE_OVERRIDES, [STAGE]: OVERRIDE };
  return {
    ...original,
    infrastructureConfig: (stage: string) => original.infrastructureConfig(stage, overrides),
  };
});

const config = infrastructureConfig(STAGE);
const NAME = RESOURCE_NAMES.redriveFunction;

let run: SstRun;
const arnOf = (resource: RecordedResource) => resource.state.arn as string;
const queueArn = (name: string) => arnOf(run.one("aws:sqs/queue:Queue", `${name}Queue`));
const queueUrl = (name: string) => run.one("aws:sqs/queue:Queue", `${name}Queue`).state.url as string;
const redriveLambda = () => run.one("aws:lambda/function:Function", `${NAME}Function`);
const statements = () => {
  const role = run.all("aws:iam/role:Role").find((r) => arnOf(r) === redriveLambda().inputs.role);
  const inline = role?.inputs.inlinePolicies as { policy: string }[];
  return inline.flatMap(
    (p) => (JSON.parse(p.policy) as { statements: { actions: string[]; resources: string[] }[] }).statements,
  );
};
const resourcesFor = (action: string) =>
  statements()
    .filter((s) => s.actions.includes(action))
    .flatMap((s) => s.resources);

beforeAll(async () => {
  run = await runSstConfig({ stage: STAGE });
});
afterAll(() => run?.dispose());

describe("scheduled DLQ redrive, enabled by a stage override", () => {
  it("the override switches it on with its own expression", () => {
    expect(config.schedules.redrive).toEqual(OVERRIDE.schedules.redrive);
  });

  it("runs functions/redrive.handler, bundled, on schedules.redrive.expression in UTC", () => {
    const build = run.builds.find((b) => b.functionId === NAME);
    expect(build).toMatchObject({
      handler: "functions/redrive.handler",
      entry: "functions/redrive.ts",
      errors: [],
    });
    expect(build?.exports).toContain("handler");
    expect(run.one("aws:scheduler/schedule:Schedule", `${NAME}CronSchedule`).inputs).toMatchObject({
      scheduleExpression: config.schedules.redrive.expression,
      scheduleExpressionTimezone: "UTC",
      state: "ENABLED",
      target: { arn: arnOf(redriveLambda()), retryPolicy: { maximumRetryAttempts: 0 } },
    });
    expect(redriveLambda().inputs).toMatchObject({
      runtime: "nodejs24.x",
      timeout: config.redriveFunction.timeoutSeconds,
      memorySize: config.redriveFunction.memoryMb,
      tracingConfig: { mode: "Active" },
    });
  });

  it("gets the DLQ and Orders URLs and no other resource id", () => {
    const variables = (redriveLambda().inputs.environment as { variables: Record<string, string> }).variables;
    const relay = Object.fromEntries(Object.entries(variables).filter(([name]) => !name.startsWith("SST_")));
    expect(relay).toEqual({
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRICS.namespace,
      ...settingsToEnv({
        ...DEFAULTS,
        ...config.settings,
        stage: STAGE,
        deadLetterQueueUrl: queueUrl(RESOURCE_NAMES.deadLetterQueue),
        ordersQueueUrl: queueUrl(RESOURCE_NAMES.ordersQueue),
      }),
    });
    expect(loadSettings(relay, REQUIRED_SETTINGS.redrive).redriveMaxMessages).toBe(
      DEFAULTS.redriveMaxMessages,
    );
  });

  it.each([
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
  ])("%s only on the DLQ", (action) => {
    expect(resourcesFor(action)).toEqual([queueArn(RESOURCE_NAMES.deadLetterQueue)]);
  });

  it("sends only to Orders, and is granted nothing else but X-Ray", () => {
    expect(resourcesFor("sqs:SendMessage")).toEqual([queueArn(RESOURCE_NAMES.ordersQueue)]);
    expect(new Set(statements().flatMap((s) => s.actions))).toEqual(
      new Set([
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
        "sqs:SendMessage",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
      ]),
    );
    for (const s of statements().filter((s) => s.resources.some((r) => r.includes("*")))) {
      expect(s.actions.every((a) => a.startsWith("xray:"))).toBe(true);
    }
  });

  it("exports the redrive function's name", () => {
    expect(run.outputs.redriveFunctionName).toBe(redriveLambda().state.name);
  });

  it("is never retried by Lambda: a run is idempotent, and the next run is the retry", () => {
    const configs = run
      .all("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
      .filter((c) => c.inputs.functionName === redriveLambda().state.name);
    expect(configs.map((c) => c.inputs.maximumRetryAttempts)).toEqual([0]);
  });
});
