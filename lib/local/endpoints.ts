import type { AwsService, AwsTarget } from "../aws/index.ts";

/** The services local mode creates resources on, with the SDK's standard endpoint variable of each. */
const ENDPOINT_VARIABLES: Readonly<Record<Exclude<AwsService, "lambda" | "cloudWatch">, string>> = {
  sqs: "AWS_ENDPOINT_URL_SQS",
  dynamoDb: "AWS_ENDPOINT_URL_DYNAMODB",
  secretsManager: "AWS_ENDPOINT_URL_SECRETS_MANAGER",
  eventBridge: "AWS_ENDPOINT_URL_EVENTBRIDGE",
};

/** The SDK's endpoint variable for every service. */
const GLOBAL_ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL";

/**
 * Where local mode puts the relay's resources: `undefined` (its own embedded stand-ins) unless `--aws-endpoint`
 * is given or the environment sets one of the SDK's endpoint variables. A service gets, in order, the flag,
 * its own `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`, or else AWS's endpoint, as the SDK would choose.
 * The region is `AWS_REGION` (or `AWS_DEFAULT_REGION`, else us-east-1); credentials come from the SDK's
 * usual chain. The event source mappings and alarms stay local: the handlers run in this process.
 */
export function externalAwsTarget(env: NodeJS.ProcessEnv, flagEndpoint?: string): AwsTarget | undefined {
  const global = env[GLOBAL_ENDPOINT_VARIABLE];
  const services = Object.keys(ENDPOINT_VARIABLES) as Array<keyof typeof ENDPOINT_VARIABLES>;
  const anySet = flagEndpoint !== undefined || global || services.some((s) => env[ENDPOINT_VARIABLES[s]]);
  if (!anySet) return undefined;
  const endpoints: AwsTarget["endpoints"] = {};
  for (const service of services) {
    const endpoint = flagEndpoint ?? (env[ENDPOINT_VARIABLES[service]] || global || undefined);
    if (endpoint) endpoints[service] = endpoint;
  }
  return { region: env.AWS_REGION || env.AWS_DEFAULT_REGION || "us-east-1", endpoints };
}
