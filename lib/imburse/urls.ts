/** Imburse's API hosts (Duck Creek Payments Orchestrator): the sandbox, the default everywhere but production. */
export const SANDBOX_BASE_URL = "https://sandbox-api.imbursepayments.com";

/** Imburse's production API host (a tenant may be given a dedicated one instead). */
export const PRODUCTION_BASE_URL = "https://api.imbursepayments.com";
