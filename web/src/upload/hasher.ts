import type { Digests, HashRequest, HashResponse } from './hashProtocol';

/** Hashes a file off the page's thread; `onBytes` gets how many bytes were read so far. */
export type HashFn = (file: Blob, onBytes: (read: number) => void, signal: AbortSignal) => Promise<Digests>;

interface Job {
  id: number;
  file: Blob;
  onBytes: (read: number) => void;
  resolve: (d: Digests) => void;
  reject: (e: unknown) => void;
}

/**
 * A few workers (one per core, at most 4) hashing files in turn. Small files queue behind each
 * other on a worker; a cancelled job stops at its next chunk.
 */
export class HashPool {
  private readonly workers: Worker[] = [];
  private readonly busy = new Map<Worker, Job>();
  private readonly queue: Job[] = [];
  private nextId = 1;

  constructor(size = Math.max(1, Math.min(4, navigator.hardwareConcurrency || 2))) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(new URL('./hashWorker.ts', import.meta.url), { type: 'module' });
      worker.onmessage = (e: MessageEvent<HashResponse>) => this.answer(worker, e.data);
      worker.onerror = (e) => this.fail(worker, new Error(e.message || 'the hashing worker failed'));
      this.workers.push(worker);
    }
  }

  readonly hash: HashFn = (file, onBytes, signal) =>
    new Promise<Digests>((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const job: Job = { id: this.nextId++, file, onBytes, resolve, reject };
      signal.addEventListener(
        'abort',
        () => {
          const queued = this.queue.indexOf(job);
          if (queued >= 0) this.queue.splice(queued, 1);
          for (const [worker, running] of this.busy) {
            if (running === job) worker.postMessage({ type: 'cancel', id: job.id } satisfies HashRequest);
          }
          reject(signal.reason);
        },
        { once: true },
      );
      this.queue.push(job);
      this.pump();
    });

  terminate(): void {
    for (const w of this.workers) w.terminate();
    for (const job of [...this.queue, ...this.busy.values()]) job.reject(new Error('hashing stopped'));
    this.queue.length = 0;
    this.busy.clear();
  }

  private pump(): void {
    for (const worker of this.workers) {
      if (this.busy.has(worker)) continue;
      const job = this.queue.shift();
      if (!job) return;
      this.busy.set(worker, job);
      worker.postMessage({ type: 'hash', id: job.id, file: job.file } satisfies HashRequest);
    }
  }

  private answer(worker: Worker, msg: HashResponse): void {
    const job = this.busy.get(worker);
    if (!job || job.id !== msg.id) return;
    if (msg.type === 'progress') {
      job.onBytes(msg.bytes);
      return;
    }
    this.busy.delete(worker);
    if (msg.type === 'done') {
      job.onBytes(job.file.size);
      job.resolve({ sha256: msg.sha256, md5: msg.md5 });
    } else if (msg.type === 'error') {
      job.reject(new Error(msg.message));
    }
    // 'cancelled': the job was already rejected by its signal.
    this.pump();
  }

  private fail(worker: Worker, error: Error): void {
    const job = this.busy.get(worker);
    this.busy.delete(worker);
    job?.reject(error);
    this.pump();
  }
}
