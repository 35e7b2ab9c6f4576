import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { MESSAGE_ATTRIBUTES } from "../lib/config/names.ts";
import { DEFAULTS, SETTINGS } from "../lib/config/settings.ts";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");

describe("README", () => {
  it.each(Object.entries(SETTINGS))("documents %s with its variable and default", (name, setting) => {
    const row = readme.split("\n").find((line) => line.startsWith(`| \`${setting.env}\` |`));
    expect(row, `${setting.env} is missing from the configuration table`).toBeDefined();
    const documentedDefault = row!.split("|")[2]!.trim().replaceAll("`", "");
    const expected = DEFAULTS[name as keyof typeof DEFAULTS];
    expect(documentedDefault).toBe(expected === undefined ? "set by the stacks" : String(expected));
  });

  it.each(Object.values(MESSAGE_ATTRIBUTES))("documents the message attribute %s", (attribute) => {
    expect(readme).toContain(`\`${attribute}\``);
  });
});
