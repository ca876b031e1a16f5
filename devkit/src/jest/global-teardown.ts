import { stopTestPostgres, stopTestRedis } from './global-setup.ts';

export default async function globalTeardown(): Promise<void> {
  await Promise.all([stopTestPostgres(), stopTestRedis()]);
}
