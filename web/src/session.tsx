import { createContext, useContext, type ReactNode } from 'react';
import { useQuery, useQueryClient, useMutation } from '@tanstack/react-query';
import { api, ApiError, setCsrfToken, unwrap, type Session } from './api/client';

const SessionContext = createContext<Session | null>(null);

/** The signed-in user's session (inside `RequireSession`). */
export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in page');
  return session;
}

/** The current browser session, `null` when signed out. */
export function useCurrentSession() {
  return useQuery({
    queryKey: ['session'],
    queryFn: async () => {
      try {
        const s = await unwrap(api.GET('/api/v1/session'));
        setCsrfToken(s.csrf_token);
        return s;
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) {
          setCsrfToken(null);
          return null;
        }
        throw e;
      }
    },
    staleTime: 60_000,
    retry: false,
  });
}

export function useSignIn() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (apiKey: string) =>
      unwrap(api.POST('/api/v1/session', { body: { api_key: apiKey } })),
    onSuccess: (session) => {
      setCsrfToken(session.csrf_token);
      client.setQueryData(['session'], session);
    },
  });
}

export function useSignOut() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.DELETE('/api/v1/session')),
    onSettled: () => {
      setCsrfToken(null);
      // The session query's observer must see the change (clearing the cache first would leave
      // it on a removed query); then nothing of the signed-in user stays cached.
      client.setQueryData(['session'], null);
      client.removeQueries({ predicate: (q) => q.queryKey[0] !== 'session' });
    },
  });
}

export function SessionProvider({ session, children }: { session: Session; children: ReactNode }) {
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}

export type Role = 'viewer' | 'editor' | 'admin';
const RANK: Record<Role, number> = { viewer: 0, editor: 1, admin: 2 };

/**
 * The signed-in user's role in a project (registry administrators are admins everywhere), to
 * hide what the user may not do; the server checks every change itself.
 */
export function useProjectRole(projectId: string | undefined): Role | null {
  const session = useSession();
  const members = useQuery({
    queryKey: ['members', projectId],
    queryFn: () =>
      unwrap(api.GET('/api/v1/projects/{project_id}/members', { params: { path: { project_id: projectId ?? '' } } })),
    enabled: Boolean(projectId) && !session.user.is_admin,
    staleTime: 60_000,
  });
  if (session.user.is_admin) return 'admin';
  return members.data?.find((m) => m.user_id === session.user.id)?.role ?? null;
}

/** Whether `role` is at least `needed`. */
export function can(role: Role | null, needed: Role): boolean {
  return role !== null && RANK[role] >= RANK[needed];
}
