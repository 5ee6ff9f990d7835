import { useEffect, useRef, type ReactNode } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';

const ROW = 34;

/**
 * A long list drawn as a window of rows (only what is on screen, plus a few, is in the DOM);
 * `onNearEnd` asks for the next page when the window comes close to the loaded end.
 */
export function VirtualRows<T>({
  items,
  columns,
  header,
  row,
  rowKey,
  onNearEnd,
  testId,
  label,
  selected,
}: {
  items: T[];
  /** A CSS grid-template-columns value shared by the header and every row. */
  columns: string;
  header: ReactNode;
  row: (item: T, index: number) => ReactNode;
  rowKey: (item: T) => string;
  onNearEnd?: () => void;
  testId?: string;
  label: string;
  selected?: string | null;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: items.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW,
    overscan: 12,
    getItemKey: (i) => {
      const item = items[i];
      return item === undefined ? i : rowKey(item);
    },
  });
  const windowed = virtualizer.getVirtualItems();
  const last = windowed[windowed.length - 1]?.index ?? -1;
  useEffect(() => {
    if (onNearEnd && items.length > 0 && last >= items.length - 25) onNearEnd();
  }, [last, items.length, onNearEnd]);

  return (
    <div
      className="scroller"
      ref={scroller}
      data-testid={testId}
      role="table"
      aria-label={label}
      // As tall as its rows, up to most of the screen.
      style={{ height: `min(60vh, ${(items.length + 1) * ROW + 2}px)` }}
    >
      <div className="vrow head" role="row" style={{ gridTemplateColumns: columns, height: ROW }}>
        {header}
      </div>
      <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }} role="rowgroup">
        {windowed.map((v) => {
          const item = items[v.index];
          if (item === undefined) return null;
          const key = rowKey(item);
          return (
            <div
              key={v.key}
              role="row"
              data-row={key}
              className={selected === key ? 'vrow selected' : 'vrow'}
              style={{ gridTemplateColumns: columns, height: ROW, top: v.start }}
            >
              {row(item, v.index)}
            </div>
          );
        })}
      </div>
    </div>
  );
}
