/** What a file's preview shows, chosen from its name, content type and first bytes. */
export type PreviewKind =
  | { kind: 'image'; mime: string }
  | { kind: 'svg' }
  | { kind: 'markdown' }
  | { kind: 'json' }
  | { kind: 'table'; delimiter: ',' | '\t' }
  | { kind: 'code'; lang: CodeLang }
  | { kind: 'text' }
  | { kind: 'model' }
  | { kind: 'binary' };

export type CodeLang =
  | 'python'
  | 'javascript'
  | 'typescript'
  | 'rust'
  | 'go'
  | 'java'
  | 'cpp'
  | 'c'
  | 'shellscript'
  | 'yaml'
  | 'toml'
  | 'json'
  | 'sql'
  | 'html'
  | 'xml'
  | 'css'
  | 'ini'
  | 'dockerfile';

/** Bytes read before choosing (enough for every magic number and a text check). */
export const SNIFF_BYTES = 4096;

const CODE: Record<string, CodeLang> = {
  py: 'python',
  pyi: 'python',
  ipynb: 'json',
  js: 'javascript',
  mjs: 'javascript',
  cjs: 'javascript',
  jsx: 'javascript',
  ts: 'typescript',
  tsx: 'typescript',
  rs: 'rust',
  go: 'go',
  java: 'java',
  cc: 'cpp',
  cpp: 'cpp',
  hpp: 'cpp',
  cu: 'cpp',
  c: 'c',
  h: 'c',
  sh: 'shellscript',
  bash: 'shellscript',
  zsh: 'shellscript',
  yml: 'yaml',
  yaml: 'yaml',
  toml: 'toml',
  sql: 'sql',
  html: 'html',
  htm: 'html',
  xhtml: 'html',
  xml: 'xml',
  css: 'css',
  ini: 'ini',
  cfg: 'ini',
  conf: 'ini',
};

const IMAGES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
};

/** Model files the server's inspect endpoint reads. */
export function isInspectable(path: string): boolean {
  const lower = path.toLowerCase();
  return (
    lower.endsWith('.safetensors') ||
    lower.endsWith('.safetensors.index.json') ||
    lower.endsWith('.gguf') ||
    lower.endsWith('.npy') ||
    lower.endsWith('.npz')
  );
}

function extension(path: string): string {
  const name = (path.split('/').pop() ?? '').toLowerCase();
  if (name === 'dockerfile') return 'dockerfile';
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1) : '';
}

/** The image type the bytes start with, if any (never trusting the name alone). */
export function sniffImage(bytes: Uint8Array): string | null {
  const starts = (...sig: number[]) => sig.every((b, i) => bytes[i] === b);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'image/png';
  if (starts(0xff, 0xd8, 0xff)) return 'image/jpeg';
  if (starts(0x47, 0x49, 0x46, 0x38)) return 'image/gif';
  if (starts(0x52, 0x49, 0x46, 0x46) && [0x57, 0x45, 0x42, 0x50].every((b, i) => bytes[8 + i] === b)) {
    return 'image/webp';
  }
  return null;
}

/** Whether the bytes read as text: no NUL, and valid UTF-8 (a character cut at the end is fine). */
export function looksLikeText(bytes: Uint8Array): boolean {
  if (bytes.includes(0)) return false;
  // Drop up to three trailing bytes of a character the prefix may have cut.
  let end = bytes.length;
  for (let i = 1; i <= 3 && end - i >= 0; i++) {
    const b = bytes[end - i] ?? 0;
    if ((b & 0xc0) === 0xc0) {
      end -= i;
      break;
    }
    if ((b & 0x80) === 0) break;
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, end));
    return true;
  } catch {
    return false;
  }
}

/**
 * The preview for a file. The name decides among text kinds; the bytes decide whether a file
 * is an image (a `.png` holding HTML is text) and whether an unknown name is text or binary.
 * HTML and SVG are never rendered as documents: HTML is shown as code, SVG only through `<img>`.
 */
export function previewKind(path: string, contentType: string, head: Uint8Array): PreviewKind {
  if (isInspectable(path)) return { kind: 'model' };
  const ext = extension(path);
  const image = sniffImage(head);
  if (image) return { kind: 'image', mime: image };
  if (IMAGES[ext] && head.length === 0) return { kind: 'binary' };
  const text = looksLikeText(head);
  if (!text) return { kind: 'binary' };
  if (ext === 'svg' || contentType === 'image/svg+xml') return { kind: 'svg' };
  if (ext === 'md' || ext === 'markdown') return { kind: 'markdown' };
  if (ext === 'json' || contentType === 'application/json') return { kind: 'json' };
  if (ext === 'csv') return { kind: 'table', delimiter: ',' };
  if (ext === 'tsv' || ext === 'tab') return { kind: 'table', delimiter: '\t' };
  const lang = CODE[ext];
  if (lang) return { kind: 'code', lang };
  if (ext === 'dockerfile') return { kind: 'code', lang: 'dockerfile' };
  return { kind: 'text' };
}

/** Caps on what a preview fetches (bytes). */
export const LIMITS = {
  highlight: 1 << 20,
  text: 10 << 20,
  image: 20 << 20,
  table: 1 << 20,
  tableRows: 1000,
} as const;
