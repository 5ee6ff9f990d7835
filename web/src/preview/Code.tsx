import { useEffect, useState } from 'react';
import type { ThemedToken } from 'shiki/core';
import type { CodeLang } from './kind';
import { tokenize } from './highlight';

/** Source text highlighted by shiki; tokens are rendered as text, so nothing in them runs. */
export default function Code({ text, lang }: { text: string; lang: CodeLang }) {
  const [done, setDone] = useState<{ text: string; lang: CodeLang; lines: ThemedToken[][] } | null>(null);
  useEffect(() => {
    let live = true;
    tokenize(text, lang).then(
      (lines) => live && setDone({ text, lang, lines }),
      // A grammar that fails to load leaves the plain text.
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [text, lang]);
  const lines = done && done.text === text && done.lang === lang ? done.lines : null;
  if (!lines) return <pre data-testid="preview-text">{text}</pre>;
  return (
    <pre data-testid="preview-code" data-lang={lang}>
      {lines.map((line, i) => (
        <div key={i}>
          {line.map((t, j) => (
            <span key={j} style={t.color ? { color: t.color } : undefined}>
              {t.content}
            </span>
          ))}
          {line.length === 0 && '\n'}
        </div>
      ))}
    </pre>
  );
}
