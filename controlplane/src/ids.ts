import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Random lowercase alphanumerics; 62 bits of entropy per 12 characters, unguessable ids. */
export function randomId(length = 20): string {
  const bytes = randomBytes(length);
  let out = '';
  // 256 % 36 = 4: the bias toward the first four letters is negligible for ids.
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length];
  return out;
}

/** Object ids carry their kind, so a log line or support ticket says what an id names. */
export const newId = {
  user: () => `usr_${randomId()}`,
  workspace: () => `ws_${randomId()}`,
  source: () => `src_${randomId()}`,
  destination: () => `dst_${randomId()}`,
  connection: () => `con_${randomId()}`,
  transformation: () => `trf_${randomId()}`,
  apiToken: () => `tok_${randomId()}`,
  dataplaneToken: () => `dpt_${randomId()}`,
  refreshToken: () => `rft_${randomId()}`,
  job: () => `job_${randomId()}`,
  replay: () => `rpl_${randomId()}`,
  /** Tenant ids name Kubernetes namespaces, so they are DNS labels. */
  tenant: () => `t${randomId(11)}`,
};

/** A write key: what SDKs send as the Basic username. */
export function newWriteKey(): string {
  return randomId(32);
}
