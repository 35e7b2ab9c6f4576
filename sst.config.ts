/// <reference path="./.sst/platform/config.d.ts" />

/**
 * imburse-relay on AWS: Orders → submit Lambda → Imburse, with a Retry queue, a DLQ, the order ledger
 * table, the credentials secret, alarms and a dashboard; a scheduled health probe, an alarm-driven circuit
 * breaker, a scheduled stuck-order check and an optional scheduled DLQ redrive. Tunables: lib/config/infrastructure.ts.
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
    const { alarmEmails, assertRetryBudgetFits, infrastructureConfig } = await import(
      "./lib/config/index.ts"
    );
    const { retainStatefulResources } = await import("./stacks/retention.ts");
    const { createQueues } = await import("./stacks/queues.ts");
    const { createLedgerTable } = await import("./stacks/ledger.ts");
    const { createLedgerCheck } = await import("./stacks/ledger-check.ts");
    const { createCredentialsSecret, restrictSecretAccess } = await import("./stacks/credentials.ts");
    const { createSubmitFunction } = await import("./stacks/submit.ts");
    const { createAlarms } = await import("./stacks/alarms.ts");
    const { createAvailabilityAlarms } = await import("./stacks/availability.ts");
    const { createCircuitBreaker } = await import("./stacks/circuit-breaker.ts");
    const { createHealthProbe } = await import("./stacks/health-probe.ts");
    const { createRedrive } = await import("./stacks/redrive.ts");
    const { createDashboard } = await import("./stacks/dashboard.ts");
    const { createOutcomeBus, createOutcomeNotifications } = await import("./stacks/outcomes.ts");

    const config = infrastructureConfig($app.stage);
    assertRetryBudgetFits(config);
    retainStatefulResources();
    const queues = createQueues(config);
    const table = createLedgerTable();
    const secret = createCredentialsSecret();
    const outcomes = createOutcomeBus(config);
    const submit = createSubmitFunction({ config, queues, table, secret, bus: outcomes.bus });
    const { topic, alarms } = createAlarms({
      config: config.alarms,
      queues,
      submit: submit.function,
      emails: alarmEmails(),
    });
    const availability = createAvailabilityAlarms({ config: config.breaker, topic });
    const breaker = createCircuitBreaker({
      config,
      alarms: availability,
      mappings: submit.mappings,
      table,
      topic,
    });
    const probe = createHealthProbe({ config, secret });
    restrictSecretAccess({
      secret,
      readerRoleArns: [submit.function.nodes.role.arn, probe.function.nodes.role.arn],
      operatorPrincipalArns: config.credentials.operatorPrincipalArns,
    });
    const ledgerCheck = createLedgerCheck({ config, table });
    const redrive = createRedrive({ config, queues });
    const outcomeNotifications = createOutcomeNotifications({ config, bus: outcomes.bus, topic, table });
    const dashboard = createDashboard({
      queues,
      submit: submit.function,
      alarms: [
        ...alarms,
        availability.probe,
        availability.errorRate,
        outcomeNotifications.failedEventsAlarm,
        outcomeNotifications.deadLetterRuleFailures.alarm,
        ...breaker.alarms,
      ],
      breakerAlarm: availability.unavailable,
      breaker: config.breaker,
    });

    return {
      ordersQueueUrl: queues.orders.url,
      retryQueueUrl: queues.retry.url,
      deadLetterQueueUrl: queues.deadLetter.url,
      ledgerTableName: table.name,
      credentialsSecretArn: secret.arn,
      alarmTopicArn: topic.arn,
      dashboardUrl: dashboard.url,
      // `aws cloudwatch describe-alarms --alarm-types CompositeAlarm --alarm-names <name>`: is the breaker open?
      imburseUnavailableAlarmName: availability.unavailable.alarmName,
      // `aws lambda get-event-source-mapping --uuid <id>`: State Enabled or Disabled.
      submitEventSourceMappingIds: $resolve(submit.eventSourceMappingIds).apply((ids) => ids.join(",")),
      healthProbeFunctionName: probe.function.name,
      ledgerCheckFunctionName: ledgerCheck.function.name,
      circuitBreakerFunctionName: breaker.function.name,
      ...(redrive ? { redriveFunctionName: redrive.function.name } : {}),
      // Publishers subscribe to their orders' outcomes with rules on this bus (docs/publishers.md).
      outcomeEventBusName: outcomes.bus.name,
      outcomeEventBusArn: outcomes.bus.arn,
      // `aws events start-replay --event-source-arn <arn>`: replays a window to a new consumer.
      outcomeEventArchiveArn: outcomes.archive.arn,
      outboxSweepFunctionName: outcomeNotifications.sweep.function.name,
    };
  },
});
