import { describe, expect, it } from 'vitest';
import type { Schemas } from '../api/client';
import { buildGraph } from './graph';

const version = (id: string, artifact: string, index: number, aliases: string[] = []) =>
  ({ id, artifact_id: artifact, version: `v${index}`, aliases, is_finalized: true }) as unknown as Schemas['VersionDto'];
const run = (id: string) => ({ id, name: `run-${id}` }) as unknown as Schemas['RunDto'];

// data:v0 -> train -> model:v0 (root) -> eval-1..eval-7 (each a leaf) ; train also used code:v0
function lineage(): Schemas['LineageDto'] {
  const evals = Array.from({ length: 7 }, (_, i) => `e${i}`);
  return {
    root: 'm0',
    truncated: false,
    versions: [version('d0', 'data', 0), version('c0', 'code', 0), version('m0', 'model', 0, ['latest'])],
    runs: [run('train'), ...evals.map(run)],
    edges: [
      { run: 'train', version: 'd0', kind: 'used' },
      { run: 'train', version: 'c0', kind: 'used' },
      { run: 'train', version: 'm0', kind: 'produced' },
      ...evals.map((e) => ({ run: e, version: 'm0', kind: 'used' as const })),
    ],
  };
}

const names = new Map([
  ['data', 'mnist'],
  ['code', 'train-code'],
  ['model', 'cnn'],
]);

describe('the lineage graph', () => {
  it('draws runs and versions with edges in the direction bytes flow, laid out left to right', () => {
    const g = buildGraph(lineage(), names, new Set());
    const byId = new Map(g.nodes.map((n) => [n.id, n]));
    expect(byId.get('m0')?.label).toBe('cnn:v0');
    expect(byId.get('m0')?.root).toBe(true);
    expect(byId.get('train')?.kind).toBe('run');
    expect(g.edges.map((e) => e.id)).toEqual(expect.arrayContaining(['d0>train', 'train>m0']));
    const x = (id: string) => byId.get(id)?.x ?? NaN;
    expect(x('d0')).toBeLessThan(x('train'));
    expect(x('train')).toBeLessThan(x('m0'));
  });

  it('folds more than five leaf siblings into one cluster, and shows an expanded member alone', () => {
    const g = buildGraph(lineage(), names, new Set());
    const cluster = g.nodes.find((n) => n.kind === 'cluster');
    expect(cluster?.label).toBe('7 runs');
    expect(cluster?.members).toHaveLength(7);
    expect(g.nodes.some((n) => n.id === 'e0')).toBe(false);
    expect(g.edges.filter((e) => e.target === cluster?.id)).toHaveLength(1);
    // Two inputs of train stay as they are (not over five).
    expect(g.nodes.some((n) => n.id === 'd0')).toBe(true);
    const one = buildGraph(lineage(), names, new Set(['e3']));
    expect(one.nodes.find((n) => n.kind === 'cluster')?.label).toBe('6 runs');
    expect(one.nodes.some((n) => n.id === 'e3')).toBe(true);
    expect(one.all.size).toBe(11);
    // Five left is not over the limit: no cluster at all.
    const two = buildGraph(lineage(), names, new Set(['e3', 'e4']));
    expect(two.nodes.some((n) => n.kind === 'cluster')).toBe(false);
    expect(two.nodes).toHaveLength(11);
  });
});
