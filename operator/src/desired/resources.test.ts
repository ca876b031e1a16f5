import { parseQuantity, resolveResources, type ResolvedResources } from './resources.ts';

const DEFAULTS: ResolvedResources = {
  requests: { cpu: '100m', memory: '128Mi' },
  limits: { cpu: '1', memory: '1Gi' },
};

describe('parseQuantity', () => {
  it('reads decimal, binary and exponent quantities', () => {
    expect(parseQuantity('500m')).toBeCloseTo(0.5);
    expect(parseQuantity(2)).toBe(2);
    expect(parseQuantity('1Gi')).toBe(2 ** 30);
    expect(parseQuantity('1G')).toBe(1e9);
    expect(parseQuantity('1.5k')).toBe(1500);
    expect(parseQuantity('1e3')).toBe(1000);
    expect(parseQuantity('lots')).toBeNaN();
  });
});

describe('resolveResources', () => {
  it('completes a partial spec from the defaults', () => {
    expect(resolveResources({ limits: { memory: '2Gi' } }, DEFAULTS)).toEqual({
      requests: DEFAULTS.requests,
      limits: { cpu: '1', memory: '2Gi' },
    });
    expect(resolveResources(undefined, DEFAULTS)).toEqual(DEFAULTS);
  });

  it('never leaves a request above its limit: the side the spec did not set follows', () => {
    expect(resolveResources({ requests: { cpu: 4 } }, DEFAULTS).limits.cpu).toBe('4');
    expect(resolveResources({ limits: { memory: '64Mi' } }, DEFAULTS).requests.memory).toBe('64Mi');
  });

  it('keeps both sides when the spec sets both, for the API server to judge', () => {
    expect(resolveResources({ requests: { cpu: '2' }, limits: { cpu: '1' } }, DEFAULTS).requests.cpu).toBe(
      '2',
    );
  });

  it('does not share structure with the defaults', () => {
    const resolved = resolveResources(undefined, DEFAULTS);
    resolved.requests.cpu = '9';
    expect(DEFAULTS.requests.cpu).toBe('100m');
  });
});
