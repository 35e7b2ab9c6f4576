/** Imburse's API hosts (Duck Creek Payments Orchestrator): the sandbox, the default everywhere but production. */
export const SANDBOX_BASE_URL = "https://sandbox-api.imbursepayments.com";

/** Imburse's production API host (a tenant may be given a dedicated one instead). */
export const PRODUCTION_BASE_URL = "https://api.imbursepayments.com";

/** The token exchange's path (HMAC in, a bearer token out). */
export const TOKEN_PATH = "/v1/identity/hmac";

/** The orders' path: POST creates an order, `GET {ORDERS_PATH}/{orderRef}` reads one. */
export const ORDERS_PATH = "/v1/order-management";
