import { DEFAULTS } from "../config/index.ts";

/**
 * The configurable size limits of an order. The metadata limits are Imburse's documented 50 / 40 / 500;
 * they are configurable because Imburse's own test suites contradict them (see the API notes, §5).
 * A {@link RelaySettings} object can be passed wherever a `Partial<OrderLimits>` is accepted.
 */
export interface OrderLimits {
  /** Most keys in one metadata object (order, instruction or customer default). */
  metadataMaxKeys: number;
  /** Longest metadata key, in UTF-16 code units (the unit of a .NET string length). */
  metadataMaxKeyLength: number;
  /** Longest metadata value, in UTF-16 code units. */
  metadataMaxValueLength: number;
  /** Most instructions in one order. */
  maxInstructions: number;
}

/** The limits used when none are given: the relay's settings defaults, and 100 instructions per order. */
export const DEFAULT_ORDER_LIMITS: Readonly<OrderLimits> = Object.freeze({
  metadataMaxKeys: DEFAULTS.metadataMaxKeys,
  metadataMaxKeyLength: DEFAULTS.metadataMaxKeyLength,
  metadataMaxValueLength: DEFAULTS.metadataMaxValueLength,
  // An Imburse staff scenario accepts 100 instructions and plans to reject 101.
  maxInstructions: 100,
});

const LIMIT_NAMES = Object.keys(DEFAULT_ORDER_LIMITS) as (keyof OrderLimits)[];

/**
 * Completes partial limits with {@link DEFAULT_ORDER_LIMITS}. Only the four limit properties are read,
 * so the relay's whole settings object may be passed.
 *
 * @throws RangeError when a given limit is not a non-negative integer (a configuration mistake).
 */
export function resolveOrderLimits(overrides: Partial<OrderLimits> = {}): OrderLimits {
  const limits = { ...DEFAULT_ORDER_LIMITS };
  for (const name of LIMIT_NAMES) {
    const value = overrides[name];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`OrderLimits.${name} must be a non-negative integer`);
    }
    limits[name] = value;
  }
  return limits;
}
