/**
 * TODO module doc for tools
 */
export { describeDeadLetter } from "./describe.ts";
export {
  bodyOrderRef,
  type OrderLine,
  OrdersFileError,
  type OrdersFileLine,
  parseOrdersFile,
  parseOrdersLine,
  readOrdersFile,
} from "./orders-file.ts";
export { messageBytes, type PublishResult, publishAttributes, publishOrders, toBatches } from "./publish.ts";
export { SettleRefusedError, settleOrder } from "./settle.ts";
