import { vi } from "vitest";

/** A JSON line written by the code under test: a Powertools log line or an EMF metrics blob. */
export type JsonLine = Record<string, unknown>;

/**
 * Captures the JSON lines written to stdout and stderr (Powertools Logger and Metrics) into the returned
 * array, which fills as the code runs; other output passes through. `vi.restoreAllMocks()` undoes it.
 */
export function captureJsonOutput(): JsonLine[] {
  const lines: JsonLine[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: string | Uint8Array, ...rest: unknown[]) => boolean;
    vi.spyOn(stream, "write").mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
      if (!text.startsWith("{")) return write(chunk, ...rest);
      for (const line of text.split("\n")) if (line.trim() !== "") lines.push(JSON.parse(line) as JsonLine);
      return true;
    });
  }
  return lines;
}
