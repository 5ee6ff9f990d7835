import { describe, expect, it } from 'vitest';
import { DEFAULT_SORT, sortingOf, sortOf } from './versionSort';

describe('the versions table order', () => {
  it('maps the server sort to table state and back', () => {
    for (const sort of ['-index', 'index', '-total_size', 'created_at', '-metadata.accuracy']) {
      expect(sortOf(sortingOf(sort))).toBe(sort);
    }
    expect(sortingOf('-total_size')).toEqual([{ id: 'total_size', desc: true }]);
    expect(sortOf([])).toBe(DEFAULT_SORT);
  });
});
