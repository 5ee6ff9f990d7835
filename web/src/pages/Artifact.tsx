import { useQueries, useQuery, useQueryClient } from '@tanstack/react-query';
import type { ColumnDef } from '@tanstack/react-table';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { api, unwrap, type Version } from '../api/client';
import { usePaged } from '../api/paged';
import { DangerZone } from '../components/DangerZone';
import { DetailsEditor } from '../components/DetailsEditor';
import { JsonTree } from '../components/JsonTree';
import { Markdown } from '../components/Markdown';
import { ErrorBox, Loading } from '../components/Status';
import { RunName } from '../components/RunName';
import { UserName } from '../components/UserName';
import { VirtualRows } from '../components/VirtualRows';
import { formatBytes, formatTime, shortId } from '../format';
import { can, useProjectRole } from '../session';
import { AliasEditor } from './AliasEditor';
import { DEFAULT_SORT, sortingOf, sortOf } from './versionSort';

const PAGE = 200;
const VERSION_COLUMNS: ColumnDef<Version, unknown>[] = [
  {
    id: 'index',
    // Sortable columns need a value; the server does the sorting.
    accessorFn: (v) => v.version,
    header: 'Version',
    meta: { width: '6rem' },
    cell: ({ row }) => <Link to={`/versions/${row.original.id}`}>{row.original.version}</Link>,
  },
  {
    id: 'aliases',
    header: 'Aliases',
    enableSorting: false,
    meta: { width: 'minmax(8rem, 1.4fr)' },
    cell: ({ row }) => (
      <>
        {row.original.aliases.map((al) => (
          <span key={al} className="badge alias">
            {al}
          </span>
        ))}
        {!row.original.is_finalized && <span className="badge">draft</span>}
      </>
    ),
  },
  {
    id: 'total_size',
    accessorFn: (v) => v.total_size,
    header: 'Size',
    meta: { width: '6.5rem', className: 'num' },
    cell: ({ row }) => formatBytes(row.original.total_size),
  },
  {
    id: 'file_count',
    header: 'Files',
    enableSorting: false,
    meta: { width: '5rem', className: 'num' },
    cell: ({ row }) => row.original.file_count.toLocaleString(),
  },
  {
    id: 'creator',
    header: 'Creator',
    enableSorting: false,
    meta: { width: 'minmax(6rem, 1fr)' },
    cell: ({ row }) => <UserName id={row.original.created_by} />,
  },
  {
    id: 'created_at',
    accessorFn: (v) => v.created_at,
    header: 'Created',
    meta: { width: '13rem' },
    cell: ({ row }) => formatTime(row.original.created_at),
  },
  {
    id: 'run',
    header: 'Run',
    enableSorting: false,
    meta: { width: 'minmax(6rem, 1fr)' },
    cell: ({ row }) => <RunName id={row.original.run_id} />,
  },
];

export default function ArtifactPage() {
  const { artifactId = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const sort = params.get('sort') || DEFAULT_SORT;
  const client = useQueryClient();
  const navigate = useNavigate();

  const artifact = useQuery({
    queryKey: ['artifact', artifactId],
    queryFn: () =>
      unwrap(api.GET('/api/v1/artifacts/{artifact_id}', { params: { path: { artifact_id: artifactId } } })),
  });
  const role = useProjectRole(artifact.data?.project_id);
  const project = useQuery({
    queryKey: ['project', artifact.data?.project_id],
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/projects/{project_id}', {
          params: { path: { project_id: artifact.data?.project_id ?? '' } },
        }),
      ),
    enabled: Boolean(artifact.data),
  });

  if (artifact.isPending) return <Loading what="Loading the artifact" />;
  if (artifact.isError) return <ErrorBox error={artifact.error} />;
  const a = artifact.data;
  return (
    <section>
      <nav className="crumbs">
        <Link to="/">Projects</Link> /{' '}
        <Link to={`/projects/${a.project_id}`}>{project.data?.name ?? shortId(a.project_id)}</Link> /{' '}
        <span>{a.name}</span>
      </nav>
      <h1>
        {a.name} <span className={`badge type-${a.type}`}>{a.type}</span>
      </h1>
      <dl className="facts">
        <dt>Versions</dt>
        <dd>{a.version_count}</dd>
        <dt>Latest</dt>
        <dd>{a.latest_version ?? '—'}</dd>
        <dt>Created</dt>
        <dd>
          {formatTime(a.created_at)} by <UserName id={a.created_by} />
        </dd>
        <dt>Updated</dt>
        <dd>{formatTime(a.updated_at)}</dd>
      </dl>
      <h2>Description</h2>
      {a.description ? <Markdown text={a.description} /> : <p className="muted">No description.</p>}
      <h2>Metadata</h2>
      {Object.keys(a.metadata).length ? <JsonTree value={a.metadata} /> : <p className="muted">None.</p>}
      {can(role, 'editor') && (
        <DetailsEditor
          what="artifact"
          description={a.description}
          metadata={a.metadata}
          save={async (patch) => {
            await unwrap(
              api.PUT('/api/v1/artifacts/{artifact_id}', { params: { path: { artifact_id: a.id } }, body: patch }),
            );
            await client.invalidateQueries({ queryKey: ['artifact', a.id] });
          }}
        />
      )}
      <div className="row">
        <h2>Versions</h2>
        {a.version_count > 1 && <Link to={`/artifacts/${a.id}/compare`}>Compare versions</Link>}
        {can(role, 'editor') && (
          <Link to={`/artifacts/${a.id}/upload`} className="button" data-testid="new-version">
            Upload a new version
          </Link>
        )}
      </div>
      <VersionsTable
        artifactId={a.id}
        sort={sort}
        onSort={(next) => setParams(next === DEFAULT_SORT ? {} : { sort: next }, { replace: true })}
      />
      <h2>Aliases</h2>
      <AliasTimeline artifactId={a.id} projectId={a.project_id} />
      {can(role, 'editor') && (
        <DangerZone
          label="Delete this artifact"
          name={a.name}
          consequence={`its ${a.version_count.toLocaleString()} version${a.version_count === 1 ? '' : 's'}, their files, aliases and lineage`}
          remove={async () => {
            await unwrap(api.DELETE('/api/v1/artifacts/{artifact_id}', { params: { path: { artifact_id: a.id } } }));
            client.removeQueries({ queryKey: ['artifact', a.id] });
            await client.invalidateQueries({ queryKey: ['artifacts'] });
            void navigate(`/projects/${a.project_id}`, { replace: true });
          }}
        />
      )}
    </section>
  );
}

/** Every version, fetched a page at a time as the list scrolls; only visible rows are drawn. */
function VersionsTable({
  artifactId,
  sort,
  onSort,
}: {
  artifactId: string;
  sort: string;
  onSort: (sort: string) => void;
}) {
  const versions = usePaged<Version>(['versions', artifactId, sort], (cursor) =>
    unwrap(
      api.GET('/api/v1/artifacts/{artifact_id}/versions', {
        params: {
          path: { artifact_id: artifactId },
          query: { limit: PAGE, sort, ...(cursor ? { cursor } : {}) },
        },
      }),
    ),
  );
  const { items, more } = versions;

  if (versions.isPending) return <Loading what="Loading versions" />;
  if (versions.isError) return <ErrorBox error={versions.error} />;
  if (items.length === 0) return <p className="muted">No versions yet.</p>;
  const sorting = sortingOf(sort);
  return (
    <VirtualRows<Version>
      items={items}
      label="Versions"
      testId="versions-table"
      columns={VERSION_COLUMNS}
      rowKey={(v) => v.id}
      onNearEnd={more}
      sorting={sorting}
      onSortingChange={(change) => onSort(sortOf(typeof change === 'function' ? change(sorting) : change))}
    />
  );
}

/** The aliases as they point now, and every move, newest first. */
function AliasTimeline({ artifactId, projectId }: { artifactId: string; projectId: string }) {
  const role = useProjectRole(projectId);
  const path = { artifact_id: artifactId };
  const aliases = useQuery({
    queryKey: ['aliases', artifactId],
    queryFn: () => unwrap(api.GET('/api/v1/artifacts/{artifact_id}/aliases', { params: { path } })),
  });
  const history = useQuery({
    queryKey: ['alias-history', artifactId],
    queryFn: () => unwrap(api.GET('/api/v1/artifacts/{artifact_id}/aliases/history', { params: { path } })),
  });
  // The history names versions by id: look each one up once (the first 50 distinct).
  const ids = [
    ...new Set((history.data ?? []).flatMap((e) => [e.from_version, e.to_version]).filter((x) => x != null)),
  ].slice(0, 50);
  const looked = useQueries({
    queries: ids.map((id) => ({
      queryKey: ['version-head', id],
      queryFn: () =>
        unwrap(
          api.GET('/api/v1/artifacts/versions/{version_id}', {
            params: { path: { version_id: id }, query: { limit: 1 } },
          }),
        ),
      staleTime: 60_000,
      retry: false,
    })),
  });
  const names = new Map<string, string>((aliases.data ?? []).map((a) => [a.version_id, a.version]));
  looked.forEach((q, i) => {
    const id = ids[i];
    if (q.data && id) names.set(id, q.data.version);
  });
  const name = (id: string | null | undefined) =>
    id ? <Link to={`/versions/${id}`}>{names.get(id) ?? shortId(id)}</Link> : <span className="muted">nothing</span>;

  if (aliases.isPending || history.isPending) return <Loading what="Loading aliases" />;
  if (aliases.isError) return <ErrorBox error={aliases.error} />;
  if (history.isError) return <ErrorBox error={history.error} />;
  const events = [...history.data].sort((x, y) => y.at.localeCompare(x.at));
  return (
    <>
      {can(role, 'editor') ? (
        <AliasEditor artifactId={artifactId} aliases={aliases.data} />
      ) : aliases.data.length === 0 ? (
        <p className="muted">No aliases.</p>
      ) : (
        <p data-testid="aliases">
          {aliases.data.map((a) => (
            <span key={a.name} className="badge alias" title={`since ${formatTime(a.updated_at)}`}>
              {a.name} → <Link to={`/versions/${a.version_id}`}>{a.version}</Link>
            </span>
          ))}
        </p>
      )}
      {events.length > 0 && (
        <ol className="timeline" data-testid="alias-timeline">
          {events.map((e) => (
            <li key={e.id}>
              <strong>{e.alias}</strong>{' '}
              {e.to_version ? (
                <>
                  {e.from_version ? 'moved from ' : 'set on '}
                  {e.from_version && <>{name(e.from_version)} to </>}
                  {name(e.to_version)}
                </>
              ) : (
                <>removed from {name(e.from_version)}</>
              )}{' '}
              <span className="muted">
                by <UserName id={e.actor} />, {formatTime(e.at)}
              </span>
            </li>
          ))}
        </ol>
      )}
    </>
  );
}
