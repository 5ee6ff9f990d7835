import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../api/client';
import { CopyButton } from '../components/CopyButton';
import { ErrorBox, Loading } from '../components/Status';
import { formatTime } from '../format';
import { useSession } from '../session';

/** The signed-in user's API keys: make one (its secret shown this once), revoke one. */
export function KeysPage() {
  const { user } = useSession();
  const client = useQueryClient();
  const path = { user_id: user.id };
  const [label, setLabel] = useState('');
  const [revoking, setRevoking] = useState<string | null>(null);
  const keys = useQuery({
    queryKey: ['keys', user.id],
    queryFn: () => unwrap(api.GET('/api/v1/users/{user_id}/keys', { params: { path } })),
  });
  const create = useMutation({
    mutationFn: (label: string) => unwrap(api.POST('/api/v1/users/{user_id}/keys', { params: { path }, body: { label } })),
    onSuccess: () => {
      setLabel('');
      void client.invalidateQueries({ queryKey: ['keys', user.id] });
    },
  });
  const revoke = useMutation({
    mutationFn: (keyId: string) =>
      unwrap(api.DELETE('/api/v1/users/{user_id}/keys/{key_id}', { params: { path: { user_id: user.id, key_id: keyId } } })),
    onSuccess: () => {
      setRevoking(null);
      void client.invalidateQueries({ queryKey: ['keys', user.id] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(label.trim());
  };
  return (
    <section>
      <h1>API keys of {user.name}</h1>
      <p className="muted">
        Keys sign in the command line (<code>wanllmdb login</code>), the Python package (<code>WANLLMDB_API_KEY</code>)
        and scripts. The registry keeps only a hash: a key&apos;s secret is shown once, when it is made.
      </p>
      <form className="row" onSubmit={submit}>
        <input
          type="text"
          aria-label="Key label"
          placeholder="what it is for, e.g. laptop"
          maxLength={128}
          value={label}
          onChange={(e) => setLabel(e.target.value)}
        />
        <button type="submit" className="primary" disabled={create.isPending}>
          Create a key
        </button>
      </form>
      {create.isError && <ErrorBox error={create.error} />}
      {create.data && (
        <div className="banner" role="status" data-testid="new-key">
          <span>
            New key <strong>{create.data.key.label || create.data.key.prefix}</strong>: copy it now, it is not shown again.
          </span>
          <code data-testid="new-key-secret">{create.data.secret}</code>
          <CopyButton text={create.data.secret} label="Copy key" />
          <button type="button" onClick={() => create.reset()}>
            Done
          </button>
        </div>
      )}
      {keys.isPending && <Loading what="Loading keys" />}
      {keys.isError && <ErrorBox error={keys.error} />}
      {keys.data && (
        <table className="grid" data-testid="keys">
          <thead>
            <tr>
              <th>Label</th>
              <th>Starts with</th>
              <th>Created</th>
              <th>Status</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {keys.data.map((k) => (
              <tr key={k.id} data-key={k.prefix}>
                <td>{k.label || <span className="muted">no label</span>}</td>
                <td className="mono">{k.prefix}…</td>
                <td>{formatTime(k.created_at)}</td>
                <td>{k.revoked_at ? `revoked ${formatTime(k.revoked_at)}` : 'active'}</td>
                <td>
                  {!k.revoked_at &&
                    (revoking === k.id ? (
                      <span className="row">
                        Revoke {k.label || k.prefix}? Anything using it stops working.
                        <button type="button" className="primary" onClick={() => revoke.mutate(k.id)} disabled={revoke.isPending}>
                          Revoke
                        </button>
                        <button type="button" onClick={() => setRevoking(null)}>
                          Cancel
                        </button>
                      </span>
                    ) : (
                      <button type="button" onClick={() => setRevoking(k.id)}>
                        Revoke…
                      </button>
                    ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {revoke.isError && <ErrorBox error={revoke.error} />}
    </section>
  );
}
