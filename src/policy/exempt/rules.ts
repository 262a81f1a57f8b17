// The rules, by name: the wording /privacy states and the label of the
// collector_privacy_exempt_values_total metric. Each is applied by one module beside this one.
export const EXEMPT_VALUE_RULES = Object.freeze({
  shape:
    'a kept value is a string, number, boolean or null, or an array of those; the client-hint brand ' +
    'lists (ch_ua, ch_ua_full_version_list) are the one structured exception, as arrays of {brand, ' +
    'version} strings (both strings go through every rule); any other value is dropped',
  reading:
    'every kept string is read once as a browser or a person reads it, and stored as that reading: ' +
    'percent-decoding to a fixed point (also %u0040), HTML entities with or without ";" (&#64, ' +
    '&#x40;, &commat;, &quot;), JS and CSS escapes (\\u0040, \\u{40}, \\x40, \\100), Unicode ' +
    'compatibility form (NFKC), invisible and control characters removed (zero-width, soft hyphen, ' +
    'bidi marks), whitespace folded; a string still changing after 8 rounds of decoding is dropped. ' +
    'Every rule below looks at this reading only',
  url:
    'URLs, in any property, in arrays and inside text, and paths (values starting with "/", as ' +
    "Plausible's page), are rebuilt from their parts: scheme, host and path, never the " +
    'user:password@, query, fragment or ;params; a numeric host, or a host name holding an IPv4 ' +
    'address in any order (203-0-113-9.dsl..., static.9.113.0.203...., myapp.203.0.113.9.nip.io), ' +
    'becomes [ip]; a path segment that is a token (a UUID, a long random, hexadecimal or ' +
    "base64-looking string, a long number, an e-mail address) or matches one of the site's " +
    'maskPaths becomes [id]; words, slugs, dates and short numbers stay',
  email:
    'e-mail addresses in any kept string, however encoded (the reading above), quoted ("alice"@…), ' +
    'written with bracketed words ([at], {at}, <at>, [dot]), or spaced and in plain words before a ' +
    'dotted domain (alice @ example.com, alice at example dot com), become "[email]"',
  ip:
    'IPv4 and IPv6 addresses in any kept string become "[ip]": IPv4 dotted, joined by - or _ as host ' +
    'names write it, after a host label (client.203.0.113.9), reversed (9.113.0.203.in-addr.arpa), ' +
    'IPv6 in full or compressed, a 6to4 prefix (2002:cb00:7109::, which holds an IPv4 whole), the ' +
    'ip6.arpa nibble form, and any IPv6 finer than a /48 (a /64 such as 2001:db8:85a3:8d3:: is an ' +
    "address); left as they are: an IPv4 /24 network (last octet 0, as Chrome's reduced 120.0.0.0 " +
    'versions), an IPv6 /48 or coarser, loopback',
  query:
    'in every other string, what follows a "?" (up to the next space), name=value words (whatever ' +
    'characters the name holds: $token=, session:id=, a+b=), &name=… and #name=… segments and ' +
    ';params (;jsessionid=…) are removed',
  campaign:
    'campaign parameters and click identifiers (utm_*, at_*, pk_*, mtm_*, xtor, gclid, fbclid, ' +
    'msclkid, ...) are removed with their value wherever they appear: as name=value, name: value, ' +
    'JSON ("gclid":"…", also escaped or as entities), or as a name/value pair (["gclid","…"], which ' +
    'drops the value whole)',
  day:
    'cookie_creation_date is kept to the UTC day; a date that cannot be read is dropped (and the hit ' +
    'gets no visitor pseudonym)',
});
