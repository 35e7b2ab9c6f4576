/**
 * A simulator of the parts of the Imburse payments API the relay uses: the HMAC token exchange,
 * create order and get order, with seeded fault injection and request recording. It serves the
 * tests, local mode (`npm start`) and anyone trying the relay without an Imburse account.
 */
export {
  DEMO_CREDENTIALS,
  type ExpiresFormat,
  parseHmacAuthorization,
  SIMULATOR_ISSUER,
  type SimulatorCredentials,
} from "./auth.ts";
export type { ErrorBody, ErrorEntry } from "./errors.ts";
export {
  type AppliedFault,
  type FaultInjector,
  type FaultKind,
  type FaultRoute,
  type FaultRule,
  FaultSpecError,
  parseFaultSpec,
  type QueuedFault,
} from "./faults.ts";
export type { TokenClaims } from "./jwt.ts";
export type { InstructionResponse, OrderResponse } from "./orders.ts";
export type { RecordedRequest } from "./recording.ts";
export { type RunningSimulator, type RunSimulatorOptions, runSimulator, type SignalSource } from "./run.ts";
export {
  type Simulator,
  type SimulatorOptions,
  SimulatorOptionsError,
  startSimulator,
} from "./simulator.ts";
export { DEFAULT_VALIDATION_LIMITS, type ValidationLimits } from "./validation.ts";
