/**
 * Makes sure `.sst/platform` exists and matches the installed `sst` package. `sst install` writes it: SST's
 * component sources and its Pulumi SDKs, which the stacks' types and the offline infrastructure tests need.
 * It reaches only the npm registry with the flags below (no GitHub download of Pulumi/Bun, no AWS).
 *
 * Used as the vitest global setup of the infra project, by `npm run typecheck`, and by
 * `npm run sst:install` (`node test/support/sst-platform.ts --force`).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "../..");
const PLATFORM_DIR = path.join(ROOT, ".sst", "platform");
const SST_PACKAGE_DIR = path.join(ROOT, "node_modules", "sst");

/**
 * Offline-safe CLI environment: skip the Pulumi/Bun download from GitHub, install the platform's
 * dependencies with npm instead of Bun, no telemetry.
 */
export const OFFLINE_SST_ENV = {
  SST_SKIP_DEPENDENCY_CHECK: "1",
  SST_NO_BUN: "1",
  SST_TELEMETRY_DISABLED: "1",
} as const;

/** `sst install` evaluates `app()` for a stage; any stage resolves the same providers. */
const INSTALL_STAGE = "ci";

/** A file whose presence shows that the platform's npm install finished. */
const INSTALLED_MARKER = path.join(PLATFORM_DIR, "node_modules", "@pulumi", "aws", "package.json");

function readText(file: string): string | undefined {
  return existsSync(file) ? readFileSync(file, "utf8").trim() : undefined;
}

/** Whether `.sst/platform` is complete and of the installed sst version. */
export function sstPlatformIsCurrent(): boolean {
  const wanted = JSON.parse(readFileSync(path.join(SST_PACKAGE_DIR, "package.json"), "utf8")).version;
  return readText(path.join(PLATFORM_DIR, "version")) === wanted && existsSync(INSTALLED_MARKER);
}

/** Runs `sst install` when the platform is missing or stale (always with `force`). Returns whether it ran. */
export function ensureSstPlatform({ force = false }: { force?: boolean } = {}): boolean {
  if (!force && sstPlatformIsCurrent()) return false;
  // The sst shim run with this process's Node (24), whatever `node` is first on PATH.
  const cli = path.join(SST_PACKAGE_DIR, "bin", "sst.mjs");
  execFileSync(process.execPath, [cli, "install", "--stage", INSTALL_STAGE], {
    cwd: ROOT,
    stdio: "inherit",
    env: { ...process.env, ...OFFLINE_SST_ENV },
  });
  return true;
}

/** Vitest global setup. */
export default function setup(): void {
  ensureSstPlatform();
}

if (import.meta.main) ensureSstPlatform({ force: process.argv.includes("--force") });
