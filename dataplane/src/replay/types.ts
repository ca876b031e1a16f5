/** A replay the control plane asked for: re-send a source's events of [from, to) to one destination. */
export interface Replay {
  id: string;
  sourceId: string;
  destinationId: string;
  /** Inclusive lower bound on the events' `received_at`. */
  from: Date;
  /** Exclusive upper bound on the events' `received_at`. */
  to: Date;
}

/** The progress the data plane reports to the control plane for one replay. */
export interface ReplayReport {
  status: 'running' | 'completed' | 'failed';
  /** Ingested events of the range gone through the pipeline so far. */
  replayed: number;
  /** Ingested events in the range when the replay started. */
  total: number;
  error?: string;
}
