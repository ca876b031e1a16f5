import { readFile } from 'node:fs/promises';
import { CRD_FILE, TYPES_FILE, generateCrdTypes } from './crd-types.ts';

describe('RudderInstance types', () => {
  it('are what the CRD generates (run `make generate` after changing crds/)', async () => {
    const generated = await generateCrdTypes(await readFile(CRD_FILE, 'utf8'));
    expect(await readFile(TYPES_FILE, 'utf8')).toBe(generated);
  });

  it('follow a change of the CRD, so a drift cannot pass', async () => {
    const crd = await readFile(CRD_FILE, 'utf8');
    const changed = crd.replace('                paused:\n', '                suspended:\n');
    expect(changed).not.toBe(crd);
    const generated = await generateCrdTypes(changed);
    expect(generated).toContain('suspended?: boolean');
    expect(generated).not.toBe(await readFile(TYPES_FILE, 'utf8'));
  });
});
