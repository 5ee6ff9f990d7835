import { lazy, Suspense, useEffect, useMemo, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import Papa from 'papaparse';
import { contentUrl, fetchPrefix, type FileEntry } from '../api/client';
import { Markdown } from '../components/Markdown';
import { ErrorBox, Loading } from '../components/Status';
import { formatBytes } from '../format';
import { isInspectable, LIMITS, previewKind, type CodeLang, type PreviewKind } from './kind';

const Code = lazy(() => import('./Code'));
const ModelInspector = lazy(() => import('./ModelInspector'));

/** A file's preview, read through the server with a Range request, never past a cap. */
export function Preview({ file }: { file: FileEntry }) {
  if (isInspectable(file.path)) {
    return (
      <Frame file={file}>
        <Suspense fallback={<Loading what="Loading the inspector" />}>
          <ModelInspector file={file} />
        </Suspense>
      </Frame>
    );
  }
  return (
    <Frame file={file}>
      <BytesPreview key={file.id} file={file} />
    </Frame>
  );
}

function Frame({ file, children }: { file: FileEntry; children: React.ReactNode }) {
  return (
    <div className="preview" data-testid="preview" aria-label={`Preview of ${file.path}`}>
      <div className="row">
        <strong className="mono">{file.path}</strong>
        <span className="muted">{formatBytes(file.size)}</span>
        <span className="spacer" />
        <a href={contentUrl(file.id)} download={file.name}>
          Download
        </a>
      </div>
      {children}
    </div>
  );
}

function initialCap(path: string): number {
  return /\.(png|jpe?g|gif|webp)$/i.test(path) ? LIMITS.image : LIMITS.highlight;
}

function BytesPreview({ file }: { file: FileEntry }) {
  const [cap, setCap] = useState(() => initialCap(file.path));
  const read = useQuery({
    queryKey: ['prefix', file.id, cap],
    queryFn: ({ signal }) => fetchPrefix(file.id, Math.min(cap, file.size), signal),
    staleTime: Infinity,
    retry: false,
    // An empty file has no byte to ask for.
    enabled: file.size > 0,
  });
  if (file.size === 0) return <p className="muted">An empty file.</p>;
  if (read.isPending) return <Loading what="Reading the file" />;
  if (read.isError) return <ErrorBox error={read.error} />;
  const { bytes, total, truncated } = read.data;
  const kind = previewKind(file.path, file.content_type, bytes.subarray(0, 4096));
  const more = truncated && cap < LIMITS.text && kind.kind !== 'image' && kind.kind !== 'svg' && kind.kind !== 'binary';
  return (
    <>
      {truncated && (
        <div className="banner" role="note" data-testid="too-large">
          <span>
            Too large to show whole ({formatBytes(total)}): {kindShowsPrefix(kind) ? `showing the first ${formatBytes(bytes.length)}.` : 'not previewed.'}
          </span>
          {more && (
            <button type="button" onClick={() => setCap(LIMITS.text)}>
              Load the first {formatBytes(Math.min(LIMITS.text, total))}
            </button>
          )}
          <a href={contentUrl(file.id)} download={file.name}>
            Download
          </a>
        </div>
      )}
      <Body kind={kind} bytes={bytes} truncated={truncated} />
    </>
  );
}

function kindShowsPrefix(kind: PreviewKind): boolean {
  return kind.kind !== 'image' && kind.kind !== 'svg' && kind.kind !== 'binary';
}

function decode(bytes: Uint8Array): string {
  return new TextDecoder('utf-8').decode(bytes);
}

function Body({ kind, bytes, truncated }: { kind: PreviewKind; bytes: Uint8Array; truncated: boolean }) {
  switch (kind.kind) {
    case 'image':
      return truncated ? null : <BlobImage bytes={bytes} mime={kind.mime} />;
    case 'svg':
      // An SVG drawn through <img> runs no script and loads nothing.
      return truncated ? null : <BlobImage bytes={bytes} mime="image/svg+xml" />;
    case 'markdown':
      return truncated ? <Text text={decode(bytes)} /> : <Markdown text={decode(bytes)} />;
    case 'json':
      return <JsonText text={decode(bytes)} truncated={truncated} />;
    case 'table':
      return <Table text={decode(bytes)} delimiter={kind.delimiter} truncated={truncated} />;
    case 'code':
      return <Highlighted text={decode(bytes)} lang={kind.lang} />;
    case 'text':
      return <Text text={decode(bytes)} />;
    case 'model':
    case 'binary':
      return <p className="muted">No preview for this kind of file: download it to open it.</p>;
  }
}

function BlobImage({ bytes, mime }: { bytes: Uint8Array; mime: string }) {
  const url = useMemo(() => URL.createObjectURL(new Blob([bytes as BlobPart], { type: mime })), [bytes, mime]);
  useEffect(() => () => URL.revokeObjectURL(url), [url]);
  return <img src={url} alt="" data-testid="preview-image" />;
}

function Text({ text }: { text: string }) {
  return <pre data-testid="preview-text">{text}</pre>;
}

/** Highlighted up to the cap; past it (or while the grammar loads) plain text. */
function Highlighted({ text, lang }: { text: string; lang: CodeLang }) {
  if (text.length > LIMITS.highlight) return <Text text={text} />;
  return (
    <Suspense fallback={<Text text={text} />}>
      <Code text={text} lang={lang} />
    </Suspense>
  );
}

function JsonText({ text, truncated }: { text: string; truncated: boolean }) {
  const pretty = useMemo(() => {
    if (truncated) return null;
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      return null;
    }
  }, [text, truncated]);
  if (pretty === null) {
    return (
      <>
        {!truncated && <p className="muted">Not valid JSON: shown as text.</p>}
        <Text text={text} />
      </>
    );
  }
  return <Highlighted text={pretty} lang="json" />;
}

/** The first rows of a CSV/TSV prefix; a row the prefix cut short is dropped. */
export function parseTable(text: string, delimiter: ',' | '\t', truncated: boolean) {
  const body = truncated ? text.slice(0, Math.max(0, text.lastIndexOf('\n'))) : text;
  const parsed = Papa.parse<string[]>(body, {
    delimiter,
    preview: LIMITS.tableRows + 1,
    skipEmptyLines: true,
  });
  const [header = [], ...rows] = parsed.data;
  return { header, rows, more: truncated || rows.length >= LIMITS.tableRows };
}

function Table({ text, delimiter, truncated }: { text: string; delimiter: ',' | '\t'; truncated: boolean }) {
  const { header, rows, more } = useMemo(() => parseTable(text, delimiter, truncated), [text, delimiter, truncated]);
  return (
    <>
      <p className="muted">
        {more ? 'The first ' : ''}
        {rows.length.toLocaleString()} row{rows.length === 1 ? '' : 's'}
        {more ? ' of the file' : ''}
      </p>
      <table className="grid" data-testid="preview-table">
        <thead>
          <tr>
            {header.map((h, i) => (
              <th key={i}>{h}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              {r.map((c, j) => (
                <td key={j}>{c}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
