/**
 * NetworkPolicies of the tenant namespace: deny everything, then allow only
 * the paths the data plane needs. Destinations are reached on 80/443 of
 * public addresses only, so a tenant's transformations and webhooks cannot
 * reach cloud metadata endpoints or other things inside the cluster network.
 */
import type {
  V1LabelSelector,
  V1NetworkPolicy,
  V1NetworkPolicyEgressRule,
  V1NetworkPolicyIngressRule,
  V1NetworkPolicyPeer,
} from '@kubernetes/client-node';
import type { DefaultedSpec } from '@rudder/common/rudder-instance';
import { DATAPLANE_APP, dataPlaneSelector, namespacedMeta, postgresSelector, type Owner } from './meta.ts';
import { ADMIN_PORT, CONTROL_PLANE_PORT, HTTP_PORT, POSTGRES_PORT } from './ports.ts';

export const DEFAULT_CONTROL_PLANE_POD_SELECTOR: Readonly<Record<string, string>> = {
  'app.kubernetes.io/name': 'rudder',
  'app.kubernetes.io/component': 'controlplane',
};

/** Private, link-local (cloud metadata) and in-cluster ranges that destination traffic may not reach. */
export const NON_PUBLIC_CIDRS = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16'];

export interface NetworkContext {
  operatorNamespace: string;
  controlPlanePodSelector: Record<string, string>;
  /** Where the Kubernetes API server is reached, for the workers' watch of the partition map. */
  apiServerEndpoints: ReadonlyArray<{ ip: string; port: number }>;
}

const tcp = (port: number) => ({ protocol: 'TCP', port });
const namespaceNamed = (name: string): V1LabelSelector => ({
  matchLabels: { 'kubernetes.io/metadata.name': name },
});

/** The gateway and worker pods of the instance. */
function dataPlanePods(owner: Owner): V1LabelSelector {
  return {
    matchLabels: { 'app.kubernetes.io/name': DATAPLANE_APP, 'app.kubernetes.io/instance': owner.name },
    matchExpressions: [{ key: 'app.kubernetes.io/component', operator: 'In', values: ['gateway', 'worker'] }],
  };
}

function policy(
  owner: Owner,
  name: string,
  podSelector: V1LabelSelector,
  rules: { ingress?: V1NetworkPolicyIngressRule[]; egress?: V1NetworkPolicyEgressRule[] },
): V1NetworkPolicy {
  const policyTypes = [...(rules.ingress ? ['Ingress'] : []), ...(rules.egress ? ['Egress'] : [])];
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: namespacedMeta(owner, name),
    spec: { podSelector, policyTypes, ...rules },
  };
}

export function networkPolicies(owner: Owner, spec: DefaultedSpec, net: NetworkContext): V1NetworkPolicy[] {
  const managed = spec.database.managed !== undefined;
  const fromOperatorNamespace: V1NetworkPolicyPeer = {
    namespaceSelector: namespaceNamed(net.operatorNamespace),
  };

  const database: V1NetworkPolicyEgressRule = managed
    ? { to: [{ podSelector: { matchLabels: postgresSelector(owner.name) } }], ports: [tcp(POSTGRES_PORT)] }
    : {
        to: [{ ipBlock: { cidr: spec.database.external?.egressCIDR ?? '0.0.0.0/0' } }],
        ports: [tcp(POSTGRES_PORT)],
      };

  const policies = [
    policy(owner, 'default-deny', {}, { ingress: [], egress: [] }),
    policy(
      owner,
      'gateway-ingress',
      { matchLabels: dataPlaneSelector(owner.name, 'gateway') },
      {
        ingress: [{ ports: [tcp(HTTP_PORT)] }, { _from: [fromOperatorNamespace], ports: [tcp(ADMIN_PORT)] }],
      },
    ),
    policy(
      owner,
      'worker-ingress',
      { matchLabels: dataPlaneSelector(owner.name, 'worker') },
      {
        ingress: [{ _from: [fromOperatorNamespace], ports: [tcp(ADMIN_PORT)] }],
      },
    ),
    policy(owner, 'dataplane-egress', dataPlanePods(owner), {
      egress: [
        {
          to: [
            {
              namespaceSelector: namespaceNamed('kube-system'),
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
              namespaceSelector: namespaceNamed(net.operatorNamespace),
              podSelector: { matchLabels: { ...net.controlPlanePodSelector } },
            },
          ],
          ports: [tcp(CONTROL_PLANE_PORT)],
        },
        database,
        {
          to: [{ ipBlock: { cidr: '0.0.0.0/0', except: [...NON_PUBLIC_CIDRS] } }],
          ports: [tcp(443), tcp(80)],
        },
      ],
    }),
  ];

  if (net.apiServerEndpoints.length > 0)
    policies.push(
      policy(
        owner,
        'worker-apiserver-egress',
        { matchLabels: dataPlaneSelector(owner.name, 'worker') },
        {
          egress: [apiServerRule(net.apiServerEndpoints)],
        },
      ),
    );

  if (managed)
    policies.push(
      policy(
        owner,
        'postgres-ingress',
        { matchLabels: postgresSelector(owner.name) },
        {
          ingress: [{ _from: [{ podSelector: dataPlanePods(owner) }], ports: [tcp(POSTGRES_PORT)] }],
        },
      ),
    );
  return policies;
}

function apiServerRule(endpoints: NetworkContext['apiServerEndpoints']): V1NetworkPolicyEgressRule {
  const cidrs = [...new Set(endpoints.map(({ ip }) => (ip.includes(':') ? `${ip}/128` : `${ip}/32`)))].sort();
  const ports = [...new Set(endpoints.map(({ port }) => port))].sort((a, b) => a - b);
  return { to: cidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: ports.map(tcp) };
}
