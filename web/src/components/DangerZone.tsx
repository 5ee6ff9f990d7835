import { useState } from 'react';
import { useMutation } from '@tanstack/react-query';
import { ApiError } from '../api/client';

/**
 * Deleting something, in two steps: the button names what goes, and the user types its name to
 * confirm (as GitHub asks before deleting a repository).
 */
export function DangerZone({
  name,
  consequence,
  remove,
  label,
}: {
  /** What the user types to confirm, e.g. `resnet` or `resnet:v3`. */
  name: string;
  /** What goes with it, e.g. "its 3 versions and 1,200 files". */
  consequence: string;
  remove: () => Promise<unknown>;
  label: string;
}) {
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState('');
  const mutation = useMutation({ mutationFn: remove });
  if (!open) {
    return (
      <div className="danger">
        <button type="button" className="danger" onClick={() => setOpen(true)}>
          {label}…
        </button>
      </div>
    );
  }
  return (
    <div className="danger" role="alertdialog" aria-label={label}>
      <p>
        This deletes <strong>{name}</strong> with {consequence}. Files no other version shares are removed from storage by
        the next garbage collection. It cannot be undone.
      </p>
      <div className="row">
        <label>
          Type <code>{name}</code> to confirm{' '}
          <input type="text" aria-label="Name to confirm" value={typed} onChange={(e) => setTyped(e.target.value)} />
        </label>
        <button
          type="button"
          className="danger primary"
          disabled={typed !== name || mutation.isPending}
          onClick={() => mutation.mutate()}
        >
          {label}
        </button>
        <button type="button" onClick={() => (setOpen(false), setTyped(''), mutation.reset())}>
          Cancel
        </button>
      </div>
      {mutation.isError && (
        <p className="field-error" role="alert">
          {mutation.error instanceof ApiError ? mutation.error.message : String(mutation.error)}
        </p>
      )}
    </div>
  );
}
