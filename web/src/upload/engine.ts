// Uploads local files as a new version of an artifact, the way the SDK does: hash (in workers),
// skip when the latest version already holds exactly these files, negotiate in batches, send
// only the bytes the registry lacks (several at once, large files in parts), register, finalize,
// set aliases. Transient failures are retried; a cancelled upload keeps what it sent, so running
// the same job again resumes it (the draft, registered batches and multipart parts are reused).
import type { Schemas } from '../api/client';
import type { Digests } from './hashProtocol';
import type { HashFn } from './hasher';
import { manifestDigest } from './manifest';

export interface LocalFile {
  /** The path in the version: relative, `/`-separated. */
  path: string;
  file: Blob;
}

export type FileStatus = 'queued' | 'hashing' | 'hashed' | 'uploading' | 'sent' | 'present' | 'failed';

export interface FileProgress {
  status: FileStatus;
  /** Bytes hashed, then bytes stored (sent or already present). */
  done: number;
  error?: string;
}

export type Phase = 'hashing' | 'uploading' | 'finalizing' | 'done';

/** What a job remembers between attempts; a new job starts from `newResume()`. */
export interface Resume {
  digests: (Digests | undefined)[];
  versionId?: string;
  registered: Set<number>;
  /** Multipart uploads under way, by SHA-256. */
  multipart: Map<string, string>;
}

export function newResume(count: number): Resume {
  return { digests: new Array<Digests | undefined>(count), registered: new Set(), multipart: new Map() };
}

export interface UploadJob {
  artifactId: string;
  files: LocalFile[];
  description?: string;
  metadata?: Record<string, unknown>;
  aliases: string[];
}

export interface Outcome {
  version: Schemas['VersionDto'];
  /** False when the latest version already held exactly these files. */
  created: boolean;
  sentFiles: number;
  sentBytes: number;
  presentFiles: number;
}

export interface StoreAnswer {
  status: number;
  etag: string | null;
  retryAfter: number | null;
}

export interface StorePut {
  url: string;
  headers: Record<string, string>;
  body: Blob;
  onProgress: (loaded: number) => void;
  signal: AbortSignal;
}

/** How the engine reaches the API and the store (the browser's, or a test's). */
export interface Transport {
  call<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T>;
  /** A PUT of bytes, with upload progress; network failures reject with `NetworkError`. */
  put(req: StorePut): Promise<StoreAnswer>;
  /** Where the page is served from: store URLs elsewhere need the store's CORS rule. */
  origin: string;
}

export class NetworkError extends Error {}

export interface Events {
  phase(phase: Phase): void;
  file(index: number, progress: FileProgress): void;
  /** Bytes that crossed the wire to the store (not those the registry already had). */
  sent(bytes: number): void;
}

export interface Options {
  batch?: number;
  /** Requests to the store at once. */
  lanes?: number;
  retries?: number;
  /** Backoff base in ms (tests make it small). */
  backoffMs?: number;
}

type Plan = Schemas['UploadUrlDto'];
/** The browser hashes MD5 and SHA-256 before it negotiates, so its specs always carry both. */
type Spec = Schemas['FileSpecDto'] & { md5_hash: string };

export async function upload(
  job: UploadJob,
  resume: Resume,
  transport: Transport,
  hash: HashFn,
  events: Events,
  signal: AbortSignal,
  options: Options = {},
): Promise<Outcome> {
  const batch = options.batch ?? 1000;
  const lanes = new Lanes(options.lanes ?? 6);
  const retries = options.retries ?? 5;
  const retry = (what: string, fn: () => Promise<StoreAnswer>, times = retries) =>
    withRetries(what, fn, signal, times, options.backoffMs ?? 500);
  // Until the store has answered the page once, a network error there is taken for a missing
  // CORS rule (no retries) rather than a flaky link.
  let storeReached = false;
  let storeBlocked = false;
  const toStore = (url: string, what: string, fn: () => Promise<StoreAnswer>): Promise<StoreAnswer> => {
    const cross = !sameOrigin(url, transport.origin);
    return retry(what, fn, cross && !storeReached ? 0 : retries).then((answer) => {
      if (cross) storeReached = true;
      return answer;
    });
  };
  const vid = () => resume.versionId as string;

  events.phase('hashing');
  await Promise.all(
    job.files.map(async (f, i) => {
      if (resume.digests[i]) return;
      events.file(i, { status: 'hashing', done: 0 });
      resume.digests[i] = await hash(
        f.file,
        (read) => events.file(i, { status: 'hashing', done: read }),
        signal,
      );
      events.file(i, { status: 'hashed', done: 0 });
    }),
  );
  const specs: Spec[] = job.files.map((f, i) => {
    const d = resume.digests[i] as Digests;
    const name = f.path.split('/').pop() ?? f.path;
    const type = (f.file as File).type;
    return { path: f.path, name, size: f.file.size, sha256_hash: d.sha256, md5_hash: d.md5, content_type: type || null };
  });

  if (!resume.versionId) {
    const same = await latestWithDigest(transport, job.artifactId, await manifestDigest(specs));
    if (same) {
      job.files.forEach((f, i) => events.file(i, { status: 'present', done: f.file.size }));
      const version = await setAliases(transport, job, same);
      events.phase('done');
      return { version, created: false, sentFiles: 0, sentBytes: 0, presentFiles: job.files.length };
    }
    const draft = await transport.call<Schemas['VersionDto']>('POST', `/api/v1/artifacts/${job.artifactId}/versions`, {
      description: job.description || undefined,
      metadata: job.metadata ?? null,
    });
    resume.versionId = draft.id;
  }

  events.phase('uploading');
  let sentFiles = 0;
  let sentBytes = 0;
  let presentFiles = 0;
  const countSent = (n: number) => {
    sentBytes += n;
    events.sent(n);
  };

  /** One whole-file PUT; through the server when the store does not let the browser in. */
  const putWhole = async (i: number, plan: Plan): Promise<void> => {
    const f = job.files[i] as LocalFile;
    const spec = specs[i] as Spec;
    // The whole file to a URL: the store's presigned one, or the server's content endpoint
    // (relative, so same-origin and retried in full).
    const send = (url: string, headers: Record<string, string>): Promise<StoreAnswer> =>
      toStore(url, spec.path, () =>
        lanes.run(() =>
          transport.put({
            url,
            headers,
            body: f.file.slice(0, f.file.size),
            onProgress: (loaded) => events.file(i, { status: 'uploading', done: loaded }),
            signal,
          }),
        ),
      );
    const direct = (p: Plan) => send(p.upload_url ?? '', p.headers ?? {});
    const viaServer = () => send(contentUploadUrl(vid(), spec), {});
    const crossOrigin = (p: Plan) => !sameOrigin(p.upload_url ?? '', transport.origin);
    let answer: StoreAnswer;
    if (storeBlocked && crossOrigin(plan)) {
      answer = await viaServer();
    } else {
      try {
        answer = await direct(plan);
      } catch (e) {
        if (!(e instanceof NetworkError) || !crossOrigin(plan)) throw e;
        // A store without a CORS rule for this page: send this and later files through the server.
        storeBlocked = true;
        answer = await viaServer();
      }
      if (answer.status === 403) {
        // The URL expired while other files went up: negotiate this file again, once.
        const fresh = await transport.call<Plan>('POST', `/api/v1/artifacts/versions/${vid()}/files/upload-url`, spec);
        if (fresh.already_stored) return;
        if (!fresh.upload_url) return putParts(i, fresh);
        answer = await direct(fresh);
      }
    }
    if (answer.status < 200 || answer.status >= 300) {
      throw new Error(`${spec.path}: the store answered ${answer.status}`);
    }
    countSent(f.file.size);
  };

  /** A large file in parts; parts an earlier attempt stored are not sent again. */
  const putParts = async (i: number, plan: Plan): Promise<void> => {
    const f = job.files[i] as LocalFile;
    const spec = specs[i] as Spec;
    const m = plan.multipart;
    if (!m) throw new Error(`${spec.path}: the server gave no upload plan`);
    if (storeBlocked && m.parts.some((p) => !sameOrigin(p.url, transport.origin))) throw corsError();
    const base = `/api/v1/artifacts/versions/${vid()}/files/multipart`;
    const q = `sha256_hash=${spec.sha256_hash}`;
    let uploadId = m.upload_id;
    let todo = m.parts;
    const done: Schemas['CompletedPartDto'][] = [];
    const old = resume.multipart.get(spec.sha256_hash);
    if (old && old !== uploadId) {
      try {
        const stored = await transport.call<Schemas['StoredPartDto'][]>('GET', `${base}/${old}?${q}`);
        const have = new Set(stored.map((p) => p.part_number));
        stored.forEach((p) => done.push({ part_number: p.part_number, etag: p.etag }));
        const missing = m.parts.map((p) => p.part_number).filter((n) => !have.has(n));
        todo = missing.length
          ? (await transport.call<Schemas['MultipartDto']>('POST', `${base}/${old}/part-urls`, { ...fields(spec), parts: missing })).parts
          : [];
        await transport.call('DELETE', `${base}/${uploadId}?${q}`).catch(() => undefined);
        uploadId = old;
      } catch (e) {
        if (signal.aborted) throw e;
        // The old upload is gone (completed, aborted or expired): this one starts afresh.
      }
    }
    resume.multipart.set(spec.sha256_hash, uploadId);
    const partLoaded = new Map<number, number>();
    const storedBefore = f.file.size - todo.reduce((s, p) => s + p.size, 0);
    const report = () => {
      let sum = storedBefore;
      for (const v of partLoaded.values()) sum += v;
      events.file(i, { status: 'uploading', done: Math.min(sum, f.file.size) });
    };
    report();
    await Promise.all(
      todo.map(async (part) => {
        const offset = (part.part_number - 1) * m.part_size;
        let url = part.url;
        let headers = part.headers;
        for (let attempt = 0; ; attempt++) {
          const answer = await toStore(url, `${spec.path} (part ${part.part_number})`, () =>
            lanes.run(() =>
              transport.put({
                url,
                headers,
                body: f.file.slice(offset, offset + part.size),
                onProgress: (loaded) => {
                  partLoaded.set(part.part_number, loaded);
                  report();
                },
                signal,
              }),
            ),
          ).catch((e: unknown) => {
            if (e instanceof NetworkError && !sameOrigin(url, transport.origin) && !storeReached) throw corsError();
            throw e;
          });
          if (answer.status >= 200 && answer.status < 300) {
            if (!answer.etag) throw corsError();
            done.push({ part_number: part.part_number, etag: answer.etag });
            countSent(part.size);
            return;
          }
          if (attempt > 0 || answer.status !== 403) {
            throw new Error(`${spec.path}: the store answered ${answer.status} to part ${part.part_number}`);
          }
          const renewed = await transport.call<Schemas['MultipartDto']>('POST', `${base}/${uploadId}/part-urls`, {
            ...fields(spec),
            parts: [part.part_number],
          });
          const fresh = renewed.parts[0];
          if (!fresh) throw new Error(`${spec.path}: no fresh URL for part ${part.part_number}`);
          ({ url, headers } = fresh);
        }
      }),
    );
    done.sort((a, b) => a.part_number - b.part_number);
    try {
      await transport.call('POST', `${base}/${uploadId}/complete`, { ...fields(spec), parts: done });
    } finally {
      if (!signal.aborted) resume.multipart.delete(spec.sha256_hash);
    }
  };

  for (let start = 0; start < job.files.length; start += batch) {
    const indices = range(start, Math.min(job.files.length, start + batch));
    if (indices.every((i) => resume.registered.has(i))) {
      indices.forEach((i) => events.file(i, { status: 'present', done: job.files[i]?.file.size ?? 0 }));
      continue;
    }
    const batchSpecs = indices.map((i) => specs[i] as Spec);
    const plans = (
      await transport.call<Schemas['UploadUrlsDto']>('POST', `/api/v1/artifacts/versions/${vid()}/files/upload-urls`, {
        files: batchSpecs,
      })
    ).files;
    if (plans.length !== indices.length) throw new Error(`asked for ${indices.length} upload plans, got ${plans.length}`);
    // Files repeating an earlier file's bytes in this batch send nothing: the first one's upload
    // serves them all (registration comes after the whole batch).
    const first = new Set<string>();
    const work: Promise<void>[] = [];
    indices.forEach((i, k) => {
      const plan = plans[k] as Plan;
      const spec = specs[i] as Spec;
      const size = spec.size;
      const repeat = first.has(spec.sha256_hash);
      first.add(spec.sha256_hash);
      if (plan.already_stored || repeat) {
        presentFiles++;
        if (repeat && plan.multipart) {
          void transport
            .call('DELETE', `/api/v1/artifacts/versions/${vid()}/files/multipart/${plan.multipart.upload_id}?sha256_hash=${spec.sha256_hash}`)
            .catch(() => undefined);
        }
        events.file(i, { status: 'present', done: size });
        return;
      }
      const send = plan.upload_url ? putWhole(i, plan) : putParts(i, plan);
      work.push(
        send.then(
          () => {
            sentFiles++;
            events.file(i, { status: 'sent', done: size });
          },
          (e: unknown) => {
            if (!signal.aborted) events.file(i, { status: 'failed', done: 0, error: message(e) });
            throw e;
          },
        ),
      );
    });
    await allSettledThenThrow(work);
    await transport.call('POST', `/api/v1/artifacts/versions/${vid()}/files/batch`, { files: batchSpecs });
    indices.forEach((i) => resume.registered.add(i));
  }

  events.phase('finalizing');
  const finalized = await transport.call<Schemas['VersionDto']>('POST', `/api/v1/artifacts/versions/${vid()}/finalize`, {});
  const version = await setAliases(transport, job, finalized);
  events.phase('done');
  return { version, created: true, sentFiles, sentBytes, presentFiles };
}

async function latestWithDigest(
  t: Transport,
  artifactId: string,
  digest: string,
): Promise<Schemas['VersionDto'] | null> {
  const page = await t.call<Schemas['PageDto_VersionDto']>(
    'GET',
    `/api/v1/artifacts/${artifactId}/versions?alias=latest&limit=1`,
  );
  const latest = page.items[0];
  return latest && latest.digest === digest ? latest : null;
}

async function setAliases(t: Transport, job: UploadJob, v: Schemas['VersionDto']): Promise<Schemas['VersionDto']> {
  const wanted = job.aliases.filter((a) => a && a !== 'latest' && !v.aliases.includes(a));
  for (const alias of wanted) {
    await t.call('PUT', `/api/v1/artifacts/${job.artifactId}/aliases/${encodeURIComponent(alias)}`, {
      version_id: v.id,
    });
  }
  return wanted.length ? t.call<Schemas['VersionDto']>('GET', `/api/v1/artifacts/versions/${v.id}?limit=1`) : v;
}

function fields(spec: Spec) {
  return { path: spec.path, size: spec.size, md5_hash: spec.md5_hash, sha256_hash: spec.sha256_hash };
}

function contentUploadUrl(versionId: string, spec: Spec): string {
  const q = new URLSearchParams({
    path: spec.path,
    size: String(spec.size),
    md5_hash: spec.md5_hash,
    sha256_hash: spec.sha256_hash,
  });
  return `api/v1/artifacts/versions/${versionId}/files/content?${q.toString()}`;
}

function corsError(): Error {
  return new Error(
    'The object store does not let this page upload to it (no CORS rule for this origin, or the ETag header is not exposed). ' +
      'Large files go to the store in parts, so the administrator must allow it: set storage.s3.cors_origins.',
  );
}

function sameOrigin(url: string, origin: string): boolean {
  try {
    return new URL(url, origin).origin === origin;
  } catch {
    return false;
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, k) => from + k);
}

export function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Waits for every transfer (none is left running), then fails with the first failure. */
async function allSettledThenThrow(work: Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(work);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** A transient answer worth another try: the network, 408, 429, 5xx. */
export function transient(e: unknown, answer?: StoreAnswer): boolean {
  if (e) return e instanceof NetworkError;
  const s = answer?.status ?? 0;
  return s === 408 || s === 429 || s >= 500;
}

async function withRetries(
  what: string,
  fn: () => Promise<StoreAnswer>,
  signal: AbortSignal,
  retries: number,
  backoffMs: number,
): Promise<StoreAnswer> {
  for (let attempt = 0; ; attempt++) {
    let answer: StoreAnswer | undefined;
    let error: unknown;
    try {
      answer = await fn();
    } catch (e) {
      error = e;
    }
    if (signal.aborted) throw signal.reason;
    const again = transient(error, answer);
    if (!again || attempt >= retries) {
      if (error) throw error;
      if (again) throw new Error(`${what}: the store answered ${answer?.status} ${retries + 1} times`);
      return answer as StoreAnswer;
    }
    // Full jitter; the store's Retry-After (seconds) wins when it asks for longer.
    const pause = Math.max(Math.random() * backoffMs * 2 ** attempt, (answer?.retryAfter ?? 0) * 1000);
    await sleep(Math.min(pause, 30_000), signal);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/** At most `n` store requests at once, across files and parts. */
class Lanes {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(n: number) {
    this.free = n;
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.free === 0) await new Promise<void>((r) => this.waiting.push(r));
    else this.free--;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}
