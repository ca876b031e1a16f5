import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { waitFor } from './wait.ts';

/** What `make dev` keeps between runs, so the write key and login stay the same. */
interface DemoState {
  email: string;
  password: string;
  dataplaneToken?: string;
}

export interface DemoSeed {
  email: string;
  password: string;
  tenantId: string;
  workspaceId: string;
  writeKey: string;
  dataplaneToken: string;
}

const TENANT_ID = 'demo';
const SOURCE_NAME = 'Demo source';
const DESTINATION_NAME = 'Demo webhook (local sink)';

/**
 * Seeds the demo tenant through the control plane's own API, the way a user
 * would: a user, the `demo` tenant (onboarding job), a source, a webhook
 * destination pointing at the local sink, their connection and a data-plane
 * token. Idempotent: a second run finds and reuses what exists.
 */
export async function seedDemo(options: {
  controlPlaneUrl: string;
  sinkUrl: string;
  stateFile: string;
}): Promise<DemoSeed> {
  const api = client(options.controlPlaneUrl);
  const state = loadState(options.stateFile);

  let login = await api.call<{ accessToken: string }>(
    'POST',
    '/v1/auth/login',
    undefined,
    {
      email: state.email,
      password: state.password,
    },
    [401],
  );
  if (login.status === 401) {
    login = await api.call('POST', '/v1/auth/signup', undefined, {
      email: state.email,
      password: state.password,
      name: 'Demo',
    });
  }
  const token = login.body.accessToken;

  const tenants = await api.call<{ tenants: { id: string }[] }>('GET', '/v1/tenants', token);
  if (!tenants.body.tenants.some((t) => t.id === TENANT_ID)) {
    const job = await api.call<{ jobId: string }>('POST', '/v1/tenants', token, {
      id: TENANT_ID,
      name: 'Demo',
    });
    await waitFor(
      'the demo tenant onboarding job to finish',
      async () => {
        const status = await api.call<{ state: string; error?: string }>(
          'GET',
          `/v1/jobs/${job.body.jobId}`,
          token,
        );
        if (status.body.state === 'failed')
          throw new Error(`onboarding failed: ${status.body.error ?? 'no reason'}`);
        return status.body.state === 'completed';
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  }
  const base = `/v1/tenants/${TENANT_ID}`;
  const workspaceId = (await api.call<{ workspaces: { id: string }[] }>('GET', `${base}/workspaces`, token))
    .body.workspaces[0]!.id;
  const ws = `${base}/workspaces/${workspaceId}`;

  const sources = (
    await api.call<{ sources: { id: string; name: string; writeKey: string }[] }>(
      'GET',
      `${ws}/sources`,
      token,
    )
  ).body.sources;
  const source =
    sources.find((s) => s.name === SOURCE_NAME) ??
    (await api.call<{ id: string; writeKey: string }>('POST', `${ws}/sources`, token, { name: SOURCE_NAME }))
      .body;

  const webhook = { url: `${options.sinkUrl}/demo-webhook`, method: 'POST', batching: false };
  const destinations = (
    await api.call<{ destinations: { id: string; name: string }[] }>('GET', `${ws}/destinations`, token)
  ).body.destinations;
  const existing = destinations.find((d) => d.name === DESTINATION_NAME);
  const destination = existing
    ? (
        await api.call<{ id: string }>('PATCH', `${ws}/destinations/${existing.id}`, token, {
          config: webhook,
        })
      ).body
    : (
        await api.call<{ id: string }>('POST', `${ws}/destinations`, token, {
          name: DESTINATION_NAME,
          type: 'webhook',
          config: webhook,
        })
      ).body;

  const connections = (
    await api.call<{ connections: { sourceId: string; destinationId: string }[] }>(
      'GET',
      `${ws}/connections`,
      token,
    )
  ).body.connections;
  if (!connections.some((c) => c.sourceId === source.id && c.destinationId === destination.id))
    await api.call('POST', `${ws}/connections`, token, {
      sourceId: source.id,
      destinationId: destination.id,
    });

  let dataplaneToken = state.dataplaneToken;
  if (
    !dataplaneToken ||
    (await api.call('GET', '/v1/dataplane/config', dataplaneToken, undefined, [401])).status === 401
  ) {
    dataplaneToken = (
      await api.call<{ token: string }>('POST', `${base}/dataplane-tokens`, token, { name: 'make dev' })
    ).body.token;
    saveState(options.stateFile, { ...state, dataplaneToken });
  }
  return {
    email: state.email,
    password: state.password,
    tenantId: TENANT_ID,
    workspaceId,
    writeKey: source.writeKey,
    dataplaneToken,
  };
}

function loadState(file: string): DemoState {
  if (existsSync(file)) {
    const state = JSON.parse(readFileSync(file, 'utf8')) as DemoState;
    saveState(file, state);
    return state;
  }
  const state = { email: 'demo@rudder.local', password: randomBytes(12).toString('base64url') };
  saveState(file, state);
  return state;
}

function saveState(file: string, state: DemoState): void {
  writeFileSync(file, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  // The login body on its own, for `curl -d @login.json`.
  const login = { email: state.email, password: state.password };
  writeFileSync(join(dirname(file), 'login.json'), `${JSON.stringify(login)}\n`, { mode: 0o600 });
}

function client(base: string): {
  call<T = unknown>(
    method: string,
    path: string,
    token?: string,
    body?: unknown,
    allowed?: number[],
  ): Promise<{ status: number; body: T }>;
} {
  return {
    call: async <T>(method: string, path: string, token?: string, body?: unknown, allowed: number[] = []) => {
      const res = await fetch(base + path, {
        method,
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      if (!res.ok && !allowed.includes(res.status))
        throw new Error(`seeding the demo: ${method} ${path} answered ${res.status}: ${text}`);
      return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
    },
  };
}
