import type { InstructionRequest, OrderRequest } from "./validation.ts";

/** Where a nested id of an instruction came from (Imburse's `source` values; the simulator uses two). */
export type IdSource = "NONE" | "MANUALLY_SET";

/** An instruction as `GET /v1/order-management/{orderRef}` returns it. */
export interface InstructionResponse {
  instructionRef: string;
  customerRef: string;
  direction: "CREDIT" | "DEBIT";
  /** A JSON number, as Imburse's responses carry it, even when the request sent a string. */
  amount: number;
  currency: string;
  country: string;
  settledByDate: string;
  /** Always READY: the simulator processes nothing after creation. */
  status: "READY";
  scheme: { schemeId: string | null; source: IdSource; canUpdate: boolean };
  financialInstrument: { financialInstrumentId: string | null; source: IdSource; canUpdate: boolean };
  metadata: Record<string, string>;
}

/** An order as `GET /v1/order-management/{orderRef}` returns it. */
export interface OrderResponse {
  orderRef: string;
  instructions: InstructionResponse[];
  metadata: Record<string, string>;
  customerDefaults: Record<string, unknown>;
}

/** An empty financialInstrumentId was accepted by Imburse (notes §3.1); the simulator reads it as unset. */
const idOrNull = (id: string | undefined): string | null => (id ? id : null);
const sourceOf = (id: string | undefined): IdSource => (id ? "MANUALLY_SET" : "NONE");

function toInstructionResponse(instruction: InstructionRequest): InstructionResponse {
  return {
    instructionRef: instruction.instructionRef,
    customerRef: instruction.customerRef,
    direction: instruction.direction,
    amount: Number(instruction.amount),
    currency: instruction.currency,
    country: instruction.country,
    settledByDate: instruction.settledByDate,
    status: "READY",
    scheme: {
      schemeId: idOrNull(instruction.schemeId),
      source: sourceOf(instruction.schemeId),
      canUpdate: true,
    },
    financialInstrument: {
      financialInstrumentId: idOrNull(instruction.financialInstrumentId),
      source: sourceOf(instruction.financialInstrumentId),
      canUpdate: true,
    },
    metadata: { ...instruction.metadata },
  };
}

/** The response form of a validated create-order request. */
function toOrderResponse(order: OrderRequest): OrderResponse {
  return {
    orderRef: order.orderRef,
    instructions: (order.instructions ?? []).map(toInstructionResponse),
    metadata: { ...order.metadata },
    customerDefaults: structuredClone(order.customerDefaults ?? {}),
  };
}

/** Orders per tenant, keyed by orderRef. Reads return copies so callers cannot change the store. */
export class OrderStore {
  readonly #byTenant = new Map<string, Map<string, OrderResponse>>();

  /** Stores the order; false when the tenant already has one with this orderRef. */
  create(tenantId: string, order: OrderRequest): boolean {
    let orders = this.#byTenant.get(tenantId);
    if (!orders) {
      orders = new Map();
      this.#byTenant.set(tenantId, orders);
    }
    if (orders.has(order.orderRef)) return false;
    orders.set(order.orderRef, toOrderResponse(order));
    return true;
  }

  get(tenantId: string, orderRef: string): OrderResponse | undefined {
    const order = this.#byTenant.get(tenantId)?.get(orderRef);
    return order && structuredClone(order);
  }

  /** The tenant's orders, or every tenant's, in creation order. */
  list(tenantId?: string): OrderResponse[] {
    const tenants = tenantId === undefined ? [...this.#byTenant.values()] : [this.#byTenant.get(tenantId)];
    return tenants.flatMap((orders) => [...(orders?.values() ?? [])].map((order) => structuredClone(order)));
  }

  clear(): void {
    this.#byTenant.clear();
  }
}
