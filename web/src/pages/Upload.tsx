import { useEffect, useMemo, useState, type DragEvent } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import type { ColumnDef } from '@tanstack/react-table';
import { Link, useParams } from 'react-router';
import { api, unwrap, type Artifact, type ArtifactType, type Schemas } from '../api/client';
import { parseMetadata } from '../components/DetailsEditor';
import { ErrorBox, Loading } from '../components/Status';
import { VirtualRows } from '../components/VirtualRows';
import { formatBytes, formatCount } from '../format';
import { can, useProjectRole } from '../session';
import { browserTransport } from '../upload/browserTransport';
import { message, upload, type FileProgress, type LocalFile, type Outcome, type Phase } from '../upload/engine';
import { Live } from '../upload/live';
import { arrange, commonFolder, fromDrop, fromInput, parseAliases } from '../upload/pick';
import { ARTIFACT_TYPES } from './projectQuery';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

type Row = { index: number; path: string; size: number } & FileProgress;

const STATUS: Record<FileProgress['status'], string> = {
  queued: 'waiting',
  hashing: 'hashing',
  hashed: 'hashed',
  uploading: 'uploading',
  sent: 'sent',
  present: 'already stored',
  failed: 'failed',
};

const COLUMNS: ColumnDef<Row, unknown>[] = [
  { id: 'path', header: 'Path', meta: { width: 'minmax(12rem, 3fr)' }, cell: ({ row }) => <span className="mono clip">{row.original.path}</span> },
  { id: 'size', header: 'Size', meta: { width: '6.5rem', className: 'num' }, cell: ({ row }) => formatBytes(row.original.size) },
  {
    id: 'status',
    header: 'Status',
    meta: { width: '8rem' },
    cell: ({ row }) => (
      <span className={`status-${row.original.status}`} title={row.original.error}>
        {STATUS[row.original.status]}
      </span>
    ),
  },
  {
    id: 'progress',
    header: 'Progress',
    meta: { width: 'minmax(6rem, 1fr)' },
    cell: ({ row }) => <Bar done={row.original.done} total={row.original.size} />,
  },
];

/** `/artifacts/:artifactId/upload` (a new version) or `/projects/:projectId/upload` (a new artifact). */
export function UploadPage() {
  const { artifactId, projectId: projectParam } = useParams();
  const artifact = useQuery({
    queryKey: ['artifact', artifactId],
    queryFn: () => unwrap(api.GET('/api/v1/artifacts/{artifact_id}', { params: { path: { artifact_id: artifactId ?? '' } } })),
    enabled: Boolean(artifactId),
  });
  const projectId = artifact.data?.project_id ?? projectParam;
  const project = useQuery({
    queryKey: ['project', projectId],
    queryFn: () => unwrap(api.GET('/api/v1/projects/{project_id}', { params: { path: { project_id: projectId ?? '' } } })),
    enabled: Boolean(projectId),
  });
  const role = useProjectRole(projectId);
  if (artifact.isError) return <ErrorBox error={artifact.error} />;
  if (project.isError) return <ErrorBox error={project.error} />;
  if (!project.data || (artifactId && !artifact.data)) return <Loading />;
  return (
    <section>
      <nav className="crumbs">
        <Link to="/">Projects</Link> / <Link to={`/projects/${project.data.id}`}>{project.data.name}</Link>
        {artifact.data && (
          <>
            {' '}
            / <Link to={`/artifacts/${artifact.data.id}`}>{artifact.data.name}</Link>
          </>
        )}
      </nav>
      <h1>{artifact.data ? `New version of ${artifact.data.name}` : 'New artifact'}</h1>
      {can(role, 'editor') ? (
        <Uploader projectId={project.data.id} artifact={artifact.data ?? null} />
      ) : (
        <p className="muted" data-testid="upload-forbidden">
          {role === null ? 'Checking your role…' : 'Viewers cannot upload: an editor or admin of this project can.'}
        </p>
      )}
    </section>
  );
}

type RunState = 'idle' | 'running' | 'cancelled' | 'failed' | 'done';

function Uploader({ projectId, artifact }: { projectId: string; artifact: Artifact | null }) {
  const client = useQueryClient();
  const [chosen, setChosen] = useState<LocalFile[]>([]);
  const [strip, setStrip] = useState(true);
  const [name, setName] = useState('');
  const [type, setType] = useState<ArtifactType>('model');
  const [description, setDescription] = useState('');
  const [metadata, setMetadata] = useState('');
  const [aliases, setAliases] = useState('');
  const [state, setState] = useState<RunState>('idle');
  const [phase, setPhase] = useState<Phase | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [dragging, setDragging] = useState(false);
  // The running job's live state, outside React; `view` is its copy for drawing.
  const [job] = useState(() => new Live());
  const [view, setView] = useState(() => job.view());
  const redraw = () => setView(job.view());

  const folder = commonFolder(chosen);
  const files = useMemo(() => arrange(chosen, strip ? folder : null), [chosen, strip, folder]);
  const total = useMemo(() => files.reduce((s, f) => s + f.file.size, 0), [files]);

  /** A new choice of files is a new job: nothing of an earlier attempt applies to it. */
  const choose = (next: LocalFile[], nextStrip = strip) => {
    const count = arrange(next, nextStrip ? commonFolder(next) : null).length;
    job.reset(count);
    setChosen(next);
    setStrip(nextStrip);
    setOutcome(null);
    setError(null);
    setState('idle');
    setView(job.view());
  };

  useEffect(() => () => job.stop(), [job]);

  // Progress arrives per chunk; the page redraws four times a second while it runs.
  useEffect(() => {
    if (state !== 'running') return;
    const timer = setInterval(() => setView(job.view()), 250);
    const leave = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener('beforeunload', leave);
    return () => {
      clearInterval(timer);
      window.removeEventListener('beforeunload', leave);
    };
  }, [state, job]);

  const meta = parseMetadata(metadata);
  const nameError = artifact || !name || NAME.test(name) ? null : 'Letters, digits, ".", "_" and "-", starting with a letter or digit.';
  const ready = files.length > 0 && meta.ok && !nameError && (artifact !== null || name !== '');
  const busy = state === 'running';

  const start = async () => {
    const controller = job.begin();
    setState('running');
    setError(null);
    try {
      let id = artifact?.id ?? job.created;
      if (!id) {
        const made = await browserTransport.call<Schemas['ArtifactDto']>('POST', '/api/v1/artifacts', {
          project_id: projectId,
          name,
          type,
          description,
          metadata: meta.ok ? meta.value : {},
        });
        job.artifactCreated(made.id);
        id = made.id;
      }
      const out = await upload(
        {
          artifactId: id,
          files,
          aliases: parseAliases(aliases),
          ...(artifact ? { description, metadata: meta.ok ? meta.value : {} } : {}),
        },
        job.resume,
        browserTransport,
        job.hash,
        {
          phase: setPhase,
          file: (i, p) => job.file(i, p),
          sent: (n) => job.count(n),
        },
        controller.signal,
      );
      setOutcome(out);
      setState('done');
      await Promise.all([
        client.invalidateQueries({ queryKey: ['versions', id] }),
        client.invalidateQueries({ queryKey: ['artifact', id] }),
        client.invalidateQueries({ queryKey: ['artifacts'] }),
        client.invalidateQueries({ queryKey: ['alias-history', id] }),
      ]);
    } catch (e) {
      if (controller.signal.aborted) {
        setState('cancelled');
      } else {
        setError(message(e));
        setState('failed');
      }
    } finally {
      redraw();
    }
  };

  const discard = async () => {
    const draft = job.resume.versionId;
    if (draft) {
      try {
        await unwrap(api.DELETE('/api/v1/artifacts/versions/{version_id}', { params: { path: { version_id: draft } } }));
      } catch (e) {
        setError(message(e));
        return;
      }
    }
    choose([]);
  };

  const onDrop = async (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    if (busy) return;
    const dropped = await fromDrop(e.dataTransfer);
    choose([...chosen, ...dropped]);
  };

  const rows: Row[] = files.map((f, index) => ({
    index,
    path: f.path,
    size: f.file.size,
    ...(view.progress[index] ?? { status: 'queued', done: 0 }),
  }));
  const counted = { hashed: 0, stored: 0, present: 0 };
  for (const r of rows) {
    counted.hashed += r.status === 'hashing' ? r.done : r.status === 'queued' ? 0 : r.size;
    if (r.status === 'uploading' || r.status === 'sent' || r.status === 'present') counted.stored += r.done;
    if (r.status === 'present') counted.present++;
  }

  return (
    <div className="upload">
      {!artifact && (
        <fieldset className="form" disabled={busy || view.created}>
          <legend>Artifact</legend>
          <label>
            Name
            <input type="text" value={name} onChange={(e) => setName(e.target.value.trim())} data-testid="upload-name" required />
          </label>
          {nameError && <p className="error">{nameError}</p>}
          <label>
            Type
            <select value={type} onChange={(e) => setType(e.target.value as ArtifactType)} data-testid="upload-type">
              {ARTIFACT_TYPES.map((t) => (
                <option key={t}>{t}</option>
              ))}
            </select>
          </label>
        </fieldset>
      )}
      <fieldset className="form" disabled={busy}>
        <legend>{artifact ? 'The new version' : 'Details'}</legend>
        <label>
          Description (markdown)
          <textarea value={description} onChange={(e) => setDescription(e.target.value)} rows={2} data-testid="upload-description" />
        </label>
        <label>
          Metadata (a JSON object)
          <textarea value={metadata} onChange={(e) => setMetadata(e.target.value)} rows={2} placeholder='{"epochs": 10}' data-testid="upload-metadata" />
        </label>
        {!meta.ok && <p className="error">{meta.error}</p>}
        <label>
          <span>
            Aliases besides <span className="badge alias">latest</span>
          </span>
          <input type="text" value={aliases} onChange={(e) => setAliases(e.target.value)} placeholder="best, prod" data-testid="upload-aliases" />
        </label>
      </fieldset>

      <div
        className={`dropzone${dragging ? ' over' : ''}`}
        data-testid="upload-drop"
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(e) => void onDrop(e)}
      >
        <p>Drop files or folders here, or</p>
        <label className="button">
          choose files
          <input type="file" multiple hidden disabled={busy} data-testid="upload-files-input" onChange={(e) => {
            const picked = fromInput(e.target.files);
            e.target.value = '';
            choose([...chosen, ...picked]);
          }} />
        </label>
        <label className="button">
          choose a folder
          <input
            type="file"
            hidden
            disabled={busy}
            data-testid="upload-folder-input"
            ref={(el) => el?.setAttribute('webkitdirectory', '')}
            onChange={(e) => {
              const picked = fromInput(e.target.files);
              e.target.value = '';
              choose([...chosen, ...picked]);
            }}
          />
        </label>
        {files.length > 0 && !busy && (
          <button type="button" onClick={() => choose([])}>
            Clear
          </button>
        )}
      </div>

      {files.length > 0 && (
        <>
          <p data-testid="upload-chosen">
            {formatCount(files.length)} file{files.length === 1 ? '' : 's'}, {formatBytes(total)}
            {folder && (
              <label className="inline">
                <input type="checkbox" checked={strip} disabled={busy} onChange={(e) => choose(chosen, e.target.checked)} /> put the
                contents of <span className="mono">{folder}/</span> at the version&apos;s root
              </label>
            )}
          </p>
          <VirtualRows<Row> items={rows} columns={COLUMNS} rowKey={(r) => r.path} label="Files to upload" testId="upload-table" />
        </>
      )}

      {state !== 'idle' && (
        <div className="upload-total" data-testid="upload-total">
          <Bar done={phase === 'hashing' ? counted.hashed : counted.stored} total={total} />
          <span data-testid="upload-status">
            {state === 'running' && phase === 'hashing' && `Hashing ${formatBytes(counted.hashed)} of ${formatBytes(total)}`}
            {state === 'running' && phase === 'uploading' && `Uploading: ${formatBytes(counted.stored)} of ${formatBytes(total)} stored`}
            {state === 'running' && phase === 'finalizing' && 'Finalizing: the registry checks every file'}
            {state === 'cancelled' && 'Cancelled. What was sent is kept: resume to send the rest.'}
            {state === 'failed' && 'Failed.'}
            {state === 'done' && 'Done.'}
          </span>
          <span className="muted" data-testid="upload-sent" data-bytes={view.sent}>
            {formatBytes(view.sent)} sent{counted.present > 0 && `, ${formatCount(counted.present)} already stored`}
          </span>
        </div>
      )}
      {error && (
        <p className="error" role="alert" data-testid="upload-error">
          {error}
        </p>
      )}
      {outcome && <OutcomeLine outcome={outcome} />}

      <div className="row">
        {(state === 'idle' || state === 'done') && (
          <button type="button" className="primary" disabled={!ready || state === 'done'} onClick={() => void start()} data-testid="upload-start">
            Upload
          </button>
        )}
        {busy && (
          <button type="button" onClick={() => job.cancel()} data-testid="upload-cancel">
            Cancel
          </button>
        )}
        {(state === 'cancelled' || state === 'failed') && (
          <>
            <button type="button" className="primary" onClick={() => void start()} data-testid="upload-resume">
              Resume
            </button>
            <button type="button" onClick={() => void discard()} data-testid="upload-discard">
              {view.draft ? 'Discard the draft' : 'Start over'}
            </button>
          </>
        )}
      </div>
    </div>
  );
}

function OutcomeLine({ outcome }: { outcome: Outcome }) {
  const v = outcome.version;
  return (
    <p data-testid="upload-outcome" data-sent-bytes={outcome.sentBytes}>
      {outcome.created ? (
        <>
          <Link to={`/versions/${v.id}`}>{v.version}</Link> is finalized: {formatCount(outcome.sentFiles)} file
          {outcome.sentFiles === 1 ? '' : 's'} sent ({formatBytes(outcome.sentBytes)}), {formatCount(outcome.presentFiles)} already
          in the registry.
        </>
      ) : (
        <>
          No new version: the latest, <Link to={`/versions/${v.id}`}>{v.version}</Link>, already holds exactly these files
          (nothing was sent).
        </>
      )}
      {v.aliases.length > 0 && (
        <>
          {' '}
          Aliases:{' '}
          {v.aliases.map((a) => (
            <span key={a} className="badge alias">
              {a}
            </span>
          ))}
        </>
      )}
    </p>
  );
}

function Bar({ done, total }: { done: number; total: number }) {
  const pct = total > 0 ? Math.min(100, (done / total) * 100) : done > 0 || total === 0 ? 100 : 0;
  return (
    <span className="bar" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(pct)}>
      <span style={{ width: `${pct}%` }} />
    </span>
  );
}
