/**
 * CPU by package of a V8 CPU profile: self time of every sampled frame, grouped by the npm package, the
 * relay's own directory (lib/<module>), Node's internals, GC and idle. `npm run bench -- --profile` prints
 * this table for the profile it takes; this script reads a saved one (or any `node --cpu-prof` profile).
 *
 *   npx node bench/profile-by-package.ts bench/results/TIMESTAMP.cpuprofile [--by-caller]
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

/**
 * The profile's busy time by package, as a Markdown table (groups under 0.5% left out), largest first.
 * `byCaller` charges Node's internals and native code to the package that called them.
 */
export function cpuByPackage(profile: Profile, { byCaller = false } = {}): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
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
  const lines = ["| where | self ms | share of busy |", "|---|---|---|"];
  for (const [group, micros] of [...totals].sort((a, b) => b[1] - a[1])) {
    if (group === "(idle)" || micros / busy < 0.005) continue;
    lines.push(`| ${group} | ${(micros / 1000).toFixed(0)} | ${((100 * micros) / busy).toFixed(1)}% |`);
  }
  lines.push(`busy ${(busy / 1000).toFixed(0)} ms of ${(all / 1000).toFixed(0)} ms sampled`);
  return lines.join("\n");
}

if (import.meta.main) {
  const file = process.argv[2];
  if (!file || file.startsWith("--")) {
    console.error("usage: npx node bench/profile-by-package.ts PROFILE.cpuprofile [--by-caller]");
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  console.log(cpuByPackage(profile, { byCaller: process.argv.includes("--by-caller") }));
}
