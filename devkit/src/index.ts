export * from './ports.ts';
export * from './postgres.ts';
export * from './redis.ts';
export * from './wait.ts';
export * from './test-db.ts';
export * from './sink.ts';
export * from './services.ts';
