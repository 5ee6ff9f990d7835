import { describe, expect, it } from 'vitest';
import { isInspectable, looksLikeText, previewKind, sniffImage } from './kind';
import { parseTable } from './Preview';

const utf8 = (s: string) => new TextEncoder().encode(s);
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);

describe('previewKind', () => {
  it('believes image bytes, not image names', () => {
    expect(previewKind('plot.png', 'image/png', PNG)).toEqual({ kind: 'image', mime: 'image/png' });
    // An image sent under any name is still shown as the image it is.
    expect(previewKind('weird.bin', 'application/octet-stream', PNG)).toEqual({ kind: 'image', mime: 'image/png' });
    // A ".png" holding HTML is text, never an image and never a page.
    expect(previewKind('evil.png', 'image/png', utf8('<script>alert(1)</script>'))).toEqual({ kind: 'text' });
  });

  it('keeps HTML and SVG inert', () => {
    expect(previewKind('index.html', 'text/html', utf8('<html><script>x()</script>'))).toEqual({
      kind: 'code',
      lang: 'html',
    });
    expect(previewKind('logo.svg', 'image/svg+xml', utf8('<svg onload="x()"/>'))).toEqual({ kind: 'svg' });
  });

  it('chooses text kinds by name', () => {
    expect(previewKind('README.md', 'text/markdown', utf8('# hi'))).toEqual({ kind: 'markdown' });
    expect(previewKind('config.json', 'application/json', utf8('{}'))).toEqual({ kind: 'json' });
    expect(previewKind('data/train.csv', 'text/csv', utf8('a,b\n1,2'))).toEqual({ kind: 'table', delimiter: ',' });
    expect(previewKind('data/x.tsv', 'text/plain', utf8('a\tb'))).toEqual({ kind: 'table', delimiter: '\t' });
    expect(previewKind('train.py', 'text/x-python', utf8('import os'))).toEqual({ kind: 'code', lang: 'python' });
    expect(previewKind('Dockerfile', 'text/plain', utf8('FROM x'))).toEqual({ kind: 'code', lang: 'dockerfile' });
    expect(previewKind('notes', 'application/octet-stream', utf8('just words'))).toEqual({ kind: 'text' });
  });

  it('calls bytes that are not UTF-8 text binary', () => {
    expect(previewKind('weights.bin', 'application/octet-stream', new Uint8Array([1, 0, 2, 3]))).toEqual({
      kind: 'binary',
    });
    expect(previewKind('latin1.txt', 'text/plain', new Uint8Array([0x63, 0x61, 0xe9, 0x20, 0x21]))).toEqual({
      kind: 'binary',
    });
  });

  it('sends model files to the inspector', () => {
    for (const p of ['m.safetensors', 'model.safetensors.index.json', 'llama.Q4.gguf', 'a.npy', 'b.NPZ']) {
      expect(isInspectable(p)).toBe(true);
      expect(previewKind(p, 'application/octet-stream', new Uint8Array([1, 2]))).toEqual({ kind: 'model' });
    }
    expect(isInspectable('config.json')).toBe(false);
  });
});

describe('sniffing', () => {
  it('knows the image magic numbers', () => {
    expect(sniffImage(new Uint8Array([0xff, 0xd8, 0xff, 0xe0]))).toBe('image/jpeg');
    expect(sniffImage(utf8('GIF89a'))).toBe('image/gif');
    expect(sniffImage(utf8('RIFF\0\0\0\0WEBPVP8 '))).toBe('image/webp');
    expect(sniffImage(utf8('RIFF\0\0\0\0WAVEfmt '))).toBeNull();
  });

  it('accepts a UTF-8 character cut by the prefix', () => {
    const text = utf8('naïve – ok');
    // Cut inside the three-byte en dash.
    const dash = text.indexOf(0xe2);
    expect(looksLikeText(text.subarray(0, dash + 2))).toBe(true);
    expect(looksLikeText(new Uint8Array([0x61, 0xc3, 0x28]))).toBe(false);
  });
});

describe('parseTable', () => {
  it('drops the row a prefix cut short and keeps quoted delimiters', () => {
    const { header, rows, more } = parseTable('id,name\n1,"a, b"\n2,c\n3,unfinis', ',', true);
    expect(header).toEqual(['id', 'name']);
    expect(rows).toEqual([
      ['1', 'a, b'],
      ['2', 'c'],
    ]);
    expect(more).toBe(true);
  });

  it('stops at 1,000 rows', () => {
    const text = ['n', ...Array.from({ length: 1500 }, (_, i) => String(i))].join('\n');
    const { rows, more } = parseTable(text, ',', false);
    expect(rows).toHaveLength(1000);
    expect(rows[999]).toEqual(['999']);
    expect(more).toBe(true);
  });
});
