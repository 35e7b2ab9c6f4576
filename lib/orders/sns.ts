import { MESSAGE_ATTRIBUTES } from "../config/index.ts";
import { isRecord } from "./guards.ts";
import type { ValidationIssue } from "./issues.ts";

/** What an SNS message delivered without raw message delivery holds for the relay. */
export type SnsEnvelope =
  | { ok: true; message: string; correlationId: string | undefined }
  | { ok: false; issue: ValidationIssue };

/** SNS message types other than a notification, named in the issue when one arrives. */
const OTHER_SNS_TYPES = new Set(["SubscriptionConfirmation", "UnsubscribeConfirmation"]);

/**
 * Reads an SQS body that SNS wrapped in its JSON envelope (a subscription without raw message delivery):
 * `{"Type": "Notification", "TopicArn": …, "Message": "<the order as JSON text>", "MessageAttributes":
 * {"x-correlation-id": {"Type": "String", "Value": …}}, …}`. Returns undefined for any other value,
 * which is read as an order: an order has neither `Type` nor `TopicArn`.
 *
 * The envelope's signature is not verified: the orders queue's policy decides who may send to it.
 */
export function readSnsEnvelope(value: unknown): SnsEnvelope | undefined {
  if (!isRecord(value) || typeof value.Type !== "string" || typeof value.TopicArn !== "string") {
    return undefined;
  }
  if (value.Type !== "Notification") {
    const type = OTHER_SNS_TYPES.has(value.Type) ? `an SNS ${value.Type}` : "an SNS message of another Type";
    return {
      ok: false,
      issue: {
        path: "Type",
        code: "sns_envelope",
        message: `is ${type}, not a Notification: it carries no order`,
      },
    };
  }
  if (typeof value.Message !== "string") {
    return {
      ok: false,
      issue: {
        path: "Message",
        code: "sns_envelope",
        message: "an SNS notification must carry the order as JSON text in Message",
      },
    };
  }
  const attribute = isRecord(value.MessageAttributes)
    ? value.MessageAttributes[MESSAGE_ATTRIBUTES.correlationId]
    : undefined;
  const correlationId =
    isRecord(attribute) && attribute.Type === "String" && typeof attribute.Value === "string"
      ? attribute.Value
      : undefined;
  return { ok: true, message: value.Message, correlationId };
}
