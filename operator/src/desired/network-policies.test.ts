import type { KubernetesObject, V1NetworkPolicy } from '@kubernetes/client-node';
import { desiredObjects } from './index.ts';
import { find, has, makeInput } from './test-fixtures.ts';

const policy = (objects: KubernetesObject[], name: string) =>
  find<V1NetworkPolicy>(objects, 'NetworkPolicy', name).spec!;

describe('network policies', () => {
  const objects = desiredObjects(makeInput());

  it('denies all ingress and egress of every pod by default', () => {
    expect(policy(objects, 'default-deny')).toEqual({
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
      ingress: [],
      egress: [],
    });
  });

  it('opens the gateway API to everyone and the admin APIs to the operator namespace only', () => {
    const operatorNs = {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'rudder-system' } },
    };
    const gateway = policy(objects, 'gateway-ingress');
    expect(gateway.podSelector?.matchLabels?.['app.kubernetes.io/component']).toBe('gateway');
    expect(gateway.ingress).toEqual([
      { ports: [{ protocol: 'TCP', port: 8080 }] },
      { _from: [operatorNs], ports: [{ protocol: 'TCP', port: 8081 }] },
    ]);
    expect(policy(objects, 'worker-ingress').ingress).toEqual([
      { _from: [operatorNs], ports: [{ protocol: 'TCP', port: 8081 }] },
    ]);
  });

  it('lets the data plane reach DNS, the control plane, its database and public web destinations only', () => {
    const egress = policy(objects, 'dataplane-egress');
    expect(egress.policyTypes).toEqual(['Egress']);
    expect(egress.podSelector?.matchExpressions).toEqual([
      { key: 'app.kubernetes.io/component', operator: 'In', values: ['gateway', 'worker'] },
    ]);
    expect(egress.egress).toEqual([
      {
        to: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
            podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
          },
        ],
        ports: [
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 53 },
        ],
      },
      {
        to: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'rudder-system' } },
            podSelector: {
              matchLabels: {
                'app.kubernetes.io/name': 'rudder',
                'app.kubernetes.io/component': 'controlplane',
              },
            },
          },
        ],
        ports: [{ protocol: 'TCP', port: 8070 }],
      },
      {
        to: [
          {
            podSelector: {
              matchLabels: {
                'app.kubernetes.io/name': 'rudder-postgres',
                'app.kubernetes.io/instance': 'acme',
                'app.kubernetes.io/component': 'database',
              },
            },
          },
        ],
        ports: [{ protocol: 'TCP', port: 5432 }],
      },
      {
        to: [
          {
            ipBlock: {
              cidr: '0.0.0.0/0',
              except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16'],
            },
          },
        ],
        ports: [
          { protocol: 'TCP', port: 443 },
          { protocol: 'TCP', port: 80 },
        ],
      },
    ]);
  });

  it('admits only gateway and worker pods to Postgres', () => {
    const postgres = policy(objects, 'postgres-ingress');
    expect(postgres.podSelector?.matchLabels?.['app.kubernetes.io/name']).toBe('rudder-postgres');
    expect(postgres.ingress).toEqual([
      {
        _from: [
          {
            podSelector: {
              matchLabels: {
                'app.kubernetes.io/name': 'rudder-dataplane',
                'app.kubernetes.io/instance': 'acme',
              },
              matchExpressions: [
                { key: 'app.kubernetes.io/component', operator: 'In', values: ['gateway', 'worker'] },
              ],
            },
          },
        ],
        ports: [{ protocol: 'TCP', port: 5432 }],
      },
    ]);
  });

  it('uses a custom control-plane selector and lets workers reach the API server when told where it is', () => {
    const custom = desiredObjects({
      ...makeInput(),
      controlPlanePodSelector: { app: 'cp' },
      apiServerEndpoints: [
        { ip: '172.18.0.2', port: 6443 },
        { ip: 'fd00::2', port: 6443 },
      ],
    });
    expect(policy(custom, 'dataplane-egress').egress![1]!.to![0]!.podSelector).toEqual({
      matchLabels: { app: 'cp' },
    });
    const api = policy(custom, 'worker-apiserver-egress');
    expect(api.podSelector?.matchLabels?.['app.kubernetes.io/component']).toBe('worker');
    expect(api.egress).toEqual([
      {
        to: [{ ipBlock: { cidr: '172.18.0.2/32' } }, { ipBlock: { cidr: 'fd00::2/128' } }],
        ports: [{ protocol: 'TCP', port: 6443 }],
      },
    ]);
    expect(has(objects, 'NetworkPolicy', 'worker-apiserver-egress')).toBe(false);
  });
});
