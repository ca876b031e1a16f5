/**
 * Waits until `check` returns a truthy value, polling; fails with `what` (and
 * the last error `check` threw) after the deadline, or at once when `signal`
 * aborts (say, the process that should answer died).
 */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  {
    timeoutMs = 20_000,
    intervalMs = 25,
    signal,
  }: { timeoutMs?: number; intervalMs?: number; signal?: AbortSignal } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    signal?.throwIfAborted();
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
