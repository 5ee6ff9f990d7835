import { ApiError, apiUrl, csrfHeaders, type Problem } from '../api/client';
import { NetworkError, type StoreAnswer, type StorePut, type Transport } from './engine';

// Headers a page may not set; the browser sends them itself (Content-Length from the body).
const FORBIDDEN = new Set(['content-length', 'host', 'connection', 'expect']);

/** The page's transport: JSON calls with the session cookie and CSRF token, PUTs by XHR for progress. */
export const browserTransport: Transport = {
  origin: window.location.origin,

  async call<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (method !== 'GET') Object.assign(headers, csrfHeaders());
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(apiUrl(path), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
      });
    } catch (e) {
      throw new NetworkError(`the registry did not answer (${e instanceof Error ? e.message : String(e)})`);
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    const data: unknown = text ? JSON.parse(text) : undefined;
    if (!res.ok) {
      const problem = typeof data === 'object' && data !== null && 'detail' in data ? (data as Problem) : null;
      throw new ApiError(res.status, problem, `${res.status} ${res.statusText || 'request failed'}`);
    }
    return data as T;
  },

  put(req: StorePut): Promise<StoreAnswer> {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      // Relative URLs are the server's own endpoints, under the page's base path.
      const url = new URL(/^https?:/.test(req.url) ? req.url : apiUrl(req.url));
      const same = url.origin === window.location.origin;
      xhr.open('PUT', url.href);
      // Through the server (the content endpoint) the session authenticates the request.
      if (same) {
        xhr.withCredentials = true;
        for (const [k, v] of Object.entries(csrfHeaders())) xhr.setRequestHeader(k, v);
      }
      for (const [k, v] of Object.entries(req.headers)) {
        if (!FORBIDDEN.has(k.toLowerCase())) xhr.setRequestHeader(k, v);
      }
      xhr.upload.onprogress = (e) => req.onProgress(e.loaded);
      const onAbort = () => xhr.abort();
      req.signal.addEventListener('abort', onAbort, { once: true });
      const done = () => req.signal.removeEventListener('abort', onAbort);
      xhr.onload = () => {
        done();
        const retry = xhr.getResponseHeader('Retry-After');
        resolve({
          status: xhr.status,
          etag: xhr.getResponseHeader('ETag'),
          retryAfter: retry && /^\d+$/.test(retry) ? Number(retry) : null,
        });
      };
      xhr.onerror = () => {
        done();
        reject(new NetworkError(`${url.host} did not answer (network error or no CORS rule for this page)`));
      };
      xhr.onabort = () => {
        done();
        reject(req.signal.reason ?? new DOMException('Cancelled', 'AbortError'));
      };
      xhr.send(req.body);
    });
  },
};
