import { newResume, type FileProgress, type Resume } from './engine';
import { HashPool, type HashFn } from './hasher';

export interface LiveView {
  progress: FileProgress[];
  sent: number;
  /** Whether an artifact was created by an earlier attempt (its name is fixed from then on). */
  created: boolean;
  draft: string | null;
}

/**
 * An upload's live state: per-chunk progress, what a resume needs, the cancel switch and the
 * hashing workers. It changes far more often than the page redraws, so it lives outside React.
 */
export class Live {
  progress: FileProgress[] = [];
  sent = 0;
  resume: Resume = newResume(0);
  created: string | null = null;
  private controller: AbortController | null = null;
  private pool: HashPool | null = null;

  reset(count: number): void {
    this.progress = Array.from({ length: count }, () => ({ status: 'queued', done: 0 }));
    this.resume = newResume(count);
    this.sent = 0;
  }

  begin(): AbortController {
    this.controller = new AbortController();
    return this.controller;
  }

  cancel(): void {
    this.controller?.abort(new DOMException('Cancelled', 'AbortError'));
  }

  readonly hash: HashFn = (file, onBytes, signal) => {
    this.pool ??= new HashPool();
    return this.pool.hash(file, onBytes, signal);
  };

  artifactCreated(id: string): void {
    this.created = id;
  }

  file(index: number, p: FileProgress): void {
    this.progress[index] = p;
  }

  count(bytes: number): void {
    this.sent += bytes;
  }

  view(): LiveView {
    return { progress: [...this.progress], sent: this.sent, created: this.created !== null, draft: this.resume.versionId ?? null };
  }

  stop(): void {
    this.cancel();
    this.pool?.terminate();
    this.pool = null;
  }
}
