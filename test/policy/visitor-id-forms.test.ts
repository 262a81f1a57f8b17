// The id as a person holds it → the id the collector saw. The cookie values are the
// trackers' own: the Piano SDK's from test/fixtures/sdk (what Chromium stored), Matomo's
// as js/piwik.js writes `_pk_id` (Matomo 4, 5) and as older trackers did.
import { describe, expect, it } from 'vitest';
import { visitorIdsHeldAs } from '../../src/policy/visitor-id-forms.js';
import { sdkFixture } from '../helpers/fixtures.js';

const MATOMO_ID = '5d4f2a9c0b7e13f8';

/** The `_pcid` and `pa_vid` cookies Chromium stored in a captured SDK scenario, and the idclient it sent. */
function sdkCookies(scenario: string): { pcid: string; vid?: string; idclient: string } {
  const f = sdkFixture(scenario) as unknown as {
    requests: { query: { idclient: string } }[];
    pageObservations: { cookiesAfter: { name: string; value: string }[] };
  };
  const cookie = (name: string) => f.pageObservations.cookiesAfter.find((c) => c.name === name)?.value;
  const vid = cookie('pa_vid');
  return { pcid: cookie('_pcid')!, ...(vid ? { vid } : {}), idclient: f.requests[0]!.query.idclient };
}

describe('visitorIdsHeldAs', () => {
  it("reads a Matomo _pk_id cookie value, today's and older forms, any case, whitespace, name= pasted", () => {
    for (const value of [
      `${MATOMO_ID}.1764000000.`,
      `${MATOMO_ID.toUpperCase()}.1764000000.`,
      `  ${MATOMO_ID}.1764000000.\n`,
      // Matomo 3: then the visit count, the current and last visits, the last order
      `\t${MATOMO_ID}.1600000000.42.1700000000.1690000000.`,
      `${MATOMO_ID}.1600000000.3.1700000000.1690000000`,
      `_pk_id.3.1fff=${MATOMO_ID}.1764000000.`,
      `${MATOMO_ID}.1764000000`, // the trailing dot lost in a copy
    ]) {
      const read = visitorIdsHeldAs(value);
      expect(read, JSON.stringify(value)).toEqual({ ids: [MATOMO_ID], readAs: 'Matomo _pk_id cookie value' });
    }
  });

  it('reads the bare id as given, and a tracker-shaped id also in lower case', () => {
    expect(visitorIdsHeldAs(MATOMO_ID)).toEqual({ ids: [MATOMO_ID], readAs: 'id as given' });
    const both = (ids: string[]) => ({ ids, readAs: 'id, also in lower case' });
    expect(visitorIdsHeldAs(` ${MATOMO_ID.toUpperCase()} `)).toEqual(both([MATOMO_ID.toUpperCase(), MATOMO_ID]));
    expect(visitorIdsHeldAs('MX1AI1Y2UNR4HREZ')).toEqual(both(['MX1AI1Y2UNR4HREZ', 'mx1ai1y2unr4hrez']));
    // the SDK's id it could not store keeps its upper-case -NO
    expect(visitorIdsHeldAs('MX1AI1Y2UNR4HREZ-no')).toEqual(both(['MX1AI1Y2UNR4HREZ-no', 'mx1ai1y2unr4hrez-NO']));
    // an id a site made itself keeps its case: Alice-42 and alice-42 may be two people
    expect(visitorIdsHeldAs('Alice-42')).toEqual({ ids: ['Alice-42'], readAs: 'id as given' });
  });

  it("reads the Piano SDK's _pcid cookie as the browser stores it (URL-encoded JSON) and decoded", () => {
    const { pcid, idclient: sent } = sdkCookies('optin');
    expect(pcid).toMatch(/^%7B%22browserId%22/); // what devtools shows under Application → Cookies
    // the id the SDK sent is the cookie's browserId (the fixture's sent id is moved to today: compare the random half)
    const idclient = (JSON.parse(decodeURIComponent(pcid)) as { browserId: string }).browserId;
    expect(idclient.slice(8)).toBe(sent.slice(8));
    expect(visitorIdsHeldAs(pcid)).toEqual({ ids: [idclient], readAs: 'Piano _pcid cookie value, URL-encoded' });
    const encoded = { ids: [idclient], readAs: 'Piano _pcid cookie value, URL-encoded' };
    const decoded = { ids: [idclient], readAs: 'Piano _pcid cookie value' };
    expect(visitorIdsHeldAs(` ${decodeURIComponent(pcid)}\r\n`)).toEqual(decoded);
    expect(visitorIdsHeldAs(`_pcid=${pcid}`)).toEqual(encoded);
    // %7b as well as %7B
    const lowerEscapes = pcid.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase());
    expect(visitorIdsHeldAs(lowerEscapes)).toEqual(encoded);
  });

  it('reads the pa_vid cookie (an id the site set with setVisitorId), which is the idclient sent instead', () => {
    const { vid, idclient } = sdkCookies('visitor-id');
    expect(idclient).toBe('my-visitor-42');
    const vidEncoded = 'Piano pa_vid cookie value, URL-encoded';
    expect(visitorIdsHeldAs(vid!)).toEqual({ ids: ['my-visitor-42'], readAs: vidEncoded });
    const vidDecoded = { ids: ['my-visitor-42'], readAs: 'Piano pa_vid cookie value' };
    expect(visitorIdsHeldAs('"my-visitor-42"')).toEqual(vidDecoded);
    const special = sdkCookies('visitor-id-special-chars');
    expect(visitorIdsHeldAs(special.vid!)).toEqual({ ids: ['v 42/é&x=1+y'], readAs: vidEncoded });
  });

  it('refuses what cannot be an id, without quoting it', () => {
    for (const [value, problem] of [
      ['   ', 'idclient is empty'],
      ['_pk_id.3.1fff=', 'idclient is empty'],
      ['{"browserId":""}', 'idclient looks like a Piano _pcid cookie value (JSON) but holds no browserId'],
      ['%7B%22other%22%3A1%7D', 'idclient looks like a Piano _pcid cookie value (JSON) but holds no browserId'],
      ['{not json', 'idclient looks like a Piano _pcid cookie value (JSON) but holds no browserId'],
      ['"unterminated\\"', 'idclient looks like a Piano pa_vid cookie value (a JSON string) but is not one'],
      ['a\u0000b', 'idclient holds control characters'],
      ['x'.repeat(257), 'idclient longer than 256 characters'],
    ] as const) {
      expect(visitorIdsHeldAs(value), JSON.stringify(value)).toEqual({ problem });
    }
  });
});
