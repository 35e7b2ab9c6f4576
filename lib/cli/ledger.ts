import { randomUUID } from "node:crypto";
import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { Command } from "commander";
import { secretCredentials } from "../aws/index.ts";
import { credentialsSecretName, DEFAULTS, infrastructureConfig, ledgerTableName } from "../config/index.ts";
import { type CredentialsProvider, ImburseClient, staticCredentials } from "../imburse/index.ts";
import { describeState, dynamoDbLedger, type LedgerItem, type OrderLedger } from "../ledger/index.ts";
import { stuckOrderSummary } from "../ops/index.ts";
import { SettleRefusedError, settleOrder } from "../tools/index.ts";
import { CommandFailedError, EXIT, UsageError } from "./errors.ts";
import { type CliIo, writeLine } from "./io.ts";
import { IMBURSE_CREDENTIAL_VARIABLES, imburseCredentialsFromEnv } from "./local.ts";
import { httpUrl, positiveSeconds } from "./options.ts";

/** How a ledger command finds the table. */
interface LedgerTargetFlags {
  stage?: string;
  table?: string;
  endpoint?: string;
  region?: string;
  json?: boolean;
}

interface SettleFlags extends LedgerTargetFlags {
  imburseUrl?: string;
  secretId?: string;
}

/** The region local stand-ins are created in when nothing names one. */
const LOCAL_REGION = "us-east-1";

const targetOptions = (command: Command) =>
  command
    .option("--stage <name>", "the deployed stage (its table is imburse-relay-<stage>-Ledger)")
    .option("--table <name>", "the ledger table by name (local mode: imburse-relay-local-Ledger)")
    .option("--endpoint <url>", "DynamoDB endpoint for a non-AWS DynamoDB (dynalite, LocalStack)", httpUrl)
    .option("--region <region>", "AWS region (default: AWS_REGION)")
    .option("--json", "JSON instead of text");

/** `imburse-relay status`, `ledger stuck` and `ledger settle`: what the order ledger knows, and settling it. */
export function registerLedgerCommands(
  program: Command,
  io: CliIo,
  setExitCode: (code: number) => void,
): void {
  targetOptions(
    program
      .command("status")
      .description("Show what the order ledger knows of an order: state, attempts, last outcome, ids.")
      .argument("<orderRef>", "the order's orderRef"),
  ).action(async (orderRef: string, flags: LedgerTargetFlags) => {
    const { ledger, close } = openLedger(flags, io.env);
    try {
      const items = await ledger.find(orderRef);
      if (items.length === 0) {
        writeLine(
          io.stderr,
          `no ledger item for ${orderRef}: the relay never claimed it (an invalid order is dead-lettered ` +
            "without one), or it expired after the ledger's retention",
        );
        setExitCode(EXIT.failed);
        return;
      }
      const now = Date.now();
      if (flags.json) for (const item of items) writeLine(io.stdout, JSON.stringify(item));
      else writeLine(io.stdout, items.map((item) => describeItem(item, now)).join("\n\n"));
    } finally {
      close();
    }
  });

  const ledger = program
    .command("ledger")
    .description("The order ledger: list the orders it is unsure of, and settle them with Imburse.");

  targetOptions(
    ledger
      .command("stuck")
      .description(
        "List orders claimed by a delivery whose lease ended, or that may exist in Imburse unconfirmed, " +
          "for longer than the threshold (the StuckOrders metric counts the same).",
      )
      .option(
        "--older-than <seconds>",
        `how long without news counts as stuck (default: the stage's RELAY_STUCK_AFTER_SECONDS, ${DEFAULTS.stuckAfterSeconds})`,
        positiveSeconds,
      ),
  ).action(async (flags: LedgerTargetFlags & { olderThan?: number }) => {
    const { ledger: store, close } = openLedger(flags, io.env);
    try {
      const now = Date.now();
      const olderThan = flags.olderThan ?? stuckAfterSeconds(flags.stage);
      const stuck = await store.stuck(now, olderThan * 1000);
      if (flags.json) {
        for (const item of stuck) writeLine(io.stdout, JSON.stringify(item));
      } else if (stuck.length === 0) {
        writeLine(io.stdout, `no stuck orders (older than ${olderThan} s)`);
      } else {
        for (const order of stuck.map((item) => stuckOrderSummary(item, now))) {
          writeLine(
            io.stdout,
            `${order.orderRef}  tenant ${order.tenantId}  ${order.state}  last attempt ${order.lastAttemptAt}`,
          );
        }
        writeLine(
          io.stdout,
          `${stuck.length} stuck: settle each with \`imburse-relay ledger settle ORDER_REF\``,
        );
      }
    } finally {
      close();
    }
  });

  targetOptions(
    ledger
      .command("settle")
      .description(
        "Ask Imburse for the order and record the answer: found is already-existed (later deliveries are " +
          "acknowledged), absent clears the may-exist mark. Credentials from IMBURSE_* variables when set, " +
          "else from the stage's secret (or --secret-id).",
      )
      .argument("<orderRef>", "the order's orderRef")
      .option(
        "--tenant <id>",
        "the tenant, when several hold this orderRef (default: the credentials' tenant)",
      )
      .option("--imburse-url <url>", "Imburse API base URL (default: the stage's)", httpUrl)
      .option("--secret-id <id>", "Secrets Manager id of the credentials (default: the stage's secret)"),
  ).action(async (orderRef: string, flags: SettleFlags) => {
    const { ledger: store, close } = openLedger(flags, io.env);
    try {
      const credentials = imburseCredentials(flags, io.env);
      // Imburse answers for the tenant of the key: only that tenant's item can be settled with it.
      const { tenantId } = await credentials.get();
      const api = new ImburseClient({ baseUrl: imburseUrl(flags), credentials });
      const correlationId = `settle-${randomUUID()}`;
      const result = await settleOrder({
        ledger: store,
        api,
        orderRef,
        tenantId,
        now: Date.now(),
        correlationId,
      });
      if (flags.json) {
        writeLine(io.stdout, JSON.stringify(result));
        return;
      }
      writeLine(io.stdout, `before: ${describeState(result.before, Date.now())}`);
      writeLine(io.stdout, `after:  ${describeState(result.after, Date.now())}`);
      if (result.foundAtImburse) {
        writeLine(
          io.stdout,
          "Imburse holds this orderRef; check it is the order you sent (the ledger keeps a fingerprint, not the " +
            `order): ${JSON.stringify(result.imburseOrder)}`,
        );
      } else {
        writeLine(
          io.stdout,
          "Imburse does not hold this orderRef: a later delivery posts it without reading first.",
        );
      }
      writeLine(io.stdout, `correlation id of the Imburse call: ${correlationId}`);
    } catch (error) {
      if (error instanceof SettleRefusedError) throw new CommandFailedError(error.message);
      throw error;
    } finally {
      close();
    }
  });
}

/** A DynamoDB-backed ledger for an operator command, from `--table` or `--stage`. */
function openLedger(
  flags: LedgerTargetFlags,
  env: NodeJS.ProcessEnv,
): { ledger: OrderLedger; close: () => void } {
  const tableName = flags.table ?? (flags.stage ? ledgerTableName(flags.stage) : undefined);
  if (!tableName)
    throw new UsageError("name the ledger with --stage NAME (a deployed stage) or --table NAME");
  const region =
    flags.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? (flags.endpoint ? LOCAL_REGION : undefined);
  if (!region) throw new UsageError("cannot tell the region: pass --region or set AWS_REGION");
  const client = new DynamoDBClient({ region, ...(flags.endpoint ? { endpoint: flags.endpoint } : {}) });
  return { ledger: dynamoDbLedger(client, tableName), close: () => client.destroy() };
}

/** The stage's stuck threshold (its settings over the defaults). */
function stuckAfterSeconds(stage: string | undefined): number {
  const configured = stage ? infrastructureConfig(stage).settings.stuckAfterSeconds : undefined;
  return Number(configured ?? DEFAULTS.stuckAfterSeconds);
}

/** The Imburse base URL: `--imburse-url`, else the stage's setting. */
function imburseUrl(flags: SettleFlags): string {
  if (flags.imburseUrl) return flags.imburseUrl;
  if (!flags.stage) throw new UsageError("pass --imburse-url URL (or --stage NAME for the stage's Imburse)");
  const stageUrl = infrastructureConfig(flags.stage).settings.imburseBaseUrl;
  return String(stageUrl ?? DEFAULTS.imburseBaseUrl);
}

/** IMBURSE_* variables when any is set, else the secret. */
function imburseCredentials(flags: SettleFlags, env: NodeJS.ProcessEnv): CredentialsProvider {
  if (Object.values(IMBURSE_CREDENTIAL_VARIABLES).some((variable) => env[variable])) {
    return staticCredentials(imburseCredentialsFromEnv(env));
  }
  const secretId = flags.secretId ?? (flags.stage ? credentialsSecretName(flags.stage) : undefined);
  if (!secretId) {
    throw new UsageError(
      `set ${Object.values(IMBURSE_CREDENTIAL_VARIABLES).join(", ")}, or pass --stage NAME or --secret-id ID`,
    );
  }
  const region = flags.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  return secretCredentials({
    provider: new SecretsProvider({ awsSdkV3Client: new SecretsManagerClient(region ? { region } : {}) }),
    secretId,
    maxAgeSeconds: 0,
  });
}

/** An item as a person reads it. */
function describeItem(item: LedgerItem, now: number): string {
  const time = (ms: number) => new Date(ms).toISOString();
  const outcome = item.lastOutcome;
  const rows: [string, string | undefined][] = [
    ["state", describeState(item, now)],
    ["attempts", String(item.attempts)],
    ["correlation id", item.correlationId],
    ["first received", time(item.firstReceivedAt)],
    ["last attempt", time(item.lastAttemptAt)],
    [
      "last outcome",
      outcome
        ? [
            outcome.result,
            outcome.status !== undefined ? `HTTP ${outcome.status}` : undefined,
            outcome.errorCodes?.length ? outcome.errorCodes.join(", ") : undefined,
          ]
            .filter(Boolean)
            .join(", ")
        : undefined,
    ],
    ["Imburse correlation id", outcome?.imburseCorrelationId],
    ["lease", item.leaseExpiresAt ? `until ${time(item.leaseExpiresAt)}` : undefined],
    ["remembered until", time(item.expiresAt * 1000)],
  ];
  return [
    `${item.orderRef}  (tenant ${item.tenantId})`,
    ...rows.filter(([, value]) => value !== undefined).map(([name, value]) => `  ${name.padEnd(24)}${value}`),
  ].join("\n");
}
