import type { ArtifactType } from '../api/client';

export const ARTIFACT_TYPES: ArtifactType[] = ['model', 'dataset', 'file', 'code'];

/** What the project page shows, as kept in its URL. */
export interface ArtifactQuery {
  q: string;
  types: ArtifactType[];
  filter: string;
  sort: string;
  cursor: string;
}

export const DEFAULT_SORT = '-updated_at';

export function readQuery(params: URLSearchParams): ArtifactQuery {
  const types = params
    .getAll('type')
    .flatMap((t) => t.split(','))
    .filter((t): t is ArtifactType => (ARTIFACT_TYPES as string[]).includes(t));
  return {
    q: params.get('q') ?? '',
    types: [...new Set(types)],
    filter: params.get('filter') ?? '',
    sort: params.get('sort') || DEFAULT_SORT,
    cursor: params.get('cursor') ?? '',
  };
}

/** The URL parameters for `query`; empty values and the default sort are left out. */
export function writeQuery(query: ArtifactQuery): URLSearchParams {
  const params = new URLSearchParams();
  if (query.q) params.set('q', query.q);
  for (const t of query.types) params.append('type', t);
  if (query.filter) params.set('filter', query.filter);
  if (query.sort && query.sort !== DEFAULT_SORT) params.set('sort', query.sort);
  if (query.cursor) params.set('cursor', query.cursor);
  return params;
}

/** The API's query for `list_artifacts`. */
export function apiQuery(projectId: string, query: ArtifactQuery, limit: number) {
  return {
    project_id: projectId,
    limit,
    sort: query.sort,
    ...(query.q ? { q: query.q } : {}),
    ...(query.types.length ? { type: query.types } : {}),
    ...(query.filter ? { filter: query.filter } : {}),
    ...(query.cursor ? { cursor: query.cursor } : {}),
  };
}
