import { describe, expect, it } from 'vitest';
import { parseMetadata } from './DetailsEditor';

describe('metadata text', () => {
  it('takes a JSON object and nothing else', () => {
    expect(parseMetadata('{"accuracy": 0.9}')).toEqual({ ok: true, value: { accuracy: 0.9 } });
    expect(parseMetadata('  ')).toEqual({ ok: true, value: {} });
    for (const bad of ['[1, 2]', '"text"', '3', 'null', '{"a": }']) {
      expect(parseMetadata(bad).ok).toBe(false);
    }
  });
});
