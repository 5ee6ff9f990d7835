/** Small inline icons (no icon font: headless browsers and minimal systems lack emoji fonts). */
export function FolderIcon() {
  return (
    <svg className="icon" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
      <path d="M1.5 3h4l1.5 1.5h7.5v8.5h-13z" fill="#e8b54a" stroke="#b88a2a" strokeWidth="0.8" />
    </svg>
  );
}

export function FileIcon() {
  return (
    <svg className="icon" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
      <path d="M3 1.5h6.5l3.5 3.5v9.5h-10z" fill="#fff" stroke="#7a8599" strokeWidth="0.9" />
      <path d="M9.5 1.5v3.5h3.5" fill="none" stroke="#7a8599" strokeWidth="0.9" />
    </svg>
  );
}
