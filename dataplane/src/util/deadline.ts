/**
 * Resolves or rejects as `work` does, or rejects with `message` after `ms`.
 * `work` itself is not cancelled: its later outcome is ignored (and a later
 * rejection is handled, so it never becomes an unhandled one).
 */
export async function withDeadline<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
