import type { RudderEvent, TransformationConfig } from '@rudder/common';

/** What a user transformation did with one input event. */
export type UserTransformResult =
  /** Zero events drops it, several fan it out. */
  | { ok: true; events: RudderEvent[] }
  /** The code threw (or broke a limit) for this event; the error is recorded with it. */
  | { ok: false; error: string };

export interface UserTransformMetadata {
  workspaceId: string;
  sourceId: string;
  destinationId: string;
  destinationType: string;
}

/**
 * Runs tenants' JavaScript transformations (`transformEvent` or
 * `transformBatch`) on events bound for one destination. Results line up
 * with the input events, one per event.
 */
export interface UserTransformer {
  run(
    transformation: TransformationConfig,
    events: RudderEvent[],
    metadata: UserTransformMetadata,
  ): Promise<UserTransformResult[]>;
  close(): Promise<void>;
}

/**
 * The transformer of a data plane built without the sandbox: every event of
 * a connection that names a transformation fails visibly (it lands in the
 * failed-events store and can be re-driven once the sandbox is available),
 * rather than passing through untransformed.
 */
export class UnavailableUserTransformer implements UserTransformer {
  run(transformation: TransformationConfig, events: RudderEvent[]): Promise<UserTransformResult[]> {
    const error = `user transformation ${transformation.id} not run: this data plane has no transformation sandbox`;
    return Promise.resolve(events.map(() => ({ ok: false as const, error })));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
