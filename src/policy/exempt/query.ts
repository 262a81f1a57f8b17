// query: in a string that is not a URL (URLs are rebuilt by url.ts), what reads as a
// query or parameters goes, whatever characters its names hold: `?` and all that follows
// it up to a space (`/s?SECRET`, `/reset?$token=…`), `;name=…` path parameters
// (`;jsessionid=`), `&name=…` and `#name=…` segments, and `name=value` words
// (`session:id=…`, `a+b=…`). A `?` or `#` ending a word (`Really?`, `C#`) stays.
import type { TextRule } from './common.js';

const QUERY_TAIL = /\?(?=\S)\S*/g;
const PARAMS = /;[^\s;=]*=\S*|[&#][^\s&#=]*[=:]\S*/g;
const NAME_VALUE = /(?<=^|\s)[^\s=]+=\S*|(?<=^|\s)=\S+/g;

function removeQueries(text: string): string {
  return text.replace(QUERY_TAIL, '').replace(PARAMS, '').replace(NAME_VALUE, '');
}

export const queryRule: TextRule = { name: 'query', needs: /[?=]|[&#][^\s&#=]*[=:]/, apply: removeQueries };
