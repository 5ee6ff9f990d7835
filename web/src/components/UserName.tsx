import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../api/client';
import { shortId } from '../format';
import { useSession } from '../session';

/** A user's name, looked up once per id and page load. */
export function UserName({ id }: { id: string | null | undefined }) {
  const session = useSession();
  const user = useQuery({
    queryKey: ['user', id],
    queryFn: () => unwrap(api.GET('/api/v1/users/{user_id}', { params: { path: { user_id: id ?? '' } } })),
    enabled: Boolean(id) && id !== session.user.id,
    staleTime: Infinity,
  });
  if (!id) return <span className="muted">the registry</span>;
  if (id === session.user.id) return <span title={id}>{session.user.name}</span>;
  return <span title={id}>{user.data?.name ?? shortId(id)}</span>;
}
