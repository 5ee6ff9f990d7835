import { useCallback, useMemo } from 'react';
import { keepPreviousData, useInfiniteQuery } from '@tanstack/react-query';

/** A page of a cursor-paged list, as every list endpoint answers. */
interface Page<T> {
  items: T[];
  next_cursor?: string | null;
}

/**
 * A cursor-paged list fetched a page at a time: `items` holds every page loaded so far, and
 * `more()` asks for the next one (at most one request at a time; nothing after the last page).
 */
export function usePaged<T>(
  queryKey: readonly unknown[],
  fetchPage: (cursor: string) => Promise<Page<T>>,
  { keepPrevious = false }: { keepPrevious?: boolean } = {},
) {
  const query = useInfiniteQuery({
    queryKey,
    queryFn: ({ pageParam }) => fetchPage(pageParam),
    initialPageParam: '',
    getNextPageParam: (last: Page<T>) => last.next_cursor ?? undefined,
    placeholderData: keepPrevious ? keepPreviousData : undefined,
  });
  const items = useMemo(() => query.data?.pages.flatMap((p) => p.items) ?? [], [query.data]);
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = query;
  const more = useCallback(() => {
    if (hasNextPage && !isFetchingNextPage) void fetchNextPage();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage]);
  return { ...query, items, more };
}
