// The lineage answer as a drawable graph: runs and versions as nodes, "produced" (run ->
// version) and "used" (version -> run) as edges, left to right. More than CLUSTER_ABOVE
// neighbours of one node, of one kind, on one side, that connect to nothing else, fold into a
// cluster node (searchable in the side panel); `expanded` names members shown on their own.
import dagre from '@dagrejs/dagre';
import type { Schemas } from '../api/client';

export const CLUSTER_ABOVE = 5;
export const NODE_W = 190;
export const NODE_H = 46;

export type NodeKind = 'run' | 'version' | 'cluster';

export interface GraphNode {
  id: string;
  kind: NodeKind;
  label: string;
  detail: string;
  root: boolean;
  /** A cluster's members (node ids). */
  members: string[];
  memberKind?: 'run' | 'version';
  x: number;
  y: number;
}

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  kind: 'produced' | 'used';
}

export interface Graph {
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Every run and version by id, clustered or not (for the side panel). */
  all: Map<string, GraphNode>;
}

type Lineage = Schemas['LineageDto'];

export function versionLabel(v: Schemas['VersionDto'], names: Map<string, string>): string {
  return `${names.get(v.artifact_id) ?? '…'}:${v.version}`;
}

export function buildGraph(lineage: Lineage, names: Map<string, string>, expanded: Set<string>): Graph {
  const all = new Map<string, GraphNode>();
  const base = { members: [], x: 0, y: 0 };
  for (const v of lineage.versions) {
    all.set(v.id, {
      ...base,
      id: v.id,
      kind: 'version',
      label: versionLabel(v, names),
      detail: v.aliases.length ? v.aliases.join(', ') : v.is_finalized ? '' : 'draft',
      root: v.id === lineage.root,
    });
  }
  for (const r of lineage.runs) {
    all.set(r.id, { ...base, id: r.id, kind: 'run', label: r.name, detail: 'run', root: false });
  }
  const edges: GraphEdge[] = [];
  for (const e of lineage.edges) {
    if (!all.has(e.run) || !all.has(e.version)) continue;
    const [source, target] = e.kind === 'produced' ? [e.run, e.version] : [e.version, e.run];
    edges.push({ id: `${source}>${target}`, source, target, kind: e.kind });
  }
  const degree = new Map<string, number>();
  for (const e of edges) {
    degree.set(e.source, (degree.get(e.source) ?? 0) + 1);
    degree.set(e.target, (degree.get(e.target) ?? 0) + 1);
  }
  // Leaves hanging off one anchor, grouped by anchor, side and kind.
  const groups = new Map<string, { anchor: string; side: 'out' | 'in'; ids: string[] }>();
  for (const e of edges) {
    for (const [leaf, anchor, side] of [
      [e.target, e.source, 'out'],
      [e.source, e.target, 'in'],
    ] as const) {
      const node = all.get(leaf);
      if (!node || node.root || degree.get(leaf) !== 1 || expanded.has(leaf)) continue;
      const key = `${anchor}|${side}|${node.kind}`;
      const g = groups.get(key) ?? { anchor, side, ids: [] };
      g.ids.push(leaf);
      groups.set(key, g);
    }
  }
  const folded = new Map<string, string>();
  const clusters: GraphNode[] = [];
  for (const [key, g] of groups) {
    if (g.ids.length <= CLUSTER_ABOVE) continue;
    const memberKind = all.get(g.ids[0] as string)?.kind as 'run' | 'version';
    const id = `cluster:${key}`;
    for (const m of g.ids) folded.set(m, id);
    clusters.push({
      ...base,
      id,
      kind: 'cluster',
      label: `${g.ids.length.toLocaleString()} ${memberKind === 'run' ? 'runs' : 'versions'}`,
      detail: 'click to search',
      root: false,
      members: g.ids,
      memberKind,
    });
  }
  const shown = [...all.values()].filter((n) => !folded.has(n.id)).concat(clusters);
  const seen = new Set<string>();
  const drawn: GraphEdge[] = [];
  for (const e of edges) {
    const source = folded.get(e.source) ?? e.source;
    const target = folded.get(e.target) ?? e.target;
    const id = `${source}>${target}`;
    if (seen.has(id)) continue;
    seen.add(id);
    drawn.push({ ...e, id, source, target });
  }
  layout(shown, drawn);
  return { nodes: shown, edges: drawn, all };
}

function layout(nodes: GraphNode[], edges: GraphEdge[]): void {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 18, ranksep: 70, marginx: 10, marginy: 10 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes) g.setNode(n.id, { width: NODE_W, height: NODE_H });
  for (const e of edges) g.setEdge(e.source, e.target);
  dagre.layout(g);
  for (const n of nodes) {
    const p = g.node(n.id);
    n.x = p.x - NODE_W / 2;
    n.y = p.y - NODE_H / 2;
  }
}
