/**
 * How the relay's functions are bundled: the `nodejs` settings the stacks give SST, and SST 4.17's Go builder
 * (`pkg/runtime/node/build.go` at v4.17.0, unchanged through 4.17.1) written out as esbuild options, so the
 * infrastructure tests and the benchmark build the very bundles `sst deploy` uploads.
 *
 * No SST globals here: the tests and the benchmark import this file outside SST.
 */
import type { BuildOptions } from "esbuild";

/**
 * The `nodejs` settings of the relay's functions, as SST hands them to its builder. Of `nodejs.esbuild`, that
 * builder passes on only `target` (ES versions), `sourcemap`, `keepNames`, `define`, `external`, `nodePaths`,
 * `mainFields` and `conditions`: not `alias` or `inject`, though SST's type offers `inject`.
 */
export interface NodejsBuild {
  minify?: boolean;
  /** Added by SST itself; decides only the platform of packages installed next to the bundle. */
  architecture?: string;
  esbuild?: { define?: Record<string, string>; external?: string[] };
}

/**
 * Every relay function's build: minified. SST documents minify as on by default, but its 4.17 builder reads
 * a plain bool, so unset means off.
 */
export const NODEJS_BUILD = { minify: true } satisfies NodejsBuild;

/** The Lambda runtime of every relay function: decides the builder's esbuild target. */
export const NODE_RUNTIME = "nodejs24.x";

/** SST's `targetMap` entry for {@link NODE_RUNTIME}. */
const TARGET = "es2024";

/** Always external in SST's builder (installed next to the bundle when a function imports them). */
const FORCE_EXTERNAL = ["sharp", "pg-native"];

/** SST's ESM banner: `require`, `__filename` and `__dirname` for the CommonJS code inside the bundle. */
const BANNER = [
  "import { createRequire as topLevelCreateRequire } from 'module';",
  "const require = topLevelCreateRequire(import.meta.url);",
  'import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"',
  "const __filename = topLevelFileUrlToPath(import.meta.url)",
  'const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))',
  "",
].join("\n");

/**
 * The esbuild options of SST's builder deploying one handler with the given `nodejs` settings: ESM,
 * `keepNames`, `mainFields: module,main`, everything bundled (the AWS SDK too), a linked source map (SST
 * uploads the map apart and leaves it out of the function's package). Settings this copy does not model are
 * refused, so the copy cannot drift silently from what the stacks ask for.
 */
export function sstBuildOptions(entryPoint: string, outfile: string, nodejs: NodejsBuild): BuildOptions {
  const { minify, esbuild = {}, architecture: _architecture, ...rest } = nodejs;
  const unmodelled = [
    ...Object.keys(rest),
    ...Object.keys(esbuild)
      .filter((key) => key !== "define" && key !== "external")
      .map((key) => `esbuild.${key}`),
  ];
  if (unmodelled.length > 0) {
    throw new Error(`sstBuildOptions: no model of ${unmodelled.map((key) => `nodejs.${key}`).join(", ")}`);
  }
  return {
    entryPoints: [entryPoint],
    outfile,
    platform: "node",
    format: "esm",
    target: TARGET,
    bundle: true,
    keepNames: true,
    mainFields: ["module", "main"],
    external: [...FORCE_EXTERNAL, ...(esbuild.external ?? [])],
    define: esbuild.define ?? {},
    minify: minify === true,
    sourcemap: "linked",
    metafile: true,
    logLevel: "silent",
    banner: { js: BANNER },
  };
}
