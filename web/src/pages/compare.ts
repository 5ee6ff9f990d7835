/** One top-level metadata key's change between two versions. */
export interface MetadataChange {
  key: string;
  kind: 'added' | 'removed' | 'changed';
  from?: unknown;
  to?: unknown;
}

/** The metadata keys that differ, by key (values compared as JSON), in key order. */
export function metadataDiff(from: Record<string, unknown>, to: Record<string, unknown>): MetadataChange[] {
  const keys = [...new Set([...Object.keys(from), ...Object.keys(to)])].sort();
  const out: MetadataChange[] = [];
  for (const key of keys) {
    const inFrom = Object.prototype.hasOwnProperty.call(from, key);
    const inTo = Object.prototype.hasOwnProperty.call(to, key);
    if (inFrom && !inTo) out.push({ key, kind: 'removed', from: from[key] });
    else if (!inFrom && inTo) out.push({ key, kind: 'added', to: to[key] });
    else if (JSON.stringify(from[key]) !== JSON.stringify(to[key])) {
      out.push({ key, kind: 'changed', from: from[key], to: to[key] });
    }
  }
  return out;
}

/** `+1.5 KiB`-style size change, signed. */
export function delta(from: number, to: number, format: (n: number) => string): string {
  const d = to - from;
  if (d === 0) return '±0';
  return `${d > 0 ? '+' : '−'}${format(Math.abs(d))}`;
}
