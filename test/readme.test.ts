import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DEFAULTS, MESSAGE_ATTRIBUTES, RESOURCE_SETTINGS, SETTINGS } from "../lib/config/index.ts";
import { LINE_OUTCOMES } from "../lib/local/index.ts";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const localMode = readFileSync(new URL("../docs/local-mode.md", import.meta.url), "utf8");

/** The first fenced block after a heading. */
function blockAfter(text: string, heading: string): string {
  const rest = text.slice(text.indexOf(heading));
  return /```\w*\n([\s\S]*?)```/.exec(rest)?.[1] ?? "";
}

describe("README", () => {
  const settingRows = readme.split("\n").filter((line) => /^\| `RELAY_[A-Z_]+` \|/.test(line));

  it.each(Object.entries(SETTINGS))(
    "documents %s with its variable, default and meaning",
    (name, setting) => {
      const row = settingRows.find((line) => line.startsWith(`| \`${setting.env}\` |`));
      expect(row, `${setting.env} is missing from the configuration table`).toBeDefined();
      const documentedDefault = row!.split("|")[2]!.trim().replaceAll("`", "");
      const meaning = row!.split(" | ").slice(2).join(" | ").replace(/ \|$/, "");
      expect(
        meaning,
        `the README's meaning of ${setting.env} is SETTINGS.${name}.doc (lib/config/settings.ts)`,
      ).toBe(setting.doc);
      const expected = DEFAULTS[name as keyof typeof DEFAULTS];
      const resource = (RESOURCE_SETTINGS as readonly string[]).includes(name);
      expect(documentedDefault).toBe(
        expected !== undefined ? String(expected) : resource ? "set by the stacks" : "none",
      );
    },
  );

  it("documents no setting the relay does not have", () => {
    const documented = settingRows.map((line) => line.split("`")[1]);
    expect(documented).toEqual(Object.values(SETTINGS).map((setting) => setting.env));
  });

  it.each(Object.values(MESSAGE_ATTRIBUTES))("documents the message attribute %s", (attribute) => {
    expect(readme).toContain(`\`${attribute}\``);
  });

  it("lists every top-level folder of the repository in its layout table", () => {
    const folders = new Set(
      execFileSync("git", ["ls-files"], { cwd: new URL("..", import.meta.url), encoding: "utf8" })
        .split("\n")
        .filter((path) => path.includes("/"))
        .map((path) => path.split("/")[0]),
    );
    const layout = readme.slice(readme.indexOf("## Layout"), readme.indexOf("## Choices"));
    const listed = new Set([...layout.matchAll(/^\| `([^/`]+)\//gm)].map((match) => match[1]));
    expect([...folders].filter((folder) => !listed.has(folder))).toEqual([]);
  });

  it("lists exactly the folders of lib/ in its layout table", () => {
    const folders = new Set(
      execFileSync("git", ["ls-files", "lib"], { cwd: new URL("..", import.meta.url), encoding: "utf8" })
        .split("\n")
        .filter((path) => path.split("/").length > 2)
        .map((path) => path.split("/")[1]),
    );
    const layout = readme.slice(readme.indexOf("## Layout"), readme.indexOf("## Choices"));
    const listed = new Set([...layout.matchAll(/^\| `lib\/([^/`]+)\/`/gm)].map((match) => match[1]));
    expect([...listed].sort()).toEqual([...folders].sort());
  });
});

describe("docs/local-mode.md", () => {
  it("shows the report its example orders file gets", () => {
    const lines = blockAfter(localMode, "### Orders file")
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line.replaceAll("[ … ]", "[]")) as { body: unknown; correlationId?: string });
    const report = JSON.parse(blockAfter(localMode, "### Report file")) as {
      orders: Array<{
        line: number;
        orderRef: string | null;
        outcome: string;
        correlationId: string;
        messageId: string;
        duplicateOf?: number;
      }>;
      totals: Record<string, number>;
    };
    expect(report.orders.map((entry) => entry.line)).toEqual(lines.map((_, index) => index + 1));
    report.orders.forEach((entry, index) => {
      const line = lines[index]!;
      const body = line.body as { orderRef?: string } | string;
      expect(entry.orderRef).toBe(typeof body === "object" ? (body.orderRef ?? null) : null);
      // Without a correlation id, the message id is the correlation id.
      expect(entry.correlationId).toBe(line.correlationId ?? entry.messageId);
      if (entry.duplicateOf !== undefined) {
        expect(report.orders[entry.duplicateOf - 1]?.orderRef).toBe(entry.orderRef);
      }
    });
    const counted: Record<string, number> = { lines: report.orders.length };
    for (const outcome of LINE_OUTCOMES)
      counted[outcome] = report.orders.filter((e) => e.outcome === outcome).length;
    expect(report.totals).toEqual(counted);
  });
});
