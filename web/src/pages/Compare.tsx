import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { Link, useParams, useSearchParams } from 'react-router';
import { useEffect, useMemo, useState } from 'react';
import { api, fetchPrefix, unwrap, type FileEntry, type FolderEntry, type Version } from '../api/client';
import type { ColumnDef } from '@tanstack/react-table';
import { usePaged } from '../api/paged';
import { ErrorBox, Loading } from '../components/Status';
import { VirtualRows } from '../components/VirtualRows';
import { formatBytes, formatCount } from '../format';
import { isInspectable, LIMITS, previewKind } from '../preview/kind';
import { delta, joinPages, metadataDiff, tensorDiff } from './compare';
import { sideBySide } from './textDiff';

/** Two versions of an artifact side by side: files by digest, metadata by key. The URL holds the pair. */
export function ComparePage() {
  const { artifactId = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const from = params.get('from') ?? '';
  const to = params.get('to') ?? '';
  const artifact = useQuery({
    queryKey: ['artifact', artifactId],
    queryFn: () => unwrap(api.GET('/api/v1/artifacts/{artifact_id}', { params: { path: { artifact_id: artifactId } } })),
  });
  const versions = useQuery({
    queryKey: ['versions-finalized', artifactId],
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/artifacts/{artifact_id}/versions', {
          params: { path: { artifact_id: artifactId }, query: { finalized: true, limit: 100, sort: '-index' } },
        }),
      ),
  });
  const items = versions.data?.items ?? [];
  // Without a pair in the URL: the newest (or the `to` given) against the one before it.
  const toId = to || items[0]?.id || '';
  const fromId = from || items[items.findIndex((v) => v.id === toId) + 1]?.id || '';
  const one = (id: string) => ({
    queryKey: ['version', id],
    queryFn: () =>
      unwrap(api.GET('/api/v1/artifacts/versions/{version_id}', { params: { path: { version_id: id }, query: { limit: 1 } } })),
    enabled: Boolean(id),
  });
  const a = useQuery(one(fromId));
  const b = useQuery(one(toId));
  // The server lists a comparison a page of changes at a time; more pages join on demand, so
  // two versions of 100,000 files with thousands of changes stay quick.
  const pages = useInfiniteQuery({
    queryKey: ['diff', fromId, toId],
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET('/api/v1/artifacts/versions/{version_id}/diff/{other_id}', {
          params: {
            path: { version_id: fromId, other_id: toId },
            query: { limit: DIFF_PAGE, ...(pageParam ? { cursor: pageParam } : {}) },
          },
        }),
      ),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    enabled: Boolean(fromId && toId),
  });
  const diff = { ...pages, data: pages.data ? joinPages(pages.data.pages) : undefined };
  const [changesOnly, setChangesOnly] = useState(true);

  const pick = (side: 'from' | 'to', id: string) => setParams({ from: fromId, to: toId, [side]: id });
  const options = (selected: string, current?: Version) => (
    <>
      {current && !items.some((v) => v.id === current.id) && <option value={current.id}>{current.version}</option>}
      {items.map((v) => (
        <option key={v.id} value={v.id} disabled={v.id === selected}>
          {v.version}
          {v.aliases.length ? ` (${v.aliases.join(', ')})` : ''}
        </option>
      ))}
    </>
  );

  if (artifact.isError) return <ErrorBox error={artifact.error} />;
  return (
    <section>
      <nav className="crumbs">
        <Link to="/">Projects</Link> / <Link to={`/artifacts/${artifactId}`}>{artifact.data?.name ?? '…'}</Link> /{' '}
        <span>compare</span>
      </nav>
      <h1>Compare versions of {artifact.data?.name ?? '…'}</h1>
      {versions.isSuccess && items.length < 2 && !from && <p className="muted">There is only one finalized version.</p>}
      <div className="row">
        <label>
          From{' '}
          <select aria-label="From version" value={fromId} onChange={(e) => pick('from', e.target.value)}>
            {options(toId, a.data)}
          </select>
        </label>
        <button type="button" onClick={() => setParams({ from: toId, to: fromId })} disabled={!fromId || !toId}>
          ⇄ Swap
        </button>
        <label>
          To{' '}
          <select aria-label="To version" value={toId} onChange={(e) => pick('to', e.target.value)}>
            {options(fromId, b.data)}
          </select>
        </label>
      </div>
      {diff.isPending && fromId && toId && <Loading what="Comparing" />}
      {diff.isError && <ErrorBox error={diff.error} />}
      {diff.data && (
        <>
          <p data-testid="diff-summary">
            <span className="badge">{diff.data.added.length} added</span>
            <span className="badge">{diff.data.removed.length} removed</span>
            <span className="badge">{diff.data.modified.length} modified</span>
            <span className="badge">{diff.data.renamed.length} renamed</span>
            <span className="badge">{diff.data.unchanged.toLocaleString()} unchanged</span>
            {pages.hasNextPage && <span className="muted"> so far</span>}
          </p>
          {pages.hasNextPage && (
            <div className="banner" role="note" data-testid="diff-more">
              These are the changes up to <span className="mono">{diff.data.next_cursor}</span> (by path), with the unchanged
              files among them.{' '}
              <button type="button" onClick={() => void pages.fetchNextPage()} disabled={pages.isFetchingNextPage}>
                {pages.isFetchingNextPage ? 'Comparing…' : `Compare the next ${DIFF_PAGE} changes`}
              </button>
            </div>
          )}
          <label className="inline-check">
            <input type="checkbox" checked={changesOnly} onChange={(e) => setChangesOnly(e.target.checked)} data-testid="changes-only" />{' '}
            Changes only
          </label>
          <FileTable title="Added" testId="diff-added" files={diff.data.added} />
          <FileTable title="Removed" testId="diff-removed" files={diff.data.removed} />
          {diff.data.modified.length > 0 && (
            <>
              <h2>Modified</h2>
              <table className="grid" data-testid="diff-modified">
                <thead>
                  <tr>
                    <th>Path</th>
                    <th className="num">Before</th>
                    <th className="num">After</th>
                    <th className="num">Change</th>
                  </tr>
                </thead>
                <tbody>
                  {diff.data.modified.map((c) => (
                    <tr key={c.to.id}>
                      <td className="mono">{c.to.path}</td>
                      <td className="num">{formatBytes(c.from.size)}</td>
                      <td className="num">{formatBytes(c.to.size)}</td>
                      <td className="num">{delta(c.from.size, c.to.size, formatBytes)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
          {diff.data.modified
            .filter((c) => !isInspectable(c.to.path))
            .slice(0, 10)
            .map((c) => (
              <TextDiff key={c.to.id} from={c.from} to={c.to} />
            ))}
          {diff.data.modified
            .filter((c) => isInspectable(c.to.path))
            .slice(0, 10)
            .map((c) => (
              <TensorDiff key={c.to.id} path={c.to.path} fromId={c.from.id} toId={c.to.id} />
            ))}
          {diff.data.renamed.length > 0 && (
            <>
              <h2>Renamed (same bytes)</h2>
              <table className="grid" data-testid="diff-renamed">
                <tbody>
                  {diff.data.renamed.map((c) => (
                    <tr key={c.to.id}>
                      <td className="mono">{c.from.path}</td>
                      <td>→</td>
                      <td className="mono">{c.to.path}</td>
                      <td className="num">{formatBytes(c.to.size)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
        </>
      )}
      {diff.data && !changesOnly && (
        <UnchangedFiles
          toId={toId}
          changed={
            new Set([
              ...diff.data.added.map((f) => f.path),
              ...diff.data.modified.map((c) => c.to.path),
              ...diff.data.renamed.map((c) => c.to.path),
            ])
          }
          upTo={pages.hasNextPage ? (diff.data.next_cursor ?? null) : null}
          count={diff.data.unchanged}
        />
      )}
      {a.data && b.data && <MetadataDiff from={a.data.metadata} to={b.data.metadata} />}
    </section>
  );
}

/** A modified text file's lines side by side (both read up to 1 MiB through Range requests). */
function TextDiff({ from, to }: { from: FileEntry; to: FileEntry }) {
  const tooLarge = from.size > LIMITS.highlight || to.size > LIMITS.highlight;
  const read = (f: FileEntry) => ({
    queryKey: ['prefix', f.id, LIMITS.highlight],
    queryFn: ({ signal }: { signal: AbortSignal }) => fetchPrefix(f.id, Math.min(LIMITS.highlight, f.size), signal),
    enabled: !tooLarge && f.size > 0,
    staleTime: Infinity,
  });
  const a = useQuery(read(from));
  const b = useQuery(read(to));
  const text = (f: FileEntry, q: typeof a) => (f.size === 0 ? new Uint8Array() : q.data?.bytes);
  const before = text(from, a);
  const after = text(to, b);
  const isText = (bytes: Uint8Array, f: FileEntry) => previewKind(f.path, f.content_type, bytes.subarray(0, 4096)).kind !== 'binary';
  const rows = useMemo(() => {
    if (!before || !after || !isText(before, from) || !isText(after, to)) return null;
    const decode = (bytes: Uint8Array) => new TextDecoder('utf-8').decode(bytes);
    return sideBySide(decode(before), decode(after));
  }, [before, after, from, to]);
  return (
    <details open className="text-diff" data-testid={`text-diff-${to.path}`}>
      <summary className="mono">{to.path}</summary>
      {tooLarge ? (
        <p className="muted">Over 1 MiB: download both versions to compare them.</p>
      ) : a.error || b.error ? (
        <ErrorBox error={a.error ?? b.error} />
      ) : !before || !after ? (
        <Loading what="Reading both files" />
      ) : !rows ? (
        <p className="muted">Binary: no line diff.</p>
      ) : (
        <table className="diff">
          <tbody>
            {rows.map((r, i) =>
              r.kind === 'skip' ? (
                <tr key={i} className="skip">
                  <td colSpan={4}>… {r.count.toLocaleString()} unchanged lines</td>
                </tr>
              ) : (
                <tr key={i} className={r.kind}>
                  <td className="ln">{r.left?.n}</td>
                  <td className="old">{r.left?.text}</td>
                  <td className="ln">{r.right?.n}</td>
                  <td className="new">{r.right?.text}</td>
                </tr>
              ),
            )}
          </tbody>
        </table>
      )}
    </details>
  );
}

/** A modified model file's tensors, compared by name (both headers read by the inspector). */
function TensorDiff({ path, fromId, toId }: { path: string; fromId: string; toId: string }) {
  const inspect = (id: string) => ({
    queryKey: ['inspect', id],
    queryFn: () => unwrap(api.GET('/api/v1/artifacts/files/{file_id}/inspect', { params: { path: { file_id: id } } })),
    staleTime: Infinity,
  });
  const a = useQuery(inspect(fromId));
  const b = useQuery(inspect(toId));
  const error = a.error ?? b.error;
  const show = (t?: { dtype: string; shape: number[] }) => (t ? `${t.dtype} [${t.shape.join(', ')}]` : '');
  const changes = a.data && b.data ? tensorDiff(a.data.tensors, b.data.tensors) : null;
  return (
    <div data-testid={`tensor-diff-${path}`}>
      <h3>
        Tensors of <span className="mono">{path}</span>
      </h3>
      {error ? (
        <ErrorBox error={error} />
      ) : !changes || !a.data || !b.data ? (
        <Loading what="Reading both headers" />
      ) : (
        <>
          <p className="muted">
            {a.data.tensor_count.toLocaleString()} → {b.data.tensor_count.toLocaleString()} tensors,{' '}
            {formatCount(a.data.parameter_count)} → {formatCount(b.data.parameter_count)} parameters
            {a.data.tensors.length < a.data.tensor_count || b.data.tensors.length < b.data.tensor_count
              ? ' (the first 10,000 tensors of each are compared)'
              : ''}
          </p>
          {changes.length === 0 ? (
            <p className="muted">The same tensors (names, dtypes, shapes); only their values changed.</p>
          ) : (
            <ChangeTable
              heading="Tensor"
              rows={changes.map((c) => ({ name: c.name, kind: c.kind, from: show(c.from), to: show(c.to) }))}
            />
          )}
        </>
      )}
    </div>
  );
}

function FileTable({ title, files, testId }: { title: string; files: FileEntry[]; testId: string }) {
  if (files.length === 0) return null;
  return (
    <>
      <h2>{title}</h2>
      <table className="grid" data-testid={testId}>
        <tbody>
          {files.map((f) => (
            <tr key={f.id}>
              <td className="mono">{f.path}</td>
              <td className="num">{formatBytes(f.size)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function MetadataDiff({ from, to }: { from: Record<string, unknown>; to: Record<string, unknown> }) {
  const changes = metadataDiff(from, to);
  const show = (v: unknown) => (v === undefined ? '' : JSON.stringify(v));
  return (
    <>
      <h2>Metadata</h2>
      {changes.length === 0 ? (
        <p className="muted">The same.</p>
      ) : (
        <ChangeTable
          heading="Key"
          testId="diff-metadata"
          rows={changes.map((c) => ({ name: c.key, kind: c.kind, from: show(c.from), to: show(c.to) }))}
        />
      )}
    </>
  );
}

/** Named things that were added, removed or changed, with their before and after. */
function ChangeTable({
  heading,
  rows,
  testId,
}: {
  heading: string;
  rows: { name: string; kind: string; from: string; to: string }[];
  testId?: string;
}) {
  return (
    <table className="grid" data-testid={testId}>
      <thead>
        <tr>
          <th>{heading}</th>
          <th>Change</th>
          <th>Before</th>
          <th>After</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.name}>
            <td className="mono">{r.name}</td>
            <td>{r.kind}</td>
            <td className="mono">{r.from}</td>
            <td className="mono">{r.to}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const DIFF_PAGE = 500;

const UNCHANGED_COLUMNS: ColumnDef<FileEntry, unknown>[] = [
  { id: 'path', header: 'Path', meta: { width: 'minmax(12rem, 3fr)' }, cell: ({ row }) => <span className="mono clip">{row.original.path}</span> },
  { id: 'size', header: 'Size', meta: { width: '7rem', className: 'num' }, cell: ({ row }) => formatBytes(row.original.size) },
];

/**
 * The files both versions hold unchanged, within the paths the comparison has covered so far:
 * the newer version's listing (a page of 1,000 at a time, as the list scrolls) without the
 * changed paths.
 */
function UnchangedFiles({ toId, changed, upTo, count }: { toId: string; changed: Set<string>; upTo: string | null; count: number }) {
  const files = usePaged<FolderEntry>(['unchanged', toId], (cursor) =>
    unwrap(
      api.GET('/api/v1/artifacts/versions/{version_id}/files', {
        params: { path: { version_id: toId }, query: { limit: 1000, ...(cursor ? { cursor } : {}) } },
      }),
    ),
  );
  const rows = files.items.filter(
    (f): f is FileEntry & { kind: 'file' } => f.kind === 'file' && !changed.has(f.path) && (upTo === null || f.path <= upTo),
  );
  const last = files.items[files.items.length - 1];
  const beyond = upTo !== null && last !== undefined && last.path > upTo;
  const { more, hasNextPage } = files;
  // Pages of only changed files draw no rows to scroll: fetch on until there is something.
  useEffect(() => {
    if (rows.length < 50 && hasNextPage && !beyond) more();
  }, [rows.length, hasNextPage, beyond, more]);
  return (
    <>
      <h2>Unchanged ({count.toLocaleString()})</h2>
      {files.isPending && <Loading what="Listing unchanged files" />}
      {files.isError && <ErrorBox error={files.error} />}
      {rows.length > 0 && (
        <VirtualRows<FileEntry>
          items={rows}
          columns={UNCHANGED_COLUMNS}
          rowKey={(f) => f.path}
          label="Unchanged files"
          testId="diff-unchanged"
          onNearEnd={beyond ? undefined : more}
        />
      )}
    </>
  );
}
