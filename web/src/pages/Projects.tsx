import { Link } from 'react-router';
import { api, unwrap } from '../api/client';
import { usePaged } from '../api/paged';
import { ErrorBox, Loading } from '../components/Status';
import { formatTime } from '../format';

export function ProjectsPage() {
  const projects = usePaged(['projects'], (cursor) =>
    unwrap(
      api.GET('/api/v1/projects', {
        params: { query: { limit: 100, ...(cursor ? { cursor } : {}) } },
      }),
    ),
  );
  const items = projects.items;
  return (
    <section>
      <h1>Projects</h1>
      {projects.isPending && <Loading />}
      {projects.isError && <ErrorBox error={projects.error} />}
      {projects.isSuccess && items.length === 0 && (
        <p className="muted">
          No projects yet. Create one with <code>wanllmdb project create NAME</code> or{' '}
          <code>wanllmdb.init(project=&quot;NAME&quot;)</code> in Python.
        </p>
      )}
      {items.length > 0 && (
        <table className="grid">
          <thead>
            <tr>
              <th>Name</th>
              <th>Description</th>
              <th className="num">Artifacts</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {items.map((p) => (
              <tr key={p.id}>
                <td>
                  <Link to={`/projects/${p.id}`}>{p.name}</Link>
                </td>
                <td>{p.description}</td>
                <td className="num" data-testid={`artifact-count-${p.name}`}>
                  {p.artifact_count ?? 0}
                </td>
                <td>{formatTime(p.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {projects.hasNextPage && (
        <button type="button" onClick={projects.more} disabled={projects.isFetchingNextPage}>
          More projects
        </button>
      )}
    </section>
  );
}
