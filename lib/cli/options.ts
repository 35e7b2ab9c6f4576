import { InvalidArgumentError } from "commander";
import { ImburseConfigError, validateBaseUrl } from "../imburse/index.ts";

/** A commander argument parser for an integer in [min, max]. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(number) || number < min || number > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `between ${min} and ${max}`;
      throw new InvalidArgumentError(`expected an integer ${range}.`);
    }
    return number;
  };
}

/** A commander argument parser for a number of seconds greater than 0. */
export function positiveSeconds(value: string): number {
  const number = Number(value);
  if (value.trim() === "" || !Number.isFinite(number) || number <= 0) {
    throw new InvalidArgumentError("expected a number of seconds greater than 0.");
  }
  return number;
}

/** A commander argument parser for an http(s) URL. */
export function httpUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError("expected a URL such as https://example.com.");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new InvalidArgumentError("expected an http(s) URL.");
  return value.replace(/\/+$/, "");
}

/**
 * A commander argument parser for an Imburse base URL: https, or plain http only to a loopback host (a
 * simulator), as the relay itself requires.
 */
export function imburseUrl(value: string): string {
  try {
    return validateBaseUrl(value);
  } catch (error) {
    if (error instanceof ImburseConfigError) {
      throw new InvalidArgumentError("expected an https URL (plain http only to a loopback simulator).");
    }
    throw error;
  }
}

const QUEUE_URL = /^https?:\/\/([^/?#]+)\/[^?#]+$/;

/**
 * A commander argument parser for an SQS queue URL. Checked by shape only: local SQS servers name hosts
 * such as `sqs.us-east-1.127.0.0.1:4566` that are not valid WHATWG URLs, and SQS reads only the path.
 */
export function queueUrl(value: string): string {
  if (!QUEUE_URL.test(value)) {
    throw new InvalidArgumentError(
      "expected a queue URL such as https://sqs.eu-west-1.amazonaws.com/123456789012/name.",
    );
  }
  return value;
}

/**
 * The region of an SQS queue URL: `https://sqs.eu-west-1.amazonaws.com/…`, the legacy
 * `https://eu-west-1.queue.amazonaws.com/…`, and local ones such as `http://sqs.us-east-1.localhost:4566/…`.
 */
export function regionOfQueueUrl(url: string): string | undefined {
  const host = QUEUE_URL.exec(url)?.[1] ?? "";
  return /^(?:sqs\.)?([a-z]{2}(?:-[a-z]+)+-\d+)\./.exec(host)?.[1];
}
