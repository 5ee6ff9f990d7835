import { describe, expect, it } from 'vitest';
import { delta, metadataDiff } from './compare';

describe('comparing versions', () => {
  it('diffs metadata by key', () => {
    const changes = metadataDiff(
      { accuracy: 0.9, tags: ['a'], gone: 1, same: { x: 1 } },
      { accuracy: 0.95, tags: ['a'], new: true, same: { x: 1 } },
    );
    expect(changes).toEqual([
      { key: 'accuracy', kind: 'changed', from: 0.9, to: 0.95 },
      { key: 'gone', kind: 'removed', from: 1 },
      { key: 'new', kind: 'added', to: true },
    ]);
  });

  it('signs size changes', () => {
    const f = (n: number) => `${n} B`;
    expect(delta(10, 15, f)).toBe('+5 B');
    expect(delta(15, 10, f)).toBe('−5 B');
    expect(delta(3, 3, f)).toBe('±0');
  });
});
