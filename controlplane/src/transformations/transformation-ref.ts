import type { Queryable } from '../db/db.ts';
import { fieldError } from '../http/field-error.ts';
import type { WorkspaceScope } from '../workspaces/workspace-scope.ts';
import { findTransformation } from './transformation-repo.ts';

/**
 * A 400 naming `field` unless `id` is a transformation of the scope's
 * workspace. Run in the transaction that attaches it: the check holds the
 * transformation until commit, so it cannot be deleted in between.
 */
export async function checkTransformationRef(
  q: Queryable,
  scope: WorkspaceScope,
  id: string,
  field = 'body.transformationId',
): Promise<void> {
  if (!(await findTransformation(q, scope, id, 'share')))
    throw fieldError(field, `no transformation "${id}" in this workspace`);
}
