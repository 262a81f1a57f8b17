// The privacy modes and the trackers, spelled once: every layer (the wire's claim, a
// site's cap, the privacy decision, the record, the metrics' labels) uses these unions.

/** What the server applies to a hit, from the least to the most restrictive. */
export type Mode = 'optin' | 'exempt' | 'optout';

/** The modes a record can carry: an opt-out hit never becomes a record (anonymous counters only). */
export const RECORD_MODES = ['optin', 'exempt'] as const satisfies readonly Mode[];
export type RecordMode = (typeof RECORD_MODES)[number];

/** The third-party trackers whose wire formats are adapted (absent from a record of the Piano SDK). */
export type Tracker = 'matomo' | 'plausible';
