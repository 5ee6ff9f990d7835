import { describe, expect, it } from 'vitest';
import { delta, joinPages, metadataDiff, tensorDiff } from './compare';

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

describe('comparing tensors', () => {
  it('by name: dtype and shape changes, additions, removals', () => {
    const t = (name: string, dtype: string, shape: number[]) => ({ name, dtype, shape });
    expect(
      tensorDiff(
        [t('a', 'F16', [2, 2]), t('b', 'F32', [3]), t('same', 'F32', [1])],
        [t('a', 'F32', [2, 2]), t('c', 'F32', [4]), t('same', 'F32', [1])],
      ).map((c) => [c.name, c.kind]),
    ).toEqual([
      ['a', 'changed'],
      ['b', 'removed'],
      ['c', 'added'],
    ]);
    expect(tensorDiff([t('x', 'F32', [2, 3])], [t('x', 'F32', [3, 2])])[0]?.kind).toBe('changed');
  });
});

describe('a comparison in pages', () => {
  it('joins the lists, sums the unchanged files and keeps the last page\'s cursor', () => {
    const f = (path: string) => ({ path }) as never;
    const page = (added: string[], unchanged: number, next: string | null) => ({
      added: added.map(f),
      removed: [],
      modified: [],
      renamed: [],
      unchanged,
      truncated: next !== null,
      next_cursor: next,
    });
    const joined = joinPages([page(['a', 'b'], 3, 'b'), page(['c'], 4, null)]);
    expect(joined.added.map((x) => (x as { path: string }).path)).toEqual(['a', 'b', 'c']);
    expect(joined.unchanged).toBe(7);
    expect(joined.truncated).toBe(false);
    expect(joined.next_cursor).toBeNull();
    expect(joinPages([page(['a'], 1, 'a')]).next_cursor).toBe('a');
  });
});
