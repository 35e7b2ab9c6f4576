import { setImmediate as nextTurn } from "node:timers/promises";
import cls, { type Namespace } from "cls-hooked";
import { afterEach, describe, expect, it } from "vitest";

// cls-hooked as patches/cls-hooked+4.2.2.patch re-implements it on AsyncLocalStorage: the API the X-Ray SDK
// uses, with cls-hooked's semantics.

const created: string[] = [];
afterEach(() => {
  for (const name of created.splice(0)) cls.destroyNamespace(name);
});

let serial = 0;
/** cls-hooked's namespace, with the method its type definitions lack. */
type PatchedNamespace = Namespace & { fromException(error: unknown): Record<string, unknown> | undefined };

function namespace(): PatchedNamespace {
  const name = `cls-hooked-test-${serial++}`;
  created.push(name);
  return cls.createNamespace(name) as PatchedNamespace;
}

describe("the patched cls-hooked namespace", () => {
  it("run: a child context that sees the enclosing one's values, kept across awaits, gone after", async () => {
    const ns = namespace();
    let seen: Promise<unknown[]> | undefined;
    ns.run(() => {
      ns.set("x", "outer");
      ns.run(() => {
        ns.set("y", "inner");
        seen = nextTurn().then(() => [ns.get("x"), ns.get("y")]);
      });
      expect(ns.get("y")).toBeUndefined();
    });
    expect(await seen).toEqual(["outer", "inner"]);
    expect(ns.get("x")).toBeUndefined();
    expect(() => ns.set("x", 1)).toThrow("No context available");
  });

  it("runPromise: the context lasts the promise; a rejection carries it", async () => {
    const ns = namespace();
    const value = await ns.runPromise(async () => {
      ns.set("x", 1);
      await nextTurn();
      return ns.get("x");
    });
    expect(value).toBe(1);
    const error = await ns
      .runPromise(async () => {
        ns.set("x", 2);
        throw new Error("boom");
      })
      .catch((caught: unknown) => caught);
    expect(ns.fromException(error)?.x).toBe(2);
    expect(() => ns.runPromise((() => undefined) as never)).toThrow("fn must return a promise");
  });

  it("bind: the function runs in the context active when it was bound", () => {
    const ns = namespace();
    const read = ns.runAndReturn(() => {
      ns.set("x", "bound");
      return ns.bind(() => ns.get("x"));
    });
    expect(ns.get("x")).toBeUndefined();
    expect(read()).toBe("bound");
  });

  it("enter outside any run sets the base context every later callback without a run sees", async () => {
    const ns = namespace();
    const base = ns.createContext();
    ns.enter(base);
    ns.set("segment", "facade");
    await nextTurn();
    expect(ns.get("segment")).toBe("facade");
    ns.run(() => expect(ns.get("segment")).toBe("facade"));
    ns.exit(base);
    expect(ns.get("segment")).toBeUndefined();
  });

  it("enter then exit inside a run restores the enclosing context", () => {
    const ns = namespace();
    ns.run(() => {
      ns.set("x", "outer");
      const inner = ns.createContext();
      ns.enter(inner);
      ns.set("x", "inner");
      expect(ns.get("x")).toBe("inner");
      ns.exit(inner);
      expect(ns.get("x")).toBe("outer");
    });
  });

  it("exit of a context never entered throws, as cls-hooked does", () => {
    const ns = namespace();
    expect(() => ns.exit(ns.createContext())).toThrow("context not currently entered");
  });
});
