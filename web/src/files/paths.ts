/** Folder paths in the file browser end in `/`; the root is the empty string. */

/** `a/b/` -> [['a', 'a/'], ['b', 'a/b/']] for breadcrumbs. */
export function crumbs(folder: string): [string, string][] {
  const parts = folder.split('/').filter(Boolean);
  return parts.map((name, i) => [name, `${parts.slice(0, i + 1).join('/')}/`]);
}

/** A folder path from the URL: no leading slash, no `.`/`..` segments, ends in `/` (or empty). */
export function normaliseFolder(raw: string | null): string {
  const parts = (raw ?? '').split('/').filter((p) => p && p !== '.' && p !== '..');
  return parts.length ? `${parts.join('/')}/` : '';
}

/** The folder that holds a file path (`a/b/c.txt` -> `a/b/`). */
export function parentFolder(path: string): string {
  const cut = path.lastIndexOf('/');
  return cut < 0 ? '' : path.slice(0, cut + 1);
}
