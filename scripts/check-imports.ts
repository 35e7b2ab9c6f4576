/**
 * Module boundaries, checked by `npm run lint`: each folder of lib/ is a module whose `index.ts` is its public
 * API. Another module, another module's tests, functions/, bin/, bench/ and scripts/ import only
 * `lib/<module>/index.ts`; a module's own files and its own tests (`test/<module>/`) may import its internals.
 * The stacks (stacks/, sst.config.ts) import only lib/config, so deploying never loads runtime code. No two
 * modules import each other, directly or round a longer loop.
 *
 *   node scripts/check-imports.ts [root]   # prints each violation with what to do, exits 1 if there is one
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

/** One import of a lib/ file, as written. */
export interface ImportEdge {
  /** The importing file, relative to the repository root with `/` separators. */
  from: string;
  /** The imported file, relative to the repository root. */
  to: string;
  line: number;
}

/** A rule broken, with what to do about it. */
export interface Violation {
  file: string;
  line: number;
  message: string;
}

/**
 * Imports that cross a module's boundary on purpose, with why. lib/config holds the defaults the stacks
 * read, among them Imburse's hosts; importing lib/imburse/index.ts would make the stacks load the HTTP
 * client, so config reads the hosts' one definition from the constants-only file.
 */
export const ALLOWED_INTERNAL_IMPORTS: readonly { from: string; to: string; why: string }[] = [
  {
    from: "lib/config/",
    to: "lib/imburse/urls.ts",
    why: "the stacks read config; lib/imburse/index.ts would load the HTTP client",
  },
];

const MOCK_CALL = /\bvi\.(?:mock|doMock|importActual)\(\s*["'`]([^"'`]+)["'`]/g;

/** Every relative import (static, dynamic, `typeof import`, re-export, vi.mock) of one source file. */
export function importsOf(file: string, source: string): ImportEdge[] {
  const lineOf = (pos: number) => source.slice(0, pos).split("\n").length;
  const found = ts
    .preProcessFile(source, true, true)
    .importedFiles.map((ref) => ({ specifier: ref.fileName, pos: ref.pos }));
  for (const match of source.matchAll(MOCK_CALL)) found.push({ specifier: match[1] ?? "", pos: match.index });
  return found
    .filter(({ specifier }) => specifier.startsWith("."))
    .map(({ specifier, pos }) => ({
      from: file,
      to: path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier)),
      line: lineOf(pos),
    }));
}

/** The lib/ module a file belongs to (`lib/<module>/…`), if any. */
function moduleOf(file: string): string | undefined {
  const [top, name, ...rest] = file.split("/");
  return top === "lib" && name !== undefined && rest.length > 0 ? name : undefined;
}

/** The module whose tests a file is (`test/<module>/…`), if `<module>` is a lib/ module. */
function testedModuleOf(file: string, modules: ReadonlySet<string>): string | undefined {
  const [top, name, ...rest] = file.split("/");
  return top === "test" && name !== undefined && rest.length > 0 && modules.has(name) ? name : undefined;
}

const isStacks = (file: string) => file.startsWith("stacks/") || file === "sst.config.ts";

/** Imports that reach past a module's index.ts, and stacks that load more than lib/config. */
export function boundaryViolations(edges: readonly ImportEdge[], modules: ReadonlySet<string>): Violation[] {
  const violations: Violation[] = [];
  for (const edge of edges) {
    const target = moduleOf(edge.to);
    if (target === undefined) continue;
    const index = `lib/${target}/index.ts`;
    if (isStacks(edge.from) && target !== "config") {
      violations.push({
        file: edge.from,
        line: edge.line,
        message: `imports ${edge.to}: the stacks import only lib/config/index.ts, so deploying never loads runtime code; move the name it needs into lib/config`,
      });
      continue;
    }
    const own = moduleOf(edge.from) ?? testedModuleOf(edge.from, modules);
    if (own === target || edge.to === index) continue;
    if (ALLOWED_INTERNAL_IMPORTS.some((a) => edge.from.startsWith(a.from) && edge.to === a.to)) continue;
    violations.push({
      file: edge.from,
      line: edge.line,
      message: `imports ${edge.to}, an internal file of lib/${target}: import it from ${index} (export it there if it is part of the module's API)`,
    });
  }
  return violations;
}

/** Loops among modules: lib/a imports lib/b and lib/b, directly or through others, imports lib/a. */
export function moduleCycles(edges: readonly ImportEdge[]): Violation[] {
  const graph = new Map<string, Map<string, ImportEdge>>();
  for (const edge of edges) {
    const from = moduleOf(edge.from);
    const to = moduleOf(edge.to);
    if (from === undefined || to === undefined || from === to) continue;
    const out = graph.get(from) ?? new Map<string, ImportEdge>();
    if (!out.has(to)) out.set(to, edge);
    graph.set(from, out);
  }
  const cycles: Violation[] = [];
  const seen = new Set<string>();
  const done = new Set<string>();
  const visit = (module: string, trail: string[]) => {
    if (done.has(module)) return;
    const at = trail.indexOf(module);
    if (at >= 0) {
      const loop = [...trail.slice(at), module];
      const key = [...loop.slice(0, -1)].sort().join(",");
      if (seen.has(key)) return;
      seen.add(key);
      const steps = loop.slice(0, -1).map((m, i) => graph.get(m)?.get(loop[i + 1] ?? "")) as ImportEdge[];
      const first = steps[0] as ImportEdge;
      cycles.push({
        file: first.from,
        line: first.line,
        message: `modules import each other: ${loop.map((m) => `lib/${m}`).join(" → ")} (${steps
          .map((s) => `${s.from}:${s.line} → ${s.to}`)
          .join("; ")}); move what they share into the lower one`,
      });
      return;
    }
    for (const next of graph.get(module)?.keys() ?? []) visit(next, [...trail, module]);
    if (trail.length === 0) done.add(module);
  };
  for (const module of [...graph.keys()].sort()) visit(module, []);
  return cycles;
}

const SOURCE_FOLDERS = ["lib", "functions", "bin", "stacks", "bench", "test", "scripts"];

/** The TypeScript files the rules apply to, relative to `root`. */
export function sourceFiles(root: string): string[] {
  const files = readdirSync(root).filter((name) => name.endsWith(".ts"));
  for (const folder of SOURCE_FOLDERS) {
    const entries = readdirSync(path.join(root, folder), { recursive: true, withFileTypes: true });
    for (const entry of entries) {
      if (!entry.isFile() || !entry.name.endsWith(".ts")) continue;
      files.push(path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join("/"));
    }
  }
  return files.sort();
}

/** Every violation in the repository at `root`. */
export function checkImports(root: string): Violation[] {
  const modules = new Set(
    readdirSync(path.join(root, "lib"), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name),
  );
  const edges = sourceFiles(root).flatMap((file) =>
    importsOf(file, readFileSync(path.join(root, file), "utf8")),
  );
  return [...boundaryViolations(edges, modules), ...moduleCycles(edges)];
}

if (import.meta.main) {
  const violations = checkImports(path.resolve(process.argv[2] ?? path.join(import.meta.dirname, "..")));
  for (const v of violations) console.error(`${v.file}:${v.line} ${v.message}`);
  if (violations.length > 0) {
    console.error(`\n${violations.length} module boundary violation(s); see scripts/check-imports.ts`);
    process.exitCode = 1;
  }
}
