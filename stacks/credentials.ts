/** The Secrets Manager secret holding the Imburse credentials. */
import { credentialsSecretName, RESOURCE_NAMES } from "../lib/config/names.ts";

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
