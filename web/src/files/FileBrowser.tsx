import { useCallback, useMemo } from 'react';
import { useQuery } from '@tanstack/react-query';
import type { ColumnDef } from '@tanstack/react-table';
import { Link, useSearchParams } from 'react-router';
import { api, archiveUrl, contentUrl, unwrap, type FileEntry, type FolderEntry, type Version } from '../api/client';
import { usePaged } from '../api/paged';
import { CopyButton } from '../components/CopyButton';
import { FileIcon, FolderIcon } from '../components/Icon';
import { SearchInput } from '../components/SearchInput';
import { ErrorBox, Loading } from '../components/Status';
import { VirtualRows } from '../components/VirtualRows';
import { formatBytes } from '../format';
import { Preview } from '../preview/Preview';
import { crumbs, normaliseFolder } from './paths';

const PAGE = 500;

type Row = FolderEntry | (FileEntry & { kind: 'file' });

/**
 * The files of a version as folders (the server's delimiter listing, with each folder's totals)
 * or, while searching, every file whose path starts with the search. Rows are fetched a page
 * at a time as the list scrolls and only the visible ones are drawn. `?path=` holds the folder,
 * `?find=` the search, `?file=` the previewed file.
 */
export function FileBrowser({ version }: { version: Version }) {
  const [params, setParams] = useSearchParams();
  const folder = normaliseFolder(params.get('path'));
  const find = params.get('find') ?? '';
  const selected = params.get('file');
  const set = useCallback(
    (change: Record<string, string | null>) => {
      const next = new URLSearchParams(params);
      for (const [k, v] of Object.entries(change)) {
        if (v) next.set(k, v);
        else next.delete(k);
      }
      setParams(next);
    },
    [params, setParams],
  );

  const prefix = folder + find;
  const listing = usePaged<Row>(
    ['files', version.id, prefix, find ? 'flat' : 'folders'],
    (cursor) =>
      unwrap(
        api.GET('/api/v1/artifacts/versions/{version_id}/files', {
          params: {
            path: { version_id: version.id },
            query: {
              limit: PAGE,
              ...(prefix ? { prefix } : {}),
              ...(find ? {} : { delimiter: '/' }),
              ...(cursor ? { cursor } : {}),
            },
          },
        }),
      ),
    { keepPrevious: true },
  );
  const { items: rows, more, hasNextPage } = listing;

  const previewed = useSelectedFile(version.id, selected, rows);
  const columns = useMemo(
    () =>
      fileColumns({
        versionId: version.id,
        shownFrom: find ? folder.length : null,
        openFolder: (path) => set({ path, find: null }),
        openFile: (path) => set({ file: path }),
        fileHref: (path) => `?${new URLSearchParams({ ...Object.fromEntries(params), file: path }).toString()}`,
      }),
    [version.id, find, folder, set, params],
  );

  return (
    <div>
      <div className="row">
        <nav className="crumbs" aria-label="Folder" data-testid="breadcrumbs">
          <a href="?" onClick={(e) => (e.preventDefault(), set({ path: null, find: null, file: null }))}>
            {version.version}
          </a>
          {crumbs(folder).map(([name, path]) => (
            <span key={path}>
              {' / '}
              <a href={`?path=${encodeURIComponent(path)}`} onClick={(e) => (e.preventDefault(), set({ path, find: null }))}>
                {name}
              </a>
            </span>
          ))}
        </nav>
        <span className="spacer" />
        <SearchInput
          value={find}
          onChange={(f) => set({ find: f || null })}
          label="Find files by path"
          placeholder="Find by path (prefix)"
          delay={250}
        />
        <a href={archiveUrl(version.id, folder || undefined)} data-testid="download-zip">
          {folder ? 'Download this folder (zip)' : 'Download all (zip)'}
        </a>
      </div>
      <div className="files-layout">
        <div>
          {listing.isPending && <Loading what="Listing files" />}
          {listing.isError && <ErrorBox error={listing.error} />}
          {listing.data && rows.length === 0 && <p className="muted">{find ? 'No file path starts with that.' : 'Empty folder.'}</p>}
          {rows.length > 0 && (
            <VirtualRows<Row>
              items={rows}
              label="Files"
              testId="file-list"
              columns={columns}
              rowKey={(r) => r.path}
              selected={selected}
              onNearEnd={more}
            />
          )}
          {hasNextPage && (
            <p className="muted">
              {rows.length.toLocaleString()} loaded; scroll for more.
            </p>
          )}
        </div>
        <div>
          {previewed.file ? (
            <Preview file={previewed.file} />
          ) : previewed.missing ? (
            <p className="error">No file {selected} in {version.version}.</p>
          ) : (
            <p className="muted">Choose a file to preview it.</p>
          )}
          {previewed.file && (
            <p className="muted">
              SHA-256 <code>{previewed.file.sha256_hash}</code>
              <br />
              MD5 <code>{previewed.file.md5_hash}</code> · type {previewed.file.content_type} ·{' '}
              <Link to={`?path=${encodeURIComponent(folder)}`}>close</Link>
            </p>
          )}
        </div>
      </div>
    </div>
  );
}

/** The file named by `?file=`: from the loaded rows, else looked up by its path. */
function useSelectedFile(versionId: string, path: string | null, rows: Row[]) {
  const inRows = rows.find((r): r is FileEntry & { kind: 'file' } => r.kind === 'file' && r.path === path);
  const lookup = useQuery({
    queryKey: ['file-by-path', versionId, path],
    queryFn: async () => {
      const page = await unwrap(
        api.GET('/api/v1/artifacts/versions/{version_id}/files', {
          params: { path: { version_id: versionId }, query: { prefix: path ?? '', limit: 1 } },
        }),
      );
      const hit = page.items.find((r) => r.kind === 'file' && r.path === path);
      return hit?.kind === 'file' ? hit : null;
    },
    enabled: Boolean(path) && !inRows,
  });
  return { file: inRows ?? lookup.data ?? null, missing: Boolean(path) && lookup.data === null };
}

/** The browser's columns; a folder row fills the hash columns with nothing. */
function fileColumns({
  versionId,
  shownFrom,
  openFolder,
  openFile,
  fileHref,
}: {
  versionId: string;
  /** While searching, files are named by their path from this offset (the folder's length). */
  shownFrom: number | null;
  openFolder: (path: string) => void;
  openFile: (path: string) => void;
  fileHref: (path: string) => string;
}): ColumnDef<Row, unknown>[] {
  return [
    {
      id: 'name',
      header: 'Name',
      meta: { width: 'minmax(12rem, 3fr)' },
      cell: ({ row: { original: r } }) =>
        r.kind === 'folder' ? (
          <a
            href={`?path=${encodeURIComponent(r.path)}`}
            onClick={(e) => (e.preventDefault(), openFolder(r.path))}
            data-kind="folder"
          >
            <FolderIcon /> {r.name}/
          </a>
        ) : (
          <a href={fileHref(r.path)} onClick={(e) => (e.preventDefault(), openFile(r.path))} data-kind="file" title={r.path}>
            <FileIcon /> {shownFrom === null ? r.name : r.path.slice(shownFrom)}
          </a>
        ),
    },
    {
      id: 'size',
      header: 'Size',
      meta: { width: '6.5rem', className: 'num' },
      cell: ({ row: { original: r } }) => formatBytes(r.kind === 'folder' ? r.total_size : r.size),
    },
    {
      id: 'files',
      header: 'Files',
      meta: { width: '5rem', className: 'num' },
      cell: ({ row: { original: r } }) => (r.kind === 'folder' ? r.file_count.toLocaleString() : null),
    },
    {
      id: 'sha256',
      header: 'SHA-256',
      meta: { width: '7.5rem' },
      cell: ({ row: { original: r } }) =>
        r.kind === 'file' ? (
          <CopyButton text={r.sha256_hash} label="Copy SHA-256" display={`${r.sha256_hash.slice(0, 10)}…`} />
        ) : null,
    },
    {
      id: 'md5',
      header: 'MD5',
      meta: { width: '6.5rem' },
      cell: ({ row: { original: r } }) =>
        r.kind === 'file' ? <CopyButton text={r.md5_hash} label="Copy MD5" display={`${r.md5_hash.slice(0, 8)}…`} /> : null,
    },
    {
      id: 'get',
      header: '',
      meta: { width: '5rem' },
      cell: ({ row: { original: r } }) =>
        r.kind === 'folder' ? (
          <a href={archiveUrl(versionId, r.path)} title={`Download ${r.path} as a zip`}>
            zip
          </a>
        ) : (
          <a href={contentUrl(r.id)} download={r.name}>
            download
          </a>
        ),
    },
  ];
}
