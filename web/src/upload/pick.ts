import type { LocalFile } from './engine';

/** Files chosen with `<input multiple>` or `<input webkitdirectory>` (relative paths kept). */
export function fromInput(list: FileList | null): LocalFile[] {
  return Array.from(list ?? [], (file) => ({ path: file.webkitRelativePath || file.name, file }));
}

/** Files and whole folders dropped on the page, read recursively through the entries API. */
export async function fromDrop(data: DataTransfer): Promise<LocalFile[]> {
  const entries = Array.from(data.items)
    .map((item) => (item.kind === 'file' ? item.webkitGetAsEntry() : null))
    .filter((e): e is FileSystemEntry => e !== null);
  if (entries.length === 0) return fromInput(data.files);
  const out: LocalFile[] = [];
  for (const entry of entries) await walk(entry, out);
  return out;
}

async function walk(entry: FileSystemEntry, out: LocalFile[]): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    out.push({ path: entry.fullPath.replace(/^\/+/, ''), file });
    return;
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  // readEntries answers at most ~100 entries per call: read until it answers none.
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return;
    for (const child of batch) await walk(child, out);
  }
}

/** The folder every path starts with, when there is exactly one (e.g. a dropped folder). */
export function commonFolder(files: LocalFile[]): string | null {
  const first = files[0]?.path.split('/')[0];
  if (!first || files.some((f) => !f.path.startsWith(`${first}/`))) return null;
  return first;
}

/**
 * The files as they go into the version: `strip` removes the common folder; later files with
 * the same path replace earlier ones; hidden OS clutter (.DS_Store, Thumbs.db) is left out.
 */
export function arrange(files: LocalFile[], strip: string | null): LocalFile[] {
  const byPath = new Map<string, LocalFile>();
  for (const f of files) {
    const path = strip && f.path.startsWith(`${strip}/`) ? f.path.slice(strip.length + 1) : f.path;
    const name = path.split('/').pop() ?? '';
    if (name === '.DS_Store' || name === 'Thumbs.db') continue;
    byPath.set(path, { path, file: f.file });
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Aliases typed as `best, prod` into a clean list (no duplicates, no `latest`). */
export function parseAliases(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter((a) => a && a !== 'latest'))];
}
