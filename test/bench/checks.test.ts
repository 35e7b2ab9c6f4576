import { afterEach, describe, expect, it } from "vitest";
import { createsForHeldOrders } from "../../bench/checks.ts";
import { cleanOrder } from "../../bench/runs.ts";
import { hmacAuthorization, randomNonce } from "../../lib/imburse/index.ts";
import {
  DEMO_CREDENTIALS,
  type RecordedRequest,
  type Simulator,
  startSimulator,
} from "../../lib/simulator/index.ts";

const running: Simulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((simulator) => simulator.close()));
});

/** A create as the simulator records it: only the fields the check reads matter. */
function create(orderRef: string, answer: Pick<RecordedRequest, "status" | "fault">): RecordedRequest {
  return {
    seq: 1,
    method: "POST",
    path: "/v1/order-management",
    route: "create",
    headers: {},
    body: { orderRef },
    timestamp: 0,
    reusedSocket: false,
    ...answer,
  };
}

describe("createsForHeldOrders", () => {
  it("counts a create after one answered 201 or 202", () => {
    expect(createsForHeldOrders([create("A", { status: 201 }), create("A", { status: 400 })])).toBe(1);
    expect(createsForHeldOrders([create("B", { status: 202 }), create("B", { status: 400 })])).toBe(1);
  });

  it("counts a create after one whose reply a timeout held back (the order was stored)", () => {
    const held = create("A", { fault: { kind: "timeout", from: "rules" } });
    expect(createsForHeldOrders([held, create("A", { status: 400 })])).toBe(1);
  });

  it("does not count a retry after a throttle or a failure, nor another order", () => {
    const creates = [
      create("A", { status: 429, fault: { kind: 429, retryAfter: 1, from: "rules" } }),
      create("A", { status: 503, fault: { kind: 503, from: "rules" } }),
      create("A", { status: 202 }),
      create("B", { status: 202 }),
    ];
    expect(createsForHeldOrders(creates)).toBe(0);
  });

  it("catches a repeated POST of a bench order, which the simulator answers 202", async () => {
    const simulator = await startSimulator({ seed: 1 });
    running.push(simulator);
    const authorization = hmacAuthorization({
      ...DEMO_CREDENTIALS,
      nonce: randomNonce(),
      timestamp: Math.floor(Date.now() / 1000),
    });
    const token = await fetch(`${simulator.url}/v1/identity/hmac`, {
      method: "POST",
      headers: { authorization },
    });
    const { accessToken } = (await token.json()) as { accessToken: string };
    const post = () =>
      fetch(`${simulator.url}/v1/order-management`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${accessToken}`,
          "x-account-id": DEMO_CREDENTIALS.accountId,
          "x-tenant-id": DEMO_CREDENTIALS.tenantId,
          "content-type": "application/json",
        },
        body: JSON.stringify(cleanOrder("LOCAL-1")),
      });

    expect((await post()).status).toBe(202);
    expect(createsForHeldOrders(simulator.requestsTo("create"))).toBe(0);
    expect((await post()).status).toBe(400);
    expect(createsForHeldOrders(simulator.requestsTo("create"))).toBe(1);
  });
});
