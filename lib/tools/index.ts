/**
 * The operator tools behind the CLI: reading an orders file, publishing orders to the queue, describing
 * dead letters, and settling a ledger item by hand after checking the order at Imburse.
 */
export { describeDeadLetter } from "./describe.ts";
export {
  type OrderLine,
  OrdersFileError,
  type OrdersFileLine,
  parseOrdersFile,
  parseOrdersLine,
  readOrdersFile,
} from "./orders-file.ts";
export { messageBytes, type PublishResult, publishAttributes, publishOrders, toBatches } from "./publish.ts";
export { SettleRefusedError, settleOrder } from "./settle.ts";
