import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import type { ColumnDef } from '@tanstack/react-table';
import { api, unwrap, type FileEntry, type Inspection } from '../api/client';
import { ErrorBox, Loading } from '../components/Status';
import { VirtualRows } from '../components/VirtualRows';
import { formatBytes, formatCount } from '../format';

type Tensor = Inspection['tensors'][number];

const TENSOR_COLUMNS: ColumnDef<Tensor, unknown>[] = [
  {
    id: 'name',
    header: 'Name',
    meta: { width: 'minmax(10rem, 3fr)' },
    cell: ({ row }) => (
      <span className="mono" title={row.original.name}>
        {row.original.name}
      </span>
    ),
  },
  {
    id: 'dtype',
    header: 'Dtype',
    meta: { width: '5rem' },
    cell: ({ row }) => <span className="mono">{row.original.dtype}</span>,
  },
  {
    id: 'shape',
    header: 'Shape',
    meta: { width: 'minmax(6rem, 1.5fr)' },
    cell: ({ row }) => <span className="mono">[{row.original.shape.join(', ')}]</span>,
  },
  {
    id: 'parameters',
    header: 'Parameters',
    meta: { width: '7rem', className: 'num' },
    cell: ({ row }) => row.original.parameters.toLocaleString(),
  },
];

/** A model file's header as the server read it: tensors, parameter count, metadata. */
export default function ModelInspector({ file }: { file: FileEntry }) {
  const [filter, setFilter] = useState('');
  const inspect = useQuery({
    queryKey: ['inspect', file.id],
    queryFn: () =>
      unwrap(api.GET('/api/v1/artifacts/files/{file_id}/inspect', { params: { path: { file_id: file.id } } })),
    staleTime: Infinity,
  });
  if (inspect.isPending) return <Loading what="Reading the model's header" />;
  if (inspect.isError) return <ErrorBox error={inspect.error} />;
  const m = inspect.data;
  const needle = filter.trim().toLowerCase();
  const tensors = needle ? m.tensors.filter((t) => t.name.toLowerCase().includes(needle)) : m.tensors;
  return (
    <div data-testid="inspect">
      <dl className="facts">
        <dt>Format</dt>
        <dd>
          {m.format}
          {m.format_version ? ` ${m.format_version}` : ''}
        </dd>
        <dt>Parameters</dt>
        <dd data-testid="parameter-count" title={m.parameter_count.toLocaleString()}>
          {formatCount(m.parameter_count)} ({m.parameter_count.toLocaleString()})
        </dd>
        <dt>Tensors</dt>
        <dd>{m.tensor_count.toLocaleString()}</dd>
        <dt>Header</dt>
        <dd>
          {formatBytes(m.header_bytes)} (read {formatBytes(m.bytes_read)} of {formatBytes(file.size)})
        </dd>
        {m.shards && m.shards.length > 0 && (
          <>
            <dt>Shards</dt>
            <dd>
              {m.shards.map((s) => (
                <div key={s.file_id} className="mono">
                  {s.path} ({s.tensor_count} tensors)
                </div>
              ))}
            </dd>
          </>
        )}
      </dl>
      {m.metadata.length > 0 && (
        <details open={m.format === 'gguf'}>
          <summary>Metadata ({m.metadata.length} keys)</summary>
          <table className="grid wrap" data-testid="model-metadata">
            <tbody>
              {m.metadata.map((e) => (
                <tr key={e.key}>
                  <td className="mono">{e.key}</td>
                  <td className="mono">
                    {typeof e.value === 'string' ? e.value : JSON.stringify(e.value)}
                    {e.length != null && Array.isArray(e.value) && e.length > e.value.length && (
                      <span className="muted"> … {e.length.toLocaleString()} items</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
      <div className="row">
        <h3>Tensors</h3>
        <input
          type="search"
          aria-label="Filter tensors"
          placeholder="Filter by name"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
        />
        {m.tensors.length < m.tensor_count && (
          <span className="muted">the first {m.tensors.length.toLocaleString()} are listed</span>
        )}
      </div>
      <VirtualRows<Tensor>
        items={tensors}
        label="Tensors"
        testId="tensor-table"
        columns={TENSOR_COLUMNS}
        rowKey={(t) => t.name}
      />
    </div>
  );
}
