import type { Schemas } from '../api/client';
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

/** A tensor as the inspector lists it. */
export interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
}

export interface TensorChange {
  name: string;
  kind: 'added' | 'removed' | 'changed';
  from?: TensorInfo;
  to?: TensorInfo;
}

/** The tensors added, removed or changed in dtype or shape, by name, in name order. */
export function tensorDiff(from: TensorInfo[], to: TensorInfo[]): TensorChange[] {
  const before = new Map(from.map((t) => [t.name, t]));
  const after = new Map(to.map((t) => [t.name, t]));
  const names = [...new Set([...before.keys(), ...after.keys()])].sort();
  const out: TensorChange[] = [];
  for (const name of names) {
    const a = before.get(name);
    const b = after.get(name);
    if (a && !b) out.push({ name, kind: 'removed', from: a });
    else if (!a && b) out.push({ name, kind: 'added', to: b });
    else if (a && b && (a.dtype !== b.dtype || a.shape.join() !== b.shape.join())) {
      out.push({ name, kind: 'changed', from: a, to: b });
    }
  }
  return out;
}

type Diff = Schemas['VersionDiffDto'];

/** Pages of a comparison as one (renames are paired within each page). */
export function joinPages(pages: Diff[]): Diff {
  const last = pages[pages.length - 1];
  return {
    added: pages.flatMap((p) => p.added),
    removed: pages.flatMap((p) => p.removed),
    modified: pages.flatMap((p) => p.modified),
    renamed: pages.flatMap((p) => p.renamed),
    unchanged: pages.reduce((n, p) => n + p.unchanged, 0),
    truncated: last?.truncated ?? false,
    next_cursor: last?.next_cursor ?? null,
  };
}
