/** The date `days` from `now` (UTC, `YYYY-MM-DD`): fixtures that settle in the future must not age. */
export function settledByDateIn(days: number, now = Date.now()): string {
  return new Date(now + days * 86_400_000).toISOString().slice(0, 10);
}
