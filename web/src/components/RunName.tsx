import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../api/client';
import { shortId } from '../format';

/** A run's name, looked up once per id and page load. */
export function RunName({ id }: { id: string | null | undefined }) {
  const run = useQuery({
    queryKey: ['run', id],
    queryFn: () => unwrap(api.GET('/api/v1/runs/{run_id}', { params: { path: { run_id: id ?? '' } } })),
    enabled: Boolean(id),
    staleTime: Infinity,
  });
  if (!id) return <span className="muted">—</span>;
  return <span title={id}>{run.data?.name ?? shortId(id)}</span>;
}
