/**
 * Strict reading of JSON text. `JSON.parse` (iterative in V8, so safe at any depth) stays the value
 * parser; this module adds one linear pass over the same text for what `JSON.parse` lets through: a
 * repeated key, which it resolves silently to the last value (an instruction with `"amount":"1.00"` then
 * `"amount":"1000.00"` would be paid as 1000.00), and nesting deep enough to overflow the stack of
 * whatever walks the value afterwards (`JSON.stringify`, a validator, a logger).
 *
 * The pass is an explicit-stack scanner of our own: the JSON libraries that report duplicate keys
 * (jsonc-parser, @humanwhocodes/momoa, json-dup-key-validator) parse by recursive descent and overflow
 * the stack themselves on a body nested 5,000 deep, and the iterative ones (@streamparser/json) do not
 * report duplicates.
 */

/**
 * Most levels of objects and arrays in a message. A valid order nests 4 deep
 * (`customerDefaults.<ref>.metadata.<key>`); the bound leaves room for mistakes to be reported as such.
 */
export const MAX_NESTING_DEPTH = 32;

/** A position inside a JSON value: object keys and array indexes from the root. */
export type JsonPath = (string | number)[];

/** What the scan found beyond what `JSON.parse` reports. */
export interface JsonStructure {
  /** Every key that repeats an earlier key of the same object, in text order. */
  duplicateKeys: JsonPath[];
  /** The first container opened beyond the depth bound; the scan stops there. */
  tooDeep: JsonPath | undefined;
  /**
   * The raw text of each member of a root object, by key (the first occurrence), trimmed: lets a caller
   * pass on a member verbatim instead of re-serialising it (which would drop duplicates and can overflow).
   */
  rootMembers: Map<string, string>;
}

interface ObjectFrame {
  kind: "object";
  keys: Set<string>;
  /** The key whose value is being read. */
  key: string | undefined;
  expectingKey: boolean;
}

interface ArrayFrame {
  kind: "array";
  index: number;
}

type Frame = ObjectFrame | ArrayFrame;

const QUOTE = 34;
const BACKSLASH = 92;

function position(frame: Frame): string | number {
  return frame.kind === "array" ? frame.index : (frame.key ?? "");
}

/**
 * Scans JSON text that `JSON.parse` has accepted (other text gives meaningless results). Linear in the
 * length of the text, with a stack no deeper than `maxDepth`.
 */
export function scanJsonStructure(text: string, maxDepth = MAX_NESTING_DEPTH): JsonStructure {
  const frames: Frame[] = [];
  const duplicateKeys: JsonPath[] = [];
  const rootMembers = new Map<string, string>();
  let memberStart = -1;
  const closeRootMember = (end: number) => {
    const root = frames[0];
    if (frames.length === 1 && root?.kind === "object" && root.key !== undefined && memberStart >= 0) {
      if (!rootMembers.has(root.key)) rootMembers.set(root.key, text.slice(memberStart, end).trim());
    }
    memberStart = -1;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let end = i + 1;
      while (end < text.length) {
        const d = text.charCodeAt(end);
        if (d === BACKSLASH) end += 2;
        else if (d === QUOTE) break;
        else end++;
      }
      const top = frames.at(-1);
      if (top?.kind === "object" && top.expectingKey) {
        const raw = text.slice(i + 1, end);
        const key = raw.includes("\\") ? (JSON.parse(`"${raw}"`) as string) : raw;
        if (top.keys.has(key)) duplicateKeys.push([...frames.slice(0, -1).map(position), key]);
        top.keys.add(key);
        top.key = key;
        top.expectingKey = false;
      }
      i = end;
      continue;
    }
    switch (text[i]) {
      case "{":
      case "[": {
        if (frames.length >= maxDepth) {
          return { duplicateKeys, tooDeep: frames.map(position), rootMembers };
        }
        frames.push(
          text[i] === "{"
            ? { kind: "object", keys: new Set(), key: undefined, expectingKey: true }
            : { kind: "array", index: 0 },
        );
        break;
      }
      case "}":
      case "]":
        if (frames.length === 1) closeRootMember(i);
        frames.pop();
        break;
      case ",": {
        if (frames.length === 1) closeRootMember(i);
        const top = frames.at(-1);
        if (top?.kind === "array") top.index++;
        else if (top) top.expectingKey = true;
        break;
      }
      case ":":
        if (frames.length === 1) memberStart = i + 1;
        break;
    }
  }
  return { duplicateKeys, tooDeep: undefined, rootMembers };
}
