import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { AlarmState } from "../ops/index.ts";

/** An alarm the stand-in reports: a metric alarm or a composite alarm, in its current state. */
export interface LocalAlarm {
  name: string;
  type: "MetricAlarm" | "CompositeAlarm";
  state: AlarmState;
}

/** A running CloudWatch API stand-in. */
export interface CloudWatchStandIn {
  /** `http://127.0.0.1:PORT`: give it to the SDK as `AWS_ENDPOINT_URL_CLOUDWATCH`. */
  url: string;
  /** DescribeAlarms calls received. */
  describeAlarmsCalls(): number;
  close(): Promise<void>;
}

/** The AWS JSON 1.0 target prefix of CloudWatch (`X-Amz-Target: GraniteServiceVersion20100801.<Op>`). */
const TARGET_PREFIX = "GraniteServiceVersion20100801.";
const REGION = "us-east-1";
const ACCOUNT = "000000000000";

/**
 * A small CloudWatch API stand-in that answers `DescribeAlarms` (AWS JSON 1.0, the protocol the SDK
 * speaks) with the alarms `alarms()` returns at the moment of the call: local mode backs it with its alarm
 * evaluator, so the real circuit breaker reads alarm states over the SDK exactly as in AWS. It filters by
 * `AlarmNames` and `AlarmTypes` (a metric alarm only by default, as CloudWatch does) and answers every
 * other operation with `UnknownOperationException`.
 */
export async function startCloudWatchStandIn(
  alarms: () => readonly LocalAlarm[],
  options: { port?: number } = {},
): Promise<CloudWatchStandIn> {
  let describeCalls = 0;
  const describe = (input: { AlarmNames?: string[]; AlarmTypes?: string[] }) => {
    describeCalls++;
    const names = input.AlarmNames ? new Set(input.AlarmNames) : undefined;
    const types = new Set(input.AlarmTypes ?? ["MetricAlarm"]);
    const matching = alarms().filter((alarm) => (!names || names.has(alarm.name)) && types.has(alarm.type));
    const shown = (alarm: LocalAlarm) => ({
      AlarmName: alarm.name,
      AlarmArn: `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:${alarm.name}`,
      StateValue: alarm.state,
    });
    return {
      MetricAlarms: matching.filter((alarm) => alarm.type === "MetricAlarm").map(shown),
      CompositeAlarms: matching.filter((alarm) => alarm.type === "CompositeAlarm").map(shown),
    };
  };

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const target = String(request.headers["x-amz-target"] ?? "");
      const reply = (status: number, body: unknown) => {
        response.writeHead(status, {
          "content-type": "application/x-amz-json-1.0",
          "x-amzn-requestid": randomUUID(),
        });
        response.end(JSON.stringify(body));
      };
      if (target !== `${TARGET_PREFIX}DescribeAlarms`) {
        reply(400, { __type: "UnknownOperationException", message: `Unsupported operation ${target}` });
        return;
      }
      try {
        const text = Buffer.concat(chunks).toString("utf8");
        reply(200, describe(text ? (JSON.parse(text) as Parameters<typeof describe>[0]) : {}));
      } catch (error) {
        reply(400, { __type: "InvalidParameterInput", message: String(error) });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    describeAlarmsCalls: () => describeCalls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
