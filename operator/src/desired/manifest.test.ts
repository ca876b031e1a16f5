import { desiredObjects, toManifest } from './index.ts';
import { makeInput } from './test-fixtures.ts';

describe('toManifest', () => {
  const manifests = desiredObjects(makeInput()).map(toManifest);
  const byName = (kind: string, name: string) =>
    manifests.find((m) => m.kind === kind && (m.metadata as { name: string }).name === name) as any;

  it('spells the fields client-node renames the way the API does', () => {
    expect(byName('NetworkPolicy', 'postgres-ingress').spec.ingress[0]).toHaveProperty('from');
    expect(byName('NetworkPolicy', 'postgres-ingress').spec.ingress[0]).not.toHaveProperty('_from');
    expect(byName('LimitRange', 'rudder-limits').spec.limits[0].default).toEqual({
      cpu: '500m',
      memory: '512Mi',
    });
    expect(JSON.stringify(manifests)).not.toMatch(/"_[a-z]/);
  });

  it('leaves everything else as it was', () => {
    const objects = desiredObjects(makeInput());
    expect(toManifest(objects[0]!)).toEqual(objects[0]);
    expect(byName('NetworkPolicy', 'gateway-ingress').spec.ingress[0]).toEqual({
      ports: [{ protocol: 'TCP', port: 8080 }],
    });
  });
});
