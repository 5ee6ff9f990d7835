import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';

export type Schemas = components['schemas'];
export type Project = Schemas['ProjectDto'];
export type Artifact = Schemas['ArtifactDto'];
export type Version = Schemas['VersionDto'];
export type FileEntry = Schemas['FileDto'];
export type FolderEntry = Schemas['FolderEntryDto'];
export type Inspection = Schemas['InspectDto'];
export type Problem = Schemas['Problem'];
export type ArtifactType = Schemas['ArtifactTypeName'];
export type Session = Schemas['SessionDto'];

/** The server's root as the page sees it (`<base href>` written by the server). */
export function apiBase(): string {
  return new URL('.', document.baseURI).href;
}

/** An absolute URL for a server path such as `api/v1/...` (no leading slash). */
export function apiUrl(path: string): string {
  return new URL(path.replace(/^\//, ''), apiBase()).href;
}

let csrfToken: string | null = null;

/** The session's CSRF token, sent with every request that changes something. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** The session's CSRF header, for requests made outside the typed client. */
export function csrfHeaders(): Record<string, string> {
  return csrfToken ? { 'X-CSRF-Token': csrfToken } : {};
}

const csrf: Middleware = {
  onRequest({ request }) {
    if (csrfToken && !['GET', 'HEAD', 'OPTIONS'].includes(request.method)) {
      request.headers.set('X-CSRF-Token', csrfToken);
    }
    return request;
  },
};

export const api = createClient<paths>({
  baseUrl: apiBase().replace(/\/$/, ''),
  credentials: 'same-origin',
});
api.use(csrf);

/** An error answer of the API: its problem document (RFC 9457) and HTTP status. */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem | null;
  constructor(status: number, problem: Problem | null, fallback: string) {
    super(problem?.detail || problem?.title || fallback);
    this.status = status;
    this.problem = problem;
  }
}

function isProblem(value: unknown): value is Problem {
  return typeof value === 'object' && value !== null && 'status' in value && 'detail' in value;
}

/** The data of an openapi-fetch answer, or an `ApiError` thrown with the server's message. */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok || data === undefined) {
    if (response.ok && response.status === 204) return undefined as T;
    throw new ApiError(
      response.status,
      isProblem(error) ? error : null,
      `${response.status} ${response.statusText || 'request failed'}`,
    );
  }
  return data;
}

/** Reads up to `limit` bytes from the start of a file through the server (Range request). */
export async function fetchPrefix(
  fileId: string,
  limit: number,
  signal?: AbortSignal,
): Promise<{ bytes: Uint8Array; total: number; truncated: boolean }> {
  const res = await fetch(apiUrl(`api/v1/artifacts/files/${fileId}/content`), {
    headers: { Range: `bytes=0-${Math.max(0, limit - 1)}` },
    credentials: 'same-origin',
    signal,
  });
  if (!res.ok) {
    let problem: Problem | null = null;
    try {
      const body: unknown = await res.json();
      problem = isProblem(body) ? body : null;
    } catch {
      problem = null;
    }
    throw new ApiError(res.status, problem, `${res.status} reading the file`);
  }
  const bytes = new Uint8Array(await res.arrayBuffer());
  const range = res.headers.get('Content-Range');
  const total = range ? Number(range.split('/')[1]) : bytes.length;
  return { bytes: bytes.slice(0, limit), total, truncated: bytes.length < total };
}

export function contentUrl(fileId: string): string {
  return apiUrl(`api/v1/artifacts/files/${fileId}/content`);
}

export function archiveUrl(versionId: string, prefix?: string): string {
  const url = new URL(apiUrl(`api/v1/artifacts/versions/${versionId}/archive`));
  if (prefix) url.searchParams.set('prefix', prefix);
  return url.href;
}
