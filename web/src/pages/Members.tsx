import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { api, ApiError, unwrap, type Schemas } from '../api/client';
import { ErrorBox, Loading } from '../components/Status';
import { UserName } from '../components/UserName';
import { formatTime } from '../format';
import { can, useProjectRole, useSession, type Role } from '../session';

const ROLES: Role[] = ['viewer', 'editor', 'admin'];
const WHAT: Record<Role, string> = {
  viewer: 'reads artifacts, downloads, previews',
  editor: 'also uploads versions, edits, moves aliases, deletes',
  admin: 'also manages members and deletes the project',
};

/** A project's members and roles; admins add people by name, change roles and remove them. */
export function MembersPage() {
  const { projectId = '' } = useParams();
  const client = useQueryClient();
  const session = useSession();
  const role = useProjectRole(projectId);
  const admin = can(role, 'admin');
  const project = useQuery({
    queryKey: ['project', projectId],
    queryFn: () => unwrap(api.GET('/api/v1/projects/{project_id}', { params: { path: { project_id: projectId } } })),
  });
  const members = useQuery({
    queryKey: ['members', projectId],
    queryFn: () =>
      unwrap(api.GET('/api/v1/projects/{project_id}/members', { params: { path: { project_id: projectId } } })),
  });
  const refresh = () => client.invalidateQueries({ queryKey: ['members', projectId] });
  const setRole = useMutation({
    mutationFn: ({ userId, role: next }: { userId: string; role: Role }) =>
      unwrap(
        api.PUT('/api/v1/projects/{project_id}/members/{user_id}', {
          params: { path: { project_id: projectId, user_id: userId } },
          body: { role: next },
        }),
      ),
    onSettled: refresh,
  });
  const remove = useMutation({
    mutationFn: (userId: string) =>
      unwrap(
        api.DELETE('/api/v1/projects/{project_id}/members/{user_id}', {
          params: { path: { project_id: projectId, user_id: userId } },
        }),
      ),
    onSettled: refresh,
  });
  const [confirming, setConfirming] = useState<string | null>(null);
  const error = setRole.error ?? remove.error;

  if (project.isError) return <ErrorBox error={project.error} />;
  return (
    <section>
      <nav className="crumbs">
        <Link to="/">Projects</Link> / <Link to={`/projects/${projectId}`}>{project.data?.name ?? '…'}</Link> /{' '}
        <span>members</span>
      </nav>
      <h1>Members</h1>
      <p className="muted">
        {ROLES.map((r) => (
          <span key={r}>
            <strong>{r}</strong>: {WHAT[r]}.{' '}
          </span>
        ))}
        Registry administrators act as admins everywhere.
      </p>
      {admin && <AddMember projectId={projectId} existing={(members.data ?? []).map((m) => m.user_id)} onAdded={refresh} />}
      {error && (
        <p className="error" role="alert" data-testid="members-error">
          {error.message}
        </p>
      )}
      {members.isPending && <Loading what="Loading members" />}
      {members.isError && <ErrorBox error={members.error} />}
      {members.data && (
        <table className="grid" data-testid="members">
          <thead>
            <tr>
              <th>User</th>
              <th>Role</th>
              <th>Since</th>
              {admin && <th />}
            </tr>
          </thead>
          <tbody>
            {members.data.map((m: Schemas['MembershipDto']) => (
              <tr key={m.user_id} data-testid="member">
                <td>
                  <UserName id={m.user_id} />
                  {m.user_id === session.user.id && <span className="muted"> (you)</span>}
                </td>
                <td>
                  {admin ? (
                    <select
                      value={m.role}
                      aria-label="Role"
                      disabled={setRole.isPending}
                      onChange={(e) => setRole.mutate({ userId: m.user_id, role: e.target.value as Role })}
                    >
                      {ROLES.map((r) => (
                        <option key={r}>{r}</option>
                      ))}
                    </select>
                  ) : (
                    <span className="badge">{m.role}</span>
                  )}
                </td>
                <td>{formatTime(m.created_at)}</td>
                {admin && (
                  <td>
                    {confirming === m.user_id ? (
                      <span className="row">
                        <span>Remove from the project?</span>
                        <button
                          type="button"
                          className="danger"
                          onClick={() => {
                            setConfirming(null);
                            remove.mutate(m.user_id);
                          }}
                        >
                          Remove
                        </button>
                        <button type="button" onClick={() => setConfirming(null)}>
                          Keep
                        </button>
                      </span>
                    ) : (
                      <button type="button" onClick={() => setConfirming(m.user_id)}>
                        Remove…
                      </button>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function AddMember({ projectId, existing, onAdded }: { projectId: string; existing: string[]; onAdded: () => unknown }) {
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const add = useMutation({
    mutationFn: async () => {
      let user: Schemas['UserDto'];
      try {
        user = await unwrap(api.GET('/api/v1/users', { params: { query: { name: name.trim() } } }));
      } catch (e) {
        if (e instanceof ApiError && (e.status === 404 || e.status === 422)) throw new Error(`No user is called “${name.trim()}”.`);
        throw e;
      }
      if (existing.includes(user.id)) throw new Error(`${user.name} is already a member: change their role below.`);
      await unwrap(
        api.PUT('/api/v1/projects/{project_id}/members/{user_id}', {
          params: { path: { project_id: projectId, user_id: user.id } },
          body: { role },
        }),
      );
    },
    onSuccess: () => {
      setName('');
      return onAdded();
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (name.trim()) add.mutate();
  };
  return (
    <form className="toolbar" onSubmit={submit} data-testid="add-member">
      <input type="text" value={name} onChange={(e) => setName(e.target.value)} placeholder="User name" aria-label="User name" />
      <select value={role} onChange={(e) => setRole(e.target.value as Role)} aria-label="New member's role">
        {ROLES.map((r) => (
          <option key={r}>{r}</option>
        ))}
      </select>
      <button type="submit" className="primary" disabled={add.isPending || !name.trim()}>
        Add member
      </button>
      {add.error && (
        <span className="error" role="alert">
          {add.error.message}
        </span>
      )}
    </form>
  );
}
