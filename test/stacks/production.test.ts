/**
 * What differs in the production stage: data is retained and the stage is protected, the secret keeps its
 * recovery window, the functions talk to production Imburse, and configured e-mails get the alarms.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ALARM_EMAIL_ENV,
  infrastructureConfig,
  loadSettings,
  REQUIRED_SETTINGS,
  RESOURCE_NAMES,
} from "../../lib/config/index.ts";
import { runSstConfig, type SstRun } from "../support/sst-harness.ts";
import { describeStageIsolation } from "../support/stage-isolation.ts";

const STAGE = "production";
/** A stage sharing the account: its metrics must never reach this stage's alarms. */
const OTHER_STAGE = "dev";
const EMAILS = ["ops@example.com", "on-call@example.com"];

let run: SstRun;

beforeAll(async () => {
  run = await runSstConfig({ stage: STAGE, env: { [ALARM_EMAIL_ENV]: EMAILS.join(", ") } });
});
afterAll(() => run?.dispose());

describe("production", () => {
  it("retains data and refuses `sst remove`", () => {
    expect(run.app).toMatchObject({ removal: "retain", protect: true });
    expect(run.outputs._protect).toBe(true);
  });

  it("retains the table, the three queues, the two rules' failures queues and the secret when removed or renamed", () => {
    const retained = run.resources.filter((r) => r.retainOnDelete).map((r) => `${r.type} ${r.name}`);
    expect(retained.sort()).toEqual(
      [
        `aws:dynamodb/table:Table ${RESOURCE_NAMES.ledgerTable}Table`,
        `aws:secretsmanager/secret:Secret ${RESOURCE_NAMES.credentialsSecret}`,
        ...[RESOURCE_NAMES.ordersQueue, RESOURCE_NAMES.retryQueue, RESOURCE_NAMES.deadLetterQueue].map(
          (name) => `aws:sqs/queue:Queue ${name}Queue`,
        ),
        // The breaker's undelivered alarm events and failed runs wait for an operator like dead letters.
        `aws:sqs/queue:Queue ${RESOURCE_NAMES.circuitBreakerFunction}Failures`,
        // So do dead-letter notifications the alarm topic refused.
        `aws:sqs/queue:Queue ${RESOURCE_NAMES.outcomeBus}DeadLetteredFailures`,
      ].sort(),
    );
  });

  it("protects the table from deletion and keeps the secret's recovery window", () => {
    expect(run.one("aws:dynamodb/table:Table").inputs.deletionProtectionEnabled).toBe(true);
    expect(run.one("aws:secretsmanager/secret:Secret").inputs.recoveryWindowInDays).toBeUndefined();
  });

  it.each([
    [RESOURCE_NAMES.submitFunction, REQUIRED_SETTINGS.submit],
    [RESOURCE_NAMES.healthProbeFunction, REQUIRED_SETTINGS.healthProbe],
    [RESOURCE_NAMES.circuitBreakerFunction, REQUIRED_SETTINGS.circuitBreaker],
  ])("applies the production overrides to the relay settings of %s", (name, required) => {
    const lambda = run.one("aws:lambda/function:Function", `${name}Function`);
    const env = (lambda.inputs.environment as { variables: NodeJS.ProcessEnv }).variables;
    expect(loadSettings(env, required)).toMatchObject(infrastructureConfig(STAGE).settings);
  });

  it("subscribes each configured e-mail to the alarm topic", () => {
    const topicArn = run.one("aws:sns/topic:Topic").state.arn;
    const subscriptions = run.all("aws:sns/topicSubscription:TopicSubscription").map((s) => s.inputs);
    expect(subscriptions).toEqual(
      EMAILS.map((endpoint) => ({ topic: topicArn, protocol: "email", endpoint })),
    );
  });
});

describeStageIsolation(() => run, STAGE, OTHER_STAGE);
