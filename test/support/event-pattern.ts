/**
 * The part of EventBridge's event-pattern language the docs use, to match a documented pattern against the
 * events the relay emits: exact values (a list of alternatives), `prefix`, `exists`, `anything-but` and
 * nested objects. An event field that is an array matches when one of its elements does. Any other
 * operator throws, so a pattern the matcher does not understand cannot pass by accident.
 */
export function matchesEventPattern(pattern: unknown, event: unknown): boolean {
  if (!isObject(pattern)) throw new Error("an event pattern is a JSON object");
  return Object.entries(pattern).every(([key, rule]) => {
    const value = isObject(event) ? event[key] : undefined;
    if (isObject(rule)) return isObject(value) && matchesEventPattern(rule, value);
    if (!Array.isArray(rule)) throw new Error(`the pattern for ${key} must be an object or a list`);
    const present = Object.hasOwn(isObject(event) ? event : {}, key);
    return rule.some((alternative) => matchesValue(alternative, value, present));
  });
}

function matchesValue(alternative: unknown, value: unknown, present: boolean): boolean {
  if (isObject(alternative)) {
    const [operator, operand] = Object.entries(alternative)[0] ?? [];
    switch (operator) {
      case "exists":
        return operand === present;
      case "prefix":
        return values(value).some((v) => typeof v === "string" && v.startsWith(String(operand)));
      case "anything-but": {
        const refused = Array.isArray(operand) ? operand : [operand];
        return present && values(value).every((v) => !refused.includes(v));
      }
      default:
        throw new Error(`event-pattern operator ${String(operator)} is not supported by this matcher`);
    }
  }
  return present && values(value).some((v) => v === alternative);
}

function values(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The JSON code block that follows `<!-- marker -->` in a Markdown text. */
export function jsonBlockAfter(markdown: string, marker: string): unknown {
  const start = markdown.indexOf(`<!-- ${marker} -->`);
  if (start < 0) throw new Error(`no <!-- ${marker} --> in the document`);
  const block = /```json\n([\s\S]*?)\n```/.exec(markdown.slice(start));
  if (!block) throw new Error(`no JSON block after <!-- ${marker} -->`);
  return JSON.parse(block[1]!);
}
