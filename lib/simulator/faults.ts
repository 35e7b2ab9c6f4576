import { errorCodeForStatus } from "./errors.ts";
import type { RandomSource } from "./random.ts";
import { REF_CHARACTERS } from "./validation.ts";

/** The routes faults can target: the token exchange, create order and get order. */
export type FaultRoute = "token" | "create" | "get";

/**
 * What a fault does:
 * - an HTTP status (400–599, e.g. 429, 503): answer it with the Imburse error body instead of handling
 *   the request (nothing is created);
 * - `latency`: wait before handling the request (combines with any other fault);
 * - `timeout`: handle the request (create stores the order) but never answer; the socket stays open
 *   until the client gives up or the simulator closes;
 * - `reset`: destroy the connection before handling anything (create stores nothing);
 * - `reset-on-reused-socket`: `reset`, but only for a request on a kept-alive socket that already
 *   carried one, as a pooled socket that died during a Lambda freeze would behave.
 */
export type FaultKind = number | "latency" | "timeout" | "reset" | "reset-on-reused-socket";

/** One fault rule; build it in code or with {@link parseFaultSpec}. */
export interface FaultRule {
  /** The route it applies to; `*` or absent for every route. */
  route?: FaultRoute | "*";
  kind: FaultKind;
  /** Probability in [0, 1] that a matching request gets the fault (default 1), drawn from the seeded PRNG. */
  rate?: number;
  /** Status faults: send `Retry-After` with this many seconds (none by default). */
  retryAfter?: number;
  /** Status faults: the `errorCode` of the body (default from the status, e.g. `TOO_MANY_REQUESTS`). */
  errorCode?: string;
  /** Latency faults (required): milliseconds, fixed or drawn uniformly from [min, max]. */
  latencyMs?: number | { min: number; max: number };
  /** Apply at most this many times: per orderRef when the rule matches an orderRef, else in total. */
  times?: number;
  /** Only requests for exactly this orderRef (create: the body's; get: the path's). */
  orderRef?: string;
  /** Only requests for orderRefs starting with this prefix. */
  orderRefPrefix?: string;
}

/** A one-shot fault for {@link FaultInjector.enqueue}: it applies to the next `times` (default 1) matching requests. */
export type QueuedFault = Omit<FaultRule, "route" | "rate"> & { route: FaultRoute };

/** The fault a request got, as the simulator records it. */
export interface AppliedFault {
  kind: Exclude<FaultKind, "latency">;
  retryAfter?: number;
  errorCode?: string;
  /** A queued one-shot fault, or one of the rules. */
  from: "queue" | "rules";
}

/** What the server must do with one request. */
export interface FaultDecision {
  /** Delay before anything else; 0 for none. */
  latencyMs: number;
  fault?: AppliedFault;
}

/** The request facts faults match on. */
export interface FaultRequest {
  route: FaultRoute;
  orderRef?: string | undefined;
  /** The request arrived on a keep-alive socket that already carried a request. */
  reusedSocket: boolean;
}

/** Thrown for a fault rule or spec that cannot be used; the message names the rule and the problem. */
export class FaultSpecError extends Error {
  override readonly name = "FaultSpecError";
}

/** The programmatic fault API of a running simulator. */
export interface FaultInjector {
  /** Queues a one-shot fault, used before the rules by the next matching request(s). */
  enqueue(fault: QueuedFault): void;
  /** Replaces the rules (a list or a spec string) and restarts their `times` counters. */
  set(rules: readonly FaultRule[] | string): void;
  /** Removes every rule and queued fault. */
  clear(): void;
  /** The current rules. */
  readonly rules: readonly FaultRule[];
}

const ROUTES: readonly string[] = ["token", "create", "get", "*"];
const NAMED_KINDS: readonly string[] = ["latency", "timeout", "reset", "reset-on-reused-socket"];
const ERROR_CODE = /^[A-Z][A-Z0-9_]*$/;

const isNonNegativeInteger = (value: unknown): value is number =>
  Number.isSafeInteger(value) && Number(value) >= 0;

function latencyRange(rule: FaultRule): { min: number; max: number } | undefined {
  return typeof rule.latencyMs === "number" ? { min: rule.latencyMs, max: rule.latencyMs } : rule.latencyMs;
}

function problemOf(rule: FaultRule): string | undefined {
  const isStatus = typeof rule.kind === "number";
  const range = latencyRange(rule);
  const ref = rule.orderRef ?? rule.orderRefPrefix;
  const checks: [broken: boolean, problem: string][] = [
    [rule.route !== undefined && !ROUTES.includes(rule.route), `unknown route "${rule.route}"`],
    [
      isStatus
        ? !(Number.isInteger(rule.kind) && Number(rule.kind) >= 400 && Number(rule.kind) <= 599)
        : !NAMED_KINDS.includes(String(rule.kind)),
      `unknown fault kind "${rule.kind}" (expected a status 400–599, latency, timeout, reset or reset-on-reused-socket)`,
    ],
    [
      rule.rate !== undefined && !(rule.rate >= 0 && rule.rate <= 1),
      "rate must be a probability between 0 and 1",
    ],
    [
      !isStatus && (rule.retryAfter !== undefined || rule.errorCode !== undefined),
      "retry-after and code apply only to status faults",
    ],
    [
      rule.retryAfter !== undefined && !isNonNegativeInteger(rule.retryAfter),
      "retry-after must be whole seconds",
    ],
    [rule.errorCode !== undefined && !ERROR_CODE.test(rule.errorCode), "code must be UPPER_SNAKE_CASE"],
    [
      rule.kind === "latency" && range === undefined,
      "latency needs a duration in ms, e.g. latency=50 or latency=20-200",
    ],
    [rule.kind !== "latency" && range !== undefined, "only latency faults take a duration"],
    [
      range !== undefined &&
        !(isNonNegativeInteger(range.min) && isNonNegativeInteger(range.max) && range.min <= range.max),
      "latency must be whole milliseconds, or a range MIN-MAX with MIN ≤ MAX",
    ],
    [
      rule.times !== undefined && !(Number.isSafeInteger(rule.times) && rule.times > 0),
      "times must be a positive integer",
    ],
    [
      rule.orderRef !== undefined && rule.orderRefPrefix !== undefined,
      "give orderRef or orderRefPrefix, not both",
    ],
    [
      ref !== undefined && !REF_CHARACTERS.test(ref),
      "an orderRef matcher may only contain letters, digits, '.', '_' and '-'",
    ],
    [ref !== undefined && rule.route === "token", "token requests carry no orderRef to match"],
  ];
  return checks.find(([broken]) => broken)?.[1];
}

/** Throws a {@link FaultSpecError} when the rule cannot be used. */
function checkFaultRule(rule: FaultRule, text = JSON.stringify(rule)): void {
  const problem = problemOf(rule);
  if (problem) throw new FaultSpecError(`Invalid fault rule ${text}: ${problem}`);
}

const TARGET = /^(token|create|get|\*)(?:\[ref(\^?=)([^\]]*)\])?$/;
const KIND = /^([a-z0-9-]+)(?:=(.*))?$/;
const OPTION = /^(retry-after|code|times|rate)=(.*)$/;
const DECIMAL = /^(?:\d+(?:\.\d+)?|\.\d+)$/;
const INTEGER = /^\d+$/;
const LATENCY = /^(\d+)(?:-(\d+))?$/;

function parseRule(text: string): FaultRule {
  const fail = (problem: string): never => {
    throw new FaultSpecError(`Invalid fault rule "${text}": ${problem}`);
  };
  const parts = text.split(":").map((part) => part.trim());
  const target = TARGET.exec(parts[0] ?? "");
  if (target) {
    parts.shift();
  } else if (parts[0]?.includes("[")) {
    fail(`bad target "${parts[0]}" (expected e.g. create[ref^=PREFIX] or get[ref=REF])`);
  }
  const [, name = "", value] = KIND.exec(parts.shift() ?? "") ?? fail("missing fault kind");
  const isStatus = /^\d{3}$/.test(name);
  if (!isStatus && !NAMED_KINDS.includes(name)) {
    fail(`unknown fault kind "${name}" (a rule is [token|create|get|*[matcher]:]KIND[=VALUE][:OPTION...])`);
  }
  const rule: FaultRule = { kind: isStatus ? Number(name) : (name as FaultKind) };
  if (target?.[1]) rule.route = target[1] as FaultRoute | "*";
  if (target?.[2] === "=") rule.orderRef = target[3];
  if (target?.[2] === "^=") rule.orderRefPrefix = target[3];
  if (rule.kind === "latency") {
    const [, min, max] =
      LATENCY.exec(value ?? "") ?? fail("latency needs a duration in ms, e.g. latency=50 or latency=20-200");
    rule.latencyMs = max === undefined ? Number(min) : { min: Number(min), max: Number(max) };
  } else if (value !== undefined) {
    if (!DECIMAL.test(value)) fail(`"${value}" is not a probability between 0 and 1`);
    rule.rate = Number(value);
  }
  const seen = new Set<string>(rule.rate === undefined ? [] : ["rate"]);
  for (const part of parts) {
    const [, key = "", option = ""] =
      OPTION.exec(part) ?? fail(`unknown option "${part}" (expected retry-after=, code=, times= or rate=)`);
    if (seen.has(key)) fail(`${key} given twice`);
    seen.add(key);
    if (key === "code") {
      rule.errorCode = option;
      continue;
    }
    if (!(key === "rate" ? DECIMAL : INTEGER).test(option)) fail(`${key} must be a number, not "${option}"`);
    if (key === "rate") rule.rate = Number(option);
    if (key === "times") rule.times = Number(option);
    if (key === "retry-after") rule.retryAfter = Number(option);
  }
  checkFaultRule(rule, `"${text}"`);
  return rule;
}

/**
 * Parses a fault spec, as the `--faults` flag takes it: comma-separated rules, an empty spec for none.
 *
 * ```text
 * rule    = [target ":"] kind ["=" value] *(":" option)
 * target  = route ["[ref=" REF "]" | "[ref^=" PREFIX "]"]      route: token | create | get | * (default *)
 * kind    = STATUS (400–599) | timeout | reset | reset-on-reused-socket | latency
 * value   = probability in [0, 1], default 1; for latency the delay in ms: MS or MIN-MAX (required)
 * option  = retry-after=SECONDS | code=ERROR_CODE | times=N | rate=PROBABILITY
 * ```
 *
 * Examples:
 * - `create:429=0.1:retry-after=3` throttles 10 % of creates, asking for a 3 s wait;
 * - `create:503=0.05,create:timeout=0.02,create:reset=0.02,token:500=0.01,latency=20-200`;
 * - `create[ref^=THROTTLE-]:429:retry-after=1:times=2` answers 429 to the first two creates of each
 *   order whose ref starts with `THROTTLE-`, then lets it through;
 * - `get[ref=ORDER-7]:400:code=ORDER_NOT_FOUND:times=1`, `create:reset-on-reused-socket`.
 *
 * @throws FaultSpecError naming the rule and what is wrong with it.
 */
export function parseFaultSpec(spec: string): FaultRule[] {
  if (spec.trim() === "") return [];
  return spec.split(",").map((text) => {
    if (text.trim() === "") throw new FaultSpecError(`Invalid fault spec "${spec}": empty rule`);
    return parseRule(text.trim());
  });
}

interface RuleState {
  rule: FaultRule;
  /** Applications so far, by orderRef for orderRef-matched rules, else under "". */
  used: Map<string, number>;
}

interface QueueEntry {
  fault: QueuedFault;
  remaining: number;
}

function matches(rule: FaultRule, request: FaultRequest): boolean {
  if (rule.route !== undefined && rule.route !== "*" && rule.route !== request.route) return false;
  if (rule.orderRef !== undefined && request.orderRef !== rule.orderRef) return false;
  if (rule.orderRefPrefix !== undefined && !request.orderRef?.startsWith(rule.orderRefPrefix)) return false;
  return rule.kind !== "reset-on-reused-socket" || request.reusedSocket;
}

function applied(rule: FaultRule, from: AppliedFault["from"]): AppliedFault {
  const kind = rule.kind as AppliedFault["kind"];
  if (typeof kind !== "number") return { kind, from };
  const fault: AppliedFault = { kind, errorCode: rule.errorCode ?? errorCodeForStatus(kind), from };
  if (rule.retryAfter !== undefined) fault.retryAfter = rule.retryAfter;
  return fault;
}

/**
 * Decides the faults of each request: queued one-shot faults first (in order), then the rules (in
 * order). At most one latency and one other fault apply. Rates and latency ranges draw from the
 * injected seeded random source, so the same seed and request sequence give the same faults.
 */
export class FaultController implements FaultInjector {
  #rules: RuleState[] = [];
  #queue: QueueEntry[] = [];
  #random: RandomSource;

  constructor(rules: readonly FaultRule[] | string, random: RandomSource) {
    this.#random = random;
    this.set(rules);
  }

  get rules(): readonly FaultRule[] {
    return this.#rules.map((state) => ({ ...state.rule }));
  }

  enqueue(fault: QueuedFault): void {
    checkFaultRule(fault);
    this.#queue.push({ fault: { ...fault }, remaining: fault.times ?? 1 });
  }

  set(rules: readonly FaultRule[] | string): void {
    const list = typeof rules === "string" ? parseFaultSpec(rules) : rules;
    for (const rule of list) checkFaultRule(rule);
    this.#rules = list.map((rule) => ({ rule: { ...rule }, used: new Map() }));
  }

  clear(): void {
    this.#rules = [];
    this.#queue = [];
  }

  /** Back to the given rules with an empty queue and a fresh random source (the simulator's reset). */
  restore(rules: readonly FaultRule[], random: RandomSource): void {
    this.#queue = [];
    this.#random = random;
    this.set(rules);
  }

  decide(request: FaultRequest): FaultDecision {
    const decision: FaultDecision = { latencyMs: 0 };
    let latencyChosen = false;
    const wants = (rule: FaultRule) =>
      rule.kind === "latency" ? !latencyChosen : decision.fault === undefined;
    const apply = (rule: FaultRule, from: AppliedFault["from"]) => {
      if (rule.kind !== "latency") {
        decision.fault = applied(rule, from);
        return;
      }
      latencyChosen = true;
      const range = latencyRange(rule);
      if (!range) return;
      // A fixed latency draws nothing, so adding one leaves the other rules' draws unchanged.
      decision.latencyMs =
        range.max > range.min
          ? range.min + Math.floor(this.#random() * (range.max - range.min + 1))
          : range.min;
    };
    for (const entry of this.#queue) {
      if (!wants(entry.fault) || !matches(entry.fault, request)) continue;
      entry.remaining -= 1;
      apply(entry.fault, "queue");
    }
    this.#queue = this.#queue.filter((entry) => entry.remaining > 0);
    for (const { rule, used } of this.#rules) {
      if (!wants(rule) || !matches(rule, request)) continue;
      const key =
        rule.orderRef !== undefined || rule.orderRefPrefix !== undefined ? (request.orderRef ?? "") : "";
      const count = used.get(key) ?? 0;
      if (rule.times !== undefined && count >= rule.times) continue;
      if (rule.rate !== undefined && rule.rate < 1 && this.#random() >= rule.rate) continue;
      used.set(key, count + 1);
      apply(rule, "rules");
    }
    return decision;
  }
}
