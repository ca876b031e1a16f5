import type { Queryable } from '../db/db.ts';
import { actorOf, type Principal } from '../auth/principal.ts';

export interface AuditEntry {
  tenantId: string;
  /** `<object>.<verb>`: `source.create`, `destination.update`, `member.remove`, ... */
  action: string;
  objectType: string;
  objectId: string;
  /** What changed; never secrets (write keys, tokens, passwords are left out by the caller). */
  changes?: Record<string, unknown>;
  requestId?: string;
}

/** Records who changed what; call it inside the transaction that makes the change. */
export async function recordAudit(q: Queryable, principal: Principal, entry: AuditEntry): Promise<void> {
  const actor = actorOf(principal);
  await q.query(
    `INSERT INTO audit_log (tenant_id, actor_type, actor_id, action, object_type, object_id, changes, request_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      entry.tenantId,
      actor.type,
      actor.id,
      entry.action,
      entry.objectType,
      entry.objectId,
      entry.changes === undefined ? null : JSON.stringify(entry.changes),
      entry.requestId ?? null,
    ],
  );
}
