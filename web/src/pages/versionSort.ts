import type { SortingState } from '@tanstack/react-table';

/** The versions table's order by default: newest version first. */
export const DEFAULT_SORT = '-index';

/** The server's sort parameter (`-total_size`) as the table's sorting state. */
export function sortingOf(sort: string): SortingState {
  return [{ id: sort.replace(/^-/, ''), desc: sort.startsWith('-') }];
}

/** The table's sorting state as the server's sort parameter; none is the default order. */
export function sortOf(sorting: SortingState): string {
  const first = sorting[0];
  return first ? `${first.desc ? '-' : ''}${first.id}` : DEFAULT_SORT;
}
