/**
 * Least-privilege IAM statements for the relay's functions, each scoped to exact resource ARNs.
 *
 * Functions get these through `permissions`, never through `link`: SST's links grant whole services
 * (`sqs:*` on a linked queue, `dynamodb:*` on a linked table), and the relay reads its resource ids from
 * the environment variables of `lib/config/settings.ts` anyway.
 *
 * Scheduled functions get theirs through `createScheduledFunction` (scheduled.ts), the alarm-driven
 * circuit breaker through `createCircuitBreaker` (circuit-breaker.ts).
 */
import { BREAKER_STATE_KEY, LEDGER_OPEN_INDEX, LEDGER_TABLE } from "../lib/config/index.ts";

/** One IAM statement in the shape `sst.aws.Function` takes in `permissions`. */
export type Permission = sst.aws.FunctionPermissionArgs;

/**
 * Receive, delete and inspect messages of the given queues: what a Lambda event source mapping needs on the
 * queues it polls (it runs with the function's role) and what a function receiving by itself needs, plus
 * `ChangeMessageVisibility` for handing a message back early.
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

/**
 * What the submit function does with the order ledger: claim (UpdateItem, and GetItem where DynamoDB does
 * not return the refusing item), record states (PutItem, BatchWriteItem). Nothing is ever deleted.
 */
export function useLedgerTable(tableArn: $util.Input<string>): Permission {
  return {
    actions: ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:BatchWriteItem"],
    resources: [tableArn],
  };
}

/** Query the ledger's sparse index of open orders, and nothing else. */
export function queryOpenOrders(tableArn: $util.Input<string>): Permission {
  return {
    actions: ["dynamodb:Query"],
    resources: [$interpolate`${tableArn}/index/${LEDGER_OPEN_INDEX}`],
  };
}

/**
 * Read and pause or resume the given Lambda event source mappings (`arn:…:event-source-mapping:<uuid>`,
 * see {@link eventSourceMappingArn}), and no other.
 */
export function toggleEventSourceMappings(mappingArns: $util.Input<string>[]): Permission {
  return {
    actions: ["lambda:GetEventSourceMapping", "lambda:UpdateEventSourceMapping"],
    resources: mappingArns,
  };
}

/** The ARN of the event source mapping with this UUID, in the deploying account and region. */
export function eventSourceMappingArn(uuid: $util.Input<string>): $util.Output<string> {
  const { partition } = aws.getPartitionOutput();
  const { region } = aws.getRegionOutput();
  const { accountId } = aws.getCallerIdentityOutput();
  return $interpolate`arn:${partition}:lambda:${region}:${accountId}:event-source-mapping:${uuid}`;
}

/**
 * Read the current state of exactly the given alarms (`DescribeAlarms` supports resource-level permissions
 * on alarm ARNs; a call naming any other alarm is refused).
 */
export function describeAlarms(alarmArns: $util.Input<string>[]): Permission {
  return { actions: ["cloudwatch:DescribeAlarms"], resources: alarmArns };
}

/**
 * Read and write the circuit breaker's state item in the ledger table, and no order: the
 * `dynamodb:LeadingKeys` condition limits every call to the breaker's reserved partition key.
 */
export function useBreakerState(tableArn: $util.Input<string>): Permission {
  return {
    actions: ["dynamodb:GetItem", "dynamodb:PutItem"],
    resources: [tableArn],
    conditions: [
      {
        test: "ForAllValues:StringEquals",
        variable: "dynamodb:LeadingKeys",
        values: [BREAKER_STATE_KEY.orderRef],
      },
    ],
  };
}

/** Send X-Ray segments for active tracing. X-Ray has no resource-level permissions, hence `*`. */
export function writeTraces(): Permission {
  return { actions: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources: ["*"] };
}

/** Publish events to exactly one bus. */
export function publishEvents(busArn: $util.Input<string>): Permission {
  return { actions: ["events:PutEvents"], resources: [busArn] };
}

/**
 * What the sweep does with the ledger: query the outbox index, then write the items whose events were
 * published (PutItem on a condition, BatchWriteItem for complete orders). It never claims or reads items.
 */
export function sweepLedgerOutbox(tableArn: $util.Input<string>): Permission[] {
  return [
    {
      actions: ["dynamodb:Query"],
      resources: [$interpolate`${tableArn}/index/${LEDGER_TABLE.outboxIndex.name}`],
    },
    { actions: ["dynamodb:PutItem", "dynamodb:BatchWriteItem"], resources: [tableArn] },
  ];
}
