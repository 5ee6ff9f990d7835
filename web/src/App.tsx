import { lazy, Suspense } from 'react';
import { Link, Navigate, Route, Routes, useLocation } from 'react-router';
import { Loading, ErrorBox } from './components/Status';
import { SessionProvider, useCurrentSession, useSignOut } from './session';
import { AfterSignIn, SignInPage } from './pages/SignIn';
import { ProjectsPage } from './pages/Projects';
import { ProjectPage } from './pages/Project';
import { KeysPage } from './pages/Keys';
import { MembersPage } from './pages/Members';
import { ComparePage } from './pages/Compare';
import ArtifactPage from './pages/Artifact';
import VersionPage from './pages/Version';

// The upload page (its engine and workers) is only for editors who make versions: on demand.
const UploadPage = lazy(() => import('./pages/Upload').then((m) => ({ default: m.UploadPage })));

// The pages are in the first bundle (about 160 KB gzipped in all): a lazy page would make a
// direct visit wait for React's reveal throttle (300 ms). The heavy parts load on demand: the
// highlighter and its grammars, the model inspector.

export function App() {
  const session = useCurrentSession();
  const location = useLocation();
  if (session.isPending) return <Loading what="Connecting" />;
  if (session.isError) return <ErrorBox error={session.error} />;
  if (!session.data) {
    if (location.pathname === '/signin') return <SignInPage />;
    const next = location.pathname + location.search;
    return <Navigate to={`/signin?next=${encodeURIComponent(next)}`} replace />;
  }
  return (
    <SessionProvider session={session.data}>
      <Header name={session.data.user.name} />
      <main>
        <Suspense fallback={<Loading />}>
          <Routes>
            <Route path="/" element={<ProjectsPage />} />
            <Route path="/signin" element={<AfterSignIn />} />
            <Route path="/projects/:projectId" element={<ProjectPage />} />
            <Route path="/keys" element={<KeysPage />} />
            <Route path="/artifacts/:artifactId" element={<ArtifactPage />} />
            <Route path="/artifacts/:artifactId/compare" element={<ComparePage />} />
            <Route path="/artifacts/:artifactId/upload" element={<UploadPage />} />
            <Route path="/projects/:projectId/upload" element={<UploadPage />} />
            <Route path="/projects/:projectId/members" element={<MembersPage />} />
            <Route path="/versions/:versionId" element={<VersionPage />} />
            <Route path="/versions/:versionId/:tab" element={<VersionPage />} />
            <Route path="*" element={<NotFound />} />
          </Routes>
        </Suspense>
      </main>
    </SessionProvider>
  );
}

function Header({ name }: { name: string }) {
  const signOut = useSignOut();
  return (
    <header className="topbar">
      <Link to="/" className="brand">
        wanllmdb
      </Link>
      <nav>
        <Link to="/">Projects</Link>
      </nav>
      <span className="spacer" />
      <Link to="/keys" className="user" data-testid="user-name" title="Your API keys">
        {name}
      </Link>
      <button type="button" onClick={() => signOut.mutate()} disabled={signOut.isPending}>
        Sign out
      </button>
    </header>
  );
}

function NotFound() {
  return (
    <section>
      <h1 data-testid="not-found">Not found</h1>
      <p>
        No page here. <Link to="/">Back to the projects</Link>.
      </p>
    </section>
  );
}
