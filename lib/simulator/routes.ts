import type { IncomingHttpHeaders } from "node:http";
import { authorizeBearer, type HmacVerifier, issueToken, type TokenIssuerOptions } from "./auth.ts";
import { type ApiErrorDetail, errorBody, type RequestIds } from "./errors.ts";
import type { OrderStore } from "./orders.ts";
import { type ValidationLimits, validateCreateOrder } from "./validation.ts";

/** A route the simulator serves, with the orderRef of a get. */
export type MatchedRoute = { route: "token" } | { route: "create" } | { route: "get"; orderRef: string };

/** Maps a request line to a route; undefined for anything the simulator does not serve (a 404). */
export function matchRoute(method: string, pathname: string): MatchedRoute | undefined {
  if (method === "POST" && pathname === "/v1/identity/hmac") return { route: "token" };
  if (method === "POST" && pathname === "/v1/order-management") return { route: "create" };
  const get = method === "GET" ? /^\/v1\/order-management\/([^/]+)$/.exec(pathname) : null;
  if (!get?.[1]) return undefined;
  try {
    return { route: "get", orderRef: decodeURIComponent(get[1]) };
  } catch {
    return undefined;
  }
}

/** What to answer: the server adds the correlation header and serialises the body. */
export interface SimResponse {
  status: number;
  headers?: Record<string, string>;
  /** JSON-serialised; absent for an empty body. */
  body?: unknown;
}

/** One request as the handlers see it. */
export interface RouteRequest {
  headers: IncomingHttpHeaders;
  /** The exact body text (the HMAC body hash covers it). */
  rawBody: string;
  /** The body parsed as JSON; undefined when empty or not JSON. */
  body: unknown;
  ids: RequestIds;
  nowMs: number;
}

/** The state and settings the handlers work with. */
export interface RouteState {
  hmac: HmacVerifier;
  token: TokenIssuerOptions;
  store: OrderStore;
  limits: ValidationLimits;
  orderNotFoundStatus: 400 | 404;
}

/** An Imburse error response. */
export function errorResponse(
  status: number,
  errors: readonly ApiErrorDetail[],
  request: Pick<RouteRequest, "ids" | "nowMs">,
  headers?: Record<string, string>,
): SimResponse {
  return { status, body: errorBody(errors, request.ids, request.nowMs), ...(headers ? { headers } : {}) };
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function token(request: RouteRequest, state: RouteState): SimResponse {
  const verified = state.hmac.verify(
    firstHeader(request.headers.authorization),
    request.rawBody,
    request.nowMs,
  );
  if (!verified.ok) return errorResponse(verified.status, verified.errors, request);
  return { status: 201, body: issueToken(verified.credentials, state.token, request.nowMs) };
}

function create(request: RouteRequest, state: RouteState): SimResponse {
  const auth = authorizeBearer(request.headers, state.token.secret, request.nowMs);
  if (!auth.ok) return errorResponse(auth.status, auth.errors, request);
  const validated = validateCreateOrder(request.body, state.limits);
  if (!validated.ok) return errorResponse(400, validated.errors, request);
  const { order } = validated;
  if (!state.store.create(auth.claims.tenantId, order)) {
    return errorResponse(
      400,
      [{ errorCode: "ORDER_ALREADY_EXISTS", params: { OrderRef: order.orderRef } }],
      request,
    );
  }
  // 202 with instructions: Imburse processes them asynchronously (notes §3.1).
  return { status: order.instructions?.length ? 202 : 201 };
}

function get(request: RouteRequest, state: RouteState, orderRef: string): SimResponse {
  const auth = authorizeBearer(request.headers, state.token.secret, request.nowMs);
  if (!auth.ok) return errorResponse(auth.status, auth.errors, request);
  const order = state.store.get(auth.claims.tenantId, orderRef);
  if (!order) {
    return errorResponse(
      state.orderNotFoundStatus,
      [{ errorCode: "ORDER_NOT_FOUND", params: { OrderRef: orderRef } }],
      request,
    );
  }
  return { status: 200, body: order };
}

/** Handles a matched route: the simulated Imburse behaviour, without any fault. */
export function handleRoute(route: MatchedRoute, request: RouteRequest, state: RouteState): SimResponse {
  switch (route.route) {
    case "token":
      return token(request, state);
    case "create":
      return create(request, state);
    case "get":
      return get(request, state, route.orderRef);
  }
}

/** The orderRef a request is about, for orderRef-matched faults. */
export function orderRefOf(route: MatchedRoute, body: unknown): string | undefined {
  if (route.route === "get") return route.orderRef;
  if (route.route !== "create" || typeof body !== "object" || body === null) return undefined;
  const orderRef = (body as { orderRef?: unknown }).orderRef;
  return typeof orderRef === "string" ? orderRef : undefined;
}
