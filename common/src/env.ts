import type { z } from 'zod';

/**
 * Parses a program's environment through its schema once, with one message that
 * names every bad variable. Programs call this from their `config.ts` only.
 */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined>,
): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`);
  throw new Error(`invalid configuration:\n  ${problems.join('\n  ')}`);
}
