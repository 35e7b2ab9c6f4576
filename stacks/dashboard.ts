/**
 * The CloudWatch dashboard of the order flow: what came in, what reached Imburse, what is retried or
 * dead-lettered, Imburse latency and errors, the queues' depth and oldest-message age, the health probe,
 * and the circuit breaker (its alarm's state and its transitions).
 */
import type { BreakerConfig, BreakerPhase } from "../lib/config/index.ts";
import { METRICS, RESOURCE_NAMES } from "../lib/config/index.ts";
import { AWS_NAMESPACES, LAMBDA_METRICS, relayMetricDimensions, SQS_METRICS } from "./metrics.ts";
import type { RelayQueues } from "./queues.ts";

/** What the dashboard shows. */
export interface DashboardInputs {
  queues: RelayQueues;
  submit: sst.aws.Function;
  alarms: aws.cloudwatch.MetricAlarm[];
  /** The composite alarm the circuit breaker follows. */
  breakerAlarm: aws.cloudwatch.CompositeAlarm;
  breaker: BreakerConfig;
}

/** The dashboard and its console URL. */
export interface RelayDashboard {
  dashboard: aws.cloudwatch.Dashboard;
  url: $util.Output<string>;
}

/** Resolved names the dashboard body refers to. */
interface DashboardTargets {
  region: string;
  queueNames: { orders: string; retry: string; deadLetter: string };
  functionName: string;
  alarmArns: string[];
  breakerAlarmArn: string;
  /** The probe and breaker graphs use the breaker's alarm period: one probe datapoint per point. */
  breakerPeriodSeconds: number;
}

/** One metric line in CloudWatch's dashboard body syntax: namespace, name, dimension pairs, options. */
type MetricLine = (string | Record<string, string>)[];

const relay = (
  metricName: string,
  label: string,
  stat = "Sum",
  dimensions: Record<string, string> = {},
): MetricLine => [
  METRICS.namespace,
  metricName,
  ...Object.entries({ ...relayMetricDimensions(), ...dimensions }).flat(),
  { stat, label },
];

/** Values of the `state` dimension of the single `BreakerTransition` metric (the breaker's new phase). */
const BREAKER_STATES = ["open", "trial", "closed"] as const satisfies readonly BreakerPhase[];

/** The dashboard body (CloudWatch dashboard JSON) for the given targets. */
function dashboardBody({
  region,
  queueNames,
  functionName,
  alarmArns,
  breakerAlarmArn,
  breakerPeriodSeconds,
}: DashboardTargets): object {
  const queues = Object.entries(queueNames).map(([label, name]) => ({ label, name }));
  const queue = (metricName: string, name: string, label: string): MetricLine => [
    AWS_NAMESPACES.sqs,
    metricName,
    "QueueName",
    name,
    { stat: "Maximum", label },
  ];
  const lambda = (metricName: string, stat: string): MetricLine => [
    AWS_NAMESPACES.lambda,
    metricName,
    "FunctionName",
    functionName,
    { stat, label: metricName },
  ];
  const graph = (title: string, metrics: MetricLine[], x: number, y: number, period = 60) => ({
    type: "metric",
    x,
    y,
    width: 12,
    height: 6,
    properties: { title, region, view: "timeSeries", stacked: false, period, metrics },
  });
  return {
    widgets: [
      {
        type: "alarm",
        x: 0,
        y: 0,
        width: 24,
        height: 3,
        properties: { title: "Alarms", alarms: alarmArns },
      },
      graph(
        "Order flow",
        [
          relay(METRICS.received, "received"),
          relay(METRICS.submitted, "submitted"),
          relay(METRICS.alreadyExisted, "already existed"),
          relay(METRICS.retried, "retried"),
          relay(METRICS.deadLettered, "dead-lettered"),
        ],
        0,
        3,
      ),
      graph(
        "Imburse latency (ms)",
        [relay(METRICS.imburseLatency, "p50", "p50"), relay(METRICS.imburseLatency, "p99", "p99")],
        12,
        3,
      ),
      graph(
        "Queue depth",
        [
          ...queues.map(({ label, name }) => queue(SQS_METRICS.visible, name, `${label} visible`)),
          queue(SQS_METRICS.delayed, queueNames.retry, "retry delayed"),
        ],
        0,
        9,
      ),
      graph(
        "Oldest message age (s)",
        queues.map(({ label, name }) => queue(SQS_METRICS.oldestAge, name, label)),
        12,
        9,
      ),
      graph(
        "Failures",
        [
          relay(METRICS.imburseError, "Imburse errors"),
          lambda(LAMBDA_METRICS.errors, "Sum"),
          lambda(LAMBDA_METRICS.throttles, "Sum"),
        ],
        0,
        15,
      ),
      graph("Submit concurrency", [lambda(LAMBDA_METRICS.concurrentExecutions, "Maximum")], 12, 15),
      graph(
        "Health probe (1 healthy, 0 unhealthy)",
        [relay(METRICS.probeHealthy, "healthy", "Minimum")],
        0,
        21,
        breakerPeriodSeconds,
      ),
      graph(
        "Health probe latency (ms)",
        [relay(METRICS.probeLatency, "latency", "Maximum")],
        12,
        21,
        breakerPeriodSeconds,
      ),
      {
        type: "alarm",
        x: 0,
        y: 27,
        width: 12,
        height: 6,
        properties: {
          title: "Circuit breaker: Imburse unavailable (ALARM = paused)",
          alarms: [breakerAlarmArn],
        },
      },
      graph(
        "Circuit breaker transitions",
        BREAKER_STATES.map((state) => relay(METRICS.breakerTransition, state, "Sum", { state })),
        12,
        27,
        breakerPeriodSeconds,
      ),
    ],
  };
}

/** Creates the dashboard (`<app>-<stage>-Flow`) and returns its console URL. */
export function createDashboard({
  queues,
  submit,
  alarms,
  breakerAlarm,
  breaker,
}: DashboardInputs): RelayDashboard {
  const region = aws.getRegionOutput().region;
  const dashboardName = `${$app.name}-${$app.stage}-${RESOURCE_NAMES.dashboard}`;
  const dashboard = new aws.cloudwatch.Dashboard(RESOURCE_NAMES.dashboard, {
    dashboardName,
    dashboardBody: $resolve({
      region,
      orders: queues.orders.nodes.queue.name,
      retry: queues.retry.nodes.queue.name,
      deadLetter: queues.deadLetter.nodes.queue.name,
      functionName: submit.name,
      alarmArns: alarms.map((alarm) => alarm.arn),
      breakerAlarmArn: breakerAlarm.arn,
    }).apply(({ region, orders, retry, deadLetter, functionName, alarmArns, breakerAlarmArn }) =>
      JSON.stringify(
        dashboardBody({
          region,
          queueNames: { orders, retry, deadLetter },
          functionName,
          alarmArns,
          breakerAlarmArn,
          breakerPeriodSeconds: breaker.periodSeconds,
        }),
      ),
    ),
  });
  const url = $interpolate`https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards/dashboard/${dashboard.dashboardName}`;
  return { dashboard, url };
}
