import type { Queryable } from '../db/db.ts';
import { newId } from '../ids.ts';
import { newOpaqueToken } from '../auth/tokens.ts';

/** Issues a data-plane token for a tenant; the plaintext is returned once and only its hash is stored. */
export async function issueDataplaneToken(
  q: Queryable,
  tenantId: string,
  name: string,
): Promise<{ id: string; token: string }> {
  const id = newId.dataplaneToken();
  const { token, hash } = newOpaqueToken('dataplane');
  await q.query('INSERT INTO dataplane_tokens (id, tenant_id, name, token_hash) VALUES ($1, $2, $3, $4)', [
    id,
    tenantId,
    name,
    hash,
  ]);
  return { id, token };
}
