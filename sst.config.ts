/// <reference path="./.sst/platform/config.d.ts" />

/**
 * imburse-relay on AWS: Orders → submit Lambda → Imburse, with a Retry queue, a DLQ, an idempotency
 * table, the credentials secret, alarms and a dashboard. Tunables: lib/config/infrastructure.ts.
 */
export default $config({
  app(input) {
    // Production keeps its data and refuses `sst remove`; every other stage is removed entirely.
    const production = input?.stage === "production";
    return {
      name: "imburse-relay",
      removal: production ? "retain" : "remove",
      protect: production,
      home: "aws",
    };
  },
  async run() {
    const { alarmEmails, infrastructureConfig } = await import("./lib/config/infrastructure.ts");
    const { retainStatefulResources } = await import("./stacks/retention.ts");
    const { createQueues } = await import("./stacks/queues.ts");
    const { createIdempotencyTable } = await import("./stacks/idempotency.ts");
    const { createCredentialsSecret } = await import("./stacks/credentials.ts");
    const { createSubmitFunction } = await import("./stacks/submit.ts");
    const { createAlarms } = await import("./stacks/alarms.ts");
    const { createDashboard } = await import("./stacks/dashboard.ts");

    const config = infrastructureConfig($app.stage);
    retainStatefulResources();
    const queues = createQueues(config);
    const table = createIdempotencyTable();
    const secret = createCredentialsSecret();
    const submit = createSubmitFunction({ config, queues, table, secret });
    const { topic, alarms } = createAlarms({ config: config.alarms, queues, submit, emails: alarmEmails() });
    const dashboard = createDashboard({ queues, submit, alarms });

    return {
      ordersQueueUrl: queues.orders.url,
      retryQueueUrl: queues.retry.url,
      deadLetterQueueUrl: queues.deadLetter.url,
      idempotencyTableName: table.name,
      credentialsSecretArn: secret.arn,
      alarmTopicArn: topic.arn,
      dashboardUrl: dashboard.url,
    };
  },
});
