/**
 * What a stage's alarms and dashboard read, and whether all of it belongs to that stage: shared by the
 * infrastructure tests of two stages (test/stacks/stacks.test.ts, test/stacks/production.test.ts), so that neither stage reads
 * a metric the other emits.
 */
import { describe, expect, it } from "vitest";
import { METRICS, relayMetricDimensions, SETTINGS } from "../../lib/config/index.ts";
import type { RecordedResource, SstRun } from "./sst-harness.ts";

/** One metric an alarm or a dashboard widget reads. */
export interface MetricRead {
  /** The alarm or widget that reads it. */
  reader: string;
  namespace: string;
  metricName: string;
  dimensions: Record<string, string>;
}

interface MetricQueryInput {
  metric?: { namespace: string; metricName: string; dimensions?: Record<string, string> };
}

function alarmReads(alarm: RecordedResource): MetricRead[] {
  const reader = `alarm ${alarm.name}`;
  const { namespace, metricName, dimensions, metricQueries } = alarm.inputs as {
    namespace?: string;
    metricName?: string;
    dimensions?: Record<string, string>;
    metricQueries?: MetricQueryInput[];
  };
  if (namespace && metricName) return [{ reader, namespace, metricName, dimensions: dimensions ?? {} }];
  return (metricQueries ?? []).flatMap(({ metric }) =>
    metric
      ? [
          {
            reader,
            namespace: metric.namespace,
            metricName: metric.metricName,
            dimensions: metric.dimensions ?? {},
          },
        ]
      : [],
  );
}

function dashboardReads(dashboard: RecordedResource): MetricRead[] {
  const body = JSON.parse(dashboard.inputs.dashboardBody as string) as {
    widgets: { properties: { title?: string; metrics?: (string | object)[][] } }[];
  };
  return body.widgets.flatMap(({ properties }) =>
    (properties.metrics ?? []).map((line) => {
      const [namespace, metricName, ...rest] = line.slice(0, -1) as string[];
      const dimensions: Record<string, string> = {};
      for (let i = 0; i + 1 < rest.length; i += 2) dimensions[rest[i]!] = rest[i + 1]!;
      return {
        reader: `widget ${properties.title ?? "?"}`,
        namespace: namespace!,
        metricName: metricName!,
        dimensions,
      };
    }),
  );
}

/** Every metric the stage's metric alarms and dashboards read. */
export function metricsReadBy(run: SstRun): MetricRead[] {
  return [
    ...run.all("aws:cloudwatch/metricAlarm:MetricAlarm").flatMap(alarmReads),
    ...run.all("aws:cloudwatch/dashboard:Dashboard").flatMap(dashboardReads),
  ];
}

/**
 * The reads that could see another stage's data: a relay metric whose `service` and `stage` are not this
 * stage's, or an AWS metric whose queue or function is not one this run created. Empty when isolated.
 */
export function foreignReads(run: SstRun, stage: string): MetricRead[] {
  const own = relayMetricDimensions(stage);
  const names = new Set(run.resources.map((r) => r.state.name).filter((name) => typeof name === "string"));
  return metricsReadBy(run).filter((read) => {
    if (read.namespace === METRICS.namespace) {
      return read.dimensions.service !== own.service || read.dimensions.stage !== own.stage;
    }
    const resource = read.dimensions.QueueName ?? read.dimensions.FunctionName;
    return resource === undefined || !names.has(resource);
  });
}

/** The `RELAY_STAGE` of every Lambda function of the run, by function resource name. */
export function stageOfEachFunction(run: SstRun): Record<string, string | undefined> {
  return Object.fromEntries(
    run
      .all("aws:lambda/function:Function")
      .map((fn) => [
        fn.name,
        (fn.inputs.environment as { variables: Record<string, string> }).variables[SETTINGS.stage.env],
      ]),
  );
}

/**
 * The stage-isolation tests of one stage's run: every read belongs to `stage`, and the relay metrics it
 * reads are all foreign to `otherStage` (a stage sharing the account).
 */
export function describeStageIsolation(run: () => SstRun, stage: string, otherStage: string): void {
  describe("stage isolation", () => {
    it("every alarm and dashboard widget reads this stage's metrics only, and there are some of each", () => {
      const reads = metricsReadBy(run());
      const relay = reads.filter((read) => read.namespace === METRICS.namespace);
      expect(relay.length).toBeGreaterThan(10);
      expect(reads.length - relay.length).toBeGreaterThan(5);
      expect(foreignReads(run(), stage)).toEqual([]);
      // The same reads seen from another stage are all foreign: the two never share a metric.
      expect(foreignReads(run(), otherStage).filter((r) => r.namespace === METRICS.namespace)).toEqual(relay);
    });

    it("every function emits its metrics with this stage as the stage dimension", () => {
      const stages = stageOfEachFunction(run());
      expect(Object.keys(stages).length).toBeGreaterThanOrEqual(4);
      expect(new Set(Object.values(stages))).toEqual(new Set([stage]));
    });
  });
}
