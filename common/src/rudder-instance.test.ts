import { RUDDER_INSTANCE_SCHEMA, applySchemaDefaults, defaultedSpec } from './rudder-instance.ts';

const minimal = {
  tenantId: 'acme',
  controlPlane: { url: 'http://cp:8070', tokenSecretRef: { namespace: 'rudder-system', name: 'acme-token' } },
  dataPlane: { image: 'dataplane:1' },
  database: { managed: {} },
};

describe('defaultedSpec', () => {
  it('fills the defaults the CRD declares, nested ones included', () => {
    const spec = defaultedSpec(minimal);
    expect(spec.paused).toBe(false);
    expect(spec.dataPlane).toMatchObject({
      replicas: 1,
      gatewayReplicas: 1,
      partitions: 64,
      logLevel: 'info',
    });
    expect(spec.controlPlane.tokenSecretRef.key).toBe('token');
    expect(spec.database.managed).toMatchObject({ image: 'postgres:18-alpine', storageSize: '10Gi' });
    // quota defaults to {} and then gets its own fields' defaults, as the API server does.
    expect(spec.quota).toEqual({ cpu: '16', memory: '32Gi', storage: '200Gi', pods: 200 });
  });

  it('keeps values that are set and does not touch its input', () => {
    const input = structuredClone(minimal);
    const spec = defaultedSpec({ ...input, dataPlane: { image: 'x', replicas: 3 } });
    expect(spec.dataPlane.replicas).toBe(3);
    expect(input).toEqual(minimal);
  });

  it('fills the autoscaling defaults only when autoscaling is set', () => {
    expect(defaultedSpec(minimal).dataPlane.autoscaling).toBeUndefined();
    const spec = defaultedSpec({ ...minimal, dataPlane: { image: 'x', autoscaling: { maxReplicas: 4 } } });
    expect(spec.dataPlane.autoscaling).toEqual({
      minReplicas: 1,
      maxReplicas: 4,
      targetCPUUtilizationPercentage: 70,
    });
  });

  it('does not invent optional objects that have no default', () => {
    const spec = defaultedSpec(minimal);
    expect(spec.ingress).toBeUndefined();
    expect(spec.database.external).toBeUndefined();
    const wrapped = applySchemaDefaults(RUDDER_INSTANCE_SCHEMA, { spec: minimal }) as {
      spec: { dataPlane: { partitions?: number } };
    };
    expect(wrapped.spec.dataPlane.partitions).toBe(64);
  });
});
