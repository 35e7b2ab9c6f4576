import { describe, expect, it } from "vitest";
import { FaultController, type FaultRequest } from "../../lib/simulator/faults.ts";
import { FaultSpecError, parseFaultSpec } from "../../lib/simulator/index.ts";
import { mulberry32 } from "../../lib/simulator/random.ts";

describe("parseFaultSpec", () => {
  it("parses the CLI example into rules", () => {
    expect(
      parseFaultSpec(
        "create:429=0.1,create:503=0.05,create:timeout=0.02,create:reset=0.02,token:500=0.01,latency=20-200",
      ),
    ).toEqual([
      { route: "create", kind: 429, rate: 0.1 },
      { route: "create", kind: 503, rate: 0.05 },
      { route: "create", kind: "timeout", rate: 0.02 },
      { route: "create", kind: "reset", rate: 0.02 },
      { route: "token", kind: 500, rate: 0.01 },
      { kind: "latency", latencyMs: { min: 20, max: 200 } },
    ]);
  });

  it("parses orderRef matchers and options", () => {
    expect(
      parseFaultSpec(
        " create[ref^=THROTTLE-]:429:retry-after=1:times=2 , get[ref=ORDER.7]:400:code=ORDER_NOT_FOUND:times=1",
      ),
    ).toEqual([
      { route: "create", orderRefPrefix: "THROTTLE-", kind: 429, retryAfter: 1, times: 2 },
      { route: "get", orderRef: "ORDER.7", kind: 400, errorCode: "ORDER_NOT_FOUND", times: 1 },
    ]);
    expect(parseFaultSpec("*:latency=50:rate=0.5,create:reset-on-reused-socket,429=1:retry-after=0")).toEqual(
      [
        { route: "*", kind: "latency", latencyMs: 50, rate: 0.5 },
        { route: "create", kind: "reset-on-reused-socket" },
        { kind: 429, rate: 1, retryAfter: 0 },
      ],
    );
    expect(parseFaultSpec("create:503:rate=.25")).toEqual([{ route: "create", kind: 503, rate: 0.25 }]);
  });

  it("reads an empty spec as no rules", () => {
    expect(parseFaultSpec("")).toEqual([]);
    expect(parseFaultSpec("  ")).toEqual([]);
  });

  it.each([
    ["create:42x=0.1", /unknown fault kind "42x"/],
    ["create:399", /unknown fault kind "399"/],
    ["create:600", /unknown fault kind "600"/],
    ["creat:429", /unknown fault kind "creat"/],
    ["create:429=1.5", /rate must be a probability/],
    ["create:429=abc", /"abc" is not a probability/],
    ["create:429=0.1:rate=0.2", /rate given twice/],
    ["create:429:times=2:times=3", /times given twice/],
    ["create:429:times=0", /times must be a positive integer/],
    ["create:429:times=-1", /times must be a number/],
    ["create:429:retry-after=1.5", /retry-after must be a number/],
    ["create:429:foo=1", /unknown option "foo=1"/],
    ["create:429:code=lower_case", /code must be UPPER_SNAKE_CASE/],
    ["create:timeout:retry-after=3", /retry-after and code apply only to status faults/],
    ["latency", /latency needs a duration/],
    ["latency=fast", /latency needs a duration/],
    ["latency=200-20", /MIN ≤ MAX/],
    ["token[ref^=X]:500", /token requests carry no orderRef/],
    ["create[order=X]:500", /bad target "create\[order=X\]"/],
    ["create[ref^=]:500", /orderRef matcher may only contain/],
    ["create", /missing fault kind/],
    ["create:", /missing fault kind/],
    ["create:429,,create:500", /empty rule/],
  ])("refuses %s with a clear message", (spec, message) => {
    expect(() => parseFaultSpec(spec)).toThrow(FaultSpecError);
    expect(() => parseFaultSpec(spec)).toThrow(message);
  });

  it("names the rule at fault", () => {
    expect(() => parseFaultSpec("create:503=0.1,get:7")).toThrow('Invalid fault rule "get:7"');
  });
});

describe("FaultController", () => {
  const create = (orderRef?: string): FaultRequest => ({ route: "create", orderRef, reusedSocket: false });

  it("counts times per orderRef for matched rules and in total otherwise", () => {
    const controller = new FaultController("create[ref^=A-]:503:times=1,create:500:times=2", mulberry32(1));
    const kinds = ["A-1", "A-1", "A-2", "B-1", "A-3"].map(
      (ref) => controller.decide(create(ref)).fault?.kind,
    );
    expect(kinds).toEqual([503, 500, 503, 500, 503]);
    expect(controller.decide(create("B-2")).fault).toBeUndefined();
  });

  it("uses queued faults before the rules, in order, and combines one latency with one fault", () => {
    const controller = new FaultController("create:503,create:latency=7", mulberry32(1));
    controller.enqueue({ route: "create", kind: "reset" });
    controller.enqueue({ route: "create", kind: 429, retryAfter: 2 });
    controller.enqueue({ route: "get", kind: 500 });
    expect(controller.decide(create("X"))).toEqual({ latencyMs: 7, fault: { kind: "reset", from: "queue" } });
    expect(controller.decide(create("X")).fault).toEqual({
      kind: 429,
      retryAfter: 2,
      errorCode: "TOO_MANY_REQUESTS",
      from: "queue",
    });
    expect(controller.decide(create("X")).fault).toMatchObject({ kind: 503, from: "rules" });
    expect(controller.decide({ route: "get", orderRef: "X", reusedSocket: false }).fault?.kind).toBe(500);
  });

  it("draws the same decisions from the same seed", () => {
    const decisions = (seed: number) => {
      const controller = new FaultController(
        "create:503=0.3,create:reset=0.3,latency=0-100",
        mulberry32(seed),
      );
      return Array.from({ length: 50 }, () => controller.decide(create("X")));
    };
    const first = decisions(5);
    expect(decisions(5)).toEqual(first);
    expect(decisions(6)).not.toEqual(first);
    const kinds = new Set(first.map((decision) => decision.fault?.kind));
    expect(kinds).toEqual(new Set([503, "reset", undefined]));
    expect(first.every(({ latencyMs }) => latencyMs >= 0 && latencyMs <= 100)).toBe(true);
    expect(new Set(first.map(({ latencyMs }) => latencyMs)).size).toBeGreaterThan(10);
  });
});
