/**
 * Keeps data in stages that retain it. SST's `removal: "retain"` only retains some types (DynamoDB
 * tables among them); the relay also holds data in its queues (orders in flight, dead letters) and in
 * the operator-put credentials secret.
 */

/**
 * In stages whose removal policy is not `remove`, marks every SQS queue and Secrets Manager secret
 * `retainOnDelete`, so neither `sst remove` nor a rename in code deletes them. Call it before creating
 * resources: it registers stack transformations.
 */
export function retainStatefulResources(): void {
  if ($app.removal === "remove") return;
  $transform(aws.sqs.Queue, (_args: aws.sqs.QueueArgs, opts: $util.CustomResourceOptions) => {
    opts.retainOnDelete = true;
  });
  $transform(
    aws.secretsmanager.Secret,
    (_args: aws.secretsmanager.SecretArgs, opts: $util.CustomResourceOptions) => {
      opts.retainOnDelete = true;
    },
  );
}
