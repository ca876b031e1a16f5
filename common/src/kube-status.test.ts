import { describeKubeApiError, kubeStatusOf } from './kube-status.ts';

const conflict = {
  code: 422,
  body: JSON.stringify({
    kind: 'Status',
    reason: 'Invalid',
    message: 'Secret "x" is invalid: data[url]: secret-value',
  }),
};

describe('Kubernetes API error messages', () => {
  it('name what failed, the status code, the reason and the message', () => {
    expect(describeKubeApiError('applying Deployment a/b', conflict, true)).toBe(
      'applying Deployment a/b: Kubernetes API answered 422 (Invalid: Secret "x" is invalid: data[url]: secret-value)',
    );
  });

  it('leave the server message out when it may quote a Secret', () => {
    const text = describeKubeApiError('applying Secret a/x', conflict, false);
    expect(text).toBe('applying Secret a/x: Kubernetes API answered 422 (Invalid)');
    expect(text).not.toContain('secret-value');
  });

  it('are undefined for errors that are not API answers, and tolerate bodies that are not Status JSON', () => {
    expect(describeKubeApiError('x', new Error('socket hang up'), true)).toBeUndefined();
    expect(kubeStatusOf('<html>bad gateway</html>')).toEqual({});
    expect(kubeStatusOf({ reason: 'NotFound' })).toEqual({ reason: 'NotFound' });
  });
});
