/**
 * How events reach the gateway: an Ingress when the spec asks for one, and
 * the endpoint the SDKs should be pointed at either way.
 */
import type { V1Ingress } from '@kubernetes/client-node';
import type { DefaultedSpec } from '@rudder/common/rudder-instance';
import { GATEWAY_NAME } from './gateway.ts';
import { dataPlaneSelector, namespacedMeta, tenantNamespace, type Owner } from './meta.ts';

export function gatewayIngress(owner: Owner, spec: DefaultedSpec): V1Ingress[] {
  const ingress = spec.ingress;
  if (ingress === undefined) return [];
  return [
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: namespacedMeta(owner, GATEWAY_NAME, dataPlaneSelector(owner.name, 'gateway')),
      spec: {
        ...(ingress.className !== undefined && { ingressClassName: ingress.className }),
        rules: [
          {
            host: ingress.host,
            http: {
              paths: [
                {
                  path: '/',
                  pathType: 'Prefix',
                  backend: { service: { name: GATEWAY_NAME, port: { name: 'http' } } },
                },
              ],
            },
          },
        ],
        ...(ingress.tlsSecretName !== undefined && {
          tls: [{ hosts: [ingress.host], secretName: ingress.tlsSecretName }],
        }),
      },
    },
  ];
}

/** The base URL SDKs send events to: the Ingress host when there is one, else the in-cluster Service. */
export function ingestEndpoint(spec: Pick<DefaultedSpec, 'tenantId' | 'ingress'>): string {
  const ingress = spec.ingress;
  if (ingress !== undefined)
    return `${ingress.tlsSecretName !== undefined ? 'https' : 'http'}://${ingress.host}`;
  return `http://${GATEWAY_NAME}.${tenantNamespace(spec)}.svc.cluster.local`;
}
