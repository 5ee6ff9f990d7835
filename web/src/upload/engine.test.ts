// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { manifestDigest } from './manifest';
import { newResume, NetworkError, upload, type StorePut, type Transport, type UploadJob } from './engine';
import type { HashFn } from './hasher';

// A registry in memory: blobs by SHA-256, one draft version, multipart uploads by id.
class FakeRegistry implements Transport {
  origin = 'http://ui.test';
  blobs = new Set<string>();
  calls: string[] = [];
  puts: { url: string; size: number }[] = [];
  versions = 0;
  latestDigest: string | null = null;
  registered: string[] = [];
  uploads = new Map<string, Map<number, string>>();
  aliases: Record<string, string> = {};
  /** Fails the next n store PUTs with this status (or a network error for 0). */
  failNext: { n: number; status: number; retryAfter?: number } = { n: 0, status: 503 };
  /** Store URLs are on another origin that refuses the page (CORS). */
  storeBlocksPage = false;
  onPut: (req: StorePut) => void = () => undefined;
  partSize = 4;
  multipartAbove = 8;

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    this.calls.push(`${method} ${path.split('?')[0]}`);
    const b = body as Record<string, unknown>;
    const vid = 'v-1';
    if (method === 'GET' && path.includes('/versions?alias=latest')) {
      return { items: this.latestDigest ? [{ id: 'v-0', digest: this.latestDigest, aliases: ['latest'] }] : [] } as T;
    }
    if (method === 'POST' && path.endsWith('/versions')) {
      this.versions++;
      return { id: vid, aliases: [] } as T;
    }
    if (path.endsWith('/files/upload-urls')) {
      const files = (b.files as { sha256_hash: string; size: number; path: string }[]).map((f) => {
        if (this.blobs.has(f.sha256_hash)) return { already_stored: true, path: f.path };
        if (f.size > this.multipartAbove) {
          const id = `up-${this.uploads.size + 1}`;
          this.uploads.set(id, new Map());
          const parts = [];
          for (let n = 1; (n - 1) * this.partSize < f.size; n++) {
            parts.push({ part_number: n, size: Math.min(this.partSize, f.size - (n - 1) * this.partSize), url: `${this.store()}/${id}/${n}`, headers: {} });
          }
          return { already_stored: false, path: f.path, multipart: { upload_id: id, part_size: this.partSize, parts } };
        }
        return { already_stored: false, path: f.path, upload_url: `${this.store()}/blob/${f.sha256_hash}`, headers: { 'x-amz-checksum-sha256': 'x' } };
      });
      return { files } as T;
    }
    const mp = /multipart\/(up-\d+)(\/[a-z-]+)?$/.exec(path.split('?')[0] ?? '');
    if (mp) {
      const id = mp[1] as string;
      const parts = this.uploads.get(id);
      if (!parts) throw new Error('404 no such upload');
      if (method === 'GET') return [...parts].map(([part_number, etag]) => ({ part_number, etag, size: 1 })) as T;
      if (method === 'DELETE') {
        this.uploads.delete(id);
        return undefined as T;
      }
      if (mp[2] === '/part-urls') {
        return { upload_id: id, part_size: this.partSize, parts: (b.parts as number[]).map((n) => ({ part_number: n, size: this.partSize, url: `${this.store()}/${id}/${n}`, headers: {} })) } as T;
      }
      if (mp[2] === '/complete') {
        this.blobs.add(b.sha256_hash as string);
        this.uploads.delete(id);
        return {} as T;
      }
    }
    if (path.endsWith('/files/batch')) {
      this.registered.push(...(b.files as { path: string }[]).map((f) => f.path));
      return { files: b.files } as T;
    }
    if (path.endsWith('/finalize')) return { id: vid, aliases: ['latest'] } as T;
    if (method === 'PUT' && path.includes('/aliases/')) {
      this.aliases[decodeURIComponent(path.split('/').pop() ?? '')] = b.version_id as string;
      return {} as T;
    }
    if (method === 'GET' && path.includes('/versions/')) return { id: 'v-1', aliases: ['latest', ...Object.keys(this.aliases)] } as T;
    throw new Error(`unexpected ${method} ${path}`);
  }

  store() {
    return this.storeBlocksPage ? 'http://store.test' : this.origin;
  }

  async put(req: StorePut) {
    if (this.storeBlocksPage && req.url.startsWith('http://store.test')) throw new NetworkError('CORS');
    if (this.failNext.n > 0) {
      this.failNext.n--;
      if (this.failNext.status === 0) throw new NetworkError('reset');
      return { status: this.failNext.status, etag: null, retryAfter: this.failNext.retryAfter ?? null };
    }
    this.onPut(req);
    if (req.signal.aborted) throw req.signal.reason;
    const bytes = new Uint8Array(await req.body.arrayBuffer());
    this.puts.push({ url: req.url, size: bytes.length });
    req.onProgress(bytes.length);
    const part = /\/(up-\d+)\/(\d+)$/.exec(req.url);
    if (part) {
      this.uploads.get(part[1] as string)?.set(Number(part[2]), `etag-${part[2]}`);
    } else {
      const m = /blob\/([0-9a-z]+)$/.exec(req.url) ?? /sha256_hash=([0-9a-z]+)/.exec(req.url);
      if (m) this.blobs.add(m[1] as string);
    }
    return { status: 200, etag: part ? `etag-${part[2]}` : null, retryAfter: null };
  }
}

// Content-derived fake digests (the real ones come from hash-wasm in the worker).
const fakeHash: HashFn = async (file) => {
  const text = await file.text();
  const hex = [...text].map((c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join('');
  return { sha256: hex.padEnd(64, '0').slice(0, 64), md5: hex.padEnd(32, '0').slice(0, 32) };
};

function job(files: Record<string, string>, aliases: string[] = []): UploadJob {
  return {
    artifactId: 'a-1',
    aliases,
    files: Object.entries(files).map(([path, text]) => ({ path, file: new Blob([text]) })),
  };
}

const noEvents = { phase: () => undefined, file: () => undefined, sent: () => undefined };
const run = (j: UploadJob, t: FakeRegistry, resume = newResume(j.files.length), signal = new AbortController().signal) =>
  upload(j, resume, t, fakeHash, noEvents, signal, { backoffMs: 1, batch: 2 });

describe('browser upload engine', () => {
  it('computes the manifest digest the server does (UTF-8 byte order of paths)', async () => {
    const digest = await manifestDigest([
      { path: 'b/ü.txt', sha256_hash: 'a'.repeat(64), size: 10 },
      { path: 'b/z.txt', sha256_hash: 'b'.repeat(64), size: 0 },
      { path: 'a.txt', sha256_hash: 'c'.repeat(64), size: 3 },
    ]);
    // Python: sha256 over the same lines sorted by path.encode().
    expect(digest).toBe('fb4335ebe84211dfcbe47bdeef1099b2acf452053dc40013929a15fed76ffefc');
  });

  it('sends only bytes the registry lacks, once per content, registers every file and sets aliases', async () => {
    const t = new FakeRegistry();
    t.blobs.add((await fakeHash(new Blob(['old']), () => undefined, new AbortController().signal)).sha256);
    const out = await run(job({ 'a.txt': 'old', 'b.txt': 'new', 'c/d.txt': 'new', 'e.bin': 'big file 17 bytes' }, ['best']), t);
    expect(out.created).toBe(true);
    expect(t.puts.map((p) => p.size).reduce((a, b) => a + b, 0)).toBe(3 + 17);
    expect(out.sentBytes).toBe(20);
    expect(out.presentFiles).toBe(2);
    expect(t.registered.sort()).toEqual(['a.txt', 'b.txt', 'c/d.txt', 'e.bin']);
    expect(t.calls.filter((c) => c.endsWith('/finalize'))).toHaveLength(1);
    expect(t.aliases).toEqual({ best: 'v-1' });
  });

  it('makes no version when the latest one holds exactly these files', async () => {
    const files = { 'a.txt': 'same', 'z/y.txt': 'bytes' };
    const first = new FakeRegistry();
    await run(job(files), first);
    const t = new FakeRegistry();
    const specs = await Promise.all(
      Object.entries(files).map(async ([path, text]) => ({ path, size: text.length, sha256_hash: (await fakeHash(new Blob([text]), () => undefined, new AbortController().signal)).sha256 })),
    );
    t.latestDigest = await manifestDigest(specs);
    const out = await run(job(files), t);
    expect(out.created).toBe(false);
    expect(t.versions).toBe(0);
    expect(t.puts).toHaveLength(0);
  });

  it('retries transient store failures and network errors', async () => {
    const t = new FakeRegistry();
    t.failNext = { n: 2, status: 503, retryAfter: 0 };
    await run(job({ 'a.txt': 'x' }), t);
    expect(t.puts).toHaveLength(1);
    const u = new FakeRegistry();
    u.failNext = { n: 1, status: 0 };
    await run(job({ 'a.txt': 'x' }), u);
    expect(u.puts).toHaveLength(1);
    const v = new FakeRegistry();
    v.failNext = { n: 99, status: 500 };
    await expect(run(job({ 'a.txt': 'x' }), v)).rejects.toThrow(/500/);
    expect(v.calls.some((c) => c.endsWith('/finalize'))).toBe(false);
  });

  it('resumes a cancelled upload: same draft, registered batches and stored parts not sent again', async () => {
    const t = new FakeRegistry();
    const j = job({ 'a.txt': 'a', 'b.txt': 'b', 'big.bin': 'sixteen bytes!!!' });
    const resume = newResume(j.files.length);
    const cancel = new AbortController();
    let parts = 0;
    t.onPut = (req) => {
      if (/up-\d+\/\d+$/.test(req.url) && ++parts === 3) cancel.abort(new DOMException('Cancelled', 'AbortError'));
    };
    await expect(run(j, t, resume, cancel.signal)).rejects.toThrow(/Cancelled/);
    expect(t.versions).toBe(1);
    const sentBefore = t.puts.length;
    expect(resume.registered.size).toBe(2);
    t.onPut = () => undefined;
    const out = await run(j, t, resume);
    expect(t.versions).toBe(1);
    const partsAfter = t.puts.slice(sentBefore).map((p) => p.url);
    // Parts 1 and 2 were stored before the cancel; only 3 and 4 go now, to the old upload.
    expect(partsAfter).toEqual(['http://ui.test/up-1/3', 'http://ui.test/up-1/4']);
    expect(out.created).toBe(true);
    expect(t.registered.sort()).toEqual(['a.txt', 'b.txt', 'big.bin']);
  });

  it('sends small files through the server when the store refuses the page, and says why for parts', async () => {
    const t = new FakeRegistry();
    t.storeBlocksPage = true;
    await run(job({ 'a.txt': 'x', 'b.txt': 'y' }), t);
    expect(t.puts.every((p) => p.url.startsWith('api/v1/artifacts/versions/v-1/files/content?'))).toBe(true);
    expect(t.puts).toHaveLength(2);
    const u = new FakeRegistry();
    u.storeBlocksPage = true;
    await expect(run(job({ 'a.txt': 'x', 'big.bin': 'more than eight' }, []), u)).rejects.toThrow(/cors_origins/);
  });
});
