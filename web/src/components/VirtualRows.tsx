import { useEffect, useRef } from 'react';
import {
  flexRender,
  getCoreRowModel,
  useReactTable,
  type ColumnDef,
  type OnChangeFn,
  type RowData,
  type SortingState,
} from '@tanstack/react-table';
import { useVirtualizer } from '@tanstack/react-virtual';

declare module '@tanstack/react-table' {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  interface ColumnMeta<TData extends RowData, TValue> {
    /** The column's CSS grid track, e.g. `6rem` or `minmax(8rem, 2fr)`. */
    width?: string;
    /** `num` right-aligns figures. */
    className?: string;
  }
}

const ROW = 34;

/**
 * A long list as a table (TanStack Table: columns, header, server-side sorting) drawn as a
 * window of rows (TanStack Virtual: only what is on screen, plus a few, is in the DOM);
 * `onNearEnd` asks for the next page when the window comes close to the loaded end.
 */
export function VirtualRows<T>({
  items,
  columns,
  rowKey,
  onNearEnd,
  testId,
  label,
  selected,
  sorting,
  onSortingChange,
}: {
  items: T[];
  columns: ColumnDef<T, unknown>[];
  rowKey: (item: T) => string;
  onNearEnd?: () => void;
  testId?: string;
  label: string;
  selected?: string | null;
  /** With `onSortingChange`: sortable headers, the order kept by the caller (the server sorts). */
  sorting?: SortingState;
  onSortingChange?: OnChangeFn<SortingState>;
}) {
  const table = useReactTable({
    data: items,
    columns,
    getCoreRowModel: getCoreRowModel(),
    getRowId: rowKey,
    manualSorting: true,
    enableSorting: Boolean(onSortingChange),
    enableMultiSort: false,
    sortDescFirst: true,
    state: sorting ? { sorting } : {},
    onSortingChange,
  });
  const rows = table.getRowModel().rows;
  const template = table
    .getVisibleLeafColumns()
    .map((c) => c.columnDef.meta?.width ?? '1fr')
    .join(' ');

  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW,
    overscan: 12,
    getItemKey: (i) => rows[i]?.id ?? i,
  });
  const windowed = virtualizer.getVirtualItems();
  const last = windowed[windowed.length - 1]?.index ?? -1;
  useEffect(() => {
    if (onNearEnd && rows.length > 0 && last >= rows.length - 25) onNearEnd();
  }, [last, rows.length, onNearEnd]);

  return (
    <div
      className="scroller"
      ref={scroller}
      data-testid={testId}
      role="table"
      aria-label={label}
      aria-rowcount={rows.length + 1}
      // As tall as its rows, up to most of the screen.
      style={{ height: `min(60vh, ${(rows.length + 1) * ROW + 2}px)` }}
    >
      {table.getHeaderGroups().map((group) => (
        <div key={group.id} className="vrow head" role="row" style={{ gridTemplateColumns: template, height: ROW }}>
          {group.headers.map((h) => {
            const sorted = h.column.getIsSorted();
            const content = flexRender(h.column.columnDef.header, h.getContext());
            return (
              <span
                key={h.id}
                role="columnheader"
                className={h.column.columnDef.meta?.className}
                aria-sort={sorted === 'asc' ? 'ascending' : sorted === 'desc' ? 'descending' : undefined}
              >
                {h.column.getCanSort() ? (
                  <button type="button" className="sort" onClick={h.column.getToggleSortingHandler()}>
                    {content}
                    {sorted === 'asc' ? ' ▲' : sorted === 'desc' ? ' ▼' : ''}
                  </button>
                ) : (
                  content
                )}
              </span>
            );
          })}
        </div>
      ))}
      <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }} role="rowgroup">
        {windowed.map((v) => {
          const row = rows[v.index];
          if (!row) return null;
          return (
            <div
              key={v.key}
              role="row"
              aria-rowindex={v.index + 2}
              data-row={row.id}
              className={selected === row.id ? 'vrow selected' : 'vrow'}
              style={{ gridTemplateColumns: template, height: ROW, top: v.start }}
            >
              {row.getVisibleCells().map((cell) => (
                <span key={cell.id} role="cell" className={cell.column.columnDef.meta?.className}>
                  {flexRender(cell.column.columnDef.cell, cell.getContext())}
                </span>
              ))}
            </div>
          );
        })}
      </div>
    </div>
  );
}
