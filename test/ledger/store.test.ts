import type { AddressInfo } from "node:net";
import { ConditionalCheckFailedException, DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import dynalite from "dynalite";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type Claim,
  claimedItem,
  dynamoDbLedger,
  LedgerUnavailableError,
  type OrderLedger,
  settledItem,
} from "../../lib/ledger/index.ts";
import { createLedgerTable } from "../../lib/local/index.ts";
import { CASE_CLAIM, CLAIM_CASES, NOW } from "../support/claim-cases.ts";

const credentials = { accessKeyId: "local", secretAccessKey: "local" };

let server: ReturnType<typeof dynalite>;
let endpoint: string;
let requests: string[] = [];
let client: DynamoDBClient;
let ledger: OrderLedger;
let table = 0;

const claim = (overrides: Partial<Claim> = {}): Claim => ({
  ...CASE_CLAIM,
  firstReceivedAt: NOW,
  ttlSeconds: 3_600,
  ...overrides,
});

/** A ledger on a new, empty table; `requests` lists the DynamoDB operations it sends. */
async function freshLedger(dynamo = client): Promise<OrderLedger> {
  const name = `ledger-${++table}`;
  await createLedgerTable(dynamo, name);
  requests = [];
  return dynamoDbLedger(dynamo, name);
}

beforeAll(async () => {
  server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  server.on("request", (request: { headers: Record<string, string> }) => {
    requests.push(String(request.headers["x-amz-target"]).split(".").pop() ?? "");
  });
  client = new DynamoDBClient({ endpoint, region: "us-east-1", credentials });
});
afterAll(async () => {
  client.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(async () => {
  ledger = await freshLedger();
});

describe("the claim's conditional write agrees with judgeClaim", () => {
  it.each(CLAIM_CASES)("$name → $kind", async ({ existing, kind, readFirst }) => {
    const name = `ledger-${++table}`;
    await createLedgerTable(client, name);
    const store = dynamoDbLedger(client, name);
    if (existing) {
      await client.send(
        new PutItemCommand({ TableName: name, Item: marshall(existing, { removeUndefinedValues: true }) }),
      );
    }
    const outcome = await store.claim(CASE_CLAIM);
    if (kind === "claimable") expect(outcome).toMatchObject({ kind: "claimed", readFirst });
    else expect(outcome.kind).toBe(kind);
  });
});

describe("dynamoDbLedger on dynalite", () => {
  it("claims an order with one UpdateItem, leaving exactly the item claimedItem describes", async () => {
    const outcome = await ledger.claim(claim());
    expect(outcome).toEqual({ kind: "claimed", item: claimedItem(undefined, claim()), readFirst: false });
    expect(requests).toEqual(["UpdateItem"]);
    expect(await ledger.find("ORDER-1")).toEqual([claimedItem(undefined, claim())]);
  });

  it("refuses a second delivery while the lease is live (read back with one GetItem: dynalite returns no item)", async () => {
    await ledger.claim(claim());
    requests = [];
    const second = await ledger.claim(claim({ owner: "owner-2", now: NOW + 1_000 }));
    expect(second).toMatchObject({ kind: "busy", until: NOW + 60_000 });
    expect(requests).toEqual(["UpdateItem", "GetItem"]);
  });

  it("takes over a claim whose lease ended, and says to read Imburse first", async () => {
    await ledger.claim(claim());
    const later = await ledger.claim(claim({ owner: "owner-2", now: NOW + 60_000, attempt: 1 }));
    expect(later).toMatchObject({
      kind: "claimed",
      readFirst: true,
      item: { version: 2, leaseOwner: "owner-2" },
    });
  });

  it("acknowledges a completed order with the same content and refuses other content", async () => {
    const claimed = await ledger.claim(claim());
    if (claimed.kind !== "claimed") throw new Error("not claimed");
    const done = settledItem(
      claimed.item,
      { state: "submitted", lastOutcome: { result: "submitted" } },
      false,
      NOW,
    );
    expect(await ledger.putAll([done])).toEqual([]);
    expect(await ledger.claim(claim({ owner: "o2", now: NOW + 1 }))).toMatchObject({ kind: "duplicate" });
    expect(await ledger.claim(claim({ owner: "o3", now: NOW + 1, fingerprint: "fp-2" }))).toMatchObject({
      kind: "conflict",
    });
    // Past its expiry the item counts as absent: the order may be claimed again.
    expect(await ledger.claim(claim({ owner: "o4", now: NOW + 3_600_000 }))).toMatchObject({
      kind: "claimed",
    });
  });

  it("keeps the may-exist mark across a retry and a redrive until a confirmed outcome", async () => {
    const first = await ledger.claim(claim());
    if (first.kind !== "claimed") throw new Error("not claimed");
    const waiting = settledItem(
      first.item,
      { state: "waiting", mayHaveReached: true, lastOutcome: { result: "network" } },
      false,
      NOW,
    );
    expect(await ledger.putIfOwner(waiting, "owner-1")).toBe(true);
    const second = await ledger.claim(claim({ owner: "owner-2", now: NOW + 5_000, attempt: 2 }));
    expect(second).toMatchObject({ kind: "claimed", readFirst: true, item: { mayExist: true, attempts: 2 } });
  });

  it("writes a state only while this delivery owns the lease", async () => {
    const first = await ledger.claim(claim());
    if (first.kind !== "claimed") throw new Error("not claimed");
    await ledger.claim(claim({ owner: "owner-2", now: NOW + 60_000 }));
    const late = settledItem(
      first.item,
      { state: "submitted", lastOutcome: { result: "submitted" } },
      false,
      NOW,
    );
    expect(await ledger.putIfOwner(late, "owner-1")).toBe(false);
    expect((await ledger.find("ORDER-1"))[0]).toMatchObject({ state: "claimed", leaseOwner: "owner-2" });
  });

  it("settles only an item that has not moved on (version)", async () => {
    const first = await ledger.claim(claim());
    if (first.kind !== "claimed") throw new Error("not claimed");
    const settled = { ...first.item, state: "already-existed" as const, version: 2 };
    expect(await ledger.putIfVersion(settled, 5)).toBe(false);
    expect(await ledger.putIfVersion(settled, 1)).toBe(true);
  });

  it("writes over an item only if nothing wrote it since it was read: not version alone, state and last attempt too", async () => {
    const first = await ledger.claim(claim());
    if (first.kind !== "claimed") throw new Error("not claimed");
    // A state write keeps the version: a read taken before it must not be written back.
    const waiting = settledItem(
      first.item,
      { state: "waiting", mayHaveReached: false, lastOutcome: { result: "throttled" } },
      false,
      NOW + 10,
    );
    expect(await ledger.putIfOwner(waiting, "owner-1")).toBe(true);
    expect(await ledger.putIfUnchanged({ ...first.item, correlationId: "stale" }, first.item)).toBe(false);
    expect(await ledger.putIfUnchanged({ ...waiting, correlationId: "fresh" }, waiting)).toBe(true);
    expect((await ledger.find("ORDER-1"))[0]).toMatchObject({ state: "waiting", correlationId: "fresh" });
  });

  it("keeps one item per tenant", async () => {
    await ledger.claim(claim());
    await ledger.claim(claim({ tenantId: "tenant-2" }));
    expect((await ledger.find("ORDER-1")).map((i) => i.tenantId).sort()).toEqual(["tenant-1", "tenant-2"]);
  });

  it("lists stuck orders from the open-orders index: lapsed claims and may-exist, not the rest", async () => {
    const lapsed = await ledger.claim(claim({ orderRef: "LAPSED" }));
    const maybe = await ledger.claim(claim({ orderRef: "MAYBE" }));
    const done = await ledger.claim(claim({ orderRef: "DONE" }));
    const answered = await ledger.claim(claim({ orderRef: "ANSWERED" }));
    if (
      lapsed.kind !== "claimed" ||
      maybe.kind !== "claimed" ||
      done.kind !== "claimed" ||
      answered.kind !== "claimed"
    )
      throw new Error("not claimed");
    await ledger.putAll([
      settledItem(
        maybe.item,
        { state: "waiting", mayHaveReached: true, lastOutcome: { result: "network" } },
        false,
        NOW,
      ),
      settledItem(done.item, { state: "submitted", lastOutcome: { result: "submitted" } }, false, NOW),
      settledItem(
        answered.item,
        { state: "waiting", mayHaveReached: false, lastOutcome: { result: "throttled" } },
        false,
        NOW,
      ),
    ]);
    const stuck = await ledger.stuck(NOW + 60_000 + 900_000, 900_000);
    expect(stuck.map((i) => i.orderRef).sort()).toEqual(["LAPSED", "MAYBE"]);
    expect(await ledger.stuck(NOW + 1_000, 900_000)).toEqual([]);
  });

  it("reports a ledger it cannot reach as unavailable, never as a verdict", async () => {
    const down = new DynamoDBClient({
      endpoint: "http://127.0.0.1:9",
      region: "us-east-1",
      credentials,
      maxAttempts: 1,
    });
    const unreachable = dynamoDbLedger(down, "ledger-1");
    await expect(unreachable.claim(claim())).rejects.toBeInstanceOf(LedgerUnavailableError);
    await expect(unreachable.find("ORDER-1")).rejects.toBeInstanceOf(LedgerUnavailableError);
    await expect(unreachable.putAll([claimedItem(undefined, claim())])).resolves.toHaveLength(1);
    down.destroy();
  });
});

describe("dynamoDbLedger when a write races or is throttled", () => {
  /** A client on dynalite whose first `times` calls of `command` answer `answer` instead. */
  async function interfered(command: string, times: number, answer: (args: unknown) => unknown) {
    const real = new DynamoDBClient({ endpoint, region: "us-east-1", credentials });
    const store = await freshLedger(real);
    let left = times;
    real.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === command && left > 0) {
          left--;
          return answer(args) as never;
        }
        return next(args);
      },
      { step: "initialize", name: "interfere" },
    );
    return { store, real };
  }

  it("claims again when the item changed between the refused write and the read", async () => {
    const { store, real } = await interfered("UpdateItemCommand", 1, () => {
      throw new ConditionalCheckFailedException({ message: "raced", $metadata: {} });
    });
    // The refused write read back no item at all (another delivery's claim expired and went away): claim again.
    expect(await store.claim(claim())).toMatchObject({ kind: "claimed", readFirst: false });
    expect(requests).toEqual(["GetItem", "UpdateItem"]);
    real.destroy();
  });

  it("writes in a later round what DynamoDB left unprocessed, and reports what it never took", async () => {
    const item = claimedItem(undefined, claim());
    const unprocessed = () => ({
      output: {
        UnprocessedItems: {
          // As the document client hands it back: unmarshalled.
          [`ledger-${table}`]: [{ PutRequest: { Item: item } }],
        },
        $metadata: {},
      },
    });
    const once = await interfered("BatchWriteItemCommand", 1, unprocessed);
    expect(await once.store.putAll([item])).toEqual([]);
    // The first round was answered "unprocessed" without reaching dynalite; the second wrote it.
    expect(requests).toEqual(["BatchWriteItem"]);
    expect(await once.store.find("ORDER-1")).toEqual([item]);
    once.real.destroy();

    const always = await interfered("BatchWriteItemCommand", 3, unprocessed);
    expect(await always.store.putAll([item])).toEqual([item]);
    always.real.destroy();
  });
});

describe("dynamoDbLedger where DynamoDB returns the refusing item (ReturnValuesOnConditionCheckFailure)", () => {
  it("judges the returned item without a GetItem", async () => {
    const real = new DynamoDBClient({ endpoint, region: "us-east-1", credentials });
    const withItem = await freshLedger(real);
    const held = claimedItem(undefined, claim({ owner: "someone-else", leaseMs: 30_000 }));
    // As real DynamoDB answers a refused conditional write: the exception carries the current item.
    real.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "UpdateItemCommand") {
          throw new ConditionalCheckFailedException({
            message: "The conditional request failed",
            $metadata: {},
            Item: marshall(held, { removeUndefinedValues: true }),
          });
        }
        return next(args);
      },
      { step: "initialize", name: "refuseWithItem" },
    );
    const outcome = await withItem.claim(claim());
    expect(outcome).toMatchObject({ kind: "busy", until: NOW + 30_000 });
    expect(requests).toEqual([]);
    real.destroy();
  });
});
