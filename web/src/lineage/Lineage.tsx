import { useMemo, useState } from 'react';
import { useQueries, useQuery } from '@tanstack/react-query';
import { Background, Controls, Handle, Position, ReactFlow, type Edge, type Node, type NodeProps } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { Link, useSearchParams } from 'react-router';
import { api, unwrap, type Schemas, type Version } from '../api/client';
import { JsonTree } from '../components/JsonTree';
import { ErrorBox, Loading } from '../components/Status';
import { UserName } from '../components/UserName';
import { formatBytes, formatTime } from '../format';
import { buildGraph, versionLabel, type GraphNode } from './graph';

const DEPTHS = [1, 2, 3, 4, 5, 7, 10];

type Drawn = Node<{ g: GraphNode }>;

function LineageNode({ data, selected }: NodeProps<Drawn>) {
  const n = data.g;
  return (
    <div
      className={`lnode lnode-${n.kind}${n.root ? ' root' : ''}${selected ? ' picked' : ''}`}
      data-testid="lineage-node"
      data-kind={n.kind}
      title={n.label}
    >
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <span className="lnode-label">{n.label}</span>
      {n.detail && <span className="lnode-detail">{n.detail}</span>}
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </div>
  );
}

const NODE_TYPES = { lineage: LineageNode };

/** The lineage tab: the graph around a version, to a depth the user picks (in the URL). */
export default function LineageGraph({ version }: { version: Version }) {
  const [params, setParams] = useSearchParams();
  const depth = Number(params.get('depth')) || 2;
  const [expanded, setExpanded] = useState<Set<string>>(() => new Set());
  const [picked, setPicked] = useState<string | null>(null);
  const lineage = useQuery({
    queryKey: ['lineage', version.id, depth],
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/artifacts/versions/{version_id}/lineage', {
          params: { path: { version_id: version.id }, query: { depth } },
        }),
      ),
  });
  const artifactIds = useMemo(
    () => [...new Set((lineage.data?.versions ?? []).map((v) => v.artifact_id))],
    [lineage.data],
  );
  const artifacts = useQueries({
    queries: artifactIds.map((id) => ({
      queryKey: ['artifact', id],
      queryFn: () => unwrap(api.GET('/api/v1/artifacts/{artifact_id}', { params: { path: { artifact_id: id } } })),
      staleTime: 60_000,
    })),
  });
  const names = new Map<string, string>();
  for (const a of artifacts) if (a.data) names.set(a.data.id, a.data.name);
  const namesKey = [...names.values()].join('\n');
  const graph = useMemo(
    () => (lineage.data ? buildGraph(lineage.data, names, expanded) : null),
    // `names` is rebuilt each render; its content is `namesKey`.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [lineage.data, namesKey, expanded],
  );
  const nodes: Drawn[] = useMemo(
    () =>
      (graph?.nodes ?? []).map((g) => ({
        id: g.id,
        type: 'lineage',
        position: { x: g.x, y: g.y },
        data: { g },
        selected: g.id === picked,
        draggable: false,
      })),
    [graph, picked],
  );
  const edges: Edge[] = useMemo(
    () =>
      (graph?.edges ?? []).map((e) => ({
        id: e.id,
        source: e.source,
        target: e.target,
        className: `ledge-${e.kind}`,
        animated: false,
      })),
    [graph],
  );

  if (lineage.isPending) return <Loading what="Loading lineage" />;
  if (lineage.isError) return <ErrorBox error={lineage.error} />;
  const data = lineage.data;
  const pickedNode = picked ? (graph?.all.get(picked) ?? graph?.nodes.find((n) => n.id === picked) ?? null) : null;
  return (
    <div className="lineage">
      <div className="toolbar">
        <label>
          Depth{' '}
          <select
            value={depth}
            aria-label="Depth"
            data-testid="lineage-depth"
            onChange={(e) => {
              setPicked(null);
              setParams({ depth: e.target.value }, { replace: true });
            }}
          >
            {DEPTHS.map((d) => (
              <option key={d} value={d}>
                {d} hop{d === 1 ? '' : 's'}
              </option>
            ))}
          </select>
        </label>
        <span className="muted" data-testid="lineage-summary">
          {data.runs.length.toLocaleString()} run{data.runs.length === 1 ? '' : 's'}, {data.versions.length.toLocaleString()}{' '}
          version{data.versions.length === 1 ? '' : 's'}
        </span>
        <span className="legend">
          <span className="lnode-swatch lnode-version" /> version <span className="lnode-swatch lnode-run" /> run{' '}
          <span className="lnode-swatch lnode-cluster" /> folded
        </span>
        {data.truncated && (
          <span className="error" data-testid="lineage-truncated">
            The graph is cut at the server&apos;s node limit: pick a smaller depth.
          </span>
        )}
      </div>
      {data.edges.length === 0 ? (
        <p className="muted" data-testid="lineage-empty">
          No run produced or used this version yet. Log it from a run (<code>wandb.init()</code> then{' '}
          <code>log_artifact</code>, or <code>wanllmdb artifact put --run</code>) to see where it came from and where it went.
        </p>
      ) : (
        <div className="lineage-body">
          <div className="lineage-canvas" data-testid="lineage-graph">
            <ReactFlow
              // A new graph (depth, a member shown) is fitted to the view again.
              key={graph?.nodes.length}
              fitViewOptions={{ padding: 0.15, maxZoom: 1.2 }}
              nodes={nodes}
              edges={edges}
              nodeTypes={NODE_TYPES}
              fitView
              minZoom={0.02}
              nodesConnectable={false}
              onNodeClick={(_, n) => setPicked(n.id)}
              onPaneClick={() => setPicked(null)}
              proOptions={{ hideAttribution: true }}
            >
              <Background />
              <Controls showInteractive={false} />
            </ReactFlow>
          </div>
          {pickedNode && (
            <Panel
              node={pickedNode}
              lineage={data}
              names={names}
              all={graph?.all ?? new Map()}
              onClose={() => setPicked(null)}
              onShow={(id) => {
                setExpanded((old) => new Set([...old, id]));
                setPicked(id);
              }}
            />
          )}
        </div>
      )}
    </div>
  );
}

function Panel({
  node,
  lineage,
  names,
  all,
  onClose,
  onShow,
}: {
  node: GraphNode;
  lineage: Schemas['LineageDto'];
  names: Map<string, string>;
  all: Map<string, GraphNode>;
  onClose: () => void;
  onShow: (id: string) => void;
}) {
  return (
    <aside className="lineage-panel" data-testid="lineage-panel" aria-label="Details">
      <div className="row">
        <strong>{node.label}</strong>
        <span className="spacer" />
        <button type="button" onClick={onClose} aria-label="Close">
          ×
        </button>
      </div>
      {node.kind === 'version' && <VersionDetails v={lineage.versions.find((v) => v.id === node.id)} names={names} />}
      {node.kind === 'run' && <RunDetails r={lineage.runs.find((r) => r.id === node.id)} lineage={lineage} names={names} />}
      {node.kind === 'cluster' && <ClusterDetails node={node} all={all} onShow={onShow} />}
    </aside>
  );
}

function VersionDetails({ v, names }: { v: Version | undefined; names: Map<string, string> }) {
  if (!v) return null;
  return (
    <>
      <dl className="facts">
        <dt>Artifact</dt>
        <dd>
          <Link to={`/artifacts/${v.artifact_id}`}>{names.get(v.artifact_id) ?? v.artifact_id}</Link>
        </dd>
        <dt>Aliases</dt>
        <dd>{v.aliases.length ? v.aliases.join(', ') : '—'}</dd>
        <dt>Size</dt>
        <dd>
          {formatBytes(v.total_size)} in {v.file_count.toLocaleString()} file{v.file_count === 1 ? '' : 's'}
        </dd>
        <dt>Created</dt>
        <dd>
          {formatTime(v.created_at)} by <UserName id={v.created_by} />
        </dd>
        <dt>State</dt>
        <dd>{v.is_finalized ? `finalized ${formatTime(v.finalized_at)}` : 'draft'}</dd>
      </dl>
      <Link to={`/versions/${v.id}`} data-testid="lineage-open">
        Open {versionLabel(v, names)}
      </Link>
      {' · '}
      <Link to={`/versions/${v.id}/lineage`}>Its lineage</Link>
    </>
  );
}

function RunDetails({
  r,
  lineage,
  names,
}: {
  r: Schemas['RunDto'] | undefined;
  lineage: Schemas['LineageDto'];
  names: Map<string, string>;
}) {
  if (!r) return null;
  const versions = new Map(lineage.versions.map((v) => [v.id, v]));
  const linked = (kind: 'used' | 'produced') =>
    lineage.edges
      .filter((e) => e.run === r.id && e.kind === kind)
      .map((e) => versions.get(e.version))
      .filter((v): v is Version => Boolean(v));
  const list = (vs: Version[]) =>
    vs.length ? (
      vs.map((v, i) => (
        <span key={v.id}>
          {i > 0 && ', '}
          <Link to={`/versions/${v.id}`}>{versionLabel(v, names)}</Link>
        </span>
      ))
    ) : (
      <>—</>
    );
  return (
    <>
      <dl className="facts">
        <dt>Run</dt>
        <dd className="mono">{r.id}</dd>
        <dt>Started</dt>
        <dd>
          {formatTime(r.created_at)} by <UserName id={r.created_by} />
        </dd>
        <dt>Used</dt>
        <dd data-testid="run-used">{list(linked('used'))}</dd>
        <dt>Produced</dt>
        <dd data-testid="run-produced">{list(linked('produced'))}</dd>
      </dl>
      {Object.keys(r.metadata).length > 0 && (
        <>
          <h3>Config</h3>
          <JsonTree value={r.metadata} />
        </>
      )}
    </>
  );
}

function ClusterDetails({
  node,
  all,
  onShow,
}: {
  node: GraphNode;
  all: Map<string, GraphNode>;
  onShow: (id: string) => void;
}) {
  const [q, setQ] = useState('');
  const members = node.members
    .map((id) => all.get(id))
    .filter((m): m is GraphNode => Boolean(m))
    .filter((m) => m.label.toLowerCase().includes(q.toLowerCase()));
  return (
    <>
      <p className="muted">
        {node.members.length.toLocaleString()} {node.memberKind === 'run' ? 'runs' : 'versions'} connected only here,
        folded. Show one to place it in the graph.
      </p>
      <input
        type="search"
        value={q}
        onChange={(e) => setQ(e.target.value)}
        placeholder="Find by name"
        aria-label="Find in the cluster"
        data-testid="cluster-search"
      />
      <ul className="cluster-list" data-testid="cluster-members">
        {members.slice(0, 200).map((m) => (
          <li key={m.id}>
            <span className="clip">{m.label}</span>
            <button type="button" onClick={() => onShow(m.id)}>
              Show
            </button>
          </li>
        ))}
      </ul>
      {members.length > 200 && <p className="muted">and {members.length - 200} more: narrow the search.</p>}
    </>
  );
}
