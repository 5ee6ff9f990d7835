import { describe, expect, it } from 'vitest';
import { sideBySide } from './textDiff';

describe('side-by-side text diff', () => {
  it('pairs a replaced line and keeps context around changes', () => {
    const before = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].join('\n') + '\n';
    const after = ['a', 'b', 'c', 'd', 'e', 'F', 'g', 'h', 'i', 'j', 'k'].join('\n') + '\n';
    const rows = sideBySide(before, after, 2);
    // Context of 2 before the change; the 4 lines between the change and the addition stay.
    expect(rows.map((r) => r.kind)).toEqual(['skip', 'same', 'same', 'changed', 'same', 'same', 'same', 'same', 'added']);
    const changed = rows[3];
    expect(changed).toEqual({ kind: 'changed', left: { n: 6, text: 'f' }, right: { n: 6, text: 'F' } });
    expect(rows[0]).toEqual({ kind: 'skip', count: 3 });
    expect(rows[8]).toEqual({ kind: 'added', right: { n: 11, text: 'k' } });
    const between = sideBySide('a\nb\nc\nd\ne\nf\ng\n', 'A\nb\nc\nd\ne\nf\nG\n', 1);
    expect(between.map((r) => r.kind)).toEqual(['changed', 'same', 'skip', 'same', 'changed']);
    expect(between[2]).toEqual({ kind: 'skip', count: 3 });
    expect(between[4]).toEqual({ kind: 'changed', left: { n: 7, text: 'g' }, right: { n: 7, text: 'G' } });
  });

  it('shows a removal without a partner', () => {
    const rows = sideBySide('x\ny\n', 'x\n');
    expect(rows).toEqual([
      { kind: 'same', left: { n: 1, text: 'x' }, right: { n: 1, text: 'x' } },
      { kind: 'removed', left: { n: 2, text: 'y' }, right: undefined },
    ]);
  });
});
