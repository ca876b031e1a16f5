import { parseWorkspaceConfig } from '@rudder/common';
import { ConfigStore } from '../config/config-store.ts';
import { resolveReplayRoute } from './replay-route.ts';

function store(): ConfigStore {
  const s = new ConfigStore();
  s.set(
    parseWorkspaceConfig({
      workspaces: [
        {
          id: 'ws',
          sources: [{ id: 'src', writeKey: 'wk-route-0001' }],
          destinations: [
            { id: 'hook', type: 'webhook', config: { url: 'http://127.0.0.1:1/hook' } },
            { id: 'off', type: 'webhook', enabled: false, config: { url: 'http://127.0.0.1:1/hook' } },
            { id: 'lonely', type: 'webhook', config: { url: 'http://127.0.0.1:1/hook' } },
            { id: 'odd', type: 'carrier-pigeon' },
            { id: 'broken', type: 'webhook', config: {} },
          ],
          transformations: [{ id: 'tr', code: 'export function transformEvent(e) { return e; }' }],
          connections: [
            { sourceId: 'src', destinationId: 'hook', transformationId: 'tr' },
            { sourceId: 'src', destinationId: 'off' },
            { sourceId: 'src', destinationId: 'odd' },
            { sourceId: 'src', destinationId: 'broken' },
          ],
        },
      ],
    }),
  );
  return s;
}

it('resolves the connection of the source to the destination, with its transformation', () => {
  const route = resolveReplayRoute(store(), 'src', 'hook');
  expect(typeof route).toBe('object');
  expect(route).toMatchObject({ destination: { id: 'hook' }, transformation: { id: 'tr' } });
});

it.each([
  ['nope', 'hook', /source nope is not in the data plane's workspace config/],
  ['src', 'nope', /destination nope is not in the data plane's workspace config/],
  ['src', 'off', /destination off is disabled/],
  ['src', 'lonely', /not connected to source src/],
  ['src', 'odd', /unknown type carrier-pigeon/],
  ['src', 'broken', /destination broken: invalid webhook destination config/],
])('explains why %s -> %s cannot be replayed', (source, destination, reason) => {
  expect(resolveReplayRoute(store(), source, destination)).toMatch(reason);
});
