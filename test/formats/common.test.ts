import { describe, expect, it } from 'vitest';
import { jsonSyntaxMessage } from '../../src/contract/wire.js';
import { parseJson } from '../../src/formats/common.js';
import { FormatError } from '../../src/formats/types.js';

describe('JSON bodies of the tracker formats', () => {
  it('say what is wrong and where, never the text the client sent', () => {
    const cases: [string, RegExp][] = [
      ['not json 203.0.113.9', /^body is not valid JSON: Unexpected token 'o'$/],
      ['{"a":tru}', /^body is not valid JSON: Unexpected token '}'$/],
      ['{"events":[', /^body is not valid JSON: Unexpected end of JSON input$/],
      [
        '{"a":"alice@example.com" "b"}',
        /^body is not valid JSON: Expected ',' or '}' after property value in JSON at position \d+/,
      ],
    ];
    for (const [body, message] of cases) {
      let error: unknown;
      try {
        JSON.parse(body);
      } catch (err) {
        error = err;
      }
      const said = jsonSyntaxMessage((error as Error).message);
      expect(said, body).toMatch(message);
      expect(said).not.toMatch(/203\.0|alice|events/);
      expect(() => parseJson(body, 'body')).toThrow(FormatError);
      expect(() => parseJson(body, 'body')).toThrow(said);
    }
  });
});
