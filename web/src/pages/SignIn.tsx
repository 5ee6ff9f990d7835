import { useState, type FormEvent } from 'react';
import { Navigate, useNavigate, useSearchParams } from 'react-router';
import { ErrorBox } from '../components/Status';
import { useSignIn } from '../session';

/** Where to go after signing in: only a path inside the app, never another origin. */
export function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/';
}

/** The sign-in page's address once signed in: on to where the user was going. */
export function AfterSignIn() {
  const [params] = useSearchParams();
  return <Navigate to={safeNext(params.get('next'))} replace />;
}

/** Paste an API key once; the server answers with an HttpOnly session cookie. */
export function SignInPage() {
  const [key, setKey] = useState('');
  const signIn = useSignIn();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const next = params.get('next');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    signIn.mutate(key.trim(), {
      onSuccess: () => {
        void navigate(safeNext(next), { replace: true });
      },
    });
  };
  return (
    <main className="signin">
      <h1>wanllmdb</h1>
      <form onSubmit={submit}>
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          type="password"
          autoComplete="off"
          placeholder="wlm_…"
          value={key}
          onChange={(e) => setKey(e.target.value)}
          required
        />
        <button type="submit" disabled={signIn.isPending || !key.trim()}>
          Sign in
        </button>
        {signIn.isError && <ErrorBox error={signIn.error} />}
        <p className="muted">
          The key is exchanged for a session cookie and is not kept in the browser. The first start
          of the server prints the administrator&apos;s key; <code>wanllmdb-server admin create-key</code>{' '}
          makes more.
        </p>
      </form>
    </main>
  );
}
