import { stopTestPostgres } from './global-setup.ts';

export default async function globalTeardown(): Promise<void> {
  await stopTestPostgres();
}
