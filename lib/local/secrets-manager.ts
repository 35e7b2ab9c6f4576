import { randomUUID } from "node:crypto";
import { ServiceError, startJsonService } from "./json-service.ts";

/** A running Secrets Manager stand-in. */
export interface SecretsManagerStandIn {
  /** `http://127.0.0.1:PORT`: give it to the SDK as `AWS_ENDPOINT_URL_SECRETS_MANAGER`. */
  url: string;
  /** Calls received, per operation (GetSecretValue, …): lets tests count fetches. */
  calls: Record<string, number>;
  /** Answer the next `count` calls with a 500 InternalServiceError (an outage). */
  failNext(count: number): void;
  close(): Promise<void>;
}

interface Version {
  id: string;
  value: string;
  stages: string[];
  created: Date;
}

interface Secret {
  name: string;
  arn: string;
  versions: Version[];
}

/**
 * A small in-memory Secrets Manager speaking the service's JSON 1.1 protocol (CreateSecret,
 * PutSecretValue, GetSecretValue, DescribeSecret, DeleteSecret), so the real SDK client and Powertools Parameters
 * run unchanged in local mode and tests. No npm or Debian package provides one (see the README).
 */
export async function startSecretsManagerStandIn(
  options: { port?: number; region?: string; account?: string } = {},
): Promise<SecretsManagerStandIn> {
  const region = options.region ?? "us-east-1";
  const account = options.account ?? "000000000000";
  const secrets = new Map<string, Secret>();

  const find = (id: unknown): Secret => {
    const key = String(id ?? "");
    const secret = secrets.get(key) ?? [...secrets.values()].find((s) => s.arn === key);
    if (!secret)
      throw new ServiceError("ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
    return secret;
  };
  const current = (secret: Secret) => secret.versions.find((v) => v.stages.includes("AWSCURRENT"));
  const putVersion = (secret: Secret, value: string) => {
    for (const version of secret.versions) {
      version.stages = version.stages.includes("AWSCURRENT") ? ["AWSPREVIOUS"] : [];
    }
    const version: Version = { id: randomUUID(), value, stages: ["AWSCURRENT"], created: new Date() };
    secret.versions.push(version);
    return version;
  };

  const operations: Record<string, (input: Record<string, unknown>) => unknown> = {
    CreateSecret(input) {
      const name = String(input.Name ?? "");
      if (!name) throw new ServiceError("InvalidParameterException", "Name is required.");
      if (secrets.has(name))
        throw new ServiceError("ResourceExistsException", `The secret ${name} already exists.`);
      const secret: Secret = {
        name,
        arn: `arn:aws:secretsmanager:${region}:${account}:secret:${name}-${randomUUID().slice(0, 6)}`,
        versions: [],
      };
      secrets.set(name, secret);
      const version =
        typeof input.SecretString === "string" ? putVersion(secret, input.SecretString) : undefined;
      return { ARN: secret.arn, Name: name, ...(version ? { VersionId: version.id } : {}) };
    },
    PutSecretValue(input) {
      const secret = find(input.SecretId);
      if (typeof input.SecretString !== "string") {
        throw new ServiceError("InvalidParameterException", "SecretString is required.");
      }
      const version = putVersion(secret, input.SecretString);
      return { ARN: secret.arn, Name: secret.name, VersionId: version.id, VersionStages: version.stages };
    },
    GetSecretValue(input) {
      const secret = find(input.SecretId);
      const stage = typeof input.VersionStage === "string" ? input.VersionStage : undefined;
      const version =
        typeof input.VersionId === "string"
          ? secret.versions.find((v) => v.id === input.VersionId)
          : stage
            ? secret.versions.find((v) => v.stages.includes(stage))
            : current(secret);
      if (!version) {
        throw new ServiceError(
          "ResourceNotFoundException",
          "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
        );
      }
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: version.id,
        SecretString: version.value,
        VersionStages: version.stages,
        CreatedDate: version.created.getTime() / 1000,
      };
    },
    DeleteSecret(input) {
      const secret = find(input.SecretId);
      secrets.delete(secret.name);
      return { ARN: secret.arn, Name: secret.name, DeletionDate: Date.now() / 1000 };
    },
    DescribeSecret(input) {
      const secret = find(input.SecretId);
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionIdsToStages: Object.fromEntries(secret.versions.map((v) => [v.id, v.stages])),
      };
    },
  };

  const service = await startJsonService({
    targetPrefix: "secretsmanager",
    operations,
    outageType: "InternalServiceError",
    ...(options.port !== undefined ? { port: options.port } : {}),
  });
  return service;
}
