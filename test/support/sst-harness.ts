/**
 * Offline harness for the SST 4 infrastructure: runs the real `sst.config.ts` (`app()` then `run()`) the
 * way `sst deploy` does, but under Pulumi mocks, so no Pulumi engine, provider plugin, AWS account or
 * network is needed. It records every resource (type, name, resolved inputs, `retainOnDelete`) and every
 * handler build for the tests to assert on.
 *
 * SST does not offer this as an API: the harness uses SST internals, all named in {@link SST_INTERNALS}
 * below, so an SST upgrade is fixed here. SST's own component tests use the same approach.
 *
 * Each handler is really bundled with esbuild (the `Runtime.Build` fake), so a missing handler file, a
 * missing export or code that does not compile fails the run.
 *
 * Pulumi mocks and the `$`-globals are per process: call {@link runSstConfig} once per test file (the
 * infra vitest project runs files in separate forks).
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { build } from "esbuild";
import { type NodejsBuild, sstBuildOptions } from "../../stacks/node-build.ts";

/** Every SST internal the harness touches. */
export const SST_INTERNALS = {
  /** Written by `sst install` (see sst-platform.ts). */
  platformDir: ".sst/platform",
  modules: {
    /** The `$`-globals the CLI injects into sst.config.ts (`$config`, `$transform`, `$resolve`, ...). */
    shim: "src/shim/run.js",
    /** The `sst` global (`sst.aws.Queue`, ...); loading it reads `$app`, so it comes after cliGlobals. */
    components: "src/components/index.ts",
    /** `rpc.call`: the components' client of the CLI's RPC server, replaced by the fakes below. */
    rpc: "src/components/rpc/rpc.ts",
    /** Wraps `run()` as the CLI does: stack transformations (removal policy), resets, `_protect`. */
    autoRun: "src/auto/run.ts",
  },
  /** Globals the CLI defines besides the shim's exports, in the shape the components read. */
  cliGlobals: (app: AppSettings, paths: { root: string; work: string; platform: string }) => ({
    $app: app,
    $dev: false,
    $cli: { command: "deploy", rpc: "", paths: { ...paths, home: paths.work }, state: { version: {} } },
    aws,
  }),
  /** RPC methods the components of this app call on the CLI (the fake throws on any other). */
  rpcMethods: { build: "Runtime.Build", bootstrap: "Provider.Aws.Bootstrap" },
  /** Physical name of the Lambda function a `sst.aws.Function` named `id` creates. */
  lambdaFunctionName: (functionId: string) => `${functionId}Function`,
} as const;

const ROOT = path.resolve(import.meta.dirname, "../..");
const PLATFORM = path.join(ROOT, SST_INTERNALS.platformDir);
const ACCOUNT = "123456789012";
const REGION = "eu-west-1";
const DEPLOY_ROLE_NAME = "imburse-relay-deployer";
/** The IAM role the harness's deploys run as (through an assumed-role session). */
export const DEPLOY_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/${DEPLOY_ROLE_NAME}`;
const LAMBDA_FUNCTION_TYPE = "aws:lambda/function:Function";
const STACK_TYPE = "pulumi:pulumi:Stack";
const SQS_QUEUE_TYPE = "aws:sqs/queue:Queue";
const EVENT_SOURCE_MAPPING_TYPE = "aws:lambda/eventSourceMapping:EventSourceMapping";
/** Event-loop turns {@link settle} waits for the recording to stop changing before giving up. */
const MAX_SETTLE_TURNS = 500;

/** A resource as registered with Pulumi. */
export interface RecordedResource {
  type: string;
  name: string;
  /** Resolved inputs, as the provider would receive them. */
  inputs: Record<string, unknown>;
  /**
   * The mocked provider state: the inputs plus `name`, a realistic `arn` and, for queues, `url`, for event
   * source mappings, `uuid` (stable per resource name).
   */
  state: Record<string, unknown>;
  /** `retainOnDelete` after every stack transformation (SST's removal policy, the stacks' own). */
  retainOnDelete: boolean;
  /** `ignoreChanges`: the properties a deploy leaves as they are. */
  ignoreChanges: string[];
}

/** One `Runtime.Build` call: a handler bundled with esbuild. */
export interface HandlerBuild {
  functionId: string;
  /** As written in the stacks: `path/file.export`. */
  handler: string;
  /** The source file the handler resolved to, when it did. */
  entry?: string;
  /** Exports of the bundle. */
  exports: string[];
  errors: string[];
  /** The function's `nodejs` build settings as SST hands them to its builder (`minify`, …). */
  properties: Record<string, unknown>;
  /** Bytes of the bundle as SST's builder writes it into the function's package (the map stays out). */
  bytes: number;
  /** The npm packages bundled into it. */
  packages: string[];
  /** The files bundled into it, relative to the repository (`node_modules/zod/v4/mini/schemas.js`, …). */
  files: string[];
}

/** What `app()` returned, as the CLI turns it into `$app`. */
export interface AppSettings {
  name: string;
  stage: string;
  removal: "remove" | "retain" | "retain-all";
  protect: boolean;
  providers: Record<string, unknown>;
}

/** The result of {@link runSstConfig}. */
export interface SstRun {
  app: AppSettings;
  /** The outputs returned by `run()`, resolved (plus SST's `_protect`). */
  outputs: Record<string, unknown>;
  resources: RecordedResource[];
  builds: HandlerBuild[];
  /** Resources of a type, optionally whose name matches. */
  all(type: string, name?: string | RegExp): RecordedResource[];
  /** The one resource of a type (and name); throws when there is not exactly one. */
  one(type: string, name?: string | RegExp): RecordedResource;
  /** Removes the work directory and restores the environment variables the run set. */
  dispose(): void;
}

type AppInput = Partial<AppSettings> & { name: string };

interface SstConfig {
  app(input: { stage: string }): AppInput | Promise<AppInput>;
  run(): Promise<Record<string, unknown> | undefined>;
}

type RpcCall = (method: string, args: unknown) => Promise<unknown>;

let used = false;

/**
 * Runs sst.config.ts for a stage under Pulumi mocks and waits until every resource has registered.
 * `env` sets deploy-time environment variables for the run (undefined deletes one).
 */
export async function runSstConfig({
  stage,
  env = {},
}: {
  stage: string;
  env?: Record<string, string | undefined>;
}): Promise<SstRun> {
  if (used) throw new Error("runSstConfig runs once per process: Pulumi mocks and SST globals are global");
  used = true;
  const restoreEnv = setEnv(env);
  const workDir = mkdtempSync(path.join(os.tmpdir(), "sst-harness-"));
  const recorder = new Recorder();
  const globals = globalThis as Record<string, unknown>;

  Object.assign(globals, await importPlatform(SST_INTERNALS.modules.shim));
  const config = ((await import(path.join(ROOT, "sst.config.ts"))) as { default: SstConfig }).default;
  const appInput = await config.app({ stage });
  const app: AppSettings = {
    name: appInput.name,
    stage,
    removal: appInput.removal ?? "retain", // SST's default
    protect: appInput.protect ?? false,
    providers: appInput.providers ?? {},
  };

  await pulumi.runtime.setMocks(recorder.mocks(), app.name, stage, false);
  Object.assign(globals, SST_INTERNALS.cliGlobals(app, { root: ROOT, work: workDir, platform: PLATFORM }));
  globals.sst = await importPlatform(SST_INTERNALS.modules.components);
  const { rpc } = (await importPlatform(SST_INTERNALS.modules.rpc)) as { rpc: { call: RpcCall } };
  rpc.call = (method, args) => recorder.track(fakeRpc(method, args, workDir, recorder));
  const { run } = (await importPlatform(SST_INTERNALS.modules.autoRun)) as {
    run: (program: SstConfig["run"]) => Promise<Record<string, unknown>>;
  };

  // A failed build or apply leaves Pulumi waiting forever on outputs that never resolve: fail fast instead.
  let fail: (error: unknown) => void = () => {};
  const failure = new Promise<never>((_, reject) => {
    fail = reject;
  });
  recorder.onFailure = fail;
  process.on("unhandledRejection", fail);
  let outputs: Record<string, unknown> | undefined;
  try {
    outputs = await Promise.race([
      pulumi.runtime.runInPulumiStack(async () => {
        pulumi.runtime.registerStackTransformation((resource) => {
          recorder.constructed(resource.type, resource.name, resource.opts);
          return undefined;
        });
        return run(() => config.run());
      }),
      failure,
    ]);
    await Promise.race([recorder.settle(), failure]);
  } finally {
    process.off("unhandledRejection", fail);
  }

  const resources = recorder.resources();
  const all = (type: string, name?: string | RegExp) =>
    resources.filter(
      (r) =>
        r.type === type &&
        (name === undefined || (typeof name === "string" ? r.name === name : name.test(r.name))),
    );
  return {
    app,
    outputs: outputs ?? {},
    resources,
    builds: recorder.builds,
    all,
    one(type, name) {
      const found = all(type, name);
      if (found.length !== 1 || !found[0]) {
        throw new Error(`expected one ${type} named ${name}, found ${found.map((r) => r.name).join(", ")}`);
      }
      return found[0];
    },
    dispose() {
      rmSync(workDir, { recursive: true, force: true });
      restoreEnv();
    },
  };
}

async function importPlatform(module: string): Promise<Record<string, unknown>> {
  return (await import(path.join(PLATFORM, module))) as Record<string, unknown>;
}

function setEnv(env: Record<string, string | undefined>): () => void {
  const previous = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
  apply(env);
  return () => apply(previous);
}

/** The CLI side of the RPCs the components make. */
async function fakeRpc(method: string, args: unknown, workDir: string, recorder: Recorder): Promise<unknown> {
  switch (method) {
    case SST_INTERNALS.rpcMethods.bootstrap:
      return {
        asset: "mock-sst-asset-bucket",
        assetEcrRegistryId: ACCOUNT,
        assetEcrUrl: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/sst-asset`,
        state: "mock-sst-state-bucket",
        appsyncHttp: "",
        appsyncRealtime: "",
      };
    case SST_INTERNALS.rpcMethods.build:
      return buildHandler(
        args as { functionID: string; handler: string; properties?: Record<string, unknown> },
        workDir,
        recorder,
      );
    default:
      throw new Error(`the harness does not fake SST RPC ${method}`);
  }
}

/** Bundles a handler with SST's builder's own esbuild options (stacks/node-build.ts) and checks the export exists. */
async function buildHandler(
  input: { functionID: string; handler: string; properties?: Record<string, unknown> },
  workDir: string,
  recorder: Recorder,
): Promise<{ handler: string; out: string; errors: string[]; sourcemaps: string[] }> {
  const exportAt = input.handler.lastIndexOf(".");
  const file = input.handler.slice(0, exportAt);
  const exportName = input.handler.slice(exportAt + 1);
  const out = path.join(workDir, "artifacts", `${input.functionID}-src`);
  const outfile = path.join(out, `${file}.mjs`);
  const record: HandlerBuild = {
    functionId: input.functionID,
    handler: input.handler,
    exports: [],
    errors: [],
    properties: input.properties ?? {},
    bytes: 0,
    packages: [],
    files: [],
  };
  recorder.builds.push(record);
  try {
    const result = await build({
      ...sstBuildOptions(path.join(ROOT, file), outfile, record.properties as NodejsBuild),
      // SST leaves the map out of the function's package; skipping it saves a third of the build time and
      // shortens the bundle only by its `sourceMappingURL` comment.
      sourcemap: false,
      absWorkingDir: ROOT,
    });
    const output = result.metafile?.outputs[path.relative(ROOT, outfile)];
    record.entry = output?.entryPoint;
    record.exports = output?.exports ?? [];
    record.bytes = output?.bytes ?? 0;
    record.files = Object.keys(output?.inputs ?? {});
    record.packages = bundledPackages(record.files);
    if (!record.exports.includes(exportName)) record.errors.push(`${file} does not export ${exportName}`);
  } catch (error) {
    const failure = error as { errors?: { text: string }[]; message?: string };
    record.errors.push(...(failure.errors?.map((e) => e.text) ?? [String(failure.message ?? error)]));
  }
  if (record.errors.length === 0) recorder.expectLambda(SST_INTERNALS.lambdaFunctionName(input.functionID));
  else recorder.onFailure(new Error(`handler ${input.handler} did not build: ${record.errors.join("; ")}`));
  return { handler: input.handler, out, errors: record.errors, sourcemaps: [] };
}

/** The npm packages (`name` or `@scope/name`) among a bundle's input files. */
export function bundledPackages(inputs: string[]): string[] {
  const names = inputs.flatMap((input) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1] ?? []);
  return [...new Set(names)].sort();
}

/** Realistic ARNs: SST parses some (e.g. a Lambda ARN must contain `:function:`). */
function mockArn(type: string, name: string): string {
  const service = type.split(":")[1]?.split("/")[0] ?? "mock";
  switch (service) {
    case "lambda":
      return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;
    case "iam":
      return `arn:aws:iam::${ACCOUNT}:role/${name}`;
    case "secretsmanager":
      return `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-AbCdEf`;
    case "dynamodb":
      return `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${name}`;
    case "cloudwatch":
      return type.includes("logGroup")
        ? `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${name}`
        : `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:${name}`;
    case "s3":
      return `arn:aws:s3:::${name}`;
    default:
      return `arn:aws:${service}:${REGION}:${ACCOUNT}:${name}`;
  }
}

/** An event source mapping's `uuid` (derived from its resource name: stable, distinct) and its `arn`. */
function mockEventSourceMapping(resourceName: string): { uuid: string; arn: string } {
  const hex = createHash("sha256").update(resourceName).digest("hex");
  const uuid = hex.slice(0, 32).replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, "$1-$2-$3-$4-$5");
  return { uuid, arn: `arn:aws:lambda:${REGION}:${ACCOUNT}:event-source-mapping:${uuid}` };
}

/** Records constructions (stack transformation), registrations (mocks) and fake RPCs, and awaits them. */
class Recorder {
  readonly builds: HandlerBuild[] = [];
  /** Called when the run cannot complete; {@link runSstConfig} then fails at once. */
  onFailure: (error: Error) => void = () => {};
  private readonly registered: Omit<RecordedResource, "retainOnDelete" | "ignoreChanges">[] = [];
  private readonly options = new Map<string, pulumi.ResourceOptions>();
  private constructions = 0;
  private readonly inflight = new Set<Promise<unknown>>();
  /** Lambda functions whose handler built: their registration follows I/O (zip) that nothing else awaits. */
  private readonly lambdaWaiters = new Map<string, { promise: Promise<void>; resolve: () => void }>();

  mocks(): pulumi.runtime.Mocks {
    return {
      newResource: (args) => {
        const inputs = args.inputs as Record<string, unknown>;
        const name = typeof inputs.name === "string" ? inputs.name : `${args.name}-mock`;
        const state = {
          ...inputs,
          name,
          arn: mockArn(args.type, name),
          ...(args.type === SQS_QUEUE_TYPE
            ? { url: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name}` }
            : {}),
          ...(args.type === EVENT_SOURCE_MAPPING_TYPE ? mockEventSourceMapping(args.name) : {}),
        };
        if (args.type !== STACK_TYPE)
          this.registered.push({ type: args.type, name: args.name, inputs, state });
        if (args.type === LAMBDA_FUNCTION_TYPE) {
          const waiter = this.lambdaWaiters.get(args.name);
          if (waiter) waiter.resolve();
          else this.onFailure(new Error(`Lambda ${args.name} matches no build: update lambdaFunctionName`));
        }
        return { id: `${args.name}-id`, state };
      },
      call: (args) => {
        switch (args.token) {
          case "aws:index/getRegion:getRegion":
            return { name: REGION, region: REGION, id: REGION };
          case "aws:index/getPartition:getPartition":
            return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
          case "aws:index/getCallerIdentity:getCallerIdentity":
            // Deploys run as an assumed role, as in CI.
            return {
              accountId: ACCOUNT,
              arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${DEPLOY_ROLE_NAME}/deploy-session`,
              userId: `AROAEXAMPLE:deploy-session`,
              id: ACCOUNT,
            };
          case "aws:iam/getSessionContext:getSessionContext":
            // The role behind an assumed-role session ARN, as IAM resolves it.
            return {
              arn: args.inputs.arn,
              issuerArn: String(args.inputs.arn).includes(":assumed-role/")
                ? DEPLOY_ROLE_ARN
                : args.inputs.arn,
              issuerId: "AROAEXAMPLE",
              issuerName: DEPLOY_ROLE_NAME,
              sessionName: "deploy-session",
              id: String(args.inputs.arn),
            };
          case "aws:iam/getPolicyDocument:getPolicyDocument":
            // Echo the statements, or the function role's inline policy comes out empty.
            return { ...args.inputs, json: JSON.stringify(args.inputs), id: "policy" };
          default:
            return args.inputs;
        }
      },
    };
  }

  constructed(type: string, name: string, opts: pulumi.ResourceOptions): void {
    this.constructions++;
    // Later transformations (SST's removal policy, the stacks' $transform) mutate this same object.
    this.options.set(`${type}::${name}`, opts);
  }

  track<T>(promise: Promise<T>): Promise<T> {
    this.inflight.add(promise);
    const done = () => this.inflight.delete(promise);
    promise.then(done, done);
    return promise;
  }

  expectLambda(name: string): void {
    let resolve = () => {};
    const promise = new Promise<void>((r) => {
      resolve = r;
    });
    this.lambdaWaiters.set(name, { promise, resolve });
  }

  /**
   * Awaits fake RPCs and the registration of every built Lambda, then lets the event loop turn until every
   * constructed resource has registered and nothing new starts. No timers: each step awaits the work.
   */
  async settle(): Promise<void> {
    for (let turn = 0; turn < MAX_SETTLE_TURNS; turn++) {
      const before = `${this.constructions}/${this.registered.length}/${this.builds.length}`;
      await Promise.allSettled([...this.inflight]);
      await Promise.all([...this.lambdaWaiters.values()].map((w) => w.promise));
      await new Promise((resolve) => setImmediate(resolve));
      const after = `${this.constructions}/${this.registered.length}/${this.builds.length}`;
      if (before === after && this.inflight.size === 0 && this.constructions === this.registered.length)
        return;
    }
    throw new Error(
      `resources did not settle: ${this.constructions} constructed, ${this.registered.length} registered`,
    );
  }

  resources(): RecordedResource[] {
    return this.registered.map((r) => ({
      ...r,
      retainOnDelete: this.options.get(`${r.type}::${r.name}`)?.retainOnDelete === true,
      ignoreChanges: this.options.get(`${r.type}::${r.name}`)?.ignoreChanges ?? [],
    }));
  }
}
