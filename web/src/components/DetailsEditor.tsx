import { useState, type FormEvent } from 'react';
import { useMutation } from '@tanstack/react-query';
import { ApiError, type Schemas } from '../api/client';

/**
 * The body of the update endpoints. The document types `metadata` as an object without declared
 * properties, which openapi-typescript reads as `Record<string, never>`: any JSON object is meant.
 */
export type Patch = Schemas['PatchDto'];
type Metadata = NonNullable<Patch['metadata']>;

/** The metadata text as a JSON object, or why it is not one. */
export function parseMetadata(text: string): { ok: true; value: Record<string, unknown> } | { ok: false; error: string } {
  if (!text.trim()) return { ok: true, value: {} };
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return { ok: false, error: 'Metadata is a JSON object: { "key": value, ... }' };
    }
    return { ok: true, value: value as Record<string, unknown> };
  } catch (e) {
    return { ok: false, error: `Not JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** Edits a description (markdown) and metadata (a JSON object) in place; `save` sends both. */
export function DetailsEditor({
  description,
  metadata,
  save,
  what,
}: {
  description: string;
  metadata: Record<string, unknown>;
  save: (patch: Patch) => Promise<unknown>;
  what: string;
}) {
  const [open, setOpen] = useState(false);
  const [text, setText] = useState(description);
  const [meta, setMeta] = useState(() => JSON.stringify(metadata, null, 2));
  const parsed = parseMetadata(meta);
  const mutation = useMutation({
    mutationFn: save,
    onSuccess: () => setOpen(false),
  });
  if (!open) {
    return (
      <button
        type="button"
        onClick={() => {
          setText(description);
          setMeta(JSON.stringify(metadata, null, 2));
          mutation.reset();
          setOpen(true);
        }}
      >
        Edit {what}&apos;s description and metadata
      </button>
    );
  }
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (parsed.ok) mutation.mutate({ description: text, metadata: parsed.value as Metadata });
  };
  return (
    <form className="details-editor" onSubmit={submit} aria-label={`Edit the ${what}`}>
      <label>
        Description (markdown)
        <textarea rows={6} value={text} onChange={(e) => setText(e.target.value)} />
      </label>
      <label>
        Metadata (a JSON object)
        <textarea
          rows={8}
          className="mono"
          value={meta}
          onChange={(e) => setMeta(e.target.value)}
          aria-invalid={parsed.ok ? undefined : true}
          aria-describedby={parsed.ok ? undefined : 'metadata-error'}
        />
      </label>
      {!parsed.ok && (
        <p id="metadata-error" className="field-error" role="alert">
          {parsed.error}
        </p>
      )}
      {mutation.isError && (
        <p className="field-error" role="alert">
          {mutation.error instanceof ApiError ? mutation.error.message : String(mutation.error)}
        </p>
      )}
      <div className="row">
        <button type="submit" className="primary" disabled={!parsed.ok || mutation.isPending}>
          Save
        </button>
        <button type="button" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
