import { createSubmitHandler } from "../lib/relay/index.ts";

/** Consumes the orders and retry queues: validate, submit to Imburse once, retry or dead-letter. */
export const handler = createSubmitHandler();
