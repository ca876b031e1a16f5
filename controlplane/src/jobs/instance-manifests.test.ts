import { readyOf, rudderInstanceManifest, tokenSecretManifest } from './instance-manifests.ts';

describe('instance manifests', () => {
  test('put the token base64-encoded under the key the RudderInstance refers to', () => {
    const secret = tokenSecretManifest({
      tenantId: 'acme',
      namespace: 'rudder-system',
      token: 'rdr_dp_x',
    }) as any;
    const instance = rudderInstanceManifest({
      tenantId: 'acme',
      controlPlaneUrl: 'https://cp.test',
      image: 'img:1',
      secretNamespace: 'rudder-system',
    }) as any;
    const ref = instance.spec.controlPlane.tokenSecretRef;
    expect(ref).toEqual({ namespace: secret.metadata.namespace, name: secret.metadata.name, key: 'token' });
    expect(Buffer.from(secret.data[ref.key], 'base64').toString()).toBe('rdr_dp_x');
    expect(instance.metadata.name).toBe('acme');
    expect(instance.metadata.namespace).toBeUndefined();
  });

  test('read the Ready condition, whatever else the status holds', () => {
    expect(readyOf({})).toEqual({ ready: false, message: expect.stringContaining('waiting') });
    expect(readyOf({ status: { conditions: 'garbage' } }).ready).toBe(false);
    const conditions = (ready: object) => ({
      status: {
        conditions: [
          { type: 'Progressing', status: 'True' },
          { type: 'Ready', ...ready },
        ],
      },
    });
    expect(
      readyOf(conditions({ status: 'False', reason: 'Provisioning', message: 'creating the namespace' })),
    ).toEqual({
      ready: false,
      message: 'Provisioning: creating the namespace',
    });
    expect(readyOf(conditions({ status: 'True' }))).toEqual({ ready: true, message: '' });
    expect(readyOf(conditions({ status: 'Unknown', reason: 'Pending' }))).toEqual({
      ready: false,
      message: 'Pending',
    });
  });
});
