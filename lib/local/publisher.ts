import { claimedOrderRef } from "../orders/index.ts";
import type { OrderLine, PublishResult } from "../tools/index.ts";

/** Sends lines, reporting each line's result as soon as it is known. */
export type PublishLines = (
  lines: readonly OrderLine[],
  onResult: (result: PublishResult) => void,
) => Promise<unknown>;

/**
 * Publishes the lines of a local run. A line that repeats the orderRef of an earlier line waits until that
 * line has its outcome: the earlier line is then the original and the later one the duplicate or the
 * conflict, every run, instead of whichever the relay happened to start first (two deliveries of one
 * orderRef in flight at once make one of them wait out the visibility timeout, as in AWS).
 */
export class SequencedPublisher {
  readonly #publish: PublishLines;
  readonly #onResult: (result: PublishResult) => void;
  /** Line → the next line with the same orderRef. */
  readonly #next = new Map<number, OrderLine>();

  constructor(publish: PublishLines, onResult: (result: PublishResult) => void) {
    this.#publish = publish;
    this.#onResult = onResult;
  }

  /** Publishes the first line of every orderRef (and every line without one); the rest wait their turn. */
  async start(lines: readonly OrderLine[]): Promise<void> {
    const last = new Map<string, number>();
    const now: OrderLine[] = [];
    for (const line of lines) {
      const orderRef = claimedOrderRef(line.body);
      const previous = orderRef === undefined ? undefined : last.get(orderRef);
      if (previous === undefined) now.push(line);
      else this.#next.set(previous, line);
      if (orderRef !== undefined) last.set(orderRef, line.line);
    }
    await this.#send(now);
  }

  /** Tells that a line has its outcome: publishes the line waiting for it, if any. */
  async completed(line: number): Promise<void> {
    const next = this.#next.get(line);
    if (!next) return;
    this.#next.delete(line);
    await this.#send([next]);
  }

  async #send(lines: readonly OrderLine[]): Promise<void> {
    if (lines.length > 0) await this.#publish(lines, this.#onResult);
  }
}
