import { type CloudWatchClient, DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import type { BreakerPlan } from "../config/index.ts";
import type { AlarmReading } from "./circuit-breaker.ts";

/** The state of a CloudWatch alarm. */
export type AlarmState = "ALARM" | "OK" | "INSUFFICIENT_DATA";

/** Reads the current states of the alarms the circuit breaker decides on. */
export type AlarmStateReader = () => Promise<AlarmReading>;

const STATES: ReadonlySet<string> = new Set<AlarmState>(["ALARM", "OK", "INSUFFICIENT_DATA"]);

/**
 * The breaker's alarms as CloudWatch holds them now: one `DescribeAlarms` naming exactly the composite
 * "Imburse unavailable" alarm and the error-rate alarm (the function may describe those two and no other).
 * An alarm CloudWatch does not return fails the read: a breaker that cannot see its alarm must not guess.
 */
export function cloudWatchAlarmReader(
  cloudWatch: Pick<CloudWatchClient, "send">,
  alarms: BreakerPlan["alarms"],
): AlarmStateReader {
  return async () => {
    const answer = await cloudWatch.send(
      new DescribeAlarmsCommand({
        AlarmNames: [alarms.unavailable, alarms.errorRate],
        AlarmTypes: ["CompositeAlarm", "MetricAlarm"],
      }),
    );
    const found = new Map<string, string | undefined>(
      [...(answer.CompositeAlarms ?? []), ...(answer.MetricAlarms ?? [])].map((alarm) => [
        alarm.AlarmName ?? "",
        alarm.StateValue,
      ]),
    );
    const state = (name: string): AlarmState => {
      const value = found.get(name);
      if (value === undefined || !STATES.has(value)) {
        throw new Error(`CloudWatch returned no state for the alarm ${name}: the breaker cannot decide`);
      }
      return value as AlarmState;
    };
    return { unavailable: state(alarms.unavailable), errorRate: state(alarms.errorRate) };
  };
}
