// Files the browser tests preview, generated here (no downloads): model headers, an image, and
// hostile documents that would run script if the UI ever rendered them as pages.
import { crc32, deflateSync } from 'node:zlib';

const le = (bits, n) => {
  const b = Buffer.alloc(bits / 8);
  if (bits === 16) b.writeUInt16LE(n);
  else if (bits === 32) b.writeUInt32LE(n);
  else b.writeBigUInt64LE(BigInt(n));
  return b;
};

/** Two tensors: 64x3x7x7 + 1000 = 10,408 parameters. */
export function safetensors() {
  return safetensorsOf({
    'conv1.weight': { dtype: 'F32', shape: [64, 3, 7, 7], data_offsets: [0, 37632] },
    'fc.bias': { dtype: 'F32', shape: [1000], data_offsets: [37632, 41632] },
  });
}

/** An older model to compare with: conv1 in F16, no fc.bias, an old.head. */
export function olderSafetensors() {
  return safetensorsOf({
    'conv1.weight': { dtype: 'F16', shape: [64, 3, 7, 7], data_offsets: [0, 18816] },
    'old.head': { dtype: 'F32', shape: [10], data_offsets: [18816, 18856] },
  });
}

function safetensorsOf(tensors) {
  const header = JSON.stringify({ __metadata__: { format: 'pt' }, ...tensors });
  const size = Math.max(...Object.values(tensors).map((t) => t.data_offsets[1]));
  return Buffer.concat([le(64, header.length), Buffer.from(header), Buffer.alloc(size)]);
}

/** GGUF v3: two metadata keys (one a long array) and two F32 tensors, 8x16 + 16x4 = 192 parameters. */
export function gguf() {
  const str = (s) => Buffer.concat([le(64, Buffer.byteLength(s)), Buffer.from(s)]);
  const parts = [Buffer.from('GGUF'), le(32, 3), le(64, 2), le(64, 2)];
  parts.push(str('general.name'), le(32, 8), str('tiny-llama'));
  parts.push(str('tokenizer.ggml.scores'), le(32, 9), le(32, 6), le(64, 100));
  for (let i = 0; i < 100; i++) {
    const f = Buffer.alloc(4);
    f.writeFloatLE(i);
    parts.push(f);
  }
  parts.push(str('token_embd.weight'), le(32, 2), le(64, 8), le(64, 16), le(32, 0), le(64, 0));
  parts.push(str('output.weight'), le(32, 2), le(64, 16), le(64, 4), le(32, 0), le(64, 512));
  const head = Buffer.concat(parts);
  const pad = (32 - (head.length % 32)) % 32;
  return Buffer.concat([head, Buffer.alloc(pad + 768)]);
}

/** A 2x2 RGBA PNG. */
export function png() {
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(2, 0);
  ihdr.writeUInt32BE(2, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  const row = [0, 255, 0, 0, 255, 0, 0, 255, 255];
  const raw = Buffer.from([...row, ...row]);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// Every hostile file sets window.__pwned or opens a dialog if a script in it ever runs.
export const HOSTILE = {
  'evil/page.html':
    '<!doctype html><html><body><h1>hi</h1><script>window.__pwned = "html"; alert("html")</script>' +
    '<img src=x onerror="window.__pwned = \'html-img\'"></body></html>',
  'evil/drawing.svg':
    '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" onload="window.__pwned = \'svg\'">' +
    '<script>window.__pwned = "svg-script"; alert("svg")</script><rect width="40" height="40" fill="teal"/></svg>',
  'evil/notes.md':
    '# Release notes\n\n<script>window.__pwned = "md"</script>\n\n<img src=x onerror="window.__pwned = \'md-img\'">\n\n' +
    '[a link](javascript:window.__pwned="md-link") and **bold**\n',
  'evil/config.json': JSON.stringify({
    name: '<script>window.__pwned = "json"</script>',
    html: '<img src=x onerror="window.__pwned=\'json-img\'">',
    nested: { depth: [1, 2, { three: true }] },
  }),
};

export function csv(rows) {
  const lines = ['id,label,score,"note, quoted"'];
  for (let i = 0; i < rows; i++) lines.push(`${i},class_${i % 10},${(i / rows).toFixed(4)},"row ${i}, ok"`);
  return `${lines.join('\n')}\n`;
}

export const TRAIN_PY = `import torch\n\n\ndef train(model, data, epochs: int = 3) -> float:\n    """Fit the model; returns the last loss."""\n    for epoch in range(epochs):\n        loss = model(data).mean()\n    return float(loss)\n`;

/** A text file over the 1 MiB highlight cap, so the preview offers to load more. */
export function bigText() {
  const line = 'step=000000 loss=0.123456 lr=0.000300 grad_norm=1.2345 tokens/s=98765\n';
  return Buffer.from(Array.from({ length: 24000 }, (_, i) => line.replace('000000', String(i).padStart(6, '0'))).join(''));
}
