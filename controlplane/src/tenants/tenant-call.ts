import { RudderError } from '@rudder/common';
import type { Queryable } from '../db/db.ts';
import type { RouteContext } from '../http/route.ts';
import type { Principal, Role } from '../auth/principal.ts';
import { recordAudit, type AuditEntry } from '../audit/audit.ts';

/** One call of a tenant route: the verified tenant and role, who calls, and its audit trail. */
export interface TenantCall {
  /** From the caller's verified access, never from the path alone. */
  tenantId: string;
  role: Role;
  principal: Principal;
  /** Records an audit entry of this call in its tenant; run it in the change's transaction. */
  audit(q: Queryable, entry: Omit<AuditEntry, 'tenantId' | 'requestId'>): Promise<void>;
}

/** The call of a route that declares a `role` (so the framework has authorized the caller). */
export function tenantCall(
  ctx: Pick<RouteContext<unknown, unknown, unknown>, 'access' | 'principal' | 'res'>,
): TenantCall {
  const { access, principal } = ctx;
  if (access === undefined || principal === undefined)
    throw new RudderError('internal', 'tenant route reached without authorization: does it declare a role?');
  const requestId = ctx.res.locals['requestId'] as string | undefined;
  return {
    tenantId: access.tenantId,
    role: access.role,
    principal,
    audit: (q, entry) =>
      recordAudit(q, principal, {
        ...entry,
        tenantId: access.tenantId,
        ...(requestId === undefined ? {} : { requestId }),
      }),
  };
}
