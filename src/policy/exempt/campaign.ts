// campaign: campaign parameters and click identifiers never survive, in any shape the
// reading leaves them in: `utm_source=x`, `gclid: x`, `"fbclid":"x"` (also what was
// escaped JSON, `{\"gclid\":\"x\"}`, or entities, `&quot;gclid&quot;`, before the
// reading), and a name/value pair `["gclid","x"]`. The names are data (allowlists.ts).
import { CAMPAIGN_PARAMETER_PREFIXES, CAMPAIGN_PARAMETERS } from '../allowlists.js';
import type { TextRule } from './common.js';

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const NAMES = [
  ...CAMPAIGN_PARAMETER_PREFIXES.map((p) => `${escapeRe(p)}[\\p{L}\\p{N}_.\\-\\[\\]]{0,64}`),
  ...CAMPAIGN_PARAMETERS.map(escapeRe),
].join('|');
const VALUE = `[^\\s&#;,"'}]*`;
const CAMPAIGN = new RegExp(
  // unquoted: name=value, name: value; quoted: "name":"value", "name","value" (a pair)
  `(?<![\\p{L}\\p{N}_])(?:(?:${NAMES})[ \\t]{0,3}[=:]|(["'])(?:${NAMES})\\1[ \\t]{0,3}[=:,])` +
    `[ \\t]{0,3}(["']?)${VALUE}\\2`,
  'giu',
);
/** A separator left alone at the end of a word once its parameter is gone. */
const LEFT_SEPARATORS = /[?&;#,](?=$|\s)/g;

/** `utm_source=news`, `gclid: abc`, `"fbclid":"x"`: removed wherever they appear. */
function removeCampaignParameters(text: string): string {
  const out = text.replace(CAMPAIGN, '');
  return out === text ? text : out.replace(LEFT_SEPARATORS, '');
}

/** `=`, `:` or `,` after a name. */
export const campaignRule: TextRule = { name: 'campaign', needs: /[=:,]/, apply: removeCampaignParameters };

/**
 * A name a site may never allowlist, or an array item naming a pair's value: campaign data is outside
 * the exemption.
 */
export function isCampaignName(name: string): boolean {
  const n = name.trim().toLowerCase();
  return CAMPAIGN_PARAMETERS.includes(n) || CAMPAIGN_PARAMETER_PREFIXES.some((p) => n.startsWith(p));
}
