import type { V1Ingress } from '@kubernetes/client-node';
import { defaultedSpec } from '@rudder/common/rudder-instance';
import { desiredObjects, ingestEndpoint } from './index.ts';
import { baseSpec, find, has, makeInput } from './test-fixtures.ts';

describe('ingress', () => {
  it('has no Ingress unless the spec asks for one, and then ingests in-cluster', () => {
    expect(has(desiredObjects(makeInput()), 'Ingress', 'gateway')).toBe(false);
    expect(ingestEndpoint(defaultedSpec(baseSpec()))).toBe('http://gateway.rudder-acme.svc.cluster.local');
  });

  it('routes the host to the gateway Service with the class and TLS the spec names', () => {
    const ingress = { host: 'events.acme.example', className: 'nginx', tlsSecretName: 'acme-tls' };
    const spec = find<V1Ingress>(desiredObjects(makeInput({ ingress })), 'Ingress', 'gateway').spec!;
    expect(spec.ingressClassName).toBe('nginx');
    expect(spec.rules).toEqual([
      {
        host: 'events.acme.example',
        http: {
          paths: [
            {
              path: '/',
              pathType: 'Prefix',
              backend: { service: { name: 'gateway', port: { name: 'http' } } },
            },
          ],
        },
      },
    ]);
    expect(spec.tls).toEqual([{ hosts: ['events.acme.example'], secretName: 'acme-tls' }]);
    expect(ingestEndpoint(defaultedSpec(baseSpec({ ingress })))).toBe('https://events.acme.example');
  });

  it('leaves out class and TLS when unset and ingests over plain HTTP', () => {
    const ingress = { host: 'events.acme.example' };
    const spec = find<V1Ingress>(desiredObjects(makeInput({ ingress })), 'Ingress', 'gateway').spec!;
    expect(spec).not.toHaveProperty('ingressClassName');
    expect(spec).not.toHaveProperty('tls');
    expect(ingestEndpoint(defaultedSpec(baseSpec({ ingress })))).toBe('http://events.acme.example');
  });
});
