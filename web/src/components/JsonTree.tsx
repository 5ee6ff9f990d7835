import { useState } from 'react';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A collapsible view of a JSON value; objects and arrays deeper than `open` start folded. */
export function JsonTree({ value, open = 2 }: { value: unknown; open?: number }) {
  return (
    <div className="json-tree">
      <Node value={value as Json} depth={0} open={open} />
    </div>
  );
}

function Node({ name, value, depth, open }: { name?: string; value: Json; depth: number; open: number }) {
  const [expanded, setExpanded] = useState(depth < open);
  const label = name !== undefined ? <span className="json-key">{JSON.stringify(name)}: </span> : null;
  if (value === null || typeof value !== 'object') {
    return (
      <div className="json-row">
        {label}
        <span className={`json-${value === null ? 'null' : typeof value}`}>{JSON.stringify(value)}</span>
      </div>
    );
  }
  const entries: [string, Json][] = Array.isArray(value)
    ? value.map((v, i) => [String(i), v])
    : Object.entries(value);
  const [openBrace, closeBrace] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  return (
    <div className="json-row">
      <button
        type="button"
        className="json-toggle"
        aria-expanded={expanded}
        onClick={() => setExpanded((e) => !e)}
      >
        {expanded ? '▾' : '▸'}
      </button>
      {label}
      {openBrace}
      {!expanded && (
        <span className="json-summary">
          {' '}
          {entries.length} {Array.isArray(value) ? 'items' : 'keys'} {closeBrace}
        </span>
      )}
      {expanded && (
        <>
          <div className="json-children">
            {entries.map(([k, v]) => (
              <Node key={k} name={Array.isArray(value) ? undefined : k} value={v} depth={depth + 1} open={open} />
            ))}
          </div>
          {closeBrace}
        </>
      )}
    </div>
  );
}
