import { exceedsJsonDepth } from './json-depth.ts';

describe('exceedsJsonDepth', () => {
  it('counts the root value as depth 1', () => {
    expect(exceedsJsonDepth('{}', 1)).toBe(false);
    expect(exceedsJsonDepth('{"a":[]}', 1)).toBe(true);
    expect(exceedsJsonDepth('{"a":[]}', 2)).toBe(false);
    expect(exceedsJsonDepth('[[[1]]]', 2)).toBe(true);
  });

  it('measures the deepest branch, not the total number of brackets', () => {
    const wide = `[${Array.from({ length: 1000 }, () => '{"a":[1]}').join(',')}]`;
    expect(exceedsJsonDepth(wide, 3)).toBe(false);
    expect(exceedsJsonDepth(wide, 2)).toBe(true);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    const text = JSON.stringify({ s: '[[[[{{{{ "quoted [[[" \\ ]]]', t: '\\"[[[[' });
    expect(exceedsJsonDepth(text, 1)).toBe(false);
  });

  it('treats a quote after an even run of backslashes as closing the string', () => {
    // The string is `x\\` (escaped backslash), so the bracket after it is structural.
    expect(exceedsJsonDepth('{"a":"x\\\\","b":[[1]]}', 2)).toBe(true);
    expect(exceedsJsonDepth('{"a":"x\\"","b":"[[1]]"}', 1)).toBe(false);
  });

  it('rejects a huge run of opening brackets without recursing', () => {
    expect(exceedsJsonDepth('['.repeat(1_000_000), 64)).toBe(true);
  });

  it('leaves unterminated strings and unbalanced text to the parser', () => {
    expect(exceedsJsonDepth('{"a":"[[[[[[', 2)).toBe(false);
    expect(exceedsJsonDepth(']]]]]]]][[', 2)).toBe(false);
  });

  it('scans a long string quickly', () => {
    const text = JSON.stringify({ s: 'x'.repeat(4_000_000) });
    const started = performance.now();
    expect(exceedsJsonDepth(text, 64)).toBe(false);
    expect(performance.now() - started).toBeLessThan(200);
  });
});
