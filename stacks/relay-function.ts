/**
 * What every Lambda function of the relay shares: Node 24, active tracing, the Powertools service and
 * namespace, its relay settings written with `settingsToEnv`, explicit permissions and a role only Lambda
 * may assume.
 */
import type { FunctionConfig, InfrastructureConfig } from "../lib/config/index.ts";
import {
  DEFAULTS,
  METRICS,
  type REQUIRED_SETTINGS,
  SERVICE_NAME,
  type SettingName,
  settingsToEnv,
} from "../lib/config/index.ts";
import type { Permission } from "./permissions.ts";

/** The functions of the relay, by their key in `REQUIRED_SETTINGS` (settings.ts). */
export type RelayFunction = keyof typeof REQUIRED_SETTINGS;

/** The resource ids function `F` requires, as deploy-time values. */
export type RequiredResources<F extends RelayFunction> = {
  [Setting in (typeof REQUIRED_SETTINGS)[F][number]]: $util.Input<string>;
};

/** Resource ids by setting, as `settingsToEnv` takes them once resolved. */
type ResourceIds = Partial<Record<SettingName, $util.Input<string>>>;

/** What {@link relayFunctionArgs} needs to describe one function. */
export interface RelayFunctionInputs<F extends RelayFunction> {
  /** Which function: decides the resource ids it must be given. */
  function: F;
  description: string;
  /** `path/file.export`, relative to the repository root. */
  handler: string;
  size: FunctionConfig;
  /** Stage overrides of the relay settings, written over `DEFAULTS`. */
  settings: InfrastructureConfig["settings"];
  /** Exactly the resource ids the function requires: no other queue, table or secret reaches it. */
  resources: RequiredResources<F>;
  /** Every IAM statement of the function (no `link`: SST's links grant whole services). */
  permissions: Permission[];
}

/**
 * The `sst.aws.Function` arguments of a relay function. Its environment holds the Powertools service and
 * namespace (every function emits its metrics under the `service` dimension the alarms watch) and the
 * relay settings: defaults, stage overrides, then its own resource ids.
 */
export function relayFunctionArgs<F extends RelayFunction>({
  description,
  handler,
  size,
  settings,
  resources,
  permissions,
}: RelayFunctionInputs<F>): sst.aws.FunctionArgs {
  const environment = $resolve<ResourceIds>(resources).apply((ids) => ({
    POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
    POWERTOOLS_METRICS_NAMESPACE: METRICS.namespace,
    // The stage is the `stage` dimension of every metric: never a stage override's to change.
    ...settingsToEnv({ ...DEFAULTS, ...settings, stage: $app.stage, ...ids }),
  }));
  return {
    description,
    handler,
    runtime: "nodejs24.x",
    // SST documents minify as on by default, but its 4.17 builder reads a plain bool: unset means off.
    nodejs: { minify: true },
    timeout: `${size.timeoutSeconds} seconds`,
    memory: `${size.memoryMb} MB`,
    environment,
    permissions,
    transform: {
      function: { tracingConfig: { mode: "Active" } },
      // SST 4.17.1 also trusts the account root (meant for `sst dev`, but its check of an Output is always
      // true): outside `sst dev`, only Lambda may assume a role that reaches the relay's data.
      ...($dev
        ? {}
        : {
            role: {
              assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: "lambda.amazonaws.com" }),
            },
          }),
    },
  };
}
