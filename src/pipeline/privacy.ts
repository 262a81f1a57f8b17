// Privacy modes (DESIGN §3). Placeholder of the first slice: records carry the
// mode the client claimed and every property. The server-side enforcement of the
// modes replaces this module.
import type { HitEvent, Properties } from './validate.js';

export interface PrivacyDecision {
  /** The mode written in the record. */
  mode: string;
  /** The visitor id to pseudonymise, if the mode keeps one. */
  visitorId: string | undefined;
  keepGeo: boolean;
  /** Kept events, with their position in the request. */
  events: { index: number; name: string; props: Properties }[];
}

export function applyPrivacy(events: readonly HitEvent[], idclient: string | undefined): PrivacyDecision {
  const claimed = events[0]?.data?.visitor_privacy_mode;
  return {
    mode: typeof claimed === 'string' ? claimed : 'exempt',
    visitorId: idclient || undefined,
    keepGeo: true,
    events: events.map((e, index) => ({ index, name: e.name, props: e.data ?? {} })),
  };
}
