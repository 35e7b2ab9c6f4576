/**
 * stacks/node-build.ts: the copy of SST 4.17's Go builder that the infrastructure tests and the benchmark
 * bundle with, so the sizes they check are the deployed ones.
 */
import { describe, expect, it } from "vitest";
import { NODE_RUNTIME, NODEJS_BUILD, type NodejsBuild, sstBuildOptions } from "../../stacks/node-build.ts";

describe("sstBuildOptions", () => {
  const options = (nodejs: NodejsBuild) =>
    sstBuildOptions("/src/functions/submit.ts", "/out/submit.mjs", nodejs);

  it("builds as SST's builder does for a Node 24 function: ESM, ES2024, names kept, module before main", () => {
    expect(NODE_RUNTIME).toBe("nodejs24.x");
    expect(options(NODEJS_BUILD)).toMatchObject({
      entryPoints: ["/src/functions/submit.ts"],
      outfile: "/out/submit.mjs",
      platform: "node",
      format: "esm",
      target: "es2024",
      bundle: true,
      keepNames: true,
      mainFields: ["module", "main"],
      external: ["sharp", "pg-native"],
      sourcemap: "linked",
    });
    // SST's banner gives the bundle's CommonJS code `require`, `__filename` and `__dirname`.
    const banner = options(NODEJS_BUILD).banner?.js ?? "";
    for (const name of ["const require", "const __filename", "const __dirname"])
      expect(banner).toContain(name);
  });

  it("minifies only when asked: SST's builder reads a plain bool, so unset is off", () => {
    expect(NODEJS_BUILD.minify).toBe(true);
    expect(options(NODEJS_BUILD).minify).toBe(true);
    expect(options({}).minify).toBe(false);
  });

  it("passes on the esbuild settings the builder passes: define and external", () => {
    const built = options({ esbuild: { define: { DEBUG: "false" }, external: ["pg"] } });
    expect(built.define).toEqual({ DEBUG: "false" });
    expect(built.external).toEqual(["sharp", "pg-native", "pg"]);
  });

  it("ignores the architecture SST adds, which only decides the platform of installed packages", () => {
    expect(options({ ...NODEJS_BUILD, architecture: "arm64" })).toEqual(options(NODEJS_BUILD));
  });

  it("refuses settings it does not model, so the tests cannot build a bundle SST would not", () => {
    expect(() => options({ format: "cjs" } as NodejsBuild)).toThrow(/nodejs\.format/);
    // SST's builder drops `alias`: a copy that honoured it would measure a bundle that is never deployed.
    expect(() => options({ esbuild: { alias: { "form-data": "./stub.js" } } } as NodejsBuild)).toThrow(
      /nodejs\.esbuild\.alias/,
    );
  });
});
