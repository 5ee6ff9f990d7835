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
  let read = 0;
  let lastReport = 0;
  const update = (bytes: Uint8Array): boolean => {
    if (cancelled.delete(id)) {
      post({ type: 'cancelled', id });
      return false;
    }
    sha.update(bytes);
    md5.update(bytes);
    read += bytes.length;
    const now = Date.now();
    if (now - lastReport > 100) {
      lastReport = now;
      post({ type: 'progress', id, bytes: read });
    }
    return true;
  };
  const reader = byobReader(file);
  if (reader) {
    // One buffer, read into again and again: hashing a file makes no garbage.
    let buffer = new ArrayBuffer(CHUNK);
    for (;;) {
      const { done, value } = await reader.read(new Uint8Array(buffer, 0, CHUNK));
      if (done || !value) break;
      if (!update(value)) {
        await reader.cancel();
        return;
      }
      buffer = value.buffer as ArrayBuffer;
    }
  } else {
    for (let offset = 0; offset < file.size; offset += CHUNK) {
      if (!update(new Uint8Array(await file.slice(offset, offset + CHUNK).arrayBuffer()))) return;
    }
  }
  cancelled.delete(id);
  post({ type: 'done', id, sha256: sha.digest('hex'), md5: md5.digest('hex') });
}

function byobReader(file: Blob): ReadableStreamBYOBReader | null {
  try {
    return file.stream().getReader({ mode: 'byob' });
  } catch {
    return null;
  }
}
