import { lazy, Suspense } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, NavLink, useNavigate, useParams } from 'react-router';
import { api, unwrap, type Artifact, type Version } from '../api/client';
import { CopyButton } from '../components/CopyButton';
import { DangerZone } from '../components/DangerZone';
import { DetailsEditor } from '../components/DetailsEditor';
import { JsonTree } from '../components/JsonTree';
import { Markdown } from '../components/Markdown';
import { ErrorBox, Loading } from '../components/Status';
import { RunName } from '../components/RunName';
import { UserName } from '../components/UserName';
import { FileBrowser } from '../files/FileBrowser';
import { can, useProjectRole } from '../session';
import { formatBytes, formatTime, shortId } from '../format';
import { usageSnippets } from './usage';

// The graph library (React Flow + dagre) loads with the lineage tab only.
const LineageGraph = lazy(() => import('../lineage/Lineage'));

const TABS = [
  ['overview', 'Overview'],
  ['files', 'Files'],
  ['metadata', 'Metadata'],
  ['usage', 'Usage'],
  ['downloads', 'Downloads'],
  ['lineage', 'Lineage'],
] as const;
type Tab = (typeof TABS)[number][0];

export default function VersionPage() {
  const { versionId = '', tab: rawTab } = useParams();
  const tab: Tab = TABS.some(([t]) => t === rawTab) ? (rawTab as Tab) : 'overview';
  const version = useQuery({
    queryKey: ['version', versionId],
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/artifacts/versions/{version_id}', {
          params: { path: { version_id: versionId }, query: { limit: 1 } },
        }),
      ),
  });
  const artifactId = version.data?.artifact_id ?? '';
  const artifact = useQuery({
    queryKey: ['artifact', artifactId],
    queryFn: () =>
      unwrap(api.GET('/api/v1/artifacts/{artifact_id}', { params: { path: { artifact_id: artifactId } } })),
    enabled: Boolean(artifactId),
  });
  const projectId = version.data?.project_id ?? '';
  const project = useQuery({
    queryKey: ['project', projectId],
    queryFn: () =>
      unwrap(api.GET('/api/v1/projects/{project_id}', { params: { path: { project_id: projectId } } })),
    enabled: Boolean(projectId),
  });

  if (version.isPending) return <Loading what="Loading the version" />;
  if (version.isError) return <ErrorBox error={version.error} />;
  const v = version.data;
  const a = artifact.data;
  return (
    <section>
      <nav className="crumbs">
        <Link to="/">Projects</Link> / <Link to={`/projects/${v.project_id}`}>{project.data?.name ?? '…'}</Link> /{' '}
        <Link to={`/artifacts/${v.artifact_id}`}>{a?.name ?? '…'}</Link> / <span>{v.version}</span>
      </nav>
      <h1>
        {a?.name ?? 'Artifact'}:{v.version}{' '}
        {v.aliases.map((al) => (
          <span key={al} className="badge alias">
            {al}
          </span>
        ))}
        {!v.is_finalized && <span className="badge">draft</span>}
      </h1>
      <nav className="tabs" aria-label="Version">
        {TABS.map(([t, label]) => (
          <NavLink key={t} to={`/versions/${v.id}/${t}`} aria-current={t === tab ? 'page' : undefined} end>
            {label}
          </NavLink>
        ))}
      </nav>
      {tab === 'overview' && <Overview version={v} artifactName={a?.name ?? ''} />}
      {tab === 'files' && <FileBrowser version={v} />}
      {tab === 'metadata' &&
        (Object.keys(v.metadata).length ? <JsonTree value={v.metadata} open={3} /> : <p className="muted">No metadata.</p>)}
      {tab === 'usage' && (a && project.data ? <Usage project={project.data.name} artifact={a} version={v} /> : <Loading />)}
      {tab === 'downloads' && <Downloads versionId={v.id} />}
      {tab === 'lineage' && (
        <Suspense fallback={<Loading what="Loading the graph" />}>
          <LineageGraph version={v} />
        </Suspense>
      )}
    </section>
  );
}

function Overview({ version: v, artifactName }: { version: Version; artifactName: string }) {
  const role = useProjectRole(v.project_id);
  const client = useQueryClient();
  const navigate = useNavigate();
  const lineage = useQuery({
    queryKey: ['lineage', v.id, 1],
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/artifacts/versions/{version_id}/lineage', {
          params: { path: { version_id: v.id }, query: { depth: 1 } },
        }),
      ),
  });
  const runs = new Map((lineage.data?.runs ?? []).map((r) => [r.id, r]));
  const consumers = (lineage.data?.edges ?? []).filter((e) => e.kind === 'used' && e.version === v.id);
  return (
    <>
      <dl className="facts" data-testid="overview">
        <dt>Digest</dt>
        <dd>
          {v.digest ? (
            <>
              <code>{v.digest}</code> <CopyButton text={v.digest} label="Copy digest" />
            </>
          ) : (
            <span className="muted">none until finalized</span>
          )}
        </dd>
        <dt>Size</dt>
        <dd>
          {formatBytes(v.total_size)} <span className="muted">({v.total_size.toLocaleString()} bytes)</span>
        </dd>
        <dt>Files</dt>
        <dd>
          <Link to={`/versions/${v.id}/files`}>{v.file_count.toLocaleString()}</Link>
        </dd>
        <dt>Finalized</dt>
        <dd>{v.is_finalized ? formatTime(v.finalized_at) : 'no (a draft: it still takes files)'}</dd>
        <dt>Created</dt>
        <dd>
          {formatTime(v.created_at)} by <UserName id={v.created_by} />
        </dd>
        <dt>Aliases</dt>
        <dd>{v.aliases.length ? v.aliases.join(', ') : '—'}</dd>
        {v.is_finalized && v.version !== 'v0' && (
          <>
            <dt>Changes</dt>
            <dd>
              <Link to={`/artifacts/${v.artifact_id}/compare?to=${v.id}`}>Compare with the version before</Link>
            </dd>
          </>
        )}
        <dt>Produced by</dt>
        <dd data-testid="producer">
          {!v.run_id ? (
            <span className="muted">no run recorded</span>
          ) : (
            <>
              run{' '}
              <strong>
                <RunName id={v.run_id} />
              </strong>
            </>
          )}
        </dd>
        <dt>Used by</dt>
        <dd data-testid="consumers">
          {lineage.isPending ? (
            '…'
          ) : consumers.length === 0 ? (
            <span className="muted">no run yet</span>
          ) : (
            consumers.map((e) => (
              <div key={e.run} title={e.run}>
                run <strong>{runs.get(e.run)?.name ?? shortId(e.run)}</strong>
              </div>
            ))
          )}
        </dd>
        <dt>Storage path</dt>
        <dd className="mono">{v.storage_path}</dd>
      </dl>
      <h2>Description</h2>
      {v.description ? <Markdown text={v.description} /> : <p className="muted">No description.</p>}
      {can(role, 'editor') && (
        <DetailsEditor
          what="version"
          description={v.description}
          metadata={v.metadata}
          save={async (patch) => {
            await unwrap(
              api.PUT('/api/v1/artifacts/versions/{version_id}', { params: { path: { version_id: v.id } }, body: patch }),
            );
            await client.invalidateQueries({ queryKey: ['version', v.id] });
          }}
        />
      )}
      {can(role, 'editor') && artifactName && (
        <DangerZone
          label={v.is_finalized ? 'Delete this version' : 'Delete this draft'}
          name={`${artifactName}:${v.version}`}
          consequence={`its ${v.file_count.toLocaleString()} file${v.file_count === 1 ? '' : 's'} (${formatBytes(v.total_size)})${v.aliases.length ? ` and the aliases ${v.aliases.join(', ')} (latest moves to the newest remaining version)` : ''}`}
          remove={async () => {
            await unwrap(api.DELETE('/api/v1/artifacts/versions/{version_id}', { params: { path: { version_id: v.id } } }));
            client.removeQueries({ queryKey: ['version', v.id] });
            await client.invalidateQueries({ queryKey: ['versions', v.artifact_id] });
            await client.invalidateQueries({ queryKey: ['artifact', v.artifact_id] });
            void navigate(`/artifacts/${v.artifact_id}`, { replace: true });
          }}
        />
      )}
    </>
  );
}

function Usage({ project, artifact, version }: { project: string; artifact: Artifact; version: Version }) {
  return (
    <div data-testid="usage">
      {usageSnippets(project, artifact.name, version.version, window.location.origin + new URL(document.baseURI).pathname).map(
        ([title, code]) => (
          <div key={title}>
            <h3>{title}</h3>
            <div className="snippet">
              <pre>{code}</pre>
              <CopyButton text={code} label="Copy" />
            </div>
          </div>
        ),
      )}
    </div>
  );
}

function Downloads({ versionId }: { versionId: string }) {
  const stats = useQuery({
    queryKey: ['downloads', versionId],
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/artifacts/versions/{version_id}/downloads', { params: { path: { version_id: versionId } } }),
      ),
  });
  if (stats.isPending) return <Loading what="Loading downloads" />;
  if (stats.isError) return <ErrorBox error={stats.error} />;
  const s = stats.data;
  return (
    <div data-testid="downloads">
      <dl className="facts">
        <dt>Downloads</dt>
        <dd data-testid="download-count">{s.count.toLocaleString()}</dd>
        <dt>People</dt>
        <dd>{s.unique_users.toLocaleString()}</dd>
        <dt>Last</dt>
        <dd>{formatTime(s.last_at)}</dd>
      </dl>
      <h2>Recent</h2>
      {s.recent.length === 0 ? (
        <p className="muted">Nobody has downloaded this version yet.</p>
      ) : (
        <table className="grid">
          <thead>
            <tr>
              <th>Who</th>
              <th>What</th>
              <th>When</th>
            </tr>
          </thead>
          <tbody>
            {s.recent.map((d, i) => (
              <tr key={i}>
                <td title={d.user_id}>{d.user_name}</td>
                <td>
                  {d.file_id ? (
                    <span className="mono" title={d.file_id}>
                      {d.file_path ?? `a deleted file (${shortId(d.file_id)})`}
                    </span>
                  ) : (
                    'the whole version, or a folder of it'
                  )}
                </td>
                <td>{formatTime(d.at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
