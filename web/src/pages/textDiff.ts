import { diffLines } from 'diff';

export interface Side {
  /** 1-based line number in its file. */
  n: number;
  text: string;
}

export type DiffRow =
  | { kind: 'same' | 'changed' | 'removed' | 'added'; left?: Side; right?: Side }
  | { kind: 'skip'; count: number };

function lines(value: string): string[] {
  const out = value.split('\n');
  if (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}

/**
 * Two texts side by side, line by line: a removed run beside the added run that replaced it
 * (`changed`), what only one side has alone, and unchanged runs cut to `context` lines around
 * the changes (`skip` says how many were left out).
 */
export function sideBySide(before: string, after: string, context = 3): DiffRow[] {
  const rows: DiffRow[] = [];
  let left = 1;
  let right = 1;
  const parts = diffLines(before, after);
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const text = lines(part.value);
    if (part.removed) {
      const next = parts[i + 1];
      const added = next?.added ? lines(next.value) : [];
      if (next?.added) i++;
      for (let k = 0; k < Math.max(text.length, added.length); k++) {
        const l = text[k];
        const r = added[k];
        rows.push({
          kind: l !== undefined && r !== undefined ? 'changed' : l !== undefined ? 'removed' : 'added',
          left: l !== undefined ? { n: left++, text: l } : undefined,
          right: r !== undefined ? { n: right++, text: r } : undefined,
        });
      }
    } else if (part.added) {
      for (const r of text) rows.push({ kind: 'added', right: { n: right++, text: r } });
    } else {
      const first = i === 0;
      const last = i === parts.length - 1;
      const keepHead = first ? 0 : context;
      const keepTail = last ? 0 : context;
      if (text.length > keepHead + keepTail + 1) {
        for (const t of text.slice(0, keepHead)) rows.push({ kind: 'same', left: { n: left++, text: t }, right: { n: right++, text: t } });
        const skipped = text.length - keepHead - keepTail;
        rows.push({ kind: 'skip', count: skipped });
        left += skipped;
        right += skipped;
        for (const t of text.slice(text.length - keepTail)) rows.push({ kind: 'same', left: { n: left++, text: t }, right: { n: right++, text: t } });
      } else {
        for (const t of text) rows.push({ kind: 'same', left: { n: left++, text: t }, right: { n: right++, text: t } });
      }
    }
  }
  return rows;
}
