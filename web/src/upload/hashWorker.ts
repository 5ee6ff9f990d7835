/// <reference lib="webworker" />
// Hashes files with SHA-256 and MD5 in one pass, a chunk at a time (WebCrypto cannot stream), so
// a file of any size costs the worker one chunk of memory.
import { createMD5, createSHA256 } from 'hash-wasm';
import type { HashRequest, HashResponse } from './hashProtocol';

const CHUNK = 4 << 20;
const scope = self as unknown as DedicatedWorkerGlobalScope;
const cancelled = new Set<number>();

scope.onmessage = (event: MessageEvent<HashRequest>) => {
  const msg = event.data;
  if (msg.type === 'cancel') {
    cancelled.add(msg.id);
    return;
  }
  void hash(msg.id, msg.file).catch((e: unknown) => {
    post({ type: 'error', id: msg.id, message: e instanceof Error ? e.message : String(e) });
  });
};

function post(msg: HashResponse): void {
  scope.postMessage(msg);
}

async function hash(id: number, file: Blob): Promise<void> {
  const [sha, md5] = await Promise.all([createSHA256(), createMD5()]);
  sha.init();
  md5.init();
  let lastReport = 0;
  for (let offset = 0; offset < file.size; offset += CHUNK) {
    if (cancelled.delete(id)) {
      post({ type: 'cancelled', id });
      return;
    }
    const chunk = new Uint8Array(await file.slice(offset, offset + CHUNK).arrayBuffer());
    sha.update(chunk);
    md5.update(chunk);
    const now = Date.now();
    if (now - lastReport > 100) {
      lastReport = now;
      post({ type: 'progress', id, bytes: Math.min(file.size, offset + CHUNK) });
    }
  }
  cancelled.delete(id);
  post({ type: 'done', id, sha256: sha.digest('hex'), md5: md5.digest('hex') });
}
