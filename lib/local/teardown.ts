/**
 * What a start-up has started or created so far, to be undone in reverse order: by `stop()` once it is
 * running, or at once when a later step of the start-up fails (so a half-started session leaves no server
 * listening and no queue behind).
 */
export class Teardown {
  readonly #steps: Array<() => Promise<unknown> | unknown> = [];

  /** Registers how to undo the step just taken. */
  add(undo: () => Promise<unknown> | unknown): void {
    this.#steps.push(undo);
  }

  /**
   * Runs `start`; when it throws, undoes every step registered so far and rethrows the start-up's error
   * (an undo that fails too is not allowed to hide it).
   */
  async guard<T>(start: () => Promise<T>): Promise<T> {
    try {
      return await start();
    } catch (error) {
      await this.run().catch(() => undefined);
      throw error;
    }
  }

  /** Undoes every registered step, last first; each runs even when an earlier one failed. */
  async run(): Promise<void> {
    const failures: unknown[] = [];
    for (const undo of this.#steps.splice(0).reverse()) {
      try {
        await undo();
      } catch (error) {
        failures.push(error);
      }
    }
    if (failures.length > 0) throw new AggregateError(failures, "Some local resources could not be stopped");
  }
}
