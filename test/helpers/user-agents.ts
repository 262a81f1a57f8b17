// Real User-Agent strings, as each sender writes it: robots from their operators' own
// documentation pages (Google, Bing, Yandex, Apple, Ahrefs, Semrush, Majestic, OpenAI,
// Anthropic, Common Crawl, Perplexity, UptimeRobot, Pingdom, Datadog) and the libraries'
// defaults (curl, python-requests, Go's net/http, axios, node-fetch, Node's fetch);
// browsers in the reduced form current versions send (Chrome 156 as Debian's Chromium
// here is; Chrome freezes the OS part, Safari the iOS version). Used by the audience tests
// (test/pipeline/audience.test.ts, test/routes/audience.test.ts) and bench/audience.ts.

type UserAgentKind = 'search' | 'seo' | 'ai' | 'library' | 'headless' | 'monitoring' | 'browser';

export interface KnownUserAgent {
  name: string;
  kind: UserAgentKind;
  ua: string;
}

/** What a current desktop Chrome sends: the test helpers' default, and the browser tests' context. */
export const DESKTOP_CHROME_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36';

export const ROBOT_USER_AGENTS: readonly KnownUserAgent[] = [
  { kind: 'search', name: 'Googlebot', ua: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)' },
  {
    kind: 'search',
    name: 'Googlebot smartphone',
    ua:
      'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) ' +
      'Chrome/156.0.8078.129 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
  },
  {
    kind: 'search',
    name: 'Bingbot',
    ua: 'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36',
  },
  { kind: 'search', name: 'YandexBot', ua: 'Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)' },
  {
    kind: 'search',
    name: 'Applebot',
    ua:
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 ' +
      'Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)',
  },
  { kind: 'search', name: 'DuckDuckBot', ua: 'DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)' },
  {
    kind: 'search',
    name: 'Baiduspider',
    ua: 'Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)',
  },
  { kind: 'seo', name: 'AhrefsBot', ua: 'Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)' },
  {
    kind: 'seo',
    name: 'SemrushBot',
    ua: 'Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)',
  },
  { kind: 'seo', name: 'MJ12bot', ua: 'Mozilla/5.0 (compatible; MJ12bot/v1.4.8; http://mj12bot.com/)' },
  {
    kind: 'seo',
    name: 'DotBot',
    ua: 'Mozilla/5.0 (compatible; DotBot/1.2; +https://opensiteexplorer.org/dotbot; help@moz.com)',
  },
  {
    kind: 'ai',
    name: 'GPTBot',
    ua: 'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)',
  },
  {
    kind: 'ai',
    name: 'ChatGPT-User',
    ua: 'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot',
  },
  {
    kind: 'ai',
    name: 'ClaudeBot',
    ua: 'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)',
  },
  { kind: 'ai', name: 'CCBot', ua: 'CCBot/2.0 (https://commoncrawl.org/faq/)' },
  {
    kind: 'ai',
    name: 'PerplexityBot',
    ua: 'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; PerplexityBot/1.0; +https://perplexity.ai/perplexitybot)',
  },
  {
    kind: 'ai',
    name: 'Bytespider',
    ua:
      'Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 ' +
      '(compatible; Bytespider; spider-feedback@bytedance.com)',
  },
  { kind: 'library', name: 'python-requests', ua: 'python-requests/2.32.3' },
  { kind: 'library', name: 'curl', ua: 'curl/8.11.1' },
  { kind: 'library', name: 'Go net/http', ua: 'Go-http-client/1.1' },
  { kind: 'library', name: 'axios', ua: 'axios/1.7.9' },
  { kind: 'library', name: 'node-fetch', ua: 'node-fetch/1.0 (+https://github.com/bitinn/node-fetch)' },
  { kind: 'library', name: "Node's fetch", ua: 'node' },
  { kind: 'library', name: 'undici', ua: 'undici' },
  { kind: 'library', name: 'Wget', ua: 'Wget/1.24.5' },
  { kind: 'library', name: 'Java HttpClient', ua: 'Java-http-client/21.0.5' },
  { kind: 'library', name: 'Apache HttpClient', ua: 'Apache-HttpClient/4.5.14 (Java/17.0.9)' },
  { kind: 'library', name: 'PostmanRuntime', ua: 'PostmanRuntime/7.43.0' },
  {
    kind: 'headless',
    name: 'HeadlessChrome (Puppeteer, Playwright defaults)',
    ua: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36',
  },
  {
    kind: 'headless',
    name: 'PhantomJS',
    ua: 'Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1',
  },
  {
    kind: 'headless',
    name: 'Chrome-Lighthouse',
    ua:
      'Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) ' +
      'Chrome/156.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse',
  },
  {
    kind: 'monitoring',
    name: 'UptimeRobot',
    ua: 'Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)',
  },
  { kind: 'monitoring', name: 'Pingdom', ua: 'Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)' },
  {
    kind: 'monitoring',
    name: 'Datadog synthetics (browser test)',
    ua: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36 DatadogSynthetics',
  },
  { kind: 'monitoring', name: 'Datadog synthetics (API test)', ua: 'Datadog/Synthetics' },
];

export const BROWSER_USER_AGENTS: readonly KnownUserAgent[] = [
  { kind: 'browser', name: 'Chrome, Windows', ua: DESKTOP_CHROME_UA },
  {
    kind: 'browser',
    name: 'Chrome, macOS',
    ua: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36',
  },
  {
    kind: 'browser',
    name: 'Chrome, Linux',
    ua: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36',
  },
  {
    kind: 'browser',
    name: 'Chrome, Android',
    ua: 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36',
  },
  {
    kind: 'browser',
    name: 'Chrome, iPhone',
    ua:
      'Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) ' +
      'CriOS/156.0.8078.100 Mobile/15E148 Safari/604.1',
  },
  {
    kind: 'browser',
    name: 'Firefox, Windows',
    ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:146.0) Gecko/20100101 Firefox/146.0',
  },
  {
    kind: 'browser',
    name: 'Firefox, Linux',
    ua: 'Mozilla/5.0 (X11; Linux x86_64; rv:146.0) Gecko/20100101 Firefox/146.0',
  },
  {
    kind: 'browser',
    name: 'Firefox, Android',
    ua: 'Mozilla/5.0 (Android 15; Mobile; rv:146.0) Gecko/146.0 Firefox/146.0',
  },
  {
    kind: 'browser',
    name: 'Safari, macOS',
    ua: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.1 Safari/605.1.15',
  },
  {
    kind: 'browser',
    name: 'Safari, iPhone',
    ua:
      'Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) ' +
      'Version/26.1 Mobile/15E148 Safari/604.1',
  },
  {
    kind: 'browser',
    name: 'Safari, iPad',
    ua: 'Mozilla/5.0 (iPad; CPU OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.1 Mobile/15E148 Safari/604.1',
  },
  {
    kind: 'browser',
    name: 'Samsung Internet',
    ua:
      'Mozilla/5.0 (Linux; Android 15; SAMSUNG SM-S931B) AppleWebKit/537.36 (KHTML, like Gecko) ' +
      'SamsungBrowser/29.0 Chrome/136.0.0.0 Mobile Safari/537.36',
  },
  {
    kind: 'browser',
    name: 'Edge, Windows',
    ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36 Edg/156.0.0.0',
  },
  {
    kind: 'browser',
    name: "Facebook's in-app browser, iPhone",
    ua:
      'Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 ' +
      '[FBAN/FBIOS;FBAV/489.0.0.41.109;FBBV/700000000;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/18.6;FBSS/3;FBCR/;FBID/phone;FBLC/fr_FR;FBOP/5]',
  },
  {
    kind: 'browser',
    name: "Instagram's in-app browser, Android",
    ua:
      'Mozilla/5.0 (Linux; Android 15; Pixel 8 Build/AP4A.250105.002; wv) AppleWebKit/537.36 (KHTML, like Gecko) ' +
      'Version/4.0 Chrome/156.0.0.0 Mobile Safari/537.36 Instagram 350.0.0.0.0 Android',
  },
  {
    kind: 'browser',
    name: 'Opera, Windows',
    ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36 OPR/141.0.0.0',
  },
];
