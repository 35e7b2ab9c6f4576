/** The Secrets Manager secret holding the Imburse credentials. */
import { credentialsSecretName, RESOURCE_NAMES } from "../lib/config/index.ts";

/**
 * Creates the secret with no value: the operator puts the JSON `{ publicKey, privateKey, accountId,
 * tenantId }` with `aws secretsmanager put-secret-value`, so the credentials never pass through code,
 * Pulumi state or environment variables. The name is readable (`<app>/<stage>/ImburseCredentials`) for
 * that command. Stages that are removed delete it at once, so the stage can be deployed again under the
 * same name; stages that retain data keep the default 30-day recovery window.
 */
export function createCredentialsSecret(): aws.secretsmanager.Secret {
  const removed = $app.removal === "remove";
  return new aws.secretsmanager.Secret(RESOURCE_NAMES.credentialsSecret, {
    name: credentialsSecretName($app.stage),
    description:
      "Imburse credentials JSON { publicKey, privateKey, accountId, tenantId }, put by the operator.",
    ...(removed ? { recoveryWindowInDays: 0 } : {}),
  });
}

/** Who the credentials secret's resource policy lets through. */
export interface SecretAccessInputs {
  secret: aws.secretsmanager.Secret;
  /** Role ARNs of the functions that read the credentials (submit, health probe). */
  readerRoleArns: $util.Input<string>[];
  /** Principal ARNs allowed to put the value (`credentials.operatorPrincipalArns`). */
  operatorPrincipalArns: readonly string[];
}

/**
 * The IAM role (or user) that runs this deploy, as `aws:PrincipalArn` sees it: for an assumed role the
 * role's ARN, not the session's.
 */
export function deployPrincipalArn(): $util.Output<string> {
  const { arn } = aws.getCallerIdentityOutput();
  return aws.iam.getSessionContextOutput({ arn }).issuerArn;
}

/**
 * The secret's resource policy: explicit Denies, because an Allow in a resource policy restricts nothing
 * within the account (any principal whose identity policy grants `secretsmanager:GetSecretValue` on `*`
 * would still read the Imburse private key).
 *
 * - `GetSecretValue` is denied to every principal but the reader roles: the deploying role (a CI role, say)
 *   never needs the key.
 * - Everything that sets the value or changes who may read it (`PutSecretValue`, `UpdateSecret`,
 *   `UpdateSecretVersionStage`, `PutResourcePolicy`, `DeleteResourcePolicy`) is denied to every principal but
 *   the operators and the deploying role, which `sst deploy` and `sst remove` need to manage the secret.
 * - Every other action is left to identity policies.
 */
/** The actions that set the secret's value or change who may read it. */
export const SECRET_CHANGING_ACTIONS = [
  "secretsmanager:PutSecretValue",
  "secretsmanager:UpdateSecret",
  "secretsmanager:UpdateSecretVersionStage",
  "secretsmanager:PutResourcePolicy",
  "secretsmanager:DeleteResourcePolicy",
] as const;

export function restrictSecretAccess({
  secret,
  readerRoleArns,
  operatorPrincipalArns,
}: SecretAccessInputs): aws.secretsmanager.SecretPolicy {
  const deployer = deployPrincipalArn();
  const denyUnless = (sid: string, action: string | string[], allowed: $util.Input<string>[]) => ({
    Sid: sid,
    Effect: "Deny",
    Principal: "*",
    Action: action,
    Resource: "*",
    Condition: { ArnNotEquals: { "aws:PrincipalArn": allowed } },
  });
  return new aws.secretsmanager.SecretPolicy(`${RESOURCE_NAMES.credentialsSecret}Policy`, {
    secretArn: secret.arn,
    policy: $jsonStringify({
      Version: "2012-10-17",
      Statement: [
        denyUnless("OnlyTheRelayReadsTheCredentials", "secretsmanager:GetSecretValue", readerRoleArns),
        denyUnless(
          "OnlyOperatorsChangeTheCredentials",
          [...SECRET_CHANGING_ACTIONS],
          [...operatorPrincipalArns, deployer],
        ),
      ],
    }),
  });
}
