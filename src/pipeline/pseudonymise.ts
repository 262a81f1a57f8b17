// CNIL (Piano guide 4.2, 4.7, 4.6): the raw visitor id never leaves the request.
// It becomes `<keyId>.<pseudonym>`, pseudonym = HMAC-SHA256(secret, site ‖ id),
// truncated to 128 bits and written in base64url (22 characters).
// - keyed: a 16-character _pcid is brute-forceable under a plain hash or static salt;
//   without the secret it is not;
// - scoped per site: the same browser on two sites gets two unrelated pseudonyms;
// - unambiguous: the site is length-prefixed, so ("ab","c") and ("a","bc") differ.
import type { PseudonymKey } from '../config.js';
import { createHmacSha256, type HmacSha256 } from './hmac.js';

export const PSEUDONYM_BYTES = 16;

const macs = new WeakMap<PseudonymKey, HmacSha256>();

export function pseudonym(key: PseudonymKey, site: string, visitorId: string): string {
  let hmac = macs.get(key);
  if (!hmac) macs.set(key, (hmac = createHmacSha256(key.secret)));
  const mac = hmac(`${Buffer.byteLength(site, 'utf8')}:${site}:${visitorId}`);
  return `${key.id}.${mac.subarray(0, PSEUDONYM_BYTES).toString('base64url')}`;
}

export class Pseudonymiser {
  constructor(private readonly keys: readonly PseudonymKey[]) {
    if (keys.length === 0) throw new Error('at least one pseudonym key is required');
  }

  /** The active key id (first of PSEUDONYM_KEYS). */
  get activeKeyId(): string {
    return this.keys[0]!.id;
  }

  /** The pseudonym under the active key: what new records carry. */
  pseudonymise(site: string, visitorId: string): string {
    return pseudonym(this.keys[0]!, site, visitorId);
  }

  /** The pseudonyms under every configured key, for access and erasure lookups. */
  allPseudonyms(site: string, visitorId: string): string[] {
    return this.keys.map((k) => pseudonym(k, site, visitorId));
  }
}
