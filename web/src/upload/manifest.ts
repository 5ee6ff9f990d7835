interface Entry {
  path: string;
  sha256_hash: string;
  size: number;
}

/** The version digest the server computes at finalize: SHA-256 over `path\tsha256\tsize\n`, by path bytes. */
export async function manifestDigest(entries: Entry[]): Promise<string> {
  const enc = new TextEncoder();
  const keyed = entries.map((e) => ({ e, key: enc.encode(e.path) }));
  keyed.sort((a, b) => compareBytes(a.key, b.key));
  const text = keyed.map(({ e }) => `${e.path}\t${e.sha256_hash}\t${e.size}\n`).join('');
  // Loaded on demand (the upload page only); WebCrypto is missing on plain-http origins.
  const { sha256 } = await import('hash-wasm');
  return sha256(enc.encode(text));
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d) return d;
  }
  return a.length - b.length;
}
