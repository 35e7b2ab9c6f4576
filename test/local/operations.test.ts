import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AwsClients, awsClients } from "../../lib/aws/index.ts";
import { infrastructureConfig, MESSAGE_ATTRIBUTES, type SubscriptionConfig } from "../../lib/config/index.ts";
import { type LocalEnvironment, startLocalEnvironment } from "../../lib/local/environment.ts";
import { type LocalOperations, startLocalOperations } from "../../lib/local/operations.ts";
import { localPowertools } from "../../lib/local/powertools.ts";
import { type EventSourceRunner, startEventSourceRunner } from "../../lib/local/runner.ts";
import type { RecordEvent } from "../../lib/relay/index.ts";
import { createSubmitHandler } from "../../lib/relay/index.ts";
import { DEMO_CREDENTIALS, type Simulator, startSimulator } from "../../lib/simulator/index.ts";
import { order } from "../support/relay-harness.ts";

const REGION = "us-east-1";
let simulator: Simulator;
let local: LocalEnvironment;
let runner: EventSourceRunner;
let operations: LocalOperations;
let sqs: SQSClient;
let clients: AwsClients;
/** Called after every record event (the submit handler's observer). */
const listeners = new Set<() => void>();
const events: RecordEvent[] = [];
const breakerStates: string[] = [];
const config = infrastructureConfig("local");
const BREAKER = config.breaker;
/** The breaker's clock: its hysteresis is in alarm periods, which the test steps through. */
const clock = { now: Date.now() };
const periods = (n: number) => {
  clock.now += n * BREAKER.periodSeconds * 1000;
};

/** Resolves once `predicate` holds over the record events seen so far. */
function eventually(predicate: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (!predicate()) return;
      listeners.delete(check);
      resolve();
    };
    listeners.add(check);
    check();
  });
}

/**
 * Resolves once the retry and orders queues hold exactly these numbers of messages, each one due (any
 * delay over) and none in flight. fauxqs moves a due message from delayed to ready only when it is
 * received, so a delayed message counts once its `delayUntil` has passed.
 */
async function queuesHold(due: { retry: number; orders: number }): Promise<void> {
  const holds = () =>
    (["retry", "orders"] as const).every((name) => {
      const messages = local.fauxqs.inspectQueue(local.queues[name].name)?.messages;
      if (!messages || messages.inflight.length > 0) return false;
      const now = Date.now();
      return (
        messages.ready.length + messages.delayed.length === due[name] &&
        messages.delayed.every((m) => (m.delayUntil ?? 0) <= now)
      );
    });
  while (!holds()) await new Promise((resolve) => setTimeout(resolve, 50));
}

beforeAll(async () => {
  simulator = await startSimulator({ seed: 11 });
  local = await startLocalEnvironment({
    credentials: { ...DEMO_CREDENTIALS },
    imburseBaseUrl: simulator.url,
    settings: {
      retryBaseSeconds: 1,
      retryCapSeconds: 1,
      maxAttempts: 50,
      // Loopback answers in milliseconds; the margin is for a CI machine busy bundling in parallel.
      imburseTimeoutMs: 3000,
      remainingTimeMarginMs: 1500,
    },
    functionTimeoutSeconds: 5,
  });
  clients = awsClients(local.aws);
  const handler = createSubmitHandler({
    env: local.env,
    ...localPowertools("silent"),
    sqs: clients.sqs,
    dynamoDb: clients.dynamoDb,
    secretsManager: clients.secretsManager,
    eventBridge: clients.eventBridge,
    observer: {
      record: (event) => {
        events.push(event);
        for (const listener of [...listeners]) listener();
      },
      imburseCall: (call) => operations?.imburseCall(call),
    },
  });
  sqs = clients.sqs;
  runner = startEventSourceRunner({
    handler,
    sources: [
      { queue: local.queues.orders, ...config.ordersSubscription },
      { queue: local.queues.retry, ...config.retrySubscription },
    ],
    sqs,
    region: REGION,
    functionName: "Submit",
    functionTimeoutSeconds: 5,
    waitTimeSeconds: 1,
  });
  operations = await startLocalOperations({
    environment: local,
    runner,
    region: REGION,
    // The stacks' rules, with a smaller call minimum so five orders are enough to judge a period.
    breaker: { ...BREAKER, minimumCalls: 3, probeUnhealthyPeriods: 1 },
    subscriptions: { orders: config.ordersSubscription, retry: config.retrySubscription },
    clock: () => clock.now,
    observer: {
      breaker: (state, transition) => {
        if (transition) breakerStates.push(state.phase);
      },
    },
  });
});

afterAll(async () => {
  await operations?.stop();
  await runner?.stop();
  await local?.stop();
  await simulator?.close();
  clients?.destroy();
});

const mappingIds = () => operations.breakerPlan.mappings.map((m) => m.uuid);

const publish = (orderRef: string) =>
  sqs.send(
    new SendMessageCommand({
      QueueUrl: local.queues.orders.url,
      MessageBody: JSON.stringify(order(orderRef)),
      MessageAttributes: {
        [MESSAGE_ATTRIBUTES.correlationId]: { DataType: "String", StringValue: `corr-${orderRef}` },
      },
    }),
  );

describe("local operations: the circuit breaker over an Imburse outage", () => {
  it("restores each mapping to its subscription's configured scaling", () => {
    const scaling = ({ batchSize, maximumConcurrency }: SubscriptionConfig) => ({
      batchSize,
      maximumConcurrency,
    });
    expect(operations.breakerPlan.mappings.map(({ uuid: _, ...rest }) => rest)).toEqual([
      scaling(config.ordersSubscription),
      scaling(config.retrySubscription),
    ]);
  });

  it("opens on the outage, holds every order back while open, closes on recovery and drains the backlog", async () => {
    simulator.faults.set("create:503,get:503");
    const first = ["OUT-1", "OUT-2", "OUT-3", "OUT-4", "OUT-5"];
    for (const ref of first) await publish(ref);
    await eventually(() => events.filter((e) => e.type === "retry-scheduled").length >= first.length);

    expect((await operations.probe()).healthy).toBe(false);
    expect(await operations.endPeriod()).toBe("ALARM");
    expect(operations.breakerState()).toBe("open");
    expect(breakerStates).toEqual(["open"]);
    const openedAt = Date.now();
    for (const uuid of mappingIds()) {
      expect(operations.lambdaApi.mapping(uuid)?.state).toBe("Disabled");
    }

    // More orders arrive while Imburse is down. The window that proves nothing calls Imburse lasts until
    // every retry is due (its 1 s delay over) and it and the new orders still wait, ready, in their queues:
    // running pollers would have taken them by then.
    for (const ref of ["HELD-1", "HELD-2", "HELD-3"]) await publish(ref);
    await queuesHold({ retry: first.length, orders: 3 });
    const duringOutage = simulator.requests.filter(
      (r) => r.timestamp >= openedAt && r.path.includes("order-management"),
    );
    expect(
      duringOutage
        .filter((r) => !r.path.endsWith("imburse-relay-health-probe"))
        .map((r) => [r.method, r.path, r.timestamp - openedAt, r.body]),
    ).toEqual([]);

    simulator.faults.clear();
    expect((await operations.probe()).healthy).toBe(true);
    // The alarm is OK at once, but the breaker stays open for its minimum time (hysteresis).
    expect(await operations.endPeriod()).toBe("OK");
    expect(operations.breakerState()).toBe("open");
    periods(BREAKER.minimumOpenPeriods);
    // The schedule, not an event, moves it on: half-open, at batch size 1.
    await operations.runBreaker();
    expect(operations.breakerState()).toBe("trial");
    for (const uuid of mappingIds()) {
      expect(operations.lambdaApi.mapping(uuid)).toMatchObject({
        state: "Enabled",
        batchSize: 1,
        maximumConcurrency: 2,
      });
    }
    periods(BREAKER.trialPeriods);
    await operations.runBreaker();
    expect(operations.breakerState()).toBe("closed");
    expect(breakerStates).toEqual(["open", "trial", "closed"]);
    expect(operations.lambdaApi.mapping(mappingIds()[0]!)).toMatchObject({
      batchSize: config.ordersSubscription.batchSize,
      maximumConcurrency: config.ordersSubscription.maximumConcurrency,
    });

    const all = [...first, "HELD-1", "HELD-2", "HELD-3"];
    const submitted = () =>
      new Set(events.flatMap((e) => (e.type === "final" && e.outcome === "submitted" ? [e.orderRef] : [])));
    await eventually(() => all.every((ref) => submitted().has(ref)));
    expect(
      simulator
        .orders()
        .map((o) => o.orderRef)
        .sort(),
    ).toEqual([...all].sort());
    expect(events.filter((e) => e.type === "final" && e.outcome !== "submitted")).toEqual([]);
    expect(local.fauxqs.inspectQueue(local.queues.deadLetter.name)?.messages.ready).toEqual([]);
  });
});
