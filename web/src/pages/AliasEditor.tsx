import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api, ApiError, unwrap } from '../api/client';

type Alias = { name: string; version: string; version_id: string };
type Pending = { kind: 'set'; alias: string; version: string; from?: string } | { kind: 'remove'; alias: string; from: string };

/**
 * Adds, moves and removes an artifact's aliases (editors and admins). `latest` belongs to the
 * registry and is not offered. Moving or removing asks first, saying where the alias points.
 */
export function AliasEditor({ artifactId, aliases }: { artifactId: string; aliases: Alias[] }) {
  const client = useQueryClient();
  const [name, setName] = useState('');
  const [version, setVersion] = useState('');
  const [pending, setPending] = useState<Pending | null>(null);
  const recent = useQuery({
    queryKey: ['versions-finalized', artifactId],
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/artifacts/{artifact_id}/versions', {
          params: { path: { artifact_id: artifactId }, query: { finalized: true, limit: 100, sort: '-index' } },
        }),
      ),
  });
  const change = useMutation({
    mutationFn: (p: Pending) => {
      const path = { artifact_id: artifactId, alias: p.alias };
      return p.kind === 'set'
        ? unwrap(api.PUT('/api/v1/artifacts/{artifact_id}/aliases/{alias}', { params: { path }, body: { version: p.version } }))
        : unwrap(api.DELETE('/api/v1/artifacts/{artifact_id}/aliases/{alias}', { params: { path } }));
    },
    onSuccess: () => {
      setPending(null);
      setName('');
      setVersion('');
      for (const key of ['aliases', 'alias-history', 'versions', 'version', 'artifact']) {
        void client.invalidateQueries({ queryKey: [key] });
      }
    },
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const alias = name.trim();
    const target = version.trim();
    if (!alias || !target) return;
    const current = aliases.find((a) => a.name === alias);
    change.reset();
    setPending({ kind: 'set', alias, version: target, from: current?.version });
  };

  return (
    <div className="alias-editor" data-testid="alias-editor">
      {aliases.length > 0 && (
        <ul className="plain" data-testid="aliases">
          {aliases.map((a) => (
            <li key={a.name} className="row">
              <span className="badge alias">{a.name}</span> → <Link to={`/versions/${a.version_id}`}>{a.version}</Link>
              {a.name === 'latest' ? (
                <span className="muted">follows the newest finalized version</span>
              ) : (
                <>
                  <button
                    type="button"
                    onClick={() => {
                      setName(a.name);
                      setVersion('');
                      setPending(null);
                    }}
                  >
                    Move {a.name}
                  </button>
                  <button type="button" onClick={() => setPending({ kind: 'remove', alias: a.name, from: a.version })}>
                    Remove {a.name}
                  </button>
                </>
              )}
            </li>
          ))}
        </ul>
      )}
      <form className="row" onSubmit={submit}>
        <input
          type="text"
          aria-label="Alias name"
          placeholder="alias, e.g. best"
          value={name}
          onChange={(e) => setName(e.target.value)}
          pattern="[A-Za-z0-9][A-Za-z0-9._\-]{0,63}"
          title="Letters, digits, '.', '_' and '-', starting with a letter or digit"
        />
        <input
          type="text"
          aria-label="Version"
          placeholder="version, e.g. v3"
          list={`versions-${artifactId}`}
          value={version}
          onChange={(e) => setVersion(e.target.value)}
        />
        <datalist id={`versions-${artifactId}`}>
          {recent.data?.items.map((v) => (
            <option key={v.id} value={v.version} />
          ))}
        </datalist>
        <button type="submit" disabled={!name.trim() || !version.trim() || name.trim() === 'latest'}>
          Set alias
        </button>
        {name.trim() === 'latest' && <span className="muted">latest follows the newest version by itself</span>}
      </form>
      {pending && (
        <div className="banner" role="alertdialog" aria-label="Confirm the alias change">
          <span data-testid="alias-confirm">
            {pending.kind === 'remove'
              ? `Remove ${pending.alias} from ${pending.from}?`
              : pending.from
                ? `${pending.alias} points at ${pending.from}. Move it to ${pending.version}?`
                : `Set ${pending.alias} on ${pending.version}?`}
          </span>
          <button type="button" className="primary" disabled={change.isPending} onClick={() => change.mutate(pending)}>
            {pending.kind === 'remove' ? 'Remove' : pending.from ? 'Move' : 'Set'}
          </button>
          <button type="button" onClick={() => (setPending(null), change.reset())}>
            Cancel
          </button>
        </div>
      )}
      {change.isError && (
        <p className="field-error" role="alert">
          {change.error instanceof ApiError ? change.error.message : String(change.error)}
        </p>
      )}
    </div>
  );
}
