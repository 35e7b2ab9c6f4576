/**
 * CPU by package of a V8 CPU profile (`node --cpu-prof`): self time of every sampled frame, grouped by the
 * npm package, the relay's own directory (lib/<module>), Node's internals, GC and idle.
 *
 *   npx node bench/profile-by-package.ts /tmp/prof/CPU.*.cpuprofile [--by-caller]
 *
 * `--by-caller` charges Node's internals and native code to the nearest package (or relay module) on the
 * stack that called them: what each package costs with the work it makes Node do.
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const file = process.argv[2];
if (!file) {
  console.error("usage: node bench/profile-by-package.ts PROFILE.cpuprofile");
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
const byCaller = process.argv.includes("--by-caller");

/** Where a frame's code lives. */
function groupOf({ functionName, url }: ProfileNode["callFrame"]): string {
  if (!url) return functionName.startsWith("(") ? functionName : "(native)";
  if (url.startsWith("node:")) return "node internals";
  const modules = url.lastIndexOf("/node_modules/");
  if (modules >= 0) {
    const [scope, name] = url.slice(modules + "/node_modules/".length).split("/");
    return scope!.startsWith("@") ? `${scope}/${name}` : scope!;
  }
  const lib = /\/(lib|bench|functions)\/([^/]+)/.exec(url);
  return lib ? `relay ${lib[1]}/${lib[2]!.replace(/\.ts$/, "")}` : url;
}

const totals = new Map<string, number>();
let all = 0;
profile.samples.forEach((id, i) => {
  const delta = profile.timeDeltas[i] ?? 0;
  let group = groupOf(byId.get(id)!.callFrame);
  if (byCaller && (group === "(native)" || group === "node internals")) {
    for (let at = parentOf.get(id); at !== undefined; at = parentOf.get(at)) {
      const caller = groupOf(byId.get(at)!.callFrame);
      if (caller !== "(native)" && caller !== "node internals" && caller !== "(root)") {
        group = `${caller} (+ node)`;
        break;
      }
    }
  }
  totals.set(group, (totals.get(group) ?? 0) + delta);
  all += delta;
});
const busy = all - (totals.get("(idle)") ?? 0);
console.log(`| where | self ms | share of busy |\n|---|---|---|`);
for (const [group, micros] of [...totals].sort((a, b) => b[1] - a[1])) {
  if (group === "(idle)") continue;
  if (micros / busy < 0.005) continue;
  console.log(`| ${group} | ${(micros / 1000).toFixed(0)} | ${((100 * micros) / busy).toFixed(1)}% |`);
}
console.log(`busy ${(busy / 1000).toFixed(0)} ms of ${(all / 1000).toFixed(0)} ms sampled`);
