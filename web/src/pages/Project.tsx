import { useState, type FormEvent } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link, useParams, useSearchParams } from 'react-router';
import { api, ApiError, unwrap } from '../api/client';
import { SearchInput } from '../components/SearchInput';
import { ErrorBox, Loading } from '../components/Status';
import { formatTime, summaryLine } from '../format';
import { can, useProjectRole } from '../session';
import { apiQuery, ARTIFACT_TYPES, readQuery, writeQuery, type ArtifactQuery } from './projectQuery';

const PAGE = 50;
const SORTS: [string, string][] = [
  ['-updated_at', 'Recently updated'],
  ['-created_at', 'Newest'],
  ['created_at', 'Oldest'],
  ['name', 'Name A–Z'],
  ['-name', 'Name Z–A'],
  ['-version_count', 'Most versions'],
];

export function ProjectPage() {
  const { projectId = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const query = readQuery(params);
  const update = (change: Partial<ArtifactQuery>, replace = false) =>
    setParams(writeQuery({ ...query, cursor: '', ...change }), { replace });

  const role = useProjectRole(projectId);
  const project = useQuery({
    queryKey: ['project', projectId],
    queryFn: () =>
      unwrap(api.GET('/api/v1/projects/{project_id}', { params: { path: { project_id: projectId } } })),
  });
  const artifacts = useQuery({
    queryKey: ['artifacts', projectId, query],
    queryFn: () =>
      unwrap(api.GET('/api/v1/artifacts', { params: { query: apiQuery(projectId, query, PAGE) } })),
    placeholderData: keepPreviousData,
  });
  const filterError =
    artifacts.error instanceof ApiError && artifacts.error.status === 422 ? artifacts.error : null;

  return (
    <section>
      {project.isError ? (
        <ErrorBox error={project.error} />
      ) : (
        <>
          <nav className="crumbs">
            <Link to="/">Projects</Link> / <span>{project.data?.name ?? '…'}</span>
          </nav>
          <div className="row">
            <h1>{project.data?.name ?? 'Project'}</h1>
            <Link to={`/projects/${projectId}/members`} data-testid="members-link">
              Members
            </Link>
            {can(role, 'editor') && (
              <Link to={`/projects/${projectId}/upload`} className="button" data-testid="new-artifact">
                New artifact
              </Link>
            )}
          </div>
          {project.data?.description && <p>{project.data.description}</p>}
        </>
      )}
      <div className="toolbar">
        <SearchInput
          value={query.q}
          onChange={(q) => update({ q }, true)}
          label="Search artifacts"
          placeholder="Search names and descriptions"
        />
        <fieldset className="types">
          <legend>Type</legend>
          {ARTIFACT_TYPES.map((t) => (
            <label key={t}>
              <input
                type="checkbox"
                checked={query.types.includes(t)}
                onChange={(e) =>
                  update({
                    types: e.target.checked ? [...query.types, t] : query.types.filter((x) => x !== t),
                  })
                }
              />
              {t}
            </label>
          ))}
        </fieldset>
        <label>
          Sort{' '}
          <select
            value={query.sort}
            onChange={(e) => update({ sort: e.target.value })}
            aria-label="Sort"
          >
            {SORTS.map(([v, label]) => (
              <option key={v} value={v}>
                {label}
              </option>
            ))}
            {!SORTS.some(([v]) => v === query.sort) && <option value={query.sort}>{query.sort}</option>}
          </select>
        </label>
      </div>
      <FilterBox value={query.filter} error={filterError} onApply={(filter) => update({ filter })} />
      {artifacts.isPending && <Loading what="Loading artifacts" />}
      {artifacts.isError && !filterError && <ErrorBox error={artifacts.error} />}
      {artifacts.data && (
        <>
          <table className="grid" data-testid="artifact-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Type</th>
                <th className="num">Versions</th>
                <th>Latest</th>
                <th>Description</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              {artifacts.data.items.map((a) => (
                <tr key={a.id}>
                  <td>
                    <Link to={`/artifacts/${a.id}`}>{a.name}</Link>
                  </td>
                  <td>
                    <span className={`badge type-${a.type}`}>{a.type}</span>
                  </td>
                  <td className="num">{a.version_count}</td>
                  <td>{a.latest_version ?? '—'}</td>
                  <td className="clip" title={a.description}>
                    {summaryLine(a.description)}
                  </td>
                  <td>{formatTime(a.updated_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {artifacts.data.items.length === 0 && <p className="muted">No artifact matches.</p>}
          <div className="pager">
            {query.cursor && (
              <button type="button" onClick={() => update({ cursor: '' })}>
                First page
              </button>
            )}
            {artifacts.data.next_cursor && (
              <button type="button" onClick={() => update({ cursor: artifacts.data.next_cursor ?? '' })}>
                Next page
              </button>
            )}
          </div>
        </>
      )}
    </section>
  );
}

/** The metadata filter, applied on Enter; the server's 422 is shown under it. */
function FilterBox({
  value,
  error,
  onApply,
}: {
  value: string;
  error: ApiError | null;
  onApply: (filter: string) => void;
}) {
  const [text, setText] = useState(value);
  const [seen, setSeen] = useState(value);
  if (value !== seen) {
    setSeen(value);
    setText(value);
  }
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onApply(text.trim());
  };
  return (
    <form className="filter" onSubmit={submit}>
      <input
        type="text"
        aria-label="Metadata filter"
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? 'filter-error' : undefined}
        placeholder='metadata.accuracy >= 0.9 and metadata.tags contains "prod"'
        value={text}
        onChange={(e) => setText(e.target.value)}
      />
      <button type="submit">Filter</button>
      {value && (
        <button type="button" onClick={() => onApply('')}>
          Clear
        </button>
      )}
      {error && (
        <p id="filter-error" className="field-error" role="alert">
          {error.message}
        </p>
      )}
    </form>
  );
}
