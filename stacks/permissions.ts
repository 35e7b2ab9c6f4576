/**
 * Least-privilege IAM statements for the relay's functions, each scoped to exact resource ARNs.
 *
 * Functions get these through `permissions`, never through `link`: SST's links grant whole services
 * (`sqs:*` on a linked queue, `dynamodb:*` on a linked table), and the relay reads its resource ids from
 * the environment variables of `lib/config/settings.ts` anyway.
 *
 * @example A scheduled function (the pattern for the health probe, the DLQ redrive and the circuit
 * breaker): `sst.aws.CronV2` (EventBridge Scheduler; `sst.aws.Cron` is deprecated) with explicit
 * permissions and its settings written with `settingsToEnv`.
 * ```ts
 * new sst.aws.CronV2(RESOURCE_NAMES.redriveFunction, {
 *   schedule: "rate(15 minutes)", // kept in lib/config/infrastructure.ts
 *   timezone: "UTC",
 *   retries: 0, // the next tick retries
 *   function: {
 *     handler: "functions/redrive.handler",
 *     runtime: "nodejs24.x",
 *     environment: queues.deadLetter.url.apply((url) => settingsToEnv({ deadLetterQueueUrl: url })),
 *     permissions: [
 *       { actions: ["sqs:StartMessageMoveTask"], resources: [queues.deadLetter.arn] },
 *       sendToQueues([queues.orders.arn]),
 *     ],
 *   },
 * });
 * ```
 */
/** One IAM statement in the shape `sst.aws.Function` takes in `permissions`. */
export type Permission = sst.aws.FunctionPermissionArgs;

/**
 * What a Lambda event source mapping needs on the queues it polls (it runs with the function's role),
 * plus `ChangeMessageVisibility` for handing a record back early.
 */
export function consumeQueues(queueArns: $util.Input<string>[]): Permission {
  return {
    actions: [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:GetQueueAttributes",
    ],
    resources: queueArns,
  };
}

/** Send to the given queues only. */
export function sendToQueues(queueArns: $util.Input<string>[]): Permission {
  return { actions: ["sqs:SendMessage"], resources: queueArns };
}

/**
 * Read one secret's value. `DescribeSecret` is left out: Powertools `getSecret` only calls
 * `GetSecretValue`.
 */
export function readSecret(secretArn: $util.Input<string>): Permission {
  return { actions: ["secretsmanager:GetSecretValue"], resources: [secretArn] };
}

/** The item operations Powertools Idempotency's DynamoDB persistence layer performs, on one table. */
export function useIdempotencyTable(tableArn: $util.Input<string>): Permission {
  return {
    actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
    resources: [tableArn],
  };
}

/** Send X-Ray segments for active tracing. X-Ray has no resource-level permissions, hence `*`. */
export function writeTraces(): Permission {
  return { actions: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources: ["*"] };
}
