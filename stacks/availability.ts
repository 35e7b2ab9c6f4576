/**
 * Is Imburse available? The probe alarm, the error-rate alarm and the composite alarm "Imburse unavailable"
 * (ALARM while either is in ALARM) whose state changes drive the circuit breaker (circuit-breaker.ts). All
 * three notify the alarm topic. Their numbers are `breaker` in lib/config/infrastructure.ts, which local
 * mode evaluates too.
 */
import {
  AVAILABILITY_ALARMS,
  type BreakerConfig,
  METRICS,
  PROBE_ALARM_MISSING_DATA,
} from "../lib/config/index.ts";
import { relayMetricDimensions } from "./metrics.ts";

/** `ProbeHealthy` of a healthy run; an unhealthy run emits 0. */
const PROBE_HEALTHY = 1;

/** What {@link createAvailabilityAlarms} evaluates and whom it tells. */
export interface AvailabilityInputs {
  config: BreakerConfig;
  topic: aws.sns.Topic;
}

/** The alarms created by {@link createAvailabilityAlarms}. */
export interface AvailabilityAlarms {
  probe: aws.cloudwatch.MetricAlarm;
  errorRate: aws.cloudwatch.MetricAlarm;
  /** The composite alarm the circuit breaker follows. */
  unavailable: aws.cloudwatch.CompositeAlarm;
}

/** The error rate of Imburse calls in one period, 0 while there were fewer than `minimumCalls`. */
function errorRateExpression(minimumCalls: number): string {
  // A period without failures has no ImburseError datapoint: FILL makes its rate 0 rather than missing.
  return `IF(calls >= ${minimumCalls}, FILL(errors, 0) / calls, 0)`;
}

/** Creates the probe and error-rate alarms and the composite alarm over them. */
export function createAvailabilityAlarms({ config, topic }: AvailabilityInputs): AvailabilityAlarms {
  const physicalName = (name: string) => `${$app.name}-${$app.stage}-${name}`;
  const period = config.periodSeconds;
  const relayMetric = (metricName: string, stat: string) => ({
    namespace: METRICS.namespace,
    metricName,
    dimensions: relayMetricDimensions(),
    stat,
    period,
  });
  const notify = { alarmActions: [topic.arn], okActions: [topic.arn] };

  const probe = new aws.cloudwatch.MetricAlarm(AVAILABILITY_ALARMS.probe, {
    name: physicalName(AVAILABILITY_ALARMS.probe),
    alarmDescription: `The health probe failed ${config.probeUnhealthyPeriods} periods in a row: Imburse does not answer it. INSUFFICIENT_DATA: the probe stopped running.`,
    namespace: METRICS.namespace,
    metricName: METRICS.probeHealthy,
    dimensions: relayMetricDimensions(),
    statistic: "Minimum",
    period,
    comparisonOperator: "LessThanThreshold",
    threshold: PROBE_HEALTHY,
    evaluationPeriods: config.probeUnhealthyPeriods,
    treatMissingData: PROBE_ALARM_MISSING_DATA,
    // A probe that stops running is a problem of its own (see PROBE_ALARM_MISSING_DATA).
    insufficientDataActions: [topic.arn],
    ...notify,
  });

  const errorRate = new aws.cloudwatch.MetricAlarm(AVAILABILITY_ALARMS.errorRate, {
    name: physicalName(AVAILABILITY_ALARMS.errorRate),
    alarmDescription: `At least ${Math.round(config.errorRateThreshold * 100)}% of the Imburse calls of a period failed (network, 429, 5xx), over at least ${config.minimumCalls} calls.`,
    metricQueries: [
      { id: "errors", metric: relayMetric(METRICS.imburseError, "Sum"), returnData: false },
      // ImburseLatency has one value per call: its sample count is the number of calls.
      { id: "calls", metric: relayMetric(METRICS.imburseLatency, "SampleCount"), returnData: false },
      {
        id: "rate",
        expression: errorRateExpression(config.minimumCalls),
        label: "Imburse error rate",
        returnData: true,
      },
    ],
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    threshold: config.errorRateThreshold,
    evaluationPeriods: 1,
    // No calls is no evidence either way (and no calls is what an open breaker causes).
    treatMissingData: "notBreaching",
    ...notify,
  });

  const unavailable = new aws.cloudwatch.CompositeAlarm(AVAILABILITY_ALARMS.unavailable, {
    alarmName: physicalName(AVAILABILITY_ALARMS.unavailable),
    alarmDescription:
      "Imburse is unavailable (probe or error rate): the circuit breaker pauses the submit function's queue consumption until this alarm is OK again.",
    alarmRule: $interpolate`ALARM("${probe.name}") OR ALARM("${errorRate.name}")`,
    ...notify,
  });

  return { probe, errorRate, unavailable };
}
