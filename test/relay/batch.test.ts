import { createSocket } from "node:dgram";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** A subsegment as the X-Ray SDK streams it to the daemon. */
interface SubsegmentDocument {
  id: string;
  parent_id: string;
  name: string;
  start_time: number;
  end_time?: number;
  annotations?: Record<string, string>;
  aws?: { operation?: string };
}

// Tracing as Lambda runs it with Active tracing: the X-Ray SDK in Lambda mode streams every closed subsegment
// to the daemon over UDP, here a socket on loopback. Set before the SDK loads (vitest.config.ts gives this file a
// process of its own: OWN_PROCESS_TESTS), hence the dynamic import of the harness below.
const daemon = createSocket("udp4");
const documents: SubsegmentDocument[] = [];
const waiters = new Set<() => void>();
daemon.on("message", (message) => {
  // `{"format":"json","version":1}` then a newline, then the document.
  documents.push(JSON.parse(message.toString("utf8").split("\n")[1]!) as SubsegmentDocument);
  for (const wake of waiters) wake();
});
await new Promise<void>((resolve) => daemon.bind(0, "127.0.0.1", resolve));
/** The segment Lambda opens for the invocation (the facade's id): the handler's subsegment hangs under it. */
const FACADE_SEGMENT_ID = "53995c3f42cd8ad8";
Object.assign(process.env, {
  AWS_EXECUTION_ENV: "AWS_Lambda_nodejs24.x",
  LAMBDA_TASK_ROOT: process.cwd(),
  _HANDLER: "submit.handler",
  _X_AMZN_TRACE_ID: `Root=1-6740b1a0-0123456789abcdef01234567;Parent=${FACADE_SEGMENT_ID};Sampled=1`,
  AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${daemon.address().port}`,
});
const { order, startRelayHarness } = await import("../support/relay-harness.ts");

/** Resolves once the documents received satisfy `done` (each datagram arrives after the call that sent it). */
function received(done: (all: SubsegmentDocument[]) => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (!done(documents)) return;
      waiters.delete(check);
      resolve();
    };
    waiters.add(check);
    check();
  });
}

/** The ids of `root` and every subsegment below it. */
function subtree(rootId: string): Set<string> {
  const ids = new Set([rootId]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const doc of documents) {
      if (ids.has(doc.parent_id) && !ids.has(doc.id)) {
        ids.add(doc.id);
        grew = true;
      }
    }
  }
  return ids;
}

let relay: Awaited<ReturnType<typeof startRelayHarness>>;

beforeAll(async () => {
  relay = await startRelayHarness({ settings: { recordConcurrency: 2 } });
});
afterAll(async () => {
  await relay?.stop();
  daemon.close();
});

describe("traces", () => {
  it("show each order whole: its ledger, Imburse and SQS calls are children of its own `## order` subsegment", async () => {
    const refs = ["TRACE-A", "TRACE-B", "TRACE-C", "TRACE-D"];
    // TRACE-C fails once: its retry is a ledger mark and an SQS message of its own.
    relay.simulator.faults.enqueue({ route: "create", kind: 503, orderRef: "TRACE-C" });
    for (const ref of refs) await relay.publish(order(ref), `corr-${ref}`);
    const { records, response } = await relay.deliver(relay.local.queues.orders);
    expect(records).toHaveLength(4);
    expect(response.batchItemFailures).toEqual([]);

    const orderOf = (ref: string) =>
      documents.find((doc) => doc.name === "## order" && doc.annotations?.orderRef === ref);
    await received(() => refs.every(orderOf) && documents.some((doc) => doc.name === "## submit.handler"));
    const handler = documents.find((doc) => doc.name === "## submit.handler")!;
    expect(handler.parent_id).toBe(FACADE_SEGMENT_ID);
    const orders = refs.map((ref) => orderOf(ref)!);
    for (const subsegment of orders) expect(subsegment.parent_id).toBe(handler.id);
    // Two records in flight at once (record concurrency 2): their subsegments overlap in time.
    const [a, b] = orders as [SubsegmentDocument, SubsegmentDocument];
    expect(a.start_time).toBeLessThan(b.end_time!);
    expect(b.start_time).toBeLessThan(a.end_time!);

    const trees = new Map(refs.map((ref, i) => [ref, subtree(orders[i]!.id)]));
    const within = (ref: string, predicate: (doc: SubsegmentDocument) => boolean) =>
      documents.filter((doc) => trees.get(ref)!.has(doc.id) && predicate(doc));
    for (const ref of refs) {
      // Its claim: one conditional UpdateItem, under its own subsegment and no other.
      expect(within(ref, (doc) => doc.aws?.operation === "UpdateItem")).toHaveLength(1);
      // Every POST of it to Imburse carried the id of a subsegment of its own trace.
      const creates = relay.creates(ref);
      expect(creates.length).toBeGreaterThan(0);
      for (const create of creates) {
        const parent = /Parent=([0-9a-f]{16})/.exec(String(create.headers["x-amzn-trace-id"]))?.[1];
        expect(trees.get(ref)!.has(parent!), `${ref}: POST traced under ${parent}`).toBe(true);
      }
    }
    expect(within("TRACE-C", (doc) => doc.aws?.operation === "SendMessage")).toHaveLength(1);
    for (const ref of ["TRACE-A", "TRACE-B", "TRACE-D"]) {
      expect(within(ref, (doc) => doc.aws?.operation === "SendMessage")).toEqual([]);
    }
    // The batch's ledger write belongs to the invocation, not to any one order.
    const flush = documents.find((doc) => doc.aws?.operation === "BatchWriteItem")!;
    expect(flush.parent_id).toBe(handler.id);
  });
});
