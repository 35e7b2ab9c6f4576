/**
 * The CloudWatch dashboard of the order flow: what came in, what reached Imburse, what is retried or
 * dead-lettered, Imburse latency and errors, and the queues' depth and oldest-message age.
 */
import { METRICS, RESOURCE_NAMES } from "../lib/config/names.ts";
import { AWS_NAMESPACES, LAMBDA_METRICS, RELAY_METRIC_DIMENSIONS, SQS_METRICS } from "./metrics.ts";
import type { RelayQueues } from "./queues.ts";

/** What the dashboard shows. */
export interface DashboardInputs {
  queues: RelayQueues;
  submit: sst.aws.Function;
  alarms: aws.cloudwatch.MetricAlarm[];
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
}

/** One metric line in CloudWatch's dashboard body syntax: namespace, name, dimension pairs, options. */
type MetricLine = (string | Record<string, string>)[];

const relay = (metricName: string, label: string, stat = "Sum"): MetricLine => [
  METRICS.namespace,
  metricName,
  ...Object.entries(RELAY_METRIC_DIMENSIONS).flat(),
  { stat, label },
];

/** The dashboard body (CloudWatch dashboard JSON) for the given targets. */
function dashboardBody({ region, queueNames, functionName, alarmArns }: DashboardTargets): object {
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
  const graph = (title: string, metrics: MetricLine[], x: number, y: number) => ({
    type: "metric",
    x,
    y,
    width: 12,
    height: 6,
    properties: { title, region, view: "timeSeries", stacked: false, period: 60, metrics },
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
    ],
  };
}

/** Creates the dashboard (`<app>-<stage>-Flow`) and returns its console URL. */
export function createDashboard({ queues, submit, alarms }: DashboardInputs): RelayDashboard {
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
    }).apply(({ region, orders, retry, deadLetter, functionName, alarmArns }) =>
      JSON.stringify(
        dashboardBody({ region, queueNames: { orders, retry, deadLetter }, functionName, alarmArns }),
      ),
    ),
  });
  const url = $interpolate`https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards/dashboard/${dashboard.dashboardName}`;
  return { dashboard, url };
}
